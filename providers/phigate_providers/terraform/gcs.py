"""Google Cloud Storage buckets and their IAM resources, in the gcp provider's normalised shape.

A bucket is ``gs://NAME``; its IAM resources of the plan (``google_storage_bucket_iam_member``,
``…_binding``, ``…_policy``) become one ``access_policy`` ``gs://NAME/iam-policy``, and each
member a ``principal`` with the buckets it can read (:mod:`phigate_providers.gcp.access`, the same
role table). ``public_access_prevention`` left unset is ``inherited`` once applied (Google's
default), so not enforced; a default key named by the bucket is a customer-managed key (CMEK).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from phigate.api import CollectionError, Resource, Unknown
from phigate_providers.gcp.access import Binding, Principals, RoleBook, public_members
from phigate_providers.terraform.context import Context
from phigate_providers.terraform.keys import gcs_key_stub
from phigate_providers.terraform.plan import PlannedResource
from phigate_providers.terraform.values import (
    after_apply,
    configured,
    expression,
    is_set,
    is_unknown,
    known_bool,
    trace,
    value,
)

if TYPE_CHECKING:
    from phigate_providers.terraform.gcp_graph import GraphStore
    from phigate_providers.terraform.gcp_hierarchy import Above
    from phigate_providers.terraform.gcp_keys import ServiceAccountKeys

BUCKET = "google_storage_bucket"
TYPE = "gcp.storage.bucket"
POLICY_TYPE = "gcp.storage.bucket_iam_policy"
IAM_TYPES = ("google_storage_bucket_iam_member", "google_storage_bucket_iam_binding",
             "google_storage_bucket_iam_policy")
DAY = 86_400
CRYPTO_KEY, KEY_RING, KEY_TYPE = "google_kms_crypto_key", "google_kms_key_ring", "gcp.kms.crypto_key"


def crypto_keys(context: Context) -> None:
    """Cloud KMS keys of the plan, as the gcp provider reports a key it read: customer-managed,
    symmetric when their purpose is ``ENCRYPT_DECRYPT`` (the default), rotating when they set a
    ``rotation_period``. A new key's first version is enabled unless it skips creating one."""
    for planned in context.plan.by_type.get(CRYPTO_KEY, ()):
        rid = context.id_of(planned)
        tags = context.tags(planned, ("effective_labels", "labels"))
        if is_unknown(tags):
            context.tags_unknown(planned, "key", rid, KEY_TYPE)
            continue
        assert isinstance(tags, dict)
        purpose = value(planned, ("purpose",))
        purpose = "ENCRYPT_DECRYPT" if purpose is None else purpose
        rotation = value(planned, ("rotation_period",))
        attributes: dict[str, Any] = {
            "manager": "customer",
            "symmetric": purpose if is_unknown(purpose) else purpose == "ENCRYPT_DECRYPT",
            "rotation_enabled": rotation if is_unknown(rotation) else bool(rotation),
        }
        state = value(planned, ("primary", 0, "state"))
        if isinstance(state, str) and state:
            attributes["state"] = state
        elif "create" in planned.actions:
            skip = value(planned, ("skip_initial_version_creation",))
            if is_unknown(skip) or skip:  # no version until one is imported
                attributes["state"] = skip if is_unknown(skip) else after_apply(f"{planned.address}: version")
            else:
                attributes["state"] = "ENABLED"
        ring = trace(context.plan, planned, expression(planned, ("key_ring",)),
                     frozenset({KEY_RING})).resource
        location = value(ring, ("location",)) if ring is not None else None
        name = value(planned, ("id",))
        if not isinstance(location, str) and isinstance(name, str) and name.count("/") >= 3:
            location = name.split("/")[3]
        resource = Resource(id=rid, type=KEY_TYPE, kind="key", provider="gcp", scope=context.plan.label,
                            region=location.lower() if isinstance(location, str) else None,
                            name=planned.address, tags=tags, attributes=attributes,
                            raw=context.raw(planned))
        context.add(resource, (planned,))


