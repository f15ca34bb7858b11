"""Waivers: a matching failure is waived until the waiver expires; an error only by a waiver
that says ``status: error``; planned resources are matched by Terraform address too; expired
and unused waivers are reported; a broken waiver file stops the run with located problems
(exit 2)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from phigate.model import Finding, ResourceRef, Severity, Status
from phigate.run import RunResult
from phigate.schema_files import document_schema
from phigate.waivers import Waiver, WaiverFile, apply_waivers, load_waivers

from .conftest import DATA, ROOT, CliResult, resource

POLICIES = DATA / "policies"
Cli = Callable[..., CliResult]
FUTURE = "2999-12-31"
PAST = "2000-01-01"


def clinical_bucket(rid: str, versioning: bool | None = False, **fields: Any) -> dict[str, Any]:
    """A clinical store failing T-VERSIONING (medium), or erring when versioning is unseen."""
    attributes = {} if versioning is None else {"versioning": versioning}
    return resource(rid, "object_store", tags={"data_class": "clinical"}, attributes=attributes,
                    **fields)


def waiver_yaml(*entries: dict[str, str]) -> str:
    lines = ["version: 1", "waivers:"]
    for entry in entries:
        full = {"policy": "T-VERSIONING", "reason": "migration ticket OPS-12", "owner": "ops",
                "expires": FUTURE, **entry}
        lines.append("  - " + "\n    ".join(f"{k}: {json.dumps(v)}" for k, v in full.items()))
    return "\n".join(lines) + "\n"


@pytest.fixture
def write_waivers(tmp_path: Path) -> Callable[..., Path]:
    def write(text: str, name: str = "waivers.yaml") -> Path:
        path = tmp_path / name
        path.write_text(text)
        return path
    return write


def scan(cli: Cli, snapshot: Path, *extra: str) -> tuple[int, dict[str, Any]]:
    result = cli("scan", str(snapshot), "--policies", str(POLICIES), "--format", "json", *extra)
    assert not result.err, result.err
    report = result.json()
    jsonschema.Draft202012Validator(document_schema("report")).validate(report)
    return result.code, report


def by_resource(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["resource"]["id"]: f for f in report["findings"]}


def test_a_waiver_turns_the_failure_into_waived_and_the_gate_passes(
        cli: Cli, write_snapshot: Callable[..., Path], write_waivers: Callable[..., Path]) -> None:
    snapshot = write_snapshot([clinical_bucket("notes")])
    assert scan(cli, snapshot)[0] == 1
    waivers = write_waivers(waiver_yaml({"resource": "notes"}))
    code, report = scan(cli, snapshot, "--waivers", str(waivers))
    assert code == 0
    finding = by_resource(report)["notes"]
    assert finding["status"] == "waived"
    assert finding["waiver"] == {"policy": "T-VERSIONING", "resource": "notes",
                                 "reason": "migration ticket OPS-12", "owner": "ops",
                                 "expires": FUTURE, "source": f"{waivers}:3"}
    assert report["summary"]["fail"] == 0 and report["summary"]["waived"] == 1
    counts = next(p["counts"] for p in report["policies"] if p["id"] == "T-VERSIONING")
    assert counts["fail"] == 0 and counts["waived"] == 1
    assert [w["findings"] for w in report["waivers"]["applied"]] == [[finding["id"]]]
    assert report["waivers"]["expired"] == [] and report["waivers"]["unused"] == []


def test_the_text_report_shows_the_reason(cli: Cli, write_snapshot: Callable[..., Path],
                                          write_waivers: Callable[..., Path]) -> None:
    snapshot = write_snapshot([clinical_bucket("notes")])
    waivers = write_waivers(waiver_yaml({"resource": "notes"}))
    result = cli("scan", str(snapshot), "--policies", str(POLICIES), "--waivers", str(waivers))
    assert result.code == 0
    assert "WAIVED" in result.out and "migration ticket OPS-12" in result.out
    assert "0 failed" in result.out and "1 waived" in result.out


def test_a_waived_failure_still_fails_its_controls(
        cli: Cli, write_snapshot: Callable[..., Path], write_waivers: Callable[..., Path]) -> None:
    """A waiver accepts a risk for the gate; it does not make the control satisfied."""
    snapshot = write_snapshot([clinical_bucket("notes"), clinical_bucket("labs", versioning=True)])
    waivers = write_waivers(waiver_yaml({"resource": "notes"}))
    _, report = scan(cli, snapshot, "--waivers", str(waivers))
    hipaa = next(c for c in report["compliance"] if c["framework"] == "hipaa")
    assert next(c["status"] for c in hipaa["controls"] if c["id"] == "164.312(c)(1)") == "failed"


def test_resource_patterns_and_filters_choose_what_is_waived(
        cli: Cli, write_snapshot: Callable[..., Path], write_waivers: Callable[..., Path]) -> None:
    snapshot = write_snapshot([clinical_bucket("arn:aws:s3:::notes-eu"),
                               clinical_bucket("arn:aws:s3:::notes-us"),
                               clinical_bucket("arn:aws:s3:::labs"),
                               clinical_bucket("arn:aws:s3:::scans", scope="other-account"),
                               clinical_bucket("arn:aws:s3:::x[1]")])
    waivers = write_waivers(waiver_yaml(
        {"resource": "arn:aws:s3:::notes-*"},
        {"resource": "arn:aws:s3:::*s", "scope": "other-*"},      # scans only, not labs
        {"resource": "arn:aws:s3:::labs", "provider": "aws"},     # labs is provider "test"
        {"resource": "arn:aws:s3:::x[1]"},                        # literal brackets
    ))
    code, report = scan(cli, snapshot, "--waivers", str(waivers))
    status = {rid: f["status"] for rid, f in by_resource(report).items()}
    assert status == {"arn:aws:s3:::notes-eu": "waived", "arn:aws:s3:::notes-us": "waived",
                      "arn:aws:s3:::scans": "waived", "arn:aws:s3:::x[1]": "waived",
                      "arn:aws:s3:::labs": "fail"}
    assert code == 1
    assert [w["resource"] for w in report["waivers"]["unused"]] == ["arn:aws:s3:::labs"]


def test_an_expired_waiver_stops_applying_and_is_reported(
        cli: Cli, write_snapshot: Callable[..., Path], write_waivers: Callable[..., Path]) -> None:
    snapshot = write_snapshot([clinical_bucket("notes")])
    waivers = write_waivers(waiver_yaml({"resource": "notes", "expires": PAST}))
    code, report = scan(cli, snapshot, "--waivers", str(waivers))
    assert code == 1
    finding = by_resource(report)["notes"]
    assert finding["status"] == "fail" and "waiver" not in finding
    expired = report["waivers"]["expired"]
    assert [(w["expires"], w["findings"]) for w in expired] == [(PAST, [finding["id"]])]
    text = cli("scan", str(snapshot), "--policies", str(POLICIES), "--waivers", str(waivers))
    assert f"expired waiver {waivers}:3" in text.out and "1 failures no longer waived" in text.out


def test_a_waiver_applies_through_its_expiry_day() -> None:
    ref = ResourceRef("notes", "test.object_store", "object_store", "test", "acct")
    failure = Finding("T-VERSIONING", "t", Severity.MEDIUM, Status.FAIL, ref, "versioning is false")
    waiver = Waiver("T-VERSIONING", "notes", "r", "o", dt.date(2026, 3, 31))

    def outcome_on(day: dt.date) -> tuple[Status, int, int]:
        result = RunResult(policies=[], scopes=[], started=dt.datetime.now(dt.UTC),
                           findings=[failure],
                           counts={"T-VERSIONING": {Status.FAIL: 1, Status.WAIVED: 0}},
                           counts_by_provider={"T-VERSIONING": {"test": {Status.FAIL: 1}}})
        done = apply_waivers(result, WaiverFile("w.yaml", (waiver,)), day)
        assert done.waivers is not None
        assert done.counts_by_provider["T-VERSIONING"]["test"][Status.FAIL] == \
            done.counts["T-VERSIONING"][Status.FAIL]
        assert result.findings[0].status is Status.FAIL, "the scan's own result is left as it was"
        return done.findings[0].status, len(done.waivers.applied), len(done.waivers.expired)

    assert outcome_on(dt.date(2026, 3, 31)) == (Status.WAIVED, 1, 0)
    assert outcome_on(dt.date(2026, 4, 1)) == (Status.FAIL, 0, 1)


def test_an_unused_waiver_is_reported(cli: Cli, write_snapshot: Callable[..., Path],
                                      write_waivers: Callable[..., Path]) -> None:
    snapshot = write_snapshot([clinical_bucket("notes"), clinical_bucket("labs", versioning=True)])
    waivers = write_waivers(waiver_yaml({"resource": "notes"}, {"resource": "labs"},
                                        {"policy": "T-NO-SUCH-POLICY", "resource": "*"}))
    code, report = scan(cli, snapshot, "--waivers", str(waivers))
    assert code == 0
    unused = report["waivers"]["unused"]
    assert [(w["policy"], w["resource"]) for w in unused] == [("T-VERSIONING", "labs"),
                                                             ("T-NO-SUCH-POLICY", "*")]
    text = cli("scan", str(snapshot), "--policies", str(POLICIES), "--waivers", str(waivers))
    assert f"unused waiver {waivers}:8: T-VERSIONING on labs" in text.out


def test_errors_are_not_waived_by_a_failure_waiver(cli: Cli, write_snapshot: Callable[..., Path],
                                 write_waivers: Callable[..., Path]) -> None:
    snapshot = write_snapshot([clinical_bucket("notes", versioning=None)])  # versioning unseen
    waivers = write_waivers(waiver_yaml({"resource": "*"}))
    code, report = scan(cli, snapshot, "--waivers", str(waivers))
    assert code == 3
    assert by_resource(report)["notes"]["status"] == "error"
    assert report["summary"]["waived"] == 0 and len(report["waivers"]["unused"]) == 1


def test_the_first_matching_waiver_applies(cli: Cli, write_snapshot: Callable[..., Path],
                                           write_waivers: Callable[..., Path]) -> None:
    snapshot = write_snapshot([clinical_bucket("notes")])
    waivers = write_waivers(waiver_yaml({"resource": "notes", "reason": "first"},
                                        {"resource": "*", "reason": "second"}))
    _, report = scan(cli, snapshot, "--waivers", str(waivers))
    assert by_resource(report)["notes"]["waiver"]["reason"] == "first"
    assert [w["reason"] for w in report["waivers"]["unused"]] == ["second"]


def test_an_unquoted_date_is_read_as_the_date_it_says(write_waivers: Callable[..., Path]) -> None:
    path = write_waivers("waivers:\n  - {policy: P, resource: r, reason: x, owner: o,"
                         " expires: 2027-02-03}\n  - policy: P\n    resource: s\n    reason: x\n"
                         "    owner: o\n    expires: 2027-02-04  # end of the contract\n")
    assert [w.expires for w in load_waivers(path).waivers] == [dt.date(2027, 2, 3),
                                                              dt.date(2027, 2, 4)]


@pytest.mark.parametrize("text, expected", [
    ("waivers:\n  - policy: P\n    resource: r\n    reason: x\n    expires: 2027-01-01\n",
     ":2:5: 'owner' is required (/waivers/0)"),
    ("waivers:\n  - {policy: P, resource: r, reason: x, owner: o, expires: '2027-01-01', ticket: 1}\n",
     ":2:74: unknown key 'ticket' (/waivers/0/ticket)"),
    ("waivers:\n  - {policy: P, resource: r, reason: x, owner: o, expires: '2027-02-30'}\n",
     ":2:60: '2027-02-30' is not a calendar date (/waivers/0/expires)"),
    ("waivers:\n  - {policy: P, resource: r, reason: x, owner: o, expires: 31/12/2027}\n",
     ":2:60: expires takes a date written YYYY-MM-DD, not \"31/12/2027\""),
    ("waivers:\n  - {policy: P, resource: r, reason: x, owner: o, expires: 2027-01-01 10:00:00}\n",
     ":2:60: expires takes a date (YYYY-MM-DD), not a date and time (/waivers/0/expires)"),
    ("waivers:\n  - {policy: P, resource: r, reason: '  ', owner: o, expires: '2027-01-01'}\n",
     ":2:38: reason is blank (/waivers/0/reason)"),
    ("waivers:\n  - {policy: P, resource: r, reason: x, owner: o, expires: '2027-01-01'}\n"
     "  - {policy: P, resource: r, reason: y, owner: p, expires: '2028-01-01'}\n",
     ":3:5: the same policy, resource, scope, provider and status as the waiver at line 2 (/waivers/1)"),
    ("waivers:\n  - policy: P\n    policy: Q\n", ":3:5: duplicate key 'policy'"),
    ("waivers: [\n", ":2:1: YAML syntax error"),
    ("- {policy: P, resource: r}\n", ":1:1: a waiver file holds one mapping"),
    ("", ":1:1: a waiver file holds one mapping"),
])
def test_a_malformed_waiver_file_exits_2_with_located_problems(
        cli: Cli, write_snapshot: Callable[..., Path], write_waivers: Callable[..., Path],
        text: str, expected: str) -> None:
    snapshot = write_snapshot([clinical_bucket("notes")])
    waivers = write_waivers(text)
    result = cli("scan", str(snapshot), "--policies", str(POLICIES), "--waivers", str(waivers))
    assert result.code == 2
    assert f"error: {waivers}{expected}" in result.err
    assert "Traceback" not in result.err and result.out == ""


def test_a_missing_waiver_file_exits_2(cli: Cli, write_snapshot: Callable[..., Path],
                                       tmp_path: Path) -> None:
    result = cli("scan", str(write_snapshot([clinical_bucket("notes")])), "--policies", str(POLICIES),
                 "--waivers", str(tmp_path / "absent.yaml"))
    assert result.code == 2 and "absent.yaml:1:1: cannot read file" in result.err


def test_the_config_names_the_waiver_file_and_the_option_overrides_it(
        cli: Cli, write_snapshot: Callable[..., Path], write_waivers: Callable[..., Path],
        tmp_path: Path) -> None:
    snapshot = write_snapshot([clinical_bucket("notes")])
    (tmp_path / "gate").mkdir()
    config = tmp_path / "gate" / "phigate.yaml"
    config.write_text("version: 1\nwaivers: accepted.yaml\n")  # beside the config, not the cwd
    (tmp_path / "gate" / "accepted.yaml").write_text(waiver_yaml({"resource": "notes"}))
    code, report = scan(cli, snapshot, "--config", str(config))
    assert code == 0 and report["waivers"]["file"] == str(tmp_path / "gate" / "accepted.yaml")
    other = write_waivers(waiver_yaml({"resource": "labs"}), name="other.yaml")
    code, report = scan(cli, snapshot, "--config", str(config), "--waivers", str(other))
    assert code == 1 and report["waivers"]["file"] == str(other)


def test_a_report_without_waivers_has_no_waiver_section(cli: Cli,
                                                        write_snapshot: Callable[..., Path]) -> None:
    _, report = scan(cli, write_snapshot([clinical_bucket("notes")]))
    assert "waivers" not in report and "waiver" not in report["findings"][0]


def test_the_schema_is_valid_and_the_documented_example_loads(tmp_path: Path) -> None:
    schema = json.loads(resources.files("phigate.schemas").joinpath("waivers-v1.schema.json")
                        .read_text("utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    docs = (ROOT / "docs" / "ci-gate.md").read_text()
    example = next(block for block in docs.split("```yaml\n")[1:] if block.startswith("version: 1"))
    path = tmp_path / "documented.yaml"
    path.write_text(example.split("```")[0])
    loaded = load_waivers(path).waivers
    assert [(w.policy, w.scope, w.expires) for w in loaded] == [
        ("PHI-IAM-002", None, dt.date(2026, 6, 30)), ("PHI-RES-001", "111122223333", dt.date(2026, 3, 31))]


# --- errors accepted explicitly -------------------------------------------------------------

def test_an_error_is_waived_by_a_waiver_that_says_status_error(
        cli: Cli, write_snapshot: Callable[..., Path], write_waivers: Callable[..., Path]) -> None:
    snapshot = write_snapshot([clinical_bucket("notes", versioning=None)])
    waivers = write_waivers(waiver_yaml({"resource": "notes", "status": "error",
                                         "reason": "versioning managed in the storage repository"}))
    code, report = scan(cli, snapshot, "--waivers", str(waivers))
    assert code == 0  # the only error is accepted: no exit 3
    finding = by_resource(report)["notes"]
    assert finding["status"] == "waived" and finding["waiver"]["status"] == "error"
    assert report["summary"]["error"] == 0 and report["summary"]["waived"] == 1
    assert report["summary"]["evidence_complete"] is False  # accepted, still not seen
    assert [w["findings"] for w in report["waivers"]["applied"]] == [[finding["id"]]]
    text = cli("scan", str(snapshot), "--policies", str(POLICIES), "--waivers", str(waivers))
    assert "WAIVED (error)" in text.out
    assert "waived error: versioning managed in the storage repository" in text.out


def test_an_error_waiver_does_not_waive_a_failure_nor_a_failure_waiver_an_error(
        cli: Cli, write_snapshot: Callable[..., Path], write_waivers: Callable[..., Path]) -> None:
    snapshot = write_snapshot([clinical_bucket("notes"), clinical_bucket("scans", versioning=None)])
    waivers = write_waivers(waiver_yaml({"resource": "notes", "status": "error"},
                                        {"resource": "scans", "status": "fail"}))
    code, report = scan(cli, snapshot, "--waivers", str(waivers))
    assert code == 3
    found = by_resource(report)
    assert found["notes"]["status"] == "fail" and found["scans"]["status"] == "error"
    assert len(report["waivers"]["unused"]) == 2 and report["waivers"]["applied"] == []


def test_an_expired_error_waiver_leaves_the_error_and_exit_3(
        cli: Cli, write_snapshot: Callable[..., Path], write_waivers: Callable[..., Path]) -> None:
    snapshot = write_snapshot([clinical_bucket("notes", versioning=None)])
    waivers = write_waivers(waiver_yaml({"resource": "notes", "status": "error", "expires": PAST}))
    code, report = scan(cli, snapshot, "--waivers", str(waivers))
    assert code == 3
    finding = by_resource(report)["notes"]
    assert finding["status"] == "error"
    assert [w["findings"] for w in report["waivers"]["expired"]] == [[finding["id"]]]


def test_collection_errors_are_never_waived(
        cli: Cli, write_snapshot: Callable[..., Path], write_waivers: Callable[..., Path]) -> None:
    error = {"provider": "test", "scope": "acct", "kinds": ["object_store"], "types": [],
             "message": "AccessDenied listing stores"}
    snapshot = write_snapshot([clinical_bucket("notes", versioning=True)], errors=[error])
    waivers = write_waivers(waiver_yaml({"resource": "*", "status": "error"}))
    code, report = scan(cli, snapshot, "--waivers", str(waivers))
    assert code == 3 and len(report["collection_errors"]) == 1


def test_a_status_other_than_fail_or_error_is_refused(
        cli: Cli, write_snapshot: Callable[..., Path], write_waivers: Callable[..., Path]) -> None:
    waivers = write_waivers(waiver_yaml({"resource": "notes", "status": "pass"}))
    result = cli("scan", str(write_snapshot([clinical_bucket("notes")])), "--policies", str(POLICIES),
                 "--waivers", str(waivers))
    assert result.code == 2
    assert f"error: {waivers}:8:13:" in result.err and "status" in result.err


def test_one_resource_may_have_a_failure_waiver_and_an_error_waiver(
        write_waivers: Callable[..., Path]) -> None:
    path = write_waivers(waiver_yaml({"resource": "notes"}, {"resource": "notes", "status": "error"}))
    assert [w.status for w in load_waivers(path).waivers] == [Status.FAIL, Status.ERROR]


# --- planned resources: Terraform addresses ------------------------------------------------

PLAN = DATA / "terraform" / "clinic" / "plan.json"


def test_waivers_match_terraform_addresses_and_globs_over_them(
        cli: Cli, write_waivers: Callable[..., Path]) -> None:
    waivers = write_waivers(waiver_yaml(
        {"policy": "PHI-TLS-001", "resource": "aws_s3_bucket.archive"},
        {"policy": "PHI-INT-001", "resource": "module.scans.aws_s3_bucket.*"},
        {"policy": "PHI-INT-001", "resource": "google_storage_bucket.*", "provider": "gcp"}))
    result = cli("scan", str(PLAN), "--only", "PHI-TLS-001", "--only", "PHI-INT-001",
                 "--waivers", str(waivers), "--format", "json")
    report = result.json()
    outcomes = {(f["policy_id"], f["resource"]["address"]): f["status"] for f in report["findings"]}
    assert outcomes == {
        ("PHI-TLS-001", "aws_s3_bucket.archive"): "waived",
        ("PHI-TLS-001", "module.scans.aws_s3_bucket.this"): "fail",
        ("PHI-INT-001", "aws_s3_bucket.archive"): "fail",
        ("PHI-INT-001", "module.scans.aws_s3_bucket.this"): "waived",
        ("PHI-INT-001", "google_storage_bucket.imaging"): "waived",
    }
    assert report["waivers"]["unused"] == [] and result.code == 1


def test_the_documented_plan_example_loads_with_an_error_waiver(tmp_path: Path) -> None:
    docs = (ROOT / "docs" / "ci-gate.md").read_text()
    blocks = [block.split("```")[0] for block in docs.split("```yaml\n")[1:]
              if block.startswith("version: 1")]
    path = tmp_path / "plan-waivers.yaml"
    path.write_text(blocks[1])
    loaded = load_waivers(path).waivers
    assert [(w.resource, w.status) for w in loaded] == [
        ("module.storage.aws_s3_bucket.*", Status.FAIL),
        ("module.storage.aws_s3_bucket.notes", Status.ERROR)]


def test_address_patterns_over_counted_and_module_resources() -> None:
    def finding(address: str) -> Finding:
        return Finding("P", "t", Severity.HIGH, Status.FAIL,
                       ResourceRef(f"arn:aws:s3:::{address}", "aws.s3.bucket", "object_store", "aws",
                                   "infra/plan.json", address=address), "m")

    def waiver(pattern: str) -> Waiver:
        return Waiver("P", pattern, "r", "o", dt.date(2999, 1, 1))

    counted = finding("module.storage.aws_s3_bucket.this[0]")
    assert waiver("module.storage.aws_s3_bucket.this[0]").matches(counted)  # literally
    assert waiver("module.storage.aws_s3_bucket.this*").matches(counted)
    assert waiver("module.storage.aws_s3_bucket.*").matches(counted)
    assert not waiver("module.storage.aws_s3_bucket.this[*]").matches(counted)  # a set: "*" only
    assert not waiver("aws_s3_bucket.*").matches(counted)  # the module is part of the address
    assert waiver("arn:aws:s3:::module.storage.*").matches(counted)  # the id still matches
