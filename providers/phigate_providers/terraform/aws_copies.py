"""Copies of patient data in a plan: EC2 images (AMIs) and S3 Glacier vaults, read as the live
reader reads them (:mod:`phigate_providers.aws.images`, :mod:`phigate_providers.aws.glacier`).

- An image (``aws_ami``, ``aws_ami_copy``, ``aws_ami_from_instance``) is a ``volume``
  (``aws.ec2.image``). Its ``aws_ami_launch_permission`` resources share it: ``group = "all"``
  makes it public (``launchPermission:all``), an ``account_id`` is a reader for the access
  analysis, an organization or unit leaves its readers unknown. Its encryption is its disks':
  a copy naming a key (or asking for encryption) is encrypted so; a registered image's disks
  are the EBS snapshots it names, decided when the plan holds them; otherwise (an image of an
  instance, a snapshot outside the plan) its encryption is known only after apply. It carries the
  tags of the snapshots (or the image) it copies under its own.
- A vault (``aws_glacier_vault``) is an ``object_store`` (``aws.glacier.vault``): always
  encrypted under keys Glacier manages, TLS only, no ACLs; ``access_policy`` gives its exposure
  and readers; an ``aws_glacier_vault_lock`` with ``complete_lock`` whose policy denies
  ``glacier:DeleteArchive`` keeps its archives (``retention``). Its retrievals are logged
  (``logging.data_events``) when a logging ``aws_cloudtrail`` of the plan, multi-region or in its
  region, records management events with their reads, ``glacier.amazonaws.com`` not excluded
  (CloudTrail's only record of Glacier's calls); else that is left out, as for a bucket: a trail
  outside the plan may record them. Glacier has no server access logs (``access_logs`` false).
"""

from __future__ import annotations

from typing import Any

from phigate.api import Resource, Unknown
from phigate_providers.aws.copies import merge_tags
from phigate_providers.aws.policydoc import PolicyDocument, PolicySyntaxError, parse_policy
from phigate_providers.aws.read_actions import GLACIER_READ, sharing_policy, snapshot_facets, vault_facets
from phigate_providers.aws.resource_policy import public_grants
from phigate_providers.aws.trail_selectors import GLACIER
from phigate_providers.terraform import aws_stores
from phigate_providers.terraform.context import Context
from phigate_providers.terraform.iam import StoreFacts
from phigate_providers.terraform.keys import DEFAULT, KeyBook, encryption
from phigate_providers.terraform.plan import PlannedResource
from phigate_providers.terraform.values import after_apply, configured, expression, is_unknown, trace, value

AMI, AMI_COPY, AMI_FROM_INSTANCE = "aws_ami", "aws_ami_copy", "aws_ami_from_instance"
IMAGES = (AMI, AMI_COPY, AMI_FROM_INSTANCE)
LAUNCH_PERMISSION = "aws_ami_launch_permission"
VAULT, VAULT_LOCK = "aws_glacier_vault", "aws_glacier_vault_lock"
EBS_SNAPSHOTS = frozenset({"aws_ebs_snapshot", "aws_ebs_snapshot_copy"})
TYPES = frozenset({*IMAGES, LAUNCH_PERMISSION, VAULT, VAULT_LOCK})
IMAGE_TYPE, VAULT_TYPE = "aws.ec2.image", "aws.glacier.vault"
#: Glacier's own encryption, as the live reader gives it.
VAULT_ENCRYPTION = {"at_rest": True, "algorithm": "AES256", "key": None, "key_manager": "provider"}


def collect(context: Context, keys: KeyBook, access: list[StoreFacts]) -> list[str]:
    """Images and vaults as stores (and, into ``access``, as the access analysis reads them);
    the addresses of launch permissions and locks whose image or vault is not in the plan."""
    permissions, orphans = _joined(context, LAUNCH_PERMISSION, ("image_id",), frozenset(IMAGES))
    locks, lock_orphans = _joined(context, VAULT_LOCK, ("vault_name",), frozenset({VAULT}))
    for tf_type in IMAGES:  # copies after the images they may copy
        for planned in context.plan.by_type.get(tf_type, ()):
            found = _image(context, keys, planned, permissions.get(planned.address, []))
            if found is not None:
                access.append(found)
    trails = aws_stores.trails(context) if context.plan.by_type.get(VAULT) else []
    for planned in context.plan.by_type.get(VAULT, ()):
        found = _vault(context, planned, locks.get(planned.address, []), trails)
        if found is not None:
            access.append(found)
    return orphans + lock_orphans


