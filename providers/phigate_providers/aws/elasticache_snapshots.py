"""ElastiCache snapshots (Valkey, Redis OSS) as ``database`` stores: a snapshot is a copy of its
replication group, sessions and records last read included.

A snapshot, automated or manual, restores a new cache in the account, and is exported by copying
it to an S3 bucket (the bucket is then read as a bucket). It cannot be shared with another
account: never public, read through IAM by whoever may restore or copy it (:func:`store_access`).

Encryption at rest is its replication group's: under the snapshot's ``KmsKeyId`` when it names
one, else under a key ElastiCache manages when the group encrypts at rest, else unencrypted. The
listing does not say whether a snapshot without a key is encrypted, so its group is read
(``DescribeReplicationGroups``, once per region, only when such a snapshot is found); a snapshot
whose group is gone, or of a cache cluster outside any group, has no ``encryption``: PHI-ENC-001
is ``error``, never ``pass``. Its tags are its own, its group's added under them when the group is
read in the same run (``raw["source"]``: :mod:`.copies`); a snapshot whose tags cannot be read is
yielded untagged with an error naming it.
"""

from __future__ import annotations

from typing import Any

from phigate.api import Resource
from phigate_providers.aws.calls import ApiFailure, call, pages
from phigate_providers.aws.context import Account, jsonable, tag_map
from phigate_providers.aws.kms import KeyDirectory
from phigate_providers.aws.policydoc import PolicyDocument
from phigate_providers.aws.read_actions import Facet, snapshot_facets

SNAPSHOT = "aws.elasticache.snapshot"
TYPES = (SNAPSHOT,)
KIND = "database"
#: Its tags and its groups are read with ``ListTagsForResource`` and ``DescribeReplicationGroups``,
#: which the replication groups' entry declares (an operation is declared once).
OPERATIONS = {("elasticache", "DescribeSnapshots"): "elasticache:DescribeSnapshots"}
#: A key ElastiCache manages, as for replication groups.
SERVICE_KEY: dict[str, Any] = {"at_rest": True, "algorithm": "AES256", "key": None, "key_manager": "provider"}
#: Shared with no other account, let alone everyone.
NOT_SHARED: dict[str, Any] = {"blocked": True, "grants": []}


def collect_region(account: Account, region: str, keys: KeyDirectory) -> list[Resource]:
    """The snapshots of ``region``. Raises ApiFailure when they cannot be listed; a snapshot
    whose group's encryption or whose tags cannot be read is yielded without them, its error
    recorded."""
    client = account.client("elasticache", region)
    listed = list(pages(client, "DescribeSnapshots", "Snapshots"))
    groups: dict[str, bool] | ApiFailure = {}
    if any(not item.get("KmsKeyId") and item.get("ReplicationGroupId") for item in listed):
        try:
            groups = {str(g["ReplicationGroupId"]): bool(g.get("AtRestEncryptionEnabled"))
                      for g in pages(client, "DescribeReplicationGroups", "ReplicationGroups")}
        except ApiFailure as failure:
            groups = failure
    return [_snapshot(account, region, keys, client, item, groups=groups) for item in listed]


def _snapshot(account: Account, region: str, keys: KeyDirectory, client: Any, item: dict[str, Any], *,
              groups: dict[str, bool] | ApiFailure) -> Resource:
    name = str(item["SnapshotName"])
    arn = str(item.get("ARN") or account.arn("elasticache", region, f"snapshot:{name}"))
    attributes: dict[str, Any] = {"engine": item.get("Engine"), "public_access": dict(NOT_SHARED)}
    group = item.get("ReplicationGroupId")
    if item.get("KmsKeyId"):
        attributes["encryption"] = keys.encryption(True, str(item["KmsKeyId"]), region, account.account_id)
    elif isinstance(groups, ApiFailure) and group:
        account.failed(groups, f"ElastiCache snapshot {name} encryption (its replication group)",
                       kinds=(KIND,), types=TYPES, region=region, resource_id=arn)
    elif isinstance(groups, dict) and group and str(group) in groups:
        attributes["encryption"] = (dict(SERVICE_KEY) if groups[str(group)]
                                    else keys.encryption(False, None, region, account.account_id))
    raw = jsonable(item)
    if group:
        raw["source"] = account.arn("elasticache", region, f"replicationgroup:{group}")
    tags: dict[str, str] = {}
    try:
        tags = tag_map((call(client, "ListTagsForResource", ResourceName=arn) or {}).get("TagList"))
    except ApiFailure as failure:
        account.failed(failure, f"ElastiCache snapshot {name} tags", kinds=(KIND,), types=TYPES,
                       region=region, resource_id=arn)
    return account.resource(arn, SNAPSHOT, KIND, region=region, name=name, attributes=attributes, tags=tags,
                            raw=raw)


def store_access(resource: Resource) -> tuple[tuple[Facet, ...], PolicyDocument | None]:
    """Restored into a new cache or copied (to a bucket too) by whoever the identity policies let
    in its account; shared with no other account."""
    return snapshot_facets(resource.id, SNAPSHOT), None


__all__ = ["OPERATIONS", "SNAPSHOT", "TYPES", "collect_region", "store_access"]
