"""The engine's shortcuts (folding conditions per plan, deferring, slim copies, tallies) never
change an outcome: compare it with a naive evaluation of every policy on every resource."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from phigate.api import CollectionError, Resource
from phigate.classify import Classifier
from phigate.config import Config
from phigate.evaluate import Evaluator, InventoryIndex
from phigate.fixtures import fixture_files, load_fixtures
from phigate.load import bundled_pack, load_policies
from phigate.model import Policy
from phigate.snapshot import resource_from_json

from .conftest import ROOT

PACK = load_policies([bundled_pack()])


def naive(policies: list[Policy], records: list[Any]) -> dict[tuple[str, str], str]:
    """Every resource indexed first, then every applicable policy asked in full."""
    classifier = Classifier(Config())
    resources = [r if r.data_class else r.with_data_class(classifier.data_class(r))
                 for r in records if isinstance(r, Resource)]
    index = InventoryIndex(policies)
    for resource in resources:
        index.add(resource)
    for error in records:
        if isinstance(error, CollectionError) and error.resource_id is None:
            index.mark_incomplete(error.kinds)
    index.seal()
    found = {}
    for policy in policies:
        for as_read in resources:
            if (policy.kinds and as_read.kind not in policy.kinds) or not policy.applies_to_type(as_read.type):
                continue
            resource = index.with_reach(as_read)  # principals judged on their closed reach
            applies = policy.where.test(resource, index) if policy.where is not None else True
            if applies is not True:
                found[(policy.id, resource.id)] = "skip" if applies is False else "error"
                continue
            result = policy.check.test(resource, index)
            found[(policy.id, resource.id)] = {True: "pass", False: "fail", None: "error"}[result]
    return found


def engine(policies: list[Policy], records: list[Any]) -> dict[tuple[str, str], str]:
    return {(o.policy.id, o.resource.id): o.status.value for o in Evaluator(policies).run(records)}


def test_the_example_estate_gets_the_same_outcomes() -> None:
    data = json.loads((ROOT / "examples" / "supplier-estate.json").read_text())
    records = [resource_from_json(r) for r in data["resources"]]
    assert engine(PACK, records) == naive(PACK, records)


# Cases with collection errors are compared by the fixtures themselves (the naive evaluation
# here has no notion of a resource that was never yielded).
CASES = [(f.policy_id, i, case) for f in load_fixtures(fixture_files([bundled_pack()]))
         for i, case in enumerate(f.cases)
         if not any(isinstance(r, CollectionError) for r in case.records)]


@pytest.mark.parametrize("policy_id, number, case", CASES,
                         ids=[f"{p}-{n}" for p, n, _ in CASES])
def test_every_fixture_case_gets_the_same_outcomes_from_the_whole_pack(
        policy_id: str, number: int, case: Any) -> None:
    records = list(case.records)
    assert engine(PACK, records) == naive(PACK, records)


def test_folding_decides_plainly_known_fields(tmp_path: Path) -> None:
    (tmp_path / "p.yaml").write_text(
        "id: FOLD\ntitle: t\nseverity: low\nkinds: [object_store, account]\n"
        "where: {any: [{path: kind, op: eq, value: account}, {path: data_class, op: eq, value: clinical}]}\n"
        "assert: {any: [{path: kind, op: eq, value: account}, {path: logging.access_logs, op: eq, value: true}]}\n")
    [policy] = load_policies([tmp_path])
    known = {"kind": "account", "type": "aws.account", "data_class": "unclassified", "provider": "aws"}
    assert policy.where is not None and policy.where.fold(known) is True
    assert policy.check.fold(known) is True
    store = {**known, "kind": "object_store", "data_class": "public"}
    assert policy.where.fold(store) is False
    clinical = {**store, "data_class": "clinical"}
    assert policy.where.fold(clinical) is True
    assert policy.check.fold(clinical) is not True  # logging still has to be read
