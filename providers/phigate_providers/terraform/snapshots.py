"""Snapshots: copies of a store's data, judged as stores of their source's kind.

There is no snapshot kind: an RDS or Aurora snapshot is a ``database`` (``aws.rds.db_snapshot``,
``aws.rds.db_cluster_snapshot``) and an EBS snapshot a ``volume`` (``aws.ec2.snapshot``), so the
encryption, classification and residency policies apply to them as to what they copy, and the
public-exposure policy too: ``shared_accounts = ["all"]`` makes a database snapshot public
(restorable by any AWS account). An EBS snapshot's create-volume permissions
(``aws_snapshot_create_volume_permission``) name accounts, never everyone: it is not public. The
accounts a snapshot is shared with are shown in ``raw``.

A snapshot holds its source's data, so it carries its source's tags under its own (a label both
give differently keeps both values: the strictest class wins). Whether a new snapshot is encrypted,
and by which key, is its source's: the source of the plan (traced through the configuration) tells
it; a source outside the plan leaves it unknown. A copy that names a key is encrypted with that key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

from phigate.api import Resource, Unknown
from phigate_providers.aws.copies import merge_tags
from phigate_providers.aws.policydoc import PolicyDocument
from phigate_providers.aws.read_actions import sharing_policy, snapshot_facets
from phigate_providers.terraform.context import Context
from phigate_providers.terraform.iam import StoreFacts
from phigate_providers.terraform.keys import KeyBook, KeyChoice, encryption
from phigate_providers.terraform.plan import PlannedResource
from phigate_providers.terraform.store_values import facts_of
from phigate_providers.terraform.values import after_apply, configured, expression, is_unknown, trace, value

DB_SNAPSHOT, DB_CLUSTER_SNAPSHOT, DB_SNAPSHOT_COPY = ("aws_db_snapshot", "aws_db_cluster_snapshot",
                                                      "aws_db_snapshot_copy")
CLUSTER_SNAPSHOT_COPY = "aws_rds_cluster_snapshot_copy"
EBS_SNAPSHOT, EBS_SNAPSHOT_COPY = "aws_ebs_snapshot", "aws_ebs_snapshot_copy"
VOLUME_PERMISSION = "aws_snapshot_create_volume_permission"
#: Snapshot type -> (normalised type, kind, attribute naming the source, source types, the
#: source's attribute saying it is encrypted).
SNAPSHOTS: dict[str, tuple[str, str, str, frozenset[str], str]] = {
    DB_SNAPSHOT: ("aws.rds.db_snapshot", "database", "db_instance_identifier",
                  frozenset({"aws_db_instance"}), "storage_encrypted"),
    DB_CLUSTER_SNAPSHOT: ("aws.rds.db_cluster_snapshot", "database", "db_cluster_identifier",
                          frozenset({"aws_rds_cluster"}), "storage_encrypted"),
    DB_SNAPSHOT_COPY: ("aws.rds.db_snapshot", "database", "source_db_snapshot_identifier",
                       frozenset({DB_SNAPSHOT, DB_SNAPSHOT_COPY}), "encrypted"),
    CLUSTER_SNAPSHOT_COPY: ("aws.rds.db_cluster_snapshot", "database",
                            "source_db_cluster_snapshot_identifier",
                            frozenset({DB_CLUSTER_SNAPSHOT, CLUSTER_SNAPSHOT_COPY}), "storage_encrypted"),
    EBS_SNAPSHOT: ("aws.ec2.snapshot", "volume", "volume_id", frozenset({"aws_ebs_volume"}), "encrypted"),
    EBS_SNAPSHOT_COPY: ("aws.ec2.snapshot", "volume", "source_snapshot_id",
                        frozenset({EBS_SNAPSHOT, EBS_SNAPSHOT_COPY}), "encrypted"),
}
#: A snapshot's own attribute saying it is encrypted, and the one naming its key.
_OWN = {DB_CLUSTER_SNAPSHOT: "storage_encrypted", CLUSTER_SNAPSHOT_COPY: "storage_encrypted"}
#: Copies that may name their own key.
_COPIES = frozenset({EBS_SNAPSHOT_COPY, DB_SNAPSHOT_COPY, CLUSTER_SNAPSHOT_COPY})
TYPES = frozenset({*SNAPSHOTS, VOLUME_PERMISSION})


def collect(context: Context, keys: KeyBook, access: list[StoreFacts] | None = None) -> list[str]:
    """Every planned snapshot as a store (and, into ``access``, as the access analysis reads
    it); the addresses of sharing resources whose snapshot is not in the plan."""
    plan = context.plan
    shares: dict[str, list[PlannedResource]] = {}
    orphans: list[str] = []
    for permission in plan.by_type.get(VOLUME_PERMISSION, ()):
        traced = trace(plan, permission, expression(permission, ("snapshot_id",)),
                       frozenset({EBS_SNAPSHOT, EBS_SNAPSHOT_COPY}))
        if traced.resource is None:
            orphans.append(permission.address)
        else:
            shares.setdefault(traced.resource.address, []).append(permission)
    for tf_type in SNAPSHOTS:
        for planned in plan.by_type.get(tf_type, ()):
            resource = _snapshot(context, keys, planned, shares.get(planned.address, []))
            if resource is not None and access is not None:
                access.append(_access(context, planned, resource, shares.get(planned.address, [])))
    return orphans


def _snapshot(context: Context, keys: KeyBook, planned: PlannedResource,
              shares: list[PlannedResource]) -> Resource | None:
    rtype, kind, source_attribute, source_types, _ = SNAPSHOTS[planned.type]
    traced = trace(context.plan, planned, expression(planned, (source_attribute,)), source_types)
    source = traced.resource
    if source is None:  # named by a literal identifier (or ARN) rather than a reference
        literal = traced.constant if traced.has_constant else value(planned, (source_attribute,))
        named = isinstance(literal, str) and literal
        source = planned_named(context, source_types, literal) if named else None
    rid = context.id_of(planned)
    tags = tags_over_source(context, planned, source)
    if isinstance(tags, Unknown):
        context.tags_unknown(planned, kind, rid, rtype)
        return None
    attributes: dict[str, Any] = {"encryption": _encryption(context, keys, planned, source)}
    raw = context.raw(planned, *shares)
    if source is not None:
        raw["source"] = source.address
    if kind == "database":
        engine = value(planned, ("engine",))
        if not isinstance(engine, str) and source is not None:
            engine = value(source, ("engine",))
        attributes["engine"] = engine if isinstance(engine, str) else None  # descriptive only
        attributes["public_access"] = _public(planned)
    else:
        shared = [value(s, ("account_id",)) for s in shares]
        raw["shared_with"] = [a if isinstance(a, str) else "an account known only after apply"
                              for a in shared]
        # A create-volume permission names one account, never everyone (the API's group "all"
        # is not in the resource): not public, whoever the accounts are.
        attributes["public_access"] = {"blocked": True, "grants": []}
        size = value(planned, ("volume_size",))
        if isinstance(size, int):
            attributes["size_gb"] = size
    resource = Resource(id=rid, type=rtype, kind=kind, provider="aws", scope=context.plan.label,
                        region=context.region(planned), name=planned.address, tags=tags,
                        attributes=attributes, raw=raw)
    key = attributes["encryption"].get("key")
    context.add(resource, (planned, *shares), [key] if isinstance(key, str) else [])
    return resource


#: Per snapshot type, the attribute naming it in its ARN (for a snapshot not yet created).
_IDENTIFIERS = {DB_SNAPSHOT: "db_snapshot_identifier", DB_SNAPSHOT_COPY: "target_db_snapshot_identifier",
                DB_CLUSTER_SNAPSHOT: "db_cluster_snapshot_identifier",
                CLUSTER_SNAPSHOT_COPY: "target_db_cluster_snapshot_identifier"}


def _access(context: Context, planned: PlannedResource, resource: Resource,
            shares: list[PlannedResource]) -> StoreFacts:
    """The snapshot as the access analysis reads it, as the live reader does
    (:func:`~phigate_providers.aws.read_actions.snapshot_facets`): through its ARN, or, while that
    is known only after apply, every ARN it may get (any account, any id where the id is not
    planned: more reach, never less); shared accounts as the resource policy they amount to."""
    region = context.region(planned) or "*"
    content = resource.id if resource.id.startswith("arn:") else None
    if content is None and resource.type == "aws.ec2.snapshot":
        content = f"arn:aws:ec2:{region}::snapshot/*"
    elif content is None:
        name = value(planned, (_IDENTIFIERS[planned.type],))
        prefix = "snapshot" if resource.type == "aws.rds.db_snapshot" else "cluster-snapshot"
        content = f"arn:aws:rds:{region}:*:{prefix}:{name if isinstance(name, str) and name else '*'}"
    if resource.kind == "volume":
        accounts: Any = [value(s, ("account_id",)) for s in shares]
    else:
        accounts = value(planned, ("shared_accounts",))
        flags = planned.unknown.get("shared_accounts") if isinstance(planned.unknown, dict) else None
        if isinstance(flags, list) and any(f is True for f in flags):
            accounts = after_apply(f"{planned.address}: an account of shared_accounts")
    policy: PolicyDocument | Unknown | None
    if is_unknown(accounts) or any(not isinstance(a, str) for a in accounts or ()):
        policy = Unknown(f"{planned.address}: an account it is shared with is known only after apply")
    else:
        policy = sharing_policy(content, resource.type, accounts or ())
    return StoreFacts(resource.id, content, frozenset(), policy, planned.address,
                      facets=snapshot_facets(content, resource.type))


#: The attributes a source may be named by, per source type.
_NAMES = {
    "aws_db_instance": ("identifier", "arn", "id"),
    "aws_rds_cluster": ("cluster_identifier", "arn", "id"),
    "aws_ebs_volume": ("id", "arn"),
    DB_SNAPSHOT: ("db_snapshot_identifier", "db_snapshot_arn", "id"),
    DB_SNAPSHOT_COPY: ("target_db_snapshot_identifier", "db_snapshot_arn", "id"),
    DB_CLUSTER_SNAPSHOT: ("db_cluster_snapshot_identifier", "db_cluster_snapshot_arn", "id"),
    CLUSTER_SNAPSHOT_COPY: ("target_db_cluster_snapshot_identifier", "db_cluster_snapshot_arn", "id"),
    EBS_SNAPSHOT: ("id", "arn"),
    EBS_SNAPSHOT_COPY: ("id", "arn"),
    "aws_s3_bucket": ("bucket", "id", "arn"),
    "aws_dynamodb_table": ("name", "arn", "id"),
}


def planned_named(context: Context, types: frozenset[str], name: str) -> PlannedResource | None:
    """The one planned resource of ``types`` that ``name`` names."""
    found = [r for t in sorted(types) for r in context.plan.by_type.get(t, ())
             if any(r.values.get(attribute) == name for attribute in _NAMES.get(t, ()))]
    return found[0] if len(found) == 1 else None


def tags_over_source(context: Context, planned: PlannedResource,
                     source: PlannedResource | None) -> dict[str, str] | Unknown:
    """A copy's tags over those of its source (what the source carries, when built)."""
    own = context.tags(planned, ("tags_all", "tags"))
    if source is None or isinstance(own, Unknown):
        return own
    built = context.by_source.get(source.address)  # what the source carries (a copy's, its source's)
    inherited = dict(built.tags) if built is not None else context.tags(source, ("tags_all", "tags"))
    if isinstance(inherited, Unknown):
        return inherited
    return merge_tags(inherited, own)


