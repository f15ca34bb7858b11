"""The compiled fast path of record validation gives the reference validator's verdict.

A record the fast path passes is never checked again: were it looser than jsonschema anywhere,
a record the schemas refuse would be read as evidence. So on records of every kind, valid and
mutated (wrong types, keys missing or unknown, values outside an enum, integers past 64 bits,
``1.0`` for ``1``, booleans for integers, patterns with a final newline, deep nesting,
non-ASCII text), both must say the same.
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phigate.api import KINDS
from phigate.baseline import valid_report
from phigate.problems import ProblemsError
from phigate.schema_files import document_schema, kind_schema
from phigate.snapshot import RecordValidator
from phigate.validation import ecma_pattern, kind_validator, reference_validator, validator
from phigate_providers.snapshot import SnapshotProvider

from .conftest import ROOT

SCHEMAS = ROOT / "checker" / "phigate" / "schemas"
FAST = RecordValidator()
ERROR = document_schema("snapshot")["$defs"]["error"]
REFERENCE_ERROR = reference_validator(ERROR)


def reference_verdict(record: dict[str, Any]) -> bool:
    """What the exact (jsonschema) validators say of one record, envelope and kind apart."""
    if "error" in record and len(record) == 1:
        return bool(REFERENCE_ERROR.is_valid(record["error"]))
    if not validator("resource").is_valid(record):
        return False
    return bool(kind_validator(record["kind"]).is_valid(record.get("attributes", {})))


# --- valid records, drawn from the schemas themselves ---------------------------------------

ANY_JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=5),
                        lambda inner: st.lists(inner, max_size=2)
                        | st.dictionaries(st.text(max_size=3), inner, max_size=2), max_leaves=4)


def valid(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values that ``schema`` accepts (the keywords the record schemas use)."""
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "const" in schema:
        return st.just(schema["const"])
    types = schema.get("type")
    if types is None:
        return ANY_JSON
    if isinstance(types, list):
        return st.one_of([valid({**schema, "type": t}) for t in types])
    if types == "object":
        return _object(schema)
    if types == "array":
        return st.lists(valid(schema.get("items", {})), max_size=2)
    if types == "string":
        if "pattern" in schema:
            return st.from_regex(schema["pattern"], fullmatch=True)
        return st.text(min_size=schema.get("minLength", 0), max_size=8)
    if types == "integer":
        return st.integers(min_value=schema.get("minimum"), max_value=2**70)
    if types == "number":
        return st.floats(min_value=schema.get("minimum"), allow_nan=False, allow_infinity=False)
    return {"boolean": st.booleans(), "null": st.none()}[types]


