"""On random estates, every outcome the engine reaches is the one ``explain`` reaches.

The engine decides through compiled closures, shared index records, per-plan skip counts and
principals widened by the access graph; findings are explained by a second pass over the
condition nodes. Were the two to part, a report would explain an outcome it did not reach."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from phigate.api import Resource
from phigate.config import Config
from phigate.evaluate import Evaluator, InventoryIndex
from phigate.load import bundled_pack, load_policies
from phigate.model import Observation, Policy, Status

PACK = load_policies([bundled_pack()], Config())
STORE_IDS = [f"arn:aws:s3:::b{i}" for i in range(6)]
ROLE_IDS = [f"arn:aws:iam::111122223333:role/r{i}" for i in range(4)]
KEY_IDS = [f"arn:aws:kms:eu-west-3:111122223333:key/k{i}" for i in range(2)]
TAGS = st.sampled_from([{}, {"data_class": "clinical"}, {"data_class": "pii"},
                        {"data_class": "public"}, {"data_class": "clinical_notes", "owner": "x"}])


def _maybe(draw: st.DrawFn, attributes: dict[str, Any], name: str, value: Any) -> None:
    if draw(st.booleans()) or draw(st.booleans()):  # three times in four: read
        attributes[name] = value


@st.composite
def estates(draw: st.DrawFn) -> list[Resource]:
    resources = []
    for rid in draw(st.lists(st.sampled_from(STORE_IDS), unique=True, min_size=1)):
        attributes: dict[str, Any] = {}
        key = draw(st.sampled_from([None, *KEY_IDS, "arn:aws:kms:eu-west-3:111122223333:key/gone"]))
        _maybe(draw, attributes, "encryption", {
            "at_rest": draw(st.booleans()), "algorithm": "aws:kms" if key else None, "key": key,
            "key_manager": draw(st.sampled_from(["customer", "provider", None]))})
        _maybe(draw, attributes, "public_access", {"blocked": draw(st.booleans()),
                                                   "grants": draw(st.sampled_from([[], ["*"]]))})
        _maybe(draw, attributes, "versioning", draw(st.booleans()))
        _maybe(draw, attributes, "acls_disabled", draw(st.booleans()))
        _maybe(draw, attributes, "secure_transport_required", draw(st.booleans()))
        resources.append(Resource(rid, "aws.s3.bucket", "object_store", "aws", "111122223333",
                                  draw(st.sampled_from(["eu-west-3", "us-east-1"])), rid[13:],
                                  draw(TAGS), None, attributes))
    for rid in draw(st.lists(st.sampled_from(KEY_IDS), unique=True)):
        resources.append(Resource(rid, "aws.kms.key", "key", "aws", "111122223333", "eu-west-3",
                                  None, {}, None, {"manager": "customer", "state": "Enabled",
                                                   "symmetric": True, "rotation_enabled": True}))
    targets = [*STORE_IDS, "arn:aws:s3:::not-collected"]
    for rid in draw(st.lists(st.sampled_from(ROLE_IDS), unique=True)):
        attributes = {"principal_type": "role", "third_party": draw(st.booleans()),
                      "external_id_required": draw(st.booleans()),
                      "can_become": draw(st.lists(st.sampled_from(ROLE_IDS), max_size=2))}
        _maybe(draw, attributes, "can_read", draw(st.lists(st.sampled_from(targets), max_size=4)))
        _maybe(draw, attributes, "can_read_via_wildcard",
               draw(st.lists(st.sampled_from(targets), max_size=2)))
        resources.append(Resource(rid, "aws.iam.role", "principal", "aws", "111122223333", None,
                                  rid.rsplit("/", 1)[-1], {}, None, attributes))
    return draw(st.permutations(resources))


def _explained(policy: Policy, resource: Resource, index: InventoryIndex) -> Status:
    observations: list[Observation] = []
    if policy.where is not None:
        applies = policy.where.explain(resource, index, True, observations)
        if applies is not True:
            return Status.SKIP if applies is False else Status.ERROR
    result = policy.check.explain(resource, index, True, observations)
    return Status.PASS if result is True else Status.FAIL if result is False else Status.ERROR


@settings(derandomize=True, max_examples=80, deadline=None, database=None)
@given(estates())
def test_explain_reaches_every_outcome_the_engine_reaches(estate: list[Resource]) -> None:
    evaluator = Evaluator(PACK)
    index = InventoryIndex(evaluator.policies)
    outcomes = list(evaluator.run(estate, index))
    assert outcomes
    for outcome in outcomes:
        assert _explained(outcome.policy, outcome.resource, index) is outcome.status, (
            outcome.policy.id, outcome.resource.id)
    counted = {pid: sum(by_status.values()) for pid, by_status in evaluator.tallies().items()}
    assert sum(counted.values()) == len(outcomes)