def _encryption(context: Context, keys: KeyBook, planned: PlannedResource,
                source: PlannedResource | None) -> dict[str, Any]:
    own_flag = _OWN.get(planned.type, "encrypted")
    encrypted = value(planned, (own_flag,))
    if planned.type in _COPIES and configured(planned, ("kms_key_id",)):
        # A copy that names a key is encrypted with it, whatever its source.
        return encryption(True, "aws:kms", keys.choose(planned, ("kms_key_id",)))
    if encrypted is False:
        return encryption(False, None, KeyChoice(None, None))
    found = context.encryption_of(source) if source is not None else None
    if isinstance(found, Mapping):
        return dict(found)  # a snapshot is encrypted as its source is, with its key
    if encrypted is True:
        key = value(planned, ("kms_key_id",))
        if isinstance(key, str) and keys.is_planned(key):
            return encryption(True, "aws:kms", keys.named(key, planned))
        # An ARN alone does not tell a customer key from the service's AWS-managed one.
        reason = Unknown(f"{planned.address}: the key of this snapshot is not a key of the plan")
        return {"at_rest": True, "algorithm": "aws:kms", "key": reason, "key_manager": reason}
    reason = (encrypted if is_unknown(encrypted) else
              after_apply(f"{planned.address}: encryption of {source.address if source else 'its source'}"))
    return {"at_rest": reason, "algorithm": reason, "key": reason, "key_manager": reason}