def _joined(context: Context, tf_type: str, path: tuple[str, ...],
            targets: frozenset[str]) -> tuple[dict[str, list[PlannedResource]], list[str]]:
    """Resources of ``tf_type`` by the planned resource their ``path`` names; orphans apart."""
    found: dict[str, list[PlannedResource]] = {}
    orphans: list[str] = []
    for planned in context.plan.by_type.get(tf_type, ()):
        traced = trace(context.plan, planned, expression(planned, path), targets)
        if traced.resource is None:
            orphans.append(planned.address)
        else:
            found.setdefault(traced.resource.address, []).append(planned)
    return found, orphans


# --- images -------------------------------------------------------------------------------------

def _image(context: Context, keys: KeyBook, planned: PlannedResource,
           permissions: list[PlannedResource]) -> StoreFacts | None:
    rid = context.id_of(planned)
    sources = _sources(context, planned)
    tags = _tags(context, planned, sources)
    if isinstance(tags, Unknown):
        context.tags_unknown(planned, "volume", rid, IMAGE_TYPE)
        return None
    shared = [_grantee(p) for p in permissions]
    public = any(s == "all" for s in shared)
    attributes: dict[str, Any] = {
        "encryption": _image_encryption(context, keys, planned, sources),
        "public_access": {"blocked": not public, "grants": ["launchPermission:all"] if public else []},
    }
    raw = context.raw(planned, *permissions)
    raw["shared_with"] = [s if isinstance(s, str) else "an account known only after apply" for s in shared]
    if sources:
        raw["source"] = [s.address for s in sources]
    resource = Resource(id=rid, type=IMAGE_TYPE, kind="volume", provider="aws", scope=context.plan.label,
                        region=context.region(planned), name=planned.address, tags=tags,
                        attributes=attributes, raw=raw)
    key = attributes["encryption"].get("key")
    context.add(resource, (planned, *permissions), [key] if isinstance(key, str) else [])
    return _image_access(context, planned, resource, shared)


def _grantee(permission: PlannedResource) -> Any:
    """Who a launch permission names: ``all``, an account, an organization or unit ARN."""
    for attribute in ("group", "account_id", "organization_arn", "organizational_unit_arn"):
        named = value(permission, (attribute,))
        if (isinstance(named, str) and named) or is_unknown(named):
            return named
    return after_apply(f"{permission.address}: whom it names")


def _sources(context: Context, planned: PlannedResource) -> list[PlannedResource]:
    """What the image copies that the plan holds: the image a copy copies, the EBS snapshots a
    registered image names."""
    if planned.type == AMI_COPY:
        traced = trace(context.plan, planned, expression(planned, ("source_ami_id",)), frozenset(IMAGES))
        return [traced.resource] if traced.resource is not None else []
    found = []
    for index, _ in enumerate(_disks(planned)):
        traced = trace(context.plan, planned, expression(planned, ("ebs_block_device", index, "snapshot_id")),
                       EBS_SNAPSHOTS)
        if traced.resource is not None:
            found.append(traced.resource)
    return found


def _disks(planned: PlannedResource) -> list[Any]:
    found = value(planned, ("ebs_block_device",))
    return list(found) if isinstance(found, list) and planned.type == AMI else []


def _tags(context: Context, planned: PlannedResource,
          sources: list[PlannedResource]) -> dict[str, str] | Unknown:
    own = context.tags(planned, ("tags_all", "tags"))
    merged: dict[str, str] = {}
    for source in sources:
        built = context.by_source.get(source.address)
        inherited = dict(built.tags) if built is not None else context.tags(source, ("tags_all", "tags"))
        if isinstance(inherited, Unknown):
            return inherited
        merged = merge_tags(merged, inherited)
    return own if isinstance(own, Unknown) else merge_tags(merged, own)


def _image_encryption(context: Context, keys: KeyBook, planned: PlannedResource,
                      sources: list[PlannedResource]) -> dict[str, Any]:
    if planned.type == AMI_COPY:
        named = configured(planned, ("kms_key_id",))
        if value(planned, ("encrypted",)) is True or named:
            # No key named: the region's default EBS key, taken as AWS-managed (aws/ebs); an
            # account that made a customer key its default is judged the weaker, never the stronger.
            choice = keys.choose(planned, ("kms_key_id",)) if named else DEFAULT
            return encryption(True, "aws:kms", choice)
        found = context.encryption_of(sources[0]) if sources else None
        if isinstance(found, dict):
            return found
        return _unknown(planned, "the image it copies is not in the plan")
    disks = _disks(planned)
    if planned.type == AMI_FROM_INSTANCE or not disks or len(sources) != len(disks):
        return _unknown(planned, "its disks' snapshots are not in the plan")
    each = [context.encryption_of(s) for s in sources]
    if any(not isinstance(e, dict) for e in each):
        return _unknown(planned, "its disks' encryption is not in the plan")
    if any(e.get("at_rest") is False for e in each):
        return {"at_rest": False, "algorithm": None, "key": None, "key_manager": None}
    known = [e for e in each if isinstance(e, dict)]
    strength = {"provider": 0, "customer": 1}  # unknown (-1) is weaker still
    return min(known, key=lambda e: strength.get(str(e.get("key_manager")), -1))


