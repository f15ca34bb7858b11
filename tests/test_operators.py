"""The closed operator table: each operator's truth table, operand checks and type mismatches."""

from __future__ import annotations

from typing import Any

import pytest

from phigate.operators import OPERATORS, Mismatch, OperandError

CASES: list[tuple[str, Any, Any, bool | None]] = [
    # op, operand, observed, expected result (None: the observed type cannot be judged)
    ("eq", True, True, True), ("eq", True, 1, False), ("eq", 1, 1.0, True), ("eq", None, None, True),
    ("eq", "a", "b", False), ("eq", [1, True], [1, True], True), ("eq", [1], [True], False),
    ("ne", "customer", "provider", True), ("ne", False, 0, True),
    ("in", ["a", "b"], "a", True), ("in", ["a"], "c", False), ("in", [1, 2], True, False),
    ("not_in", ["a"], "b", True), ("not_in", ["a"], "a", False), ("not_in", ["eu-west-3"], None, None),
    ("in", ["eu-west-3"], None, None), ("in", ["a", None], None, True),
    ("contains", "x", ["x", "y"], True), ("contains", "ab", "cabd", True), ("contains", 1, 3, None),
    ("not_contains", "x", ["y"], True),
    ("intersects", ["a", "b"], ["b", "c"], True), ("intersects", ["a"], [], False),
    ("intersects", ["a"], "a", None),
    ("subset_of", ["a", "b"], ["a"], True), ("subset_of", ["a"], ["a", "z"], False),
    ("exists", True, "v", True), ("exists", True, None, False), ("exists", False, None, True),
    ("matches", "^notes-", "notes-eu", True), ("matches", "^notes-", "labs", False),
    ("matches", "x", 3, None), ("not_matches", "^tmp", "notes", True),
    ("starts_with", "eu-", "eu-west-3", True), ("ends_with", "-3", "eu-west-1", False),
    ("starts_with", "eu-", None, None),
    ("lt", 5, 4, True), ("le", 5, 5, True), ("gt", 5, 5, False), ("ge", 5, 5.0, True),
    ("ge", 1, True, None), ("lt", 3, "2", None),
    ("len_eq", 0, [], True), ("len_lt", 2, "abc", False), ("len_le", 1, {"a": 1}, True),
    ("len_gt", 0, ["x"], True), ("len_ge", 2, ["x"], False), ("len_eq", 0, 5, None),
]


@pytest.mark.parametrize("op, operand, observed, expected", CASES)
def test_operator_truth_table(op: str, operand: Any, observed: Any, expected: bool | None) -> None:
    predicate = OPERATORS[op].build(operand)
    if expected is None:
        with pytest.raises(Mismatch):
            predicate(observed)
    else:
        assert predicate(observed) is expected


def test_every_operator_is_exercised() -> None:
    assert {case[0] for case in CASES} == set(OPERATORS)


@pytest.mark.parametrize("op, operand", [
    ("in", "a"), ("subset_of", 3), ("intersects", {"a": 1}), ("exists", "yes"), ("matches", "(["),
    ("matches", 3), ("starts_with", 1), ("lt", "3"), ("ge", True), ("len_eq", -1), ("len_gt", 1.5),
])
def test_bad_operands_are_refused_at_load(op: str, operand: Any) -> None:
    with pytest.raises(OperandError):
        OPERATORS[op].build(operand)
