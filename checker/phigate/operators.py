"""The closed table of comparison operators a policy leaf may use.

Each operator checks its operand once, when the policy loads (a regex compiles, ``in`` gets a
list …), and returns a predicate on the observed value. A predicate raises :class:`Mismatch`
when the observed value has a type the operator cannot judge: the leaf is then ``error``,
never ``pass``. Booleans are never numbers here (``true`` does not equal ``1``).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Predicate = Callable[[Any], bool]


class Mismatch(Exception):
    """The observed value's type does not fit the operator."""


class OperandError(ValueError):
    """The operand given in the policy does not fit the operator."""


@dataclass(frozen=True, slots=True)
class Operator:
    name: str
    operand: str  # what the policy must give, for messages and the schema's documentation
    summary: str
    build: Callable[[Any], Predicate]


def _is_number(value: Any) -> bool:
    return type(value) in (int, float)


def _same(observed: Any, expected: Any) -> bool:
    """JSON equality: booleans only equal booleans, numbers compare by value."""
    if type(observed) is bool or type(expected) is bool:
        return type(observed) is type(expected) and observed == expected
    if isinstance(observed, list) and isinstance(expected, list):
        return len(observed) == len(expected) and all(map(_same, observed, expected))
    if isinstance(observed, dict) and isinstance(expected, dict):
        return observed.keys() == expected.keys() and all(_same(observed[k], expected[k]) for k in observed)
    return bool(observed == expected)


def _eq(expected: Any) -> Predicate:
    if expected is None:
        return lambda v: v is None
    if type(expected) is bool:
        return lambda v: v is expected
    if type(expected) is str:
        return lambda v: v == expected
    return lambda v: _same(v, expected)


def _ne(expected: Any) -> Predicate:
    if expected is None or type(expected) is bool:
        return lambda v: v is not expected
    if type(expected) is str:
        return lambda v: v != expected
    same = _eq(expected)
    return lambda v: not same(v)


def _need_list(expected: Any) -> list[Any]:
    if not isinstance(expected, list):
        raise OperandError("needs a list")
    return expected


def _in(expected: Any) -> Predicate:
    options = _need_list(expected)
    if all(type(o) is str for o in options):
        fast = frozenset(options)

        def member(v: Any) -> bool:
            if type(v) is str:
                return v in fast
            if v is None:  # null is neither in nor out of a list of names: undecidable
                raise Mismatch("null is not comparable with a list of strings")
            return False
        return member
    return lambda v: any(_same(v, o) for o in options)


def _not_in(expected: Any) -> Predicate:
    member = _in(expected)
    return lambda v: not member(v)


def _contains(expected: Any) -> Predicate:
    def check(v: Any) -> bool:
        if isinstance(v, list):
            return any(_same(item, expected) for item in v)
        if isinstance(v, str) and isinstance(expected, str):
            return expected in v
        raise Mismatch("contains needs a list or a string")
    return check


def _not_contains(expected: Any) -> Predicate:
    contains = _contains(expected)
    return lambda v: not contains(v)


def _list_of(v: Any) -> list[Any]:
    if not isinstance(v, list):
        raise Mismatch("needs a list")
    return v


def _intersects(expected: Any) -> Predicate:
    options = _need_list(expected)
    if all(type(o) is str for o in options):
        fast = frozenset(options)
        return lambda v: any(type(item) is str and item in fast for item in _list_of(v))
    return lambda v: any(_same(item, o) for item in _list_of(v) for o in options)


def _subset_of(expected: Any) -> Predicate:
    options = _need_list(expected)
    if all(type(o) is str for o in options):
        fast = frozenset(options)
        return lambda v: all(type(item) is str and item in fast for item in _list_of(v))
    return lambda v: all(any(_same(item, o) for o in options) for item in _list_of(v))


