"""S3 buckets, joined with the resources that configure them since AWS provider v4.

Encryption, the public access block, versioning, logging, ownership, the bucket policy, ACLs and
object lock are separate resources naming their bucket in ``bucket``: by reference (the link is
in ``configuration``, since a new bucket's id is known only after apply) or by a literal bucket
name. Each is joined to its planned bucket either way; two of one kind on one bucket make that
setting unknown (they would overwrite each other), and one whose bucket is not planned is noted.

What the bucket will be after apply: a joined resource says it; else what the bucket resource
itself reports (an existing bucket's computed ``versioning``, ``logging``, ``policy``,
``server_side_encryption_configuration``); else, for a bucket being created, what S3 applies to
new buckets (SSE-S3, ACLs disabled, no versioning, no logging, no policy); else the attribute is
left out (not seen). The public access guard is the exception: it counts only when the plan
declares it (the bucket's or the account's public access block, all four flags), since nothing
in the bucket resource shows it and an undeclared guard is one Terraform will not restore.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from phigate.api import Resource, Unknown
from phigate_providers.aws.access import (
    PolicyDocument,
    PolicySyntaxError,
    denies_insecure_transport,
    parse_policy,
    public_grants,
)
from phigate_providers.aws.public import PUBLIC_CANNED, acl_grant
from phigate_providers.terraform.context import Context
from phigate_providers.terraform.keys import DEFAULT, KeyBook, KeyChoice, encryption
from phigate_providers.terraform.plan import PlannedResource
from phigate_providers.terraform.values import (
    after_apply,
    configured,
    expression,
    is_set,
    is_unknown,
    trace,
    value,
)

BUCKET = "aws_s3_bucket"
TYPE = "aws.s3.bucket"
#: The resources configuring one bucket, by the setting they carry.
SETTINGS = {
    "sse": "aws_s3_bucket_server_side_encryption_configuration",
    "pab": "aws_s3_bucket_public_access_block",
    "versioning": "aws_s3_bucket_versioning",
    "logging": "aws_s3_bucket_logging",
    "ownership": "aws_s3_bucket_ownership_controls",
    "policy": "aws_s3_bucket_policy",
    "acl": "aws_s3_bucket_acl",
    "lock": "aws_s3_bucket_object_lock_configuration",
}
ACCOUNT_BLOCK = "aws_s3_account_public_access_block"
FLAGS = ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
_SSE = ("rule", 0, "apply_server_side_encryption_by_default", 0)


@dataclass
class BucketUnit:
    """A planned bucket and the resources joined to it, one per setting."""

    bucket: PlannedResource
    name: Any
    joined: dict[str, list[PlannedResource]] = field(default_factory=dict)

    def one(self, setting: str) -> PlannedResource | Unknown | None:
        found = self.joined.get(setting, [])
        if len(found) > 1:
            addresses = ", ".join(r.address for r in found)
            return Unknown(f"{addresses} configure the same bucket and overwrite each other")
        return found[0] if found else None

    @property
    def new(self) -> bool:
        return "create" in self.bucket.actions

    def parts(self) -> list[PlannedResource]:
        return [r for found in self.joined.values() for r in found]


def bucket_name(bucket: PlannedResource) -> Any:
    return value(bucket, ("bucket",))


def join(context: Context) -> tuple[list[BucketUnit], list[PlannedResource]]:
    """Every planned bucket with its settings' resources; and those whose bucket is not planned."""
    plan = context.plan
    units = {b.address: BucketUnit(b, bucket_name(b)) for b in plan.by_type.get(BUCKET, ())}
    by_name: dict[str, BucketUnit] = {}
    for unit in units.values():
        if isinstance(unit.name, str):
            by_name.setdefault(unit.name, unit)
    orphans: list[PlannedResource] = []
    for setting, rtype in SETTINGS.items():
        for part in plan.by_type.get(rtype, ()):
            traced = trace(plan, part, expression(part, ("bucket",)), frozenset({BUCKET}))
            owner = units.get(traced.resource.address) if traced.resource is not None else None
            if owner is None:
                literal = traced.constant if traced.has_constant else value(part, ("bucket",))
                owner = by_name.get(literal) if isinstance(literal, str) else None
            if owner is None:
                orphans.append(part)
            else:
                owner.joined.setdefault(setting, []).append(part)
    return list(units.values()), orphans


