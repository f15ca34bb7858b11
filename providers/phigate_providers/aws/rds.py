"""RDS instances and Aurora clusters as ``database`` resources.

The RDS API lists DocumentDB (``docdb``) and Neptune clusters and instances too: they are read
here once, with their engine, as RDS databases of the same types (their snapshots likewise in
:mod:`.rds_snapshots`); no other collector lists them. A DocumentDB cluster's TLS comes from its
cluster parameter group (:mod:`.docdb`).

A database can hold another's data: a read replica (of an instance, or a cluster replicating
another, in this region or another: AWS names it by ARN then) and an Aurora or Multi-AZ cluster's
member instance. ``raw["source"]`` names those databases, so a replica carries its primary's tags
under its own (:mod:`.copies`): an untagged replica of a clinical database is clinical.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from phigate.api import Resource
from phigate_providers.aws import parameter_groups
from phigate_providers.aws.calls import pages
from phigate_providers.aws.context import Account, jsonable, tag_map
from phigate_providers.aws.kms import KeyDirectory
from phigate_providers.aws.policydoc import PolicyDocument
from phigate_providers.aws.read_actions import Facet, database_facets
from phigate_providers.aws.transport_rules import Verdict

INSTANCE, CLUSTER = "aws.rds.db_instance", "aws.rds.db_cluster"
DATABASE_TYPES = (INSTANCE, CLUSTER)
OPERATIONS = {
    ("rds", "DescribeDBInstances"): "rds:DescribeDBInstances",
    ("rds", "DescribeDBClusters"): "rds:DescribeDBClusters",
    **parameter_groups.OPERATIONS,
}
#: Cluster engines the RDS API also lists that have no public endpoint: DocumentDB clusters are
#: reached from their VPC only (documented), so their exposure is decided without a read.
VPC_ONLY_ENGINES = frozenset({"docdb"})


def collect_region(account: Account, region: str, keys: KeyDirectory) -> list[Resource]:
    """Instances then clusters of ``region``, with whether they refuse connections without TLS
    (their parameter groups). Raises ApiFailure when either cannot be listed."""
    client = account.client("rds", region)
    instances = list(pages(client, "DescribeDBInstances", "DBInstances"))
    clusters = list(pages(client, "DescribeDBClusters", "DBClusters"))
    transport = parameter_groups.RdsTransport(account, region, client)
    # Clusters first: Aurora members take their cluster's answer.
    found_clusters = [_database(account, region, keys, item, rtype=CLUSTER, name_field="DBClusterIdentifier",
                                arn_field="DBClusterArn", transport=transport.cluster) for item in clusters]
    found = [_database(account, region, keys, item, rtype=INSTANCE, name_field="DBInstanceIdentifier",
                       arn_field="DBInstanceArn", transport=transport.instance) for item in instances]
    return found + found_clusters


def _database(
    account: Account,
    region: str,
    keys: KeyDirectory,
    item: dict[str, Any],
    *,
    rtype: str,
    name_field: str,
    arn_field: str,
    transport: Callable[[dict[str, Any], str, str], Verdict | None],
) -> Resource:
    name = str(item[name_field])
    kind = "db" if rtype.endswith("instance") else "cluster"
    arn = str(item.get(arn_field) or account.arn("rds", region, f"{kind}:{name}"))
    encrypted = bool(item.get("StorageEncrypted"))
    encryption = keys.encryption(encrypted, item.get("KmsKeyId") if encrypted else None, region,
                                 account.account_id)
    attributes: dict[str, Any] = {
        "engine": item.get("Engine"),
        "encryption": encryption,
        "backup_retention_days": item.get("BackupRetentionPeriod"),
        "deletion_protection": bool(item.get("DeletionProtection")),
    }
    # Instances always carry PubliclyAccessible (some emulators omit it when false). An Aurora
    # cluster has none (its instances do): left unread there, never taken for "not public".
    if kind == "db" or "PubliclyAccessible" in item:
        public = bool(item.get("PubliclyAccessible"))
        grants = ["PubliclyAccessible"] if public else []
        attributes["public_access"] = {"blocked": not public, "grants": grants}
    elif item.get("Engine") in VPC_ONLY_ENGINES:
        attributes["public_access"] = {"blocked": True, "grants": []}
    tags = tag_map(item.get("TagList"))
    raw = {k: v for k, v in jsonable(item).items() if k != "TagList"}
    sources = data_sources(account, region, item)
    if sources:
        raw["source"] = sources
    parameter_groups.with_verdict(attributes, raw, transport(item, arn, rtype))
    return account.resource(arn, rtype, "database", region=region, name=name, attributes=attributes,
                            tags=tags, raw=raw)


#: Fields of a database's listing naming another whose data it holds, and what names it when the
#: field gives an identifier rather than an ARN (AWS gives an ARN across regions).
_SOURCE_FIELDS = (
    ("ReadReplicaSourceDBInstanceIdentifier", "db"),
    ("ReadReplicaSourceDBClusterIdentifier", "cluster"),
    ("ReplicationSourceIdentifier", "cluster"),
    ("DBClusterIdentifier", "cluster"),  # an instance's: its cluster's storage
)


def data_sources(account: Account, region: str, item: dict[str, Any]) -> list[str]:
    """The databases whose data this one holds, as ARNs (a replica's primary, a member's
    cluster); none for a cluster's own ``DBClusterIdentifier``, its name."""
    found = []
    for field, prefix in _SOURCE_FIELDS:
        named = item.get(field)
        if not named or (field == "DBClusterIdentifier" and "DBInstanceIdentifier" not in item):
            continue
        text = str(named)
        found.append(text if text.startswith("arn:") else account.arn("rds", region, f"{prefix}:{text}"))
    return found


def store_access(resource: Resource) -> tuple[tuple[Facet, ...], PolicyDocument | None] | None:
    """Read through IAM when IAM database logins or the Data API are on; otherwise its own users
    and grants decide, which are not IAM's."""
    raw = resource.raw
    resource_id = raw.get("DbiResourceId") or raw.get("DbClusterResourceId")
    facets = database_facets(
        resource.id,
        resource_id=str(resource_id) if resource_id else None,
        iam_auth=bool(raw.get("IAMDatabaseAuthenticationEnabled")),
        data_api=bool(raw.get("HttpEndpointEnabled")),
    )
    return (facets, None) if facets else None


__all__ = ["CLUSTER", "DATABASE_TYPES", "INSTANCE", "OPERATIONS", "collect_region", "data_sources",
           "store_access"]