def _public(planned: PlannedResource) -> dict[str, Any]:
    shared = value(planned, ("shared_accounts",))
    flags = planned.unknown.get("shared_accounts") if isinstance(planned.unknown, dict) else None
    if not is_unknown(shared) and isinstance(flags, list) and any(f is True for f in flags):
        shared = after_apply(f"{planned.address}: an account of shared_accounts")  # it may be "all"
    if is_unknown(shared):
        return {"blocked": shared, "grants": shared}
    accounts = [a for a in shared or () if isinstance(a, str)]
    grants = ["shared_accounts:all"] if "all" in accounts else []
    return {"blocked": not grants, "grants": grants}


__all__ = ["SNAPSHOTS", "TYPES", "VOLUME_PERMISSION", "collect", "planned_named", "tags_over_source"]


def cluster_of(context: Context, planned: PlannedResource, reference: str, cluster_type: str,
               name_attribute: str) -> PlannedResource | None:
    """The one planned cluster a snapshot's ``reference`` attribute points at: by a reference in
    the configuration, else by the cluster's name (``name_attribute``), when one cluster has it."""
    plan = context.plan
    traced = trace(plan, planned, expression(planned, (reference,)), frozenset({cluster_type}))
    if traced.resource is not None:
        return traced.resource
    name = traced.constant if traced.has_constant else value(planned, (reference,))
    found = [c for c in plan.by_type.get(cluster_type, ()) if isinstance(name, str) and name
             and value(c, (name_attribute,)) == name]
    return found[0] if len(found) == 1 else None


