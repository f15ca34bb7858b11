"""Policy fixtures: the cases kept beside each policy (``NAME.test.yaml``), checked and run.

A fixture lists resources (and collection errors) and, per status, the resource ids the policy
must report. The comparison is exact, skips included, so a policy that silently stops applying
to a resource is caught as surely as one that flips pass and fail. Problems in a fixture file
are located as ``FILE:LINE:COL`` and raised together, like policy problems.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from phigate.api import Record
from phigate.config import Config, PolicySettings
from phigate.evaluate import Evaluator, InventoryIndex
from phigate.explain import explain
from phigate.load import FIXTURE_SUFFIXES, load_policies
from phigate.model import Policy
from phigate.problems import Problem, ProblemsError, json_pointer
from phigate.snapshot import RecordValidator, error_from_json, resource_from_json
from phigate.validation import schema_problems
from phigate.yamlsafe import Located, load_file

STATUSES = ("pass", "fail", "error", "skip")


@dataclass(frozen=True, slots=True)
class Case:
    """One case: an inventory and the exact outcomes expected from the policy."""

    name: str
    records: tuple[Record, ...]
    #: resource id → expected status
    expect: Mapping[str, str]
    params: Mapping[str, Any] = field(default_factory=dict)
    #: ``FILE:LINE`` of the case, for messages.
    location: str = ""


@dataclass(frozen=True, slots=True)
class Fixture:
    file: str
    policy_id: str
    cases: tuple[Case, ...]


@dataclass(frozen=True, slots=True)
class CaseResult:
    """The verdict on one case; ``differences`` says what did not match, one line each."""

    policy_id: str
    case: str
    location: str
    passed: bool
    differences: tuple[str, ...] = ()

    def __str__(self) -> str:
        head = f"{self.location}: {self.policy_id} / {self.case}: "
        return head + ("ok" if self.passed else "; ".join(self.differences))


def fixture_files(paths: Iterable[Path]) -> list[Path]:
    """Fixture files under ``paths`` (files or folders, recursive, sorted)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*")
                                if p.is_file() and p.name.endswith(FIXTURE_SUFFIXES)))
        elif path.name.endswith(FIXTURE_SUFFIXES):
            files.append(path)
        else:  # a policy file: its fixtures sit beside it
            sibling = path.with_name(path.name.rsplit(".", 1)[0] + ".test.yaml")
            if sibling.is_file() and sibling not in files:
                files.append(sibling)
    return files


def load_fixtures(paths: Iterable[Path]) -> list[Fixture]:
    """Load and check every fixture under ``paths``. Raises :class:`ProblemsError`."""
    problems: list[Problem] = []
    fixtures: list[Fixture] = []
    validator = RecordValidator()
    for file in fixture_files(paths):
        docs, found = load_file(file)
        problems.extend(found)
        if not found and len(docs) != 1:
            problems.append(Problem(str(file), 1, 1, "a fixture file holds one document"))
        for doc in docs[:1]:
            schema = schema_problems("fixture", doc, str(file))
            problems.extend(schema)
            if not schema:
                fixture, found = _build(doc, str(file), validator)
                problems.extend(found)
                fixtures.append(fixture)
    if problems:
        raise ProblemsError(problems)
    return fixtures


def _build(doc: Located, file: str, validator: RecordValidator) -> tuple[Fixture, list[Problem]]:
    problems: list[Problem] = []
    cases: list[Case] = []
    names: set[str] = set()
    for i, raw in enumerate(doc.data["cases"]):
        if raw["name"] in names:
            problems.append(_problem(doc, file, ("cases", i, "name"),
                                     f"duplicate case name '{raw['name']}'"))
        names.add(raw["name"])
        cases.append(_case(doc, file, i, validator, problems))
    return Fixture(file, doc.data["policy"], tuple(cases)), problems


def _case(doc: Located, file: str, i: int, validator: RecordValidator,
          problems: list[Problem]) -> Case:
    raw = doc.data["cases"][i]
    base = ("cases", i)
    records: list[Record] = []
    seen: set[str] = set()
    for j, item in enumerate(raw["resources"]):
        if not validator.is_valid(item):
            problems.extend(validator.problems(item, doc, file, (*base, "resources", j)))
            continue
        if item["id"] in seen:
            problems.append(_problem(doc, file, (*base, "resources", j, "id"),
                                     f"duplicate resource id '{item['id']}'"))
        seen.add(item["id"])
        records.append(resource_from_json(item))
    records.extend(error_from_json(e) for e in raw.get("errors", []))
    expect: dict[str, str] = {}
    for status in STATUSES:
        for k, rid in enumerate(raw["expect"].get(status, [])):
            if rid in expect:
                problems.append(_problem(doc, file, (*base, "expect", status, k),
                                         f"'{rid}' is already expected to {expect[rid]}"))
            expect[rid] = status
    return Case(raw["name"], tuple(records), expect, raw.get("params", {}),
                f"{file}:{doc.at(json_pointer(base))[0]}")


def _problem(doc: Located, file: str, at: tuple[Any, ...], message: str) -> Problem:
    pointer = json_pointer(at)
    return Problem(file, *doc.at(pointer), message, pointer)


def run_case(policy: Policy, case: Case, config: Config | None = None) -> CaseResult:
    """Evaluate ``policy`` on the case's inventory and compare with its expectations."""
    config = config or Config()
    if case.params:
        policy = with_params(policy, case.params, config)
    evaluator = Evaluator([policy], config)
    index = InventoryIndex(evaluator.policies)
    actual: dict[str, str] = {}
    notes: dict[str, str] = {}
    for outcome in evaluator.run(case.records, index):
        rid, status = outcome.resource.id, outcome.status.value
        if rid in actual:  # one resource must get exactly one outcome
            notes[rid] = f"{notes.get(rid, actual[rid])}, then {status}"
            actual[rid] = "several outcomes"
            continue
        actual[rid] = status
        if status in ("fail", "error"):
            notes[rid] = explain(outcome, index).message
    differences = [
        f"{rid}: expected {case.expect.get(rid, 'no outcome')}, got {actual.get(rid, 'no outcome')}"
        + (f" ({notes[rid]})" if rid in notes else "")
        for rid in sorted(set(actual) | set(case.expect))
        if case.expect.get(rid) != actual.get(rid)
    ]
    return CaseResult(policy.id, case.name, case.location, not differences, tuple(differences))


def with_params(policy: Policy, params: Mapping[str, Any], config: Config) -> Policy:
    """Recompile ``policy`` from its file with the case's param overrides."""
    file = policy.source.rsplit(":", 1)[0]
    settings = dict(config.policies)
    settings[policy.id] = PolicySettings(params=dict(params))
    overridden = Config(config.classification_keys, config.classification_values,
                        config.name_rules, settings)
    found = [p for p in load_policies([Path(file)], overridden) if p.id == policy.id]
    return found[0]


def run_fixtures(fixtures: Iterable[Fixture], policies: Iterable[Policy],
                 config: Config | None = None) -> list[CaseResult]:
    """Run every case; a fixture naming an unknown policy is a problem, not a skipped test."""
    by_id = {p.id: p for p in policies}
    fixtures = list(fixtures)
    unknown = [Problem(f.file, 1, 1, f"fixture for unknown policy '{f.policy_id}'", "/policy")
               for f in fixtures if f.policy_id not in by_id]
    if unknown:
        raise ProblemsError(unknown)
    return [run_case(by_id[f.policy_id], case, config) for f in fixtures for case in f.cases]

