"""Baselines and the gate: only new failures fail against a baseline report, errors always do;
exit codes for every combination of --fail-on, waivers and baselines; and the pre-commit hooks
(the GitHub Action has tests/test_action.py)."""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from phigate.cli import build_parser
from phigate.schema_files import document_schema

from .conftest import DATA, ROOT, CliResult, resource

POLICIES = DATA / "policies"
Cli = Callable[..., CliResult]

GATE_POLICIES = {
    "high.yaml": """id: G-HIGH
title: Clinical stores keep versions
severity: high
kinds: [object_store]
where: {path: data_class, op: eq, value: clinical}
assert: {path: versioning, op: eq, value: true}
rationale: r.
remediation: m.
""",
    "low.yaml": """id: G-LOW
title: Clinical stores disable ACLs
severity: low
kinds: [object_store]
where: {path: data_class, op: eq, value: clinical}
assert: {path: acls_disabled, op: eq, value: true}
rationale: r.
remediation: m.
""",
}


def store(rid: str, versioning: bool | None = False, **fields: Any) -> dict[str, Any]:
    """A clinical store; failing T-VERSIONING unless ``versioning``, erring when it is None."""
    attributes: dict[str, Any] = {"acls_disabled": False}
    if versioning is not None:
        attributes["versioning"] = versioning
    return resource(rid, "object_store", tags={"data_class": "clinical"}, attributes=attributes,
                    **fields)


def run(cli: Cli, snapshot: Path, *extra: str, policies: Path = POLICIES) -> tuple[int, dict[str, Any]]:
    result = cli("scan", str(snapshot), "--policies", str(policies), "--format", "json", *extra)
    assert result.code == 2 or not result.err, result.err
    report = result.json()
    jsonschema.Draft202012Validator(document_schema("report")).validate(report)
    return result.code, report


def baseline_of(cli: Cli, snapshot: Path, out: Path, *extra: str, policies: Path = POLICIES) -> Path:
    result = cli("scan", str(snapshot), "--policies", str(policies), "--format", f"json={out}", *extra)
    assert result.code in (0, 1), result.err
    return out


def ids(report: dict[str, Any]) -> dict[str, str]:
    return {f["resource"]["id"]: f["id"] for f in report["findings"]}


def test_only_new_failures_gate_and_resolved_ones_are_listed(
        cli: Cli, write_snapshot: Callable[..., Path], tmp_path: Path) -> None:
    before = write_snapshot([store("kept"), store("fixed")], name="before.json")
    baseline = baseline_of(cli, before, tmp_path / "baseline.json")
    after = write_snapshot([store("kept"), store("fixed", versioning=True), store("added")],
                           name="after.json")
    code, report = run(cli, after, "--baseline", str(baseline))
    assert code == 1
    found = ids(report)
    states = {f["resource"]["id"]: f["baseline"] for f in report["findings"]}
    assert states == {"kept": "unchanged", "added": "new"}
    section = report["baseline"]
    assert section["file"] == str(baseline)
    assert section["new"] == [found["added"]] and section["unchanged"] == [found["kept"]]
    assert [(r["policy_id"], r["resource"]["id"]) for r in section["resolved"]] == [
        ("T-VERSIONING", "fixed")]
    text = cli("scan", str(after), "--policies", str(POLICIES), "--baseline", str(baseline))
    assert "FAIL (new)" in text.out and "FAIL (unchanged)" in text.out
    assert "resolved since the baseline T-VERSIONING on fixed" in text.out
    assert "1 new failures, 1 unchanged (not gating), 1 resolved" in text.out


def test_failures_already_in_the_baseline_do_not_gate(
        cli: Cli, write_snapshot: Callable[..., Path], tmp_path: Path) -> None:
    snapshot = write_snapshot([store("kept")])
    baseline = baseline_of(cli, snapshot, tmp_path / "baseline.json")
    code, report = run(cli, snapshot, "--baseline", str(baseline))
    assert code == 0
    assert report["summary"]["fail"] == 1  # still reported as a failure
    assert report["findings"][0]["baseline"] == "unchanged"


