"""S3 Tables tables of a plan, as the AWS provider reads them live
(:mod:`phigate_providers.aws.s3tables`): each ``aws_s3tables_table`` is an ``aws.s3tables.table``
store; its table bucket is its container (a bucket without tables holds nothing, and is not
yielded).

- Encryption: the table's own ``encryption_configuration``, else its bucket's, which a table
  takes when it is created; a bucket that sets none uses S3-managed keys (``AES256``, the
  documented default of S3 Tables). ``aws:kms`` is under ``kms_key_arn``, followed as for any
  store (:mod:`.keys`). A table whose bucket the plan does not hold, and which sets no
  encryption of its own, is undecided.
- Exposure: its bucket's policy (``aws_s3tables_table_bucket_policy``) and its own
  (``aws_s3tables_table_policy``) together, as live: one document for ``public_access`` and for
  the access analysis (``s3tables:GetTableData`` reads it; ``PutTablePolicy`` and
  ``PutTableBucketPolicy`` let a principal grant itself read).
- Class: its own tags over its bucket's (a label both give differently keeps both). A table
  whose bucket is outside the plan cannot be classified: it is an error, never guessed.

``encryption_configuration`` is an object attribute in the ``hashicorp/aws`` provider; it is
read as an object or as a one-element block alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from phigate.api import Resource, Unknown
from phigate_providers.aws.copies import merge_tags
from phigate_providers.aws.policydoc import PolicyDocument
from phigate_providers.aws.read_actions import s3_table_facets
from phigate_providers.terraform.context import Context
from phigate_providers.terraform.iam import StoreFacts
from phigate_providers.terraform.keys import KEY_TYPES, KeyBook, KeyChoice, encryption
from phigate_providers.terraform.plan import PlannedResource
from phigate_providers.terraform.store_joins import join, named_by
from phigate_providers.terraform.store_values import (
    combined,
    document,
    exposure,
    facts_of,
    undecided,
    wrong_type,
)
from phigate_providers.terraform.values import (
    AFTER_APPLY,
    after_apply,
    configured,
    expression,
    is_unknown,
    trace,
    value,
)

BUCKET, BUCKET_POLICY = "aws_s3tables_table_bucket", "aws_s3tables_table_bucket_policy"
TABLES, TABLE_POLICY, NAMESPACE = "aws_s3tables_table", "aws_s3tables_table_policy", "aws_s3tables_namespace"
TYPES = frozenset({BUCKET, BUCKET_POLICY, TABLES, TABLE_POLICY, NAMESPACE})
#: Types whose real-world id is their ``arn``.
ARN_TYPES = frozenset({BUCKET, TABLES})
ENCRYPTION = "encryption_configuration"
#: As :mod:`phigate_providers.aws.s3tables` names them (which loads the SDK: not imported here).
TABLE, KIND = "aws.s3tables.table", "table"
#: S3-managed keys (SSE-S3): the provider's, named by no key resource.
SSE_S3 = {"at_rest": True, "algorithm": "AES256", "key": None, "key_manager": "provider"}
#: A bucket the plan does not hold (its settings are not the plan's to tell).
Bucket = PlannedResource | Unknown


def collect(context: Context, keys: KeyBook) -> tuple[list[StoreFacts], list[str]]:
    """Every planned table; how the access analysis reads them; the policy resources naming
    buckets or tables outside the plan."""
    plan = context.plan
    bucket_policies = join(context, BUCKET_POLICY, "table_bucket_arn", {BUCKET}, named_by("arn"))
    tables = plan.by_type.get(TABLES, ())
    buckets = {t.address: _bucket_of(context, t) for t in tables}
    table_policies, orphans, undecided_tables = _table_policies(context, buckets)
    facts: list[StoreFacts] = []
    for planned in tables:
        bucket = buckets[planned.address]
        own = table_policies.get(planned.address, [])
        documents: list[PolicyDocument | Unknown | None] = [document(p, ("resource_policy",)) for p in own]
        joined: list[PlannedResource] = list(own)
        if isinstance(bucket, Unknown):
            documents.append(bucket)
        else:
            joined = [bucket, *bucket_policies.of(bucket), *joined]
            documents += [document(p, ("resource_policy",)) for p in bucket_policies.of(bucket)]
            documents.append(bucket_policies.undecided)
        policy = combined([*documents, undecided_tables])
        attributes = {"encryption": _encryption(context, keys, planned, bucket),
                      "public_access": exposure(policy)}
        resource = _table(context, planned, bucket, attributes, joined)
        if resource is not None:
            facts.append(facts_of(resource, planned, _arn(context, planned, bucket), policy, s3_table_facets))
    return facts, bucket_policies.orphans + orphans


def _bucket_of(context: Context, table: PlannedResource) -> Bucket:
    """The planned bucket ``table_bucket_arn`` names, or why it is not one of the plan's."""
    plan = context.plan
    traced = trace(plan, table, expression(table, ("table_bucket_arn",)), frozenset({BUCKET}))
    if traced.resource is not None:
        return traced.resource
    literal = traced.constant if traced.has_constant else value(table, ("table_bucket_arn",))
    if isinstance(literal, str) and literal:
        for bucket in plan.by_type.get(BUCKET, ()):
            if value(bucket, ("arn",)) == literal:
                return bucket
        return Unknown(f"{table.address}: its table bucket {literal} is not in the plan, so its settings, "
                       "policy and tags are not known")
    return after_apply(f"{table.address}: which table bucket holds it")