def account_block(context: Context) -> dict[str, Any] | None:
    """The account-level public access block flags the plan declares (None: none declared)."""
    blocks = context.plan.by_type.get(ACCOUNT_BLOCK, ())
    if len(blocks) != 1:
        return None
    return {flag: value(blocks[0], (flag,)) for flag in FLAGS}


@dataclass(frozen=True)
class BucketFacts:
    """The normalised bucket and what access analysis needs of it."""

    resource: Resource
    policy: PolicyDocument | None
    policy_known: bool


def normalise(context: Context, keys: KeyBook, unit: BucketUnit, *, account_flags: dict[str, Any] | None,
              data_events: Callable[[str], bool]) -> BucketFacts | None:
    bucket = unit.bucket
    rid = context.id_of(bucket)
    tags = context.tags(bucket, ("tags_all", "tags"))
    if is_unknown(tags):
        context.tags_unknown(bucket, "object_store", rid, TYPE)
        return None
    assert isinstance(tags, dict)
    policy, policy_known = _policy(context, unit, rid)
    ownership = _acls_disabled(unit)
    attributes: dict[str, Any] = {}
    _put(attributes, "encryption", _encryption(keys, unit))
    blocked = _blocked(unit, account_flags)
    _put(attributes, "public_access", {"blocked": blocked,
                                       "grants": _grants(unit, policy, policy_known, blocked, ownership)})
    _put(attributes, "acls_disabled", ownership)
    _put(attributes, "secure_transport_required", _secure_transport(unit, policy, policy_known))
    _put(attributes, "versioning", _versioning(unit))
    _put(attributes, "retention", _retention(unit))
    access_logs = _access_logs(context, unit)
    logging: dict[str, Any] = {}
    _put(logging, "access_logs", access_logs)
    if isinstance(unit.name, str) and data_events(unit.name):
        logging["data_events"] = True  # else not seen: a trail outside the plan may record them
    if logging:
        attributes["logging"] = logging
    resource = Resource(id=rid, type=TYPE, kind="object_store", provider="aws", scope=context.plan.label,
                        region=context.region(bucket), name=bucket.address, tags=tags,
                        attributes=attributes, raw=context.raw(bucket, *unit.parts()))
    return BucketFacts(resource, policy, policy_known)


def _put(target: dict[str, Any], key: str, found: Any) -> None:
    """Attributes not seen are left out (``_ABSENT``), never guessed."""
    if found is not _ABSENT:
        target[key] = found


_ABSENT: Any = object()


def _own(unit: BucketUnit, *path: str | int) -> Any:
    """What the bucket resource itself says of a setting. A new bucket's computed settings are
    known only after apply, yet nothing but S3's defaults for new buckets can set them when the
    configuration does not: those are read as unset."""
    found = value(unit.bucket, path)
    if is_unknown(found) and unit.new and not configured(unit.bucket, path[:1]):
        return None
    return found


def _encryption(keys: KeyBook, unit: BucketUnit) -> Any:
    sse = unit.one("sse")
    if is_unknown(sse):
        return encryption(True, sse, KeyChoice(sse, sse))
    if isinstance(sse, PlannedResource):
        return _sse_block(keys, sse, _SSE, chosen=True)
    bucket = unit.bucket
    inline = ("server_side_encryption_configuration", 0, *_SSE)
    own = _own(unit, "server_side_encryption_configuration")
    if isinstance(own, list) and own:
        # Written inline (older configurations) or reported by the provider for an existing bucket.
        return _sse_block(keys, bucket, inline, chosen=expression(bucket, inline) is not None)
    if unit.new or (isinstance(own, list) and not own):
        return {"at_rest": True, "algorithm": "AES256", "key": None, "key_manager": "provider"}
    if is_unknown(own):
        return {"at_rest": True, "algorithm": own, "key": None, "key_manager": own}
    return _ABSENT