def collect(context: Context, others: Sequence[GraphStore] = (),
            keys: ServiceAccountKeys | None = None, above: Above | None = None) -> None:
    """Buckets, their IAM policies and the principals of their grants and of ``others``'s (the
    plan's other Google stores, :func:`phigate_providers.terraform.gcp_stores.graph`) and of
    ``above``'s (grants on folders and organisations), service accounts with the plan's ``keys``
    of theirs; every store with the public grants above it."""
    plan = context.plan
    buckets = plan.by_type.get(BUCKET, ())
    by_name = {value(b, ("name",)): b for b in buckets if isinstance(value(b, ("name",)), str)}
    iam: dict[str, list[PlannedResource]] = {}
    for tf_type in IAM_TYPES:
        for planned in plan.by_type.get(tf_type, ()):
            traced = trace(plan, planned, expression(planned, ("bucket",)), frozenset({BUCKET}))
            target = traced.resource
            if target is None:
                literal = traced.constant if traced.has_constant else value(planned, ("bucket",))
                if isinstance(literal, str):
                    target = by_name.get(literal.removeprefix("b/"))
            if target is not None:
                iam.setdefault(target.address, []).append(planned)
    book = RoleBook({})
    principals = Principals(book, classify=_classifier(context))
    unknown_members: list[str] = []
    for bucket in buckets:
        parts = iam.get(bucket.address, [])
        bindings = bindings_of(parts)
        resource = _bucket(context, bucket, bindings, parts)
        if resource is None or not parts:
            continue
        if isinstance(bindings, Unknown):
            unknown_members.append(f"{bucket.address}: {bindings.reason}")
            continue
        project = resource.scope
        principals.add(project, resource.id, bindings)
        _policy(context, resource, bindings, parts)
    _fine_grained(principals, [context.by_source[b.address] for b in buckets
                               if b.address in context.by_source])
    sources = _other_stores(context, principals, others, unknown_members)
    _above(context, principals, above, (book, unknown_members, sources))
    for record in principals.records():
        if isinstance(record, Resource):
            attributes = dict(record.attributes)
            if unknown_members:
                unknown = Unknown("; ".join(unknown_members))
                attributes.update(can_read=unknown, can_read_via_wildcard=unknown)
            held = keys.add_to(record, attributes) if keys is not None else []
            resource = Resource(id=record.id, type=record.type, kind=record.kind, provider=record.provider,
                                scope=context.plan.label, region=None, name=record.name,
                                attributes=attributes, raw={"members_of": "plan IAM resources"})
            named = [p for parts in iam.values() for p in parts if record.id in _members(p)]
            context.add(resource, [*named, *sources.get(record.id, ()), *held],
                        list(attributes.get("can_read") or ())
                        if isinstance(attributes.get("can_read"), list) else [])
        elif isinstance(record, CollectionError):
            context.errors.append(record)


def _above(context: Context, principals: Principals, above: Above | None,
           graph: tuple[RoleBook, list[str], dict[str, list[PlannedResource]]]) -> None:
    """Grants on folders and organisations reach every store of the plan (which projects are
    below them is not in it); their public grants make those stores public. ``graph``: the role
    book, the reasons some grants are unknown, the IAM resources naming each member."""
    if above is None:
        return
    book, unknown_members, sources = graph
    for parts in above.sources.values():
        for planned in parts:
            for member in _members(planned):
                sources.setdefault(member, []).append(planned)
    granted = above.granted(book)
    project = context.plan.label
    if granted:
        principals.ancestry(project, (f"projects/{project}", *sorted(granted)))
    for name, bindings in sorted(granted.items()):
        principals.resource_policy(name, bindings)
    principals.members(m for bound in above.bindings.values() for b in bound for m in b.members)
    unknown_members.extend(above.unknown)
    above.expose(context, book)


def _fine_grained(principals: Principals, buckets: Sequence[Resource]) -> None:
    """Buckets whose uniform bucket-level access is not on (or known only after apply): their
    objects' ACLs may grant anyone read, the public too unless public access prevention is
    enforced, as the gcp provider says of live buckets."""
    for bucket in buckets:
        attributes = bucket.attributes
        principals.store(bucket.scope, bucket.id)
        if attributes["acls_disabled"] is not True:
            principals.acl_readers(bucket.id, public=attributes["public_access"]["blocked"] is not True)


def _classifier(context: Context) -> Callable[[str], str] | None:
    """A store's data class as the engine will give it, by id (None: the run's classification is
    not known, each store counts as a class of its own). Asked once the graph is closed, when
    every store of the plan is built."""
    classify = context.classify
    if classify is None:
        return None
    classes: dict[str, str] = {}

    def of(store: str) -> str:
        if not classes:
            classes.update((built.resource.id, classify(built.resource)) for built in context.built)
        return classes.get(store, store)
    return of


