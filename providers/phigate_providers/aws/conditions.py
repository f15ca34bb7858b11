"""Static evaluation of a policy statement's Condition block.

A Condition block is decided at request time by AWS; phigate sees no request, so
:func:`evaluate_conditions` decides what it can without one: the keys that depend only on who asks
(``aws:PrincipalArn``, ``aws:PrincipalAccount``, ``aws:PrincipalType``, ``aws:username``) are
decided for a known principal, ``aws:SecureTransport`` is the requester's choice, and everything
else is left undecided and reported, never guessed. Kept apart from parsing because access
analysis, trust and public grants all read conditions, each with its own question.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Any

from phigate_providers.aws.arn import glob_matches
from phigate_providers.aws.policydoc import Statement


class Outcome(Enum):
    """What a statement's conditions say for one requester."""

    APPLIES = "applies"  # every condition holds (or there is none)
    UNDECIDED = "undecided"  # some condition depends on the request and cannot be decided here
    NEVER = "never"  # some condition is false for this requester


@dataclass(frozen=True)
class Requester:
    """What is known of the principal making a request, to decide conditions on it.

    ``arn`` is the IAM ARN (``aws:PrincipalArn`` is the role's ARN for a role session);
    ``principal_type`` is ``User``, ``AssumedRole`` or None when it is neither (a group).
    """

    arn: str
    account: str
    principal_type: str | None
    username: str | None = None


@dataclass(frozen=True)
class ConditionVerdict:
    outcome: Outcome
    undecided_keys: tuple[str, ...] = ()


_STRING_OPERATORS = {
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
}
_ARN_OPERATORS = {"ArnEquals", "ArnNotEquals", "ArnLike", "ArnNotLike"}
_PRINCIPAL_KEYS = {"aws:principalarn", "aws:principalaccount", "aws:principaltype", "aws:username"}
_APPLIES = ConditionVerdict(Outcome.APPLIES)
_NEVER = ConditionVerdict(Outcome.NEVER)


def split_operator(operator: str) -> tuple[str, str, bool]:
    """``ForAnyValue:StringEqualsIfExists`` → (``ForAnyValue``, ``StringEquals``, True)."""
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    return qualifier, base.removesuffix("IfExists") if if_exists else base, if_exists


def depends_on_principal(conditions: Mapping[str, Mapping[str, Any]]) -> bool:
    """Some condition reads a key describing the requesting principal."""
    return any(key.lower() in _PRINCIPAL_KEYS for block in conditions.values() for key in block)


def evaluate_conditions(statement: Statement, requester: Requester | None) -> ConditionVerdict:
    """Decide the statement's conditions for ``requester`` as far as is possible statically.

    Conditions are ANDed: one false condition makes the statement NEVER apply. ``aws:SecureTransport``
    is chosen by the requester, so it holds for an Allow (a reader can use the transport asked for)
    and does not for a Deny (a reader can use the other one). Keys on the principal are decided when
    ``requester`` is given; every other key is undecided. ``requester=None`` leaves principal keys
    undecided.
    """
    if not statement.conditions:
        return _APPLIES
    undecided: list[str] = []
    for operator, block in statement.conditions.items():
        qualifier, base, if_exists = split_operator(operator)
        for key, operand in block.items():
            lowered = key.lower()
            if lowered == "aws:securetransport" and base == "Bool" and not qualifier:
                if statement.effect == "Deny":
                    return _NEVER
                continue
            decided = None
            if requester is not None and lowered in _PRINCIPAL_KEYS and not qualifier:
                decided = _principal_condition(
                    base, if_exists, lowered, operand if isinstance(operand, list) else [operand], requester
                )
            if decided is False:
                return _NEVER
            if decided is None:
                undecided.append(key)
    if undecided:
        return ConditionVerdict(Outcome.UNDECIDED, tuple(sorted(set(undecided))))
    return _APPLIES


def _principal_condition(
    base: str, if_exists: bool, key: str, values: Sequence[Any], requester: Requester
) -> bool | None:
    """True / False for a decided condition on the principal, None when it cannot be decided."""
    if base not in _STRING_OPERATORS and base not in _ARN_OPERATORS:
        return None
    actual = {
        "aws:principalarn": requester.arn,
        "aws:principalaccount": requester.account,
        "aws:principaltype": requester.principal_type,
        "aws:username": requester.username,
    }[key]
    negated = "Not" in base
    if actual is None:  # the key is absent from the request
        return if_exists or negated
    patterns = [str(v) for v in values]
    if "${" in "".join(patterns):
        return None  # policy variables in the value: not resolved here
    if base in _ARN_OPERATORS:  # ArnEquals and ArnLike both take wildcards, part by part
        found = any(_arn_like(p, actual) for p in patterns)
    elif base.endswith("IgnoreCase"):
        found = any(p.casefold() == actual.casefold() for p in patterns)
    elif "Like" in base:
        found = any(glob_matches(p, actual) for p in patterns)
    else:
        found = actual in patterns
    return not found if negated else found


def _arn_like(pattern: str, arn: str) -> bool:
    """ArnLike / ArnEquals: each of the six colon-separated parts is matched on its own."""
    pattern_parts = pattern.split(":", 5)
    arn_parts = arn.split(":", 5)
    if len(pattern_parts) != 6 or len(arn_parts) != 6:
        return False
    return all(glob_matches(p, a) for p, a in zip(pattern_parts, arn_parts, strict=True))


__all__ = [
    "ConditionVerdict",
    "Outcome",
    "Requester",
    "depends_on_principal",
    "evaluate_conditions",
    "split_operator",
]
