"""RDS instances and clusters, EBS volumes, DynamoDB tables, KMS keys, EBS encryption by default (with
the region's snapshot and image block public access) and CloudTrail trails, as the AWS provider
normalises them.

An attribute the configuration leaves unset takes the provider's documented default
(``storage_encrypted`` false, ``publicly_accessible`` false, ``enable_key_rotation`` false …); one
known only after apply stays :class:`~phigate.api.Unknown`. A new EBS volume that leaves
``encrypted`` unset is encrypted only if the account encrypts new volumes by default: known when
the plan declares ``aws_ebs_encryption_by_default``, unknown otherwise. Whether a database
refuses connections without TLS comes from its parameter group (:mod:`.aws_transport`). A read
replica (``replicate_source_db``, ``replication_source_identifier``) of a planned database holds
its data and carries its tags under its own, as a snapshot does (:mod:`.snapshots`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from phigate.api import Resource
from phigate_providers.aws.access import PolicySyntaxError, parse_policy, public_grants
from phigate_providers.aws.public import IMAGE_SHARING, SNAPSHOT_SHARING
from phigate_providers.aws.trail_selectors import (
    MANAGEMENT_SOURCES,
    S3_OBJECT,
    advanced_read_scopes,
    advanced_records_reads,
    basic_records_reads,
    bucket_scope,
)
from phigate_providers.terraform import snapshots
from phigate_providers.terraform.aws_transport import secure_transport
from phigate_providers.terraform.context import Context
from phigate_providers.terraform.keys import DEFAULT, KeyBook, encryption
from phigate_providers.terraform.plan import PlannedResource
from phigate_providers.terraform.values import after_apply, expression, is_unknown, known_bool, trace, value

DATABASES = {"aws_db_instance": "aws.rds.db_instance", "aws_rds_cluster": "aws.rds.db_cluster"}
VOLUME, TABLE, KEY, ALIAS = "aws_ebs_volume", "aws_dynamodb_table", "aws_kms_key", "aws_kms_alias"
EBS_DEFAULT, EBS_DEFAULT_KEY = "aws_ebs_encryption_by_default", "aws_ebs_default_kms_key"
TABLE_POLICY, TRAIL = "aws_dynamodb_resource_policy", "aws_cloudtrail"
CLUSTER_INSTANCE = "aws_rds_cluster_instance"
SNAPSHOT_BLOCK, IMAGE_BLOCK = "aws_ebs_snapshot_block_public_access", "aws_ec2_image_block_public_access"
#: Block public access settings: the attribute of the region's settings, and ``state`` as it says it
#: (as the live reader: :mod:`phigate_providers.aws.public`).
SHARING = {SNAPSHOT_BLOCK: ("snapshot_public_sharing", SNAPSHOT_SHARING),
           IMAGE_BLOCK: ("image_public_sharing", IMAGE_SHARING)}


def _resource(context: Context, planned: PlannedResource, rtype: str, kind: str,
              attributes: dict[str, Any], *joined: PlannedResource, tagged: bool = True,
              source: PlannedResource | None = None) -> Resource | None:
    rid = context.id_of(planned)
    tags: Any = {}
    if tagged:
        tags = (context.tags(planned, ("tags_all", "tags")) if source is None
                else snapshots.tags_over_source(context, planned, source))
    if is_unknown(tags):
        context.tags_unknown(planned, kind, rid, rtype)
        return None
    assert isinstance(tags, dict)
    raw = context.raw(planned, *joined)
    if source is not None:
        raw["source"] = source.address
    return Resource(id=rid, type=rtype, kind=kind, provider="aws", scope=context.plan.label,
                    region=context.region(planned), name=planned.address, tags=tags,
                    attributes=attributes, raw=raw)


#: Per database type, the attribute naming the database it replicates (its data).
_REPLICATES = {"aws_db_instance": "replicate_source_db", "aws_rds_cluster": "replication_source_identifier"}


def _replicated(context: Context, planned: PlannedResource) -> PlannedResource | None:
    """The planned database ``planned`` is a replica of (by reference, or by identifier or ARN)."""
    attribute = _REPLICATES[planned.type]
    traced = trace(context.plan, planned, expression(planned, (attribute,)), frozenset(DATABASES))
    if traced.resource is not None:
        return traced.resource
    literal = traced.constant if traced.has_constant else value(planned, (attribute,))
    if not isinstance(literal, str) or not literal:
        return None
    return snapshots.planned_named(context, frozenset(DATABASES), literal)


def databases(context: Context, keys: KeyBook) -> list[str]:
    """RDS instances and clusters; returns the cluster instances whose cluster is not planned."""
    members, orphans = _cluster_instances(context)
    for tf_type, rtype in DATABASES.items():
        for planned in context.plan.by_type.get(tf_type, ()):
            encrypted = known_bool(value(planned, ("storage_encrypted",)), False)
            choice = keys.choose(planned, ("kms_key_id",)) if encrypted is not False else DEFAULT
            instances = members.get(planned.address, [])
            public = _any_true([known_bool(value(planned, ("publicly_accessible",)), False)]
                               + [known_bool(value(i, ("publicly_accessible",)), False) for i in instances])
            attributes: dict[str, Any] = {
                "engine": value(planned, ("engine",)),
                "encryption": encryption(encrypted, "aws:kms", choice),
                "public_access": {"blocked": public if is_unknown(public) else not public,
                                  "grants": public if is_unknown(public) else
                                  (["PubliclyAccessible"] if public else [])},
                "deletion_protection": known_bool(value(planned, ("deletion_protection",)), False),
            }
            retention = value(planned, ("backup_retention_period",))
            if isinstance(retention, int) or is_unknown(retention):
                attributes["backup_retention_days"] = retention
            transport, group = secure_transport(context, planned)
            if transport is not None:
                attributes["secure_transport_required"] = transport
            add_store(context, planned, rtype, "database", attributes, *instances,
                      *((group,) if group is not None else ()), source=_replicated(context, planned))
    return orphans


def _any_true(flags: list[Any]) -> Any:
    """True when one is true, else Unknown when one is, else False."""
    if any(f is True for f in flags):
        return True
    return next((f for f in flags if is_unknown(f)), False)


def _cluster_instances(context: Context) -> tuple[dict[str, list[PlannedResource]], list[str]]:
    """The planned instances of each planned Aurora cluster (an instance publicly accessible
    makes its cluster reachable from the internet), by reference or by the cluster's literal
    identifier; and the instances of clusters the plan does not hold."""
    plan = context.plan
    clusters = plan.by_type.get("aws_rds_cluster", ())
    by_name = {value(c, ("cluster_identifier",)): c for c in clusters
               if isinstance(value(c, ("cluster_identifier",)), str)}
    members: dict[str, list[PlannedResource]] = {}
    orphans: list[str] = []
    for instance in plan.by_type.get(CLUSTER_INSTANCE, ()):
        traced = trace(plan, instance, expression(instance, ("cluster_identifier",)),
                       frozenset({"aws_rds_cluster"}))
        cluster = traced.resource
        if cluster is None:
            literal = traced.constant if traced.has_constant else value(instance, ("cluster_identifier",))
            cluster = by_name.get(literal) if isinstance(literal, str) else None
        if cluster is None:
            orphans.append(instance.address)
        else:
            members.setdefault(cluster.address, []).append(instance)
    return members, orphans


def add_store(context: Context, planned: PlannedResource, rtype: str, kind: str,
              attributes: dict[str, Any], *joined: PlannedResource,
              source: PlannedResource | None = None) -> Resource | None:
    """``planned`` as a store (with ``source``: a replica carrying its tags under its own)."""
    resource = _resource(context, planned, rtype, kind, attributes, *joined, source=source)
    if resource is not None:
        key = attributes.get("encryption", {}).get("key")
        context.add(resource, (planned, *joined), [key] if isinstance(key, str) else [])
    return resource


@dataclass(frozen=True)
class VolumeDefaults:
    """Per region, what the plan declares for new volumes: encryption by default, default key."""

    encrypt: Mapping[str | None, Any]
    key: Mapping[str | None, PlannedResource]


def volume_defaults(context: Context) -> VolumeDefaults:
    encrypt = {context.region(r): known_bool(value(r, ("enabled",)), True)
               for r in context.plan.by_type.get(EBS_DEFAULT, ())}
    key = {context.region(r): r for r in context.plan.by_type.get(EBS_DEFAULT_KEY, ())}
    return VolumeDefaults(encrypt, key)


def volumes(context: Context, keys: KeyBook, defaults: VolumeDefaults) -> None:
    for planned in context.plan.by_type.get(VOLUME, ()):
        region = context.region(planned)
        encrypted = value(planned, ("encrypted",))
        if is_unknown(encrypted) and defaults.encrypt.get(region) is True:
            encrypted = True  # left unset, and the plan turns default encryption on
        encrypted = known_bool(encrypted, False)
        choice = DEFAULT
        if encrypted is not False:
            choice = keys.choose(planned, ("kms_key_id",))
            default_key = defaults.key.get(region)
            if choice == DEFAULT and default_key is not None:
                choice = keys.choose(default_key, ("key_arn",))
        # A volume attaches within its own account: it cannot be shared, let alone made public.
        attributes: dict[str, Any] = {"encryption": encryption(encrypted, "aws:kms", choice),
                                      "public_access": {"blocked": True, "grants": []}}
        size = value(planned, ("size",))
        if isinstance(size, int) or is_unknown(size):
            attributes["size_gb"] = size
        add_store(context, planned, "aws.ec2.volume", "volume", attributes)


def tables(context: Context, keys: KeyBook) -> list[tuple[Resource, Any, Any]]:
    """Each table with its resource policy (None: none; Unknown: known after apply) and the ARN
    read access is checked against."""
    policies = _table_policies(context)
    found = []
    for planned in context.plan.by_type.get(TABLE, ()):
        sse = value(planned, ("server_side_encryption",))
        enabled = value(planned, ("server_side_encryption", 0, "enabled"))
        if is_unknown(sse) or is_unknown(enabled):
            unknown = sse if is_unknown(sse) else enabled
            enc: dict[str, Any] = {"at_rest": True, "algorithm": unknown, "key": None,
                                   "key_manager": unknown}
        elif enabled is True:
            choice = keys.choose(planned, ("server_side_encryption", 0, "kms_key_arn"))
            enc = encryption(True, "aws:kms", choice)
        else:  # no customer choice: an AWS-owned key, always on
            enc = {"at_rest": True, "algorithm": "AES256", "key": None, "key_manager": "provider"}
        policy, policy_source = policies.get(planned.address, (None, None))
        if is_unknown(policy):
            grants: Any = policy
        else:
            grants = list(public_grants(policy))
        blocked = grants if is_unknown(grants) else not grants
        attributes = {"encryption": enc, "public_access": {"blocked": blocked, "grants": grants},
                      "schema": None}
        joined = (policy_source,) if policy_source is not None else ()
        resource = add_store(context, planned, "aws.dynamodb.table", "table", attributes, *joined)
        if resource is not None:
            found.append((resource, policy, _table_arn(context, planned)))
            _replicas(context, keys, planned, resource, sse_chosen=enabled is True)
    return found


def _replicas(context: Context, keys: KeyBook, planned: PlannedResource, table: Resource, *,
              sse_chosen: bool) -> None:
    """The table's global-table replicas (``replica`` blocks), each a table of its region holding
    the same items: its tags under the table's, whatever ``propagate_tags`` says (a copy is
    classed as what it copies), so residency judges every region the data lives in. A replica
    is under the key it names, else the region's AWS-managed key when the table chose KMS, else
    an AWS-owned key as the table; its resource policy, none unless the plan gives one (none
    read here, as for a table without one)."""
    replicas = value(planned, ("replica",))
    if is_unknown(replicas) or not isinstance(replicas, list):
        return
    for index, replica in enumerate(replicas):
        region = replica.get("region_name") if isinstance(replica, dict) else None
        if not isinstance(region, str) or not region:
            continue
        enc = (encryption(True, "aws:kms", keys.choose(planned, ("replica", index, "kms_key_arn")))
               if sse_chosen else dict(table.attributes["encryption"]))
        rid = (table.id.replace(f":dynamodb:{table.region}:", f":dynamodb:{region}:", 1)
               if table.id.startswith("arn:") else f"{table.id} replica {region}")
        context.add(Resource(id=rid, type=table.type, kind=table.kind, provider="aws", scope=table.scope,
                             region=region, name=f"{planned.address} replica {region}", tags=dict(table.tags),
                             attributes={"encryption": enc, "public_access": {"blocked": True, "grants": []},
                                         "schema": None},
                             raw={**context.raw(planned), "source": planned.address}),
                    (planned,))


def _table_arn(context: Context, planned: PlannedResource) -> Any:
    arn = value(planned, ("arn",))
    if isinstance(arn, str) and arn:
        return arn
    name = value(planned, ("name",))
    if not isinstance(name, str):
        return after_apply(f"{planned.address}: table name")
    # The account is not in the plan: any account's table of that name (errs towards access).
    return f"arn:aws:dynamodb:{context.region(planned) or '*'}:*:table/{name}"


def _table_policies(context: Context) -> dict[str, tuple[Any, PlannedResource]]:
    found: dict[str, tuple[Any, PlannedResource]] = {}
    plan = context.plan
    for planned in plan.by_type.get(TABLE_POLICY, ()):
        traced = trace(plan, planned, expression(planned, ("resource_arn",)), frozenset({TABLE}))
        if traced.resource is None:
            continue
        text = value(planned, ("policy",))
        document: Any = text
        if isinstance(text, str):
            try:
                document = parse_policy(text, name=planned.address)
            except PolicySyntaxError as exc:
                document = after_apply(f"{planned.address}: policy does not parse ({exc})")
        found[traced.resource.address] = (document, planned)
    return found


def kms_keys(context: Context, keys: KeyBook) -> None:
    aliases: dict[str, list[PlannedResource]] = {}
    for alias in context.plan.by_type.get(ALIAS, ()):
        target = keys.alias_target(alias)
        if target is not None:
            aliases.setdefault(target.address, []).append(alias)
    for planned in context.plan.by_type.get(KEY, ()):
        spec = value(planned, ("customer_master_key_spec",))
        spec = "SYMMETRIC_DEFAULT" if spec is None else spec
        usage = value(planned, ("key_usage",))
        usage = "ENCRYPT_DECRYPT" if usage is None else usage
        enabled = known_bool(value(planned, ("is_enabled",)), True)
        symmetric: Any = next((v for v in (spec, usage) if is_unknown(v)), None)
        if symmetric is None:
            symmetric = spec == "SYMMETRIC_DEFAULT" and usage == "ENCRYPT_DECRYPT"
        names = [value(a, ("name",)) for a in aliases.get(planned.address, [])]
        attributes: dict[str, Any] = {
            "manager": "customer",
            "state": enabled if is_unknown(enabled) else ("Enabled" if enabled else "Disabled"),
            "spec": spec,
            "symmetric": symmetric,
            "rotation_enabled": known_bool(value(planned, ("enable_key_rotation",)), False),
        }
        if all(isinstance(n, str) for n in names):
            attributes["aliases"] = sorted(names)
        joined = aliases.get(planned.address, [])
        resource = _resource(context, planned, "aws.kms.key", "key", attributes, *joined)
        if resource is not None:
            context.add(resource, (planned, *joined))


def region_settings(context: Context) -> list[str]:
    """Each declared encryption by default as its region's settings, with the block public access
    the plan declares in the same region; the addresses of those declared in a region whose
    encryption by default the plan does not declare (settings of their own, they would leave it
    undecided where the plan says nothing of it)."""
    sharing: dict[str | None, list[PlannedResource]] = {}
    for tf_type in SHARING:
        for planned in context.plan.by_type.get(tf_type, ()):
            sharing.setdefault(context.region(planned), []).append(planned)
    joined: set[str] = set()
    for planned in context.plan.by_type.get(EBS_DEFAULT, ()):
        attributes = {"ebs_encryption_by_default": known_bool(value(planned, ("enabled",)), True)}
        same_region = sharing.get(context.region(planned), [])
        for setting in same_region:
            attribute, states = SHARING[setting.type]
            state = value(setting, ("state",))
            if is_unknown(state) or state in states:  # a state AWS adds later stays undecided
                attributes[attribute] = state if is_unknown(state) else states[state]
        resource = _resource(context, planned, "aws.ec2.region_settings", "region_settings", attributes,
                             *same_region, tagged=False)
        if resource is not None:
            context.add(resource, (planned, *same_region))
            joined.update(s.address for s in same_region)
    return sorted(s.address for found in sharing.values() for s in found if s.address not in joined)


@dataclass(frozen=True)
class Trail:
    address: str
    multi_region: Any
    logging: Any
    region: str | None
    s3_read_scopes: tuple[str, ...]  # "" every bucket, else "bucket" or "bucket/prefix"
    #: Event sources (of ``MANAGEMENT_SOURCES``) whose read-only management events it records.
    management_reads: frozenset[str] = frozenset()


def trails(context: Context) -> list[Trail]:
    found = []
    for planned in context.plan.by_type.get(TRAIL, ()):
        found.append(Trail(planned.address,
                           known_bool(value(planned, ("is_multi_region_trail",)), False),
                           known_bool(value(planned, ("enable_logging",)), True),
                           context.region(planned), tuple(_read_scopes(planned)), _management_reads(planned)))
    return found


def _management_reads(planned: PlannedResource) -> frozenset[str]:
    """The sources whose read-only management events the trail records: every one when it sets
    no selector (CloudTrail's default selector: management events, reads and writes); none when
    its selectors are known only after apply."""
    unknown = planned.unknown if isinstance(planned.unknown, Mapping) else {}
    if _any_unknown(unknown.get("event_selector")) or _any_unknown(unknown.get("advanced_event_selector")):
        return frozenset()
    basic = [s for s in planned.values.get("event_selector") or () if isinstance(s, Mapping)]
    advanced = [s for s in planned.values.get("advanced_event_selector") or () if isinstance(s, Mapping)]
    if not basic and not advanced:
        return frozenset(MANAGEMENT_SOURCES)
    found = set()
    for source in MANAGEMENT_SOURCES:
        if any(basic_records_reads(selector.get("read_write_type"), selector.get("include_management_events"),
                                   selector.get("exclude_management_event_sources") or (), source)
               for selector in basic):
            found.add(source)
        if any(advanced_records_reads(_fields(selector), source) for selector in advanced):
            found.add(source)
    return frozenset(found)


def _fields(selector: Mapping[str, Any]) -> dict[str, Any]:
    """An advanced selector's field selectors by field, as the CloudTrail API spells them."""
    return {str(f.get("field")): _api_spelling(f) for f in selector.get("field_selector") or ()
            if isinstance(f, Mapping)}


def _read_scopes(planned: PlannedResource) -> Iterable[str]:
    for selector in planned.values.get("event_selector") or ():
        if not isinstance(selector, Mapping) or selector.get("read_write_type", "All") == "WriteOnly":
            continue
        for resource in selector.get("data_resource") or ():
            if isinstance(resource, Mapping) and resource.get("type") == S3_OBJECT:
                yield from (bucket_scope(v) for v in resource.get("values") or () if isinstance(v, str))
    if isinstance(planned.unknown, Mapping) and _any_unknown(planned.unknown.get("advanced_event_selector")):
        return  # values known only after apply: recording is not assumed
    for selector in planned.values.get("advanced_event_selector") or ():
        yield from advanced_read_scopes(_fields(selector or {}))


def _any_unknown(flags: Any) -> bool:
    if isinstance(flags, Mapping):
        return any(_any_unknown(v) for v in flags.values())
    if isinstance(flags, list):
        return any(_any_unknown(v) for v in flags)
    return flags is True


def _api_spelling(field: Mapping[str, Any]) -> dict[str, Any]:
    """A plan's field selector (``starts_with``) as the CloudTrail API spells it (``StartsWith``)."""
    return {"".join(part.capitalize() for part in name.split("_")): values for name, values in field.items()}


def records_reads(found: list[Trail], source: str, region: str | None) -> bool:
    """A logging trail of the plan (multi-region, or in ``region``) records the read-only
    management events ``source`` sends from ``region``."""
    return any(trail.logging is True and (trail.multi_region is True or trail.region == region)
               and source in trail.management_reads for trail in found)


def covers(found: list[Trail], bucket: str, region: str | None) -> bool:
    """A logging trail of the plan records object reads for all of ``bucket``."""
    for trail in found:
        if trail.logging is not True or not (trail.multi_region is True or trail.region == region):
            continue
        if any(scope == "" or scope.rstrip("/") == bucket for scope in trail.s3_read_scopes):
            return True
    return False


def account(context: Context, found: list[Trail]) -> None:
    """The account's audit trail, when the plan declares trails (else it is not this plan's)."""
    if not found:
        return
    sources = [context.plan.by_address[t.address] for t in found]
    multi = [t for t in found if t.multi_region is True and t.logging is True]
    undecided = [t for t in found if is_unknown(t.multi_region) or is_unknown(t.logging)]
    access: Any = True if multi else (next(iter(
        v for t in undecided for v in (t.multi_region, t.logging) if is_unknown(v))) if undecided else False)
    attributes = {
        "audit_trail": {"multi_region": access, "trails": sorted(t.address for t in found)},
        "logging": {"access_logs": access,
                    "data_events": any(t in multi and "" in t.s3_read_scopes for t in found)},
    }
    first = sources[0]
    resource = Resource(id=f"{context.plan.label}#aws-account", type="aws.account", kind="account",
                        provider="aws", scope=context.plan.label, region=None,
                        name=", ".join(t.address for t in found), attributes=attributes,
                        raw=context.raw(first, *sources[1:]))
    context.add(resource, sources)


__all__ = ["CLUSTER_INSTANCE", "DATABASES", "Trail", "VolumeDefaults", "account", "covers", "databases",
           "kms_keys", "records_reads", "region_settings", "tables", "trails", "volume_defaults", "volumes"]
