"""Static evaluation of a policy statement's Condition block.

A Condition block is decided at request time by AWS; phigate sees no request, so
:func:`evaluate_conditions` decides what it can without one: the keys that depend only on who asks
(``aws:PrincipalArn``, ``aws:PrincipalAccount``, ``aws:PrincipalType``, ``aws:username``) are
decided for a known principal, ``aws:SecureTransport`` is the requester's choice, the MFA keys
(``aws:MultiFactorAuthPresent``, ``aws:MultiFactorAuthAge``) are decided for the kind of
credentials a request is signed with when the caller names it (:class:`Mfa`), and everything else
is left undecided and reported, never guessed. Kept apart from parsing because access
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


class Mfa(Enum):
    """How a request is signed, as the MFA condition keys see it.

    AWS's IAM User Guide (global condition keys, ``aws:MultiFactorAuthPresent``): the key is in
    the request context only for temporary credentials (a console session, a role session,
    ``sts:GetSessionToken``), ``true`` when MFA validated them and ``false`` otherwise; it is
    never present on a request signed with long-term credentials (an IAM user's access keys).
    ``aws:MultiFactorAuthAge`` is present only when MFA was used.
    """

    LONG_TERM = "signed with long-term access keys"  # the keys absent
    WITHOUT = "temporary credentials obtained without MFA"  # present, false
    WITH = "temporary credentials obtained with MFA"  # present, true


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
    #: How the request is signed; None when not known (the MFA keys then stay undecided).
    mfa: Mfa | None = None


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
_MFA_PRESENT = "aws:multifactorauthpresent"
_MFA_AGE = "aws:multifactorauthage"
MFA_KEYS = frozenset({_MFA_PRESENT, _MFA_AGE})
#: Keys decided per requester: a statement reading one is evaluated for each identity.
_REQUESTER_KEYS = _PRINCIPAL_KEYS | MFA_KEYS
_UNKNOWN = object()  # a key present in the request with a value not known statically
_APPLIES = ConditionVerdict(Outcome.APPLIES)
_NEVER = ConditionVerdict(Outcome.NEVER)


def split_operator(operator: str) -> tuple[str, str, bool]:
    """``ForAnyValue:StringEqualsIfExists`` → (``ForAnyValue``, ``StringEquals``, True)."""
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    return qualifier, base.removesuffix("IfExists") if if_exists else base, if_exists


def depends_on_principal(conditions: Mapping[str, Mapping[str, Any]]) -> bool:
    """Some condition reads a key describing the requesting principal or its credentials."""
    return any(key.lower() in _REQUESTER_KEYS for block in conditions.values() for key in block)


def reads_mfa(conditions: Mapping[str, Mapping[str, Any]]) -> bool:
    """Some condition reads whether (or how long ago) MFA was used."""
    return any(key.lower() in MFA_KEYS for block in conditions.values() for key in block)


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
            values = operand if isinstance(operand, list) else [operand]
            if requester is not None and lowered in _PRINCIPAL_KEYS and not qualifier:
                decided = _principal_condition(base, if_exists, lowered, values, requester)
            elif requester is not None and requester.mfa is not None and lowered in MFA_KEYS:
                decided = _mfa_condition(operator, lowered, values, requester.mfa)
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


def _mfa_condition(operator: str, key: str, values: Sequence[Any], mfa: Mfa) -> bool | None:
    """True / False for a condition on an MFA key for requests signed ``mfa``, None when it
    cannot be decided (a numeric age, an operator that does not apply to these keys).

    As AWS documents condition evaluation: ``Null`` tests presence (``true``: the key is absent);
    a key absent from the request matches nothing, except under ``…IfExists`` (which then
    holds), a negated operator, or ``ForAllValues:`` (vacuously true over no values); a
    single-valued key present is one value for ``ForAnyValue:`` and ``ForAllValues:`` alike.
    ``Bool`` reads ``true`` / ``false`` whatever their case, and JSON booleans.
    """
    qualifier, base, if_exists = split_operator(operator)
    actual: Any
    if key == _MFA_PRESENT:
        actual = {Mfa.LONG_TERM: None, Mfa.WITHOUT: "false", Mfa.WITH: "true"}[mfa]
    else:  # the age: present only after MFA, its value depends on when the request is made
        actual = _UNKNOWN if mfa is Mfa.WITH else None
    if base == "Null":
        wanted = [_boolean(v) for v in values]
        if qualifier or if_exists or None in wanted:
            return None
        return (actual is None) in wanted
    if actual is None:
        if qualifier == "ForAllValues":
            return True
        return if_exists or ("Not" in base and qualifier != "ForAnyValue")
    if actual is _UNKNOWN:
        return None
    return _compare(base, actual, values)


def _compare(base: str, actual: str, values: Sequence[Any]) -> bool | None:
    """A ``Bool`` or string operator on a value present in the request; None for others."""
    if base == "Bool":
        booleans = [_boolean(v) for v in values]
        return None if None in booleans else (actual == "true") in booleans
    if base not in _STRING_OPERATORS:
        return None
    patterns = [v if isinstance(v, str) else str(v).lower() for v in values]
    if base.endswith("IgnoreCase"):
        found = any(p.casefold() == actual for p in patterns)
    elif "Like" in base:
        found = any(glob_matches(p, actual) for p in patterns)
    else:
        found = actual in patterns
    return not found if "Not" in base else found


def _boolean(value: Any) -> bool | None:
    """A condition value read as a boolean (``true``, ``"false"``, ``"False"``); None otherwise."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    return True if text == "true" else False if text == "false" else None


def _arn_like(pattern: str, arn: str) -> bool:
    """ArnLike / ArnEquals: each of the six colon-separated parts is matched on its own."""
    pattern_parts = pattern.split(":", 5)
    arn_parts = arn.split(":", 5)
    if len(pattern_parts) != 6 or len(arn_parts) != 6:
        return False
    return all(glob_matches(p, a) for p, a in zip(pattern_parts, arn_parts, strict=True))


__all__ = [
    "MFA_KEYS",
    "ConditionVerdict",
    "Mfa",
    "Outcome",
    "Requester",
    "depends_on_principal",
    "evaluate_conditions",
    "reads_mfa",
    "split_operator",
]
