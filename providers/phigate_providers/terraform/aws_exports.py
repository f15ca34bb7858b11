"""Exports to S3 in a plan, read as the live reader reads them (:mod:`phigate_providers.aws.rds_exports`,
:mod:`phigate_providers.aws.dynamodb_exports`): the bucket an export lands in holds the exported
data, so it carries the tags of what was exported under its own: the snapshot (or cluster) of an
``aws_rds_export_task``, and through it its database's; the table of an
``aws_dynamodb_table_export``.

The bucket (``s3_bucket_name``, ``s3_bucket``) and the source (``source_arn``, ``table_arn``) are
followed by reference, or
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

EXPORT_TASK, TABLE_EXPORT = "aws_rds_export_task", "aws_dynamodb_table_export"
BUCKET = "aws_s3_bucket"
#: Per export type: the attribute naming its bucket, the one naming its source, the source types
#: (an RDS export copies an instance or cluster snapshot, or a copy of one, or a cluster).
EXPORTS: dict[str, tuple[str, str, frozenset[str]]] = {
    EXPORT_TASK: ("s3_bucket_name", "source_arn", frozenset(
        {*snapshots.SNAPSHOTS, "aws_rds_cluster"} - {"aws_ebs_snapshot", "aws_ebs_snapshot_copy"})),
    TABLE_EXPORT: ("s3_bucket", "table_arn", frozenset({"aws_dynamodb_table"})),
}
TYPES = frozenset(EXPORTS)


def collect(context: Context) -> list[str]:
    """The plan's buckets classed by the exports planned into them (after the buckets and the
    snapshots are built); the addresses of exports whose bucket is not in the plan."""
    orphans = []
    tasks = [(task, *EXPORTS[t]) for t in sorted(EXPORTS) for task in context.plan.by_type.get(t, ())]
    for task, bucket_attribute, source_attribute, source_types in tasks:
        bucket = _followed(context, task, bucket_attribute, frozenset({BUCKET}))
        if bucket is None:
            orphans.append(task.address)
            continue
        source = _followed(context, task, source_attribute, source_types)
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


__all__ = ["EXPORTS", "EXPORT_TASK", "TABLE_EXPORT", "TYPES", "collect"]
