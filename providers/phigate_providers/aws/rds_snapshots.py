"""RDS and Aurora snapshots as ``database`` stores: a snapshot is a copy of its database.

The account's own snapshots, manual and automated (and those AWS Backup made), are read with
their ``restore`` attribute: the accounts that may restore (copy) them, ``all`` for every AWS
account. ``all`` is public exposure (``public_access.grants``); other accounts are readers for the
access analysis (:func:`store_access`). Automated snapshots cannot be shared, so theirs is known
without a read. A snapshot whose attribute cannot be read is yielded without ``public_access``
and with an error naming it: its exposure is undecided, never taken for private.

Encryption and key are the snapshot's own (a snapshot is encrypted with its source's key, or the
key its copy named). Its tags are its own; the source database's are added under them when the
source is read in the same run (:mod:`.copies`), and so are those of the snapshot a copy was made
from: a copy in another region names its database's region (``SourceRegion``) and its source
snapshot's ARN, so a copy of a clinical database's snapshot is clinical wherever it lies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from phigate.api import Resource
from phigate_providers.aws.calls import ApiFailure, call, pages
from phigate_providers.aws.context import Account, jsonable, tag_map
from phigate_providers.aws.kms import KeyDirectory
from phigate_providers.aws.policydoc import PolicyDocument
from phigate_providers.aws.read_actions import Facet, sharing_policy, snapshot_facets

SNAPSHOT, CLUSTER_SNAPSHOT = "aws.rds.db_snapshot", "aws.rds.db_cluster_snapshot"
TYPES = (SNAPSHOT, CLUSTER_SNAPSHOT)
OPERATIONS = {
    ("rds", "DescribeDBSnapshots"): "rds:DescribeDBSnapshots",
    ("rds", "DescribeDBSnapshotAttributes"): "rds:DescribeDBSnapshotAttributes",
    ("rds", "DescribeDBClusterSnapshots"): "rds:DescribeDBClusterSnapshots",
    ("rds", "DescribeDBClusterSnapshotAttributes"): "rds:DescribeDBClusterSnapshotAttributes",
}
#: Snapshot types that cannot be shared (AWS refuses to share them).
NEVER_SHARED = frozenset({"automated"})


@dataclass(frozen=True)
class _Shape:
    """How one of the two listings names things."""

    rtype: str
    prefix: str  # of the snapshot's ARN
    listing: str
    key: str
    attributes: str
    attributes_result: str
    attributes_key: str
    name: str
    arn: str
    source: str
    source_prefix: str  # of the source's ARN
    encrypted: str
    copied_from: str  # the snapshot a copy was made from


_INSTANCE = _Shape(SNAPSHOT, "snapshot", "DescribeDBSnapshots", "DBSnapshots",
                   "DescribeDBSnapshotAttributes", "DBSnapshotAttributesResult", "DBSnapshotAttributes",
                   "DBSnapshotIdentifier", "DBSnapshotArn", "DBInstanceIdentifier", "db", "Encrypted",
                   "SourceDBSnapshotIdentifier")
_CLUSTER = _Shape(CLUSTER_SNAPSHOT, "cluster-snapshot", "DescribeDBClusterSnapshots", "DBClusterSnapshots",
                  "DescribeDBClusterSnapshotAttributes", "DBClusterSnapshotAttributesResult",
                  "DBClusterSnapshotAttributes", "DBClusterSnapshotIdentifier", "DBClusterSnapshotArn",
                  "DBClusterIdentifier", "cluster", "StorageEncrypted",
                  "SourceDBClusterSnapshotArn")


def collect_region(account: Account, region: str, keys: KeyDirectory) -> list[Resource]:
    """Instance then cluster snapshots of ``region``. Raises ApiFailure when either cannot be
    listed; a snapshot whose sharing cannot be read is yielded without it, its error recorded."""
    client = account.client("rds", region)
    found: list[Resource] = []
    for shape in (_INSTANCE, _CLUSTER):
        found += [_snapshot(account, region, keys, client=client, shape=shape, item=item)
                  for item in pages(client, shape.listing, shape.key)]
    return found


def _snapshot(account: Account, region: str, keys: KeyDirectory, *, client: Any, shape: _Shape,
              item: dict[str, Any]) -> Resource:
    name = str(item[shape.name])
    arn = str(item.get(shape.arn) or account.arn("rds", region, f"{shape.prefix}:{name}"))
    encrypted = bool(item.get(shape.encrypted))
    attributes: dict[str, Any] = {
        "engine": item.get("Engine"),
        "encryption": keys.encryption(encrypted, item.get("KmsKeyId") if encrypted else None, region,
                                      account.account_id),
    }
    raw = {k: v for k, v in jsonable(item).items() if k != "TagList"}
    sources = _sources(account, region, shape, item)
    if sources:
        raw["source"] = sources
    shared = _restorers(account, region, client=client, shape=shape, arn=arn, item=item)
    if shared is not None:
        raw["shared_with"] = shared
        grants = ["restore:all"] if "all" in shared else []
        attributes["public_access"] = {"blocked": not grants, "grants": grants}
    return account.resource(arn, shape.rtype, "database", region=region, name=name, attributes=attributes,
                            tags=tag_map(item.get("TagList")), raw=raw)


def _sources(account: Account, region: str, shape: _Shape, item: dict[str, Any]) -> list[str]:
    """The database the snapshot copies, in the region it was taken in (a copy from another
    region names it in ``SourceRegion``, keeping the database's identifier), and the snapshot a
    copy was made from (an ARN; a name within the region), itself labelled by its database."""
    found = []
    database = item.get(shape.source)
    if database:
        taken_in = str(item.get("SourceRegion") or region)
        found.append(account.arn("rds", taken_in, f"{shape.source_prefix}:{database}"))
    copied = item.get(shape.copied_from)
    if copied:
        text = str(copied)
        named = text if text.startswith("arn:") else account.arn("rds", region, f"{shape.prefix}:{text}")
        found.append(named)
    return found


def _restorers(account: Account, region: str, *, client: Any, shape: _Shape, arn: str,
               item: dict[str, Any]) -> list[str] | None:
    """The accounts that may restore the snapshot (``all``: any); None when not read."""
    if item.get("SnapshotType") in NEVER_SHARED:
        return []
    name = str(item[shape.name])
    try:
        response = call(client, shape.attributes, **{shape.name: name})
    except ApiFailure as failure:
        account.failed(failure, f"RDS snapshot {name} sharing", kinds=("database",), types=TYPES,
                       region=region, resource_id=arn)
        return None
    assert response is not None
    result = response.get(shape.attributes_result) or {}
    found: set[str] = set()
    for attribute in result.get(shape.attributes_key) or ():
        if attribute.get("AttributeName") == "restore":
            found.update(str(v) for v in attribute.get("AttributeValues") or ())
    return sorted(found)


def store_access(resource: Resource) -> tuple[tuple[Facet, ...], PolicyDocument | None] | str:
    """Restored or copied by whoever the identity policies let in its account, and by the
    accounts it is shared with (``all``: everyone) as a resource policy would let them; why
    not known when its sharing was not read."""
    shared = resource.raw.get("shared_with")
    if not isinstance(shared, list):
        return "sharing not read"
    facets = snapshot_facets(resource.id, resource.type)
    return facets, sharing_policy(resource.id, resource.type, [str(a) for a in shared])


__all__ = ["OPERATIONS", "TYPES", "collect_region", "store_access"]