def _table_policies(context: Context, buckets: Mapping[str, Bucket]
                    ) -> tuple[dict[str, list[PlannedResource]], list[str], Unknown | None]:
    """Each table's policy resources (by the table's address), those naming a table outside the
    plan, and why every table may have one the plan does not tie to it."""
    plan = context.plan
    tables = plan.by_type.get(TABLES, ())
    found: dict[str, list[PlannedResource]] = {}
    orphans: list[str] = []
    unknown: Unknown | None = None
    for policy in plan.by_type.get(TABLE_POLICY, ()):
        table = trace(plan, policy, expression(policy, ("name",)), frozenset({TABLES})).resource
        if table is None:
            name, namespace = value(policy, ("name",)), value(policy, ("namespace",))
            bucket = _bucket_of(context, policy)
            if is_unknown(bucket) and not bucket.reason.endswith(AFTER_APPLY):
                orphans.append(policy.address)  # a bucket outside the plan
                continue
            if not (isinstance(name, str) and isinstance(namespace, str)) or is_unknown(bucket):
                unknown = Unknown(f"{policy.address}: which table it applies to is known only after "
                                  "apply, so any table of the plan may have this policy")
                continue
            matches = [t for t in tables if buckets.get(t.address) is bucket
                       and (value(t, ("name",)), value(t, ("namespace",))) == (name, namespace)]
            if len(matches) != 1:
                orphans.append(policy.address)
                continue
            table = matches[0]
        found.setdefault(table.address, []).append(policy)
    return found, orphans, unknown


def _settings(context: Context, planned: PlannedResource
              ) -> tuple[Mapping[str, Any] | Unknown | None, tuple[str | int, ...]]:
    """The resource's ``encryption_configuration`` (None: not set) and the path of its items."""
    found = value(planned, (ENCRYPTION,))
    if isinstance(found, list):  # written as a block
        found = found[0] if found else None
        if found is not None and not isinstance(found, Mapping):
            return wrong_type(planned, (ENCRYPTION,), "an object", found), (ENCRYPTION, 0)
        return found, (ENCRYPTION, 0)
    if found is None or isinstance(found, Mapping):
        return found, (ENCRYPTION,)
    if is_unknown(found):
        # Optional and computed: unset in the configuration, the provider's default.
        unset = context.plan.has_configuration and not configured(planned, (ENCRYPTION,))
        return (None if unset else found), (ENCRYPTION,)
    return wrong_type(planned, (ENCRYPTION,), "an object", found), (ENCRYPTION,)