def test_the_baseline_may_be_the_report_being_rewritten(
        cli: Cli, write_snapshot: Callable[..., Path], tmp_path: Path) -> None:
    snapshot = write_snapshot([store("kept")])
    report = baseline_of(cli, snapshot, tmp_path / "report.json")
    result = cli("scan", str(snapshot), "--policies", str(POLICIES), "--baseline", str(report),
                 "--format", f"json={report}")
    assert result.code == 0
    assert json.loads(report.read_text())["baseline"]["unchanged"]


def test_errors_are_never_hidden_by_a_baseline(
        cli: Cli, write_snapshot: Callable[..., Path], tmp_path: Path) -> None:
    baseline = baseline_of(cli, write_snapshot([store("kept"), store("blind")], name="b.json"),
                           tmp_path / "baseline.json")
    now = write_snapshot([store("kept"), store("blind", versioning=None)], name="now.json")
    code, report = run(cli, now, "--baseline", str(baseline))
    assert code == 3
    assert report["baseline"]["resolved"] == []  # unseen is not fixed
    errors = [{"provider": "test", "message": "AccessDenied: ListBuckets", "kinds": ["object_store"]}]
    code, report = run(cli, write_snapshot([store("kept")], errors, name="denied.json"),
                       "--baseline", str(baseline))
    assert code == 3
    assert report["baseline"]["resolved"] == []  # not listed is not fixed
    assert [k["resource"]["id"] for k in report["baseline"]["not_evaluated"]] == ["blind"]


def test_resolved_needs_the_policy_and_the_provider_to_have_been_evaluated(
        cli: Cli, write_snapshot: Callable[..., Path], tmp_path: Path) -> None:
    baseline = baseline_of(cli, write_snapshot([store("kept")], name="b.json"), tmp_path / "b.json")
    code, report = run(cli, write_snapshot([store("kept")], name="now.json"), "--baseline", str(baseline),
                       "--only", "T-SEGMENTATION")
    assert code == 0 and report["baseline"]["resolved"] == []
    assert [k["policy_id"] for k in report["baseline"]["not_evaluated"]] == ["T-VERSIONING"]
    other = write_snapshot([store("elsewhere", versioning=True, provider="other")], name="other.json")
    section = run(cli, other, "--baseline", str(baseline))[1]["baseline"]
    assert section["resolved"] == [] and len(section["not_evaluated"]) == 1


def test_a_failing_resource_absent_from_the_run_is_not_evaluated_never_resolved(
        cli: Cli, write_snapshot: Callable[..., Path], tmp_path: Path) -> None:
    baseline = baseline_of(cli, write_snapshot([store("kept"), store("gone"), store("fixed")],
                                               name="b.json"), tmp_path / "b.json")
    now = write_snapshot([store("kept"), store("fixed", versioning=True)], name="now.json")
    code, report = run(cli, now, "--baseline", str(baseline))
    assert code == 0
    section = report["baseline"]
    assert [k["resource"]["id"] for k in section["resolved"]] == ["fixed"]
    assert [k["resource"]["id"] for k in section["not_evaluated"]] == ["gone"]
    text = cli("scan", str(now), "--policies", str(POLICIES), "--baseline", str(baseline))
    assert "0 new failures, 1 unchanged (not gating), 1 resolved, 1 not evaluated by this run" in text.out


def test_a_failure_waived_in_the_baseline_gates_once_its_waiver_expires(
        cli: Cli, write_snapshot: Callable[..., Path], tmp_path: Path) -> None:
    snapshot = write_snapshot([store("notes")])
    waivers = tmp_path / "w.yaml"
    waivers.write_text("waivers:\n  - {policy: T-VERSIONING, resource: notes, reason: r, owner: o,"
                       " expires: '2999-01-01'}\n")
    baseline = baseline_of(cli, snapshot, tmp_path / "b.json", "--waivers", str(waivers))
    assert json.loads(baseline.read_text())["findings"][0]["status"] == "waived"
    code, report = run(cli, snapshot, "--baseline", str(baseline))
    assert code == 1 and report["findings"][0]["baseline"] == "new"


