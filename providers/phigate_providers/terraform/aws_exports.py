"""RDS snapshot exports to S3 in a plan (``aws_rds_export_task``), read as the live reader reads
them (:mod:`phigate_providers.aws.rds_exports`): the bucket an export lands in holds the exported
database's tables, so it carries the tags of the snapshot (or cluster) exported, and through it
its database's, under its own.

The bucket (``s3_bucket_name``) and the source (``source_arn``) are followed by reference, or
found by name or ARN among the plan's buckets and snapshots. A source outside the plan lends
nothing, as a snapshot the live run does not read; an export whose bucket is outside the plan is
listed among what the plan could not join.
"""

from __future__ import annotations

import dataclasses

from phigate_providers.aws.copies import merge_tags
from phigate_providers.terraform import snapshots
from phigate_providers.terraform.context import Context
from phigate_providers.terraform.plan import PlannedResource
from phigate_providers.terraform.values import expression, trace, value

EXPORT_TASK = "aws_rds_export_task"
TYPES = frozenset({EXPORT_TASK})
BUCKET = "aws_s3_bucket"
#: What an export copies: an instance or cluster snapshot (or a copy of one), or a cluster.
SOURCES = frozenset({*snapshots.SNAPSHOTS, "aws_rds_cluster"}) - {"aws_ebs_snapshot", "aws_ebs_snapshot_copy"}


def collect(context: Context) -> list[str]:
    """The plan's buckets classed by the exports planned into them (after the buckets and the
    snapshots are built); the addresses of exports whose bucket is not in the plan."""
    orphans = []
    for task in context.plan.by_type.get(EXPORT_TASK, ()):
        bucket = _followed(context, task, "s3_bucket_name", frozenset({BUCKET}))
        if bucket is None:
            orphans.append(task.address)
            continue
        source = _followed(context, task, "source_arn", SOURCES)
        exported = context.by_source.get(source.address) if source is not None else None
        built = next((b for b in context.built if b.sources and b.sources[0] == bucket.address), None)
        if exported is None or built is None:  # lends nothing; a bucket not built has its error
            continue
        assert source is not None
        named = built.resource.raw.get("source")
        sources = [*(named if isinstance(named, list) else []), source.address]
        built.resource = dataclasses.replace(
            built.resource, tags=merge_tags(exported.tags, built.resource.tags),
            raw={**built.resource.raw, "source": sources})
        context.by_source[bucket.address] = built.resource
    return orphans


def _followed(context: Context, task: PlannedResource, attribute: str,
              types: frozenset[str]) -> PlannedResource | None:
    """The planned resource of ``types`` the task's ``attribute`` names, by reference or name."""
    traced = trace(context.plan, task, expression(task, (attribute,)), types)
    if traced.resource is not None:
        return traced.resource
    literal = traced.constant if traced.has_constant else value(task, (attribute,))
    return snapshots.planned_named(context, types, literal) if isinstance(literal, str) and literal else None


__all__ = ["EXPORT_TASK", "TYPES", "collect"]
