"""EBS snapshots and EC2 images in the Recycle Bin as ``volume`` stores: deleted, yet restorable
with their data until their retention ends (``RecycleBinExitTime``, kept in ``raw``).

While in the bin neither can be used, shared or copied: never public; the account restores it
(``ec2:RestoreSnapshotFromRecycleBin``, ``ec2:RestoreImageFromRecycleBin``), with the sharing it
had, so whoever may restore it reads it (:func:`store_access`). The listings give no encryption
and no tags, so each is read from what it copies:

- a snapshot is encrypted as its volume (``VolumeId``; a volume's encryption and key never
  change), read in the same listing of the region's volumes; a volume gone leaves its encryption
  undecided, never guessed. Its volume's tags are its class (``raw["source"]``: :mod:`.copies`);
  a copy (its description names the snapshot copied, as for snapshots) has no volume of its own:
  it names the snapshot copied, and its encryption is undecided.
- an image's disks are the snapshots AWS made for it, whose description names it (``Created by
  CreateImage(i-…) for ami-…``), which outlive its deregistration: its encryption is theirs
  (one unencrypted disk: unencrypted; else the weakest key), its class theirs (and their volumes').
  No such snapshot left: its encryption is undecided.

A bin that cannot be listed is an error on the region's binned snapshots or images; a region's
volumes or an image's snapshots that cannot be read leave those encryptions undecided, an error
naming them.
"""

from __future__ import annotations

import re
from typing import Any

from phigate.api import Resource
from phigate_providers.aws.calls import ApiFailure, pages
from phigate_providers.aws.context import Account, jsonable
from phigate_providers.aws.ec2 import EBS_DEFAULT_KEY, NOT_SHARED
from phigate_providers.aws.images import disks_encryption
from phigate_providers.aws.kms import KeyDirectory
from phigate_providers.aws.policydoc import PolicyDocument
from phigate_providers.aws.read_actions import Facet, snapshot_facets

SNAPSHOT, IMAGE = "aws.ec2.recycle_bin_snapshot", "aws.ec2.recycle_bin_image"
TYPES = (SNAPSHOT, IMAGE)
KIND = "volume"
#: Volumes and snapshots are read with ``ec2:DescribeVolumes`` and ``ec2:DescribeSnapshots``, which
#: the volumes' and the snapshots' entries declare.
OPERATIONS = {
    ("ec2", "ListSnapshotsInRecycleBin"): "ec2:ListSnapshotsInRecycleBin",
    ("ec2", "ListImagesInRecycleBin"): "ec2:ListImagesInRecycleBin",
}
#: How a copy's description names the snapshot copied (as :mod:`.ebs_snapshots` reads it).
_COPIED = re.compile(r"\[Copied (snap-[0-9a-f]+) from ([a-z]{2}(?:-[a-z]+)+-\d+)\]")
#: Volume ids per ``DescribeVolumes`` filter (AWS takes up to 200 values).
_FILTER_VALUES = 200


def collect_region(account: Account, region: str, keys: KeyDirectory) -> list[Resource]:
    """The snapshots and images in ``region``'s bin. Raises ApiFailure when the bin cannot be
    listed."""
    client = account.client("ec2", region)
    snapshots = list(pages(client, "ListSnapshotsInRecycleBin", "Snapshots"))
    images = list(pages(client, "ListImagesInRecycleBin", "Images"))
    wanted = sorted({str(s["VolumeId"]) for s in snapshots if s.get("VolumeId") and not _copied(s)})
    try:
        volumes: dict[str, tuple[bool, str | None]] | ApiFailure = _volumes(client, wanted)
    except ApiFailure as failure:
        volumes = failure
    found = [_snapshot(account, region, keys, item, volumes) for item in snapshots]
    return found + [_image(account, region, keys, client, item) for item in images]


def _copied(item: dict[str, Any]) -> re.Match[str] | None:
    return _COPIED.search(str(item.get("Description") or ""))


def _volumes(client: Any, volume_ids: list[str]) -> dict[str, tuple[bool, str | None]]:
    """(encrypted, key named) of each volume found among ``volume_ids``."""
    found: dict[str, tuple[bool, str | None]] = {}
    for start in range(0, len(volume_ids), _FILTER_VALUES):
        chunk = volume_ids[start:start + _FILTER_VALUES]
        for volume in pages(client, "DescribeVolumes", "Volumes",
                            Filters=[{"Name": "volume-id", "Values": chunk}]):
            encrypted = bool(volume.get("Encrypted"))
            found[str(volume["VolumeId"])] = (encrypted, volume.get("KmsKeyId") if encrypted else None)
    return found


def _snapshot(account: Account, region: str, keys: KeyDirectory, item: dict[str, Any],
              volumes: dict[str, tuple[bool, str | None]] | ApiFailure) -> Resource:
    snapshot_id = str(item["SnapshotId"])
    arn = f"arn:{account.partition}:ec2:{region}::snapshot/{snapshot_id}"
    attributes: dict[str, Any] = {"public_access": dict(NOT_SHARED)}
    raw = jsonable(item)
    copied, volume = _copied(item), item.get("VolumeId")
    if copied:
        raw["source"] = f"arn:{account.partition}:ec2:{copied.group(2)}::snapshot/{copied.group(1)}"
    elif volume:
        raw["source"] = account.arn("ec2", region, f"volume/{volume}")
        if isinstance(volumes, ApiFailure):
            account.failed(volumes, f"EBS snapshot {snapshot_id} in the Recycle Bin (its volume's "
                           "encryption)", kinds=(KIND,), types=TYPES, region=region, resource_id=arn)
        elif str(volume) in volumes:
            encrypted, key = volumes[str(volume)]
            attributes["encryption"] = keys.encryption(encrypted, key, region, account.account_id,
                                                       default=EBS_DEFAULT_KEY)
    return account.resource(arn, SNAPSHOT, KIND, region=region, name=snapshot_id, attributes=attributes,
                            raw=raw)


def _image(account: Account, region: str, keys: KeyDirectory, client: Any, item: dict[str, Any]) -> Resource:
    image_id = str(item["ImageId"])
    arn = f"arn:{account.partition}:ec2:{region}::image/{image_id}"
    attributes: dict[str, Any] = {"public_access": dict(NOT_SHARED)}
    raw = jsonable(item)
    try:
        disks = list(pages(client, "DescribeSnapshots", "Snapshots", OwnerIds=["self"],
                           Filters=[{"Name": "description", "Values": [f"* for {image_id}"]}]))
    except ApiFailure as failure:
        account.failed(failure, f"EC2 image {image_id} in the Recycle Bin (its disks)", kinds=(KIND,),
                       types=TYPES, region=region, resource_id=arn)
        disks = []
    if disks:
        raw["source"] = [f"arn:{account.partition}:ec2:{region}::snapshot/{d['SnapshotId']}" for d in disks]
        read = [(bool(d.get("Encrypted")), d.get("KmsKeyId") if d.get("Encrypted") else None) for d in disks]
        encryption = disks_encryption(keys, region, account.account_id, read)
        if encryption is not None:
            attributes["encryption"] = encryption
    return account.resource(arn, IMAGE, KIND, region=region, name=str(item.get("Name") or image_id),
                            attributes=attributes, raw=raw)


def store_access(resource: Resource) -> tuple[tuple[Facet, ...], PolicyDocument | None]:
    """Restored by whoever the identity policies let in its account; shared with no one while in
    the bin."""
    return snapshot_facets(resource.id, resource.type), None


__all__ = ["IMAGE", "OPERATIONS", "SNAPSHOT", "TYPES", "collect_region", "store_access"]