def _unknown(planned: PlannedResource, why: str) -> dict[str, Any]:
    unknown = after_apply(f"{planned.address}: encryption ({why})")
    return {"at_rest": unknown, "algorithm": unknown, "key": None, "key_manager": unknown}


def _image_access(context: Context, planned: PlannedResource, resource: Resource,
                  shared: list[Any]) -> StoreFacts:
    """Launched or copied through its ARN (any id while it is known only after apply); shared
    accounts as the resource policy they amount to; an organization's, unknown."""
    region = context.region(planned) or "*"
    content = resource.id if resource.id.startswith("arn:") else f"arn:aws:ec2:{region}::image/*"
    policy: PolicyDocument | Unknown | None
    if any(not isinstance(s, str) or s.startswith("arn:") for s in shared):
        policy = Unknown(f"{planned.address}: shared with an organization, or an account known after apply")
    else:
        policy = sharing_policy(content, IMAGE_TYPE, [str(s) for s in shared])
    return StoreFacts(resource.id, content, frozenset(), policy, planned.address,
                      facets=snapshot_facets(content, IMAGE_TYPE))


# --- vaults ---------------------------------------------------------------------------------------

def _vault(context: Context, planned: PlannedResource, locks: list[PlannedResource],
           trails: list[aws_stores.Trail]) -> StoreFacts | None:
    rid = context.id_of(planned)
    tags = context.tags(planned, ("tags_all", "tags"))
    if isinstance(tags, Unknown):
        context.tags_unknown(planned, "object_store", rid, VAULT_TYPE)
        return None
    policy = _policy(planned, ("access_policy",))
    grants: Any = policy if isinstance(policy, Unknown) else list(public_grants(policy))
    attributes: dict[str, Any] = {
        "encryption": dict(VAULT_ENCRYPTION), "secure_transport_required": True, "acls_disabled": True,
        "public_access": {"blocked": grants if isinstance(grants, Unknown) else not grants, "grants": grants},
        "retention": _retention(locks),
        "logging": {"access_logs": False},
    }
    if aws_stores.records_reads(trails, GLACIER, context.region(planned)):
        attributes["logging"]["data_events"] = True  # else unseen: a trail outside the plan may log them
    resource = Resource(id=rid, type=VAULT_TYPE, kind="object_store", provider="aws",
                        scope=context.plan.label, region=context.region(planned), name=planned.address,
                        tags=tags, attributes=attributes, raw=context.raw(planned, *locks))
    context.add(resource, (planned, *locks))
    name = value(planned, ("name",))
    arn = value(planned, ("arn",))
    if not (isinstance(arn, str) and arn.startswith("arn:")):
        # The account is not in the plan: any account's vault of that name (errs towards access).
        named = name if isinstance(name, str) and name else "*"
        arn = f"arn:aws:glacier:{context.region(planned) or '*'}:*:vaults/{named}"
    return StoreFacts(resource.id, arn, GLACIER_READ, policy, planned.address, facets=vault_facets(arn))


def _policy(planned: PlannedResource, path: tuple[str, ...]) -> PolicyDocument | Unknown | None:
    text = value(planned, path)
    if is_unknown(text):
        return after_apply(f"{planned.address}: {path[0]}")
    if not isinstance(text, str) or not text.strip():
        return None
    try:
        return parse_policy(text, name=planned.address)
    except PolicySyntaxError as exc:
        return after_apply(f"{planned.address}: {path[0]} does not parse ({exc})")


def _retention(locks: list[PlannedResource]) -> dict[str, Any]:
    """Kept when a completed lock's policy denies deleting archives."""
    kept: Any = False
    for lock in locks:
        complete = value(lock, ("complete_lock",))
        policy = _policy(lock, ("policy",))
        if is_unknown(complete) or isinstance(policy, Unknown):
            kept = after_apply(f"{lock.address}: lock") if kept is False else kept
        elif complete is True and policy is not None and any(
                s.effect == "Deny" and s.covers_action("glacier:DeleteArchive") for s in policy.statements):
            kept = True
    return {"enabled": kept, "locked": kept, "days": None}


__all__ = ["TYPES", "collect"]
