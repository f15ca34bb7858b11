"""RDS and Aurora snapshot exports to S3: a database's tables copied, as Parquet files, into a bucket.

An export is the one copy of a clinical database that leaves the database's world: its files are
objects of a bucket, judged as the bucket is (its policy, encryption, logging), and readable by
whoever reads the bucket. What phigate must not lose is their class: a bucket an export lands in
holds the exported database's data, so it carries the tags of the snapshot or cluster exported
(and, through the snapshot, its database's) under its own, and, given the run's classifier, its
class when stricter (:mod:`.copies`): an untagged, or ``public``-tagged, export bucket of a
clinical database is clinical.

Exports are listed per region (``rds:DescribeExportTasks``: the bucket must be in the snapshot's
region), every task whatever its status (a cancelled or failed export leaves what it wrote). A
region whose exports cannot be listed leaves the class of every bucket undecided (an error on the
buckets): any of them may hold one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from phigate.api import Resource
from phigate_providers.aws.calls import pages
from phigate_providers.aws.context import Account

OPERATIONS = {("rds", "DescribeExportTasks"): "rds:DescribeExportTasks"}

#: Bucket name → the ARNs of the snapshots and clusters exported to it.
Exports = dict[str, list[str]]


def list_region(account: Account, region: str) -> Exports:
    """The exports started in ``region``, by bucket. Raises ApiFailure when they cannot be listed."""
    found: Exports = {}
    for task in pages(account.client("rds", region), "DescribeExportTasks", "ExportTasks"):
        bucket, source = task.get("S3Bucket"), task.get("SourceArn")
        if bucket and source and str(source) not in found.get(str(bucket), []):
            found.setdefault(str(bucket), []).append(str(source))
    return found


def merged(per_region: Mapping[str, Exports]) -> Exports:
    """The exports of every region, by bucket."""
    found: Exports = {}
    for exports in per_region.values():
        for bucket, sources in exports.items():
            known = found.setdefault(bucket, [])
            known += [s for s in sources if s not in known]
    return found


def with_exports(bucket: Resource, exports: Exports) -> Resource:
    """``bucket`` naming, in ``raw["source"]``, what was exported to it (unchanged when nothing)."""
    exported = exports.get(bucket.name or "")
    if not exported:
        return bucket
    return dataclasses.replace(bucket, raw={**bucket.raw, "source": list(exported)})


__all__ = ["OPERATIONS", "Exports", "list_region", "merged", "with_exports"]
