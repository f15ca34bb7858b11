"""EBS volumes and each region's encryption-by-default setting."""

from __future__ import annotations

from typing import Any

from phigate.api import Resource
from phigate_providers.aws.calls import call, pages
from phigate_providers.aws.context import Account, jsonable, tag_map
from phigate_providers.aws.kms import KeyDirectory

VOLUME_TYPES = ("aws.ec2.volume",)
SETTINGS_TYPES = ("aws.ec2.region_settings",)
#: The key EBS encrypts with when none is named.
EBS_DEFAULT_KEY = "alias/aws/ebs"
#: A volume attaches within its account and zone only: it cannot be shared, let alone made public
#: (its snapshots can: :mod:`.ebs_snapshots`).
NOT_SHARED: dict[str, Any] = {"blocked": True, "grants": []}


def enabled_regions(account: Account) -> list[str]:
    """Regions enabled for the account (opt-in regions only once opted in)."""
    response = call(account.client("ec2"), "DescribeRegions", AllRegions=False)
    assert response is not None
    return sorted(str(r["RegionName"]) for r in response.get("Regions", []))


def region_settings(account: Account, region: str) -> Resource:
    response = call(account.client("ec2", region), "GetEbsEncryptionByDefault")
    assert response is not None
    return account.resource(
        account.arn("ec2", region, "region-settings"),
        "aws.ec2.region_settings",
        "region_settings",
        region=region,
        name=region,
        attributes={"ebs_encryption_by_default": bool(response.get("EbsEncryptionByDefault"))},
        raw={"EbsEncryptionByDefault": response.get("EbsEncryptionByDefault")},
    )


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


__all__ = ["SETTINGS_TYPES", "VOLUME_TYPES", "enabled_regions", "region_settings", "volumes"]
