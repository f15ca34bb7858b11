"""What a resource policy (an S3 bucket policy, a DynamoDB resource policy) exposes on its own.

Two questions answered from the document alone, without knowing any identity: does it grant
something to everyone (:func:`public_grants`), and does it refuse plain HTTP
(:func:`denies_insecure_transport`). Effective access of known identities, which needs every
policy at once, is :mod:`~phigate_providers.aws.access`'s job.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from phigate_providers.aws.arn import glob_contains, globs_intersect, has_wildcard
from phigate_providers.aws.conditions import split_operator
from phigate_providers.aws.policydoc import PolicyDocument, Statement

#: Condition keys that, with a fixed value, narrow a grant to known requesters (after S3's own
#: definition of a non-public policy, plus the organisation keys).
_RESTRICTING_KEYS = frozenset(
    {
        "aws:sourcearn",
        "aws:sourceaccount",
        "aws:sourceowner",
        "aws:sourcevpc",
        "aws:sourcevpce",
        "aws:sourceip",
        "aws:principalorgid",
        "aws:principalorgpaths",
        "aws:principalaccount",
        "aws:principalarn",
        "aws:sourceorgid",
        "aws:sourceorgpaths",
        "aws:userid",
        "s3:x-amz-server-side-encryption-aws-kms-key-id",
        "s3:dataaccesspointaccount",
        "s3:dataaccesspointarn",
    }
)
_POSITIVE_OPERATORS = frozenset(
    {"StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike", "IpAddress"}
)


def public_grants(resource_policy: PolicyDocument | None) -> tuple[str, ...]:
    """Grants to everyone in a resource policy: ``('*',)`` when some Allow names ``*`` (or
    ``{'AWS': '*'}``, or uses NotPrincipal) without a condition restricting it to known
    requesters (a fixed aws:SourceArn, aws:SourceAccount, aws:PrincipalOrgID, aws:SourceVpce, a
    narrow aws:SourceIp …); ``()`` otherwise."""
    if resource_policy is None:
        return ()
    for statement in resource_policy.statements:
        if statement.effect != "Allow":
            continue
        if not (statement.names_everyone() or statement.not_principals is not None):
            continue
        if not _restricts_requesters(statement.conditions):
            return ("*",)
    return ()


def _restricts_requesters(conditions: Mapping[str, Mapping[str, Any]]) -> bool:
    for operator, block in conditions.items():
        qualifier, base, if_exists = split_operator(operator)
        if if_exists or qualifier == "ForAllValues" or base not in _POSITIVE_OPERATORS:
            continue
        for key, operand in block.items():
            lowered = key.lower()
            if lowered not in _RESTRICTING_KEYS:
                continue
            values = [str(v) for v in (operand if isinstance(operand, list) else [operand])]
            if not values:
                continue
            if lowered == "aws:sourceip":
                if base == "IpAddress" and all(_narrow_cidr(v) for v in values):
                    return True
            elif base != "IpAddress" and not any(has_wildcard(v) for v in values):
                if lowered == "aws:userid" and any(v.endswith(":*") for v in values):
                    continue
                return True
    return False


def _narrow_cidr(cidr: str) -> bool:
    """An IP range narrower than the whole internet: at least /8 (IPv4) or /32 (IPv6)."""
    address, _, length = cidr.partition("/")
    if not length:
        return True
    try:
        bits = int(length)
    except ValueError:
        return False
    return bits >= (32 if ":" in address else 8)


def denies_insecure_transport(resource_policy: PolicyDocument | None, bucket: str) -> bool:
    """The bucket policy refuses requests without TLS: some Deny for every principal
    (``*`` or ``{'AWS': '*'}``) of at least s3:GetObject and s3:PutObject, on the bucket ARN and
    all its objects, whose only condition is ``Bool``/``BoolIfExists`` ``aws:SecureTransport`` =
    false (the string ``'false'`` or JSON false). ``bucket`` is the bucket's name."""
    if resource_policy is None:
        return False
    bucket_arn = f"arn:aws:s3:::{bucket}"
    objects = f"{bucket_arn}/*"
    for statement in resource_policy.statements:
        if statement.effect != "Deny" or not statement.names_everyone():
            continue
        if not (statement.covers_action("s3:GetObject") and statement.covers_action("s3:PutObject")):
            continue
        if not _only_insecure_transport(statement.conditions):
            continue
        if _resources_cover(statement, bucket_arn) and _resources_cover(statement, objects):
            return True
    return False


def _only_insecure_transport(conditions: Mapping[str, Mapping[str, Any]]) -> bool:
    if len(conditions) != 1:
        return False
    ((operator, block),) = conditions.items()
    if operator not in ("Bool", "BoolIfExists") or len(block) != 1:
        return False
    ((key, operand),) = block.items()
    values = operand if isinstance(operand, list) else [operand]
    return (
        key.lower() == "aws:securetransport"
        and bool(values)
        and all(v is False or (isinstance(v, str) and v.lower() == "false") for v in values)
    )


def _resources_cover(statement: Statement, arn: str) -> bool:
    if statement.resources is not None:
        return any(glob_contains(p, arn) for p in statement.resources)
    if statement.not_resources is not None:
        return not any(globs_intersect(p, arn) for p in statement.not_resources)
    return True  # no resource element in a bucket policy: the bucket itself


__all__ = ["denies_insecure_transport", "public_grants"]
