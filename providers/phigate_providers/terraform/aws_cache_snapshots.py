"""MemoryDB snapshots of a plan (``aws_memorydb_snapshot``), as the AWS provider reads them live
(:mod:`phigate_providers.aws.memorydb_snapshots`): ``aws.memorydb.snapshot`` ``database`` stores,
copies of their cluster.

MemoryDB always encrypts a snapshot: under ``kms_key_arn`` when it names one, else as its cluster
is, under its key; the cluster of the plan (by reference or by its name) tells which, a cluster
outside the plan leaves the key unknown (encrypted all the same). It carries its cluster's tags
under its own (:func:`.snapshots.tags_over_source`). It cannot be shared with another account:
never public, read by whoever may restore or copy it.

ElastiCache snapshots have no Terraform resource (a replication group's ``final_snapshot_identifier``
names the one taken when it is deleted): a plan holds none.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from phigate.api import Unknown
from phigate_providers.terraform.context import Context
from phigate_providers.terraform.iam import StoreFacts
from phigate_providers.terraform.keys import KeyBook, encryption
from phigate_providers.terraform.plan import PlannedResource
from phigate_providers.terraform.snapshots import add_snapshot, cluster_of, copies_of
from phigate_providers.terraform.values import configured, value

SNAPSHOT, CLUSTER = "aws_memorydb_snapshot", "aws_memorydb_cluster"
TYPES = frozenset({SNAPSHOT})
#: Types whose real-world id is their ``arn``.
ARN_TYPES = TYPES
#: As :mod:`phigate_providers.aws.memorydb_snapshots` names it (which loads the SDK).
RTYPE, KIND = "aws.memorydb.snapshot", "database"


def collect(context: Context, keys: KeyBook) -> list[StoreFacts]:
    """Every planned snapshot (after the clusters: a snapshot is encrypted as its cluster is);
    how the access analysis reads them."""
    facts: list[StoreFacts] = []
    for planned, cluster, rid, tags in copies_of(context, SNAPSHOT, KIND, RTYPE, _cluster):
        found = context.encryption_of(cluster) if cluster is not None else None
        attributes: dict[str, Any] = {
            "engine": value(cluster, ("engine",)) if cluster is not None else None,
            "encryption": _encryption(keys, planned, found),
            "public_access": {"blocked": True, "grants": []},
        }
        facts.append(add_snapshot(context, planned, rid=rid, rtype=RTYPE, kind=KIND, tags=tags,
                                  attributes=attributes, source=cluster, arn=_arn(context, planned)))
    return facts


def _cluster(context: Context, planned: PlannedResource) -> PlannedResource | None:
    return cluster_of(context, planned, "cluster_name", CLUSTER, "name")


def _encryption(keys: KeyBook, planned: PlannedResource, cluster: Any) -> dict[str, Any]:
    if configured(planned, ("kms_key_arn",)):
        return encryption(True, "aws:kms", keys.choose(planned, ("kms_key_arn",)))
    if isinstance(cluster, Mapping):
        return dict(cluster)  # as its cluster is, under its key
    reason = Unknown(f"{planned.address}: encrypted under its cluster's key, which the plan does not tell")
    return {"at_rest": True, "algorithm": reason, "key": reason, "key_manager": reason}


def _arn(context: Context, planned: PlannedResource) -> str:
    """The snapshot's ARN; before apply, any account's of its name (any where it is not planned)."""
    arn = value(planned, ("arn",))
    if isinstance(arn, str) and arn.startswith("arn:"):
        return arn
    name = value(planned, ("name",))
    return (f"arn:aws:memorydb:{context.region(planned) or '*'}:*:snapshot/"
            f"{name if isinstance(name, str) and name else '*'}")


__all__ = ["ARN_TYPES", "TYPES", "collect"]
