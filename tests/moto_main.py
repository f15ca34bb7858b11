"""moto's server as the AWS tests run it: an account with a handful of regions enabled.

moto answers ``DescribeRegions`` with every region of every partition, opted in or not, whatever
``AllRegions`` asks, so each scan would read some forty regions, most of them empty. A real
account lists only the regions enabled for it; the tests' account has enabled the ones they use
(and no more), so a scan reads what an account like it would. Run as ``python moto_main.py -H HOST
-p PORT``, with moto's own arguments. ``MOTO_EVERY_REGION=true`` keeps moto's whole region table
(the benchmarks' accounts, read as before), with AWS's answers kept below.
"""

from __future__ import annotations

import os

from moto.server import main

#: The regions the tests' account has enabled: the estate's own, the other regions tests place
#: stores in, and one outside the EEA for residency.
ENABLED_REGIONS = frozenset({"eu-west-3", "eu-west-1", "eu-west-2", "eu-central-1", "us-east-1"})


def enable_only(regions: frozenset[str]) -> None:
    """Narrow moto's region table. Where a moto release keeps it elsewhere, every region stays
    listed: the tests hold all the same, only slower."""
    try:
        from moto.ec2.models.availability_zones_and_regions import RegionsAndZonesBackend
    except ImportError:
        return
    listed = getattr(RegionsAndZonesBackend, "regions", None)
    if isinstance(listed, list):
        RegionsAndZonesBackend.regions = [r for r in listed if getattr(r, "name", None) in regions]


def list_every_export() -> None:
    """moto answers ``ListExports`` (DynamoDB) only for the table ``TableArn`` names, and fails
    without one; AWS lists every export of the region then, as answered here."""
    try:
        from moto.dynamodb.models import DynamoDBBackend
        from moto.dynamodb.responses import DynamoHandler
    except ImportError:
        return
    listed, answered = DynamoDBBackend.list_exports, DynamoHandler.list_exports

    def list_exports(self: DynamoDBBackend, table_arn: str | None) -> list[object]:
        if table_arn is None:
            return list(self.table_exports.values())
        return listed(self, table_arn)

    def answer(self: DynamoHandler) -> object:
        self.body.setdefault("TableArn", None)
        return answered(self)

    DynamoDBBackend.list_exports = list_exports  # type: ignore[method-assign]
    DynamoHandler.list_exports = answer  # type: ignore[method-assign]


def block_public_access() -> None:
    """moto has no block public access for EBS snapshots and EC2 images (account settings per
    region): answered as AWS does (the botocore model's ``GetSnapshotBlockPublicAccessState`` →
    ``{State, ManagedBy}``, ``GetImageBlockPublicAccessState`` → ``{ImageBlockPublicAccessState,
    ManagedBy}``; https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_GetSnapshotBlockPublicAccessState.html),
    ``unblocked`` until a test enables it with the same calls as against AWS. Enabling it does
    not change what moto lists: AWS keeps a snapshot's ``all`` permission too, and only stops
    honouring it under ``block-all-sharing``."""
    try:
        from moto.core.responses import ActionResult
        from moto.ec2.responses.settings import Settings
    except ImportError:
        return

    def answer(attribute: str, field: str, value: str | None = None) -> object:
        def respond(self: Settings) -> ActionResult:
            self.error_on_dryrun()
            if value is not None:  # Enable… (the state asked for) or Disable… ("unblocked")
                setattr(self.ec2_backend, attribute, self._get_param(field) if value == "asked" else value)
                return ActionResult({field: getattr(self.ec2_backend, attribute)})
            return ActionResult({field: getattr(self.ec2_backend, attribute, "unblocked"), "ManagedBy": "account"})
        return respond

    snapshot, image = "phigate_snapshot_block", "phigate_image_block"
    Settings.get_snapshot_block_public_access_state = answer(snapshot, "State")  # type: ignore[attr-defined]
    Settings.enable_snapshot_block_public_access = answer(snapshot, "State", "asked")  # type: ignore[attr-defined]
    Settings.disable_snapshot_block_public_access = answer(snapshot, "State", "unblocked")  # type: ignore[attr-defined]
    Settings.get_image_block_public_access_state = answer(image, "ImageBlockPublicAccessState")  # type: ignore[attr-defined]
    Settings.enable_image_block_public_access = answer(  # type: ignore[attr-defined]
        image, "ImageBlockPublicAccessState", "asked")
    Settings.disable_image_block_public_access = answer(  # type: ignore[attr-defined]
        image, "ImageBlockPublicAccessState", "unblocked")


def empty_recycle_bin() -> None:
    """moto has no Recycle Bin: ``ListSnapshotsInRecycleBin`` and ``ListImagesInRecycleBin``
    answer as AWS does for an account without retention rules, an empty bin (the botocore model's
    ``snapshotSet`` and ``imageSet``); a test that needs a bin replays AWS's answer."""
    try:
        from moto.core.responses import ActionResult
        from moto.ec2.responses.settings import Settings
    except ImportError:
        return

    def empty(field: str) -> object:
        def respond(self: Settings) -> ActionResult:
            return ActionResult({field: []})
        return respond

    Settings.list_snapshots_in_recycle_bin = empty("Snapshots")  # type: ignore[attr-defined]
    Settings.list_images_in_recycle_bin = empty("Images")  # type: ignore[attr-defined]


def fsx_backups_as_aws() -> None:
    """moto lists an FSx backup with its file system's id only; AWS's ``Backup`` (the botocore
    model's shape, https://docs.aws.amazon.com/fsx/latest/APIReference/API_Backup.html) has
    ``Type``, ``OwnerId``, ``ResourceType``, the ``KmsKeyId`` it is encrypted under (its file
    system's) and the ``FileSystem`` backed up, as answered here."""
    try:
        from moto.fsx.models import Backup
    except ImportError:
        return
    listed = Backup.to_dict

    def to_dict(self: Backup) -> dict[str, object]:
        answer = listed(self)
        answer.pop("FileSystemId", None)
        source = self.backend.file_systems.get(self.file_system_id)
        answer.update({"Type": "USER_INITIATED", "OwnerId": self.backend.account_id, "ResourceType": "FILE_SYSTEM"})
        if source is not None:
            answer["FileSystem"] = {k: v for k, v in source.to_dict().items() if v is not None}
            if source.kms_key_id:
                answer["KmsKeyId"] = source.kms_key_id
        return answer

    Backup.to_dict = to_dict  # type: ignore[method-assign]


if os.environ.get("MOTO_EVERY_REGION", "").lower() != "true":
    enable_only(ENABLED_REGIONS)
list_every_export()
block_public_access()
fsx_backups_as_aws()
empty_recycle_bin()

if __name__ == "__main__":
    main()