def _encryption(context: Context, keys: KeyBook, planned: PlannedResource, bucket: Bucket) -> dict[str, Any]:
    own, path = _settings(context, planned)
    if own is not None:
        return _from(context, keys, planned, own, path)
    if isinstance(bucket, Unknown):
        return undecided(bucket)
    found, path = _settings(context, bucket)
    return dict(SSE_S3) if found is None else _from(context, keys, bucket, found, path)


def _from(context: Context, keys: KeyBook, planned: PlannedResource, settings: Mapping[str, Any] | Unknown,
          path: tuple[str | int, ...]) -> dict[str, Any]:
    """``aws:kms`` under the key named, else S3-managed keys, as live."""
    if isinstance(settings, Unknown):
        return undecided(settings)
    algorithm = value(planned, (*path, "sse_algorithm"))
    if is_unknown(algorithm):
        return undecided(algorithm)
    if algorithm in (None, "AES256"):
        return dict(SSE_S3)
    if algorithm != "aws:kms":
        return undecided(wrong_type(planned, (*path, "sse_algorithm"), '"AES256" or "aws:kms"', algorithm))
    return encryption(True, "aws:kms", _key(context, keys, planned, path))


def _key(context: Context, keys: KeyBook, planned: PlannedResource, path: tuple[str | int, ...]) -> KeyChoice:
    """The key ``kms_key_arn`` names. Inside an object attribute the configuration keeps one
    expression for the whole object: a key known only after apply is the planned key it
    references."""
    if len(path) > 1:  # a block: its own expression
        return keys.choose(planned, (*path, "kms_key_arn"))
    found = value(planned, (*path, "kms_key_arn"))
    if not is_unknown(found):
        if found in (None, ""):
            reason = Unknown(f"{planned.address}.{ENCRYPTION}: aws:kms without kms_key_arn")
            return KeyChoice(reason, reason)
        return keys.named(found, planned)
    traced = trace(context.plan, planned, expression(planned, path), KEY_TYPES)
    if traced.resource is not None:
        named = traced.resource
        key = keys.alias_target(named) if named.type == "aws_kms_alias" else named
        if key is not None:
            return KeyChoice(context.id_of(key), "customer")
    return KeyChoice(found, found)


def _table(context: Context, planned: PlannedResource, bucket: Bucket, attributes: dict[str, Any],
           joined: list[PlannedResource]) -> Resource | None:
    """The table with its class (its tags over its bucket's), or None, an error recorded, when
    either is known only after apply or the bucket is outside the plan."""
    rid = context.id_of(planned)
    own = context.tags(planned, ("tags_all", "tags"))
    inherited: dict[str, str] | Unknown = bucket if isinstance(bucket, Unknown) else context.tags(
        bucket, ("tags_all", "tags"))
    for found in (own, inherited):
        if isinstance(found, Unknown):
            context.error(planned, rid, KIND, TABLE, f"its data class cannot be told ({found.reason})")
            return None
    assert isinstance(own, dict) and isinstance(inherited, dict)
    resource = Resource(id=rid, type=TABLE, kind=KIND, provider="aws", scope=context.plan.label,
                        region=context.region(planned), name=planned.address, tags=merge_tags(inherited, own),
                        attributes=attributes, raw=context.raw(planned, *joined))
    key = attributes["encryption"].get("key")
    context.add(resource, (planned, *joined), [key] if isinstance(key, str) else [])
    return resource


def _arn(context: Context, planned: PlannedResource, bucket: Bucket) -> str:
    """The table's ARN; before apply, any table of its bucket (any bucket's, any account's,
    where those are not planned): more reach, never less."""
    arn = value(planned, ("arn",))
    if isinstance(arn, str) and arn.startswith("arn:"):
        return arn
    bucket_arn = None if isinstance(bucket, Unknown) else value(bucket, ("arn",))
    if isinstance(bucket_arn, str) and bucket_arn.startswith("arn:"):
        return f"{bucket_arn}/table/*"
    name = None if isinstance(bucket, Unknown) else value(bucket, ("name",))
    return (f"arn:aws:s3tables:{context.region(planned) or '*'}:*:bucket/"
            f"{name if isinstance(name, str) and name else '*'}/table/*")


__all__ = ["ARN_TYPES", "TYPES", "collect"]
