"""FSx backups as ``volume`` stores: a backup is a copy of its file system (or of one volume of
it), the shared drive where scanned records and exports pile up.

Automatic and user-initiated backups, and copies of them from another region, are read. A backup
AWS Backup took (``Type: AWS_BACKUP``) is a recovery point of its vault, read with its vault's
exposure by :mod:`.backup` under the same ARN: it is not yielded twice. Failed and deleted
backups hold nothing and are left out.

Every FSx backup is encrypted at rest, as AWS documents: under ``KmsKeyId`` (its file system's key,
or the key a copy named), else the AWS-managed ``aws/fsx`` key. A backup restores a new file
system (or volume) in the account, or is copied within it; it cannot be shared with another
account except through AWS Backup: never public, read through IAM by whoever may restore or copy
it (:func:`store_access`). Its tags come with the listing; its file system's
(``FileSystem.ResourceARN``) are added under them when the file system is read in the same run,
and a copy (``SourceBackupId`` in ``SourceBackupRegion``) is classed as the backup it copies
(:mod:`.copies`).
"""

from __future__ import annotations

from typing import Any

from phigate.api import Resource
from phigate_providers.aws.calls import pages
from phigate_providers.aws.context import Account, jsonable, tag_map
from phigate_providers.aws.fsx import AWS_MANAGED_KEY
from phigate_providers.aws.kms import KeyDirectory
from phigate_providers.aws.policydoc import PolicyDocument
from phigate_providers.aws.read_actions import Facet, snapshot_facets

BACKUP = "aws.fsx.backup"
TYPES = (BACKUP,)
OPERATIONS = {("fsx", "DescribeBackups"): "fsx:DescribeBackups"}
#: Backups that hold nothing, and those read as AWS Backup recovery points.
_LEFT_OUT = frozenset({"FAILED", "DELETED"})
AWS_BACKUP = "AWS_BACKUP"


def collect_region(account: Account, region: str, keys: KeyDirectory) -> list[Resource]:
    """The backups of ``region``. Raises ApiFailure when they cannot be listed."""
    client = account.client("fsx", region)
    return [_backup(account, region, keys, item) for item in pages(client, "DescribeBackups", "Backups")
            if item.get("Lifecycle") not in _LEFT_OUT and item.get("Type") != AWS_BACKUP]


def _backup(account: Account, region: str, keys: KeyDirectory, item: dict[str, Any]) -> Resource:
    backup_id = str(item["BackupId"])
    arn = str(item.get("ResourceARN") or account.arn("fsx", region, f"backup/{backup_id}"))
    file_system = item.get("FileSystem") or {}
    key = item.get("KmsKeyId") or file_system.get("KmsKeyId")
    attributes: dict[str, Any] = {
        "encryption": keys.encryption(True, key, region, account.account_id, default=AWS_MANAGED_KEY),
        "public_access": {"blocked": True, "grants": []},
    }
    if isinstance(file_system.get("StorageCapacity"), int):
        attributes["size_gb"] = file_system["StorageCapacity"]
    raw = {k: v for k, v in jsonable(item).items() if k != "Tags"}
    source = _source(account, region, item, file_system)
    if source:
        raw["source"] = source
    return account.resource(arn, BACKUP, "volume", region=region, name=backup_id, attributes=attributes,
                            tags=tag_map(item.get("Tags")), raw=raw)


def _source(account: Account, region: str, item: dict[str, Any], file_system: dict[str, Any]) -> str | None:
    """The backup a copy was made from, else the file system backed up."""
    if item.get("SourceBackupId") and item.get("SourceBackupRegion"):
        owner, where = str(item.get("OwnerId") or account.account_id), str(item["SourceBackupRegion"])
        return f"arn:{account.partition}:fsx:{where}:{owner}:backup/{item['SourceBackupId']}"
    if file_system.get("ResourceARN"):
        return str(file_system["ResourceARN"])
    fs_id = file_system.get("FileSystemId")
    return account.arn("fsx", region, f"file-system/{fs_id}") if fs_id else None


def store_access(resource: Resource) -> tuple[tuple[Facet, ...], PolicyDocument | None]:
    """Restored into a new file system or volume, or copied, by whoever the identity policies let
    in its account; shared with no other account."""
    return snapshot_facets(resource.id, BACKUP), None


__all__ = ["BACKUP", "OPERATIONS", "TYPES", "collect_region", "store_access"]