def _object(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    properties = schema.get("properties", {})
    required = set(schema.get("required", ()))
    extra = schema.get("additionalProperties", True)
    strategy = st.fixed_dictionaries({k: valid(v) for k, v in properties.items() if k in required},
                                     optional={k: valid(v) for k, v in properties.items()
                                               if k not in required})
    if isinstance(extra, dict):  # tags: any keys, values of one schema
        more = st.dictionaries(st.text(max_size=4).filter(lambda k: k not in properties), valid(extra),
                               max_size=2)
        strategy = st.builds(lambda a, b: {**b, **a}, strategy, more)
    return strategy


def _resource(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    envelope = copy.deepcopy(document_schema("resource"))
    envelope["properties"]["kind"] = {"const": kind}
    envelope["properties"]["attributes"] = kind_schema(kind)
    return _object(envelope)


RECORDS = st.sampled_from(KINDS).flatmap(_resource) | _object(ERROR).map(lambda e: {"error": e})


# --- near-valid records: a valid one, mutated where it matters -------------------------------

def _deep(depth: int) -> Any:
    value: Any = "leaf"
    for _ in range(depth):
        value = {"a": [value]}
    return value


#: What a mutation puts in place of a value: each a way two validators could read JSON apart.
ODD_VALUES = [None, True, False, 0, -1, 1.0, 2.5, -0.0, 2**63, 2**64, -(2**63) - 1, 10**30, -(10**30),
              "", "x", "aws.s3.bucket\n", "aws.s3.bucket", "0123456789abcdef", "0123456789abcdef\n",
              "ÉTÉ", "e\u0301", "😀", "\u0000", "clinical", "object_store", "key", [], [1], ["x"], {},
              {"": None}, _deep(60), 1e300]


def _paths(value: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [here]
    if isinstance(value, dict):
        for key, inner in value.items():
            found += _paths(inner, (*here, key))
    elif isinstance(value, list):
        for i, inner in enumerate(value):
            found += _paths(inner, (*here, i))
    return found


def _container(record: Any, path: tuple[Any, ...]) -> Any:
    for step in path:
        record = record[step]
    return record


@st.composite
def near_valid(draw: st.DrawFn) -> dict[str, Any]:
    record = draw(RECORDS)
    for _ in range(draw(st.integers(0, 3))):
        path = draw(st.sampled_from(_paths(record)))
        if not path:
            continue
        parent = _container(record, path[:-1])
        action = draw(st.sampled_from(["replace", "replace", "text", "drop", "add", "kind"]))
        if action == "text" and isinstance(parent[path[-1]], str):  # where patterns and enums look
            text = parent[path[-1]]
            parent[path[-1]] = draw(st.sampled_from([text + "\n", text + "\r\n", "\n" + text, text + " ",
                                                     text.upper(), text[:-1]]))
        elif action == "replace":
            parent[path[-1]] = copy.deepcopy(draw(st.sampled_from(ODD_VALUES)))
        elif action == "drop" and isinstance(parent, dict):
            del parent[path[-1]]
        elif action == "add" and isinstance(parent, dict):
            key = draw(st.sampled_from(["versioning", "id", "extra", "Tags", "kind"]))
            parent[key] = copy.deepcopy(draw(st.sampled_from(ODD_VALUES)))
        elif action == "kind" and "kind" in record:  # attributes of one kind under another
            record["kind"] = draw(st.sampled_from([*KINDS, "bucket", "KEY"]))
    read: dict[str, Any] = json.loads(json.dumps(record))  # as a reader hands it over: no tuples
    return read


@settings(derandomize=True, max_examples=500, deadline=None, database=None)
@given(record=RECORDS)
def test_every_valid_record_of_every_kind_passes_both(record: dict[str, Any]) -> None:
    assert reference_verdict(record)
    assert FAST.is_valid(record)


@settings(derandomize=True, max_examples=2000, deadline=None, database=None)
@given(record=near_valid())
def test_the_fast_verdict_is_the_reference_verdict_on_near_valid_records(record: dict[str, Any]) -> None:
    assert FAST.is_valid(record) == reference_verdict(record)
    assert FAST.is_valid({"context": record}) == (reference_verdict(record) and "error" not in record)


# --- what the property cannot reach on its own -------------------------------------------------

BUCKET = {"id": "arn:aws:s3:::b", "type": "aws.s3.bucket", "kind": "object_store", "provider": "aws"}


@pytest.mark.parametrize(("change", "valid_record"), [
    ({"attributes": {"soft_delete_days": 1.0}}, True),  # 1.0 is an integer in JSON Schema
    ({"attributes": {"soft_delete_days": 2**64 + 1}}, True),
    ({"attributes": {"soft_delete_days": 10**40}}, True),
    ({"attributes": {"soft_delete_days": -(10**40)}}, False),  # below the minimum
    ({"attributes": {"soft_delete_days": 1.5}}, False),
    ({"attributes": {"soft_delete_days": True}}, False),  # a boolean is never an integer
    ({"attributes": {"versioning": 1}}, False),  # nor an integer a boolean
    ({"type": "aws.s3.bucket\n"}, False),  # ECMA-262's `$`: the end of the text, no newline
    ({"type": "aws.s3.bucket\r"}, False),
    ({"type": "aws.s3.bucKet"}, False),
    ({"type": "aws.\u017f3.bucket"}, False),  # the long s: no case folding into ASCII
    ({"id": ""}, False),
    ({"id": "😀"}, True),
    ({"name": "e\u0301"}, True),
    ({"tags": {"k": 1}}, False),
    ({"data_class": "secret"}, False),
])
def test_edge_values_get_the_reference_verdict(change: dict[str, Any], valid_record: bool) -> None:
    record = {**BUCKET, **change}
    assert FAST.is_valid(record) is valid_record
    assert reference_verdict(record) is valid_record


def test_deep_nesting_is_no_crash() -> None:
    """Past Python's recursion limit (the strict parser reads such lines): where no schema looks
    the value is not walked; where one does, the verdict comes at the first level."""
    assert FAST.is_valid({**BUCKET, "raw": {"a": _deep(100_000)}})
    assert not FAST.is_valid({**BUCKET, "attributes": {"soft_delete_days": _deep(100_000)}})
    assert not FAST.is_valid({**BUCKET, "tags": {"k": _deep(100_000)}})


@pytest.mark.parametrize("odd", [dt.date(2026, 12, 7), b"bytes", {1: "x"}, {"set"}, 1 + 2j])
def test_a_value_json_has_no_type_for_is_refused_not_a_crash(odd: Any) -> None:
    assert FAST.is_valid({**BUCKET, "name": odd}) is False
    assert FAST.is_valid({**BUCKET, "tags": odd}) is False
    assert valid_report({"report_version": odd}) is False


def test_a_lone_surrogate_is_no_crash() -> None:
    """Every reader refuses one before validation; were one to reach it, the verdict is still
    the reference's (a check that must encode the text refuses it: stricter, never looser)."""
    for record in ({**BUCKET, "id": "\ud800"}, {**BUCKET, "type": "aws.s3.\ud800"},
                   {**BUCKET, "tags": {"k": "\udfff"}}):
        assert FAST.is_valid(record) == reference_verdict(record)


def test_a_type_ending_in_a_newline_is_refused_where_it_is(tmp_path: Path) -> None:
    """Python's `$` would take it; the fast path refuses it, and the reference says where."""
    snapshot = tmp_path / "s.jsonl"
    snapshot.write_text('{"phigate_snapshot": 1}\n'
                        + json.dumps({**BUCKET, "type": "aws.s3.bucket\n"}) + "\n")
    with pytest.raises(ProblemsError) as caught:
        list(SnapshotProvider([snapshot]).collect())
    [problem] = caught.value.problems
    assert (problem.line, problem.pointer) == (2, "/type")
    assert "does not match" in problem.message


def _patterns(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
        return own + [p for value in node.values() for p in _patterns(value)]
    if isinstance(node, list):
        return [p for value in node for p in _patterns(value)]
    return []


ALL_PATTERNS = sorted({p for f in SCHEMAS.rglob("*.json") for p in _patterns(json.loads(f.read_text()))})


@pytest.mark.parametrize("pattern", ALL_PATTERNS)
def test_every_schema_pattern_reads_the_same_in_both_dialects(pattern: str) -> None:
    """ASCII classes, anchors and counts only: no construct Rust's regex and Python's `re` read
    apart (\\d, \\w and \\b differ on non-ASCII text; `$` is made ECMA's in the reference)."""
    assert not re.search(r"\\[dDwWbB]|\(\?|\\[pP]\{", pattern), pattern
    assert pattern.startswith("^") and pattern.endswith("$") and pattern.count("$") == 1, pattern
    assert ecma_pattern(pattern) == pattern[:-1] + r"\Z"


def _keyword(node: Any, keyword: str) -> bool:
    """Whether ``keyword`` is used in a schema (not merely a property's name)."""
    if isinstance(node, dict):
        return any((key == keyword and not isinstance(value, dict)) or _keyword(value, keyword)
                   for key, value in node.items())
    return isinstance(node, list) and any(_keyword(value, keyword) for value in node)


def test_no_record_schema_gives_a_format() -> None:
    """The reference reads `format` as an annotation, so the fast path must too: it matters
    nowhere while no record schema names one. (The report's fast check asserts its times and
    dates, stricter than the reference, and the readers of reports say so.)"""
    assert not any(_keyword(kind_schema(kind), "format") for kind in KINDS)
    assert not _keyword(document_schema("resource"), "format") and not _keyword(ERROR, "format")
    assert _keyword(document_schema("report"), "format")


def test_the_record_schemas_have_no_reference_cycle() -> None:
    """A recursive `$ref` would let the compiled validator follow a deep record as deep as it
    goes (its stack, unlike Python's, has no guard): the record schemas have no `$ref` at all,
    the report's only to definitions that refer to nothing further."""
    for kind in KINDS:
        assert "$ref" not in json.dumps(kind_schema(kind))
    assert "$ref" not in json.dumps(document_schema("resource")) + json.dumps(ERROR)
    definitions = document_schema("report")["$defs"]
    refers = {name: set(re.findall(r'"#/\$defs/(\w+)"', json.dumps(d))) for name, d in definitions.items()}
    for name, targets in refers.items():
        assert all(not refers[target] for target in targets), name


@pytest.mark.parametrize("value", ["PHI-TEST-001\n", "PHI-TEST-001\r\n"])
def test_every_document_reads_dollar_as_json_schema_does(value: str) -> None:
    """The reference validator of every document (here a policy's id) ends `$` at the text's end."""
    errors = list(validator("policy").iter_errors({"id": value}))
    assert any(e.validator == "pattern" and list(e.absolute_path) == ["id"] for e in errors)
    assert not any(e.validator == "pattern" for e in validator("policy").iter_errors({"id": "PHI-TEST-001"}))


def test_ecma_pattern_leaves_escaped_and_class_dollars() -> None:
    assert ecma_pattern(r"^a\$[$]b$") == r"^a\$[$]b\Z"
