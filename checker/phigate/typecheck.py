"""Checks of a policy's operands and message against the kinds' schemas, made when it loads."""

from __future__ import annotations

import json
import re
from typing import Any

#: Operators whose operand is compared with the value itself, or with each of its candidates.
_SAME_TYPE = frozenset({"eq", "ne"})
_EACH_OF = frozenset({"in", "not_in"})
_JSON_TYPES: dict[type, str] = {bool: "boolean", int: "integer", float: "number", str: "string",
                                list: "array", dict: "object", type(None): "null"}


#: ``{name}`` in a policy's message.
PLACEHOLDER = re.compile(r"\{([A-Za-z_][\w.]*)\}")


def type_mismatch(op: str, expected: Any, nodes: tuple[dict[str, Any], ...]) -> str | None:
    """Words for an operand that can never equal what the path holds (``"true"`` against a
    boolean): such a condition silently always fails or always passes, so it is refused."""
    if op not in _SAME_TYPE | _EACH_OF or not nodes:
        return None
    declared: set[str] = set()
    for node in nodes:
        kinds = node.get("type")
        if kinds is None:
            return None  # untyped (raw, tags' values): anything may be there
        declared.update([kinds] if isinstance(kinds, str) else kinds)
    if "number" in declared:
        declared.add("integer")
    candidates = expected if op in _EACH_OF and isinstance(expected, list) else [expected]
    for value in candidates:
        kind = _JSON_TYPES.get(type(value))
        if kind is None or kind == "null" or kind in declared:
            continue
        if kind == "integer" and "number" in declared:
            continue
        wanted = " or ".join(sorted(declared - {"null"})) or "null"
        return (f"{json.dumps(value)} is a {kind}, but the attribute holds a {wanted}: "
                "the comparison could never hold" + (" (write true or false, without quotes)"
                                                     if "boolean" in declared and kind == "string" else ""))
    return None


__all__ = ["PLACEHOLDER", "type_mismatch"]