def _sse_block(keys: KeyBook, resource: PlannedResource, path: tuple[Any, ...], *, chosen: bool) -> Any:
    algorithm = value(resource, (*path, "sse_algorithm"))
    key_path = (*path, "kms_master_key_id")
    if is_unknown(algorithm):
        return {"at_rest": True, "algorithm": algorithm, "key": None, "key_manager": algorithm}
    if not isinstance(algorithm, str) or not algorithm.startswith("aws:kms"):
        return encryption(True, algorithm or "AES256", DEFAULT)
    # A key reported for an existing bucket without configuration is one someone set: S3 reports
    # no key id for the default aws/s3 key.
    choice = keys.choose(resource, key_path) if chosen else keys.named(value(resource, key_path), resource)
    return encryption(True, algorithm, choice)


def _blocked(unit: BucketUnit, account_flags: dict[str, Any] | None) -> Any:
    pab = unit.one("pab")
    if is_unknown(pab):
        return pab
    flags = {f: value(pab, (f,)) for f in FLAGS} if isinstance(pab, PlannedResource) else {}
    verdicts: list[Any] = []
    for flag in FLAGS:
        own, account = flags.get(flag), (account_flags or {}).get(flag)
        if own is True or account is True:
            verdicts.append(True)
        elif is_unknown(own) or is_unknown(account):
            verdicts.append(own if is_unknown(own) else account)
        else:
            verdicts.append(False)
    if all(v is True for v in verdicts):
        return True
    if any(v is False for v in verdicts):
        return False
    return next(v for v in verdicts if is_unknown(v))


def _policy(context: Context, unit: BucketUnit, rid: str) -> tuple[PolicyDocument | None, bool]:
    """The bucket policy after apply, and whether it is known."""
    joined = unit.one("policy")
    if is_unknown(joined):
        return None, False
    source = joined if isinstance(joined, PlannedResource) else unit.bucket
    text = value(source, ("policy",)) if joined is not None else _own(unit, "policy")
    if is_unknown(text):
        return None, False
    if text in (None, ""):
        known = joined is not None or unit.new or (text == "" and "policy" in unit.bucket.values)
        return None, known
    try:
        return parse_policy(text, name=f"bucket policy of {source.address}"), True
    except PolicySyntaxError as exc:
        context.error(source, rid, "object_store", TYPE, f"bucket policy does not parse: {exc}")
        return None, False


def _grants(unit: BucketUnit, policy: PolicyDocument | None, policy_known: bool, blocked: Any,
            acls_disabled: Any) -> Any:
    if blocked is True:
        # All four flags on: S3 refuses public policies and ignores public ACLs, so no grant
        # (declared or made outside the plan) can be public.
        return list(public_grants(policy)) if policy_known else []
    if not policy_known:
        return after_apply(f"{unit.bucket.address}: bucket policy")
    found = list(public_grants(policy))
    if acls_disabled is not True or _explicit_acl(unit):
        # An ACL the configuration writes counts even where ACLs are disabled by default: the
        # configuration asks for it (and S3 refuses it at apply).
        acl = _acl_grants(unit)
        if is_unknown(acl):
            return acl
        found += acl
    return sorted(set(found))


def _acl_grants(unit: BucketUnit) -> Any:
    acl = unit.one("acl")
    if is_unknown(acl):
        return acl
    source = acl if isinstance(acl, PlannedResource) else unit.bucket
    found: list[str] = []
    canned = value(source, ("acl",)) if acl is not None else _own(unit, "acl")
    if is_unknown(canned):
        return canned
    if isinstance(canned, str) and canned in PUBLIC_CANNED:
        found.append(PUBLIC_CANNED[canned])
    if acl is not None and isinstance(canned, str) and canned and not configured(source,
                                                                            ("access_control_policy",)):
        return found  # a canned ACL is the whole ACL: the grants the provider reads back are its own
    # Grants written on an ACL resource, or those the bucket itself reports.
    grants = value(source, ("access_control_policy", 0, "grant")) if acl is not None else _own(unit, "grant")
    if is_unknown(grants):
        return grants
    for grant in grants or ():
        grantee = grant.get("grantee") if isinstance(grant, Mapping) else None
        if isinstance(grantee, list):
            grantee = grantee[0] if grantee else None
        uri = grantee.get("uri") if isinstance(grantee, Mapping) else grant.get("uri")
        public = acl_grant(uri, grant.get("permission") or ",".join(grant.get("permissions") or ()))
        if public is not None:
            found.append(public)
    return found


