"""Redshift clusters as ``database`` stores: warehouses where care and billing data meet.

Encryption at rest is the cluster's (``Encrypted``, under ``KmsKeyId``; the AWS-managed
``aws/redshift`` key when it names none); ``PubliclyAccessible`` is public exposure, as for RDS.
Whether it refuses connections without TLS is its parameter group's ``require_ssl``
(:mod:`.parameter_groups`).
Principals read a cluster through temporary database credentials and the Data API
(:func:`~phigate_providers.aws.read_actions.warehouse_facets`); the database's own grants then
apply, which are not IAM's.
"""

from __future__ import annotations

from typing import Any

from phigate.api import Resource
from phigate_providers.aws import parameter_groups
from phigate_providers.aws.calls import pages
from phigate_providers.aws.context import Account, jsonable, tag_map
from phigate_providers.aws.kms import KeyDirectory
from phigate_providers.aws.policydoc import PolicyDocument
from phigate_providers.aws.read_actions import Facet, warehouse_facets

CLUSTER = "aws.redshift.cluster"
TYPES = (CLUSTER,)
OPERATIONS = {("redshift", "DescribeClusters"): "redshift:DescribeClusters",
              **parameter_groups.REDSHIFT_OPERATIONS}
AWS_MANAGED_KEY = "alias/aws/redshift"


def collect_region(account: Account, region: str, keys: KeyDirectory) -> list[Resource]:
    """The clusters of ``region`` (tags come with them). Raises ApiFailure when they cannot be
    listed."""
    client = account.client("redshift", region)
    groups = parameter_groups.redshift_reader(client)
    return [_cluster(account, region, keys, groups, item)
            for item in pages(client, "DescribeClusters", "Clusters")]


def _cluster(account: Account, region: str, keys: KeyDirectory, groups: parameter_groups.GroupReader,
             item: dict[str, Any]) -> Resource:
    name = str(item["ClusterIdentifier"])
    arn = account.arn("redshift", region, f"cluster:{name}")
    encrypted = bool(item.get("Encrypted"))
    public = bool(item.get("PubliclyAccessible"))
    attributes: dict[str, Any] = {
        "engine": "redshift",
        "encryption": keys.encryption(encrypted, item.get("KmsKeyId") if encrypted else None, region,
                                      account.account_id, default=AWS_MANAGED_KEY),
        "public_access": {"blocked": not public, "grants": ["PubliclyAccessible"] if public else []},
        "backup_retention_days": item.get("AutomatedSnapshotRetentionPeriod"),
    }
    raw = {k: v for k, v in jsonable(item).items() if k != "Tags"}
    verdict = parameter_groups.redshift_verdict(account, region, groups, item, arn=arn, rtype=CLUSTER)
    parameter_groups.with_verdict(attributes, raw, verdict)
    return account.resource(arn, CLUSTER, "database", region=region, name=name, attributes=attributes,
                            tags=tag_map(item.get("Tags")), raw=raw)


def store_access(resource: Resource) -> tuple[tuple[Facet, ...], PolicyDocument | None]:
    """Temporary credentials and the Data API, under identity policies (no resource policy)."""
    return warehouse_facets(resource.id), None


__all__ = ["OPERATIONS", "TYPES", "collect_region", "store_access"]
