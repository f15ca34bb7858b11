"""Conditions on MFA decided for the way a request is signed, as AWS's IAM User Guide documents
``aws:MultiFactorAuthPresent`` and ``aws:MultiFactorAuthAge``: absent from requests signed with
long-lived keys, ``false`` for temporary credentials obtained without MFA, ``true`` with it."""

from __future__ import annotations

from typing import Any

import pytest

from phigate_providers.aws.conditions import Mfa, Outcome, Requester, evaluate_conditions
from phigate_providers.aws.policydoc import Statement

KEYS, WITHOUT, WITH = Mfa.LONG_TERM, Mfa.WITHOUT, Mfa.WITH
PRESENT = "aws:MultiFactorAuthPresent"


def _holds(operator: str, value: Any, mfa: Mfa | None, key: str = PRESENT) -> Outcome:
    statement = Statement(effect="Deny", actions=("s3:GetObject",), resources=("*",),
                          conditions={operator: {key: value}})
    requester = Requester("arn:aws:iam::111122223333:user/u", "111122223333", "User", "u", mfa)
    return evaluate_conditions(statement, requester).outcome


A, N, U = Outcome.APPLIES, Outcome.NEVER, Outcome.UNDECIDED


@pytest.mark.parametrize(("operator", "value", "expected"), [
    # (long-lived keys, a session without MFA, a session with MFA)
    ("BoolIfExists", "false", (A, A, N)),
    ("BoolIfExists", "False", (A, A, N)),
    ("BoolIfExists", False, (A, A, N)),
    ("Bool", "false", (N, A, N)),
    ("Bool", "true", (N, N, A)),
    ("BoolIfExists", "true", (A, N, A)),
    ("Null", "true", (A, N, N)),
    ("Null", "false", (N, A, A)),
    ("StringEquals", "false", (N, A, N)),
    ("StringEqualsIfExists", "false", (A, A, N)),
    ("StringNotEquals", "true", (A, A, N)),
    ("StringEqualsIgnoreCase", "FALSE", (N, A, N)),
    ("StringLike", "f*", (N, A, N)),
    ("ForAnyValue:StringEquals", "false", (N, A, N)),
    ("ForAnyValue:StringEqualsIfExists", "false", (A, A, N)),
    ("ForAllValues:StringEquals", "false", (A, A, N)),
    ("ForAnyValue:StringNotEquals", "true", (N, A, N)),
    ("Bool", "yes", (N, U, U)),  # not a boolean: only the absent key is decided
    ("NumericLessThan", "1", (N, U, U)),
])
def test_operators_on_mfa_present(operator: str, value: Any, expected: tuple[Outcome, ...]) -> None:
    assert tuple(_holds(operator, value, way) for way in (KEYS, WITHOUT, WITH)) == expected


def test_the_age_of_mfa_is_absent_without_it_and_unknown_with_it() -> None:
    age = "aws:MultiFactorAuthAge"
    assert [_holds("NumericLessThan", "3600", w, age) for w in (KEYS, WITHOUT, WITH)] == [N, N, U]
    assert [_holds("NumericGreaterThanIfExists", "3600", w, age) for w in (KEYS, WITHOUT)] == [A, A]
    assert [_holds("Null", "true", w, age) for w in (KEYS, WITHOUT, WITH)] == [A, A, N]


def test_without_a_way_of_signing_the_condition_stays_undecided() -> None:
    assert _holds("BoolIfExists", "false", None) is U