@pytest.mark.parametrize("content, expected", [
    ('{"report_version": 1,\n  "tool": }', ":2:11: not a phigate JSON report"),
    ('{"version": "2.1.0", "runs": []}', ":1:1: not a phigate JSON report"),
    ("[1, 2]", ":1:1: not a phigate JSON report"),
    ("", ":1:1: not a phigate JSON report"),
])
def test_a_file_that_is_not_a_report_exits_2(
        cli: Cli, write_snapshot: Callable[..., Path], tmp_path: Path, content: str,
        expected: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    result = cli("scan", str(write_snapshot([store("a")])), "--policies", str(POLICIES),
                 "--baseline", str(bad))
    assert result.code == 2 and result.out == ""
    assert f"error: {bad}{expected}" in result.err and "Traceback" not in result.err


def test_an_invalid_report_is_refused_where_it_is_wrong(
        cli: Cli, write_snapshot: Callable[..., Path], tmp_path: Path) -> None:
    snapshot = write_snapshot([store("a")])
    baseline = baseline_of(cli, snapshot, tmp_path / "b.json")
    report = json.loads(baseline.read_text())
    report["findings"][0]["status"] = "not-a-status"
    baseline.write_text(json.dumps(report, indent=2))
    line = next(i for i, text in enumerate(baseline.read_text().splitlines(), 1) if '"not-a-status"' in text)
    result = cli("scan", str(snapshot), "--policies", str(POLICIES), "--baseline", str(baseline))
    assert result.code == 2
    assert f"{baseline}:{line}:" in result.err and "(/findings/0/status)" in result.err
    missing = cli("scan", str(snapshot), "--policies", str(POLICIES), "--baseline", str(tmp_path / "no.json"))
    assert missing.code == 2 and "no.json:1:1: cannot read file" in missing.err


# --- planned resources: ids that do not depend on how the plan path was typed -----------------

PLAN = DATA / "terraform" / "clinic" / "plan.json"
#: Policies that only fail (no error) on the clinic plan.
FAILING_ONLY = ("--only", "PHI-TLS-001", "--only", "PHI-INT-001")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git work tree holding the clinic plan as infra/plan.json."""
    root = tmp_path / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "infra").mkdir()
    shutil.copy(PLAN, root / "infra" / "plan.json")
    return root


def plan_scan(cli: Cli, monkeypatch: pytest.MonkeyPatch, cwd: Path, target: str,
              *extra: str) -> tuple[int, dict[str, Any]]:
    monkeypatch.chdir(cwd)
    result = cli("scan", target, "--format", "json", *extra)
    assert result.code != 2, result.err
    report = result.json()
    jsonschema.Draft202012Validator(document_schema("report")).validate(report)
    return result.code, report


def by_address(report: dict[str, Any]) -> dict[tuple[str, str], str]:
    """Finding ids by policy and address (by id for what the plan implies without declaring)."""
    return {(f["policy_id"], f["resource"].get("address") or f["resource"]["id"]): f["id"]
            for f in report["findings"]}


def test_plan_finding_ids_do_not_depend_on_how_the_plan_path_is_typed(
        cli: Cli, monkeypatch: pytest.MonkeyPatch, repo: Path, tmp_path: Path) -> None:
    spellings = [(repo, "infra/plan.json"), (repo / "infra", "plan.json"),
                 (repo / "infra", "./plan.json"), (repo / "infra", "../infra/plan.json"),
                 (tmp_path, str(repo / "infra" / "plan.json"))]
    reports = [plan_scan(cli, monkeypatch, cwd, target, "--show-passed")[1] for cwd, target in spellings]
    first = by_address(reports[0])
    assert ("PHI-TLS-001", "module.scans.aws_s3_bucket.this") in first
    assert ("PHI-SEG-002", "allUsers") in first  # a member the plan's IAM bindings imply
    for report in reports:
        assert by_address(report) == first
        assert {f["resource"]["scope"] for f in report["findings"]} == {"infra/plan.json"}


def test_a_plan_outside_any_work_tree_is_scoped_by_its_absolute_path(
        cli: Cli, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    folder = tmp_path / "outside"
    folder.mkdir()
    shutil.copy(PLAN, folder / "plan.json")
    relative = plan_scan(cli, monkeypatch, folder, "plan.json", *FAILING_ONLY)[1]
    absolute = plan_scan(cli, monkeypatch, tmp_path, str(folder / "plan.json"), *FAILING_ONLY)[1]
    assert by_address(relative) == by_address(absolute)
    assert {f["resource"]["scope"] for f in relative["findings"]} == {
        (folder / "plan.json").resolve().as_posix()}


def test_a_baseline_written_with_one_plan_path_matches_a_run_given_another(
        cli: Cli, monkeypatch: pytest.MonkeyPatch, repo: Path) -> None:
    code, _ = plan_scan(cli, monkeypatch, repo, "infra/plan.json", *FAILING_ONLY,
                        "--format", "json=.phigate-baseline.json")
    assert code == 1
    code, report = plan_scan(cli, monkeypatch, repo / "infra", "./plan.json", *FAILING_ONLY,
                             "--baseline", "../.phigate-baseline.json")
    assert code == 0
    section = report["baseline"]
    assert section["new"] == [] and len(section["unchanged"]) == 5
    assert section["resolved"] == [] and section["not_evaluated"] == []


def test_changed_only_reports_baseline_failures_it_did_not_evaluate_as_not_evaluated(
        cli: Cli, monkeypatch: pytest.MonkeyPatch, repo: Path) -> None:
    only = ("--only", "PHI-ENC-002", "--only", "PHI-TLS-001")
    plan_scan(cli, monkeypatch, repo, "infra/plan.json", *only, "--format", "json=base.json")
    _, whole = plan_scan(cli, monkeypatch, repo, "infra/plan.json", *only, "--baseline", "base.json")
    assert whole["baseline"]["resolved"] == [] and whole["baseline"]["not_evaluated"] == []
    _, changed = plan_scan(cli, monkeypatch, repo, "infra/plan.json", *only, "--changed-only",
                           "--baseline", "base.json")
    section = changed["baseline"]
    assert section["resolved"] == []  # nothing was fixed: what was not evaluated is not resolved
    left_out = {(k["policy_id"], k["resource"]["address"]) for k in section["not_evaluated"]}
    assert ("PHI-ENC-002", "aws_db_instance.patients") in left_out  # unchanged by the plan
    evaluated = {f["resource"]["address"] for f in changed["findings"]}
    assert not {address for _, address in left_out} & evaluated
    text = cli("scan", "infra/plan.json", *only, "--changed-only", "--baseline", "base.json")
    assert f"{len(left_out)} not evaluated by this run" in text.out


def test_a_baseline_of_the_earlier_shape_never_calls_plan_failures_resolved(
        cli: Cli, monkeypatch: pytest.MonkeyPatch, repo: Path, tmp_path: Path) -> None:
    _, report = plan_scan(cli, monkeypatch, repo / "infra", "plan.json", *FAILING_ONLY)
    for finding in report["findings"]:  # as earlier versions wrote it: the path as typed
        r = finding["resource"]
        del r["address"]
        r["scope"] = "plan.json"
        finding["id"] = _earlier_id(finding["policy_id"], r["provider"], r["scope"], r["id"])
    old = tmp_path / "old-baseline.json"
    old.write_text(json.dumps(report))
    code, now = plan_scan(cli, monkeypatch, repo / "infra", "plan.json", *FAILING_ONLY,
                          "--baseline", str(old))
    assert code == 1  # every failure is new once: the documented one-time change
    section = now["baseline"]
    assert len(section["new"]) == 5 and section["unchanged"] == [] and section["resolved"] == []
    assert len(section["not_evaluated"]) == 5


def test_ids_of_resources_not_read_from_a_plan_are_those_of_earlier_versions(
        cli: Cli, write_snapshot: Callable[..., Path]) -> None:
    _, report = run(cli, write_snapshot([store("kept")]))
    [finding] = report["findings"]
    r = finding["resource"]
    assert "address" not in r
    assert finding["id"] == _earlier_id(finding["policy_id"], r["provider"], r["scope"], r["id"])


def _earlier_id(policy: str, provider: str, scope: str, rid: str) -> str:
    return hashlib.sha256("\x00".join((policy, provider, scope, rid)).encode()).hexdigest()[:32]


# --- exit codes: --fail-on, waivers, baseline and evidence --------------------------------

def _waivers(tmp_path: Path, *entries: tuple[str, ...]) -> Path:
    """Waivers of every resource: (policy, expiry) for failures, (policy, expiry, "error")."""
    path = tmp_path / "waivers.yaml"
    lines = ["waivers:"] + [f"  - {{policy: {p}, resource: '*', reason: r, owner: o, expires: '{e}', "
                            f"status: {status[0] if status else 'fail'}}}"
                            for p, e, *status in entries]
    path.write_text("\n".join(lines) + "\n")
    return path


#: (--fail-on, waivers (policy, expiry[, status]), baseline (None, "all" or one policy id), an
#: unseen attribute on a second store, the exit code)
Case = tuple[str, list[tuple[str, ...]], str | None, bool, int]
FOREVER = "2999-01-01"


@pytest.mark.parametrize("case", [
    ("info", [], None, False, 1),
    ("critical", [], None, False, 0),                                    # both below the threshold
    ("high", [], None, False, 1),                                        # G-HIGH fails
    ("high", [("G-HIGH", "2999-01-01")], None, False, 0),                # G-LOW is below high
    ("info", [("G-HIGH", "2999-01-01")], None, False, 1),                # G-LOW still fails
    ("info", [("G-HIGH", "2999-01-01"), ("G-LOW", "2999-01-01")], None, False, 0),
    ("high", [("G-HIGH", "2000-01-01")], None, False, 1),                # expired: gates again
    ("info", [], "all", False, 0),                                       # nothing new
    ("info", [], "G-LOW", False, 1),                                     # G-HIGH is new
    ("high", [], "G-HIGH", False, 0),                                    # new G-LOW is below high
    ("low", [], "G-HIGH", False, 1),                                     # … but not below low
    ("info", [("G-HIGH", "2999-01-01")], "G-LOW", False, 0),             # new, but waived
    ("info", [("G-HIGH", "2999-01-01"), ("G-LOW", "2999-01-01")], "all", True, 3),  # errors win
    ("critical", [], None, True, 3),
    ("critical", [("G-HIGH", FOREVER, "error")], None, True, 0),         # the one error accepted
    ("info", [("G-HIGH", FOREVER, "error")], None, True, 1),             # failures still gate
    ("info", [("G-HIGH", FOREVER, "error"), ("G-LOW", FOREVER)], "all", True, 0),
    ("critical", [("G-LOW", FOREVER, "error")], None, True, 3),          # G-HIGH's error stays
    ("critical", [("G-HIGH", "2000-01-01", "error")], None, True, 3),    # expired
])
def test_exit_codes_honour_fail_on_waivers_and_baselines(
        cli: Cli, write_snapshot: Callable[..., Path], write_policy: Callable[..., Path],
        tmp_path: Path, case: Case) -> None:
    fail_on, waived, baseline, blind, code = case
    for name, text in GATE_POLICIES.items():
        folder = write_policy(text, name).parent
    failing = write_snapshot([store("a")], name="a.json")
    extra = ["--fail-on", fail_on]
    if waived:
        extra += ["--waivers", str(_waivers(tmp_path, *waived))]
    if baseline is not None:
        only = [] if baseline == "all" else ["--only", baseline]
        extra += ["--baseline", str(baseline_of(cli, failing, tmp_path / "b.json", *only,
                                                policies=folder))]
    now = write_snapshot([store("a"), store("b", versioning=None)], name="now.json") if blind else failing
    assert run(cli, now, *extra, policies=folder)[0] == code


# --- the files that distribute the gate ---------------------------------------------------

def _subcommands() -> dict[str, argparse.ArgumentParser]:
    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return dict(action.choices)


def test_the_pre_commit_hooks_run_existing_commands() -> None:
    hooks = yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())
    by_id = {hook["id"]: hook for hook in hooks}
    assert set(by_id) == {"phigate-validate", "phigate-test"}
    commands = set(_subcommands())
    for hook in hooks:
        assert {"id", "name", "entry", "language"} <= set(hook)
        program, command = hook["entry"].split()
        assert program == "phigate" and command in commands and hook["language"] == "python"
    assert by_id["phigate-validate"]["entry"] == "phigate validate"
    assert by_id["phigate-test"]["entry"] == "phigate test"
