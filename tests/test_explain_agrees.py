"""The explaining pass reaches the same outcome as the fast path, on every fixture of the pack.

Findings are built by a second pass (``explain``); were it to judge differently from the fast
``test`` path, a report would explain an outcome it did not reach."""

from __future__ import annotations

import pytest

from phigate.config import Config
from phigate.evaluate import Evaluator, InventoryIndex
from phigate.fixtures import Case, fixture_files, load_fixtures, with_params
from phigate.load import bundled_pack, load_policies
from phigate.model import Observation, Policy, Status

PACK = {p.id: p for p in load_policies([bundled_pack()], Config())}
CASES = [(fixture.policy_id, case) for fixture in load_fixtures(fixture_files([bundled_pack()]))
         for case in fixture.cases]


def _explained(policy: Policy, resource: object, index: InventoryIndex) -> Status:
    observations: list[Observation] = []
    if policy.where is not None:
        applies = policy.where.explain(resource, index, True, observations)
        if applies is None:
            return Status.ERROR
        if applies is False:
            return Status.SKIP
    result = policy.check.explain(resource, index, True, observations)
    return Status.PASS if result is True else Status.FAIL if result is False else Status.ERROR


@pytest.mark.parametrize(("policy_id", "case"), CASES,
                         ids=[f"{p}:{c.name[:40]}" for p, c in CASES])
def test_explain_agrees_with_the_fast_path(policy_id: str, case: Case) -> None:
    policy = PACK[policy_id]
    if case.params:
        policy = with_params(policy, case.params, Config())
    evaluator = Evaluator([policy], Config())
    index = InventoryIndex(evaluator.policies)
    outcomes = list(evaluator.run(case.records, index))
    assert outcomes, "the case decided nothing"
    for outcome in outcomes:
        if outcome.note is not None:  # decided by a collection error, not by the conditions
            assert outcome.status is Status.ERROR
            continue
        subject = index.with_reach(outcome.resource)
        assert _explained(policy, subject, index) is outcome.status, outcome.resource.id