def _explicit_acl(unit: BucketUnit) -> bool:
    """The configuration writes an ACL other than ``private`` (an ACL resource, or the bucket's
    own ``acl``/``grant`` arguments)."""
    if unit.one("acl") is not None:
        return True
    canned = expression(unit.bucket, ("acl",))
    written = canned.get("constant_value") if canned is not None else None
    return (canned is not None and written != "private") or configured(unit.bucket, ("grant",))


def _acls_disabled(unit: BucketUnit) -> Any:
    ownership = unit.one("ownership")
    if is_unknown(ownership):
        return ownership
    if isinstance(ownership, PlannedResource):
        mode = value(ownership, ("rule", 0, "object_ownership"))
        return mode if is_unknown(mode) else mode == "BucketOwnerEnforced"
    if unit.new:
        # ACLs are disabled for new buckets since April 2023, unless the configuration writes one.
        return not _explicit_acl(unit)
    if _explicit_acl(unit) or _grants_to_others(unit):
        # An existing bucket: S3 keeps an ACL written by the configuration, or reports grants to
        # anyone but the owner, only while ACLs are enabled (with ownership enforced, the ACL it
        # reports is the owner's full control alone).
        return False
    return _ABSENT


def _grants_to_others(unit: BucketUnit) -> bool:
    """The bucket reports an ACL grant to a group (everyone, authenticated users, log delivery)
    or by e-mail: a grantee other than the owner."""
    grants = value(unit.bucket, ("grant",))
    if not isinstance(grants, list):
        return False
    return any(isinstance(g, Mapping)
               and (g.get("type") in ("Group", "AmazonCustomerByEmail") or bool(g.get("uri")))
               for g in grants)


def _secure_transport(unit: BucketUnit, policy: PolicyDocument | None, known: bool) -> Any:
    if not known:
        return _ABSENT if unit.one("policy") is None and not unit.new else after_apply(
            f"{unit.bucket.address}: bucket policy")
    if not isinstance(unit.name, str):
        return after_apply(f"{unit.bucket.address}: bucket name") if is_unknown(unit.name) else _ABSENT
    return denies_insecure_transport(policy, unit.name)


def _versioning(unit: BucketUnit) -> Any:
    joined = unit.one("versioning")
    if is_unknown(joined):
        return joined
    if isinstance(joined, PlannedResource):
        status = value(joined, ("versioning_configuration", 0, "status"))
        return status if is_unknown(status) else status == "Enabled"
    own = _own(unit, "versioning", 0, "enabled")
    if isinstance(own, bool) or is_unknown(own):
        return own
    return False if unit.new else _ABSENT


def _access_logs(context: Context, unit: BucketUnit) -> Any:
    joined = unit.one("logging")
    if is_unknown(joined):
        return joined
    if isinstance(joined, PlannedResource):
        return is_set(context.plan, joined, ("target_bucket",))
    own = _own(unit, "logging")
    if isinstance(own, list):
        return bool(own) and is_set(context.plan, unit.bucket, ("logging", 0, "target_bucket"))
    if is_unknown(own):
        return own
    return False if unit.new else _ABSENT


def _retention(unit: BucketUnit) -> Any:
    enabled = _own(unit, "object_lock_enabled")
    lock = unit.one("lock")
    if is_unknown(lock):
        return {"enabled": lock}
    if enabled is None and unit.new:
        enabled = False
    if enabled is None:
        return _ABSENT
    retention: dict[str, Any] = {"enabled": enabled if is_unknown(enabled) else bool(enabled)}
    if isinstance(lock, PlannedResource):
        rule = ("rule", 0, "default_retention", 0)
        mode, days, years = (value(lock, (*rule, k)) for k in ("mode", "days", "years"))
        retention["locked"] = mode if is_unknown(mode) else mode == "COMPLIANCE"
        if isinstance(days, int) or isinstance(years, int):
            retention["days"] = days if isinstance(days, int) and days else (years or 0) * 365 or None
    elif retention["enabled"] is False:
        retention.update(locked=False, days=None)
    return retention


__all__ = ["ACCOUNT_BLOCK", "BUCKET", "SETTINGS", "TYPE", "BucketFacts", "BucketUnit", "account_block",
           "bucket_name", "join", "normalise"]