def _other_stores(context: Context, principals: Principals, others: Sequence[GraphStore],
                  unknown_members: list[str]) -> dict[str, list[PlannedResource]]:
    """The other stores' grants in the graph; the IAM resources naming each member."""
    sources: dict[str, list[PlannedResource]] = {}
    for store in others:
        principals.store(context.plan.label, store.id, store.service, store.noun, parent=store.parent,
                         holds_data=store.holds_data)
        if isinstance(store.bindings, Unknown):
            unknown_members.append(f"{store.address}: {store.bindings.reason}")
            continue
        principals.grant(context.plan.label, store.id, store.bindings)
        for reader, how in store.links:
            principals.authorized(reader, store.id, how)
        for member in {m for b in store.bindings for m in b.members}:
            sources.setdefault(member, []).extend(store.sources)
    return sources


def _members(planned: PlannedResource) -> list[str]:
    member = value(planned, ("member",))
    if isinstance(member, str):
        return [member]
    members = value(planned, ("members",))
    if isinstance(members, list):
        return [m for m in members if isinstance(m, str)]
    data = value(planned, ("policy_data",))
    if isinstance(data, str):
        try:
            return [m for b in json.loads(data).get("bindings") or () for m in b.get("members") or ()]
        except (ValueError, AttributeError):
            return []
    return []


def bindings_of(parts: list[PlannedResource]) -> list[Binding] | Unknown:
    """The role bindings the plan's IAM resources (``…_iam_member``, ``…_binding``,
    ``…_policy``) give a bucket, or another store."""
    found: list[Binding] = []
    for planned in parts:
        if planned.type.endswith("_iam_policy"):
            data = value(planned, ("policy_data",))
            if not isinstance(data, str):
                return data if is_unknown(data) else after_apply(f"{planned.address}.policy_data")
            try:
                document = json.loads(data)
            except ValueError:
                return Unknown(f"{planned.address}: policy_data is not JSON")
            found += [Binding.from_api(b) for b in document.get("bindings") or () if isinstance(b, Mapping)]
            continue
        role = value(planned, ("role",))
        if planned.type.endswith("_member"):
            members: Any = [value(planned, ("member",))]
        else:
            members = value(planned, ("members",))
        condition = value(planned, ("condition",))
        for found_value in (role, members, condition):
            if is_unknown(found_value):
                return found_value
        if not isinstance(members, list) or any(not isinstance(m, str) for m in members):
            return after_apply(f"{planned.address}: members")
        title = None
        if isinstance(condition, list) and condition and isinstance(condition[0], Mapping):
            title = str(condition[0].get("title") or condition[0].get("expression") or "untitled condition")
        found.append(Binding(role=str(role), members=tuple(sorted(set(members))), condition=title))
    return found


def _bucket(context: Context, bucket: PlannedResource, bindings: list[Binding] | Unknown,
            parts: list[PlannedResource]) -> Resource | None:
    rid = context.id_of(bucket)
    tags = context.tags(bucket, ("effective_labels", "labels"))
    if is_unknown(tags):
        context.tags_unknown(bucket, "object_store", rid, TYPE)
        return None
    assert isinstance(tags, dict)
    tags = {k: v for k, v in tags.items() if k != "goog-terraform-provisioned"}
    prevention = value(bucket, ("public_access_prevention",))
    if is_unknown(prevention) and not configured(bucket, ("public_access_prevention",)):
        prevention = "inherited"  # left unset: Google's default once applied
    grants: Any = bindings if isinstance(bindings, Unknown) else public_members(bindings)
    attributes: dict[str, Any] = {
        "encryption": _encryption(context, bucket),
        "public_access": {"blocked": prevention if is_unknown(prevention) else prevention == "enforced",
                          "grants": grants},
        "acls_disabled": known_bool(value(bucket, ("uniform_bucket_level_access",)), False),
        # Cloud Storage answers HTTPS only on its JSON API, as the gcp provider reports.
        "secure_transport_required": True,
        "versioning": known_bool(value(bucket, ("versioning", 0, "enabled")), False),
        "retention": _retention(bucket),
        "logging": {"access_logs": _access_logs(context, bucket), "data_events": False},
    }
    soft = value(bucket, ("soft_delete_policy", 0, "retention_duration_seconds"))
    if is_unknown(soft):
        attributes["soft_delete_days"] = soft
    elif isinstance(soft, int):
        attributes["soft_delete_days"] = soft // DAY
    location = value(bucket, ("location",))
    resource = Resource(id=rid, type=TYPE, kind="object_store", provider="gcp", scope=context.plan.label,
                        region=location.lower() if isinstance(location, str) else None,
                        name=bucket.address, tags=tags, attributes=attributes,
                        raw=context.raw(bucket, *parts))
    key = attributes["encryption"].get("key")
    context.add(resource, (bucket, *parts), [key] if isinstance(key, str) else [])
    return resource


