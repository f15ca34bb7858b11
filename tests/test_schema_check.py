"""The snapshot reader's schema checks answer as fastjsonschema does, record for record.

Records are drawn from each kind's own schema (so most are valid), then broken now and then: a
value swapped for another JSON value, a key dropped or added. Both checks must accept and
refuse the same ones.
"""

from __future__ import annotations

import copy
import math
from typing import Any

import fastjsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phigate.api import KINDS
from phigate.schema_check import Unsupported, compile_check
from phigate.schema_files import document_schema, kind_schema
from phigate.snapshot import RecordValidator


def record_schema(kind: str) -> dict[str, Any]:
    """The envelope with the kind's attributes, as the snapshot reader checks a record."""
    schema = copy.deepcopy(document_schema("resource"))
    schema["properties"]["kind"] = {"const": kind}
    schema["properties"]["type"] = {"type": "string"}
    schema["properties"]["attributes"] = kind_schema(kind)
    return schema


SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-3, 3), st.sampled_from([1.0, 0.5, -1.0]),
                    st.sampled_from(["", "clinical", "customer", "0123456789abcdef", "x" * 3]))
ANY_JSON = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.sampled_from(["a", "id", "key"]), inner, max_size=3)),
    max_leaves=6)


def from_schema(schema: Any) -> st.SearchStrategy[Any]:
    """Values meeting ``schema`` (``broken`` and the edge cases below bring the invalid ones)."""
    if not isinstance(schema, dict):
        return ANY_JSON
    if "const" in schema:
        return st.just(schema["const"])
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    names = schema.get("type")
    names = [names] if isinstance(names, str) else names or ["object"]
    return st.one_of(*[_of_type(name, schema) for name in names])


def _of_type(name: str, schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    if name == "object":
        properties = schema.get("properties", {})
        extra = schema.get("additionalProperties", True)
        needed = set(schema.get("required", ()))
        base = st.fixed_dictionaries(
            {k: from_schema(v) for k, v in properties.items() if k in needed},
            optional={k: from_schema(v) for k, v in properties.items() if k not in needed})
        if isinstance(extra, dict):
            more = st.dictionaries(st.sampled_from(["owner", "data_class", "x"]), from_schema(extra), max_size=2)
            return st.tuples(base, more).map(lambda pair: {**pair[1], **pair[0]})
        return base
    if name == "array":
        return st.lists(from_schema(schema.get("items", {})), max_size=3)
    if name == "string":
        return st.sampled_from(["a", "0123456789abcdef", "eu-west-3"])
    if name == "integer":
        return st.sampled_from([0, 1, 7, 2.0])
    if name == "number":
        return st.sampled_from([0, 1.5, 3])
    if name == "boolean":
        return st.booleans()
    return st.none()


@st.composite
def broken(draw: st.DrawFn, value: Any) -> Any:
    """``value`` with one of its parts replaced, dropped, or joined by an unknown key."""
    value = copy.deepcopy(value)
    spots: list[tuple[Any, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key, child in node.items():
                spots.append((node, key))
                walk(child)
        elif isinstance(node, list):
            for i, child in enumerate(node):
                spots.append((node, i))
                walk(child)
    walk(value)
    if not spots:
        return draw(ANY_JSON)
    container, at = draw(st.sampled_from(spots))
    how = draw(st.sampled_from(["replace", "drop", "add"]))
    if how == "replace":
        container[at] = draw(ANY_JSON)
    elif how == "drop" and isinstance(container, dict):
        del container[at]
    elif isinstance(container, dict):
        container[draw(st.sampled_from(["unknown", "Id", "kind"]))] = draw(ANY_JSON)
    return value


@st.composite
def records(draw: st.DrawFn) -> tuple[str, Any]:
    kind = draw(st.sampled_from(KINDS))
    record = draw(from_schema(record_schema(kind)))
    if draw(st.booleans()):
        record = draw(broken(record))
    return kind, record


CHECKS = {kind: (compile_check(record_schema(kind)), fastjsonschema.compile(record_schema(kind)))
          for kind in KINDS}


def fastjsonschema_accepts(validate: Any, value: Any) -> bool:
    try:
        validate(value)
    except fastjsonschema.JsonSchemaException:
        return False
    return True


@settings(derandomize=True, max_examples=1500, deadline=None, database=None)
@given(records())
def test_every_kind_accepts_and_refuses_what_fastjsonschema_does(drawn: tuple[str, Any]) -> None:
    kind, record = drawn
    ours, theirs = CHECKS[kind]
    assert ours(record) is fastjsonschema_accepts(theirs, record)


EDGES = [0, 1, -1, 1.0, 2.5, -0.0, True, False, None, "", "a", "0123456789abcdef",
         "0123456789abcdef\n", [], [1], ["a"], {}, {"a": 1}, math.inf, math.nan]


@pytest.mark.parametrize("schema", [
    {"type": "integer", "minimum": 0}, {"type": ["integer", "null"], "minimum": 1},
    {"type": "number", "minimum": 0}, {"type": "boolean"}, {"type": ["string", "null"]},
    {"type": "string", "minLength": 1}, {"type": "string", "pattern": "^[0-9a-f]{16}$"},
    {"pattern": "^a"}, {"minimum": 0}, {"enum": ["customer", "provider", None]},
    {"enum": [True, "x"]}, {"const": "object_store"}, {"type": "array", "items": {"type": "integer"}},
    {"items": {"type": "string"}}, {"type": "object", "additionalProperties": {"type": "string"}},
    {"type": "object", "properties": {"a": {"type": "integer"}}, "required": ["a"],
     "additionalProperties": False},
    {"properties": {"a": {"type": "boolean"}}}, {"required": ["a"]}, {},
])
@pytest.mark.parametrize("value", EDGES, ids=repr)
def test_edge_values_get_fastjsonschemas_answer(schema: dict[str, Any], value: Any) -> None:
    assert compile_check(schema)(value) is fastjsonschema_accepts(fastjsonschema.compile(schema), value)


@pytest.mark.parametrize("schema", [
    {"oneOf": [{"type": "string"}]}, {"type": "string", "format": "date-time"},
    {"items": [{"type": "string"}]}, {"enum": [1, 2]}, {"type": ["boolean", "integer"]},
    {"$ref": "#/$defs/x"}, {"type": "text"},
])
def test_a_keyword_the_checks_do_not_implement_is_refused_not_ignored(schema: dict[str, Any]) -> None:
    with pytest.raises(Unsupported):
        compile_check(schema)


def test_every_bundled_record_schema_compiles() -> None:
    validator = RecordValidator()  # raises Unsupported if a bundled schema used a new keyword
    assert validator.is_valid({"id": "x", "type": "aws.s3.bucket", "kind": "object_store",
                               "provider": "aws", "attributes": {"versioning": True}})
    assert not validator.is_valid({"id": "x", "type": "aws.s3.bucket", "kind": "object_store",
                                   "provider": "aws", "attributes": {"versioning": "yes"}})
