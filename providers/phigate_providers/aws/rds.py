"""RDS instances and Aurora clusters as ``database`` resources.

The RDS API lists DocumentDB (``docdb``) and Neptune clusters and instances too: they are read
here once, with their engine, as RDS databases of the same types (their snapshots likewise in
:mod:`.rds_snapshots`); no other collector lists them. A DocumentDB cluster's TLS comes from its
cluster parameter group (:mod:`.docdb`).
"""

from __future__ import annotations

from typing import Any

from phigate.api import Resource
from phigate_providers.aws import docdb
from phigate_providers.aws.calls import pages
from phigate_providers.aws.context import Account, jsonable, tag_map
from phigate_providers.aws.kms import KeyDirectory
from phigate_providers.aws.policydoc import PolicyDocument
from phigate_providers.aws.read_actions import Facet, database_facets

DATABASE_TYPES = ("aws.rds.db_instance", "aws.rds.db_cluster")
#: Cluster engines the RDS API also lists that have no public endpoint: DocumentDB clusters are
#: reached from their VPC only (documented), so their exposure is decided without a read.
VPC_ONLY_ENGINES = frozenset({"docdb"})


def collect_region(account: Account, region: str, keys: KeyDirectory) -> list[Resource]:
    """Instances then clusters of ``region``. Raises ApiFailure when either cannot be listed."""
    client = account.client("rds", region)
    found = [
        _database(
            account,
            region,
            keys,
            item,
            rtype="aws.rds.db_instance",
            name_field="DBInstanceIdentifier",
            arn_field="DBInstanceArn",
        )
        for item in pages(client, "DescribeDBInstances", "DBInstances")
    ]
    transport = docdb.TransportByGroup(account, region, client)
    found += [
        _database(
            account,
            region,
            keys,
            item,
            rtype="aws.rds.db_cluster",
            name_field="DBClusterIdentifier",
            arn_field="DBClusterArn",
            transport=transport,
        )
        for item in pages(client, "DescribeDBClusters", "DBClusters")
    ]
    return found


def _database(
    account: Account,
    region: str,
    keys: KeyDirectory,
    item: dict[str, Any],
    *,
    rtype: str,
    name_field: str,
    arn_field: str,
    transport: docdb.TransportByGroup | None = None,
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
    tls = transport.required(item, arn) if transport is not None else None
    if tls is not None:
        attributes["secure_transport_required"] = tls
    tags = tag_map(item.get("TagList"))
    return account.resource(
        arn,
        rtype,
        "database",
        region=region,
        name=name,
        attributes=attributes,
        tags=tags,
        raw={k: v for k, v in jsonable(item).items() if k != "TagList"},
    )


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


__all__ = ["DATABASE_TYPES", "collect_region", "store_access"]