def add_snapshot(context: Context, planned: PlannedResource, *, rid: str, rtype: str, kind: str,
                 tags: dict[str, str], attributes: dict[str, Any], source: PlannedResource | None,
                 arn: str) -> StoreFacts:
    """A snapshot of a cluster as a store of ``kind`` (its source named in ``raw``), added to the
    plan's resources with its key; what the access analysis needs of it."""
    raw = context.raw(planned)
    if source is not None:
        raw["source"] = source.address
    resource = Resource(id=rid, type=rtype, kind=kind, provider="aws", scope=context.plan.label,
                        region=context.region(planned), name=planned.address, tags=tags,
                        attributes=attributes, raw=raw)
    key = attributes["encryption"].get("key")
    context.add(resource, (planned,), [key] if isinstance(key, str) else [])
    return facts_of(resource, planned, arn, None, lambda found: snapshot_facets(found, rtype))


def copies_of(context: Context, copy_type: str, kind: str, rtype: str,
              source_of: Callable[[Context, PlannedResource], PlannedResource | None],
              ) -> Iterator[tuple[PlannedResource, PlannedResource | None, str, dict[str, str]]]:
    """Each planned copy of ``copy_type`` with its source, id and tags over its source's; a copy
    whose tags are unknown is recorded as such (its class undecided) and not yielded."""
    for planned in context.plan.by_type.get(copy_type, ()):
        source = source_of(context, planned)
        rid = context.id_of(planned)
        tags = tags_over_source(context, planned, source)
        if isinstance(tags, Unknown):
            context.tags_unknown(planned, kind, rid, rtype)
            continue
        yield planned, source, rid, tags
