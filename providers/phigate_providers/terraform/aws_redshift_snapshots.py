"""Manual Redshift snapshots of a plan (``aws_redshift_cluster_snapshot``), as the AWS provider
reads them live (:mod:`phigate_providers.aws.redshift_snapshots`): ``aws.redshift.snapshot``
``database`` stores, copies of their cluster.

A snapshot is encrypted as its cluster is, under its key: the cluster of the plan (by reference
or by its identifier) tells it; a cluster outside the plan leaves it unknown. It carries its
cluster's tags under its own (:func:`.snapshots.tags_over_source`). Redshift cannot share a
snapshot with everyone: never public; the plan has no resource sharing one with an account
(``authorize-snapshot-access`` is not a Terraform resource), so no account but its own restores it.

``aws_redshift_snapshot_copy`` (cross-region copies of a cluster's automated snapshots) and
``aws_redshift_snapshot_schedule`` (when automated snapshots are taken) create no store of
their own: automated snapshots are their cluster's, as live, and they are not read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from phigate.api import Unknown
from phigate_providers.terraform.context import Context
from phigate_providers.terraform.iam import StoreFacts
from phigate_providers.terraform.plan import PlannedResource
from phigate_providers.terraform.snapshots import add_snapshot, cluster_of, copies_of
from phigate_providers.terraform.store_values import undecided
from phigate_providers.terraform.values import value

SNAPSHOT, CLUSTER = "aws_redshift_cluster_snapshot", "aws_redshift_cluster"
TYPES = frozenset({SNAPSHOT})
#: Types whose real-world id is their ``arn``.
ARN_TYPES = TYPES
#: As :mod:`phigate_providers.aws.redshift_snapshots` names it (which loads the SDK).
RTYPE, KIND = "aws.redshift.snapshot", "database"


def collect(context: Context) -> list[StoreFacts]:
    """Every planned manual snapshot (after the clusters: a snapshot is encrypted as its
    cluster is); how the access analysis reads them."""
    facts: list[StoreFacts] = []
    for planned, cluster, rid, tags in copies_of(context, SNAPSHOT, KIND, RTYPE, _cluster):
        attributes: dict[str, Any] = {"engine": "redshift",
                                      "encryption": _encryption(context, planned, cluster),
                                      "public_access": {"blocked": True, "grants": []}}
        facts.append(add_snapshot(context, planned, rid=rid, rtype=RTYPE, kind=KIND, tags=tags,
                                  attributes=attributes, source=cluster, arn=_arn(context, planned)))
    return facts


def _cluster(context: Context, planned: PlannedResource) -> PlannedResource | None:
    return cluster_of(context, planned, "cluster_identifier", CLUSTER, "cluster_identifier")


def _encryption(context: Context, planned: PlannedResource,
                cluster: PlannedResource | None) -> dict[str, Any]:
    found = context.encryption_of(cluster) if cluster is not None else None
    if isinstance(found, Mapping):
        return dict(found)  # as its cluster is, under its key
    name = value(planned, ("cluster_identifier",))
    what = cluster.address if cluster is not None else (name if isinstance(name, str) else "its cluster")
    return undecided(Unknown(f"{planned.address}: encrypted as its cluster {what} is, which the plan "
                             "does not tell"))


def _arn(context: Context, planned: PlannedResource) -> str:
    """The snapshot's ARN (``…:snapshot:CLUSTER/NAME``); before apply, any account's of its
    names (any where a name is not planned)."""
    arn = value(planned, ("arn",))
    if isinstance(arn, str) and arn.startswith("arn:"):
        return arn
    cluster, name = (value(planned, (attribute,)) for attribute in ("cluster_identifier",
                                                                     "snapshot_identifier"))
    cluster, name = (found if isinstance(found, str) and found else "*" for found in (cluster, name))
    return f"arn:aws:redshift:{context.region(planned) or '*'}:*:snapshot:{cluster}/{name}"


__all__ = ["ARN_TYPES", "TYPES", "collect"]
