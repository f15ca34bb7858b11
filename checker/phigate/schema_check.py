"""Yes-or-no schema checks for the hot path: phigate's own record schemas compiled into closures.

A snapshot of a million resources is checked record by record. fastjsonschema's generated code
copies every object's keys into a set and removes them one by one; for the small part of JSON
Schema phigate's schemas use, closures that look up each present key once answer the same
question in about half the time. A schema using anything else is refused here
(:class:`Unsupported`), so a new keyword in a bundled schema fails every test at once rather
than passing unchecked. The answers follow fastjsonschema's (``tests/test_schema_check.py``
compares them on generated records); messages for an invalid record still come from jsonschema.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

Check = Callable[[Any], bool]
#: A compiled schema: the exact types it accepts without looking further, and the full check.
Node = tuple[frozenset[type], Check]

#: Keywords that say nothing about validity.
_ANNOTATIONS = frozenset({"$schema", "$id", "$comment", "title", "description", "examples",
                          "default", "x-phigate-ref", "x-phigate-inverse"})
_SUPPORTED = _ANNOTATIONS | {"type", "properties", "required", "additionalProperties", "items",
                             "enum", "const", "minLength", "minimum", "pattern"}
_CLASSES: dict[str, tuple[type, ...]] = {
    "object": (dict,), "array": (list, tuple), "string": (str,), "boolean": (bool,),
    "null": (type(None),), "integer": (int,), "number": (int, float, Decimal)}
#: An unescaped ``$``: fastjsonschema reads it as the very end of the text (``\\Z``).
_DOLLAR = re.compile(r"(?<!\\)\$")


class Unsupported(ValueError):
    """The schema uses something these checks do not implement."""


def compile_check(schema: Mapping[str, Any]) -> Check:
    """A function telling whether a value meets ``schema``; raises :class:`Unsupported`."""
    return _node(schema)[1]


def _node(schema: Any) -> Node:
    if schema is True:
        return frozenset(_EVERY_TYPE), _accept
    if not isinstance(schema, Mapping):
        raise Unsupported(f"schema {schema!r}")
    unknown = set(schema) - _SUPPORTED
    if unknown:
        raise Unsupported(", ".join(sorted(unknown)))
    names = schema.get("type")
    keywords = set(schema) - _ANNOTATIONS
    typed = _typed(schema, names, keywords)
    if typed is not None:
        return typed
    tests = _tests(schema, names, keywords)  # first: it refuses what it does not know
    return _quick(schema, names), _all(tests)


def _typed(schema: Mapping[str, Any], names: Any, keywords: set[str]) -> Node | None:
    """The usual nodes (objects, lists, non-empty strings) as one call that checks its own type."""
    if names == "object" and keywords <= {"type", *_OBJECT_KEYWORDS}:
        return frozenset(), _object(schema, typed=True)
    if names == "array" and keywords == {"type", "items"}:
        return frozenset(), _items(schema["items"], typed=True)
    if names == "string" and keywords == {"type", "minLength"}:  # ids, providers
        limit = _length(schema["minLength"])
        return frozenset(), lambda value: isinstance(value, str) and len(value) >= limit
    return None


def _tests(schema: Mapping[str, Any], names: Any, keywords: set[str]) -> list[Check]:
    tests: list[Check] = []
    if names is not None:
        tests.append(_type_test([names] if isinstance(names, str) else list(names)))
    if "enum" in schema:
        tests.append(_one_of(list(schema["enum"])))
    if "const" in schema:
        tests.append(_one_of([schema["const"]]))
    if "minLength" in schema:
        tests.append(_min_length(schema["minLength"]))
    if "pattern" in schema:
        tests.append(_pattern(schema["pattern"]))
    if "minimum" in schema:
        tests.append(_minimum(schema["minimum"]))
    if "items" in schema:
        tests.append(_items(schema["items"], typed=False))
    if keywords & _OBJECT_KEYWORDS:
        tests.append(_object(schema, typed=False))
    return tests


_OBJECT_KEYWORDS = frozenset({"properties", "required", "additionalProperties"})
#: Every type a parsed document holds.
_EVERY_TYPE = (dict, list, str, bool, int, float, type(None))


def _accept(value: Any) -> bool:
    return True


def _quick(schema: Mapping[str, Any], names: Any) -> frozenset[type]:
    """The exact types a schema that only names types accepts outright (a float is never
    outright an integer, nor a bool a number: they take the full check)."""
    keywords = set(schema) - _ANNOTATIONS
    if keywords == {"enum"} and None in schema["enum"]:
        return frozenset({type(None)})  # a null data class, a null key manager
    if keywords - {"type"}:
        return frozenset()
    if names is None:
        return frozenset(_EVERY_TYPE)
    listed = [names] if isinstance(names, str) else list(names)
    exact = {"object": dict, "array": list, "string": str, "boolean": bool,
             "null": type(None), "integer": int, "number": int}
    found = {exact[n] for n in listed}
    if "number" in listed:
        found.add(float)
    return frozenset(found)


def _all(tests: list[Check]) -> Check:
    if not tests:
        return _accept
    if len(tests) == 1:
        return tests[0]

    def every(value: Any) -> bool:
        for test in tests:  # noqa: SIM110 - a plain loop: no generator made per value
            if not test(value):
                return False
        return True
    return every


def _type_test(names: list[Any]) -> Check:
    if not names or any(n not in _CLASSES for n in names):
        raise Unsupported(f"type {names!r}")
    numeric = "integer" in names or "number" in names
    if numeric and "boolean" in names:
        raise Unsupported("a type list of boolean and a number")  # fastjsonschema refuses both
    classes = tuple(c for n in names for c in _CLASSES[n])
    whole_floats = "integer" in names and "number" not in names

    def of_type(value: Any) -> bool:
        ok = isinstance(value, classes) or (
            whole_floats and isinstance(value, float) and value.is_integer())
        return ok and not (numeric and isinstance(value, bool))
    return of_type


def _matches(expected: Any) -> Check:
    """Equality as fastjsonschema has it: a bool is only itself, never 1 or 0."""
    if expected is None:
        return lambda value: value is None
    if isinstance(expected, bool):
        return lambda value: value is expected
    if isinstance(expected, str):
        return lambda value: isinstance(value, str) and value == expected
    raise Unsupported(f"enum or const value {expected!r}")


def _one_of(allowed: list[Any]) -> Check:
    if all(isinstance(a, str) or a is None for a in allowed):  # the usual enum, one lookup
        texts = frozenset(a for a in allowed if a is not None)
        nullable = None in allowed
        return lambda value: (value is None and nullable) or (
            isinstance(value, str) and value in texts)
    tests = [_matches(a) for a in allowed]
    return lambda value: any(test(value) for test in tests)


def _length(limit: Any) -> int:
    if not isinstance(limit, int) or isinstance(limit, bool):
        raise Unsupported(f"minLength {limit!r}")
    return limit


def _min_length(limit: Any) -> Check:
    least = _length(limit)
    return lambda value: not isinstance(value, str) or len(value) >= least


def _pattern(pattern: Any) -> Check:
    if not isinstance(pattern, str):
        raise Unsupported(f"pattern {pattern!r}")
    search = re.compile(_DOLLAR.sub(r"\\Z", pattern)).search
    return lambda value: not isinstance(value, str) or search(value) is not None


def _minimum(limit: Any) -> Check:
    if not isinstance(limit, int | float) or isinstance(limit, bool):
        raise Unsupported(f"minimum {limit!r}")

    def at_least(value: Any) -> bool:
        if isinstance(value, int | float | Decimal) and not isinstance(value, bool):
            return not value < limit  # as fastjsonschema words it: NaN is not below
        return True
    return at_least


def _items(schema: Any, *, typed: bool) -> Check:
    """``items`` (and, when ``typed``, ``type: array``): every element meets ``schema``."""
    quick, check = _node(schema)

    def each(value: Any) -> bool:
        if type(value) is not list and not isinstance(value, list | tuple):
            return not typed
        for item in value:  # noqa: SIM110 - a plain loop: no generator made per list
            if type(item) not in quick and not check(item):
                return False
        return True
    return each


def _object(schema: Mapping[str, Any], *, typed: bool) -> Check:
    """``properties``, ``required``, ``additionalProperties`` (and, when ``typed``,
    ``type: object``): one dictionary lookup for each key present."""
    properties = schema.get("properties", {})
    required = schema.get("required", [])
    if not isinstance(properties, Mapping) or not isinstance(required, list):
        raise Unsupported("properties or required")
    nodes = {name: _node(sub) for name, sub in properties.items()}
    #: Per property: the exact types accepted outright (maybe none), then the full check.
    quick = {name: node[0] for name, node in nodes.items()}
    full = {name: node[1] for name, node in nodes.items()}
    needed = frozenset(required)
    extra = schema.get("additionalProperties", True)
    closed, open_any = extra is False, extra is True
    extra_quick, extra_check = (frozenset(), _accept) if closed else _node(extra)

    def fits(value: Any) -> bool:
        if type(value) is not dict and not isinstance(value, dict):
            return not typed
        if needed and not value.keys() >= needed:
            return False
        for key, item in value.items():
            accepted = quick.get(key)
            if accepted is None:  # not a declared property
                if closed or not (open_any or type(item) in extra_quick or extra_check(item)):
                    return False
            elif type(item) not in accepted and not full[key](item):
                return False
        return True
    return fits


__all__ = ["Check", "Unsupported", "compile_check"]
