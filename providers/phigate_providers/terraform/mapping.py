"""One plan → normalised resources: ids first, then each family of resources, then the selection.

With ``changed_only``, a normalised resource is kept when a planned resource it is built from is
created, updated or replaced (a bucket whose public access block changes has changed), together
with the unchanged resources its verdicts depend on, so that those verdicts are the same as on
the whole plan: the keys changed stores use and every store sharing them, the stores a changed
principal reads, the principals reading a changed store. Those neighbours are evaluated too.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from phigate.api import CollectionError, Resource, Unknown
from phigate_providers.terraform import (
    aws_backup,
    aws_cache_snapshots,
    aws_copies,
    aws_efs_replication,
    aws_exports,
    aws_fsx,
    aws_glue,
    aws_redshift_snapshots,
    aws_s3tables,
    aws_stores,
    aws_streams,
    aws_warehouses,
    gcp_graph,
    gcp_hierarchy,
    gcp_keys,
    gcp_stores,
    gcs,
    iam,
    s3,
    sign_in,
    snapshots,
)
from phigate_providers.terraform.aws_catalog import WORKGROUP, workgroups
from phigate_providers.terraform.context import Built, Context
from phigate_providers.terraform.keys import KeyBook
from phigate_providers.terraform.plan import Plan, PlannedResource
from phigate_providers.terraform.values import value

#: Planned resource types this provider maps (some only as part of another resource).
SUPPORTED = frozenset({
    s3.BUCKET, *s3.SETTINGS.values(), s3.ACCOUNT_BLOCK,
    *aws_stores.DATABASES, aws_stores.CLUSTER_INSTANCE, *snapshots.TYPES, *aws_copies.TYPES,
    aws_stores.VOLUME, aws_stores.TABLE, aws_stores.TABLE_POLICY,
    aws_stores.KEY, aws_stores.ALIAS, aws_stores.EBS_DEFAULT, aws_stores.EBS_DEFAULT_KEY, *aws_stores.SHARING,
    aws_stores.TRAIL,
    "aws_iam_policy", *iam.PRINCIPALS, *iam.INLINE, *iam.ATTACHMENTS, "aws_iam_policy_attachment",
    *iam.MEMBERSHIPS, gcs.BUCKET, *gcs.IAM_TYPES, gcs.CRYPTO_KEY, gcs.KEY_RING, *gcp_stores.TYPES,
    sign_in.LOGIN_PROFILE, sign_in.ACCESS_KEY, *aws_streams.TYPES, *aws_warehouses.TYPES,
    WORKGROUP, *aws_backup.TYPES, *aws_fsx.TYPES, *aws_s3tables.TYPES, *aws_glue.TYPES,
    *aws_redshift_snapshots.TYPES, *aws_exports.TYPES, *aws_cache_snapshots.TYPES,
    *aws_efs_replication.TYPES,
    *gcp_keys.TYPES, *gcp_hierarchy.TYPES,
})
#: Where the real-world id of a resource comes from, when the plan knows it.
ARN_TYPES = frozenset({"aws_kms_key", *aws_stores.DATABASES, aws_stores.VOLUME, aws_stores.TABLE,
                       "aws_iam_policy", *iam.PRINCIPALS, *aws_streams.STORES, *aws_warehouses.STORES,
                       WORKGROUP, *aws_copies.IMAGES, aws_copies.VAULT, *aws_backup.ARN_TYPES,
                       *aws_fsx.ARN_TYPES, *aws_s3tables.ARN_TYPES, *aws_redshift_snapshots.ARN_TYPES,
                       *aws_cache_snapshots.ARN_TYPES})

#: Snapshots whose ARN is not in ``arn``.
SNAPSHOT_ARNS = {"aws_db_snapshot": "db_snapshot_arn", "aws_db_snapshot_copy": "db_snapshot_arn",
                 "aws_db_cluster_snapshot": "db_cluster_snapshot_arn",
                 "aws_rds_cluster_snapshot_copy": "db_cluster_snapshot_arn",
                 "aws_ebs_snapshot": "arn", "aws_ebs_snapshot_copy": "arn"}


@dataclass
class Mapped:
    """What one plan yields, and what it does not evaluate."""

    built: list[Built]
    errors: list[CollectionError]
    unsupported: dict[str, list[str]] = field(default_factory=dict)  # type -> addresses
    #: settings of stores the plan does not hold (a bucket's, a cluster's instance, a snapshot's sharing)
    unjoined: list[str] = field(default_factory=list)
    regions: tuple[str, ...] = ()
    #: region settings declared where the plan does not declare the region's encryption by default
    settings_alone: list[str] = field(default_factory=list)

    def notices(self, label: str) -> list[str]:
        found = []
        if self.unsupported:
            listed = ", ".join(f"{t} ({len(a)})" for t, a in sorted(self.unsupported.items()))
            count = sum(len(a) for a in self.unsupported.values())
            found.append(f"{label}: {count} planned resource(s) of types phigate does not map, not "
                         f"evaluated: {listed}")
        if self.unjoined:
            found.append(f"{label}: {len(self.unjoined)} setting(s) of stores outside the plan, "
                         f"not evaluated: {', '.join(sorted(self.unjoined))}")
        if self.settings_alone:
            found.append(f"{label}: {len(self.settings_alone)} region setting(s) declared where the plan "
                         f"does not declare the region's EBS encryption by default, not evaluated: "
                         f"{', '.join(self.settings_alone)}")
        return found


def real_id(resource: PlannedResource) -> str | None:
    if resource.type == s3.BUCKET:
        name = value(resource, ("bucket",))
        return f"arn:aws:s3:::{name}" if isinstance(name, str) and name else _arn(resource)
    if resource.type == gcs.BUCKET:
        name = value(resource, ("name",))
        return f"gs://{name}" if isinstance(name, str) and name else None
    if resource.type == gcs.CRYPTO_KEY:  # projects/P/locations/L/keyRings/R/cryptoKeys/K
        found = resource.values.get("id")
        return found if isinstance(found, str) and found.startswith("projects/") else None
    if resource.type in SNAPSHOT_ARNS:
        found = resource.values.get(SNAPSHOT_ARNS[resource.type])
        return found if isinstance(found, str) and found.startswith("arn:") else None
    return _arn(resource) if resource.type in ARN_TYPES else None


def _arn(resource: PlannedResource) -> str | None:
    found = resource.values.get("arn")
    return found if isinstance(found, str) and found.startswith("arn:") else None


def map_plan(plan: Plan, *, changed_only: bool = False,
             locations: Mapping[str, Mapping[str, Any]] | None = None,
             classify: Callable[[Resource], str] | None = None) -> Mapped:
    context = Context(plan, locations or {}, classify=classify)
    context.assign_ids((r, real_id(r) or gcp_stores.real_id(context, r)) for r in plan.resources)
    keys = KeyBook(context)
    trails = aws_stores.trails(context)
    account_flags = s3.account_block(context)
    units, orphans = s3.join(context)
    facts: list[iam.StoreFacts] = []
    for unit in units:
        found = s3.normalise(context, keys, unit, account_flags=account_flags,
                             data_events=_coverage(trails, context.region(unit.bucket)))
        if found is None:
            continue
        key = found.resource.attributes.get("encryption", {}).get("key")
        context.add(found.resource, (unit.bucket, *unit.parts()), [key] if isinstance(key, str) else [])
        policy = found.policy if found.policy_known else Unknown("bucket policy not known")
        content = f"arn:aws:s3:::{unit.name}/*" if isinstance(unit.name, str) else unit.name
        facts.append(iam.StoreFacts(found.resource.id, content, iam.S3_READ, policy, unit.bucket.address))
    unjoined = [o.address for o in orphans] + aws_stores.databases(context, keys)
    aws_stores.volumes(context, keys, aws_stores.volume_defaults(context))
    for table, policy, arn in aws_stores.tables(context, keys):
        facts.append(iam.StoreFacts(table.id, arn, iam.DYNAMODB_READ, policy, table.name or table.id))
    unjoined += snapshots.collect(context, keys, facts)
    unjoined += aws_copies.collect(context, keys, facts)  # after the snapshots images are made of
    unjoined += aws_exports.collect(context)  # after the buckets and the snapshots exported to them
    for reader in (aws_streams, aws_warehouses, aws_s3tables):
        found_facts, orphan_policies = reader.collect(context, keys)
        facts += found_facts
        unjoined += orphan_policies
    facts += aws_efs_replication.collect(context, keys)  # after the file systems replicated
    facts += aws_redshift_snapshots.collect(context)  # after the clusters they copy
    workgroups(context, keys, facts)
    facts += aws_glue.collect(context, keys)
    unjoined += aws_backup.collect(context, keys, facts)
    facts += aws_cache_snapshots.collect(context, keys)  # after the clusters they copy
    facts += aws_fsx.collect(context, keys)
    aws_stores.kms_keys(context, keys)
    alone = aws_stores.region_settings(context)
    aws_stores.account(context, trails)
    iam.collect(context, facts)
    gcs.crypto_keys(context)
    gcp_stores.collect(context)
    gcs.collect(context, gcp_graph.graph(context), gcp_keys.collect(context), gcp_hierarchy.read(context))
    built = context.built + list(context.stubs.values())
    errors = context.errors + _one_name_twice(context)
    if changed_only:
        built, errors = _changed(plan, built, errors)
    unsupported: dict[str, list[str]] = {}
    for resource in plan.resources:
        if resource.type not in SUPPORTED and (not changed_only or resource.changing):
            unsupported.setdefault(resource.type, []).append(resource.address)
    regions = tuple(sorted({b.resource.region for b in built if b.resource.region}))
    return Mapped(built, errors, unsupported, unjoined, regions, alone)


def _one_name_twice(context: Context) -> list[CollectionError]:
    """Stores the plan gives one real-world name (three buckets ``test-bucket`` from a module
    called with ``for_each``): one store exists after apply, which fails on the others. Given
    the same settings they are judged alike; otherwise which one exists cannot be told, and each
    one's verdicts stand for a store that may not be: incomplete evidence. (Principals of one
    name are read in :mod:`iam`, by their policies.)"""
    built = {b.sources[0]: b.resource for b in context.built if b.sources and not b.outside}
    errors: list[CollectionError] = []
    for rid, addresses in sorted(context.shared_ids.items()):
        found = [built[a] for a in addresses if a in built and built[a].kind != "principal"]
        first = found[0] if found else None
        if first is None or all((r.attributes, r.tags) == (first.attributes, first.tags) for r in found[1:]):
            continue
        for resource in found:
            errors.append(CollectionError(
                provider="terraform", scope=context.plan.label, kinds=(resource.kind,),
                types=(resource.type,), resource_id=resource.id,
                message=f"{resource.name}: {', '.join(addresses)} are all {rid} with different settings: one "
                        "name is one store, so the apply fails on all but one, and which one exists cannot "
                        "be told; give each its own name"))
    return errors


def _coverage(trails: list[aws_stores.Trail], region: str | None) -> Callable[[str], bool]:
    """Whether a trail of the plan records object reads of a bucket (of ``region``)."""
    return lambda name: aws_stores.covers(trails, name, region)


def _changed(plan: Plan, built: list[Built], errors: list[CollectionError]
             ) -> tuple[list[Built], list[CollectionError]]:
    by_id = {b.resource.id: b for b in built}
    dependents: dict[str, list[Built]] = {}
    for item in built:
        for rid in item.depends_on:
            dependents.setdefault(rid, []).append(item)
    changing = {r.address for r in plan.resources if r.changing}
    changed = [b for b in built if changing.intersection(b.sources)]
    keep: dict[str, Built] = {b.resource.id: b for b in changed}

    def include(items: Iterable[Built]) -> None:
        for item in items:
            keep.setdefault(item.resource.id, item)

    for item in changed:
        include(dependents.get(item.resource.id, ()))           # who reads it, what uses it
        for rid in item.depends_on:                               # its key, what it reads
            if rid in by_id:
                include([by_id[rid]])
                include(dependents.get(rid, ()))                  # every store sharing that key
    addresses = {a for b in keep.values() for a in b.sources}
    ids = {r.id for r in (b.resource for b in keep.values())}
    kept_errors = [e for e in errors if e.resource_id is None or e.resource_id in ids
                   or e.resource_id in changing or e.resource_id in addresses]
    return [b for b in built if b.resource.id in keep], kept_errors


__all__ = ["SUPPORTED", "Mapped", "map_plan", "real_id"]