def _encryption(context: Context, bucket: PlannedResource) -> dict[str, Any]:
    return cmek(context, bucket, ("encryption", 0, "default_kms_key_name"), ("encryption",))


def cmek(context: Context, store: PlannedResource, path: tuple[str | int, ...],
         block: tuple[str, ...] | None) -> dict[str, Any]:
    """A store's ``encryption`` from the Cloud KMS key named at ``path`` (in ``block``): a key of
    the plan, a key named by its resource name, one known only after apply, or none (keys Google
    holds)."""
    bucket = store
    blocks = value(bucket, block) if block is not None else None
    key = value(bucket, path)
    planned = trace(context.plan, bucket, expression(bucket, path), frozenset({CRYPTO_KEY})).resource
    if planned is None and isinstance(key, str):
        keys = context.plan.by_type.get(CRYPTO_KEY, ())
        planned = next((k for k in keys if k.values.get("id") == key), None)
    if planned is not None:  # a key of the plan (created alongside: its name is known after apply)
        return {"at_rest": True, "algorithm": "cmek", "key": context.id_of(planned),
                "key_manager": "customer"}
    if is_unknown(blocks) or is_unknown(key):
        unknown = blocks if is_unknown(blocks) else key
        return {"at_rest": True, "algorithm": "cmek", "key": unknown, "key_manager": "customer"}
    if isinstance(key, str) and key:
        gcs_key_stub(context, key, bucket)
        return {"at_rest": True, "algorithm": "cmek", "key": key, "key_manager": "customer"}
    return {"at_rest": True, "algorithm": "google-managed", "key": None, "key_manager": "provider"}


def _retention(bucket: PlannedResource) -> Any:
    seconds = value(bucket, ("retention_policy", 0, "retention_period"))
    if is_unknown(seconds):
        return {"enabled": seconds}
    if not isinstance(seconds, int) or seconds <= 0:
        return {"enabled": False, "locked": False, "days": None}
    locked = value(bucket, ("retention_policy", 0, "is_locked"))
    return {"enabled": True, "locked": locked if is_unknown(locked) else locked is True,
            "days": seconds // DAY}


def _access_logs(context: Context, bucket: PlannedResource) -> Any:
    blocks = value(bucket, ("logging",))
    if is_unknown(blocks) or not blocks:
        return blocks if is_unknown(blocks) else False
    return is_set(context.plan, bucket, ("logging", 0, "log_bucket"))


def _policy(context: Context, bucket: Resource, bindings: list[Binding],
            parts: list[PlannedResource]) -> None:
    attributes = {
        "attached_to": sorted({m for b in bindings for m in b.members}),
        "full_admin": False,  # a bucket policy grants on one bucket, never every action everywhere
        "target": bucket.id,
        "statements": [{"effect": "Allow", "actions": [b.role], "resources": [bucket.id],
                        "conditional": b.condition is not None} for b in bindings],
        "bindings": [{"role": b.role, "members": list(b.members), "conditional": b.condition is not None}
                     for b in bindings],
    }
    resource = Resource(id=f"{bucket.id}/iam-policy", type=POLICY_TYPE, kind="access_policy", provider="gcp",
                        scope=bucket.scope, region=bucket.region, name=", ".join(p.address for p in parts),
                        attributes=attributes, raw=context.raw(parts[0], *parts[1:]))
    context.add(resource, parts, [bucket.id])


__all__ = ["BUCKET", "CRYPTO_KEY", "IAM_TYPES", "KEY_RING", "bindings_of", "cmek", "collect", "crypto_keys"]