def _exists(expected: Any) -> Predicate:
    # The evaluator handles absence itself; here the value is present (None means null).
    if type(expected) is not bool:
        raise OperandError("needs true or false")
    return lambda v: (v is not None) is expected


def _regex(expected: Any) -> re.Pattern[str]:
    if not isinstance(expected, str):
        raise OperandError("needs a regular expression string")
    try:
        return re.compile(expected)
    except re.error as exc:
        raise OperandError(f"regular expression does not compile: {exc}") from exc


def _text(v: Any) -> str:
    if not isinstance(v, str):
        raise Mismatch("needs a string")
    return v


def _matches(expected: Any) -> Predicate:
    search = _regex(expected).search
    return lambda v: search(_text(v)) is not None


def _not_matches(expected: Any) -> Predicate:
    search = _regex(expected).search
    return lambda v: search(_text(v)) is None


def _affix(method: str) -> Callable[[Any], Predicate]:
    def build(expected: Any) -> Predicate:
        if not isinstance(expected, str):
            raise OperandError("needs a string")
        return lambda v: bool(getattr(_text(v), method)(expected))
    return build


def _number(expected: Any) -> float:
    if not _is_number(expected):
        raise OperandError("needs a number")
    return float(expected)


def _observed_number(v: Any) -> float:
    if not _is_number(v):
        raise Mismatch("needs a number")
    return float(v)


def _compare(test: Callable[[float, float], bool]) -> Callable[[Any], Predicate]:
    def build(expected: Any) -> Predicate:
        bound = _number(expected)
        return lambda v: test(_observed_number(v), bound)
    return build


def _length(test: Callable[[float, float], bool]) -> Callable[[Any], Predicate]:
    def build(expected: Any) -> Predicate:
        if type(expected) is not int or expected < 0:
            raise OperandError("needs a whole number ≥ 0")

        def check(v: Any) -> bool:
            if not isinstance(v, list | str | dict):
                raise Mismatch("length needs a list, a string or a mapping")
            return test(len(v), expected)
        return check
    return build


_TABLE = (
    Operator("eq", "any value", "equals (booleans never equal numbers)", _eq),
    Operator("ne", "any value", "does not equal", _ne),
    Operator("in", "list", "is one of", _in),
    Operator("not_in", "list", "is none of", _not_in),
    Operator("contains", "any value", "list holds the value, or string holds the substring", _contains),
    Operator("not_contains", "any value", "negation of contains", _not_contains),
    Operator("intersects", "list", "list shares at least one element with the operand", _intersects),
    Operator("subset_of", "list", "every element of the list is in the operand", _subset_of),
    Operator("exists", "boolean",
             "the attribute is present and not null (true) or absent/null (false)", _exists),
    Operator("matches", "regex", "string matches the regular expression (search)", _matches),
    Operator("not_matches", "regex", "string does not match the regular expression", _not_matches),
    Operator("starts_with", "string", "string starts with", _affix("startswith")),
    Operator("ends_with", "string", "string ends with", _affix("endswith")),
    Operator("lt", "number", "number is less than", _compare(lambda a, b: a < b)),
    Operator("le", "number", "number is at most", _compare(lambda a, b: a <= b)),
    Operator("gt", "number", "number is greater than", _compare(lambda a, b: a > b)),
    Operator("ge", "number", "number is at least", _compare(lambda a, b: a >= b)),
    Operator("len_eq", "whole number", "length equals", _length(lambda a, b: a == b)),
    Operator("len_lt", "whole number", "length is less than", _length(lambda a, b: a < b)),
    Operator("len_le", "whole number", "length is at most", _length(lambda a, b: a <= b)),
    Operator("len_gt", "whole number", "length is greater than", _length(lambda a, b: a > b)),
    Operator("len_ge", "whole number", "length is at least", _length(lambda a, b: a >= b)),
)

#: The operator table, by name. The policy schema's ``op`` enum must list exactly these.
OPERATORS: dict[str, Operator] = {op.name: op for op in _TABLE}
