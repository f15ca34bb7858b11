"""Registry-wide invariants: schemas, operators, packaging boundaries (the layers: test_layers)."""

from __future__ import annotations

import ast
import json

import jsonschema
import pytest
from referencing import Registry, Resource

from phigate.api import KINDS
from phigate.operators import OPERATORS
from phigate.schema_files import DOCUMENTS, document_schema, kind_schema
from phigate.validation import fast_validator

from .conftest import ROOT

ENGINE = ROOT / "checker" / "phigate"
FORBIDDEN_IN_ENGINE = {"phigate_providers", "boto3", "botocore", "google", "psycopg", "psycopg2",
                       "hcl2", "dask", "duckdb"}


def test_the_policy_schema_lists_exactly_the_operator_table() -> None:
    leaf = document_schema("policy")["$defs"]["leaf"]
    assert leaf["properties"]["op"]["enum"] == list(OPERATORS)


def test_the_policy_schema_lists_exactly_the_kinds() -> None:
    assert document_schema("policy")["properties"]["kinds"]["items"]["enum"] == list(KINDS)
    assert document_schema("resource")["properties"]["kind"]["enum"] == list(KINDS)


@pytest.mark.parametrize("kind", KINDS)
def test_every_kind_schema_is_valid_and_compiles(kind: str) -> None:
    schema = kind_schema(kind)
    jsonschema.Draft202012Validator.check_schema(schema)
    fast_validator(schema)
    assert schema["additionalProperties"] is False
    for name, prop in schema["properties"].items():
        assert prop.get("description"), f"{kind}.{name} has no description"


@pytest.mark.parametrize("kind", KINDS)
def test_references_name_existing_kinds(kind: str) -> None:
    for targets in _refs(kind_schema(kind)):
        assert targets and set(targets) <= set(KINDS)


def _refs(node: object) -> list[list[str]]:
    if isinstance(node, dict):
        found = [node["x-phigate-ref"]] if "x-phigate-ref" in node else []
        return found + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []


@pytest.mark.parametrize("name", DOCUMENTS)
def test_every_document_schema_is_valid(name: str) -> None:
    jsonschema.Draft202012Validator.check_schema(document_schema(name))


def test_the_snapshot_schema_accepts_a_full_snapshot() -> None:
    registry: Registry = Registry().with_resources([
        (document_schema(n)["$id"], Resource.from_contents(document_schema(n)))
        for n in ("resource", "snapshot")])
    validator = jsonschema.Draft202012Validator(document_schema("snapshot"), registry=registry)
    example = json.loads((ROOT / "examples" / "supplier-estate.json").read_text())
    assert list(validator.iter_errors(example)) == []
    example["resources"][0]["colour"] = "red"
    assert list(validator.iter_errors(example))


#: Drivers the engine may import inside a function, where one feature needs them: the history
#: store's PostgreSQL backend imports psycopg only when a postgresql:// store is used.
LAZY_IN_ENGINE = {("history/postgres.py", "psycopg"), ("executors/cluster.py", "dask"),
                  ("executors/cluster.py", "distributed"),
                  ("attest.py", "google")}  # protobuf, for the in-toto bindings, when signing


def test_the_engine_never_imports_a_provider_or_a_cloud_sdk() -> None:
    for path in ENGINE.rglob("*.py"):
        tree = ast.parse(path.read_text(), filename=str(path))
        in_functions = {id(node) for fn in ast.walk(tree) if isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef)
                        for node in ast.walk(fn)}
        relative = path.relative_to(ENGINE).as_posix()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                roots = {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                roots = {node.module.split(".")[0]}
            else:
                continue
            if id(node) in in_functions:
                roots = {r for r in roots if (relative, r) not in LAZY_IN_ENGINE}
            assert not roots & FORBIDDEN_IN_ENGINE, f"{relative} imports {roots & FORBIDDEN_IN_ENGINE}"
