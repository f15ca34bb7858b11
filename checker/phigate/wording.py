"""Conditions and values in words, for messages people read: never an operator's name.

``requirement("in", [...], negated=False)`` reads "must be one of eu-west-3, eu-west-1, … and 30
more"; values are summarised (the first few, then "and N more"); ids are shown by their readable
part (``exemplum-notes`` for ``arn:aws:s3:::exemplum-notes``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from phigate.model import Observation

#: How many items of a list a message shows before "and N more".
SHOWN = 4

#: Per operator: what the value is (or is not) when the condition holds.
_PHRASES: dict[str, tuple[str, str]] = {
    "eq": ("be {v}", "not be {v}"),
    "ne": ("not be {v}", "be {v}"),
    "in": ("be one of {v}", "not be one of {v}"),
    "not_in": ("not be one of {v}", "be one of {v}"),
    "contains": ("contain {v}", "not contain {v}"),
    "not_contains": ("not contain {v}", "contain {v}"),
    "intersects": ("share a value with {v}", "share no value with {v}"),
    "subset_of": ("hold only values among {v}", "hold a value outside {v}"),
    "matches": ("match the pattern {v}", "not match the pattern {v}"),
    "not_matches": ("not match the pattern {v}", "match the pattern {v}"),
    "starts_with": ("start with {v}", "not start with {v}"),
    "ends_with": ("end with {v}", "not end with {v}"),
    "lt": ("be less than {v}", "be at least {v}"),
    "le": ("be at most {v}", "be more than {v}"),
    "gt": ("be more than {v}", "be at most {v}"),
    "ge": ("be at least {v}", "be less than {v}"),
    "len_eq": ("hold exactly {v} item(s)", "not hold exactly {v} item(s)"),
    "len_lt": ("hold fewer than {v} item(s)", "hold at least {v} item(s)"),
    "len_le": ("hold at most {v} item(s)", "hold more than {v} item(s)"),
    "len_gt": ("hold more than {v} item(s)", "hold at most {v} item(s)"),
    "len_ge": ("hold at least {v} item(s)", "hold fewer than {v} item(s)"),
}


def requirement(op: str, expected: Any, *, negated: bool = False) -> str:
    """What the condition asks of the value, as "must …"."""
    if op == "exists":
        present = bool(expected) != negated
        return "must be present" if present else "must be absent"
    positive, negative = _PHRASES.get(op, ("satisfy the policy", "not satisfy the policy"))
    return "must " + (negative if negated else positive).format(v=value(expected))


#: Per operator: the condition as a statement about a value.
_STATEMENTS: dict[str, str] = {
    "eq": "is {v}", "ne": "is not {v}", "in": "is one of {v}", "not_in": "is none of {v}",
    "contains": "contains {v}", "not_contains": "does not contain {v}",
    "intersects": "shares a value with {v}", "subset_of": "holds only values among {v}",
    "matches": "matches the pattern {v}", "not_matches": "does not match the pattern {v}",
    "starts_with": "starts with {v}", "ends_with": "ends with {v}",
    "lt": "is less than {v}", "le": "is at most {v}", "gt": "is more than {v}", "ge": "is at least {v}",
    "len_eq": "holds exactly {v} item(s)", "len_lt": "holds fewer than {v} item(s)",
    "len_le": "holds at most {v} item(s)", "len_gt": "holds more than {v} item(s)",
    "len_ge": "holds at least {v} item(s)",
}


def holds(op: str, expected: Any) -> str:
    """The condition as a statement about a value: "is clinical", "is one of a, b and c"."""
    if op == "exists":
        return "is present" if expected else "is absent"
    return _STATEMENTS.get(op, "satisfies the policy").format(v=value(expected))


def observation(o: Observation) -> str:
    """One piece of evidence in words: what was seen and what the policy asks of it."""
    path, op, expected, observed, outcome, note, against = (
        o.path, o.op, o.expected, o.observed, o.outcome, o.note, o.against)
    if op in ("some", "every"):
        return note + (f": {value(observed)}" if isinstance(observed, list) and observed else "")
    if op == "path":
        return f"reached through {'; '.join(str(p) for p in observed)}" if observed else note
    if op == "classified":
        return note
    if outcome == "error":
        return note or f"{path} was not seen"
    # An observation against compliance that held was required not to hold, and vice versa.
    negated = (outcome == "true") == against
    met = "" if against else " (as required)"
    return f"{path} is {value(observed)}; it {requirement(op, expected, negated=negated)}{met}"


def value(item: Any) -> str:
    """A value as a message shows it: text without quotes, lists summarised."""
    if isinstance(item, list | tuple):
        return items([value(v) for v in item])
    if isinstance(item, str):
        return readable(item)
    if item is None:
        return "null"
    return json.dumps(item, ensure_ascii=False, default=str)


def items(shown: Sequence[str], total: int | None = None) -> str:
    """``a, b, c, d and 12 more``."""
    total = len(shown) if total is None else total
    head = list(shown[:SHOWN])
    more = total - len(head)
    if not head:
        return "none"
    if more > 0:
        return f"{', '.join(head)} and {more} more"
    return head[0] if len(head) == 1 else f"{', '.join(head[:-1])} and {head[-1]}"


def readable(resource_id: str) -> str:
    """The readable part of an id: an ARN's resource (``role/etl``), a URL's last segments."""
    if resource_id.startswith("arn:"):
        parts = resource_id.split(":", 5)
        if len(parts) == 6 and parts[5]:
            return parts[5].removeprefix("table/") if parts[2] == "dynamodb" else parts[5]
    if resource_id.startswith("postgres://"):
        tail = resource_id.split("/", 3)[-1]
        return tail.replace("/", ".")
    if len(resource_id) > 120:
        return resource_id[:119] + "…"
    return resource_id


__all__ = ["SHOWN", "holds", "items", "observation", "readable", "requirement", "value"]
