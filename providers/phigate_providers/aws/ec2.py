"""EBS volumes and each region's settings: encryption by default, and whether snapshots and images
may be shared with every account (block public access).

Block public access is read as AWS states it: for snapshots ``block-all-sharing`` (none can be
shared with every account, and those already shared are treated as private), ``block-new-sharing``
(no new public share; those already made stay public) or ``unblocked``; for images
``block-new-sharing`` (existing public images stay public) or ``unblocked``. A setting that cannot
be read is left out of the region's settings, an error naming them: never taken for blocked."""

from __future__ import annotations

from typing import Any

from phigate.api import Resource
from phigate_providers.aws.calls import ApiFailure, call, pages
from phigate_providers.aws.context import Account, jsonable, tag_map
from phigate_providers.aws.kms import KeyDirectory
from phigate_providers.aws.public import IMAGE_SHARING, SNAPSHOT_SHARING

VOLUME_TYPES = ("aws.ec2.volume",)
SETTINGS_TYPES = ("aws.ec2.region_settings",)
#: The key EBS encrypts with when none is named.
EBS_DEFAULT_KEY = "alias/aws/ebs"
#: A volume attaches within its account and zone only: it cannot be shared, let alone made public
#: (its snapshots can: :mod:`.ebs_snapshots`).
NOT_SHARED: dict[str, Any] = {"blocked": True, "grants": []}
#: Each region's settings read beside encryption by default: the operation, the answer's field
#: and the normalised attribute, with AWS's states as the attribute says them.
SHARING_SETTINGS = (
    ("GetSnapshotBlockPublicAccessState", "State", "snapshot_public_sharing",
     "EBS snapshot block public access", SNAPSHOT_SHARING),
    ("GetImageBlockPublicAccessState", "ImageBlockPublicAccessState", "image_public_sharing",
     "EC2 image block public access", IMAGE_SHARING),
)
SETTINGS_OPERATIONS = {
    ("ec2", "GetEbsEncryptionByDefault"): "ec2:GetEbsEncryptionByDefault",
    ("ec2", "GetImageBlockPublicAccessState"): "ec2:GetImageBlockPublicAccessState",
    # Also read by the EBS snapshots (:mod:`.ebs_snapshots`), which declare it.
}


def enabled_regions(account: Account) -> list[str]:
    """Regions enabled for the account (opt-in regions only once opted in)."""
    response = call(account.client("ec2"), "DescribeRegions", AllRegions=False)
    assert response is not None
    return sorted(str(r["RegionName"]) for r in response.get("Regions", []))


def region_settings(account: Account, region: str) -> Resource:
    """The region's settings. Raises ApiFailure when encryption by default cannot be read; a
    sharing setting that cannot be read is left out, its error recorded."""
    client = account.client("ec2", region)
    response = call(client, "GetEbsEncryptionByDefault")
    assert response is not None
    arn = account.arn("ec2", region, "region-settings")
    attributes: dict[str, Any] = {"ebs_encryption_by_default": bool(response.get("EbsEncryptionByDefault"))}
    raw: dict[str, Any] = {"EbsEncryptionByDefault": response.get("EbsEncryptionByDefault")}
    for operation, field, attribute, what, states in SHARING_SETTINGS:
        try:
            answer = call(client, operation)
        except ApiFailure as failure:
            account.failed(failure, f"{what} in {region}", kinds=("region_settings",), types=SETTINGS_TYPES,
                           region=region, resource_id=arn)
            continue
        assert answer is not None
        raw[field] = answer.get(field)
        if answer.get(field) in states:  # a state AWS adds later is left undecided, never guessed
            attributes[attribute] = states[str(answer[field])]
    return account.resource(arn, "aws.ec2.region_settings", "region_settings", region=region, name=region,
                            attributes=attributes, raw=raw)


def volumes(account: Account, region: str, keys: KeyDirectory) -> list[Resource]:
    return [
        _volume(account, region, keys, item)
        for item in pages(account.client("ec2", region), "DescribeVolumes", "Volumes")
    ]


def _volume(account: Account, region: str, keys: KeyDirectory, item: dict[str, Any]) -> Resource:
    volume_id = str(item["VolumeId"])
    encrypted = bool(item.get("Encrypted"))
    # Encrypted without a named key: the AWS-managed aws/ebs key.
    encryption = keys.encryption(encrypted, item.get("KmsKeyId") if encrypted else None, region,
                                 account.account_id, default=EBS_DEFAULT_KEY)
    attached = [
        account.arn("ec2", region, f"instance/{a['InstanceId']}")
        for a in item.get("Attachments", [])
        if a.get("InstanceId")
    ]
    return account.resource(
        account.arn("ec2", region, f"volume/{volume_id}"),
        "aws.ec2.volume",
        "volume",
        region=region,
        name=volume_id,
        attributes={"encryption": encryption, "size_gb": item.get("Size"), "attached_to": attached,
                    "public_access": dict(NOT_SHARED)},
        tags=tag_map(item.get("Tags")),
        raw={k: v for k, v in jsonable(item).items() if k != "Tags"},
    )


__all__ = ["SETTINGS_OPERATIONS", "SETTINGS_TYPES", "SHARING_SETTINGS",
           "VOLUME_TYPES", "enabled_regions", "region_settings", "volumes"]
