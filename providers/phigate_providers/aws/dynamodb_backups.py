"""DynamoDB on-demand backups as ``table`` stores: a backup is a copy of its table.

Every backup of the account is read, those it made (``USER``), those DynamoDB made before
deleting a table (``SYSTEM``: they outlive it) and AWS Backup's. A backup keeps the encryption its
table had when it was taken: ``DescribeBackup`` gives it (``SourceTableFeatureDetails``'s
``SSEDescription``; none: an AWS-owned key, as for tables). A backup whose description cannot be
read is yielded without ``encryption``, its error recorded: undecided, never taken for encrypted.

A backup cannot be shared or made public (``public_access`` is decided without a read); it is
read by restoring it (``dynamodb:RestoreTableFromBackup``). It has no tags of its own: its table's
are its class when the table is read in the same run (:mod:`.copies`); a backup of a deleted
table is unclassified.
"""

from __future__ import annotations

from typing import Any

from phigate.api import Resource
from phigate_providers.aws import dynamodb
from phigate_providers.aws.calls import ApiFailure, call, pages
from phigate_providers.aws.context import Account, jsonable
from phigate_providers.aws.kms import KeyDirectory
from phigate_providers.aws.policydoc import PolicyDocument
from phigate_providers.aws.read_actions import Facet, table_backup_facets

BACKUP = "aws.dynamodb.backup"
TYPES = (BACKUP,)
KIND = "table"
OPERATIONS = {
    ("dynamodb", "ListBackups"): "dynamodb:ListBackups",
    ("dynamodb", "DescribeBackup"): "dynamodb:DescribeBackup",
}
#: Backups being made or deleted hold nothing yet, or nothing any more.
_HOLDING = frozenset({"AVAILABLE"})


def collect_region(account: Account, region: str, keys: KeyDirectory) -> list[Resource]:
    """The backups of ``region``. Raises ApiFailure when they cannot be listed; a backup whose
    description cannot be read is yielded without its encryption, its error recorded."""
    client = account.client("dynamodb", region)
    return [_backup(account, region, keys, client, item)
            for item in pages(client, "ListBackups", "BackupSummaries", BackupType="ALL")
            if item.get("BackupStatus") in _HOLDING]


def _backup(account: Account, region: str, keys: KeyDirectory, client: Any, item: dict[str, Any]) -> Resource:
    arn = str(item["BackupArn"])
    attributes: dict[str, Any] = {"public_access": {"blocked": True, "grants": []}}
    raw = jsonable(item)
    if item.get("TableArn"):
        raw["source"] = str(item["TableArn"])
    try:
        described = call(client, "DescribeBackup", BackupArn=arn) or {}
        features = (described.get("BackupDescription") or {}).get("SourceTableFeatureDetails") or {}
        attributes["encryption"] = dynamodb.encryption(account, region, features, keys)
    except ApiFailure as failure:
        account.failed(failure, f"DynamoDB backup {item.get('BackupName') or arn}", kinds=(KIND,),
                       types=TYPES, region=region, resource_id=arn)
    name = f"{item.get('TableName')}/{item.get('BackupName')}"
    return account.resource(arn, BACKUP, KIND, region=region, name=name, attributes=attributes, raw=raw)


def store_access(resource: Resource) -> tuple[tuple[Facet, ...], PolicyDocument | None]:
    """Restored by whoever the identity policies let in (a backup has no resource policy)."""
    return table_backup_facets(resource.id), None


__all__ = ["OPERATIONS", "TYPES", "collect_region", "store_access"]
