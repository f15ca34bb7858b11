"""RDS automated backups kept after their database was deleted, as ``database`` stores.

Deleting a database while keeping its automated backups (the console's default) leaves its
system snapshots and transaction logs behind, restorable to any second of the retention window,
long after anyone looks at the database. Those ``retained`` backups are read; the ``active``
ones belong to a live database, judged with it (its automated snapshots are read as snapshots).
Backups replicated to another region (cross-region automated backup replication) are copies of
a database living elsewhere, whatever their status: listed in the region they were replicated
to, naming a database of another region (``DBInstanceArn``), they are read there, with its class.

Encryption and key are the backup's (its database's). A backup whose listing does not say whether
it is encrypted is yielded without ``encryption``: undecided, never taken for unencrypted. It
cannot be shared (never public); it is read by restoring it
(``rds:RestoreDBInstanceToPointInTime`` on the backup). Its tags are its own, its database's
under them while that database is read (it is gone, mostly: an untagged backup is unclassified).
"""

from __future__ import annotations

from typing import Any

from phigate.api import Resource
from phigate_providers.aws.calls import pages
from phigate_providers.aws.context import Account, jsonable, tag_map
from phigate_providers.aws.kms import KeyDirectory
from phigate_providers.aws.policydoc import PolicyDocument
from phigate_providers.aws.read_actions import Facet, automated_backup_facets

BACKUP = "aws.rds.automated_backup"
TYPES = (BACKUP,)
OPERATIONS = {
    ("rds", "DescribeDBInstanceAutomatedBackups"): "rds:DescribeDBInstanceAutomatedBackups",
}


def collect_region(account: Account, region: str, keys: KeyDirectory) -> list[Resource]:
    """The retained automated backups of ``region``, and those replicated here from another
    region. Raises ApiFailure when they cannot be listed."""
    client = account.client("rds", region)
    return [_backup(account, region, keys, item)
            for item in pages(client, "DescribeDBInstanceAutomatedBackups", "DBInstanceAutomatedBackups")
            if item.get("Status") == "retained" or _replicated_here(item, region)]


def _replicated_here(item: dict[str, Any], region: str) -> bool:
    """Whether the backup is a replica of another region's database's backups."""
    database = str(item.get("DBInstanceArn") or "")
    parts = database.split(":")
    return len(parts) > 3 and parts[3] not in ("", region)


def _backup(account: Account, region: str, keys: KeyDirectory, item: dict[str, Any]) -> Resource:
    name = str(item.get("DBInstanceIdentifier") or item.get("DbiResourceId"))
    arn = str(item.get("DBInstanceAutomatedBackupsArn")
              or account.arn("rds", region, f"auto-backup:{item.get('DbiResourceId') or name}"))
    attributes: dict[str, Any] = {"engine": item.get("Engine"),
                                  "public_access": {"blocked": True, "grants": []}}
    if isinstance(item.get("Encrypted"), bool):
        encrypted = bool(item["Encrypted"])
        attributes["encryption"] = keys.encryption(encrypted, item.get("KmsKeyId") if encrypted else None,
                                                   region, account.account_id)
    raw = {k: v for k, v in jsonable(item).items() if k != "TagList"}
    raw["source"] = str(item.get("DBInstanceArn") or account.arn("rds", region, f"db:{name}"))
    return account.resource(arn, BACKUP, "database", region=region, name=name, attributes=attributes,
                            tags=tag_map(item.get("TagList")), raw=raw)


def store_access(resource: Resource) -> tuple[tuple[Facet, ...], PolicyDocument | None]:
    """Restored by whoever the identity policies let in (a backup cannot be shared)."""
    return automated_backup_facets(resource.id), None


__all__ = ["OPERATIONS", "TYPES", "collect_region", "store_access"]
