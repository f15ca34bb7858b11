"""FSx file systems (Windows File Server, Lustre, NetApp ONTAP, OpenZFS) as ``volume`` stores:
shared drives where scanned records and exports pile up.

Every FSx file system is encrypted at rest, as AWS documents: under the KMS key it names
(``KmsKeyId``), else the AWS-managed ``aws/fsx`` key (a Lustre scratch file system: keys FSx
manages); either way ``key_manager: provider`` unless a customer key is named. A file system is
reached through its VPC only, never public; who mounts it is decided by the network and the file
system's own permissions (Active Directory, NFS exports), not IAM, so no reach is computed, as
for ElastiCache. Its tags come with the listing.
"""

from __future__ import annotations

from typing import Any

from phigate.api import Resource
from phigate_providers.aws.calls import pages
from phigate_providers.aws.context import Account, jsonable, tag_map
from phigate_providers.aws.kms import KeyDirectory

FILE_SYSTEM = "aws.fsx.file_system"
TYPES = (FILE_SYSTEM,)
OPERATIONS = {("fsx", "DescribeFileSystems"): "fsx:DescribeFileSystems"}
AWS_MANAGED_KEY = "alias/aws/fsx"


def collect_region(account: Account, region: str, keys: KeyDirectory) -> list[Resource]:
    """The file systems of ``region``. Raises ApiFailure when they cannot be listed."""
    client = account.client("fsx", region)
    return [_file_system(account, region, keys, item)
            for item in pages(client, "DescribeFileSystems", "FileSystems")]


def _file_system(account: Account, region: str, keys: KeyDirectory, item: dict[str, Any]) -> Resource:
    fs_id = str(item["FileSystemId"])
    arn = str(item.get("ResourceARN") or account.arn("fsx", region, f"file-system/{fs_id}"))
    attributes: dict[str, Any] = {
        "encryption": keys.encryption(True, item.get("KmsKeyId"), region, account.account_id,
                                      default=AWS_MANAGED_KEY),
        "public_access": {"blocked": True, "grants": []},
        "size_gb": item.get("StorageCapacity"),
    }
    raw = {k: v for k, v in jsonable(item).items() if k != "Tags"}
    return account.resource(arn, FILE_SYSTEM, "volume", region=region, name=fs_id, attributes=attributes,
                            tags=tag_map(item.get("Tags")), raw=raw)


__all__ = ["OPERATIONS", "TYPES", "collect_region"]
