"""The command line as users and scripts meet it: one shape, stable output, honest exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import jsonschema
import pytest

from phigate import __version__
from phigate.api import KINDS
from phigate.load import bundled_pack
from phigate.schema_files import document_schema

from .conftest import DATA, ROOT, CliResult, resource

EXAMPLE = ROOT / "examples" / "supplier-estate.json"
POLICIES = DATA / "policies"
Cli = Callable[..., CliResult]


def test_the_example_estate_fails_and_its_report_validates(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "report.json"
    result = cli("scan", str(EXAMPLE), "--format", "text", "--format", f"json={out}")
    assert result.code == 1
    assert "PHI-SEG-002" in result.out and "failed" in result.out
    report = json.loads(out.read_text())
    jsonschema.Draft202012Validator(document_schema("report")).validate(report)
    assert report["summary"]["fail"] > 0 and report["summary"]["error"] == 0
    failing = {(f["policy_id"], f["resource"]["name"]) for f in report["findings"]}
    assert ("PHI-SEG-002", "exemplum-analytics") in failing       # reads notes and admin exports
    assert ("PHI-ENC-002", "exemplum-prod-clinical-notes") in failing  # AWS-managed key
    assert ("PHI-SEG-003", "public") in {(p, n.rsplit(".", 1)[-1]) for p, n in failing}


def test_json_reports_are_deterministic(cli: Cli) -> None:
    first = cli("scan", str(EXAMPLE), "--format", "json").json()
    second = cli("scan", str(EXAMPLE), "--format", "json").json()
    for report in (first, second):
        report.pop("started")
        report.pop("finished")
    assert first == second
    keys = [(f["policy_id"], f["resource"]["id"]) for f in first["findings"]]
    assert keys == sorted(keys)


def test_the_report_leaves_raw_data_out(cli: Cli, write_snapshot: Callable[..., Path]) -> None:
    secret = resource("arn:aws:s3:::notes", "object_store", "aws.s3.bucket",
                      tags={"data_class": "clinical"}, attributes={"versioning": False},
                      raw={"Policy": "CANARY-raw-bucket-policy"})
    result = cli("scan", str(write_snapshot([secret])), "--policies", str(POLICIES),
                 "--format", "json", "--show-passed")
    assert result.code == 1
    assert "CANARY" not in result.out


def test_collection_errors_make_the_exit_code_3(cli: Cli, write_snapshot: Callable[..., Path]) -> None:
    path = write_snapshot([resource("b", "object_store", tags={"data_class": "clinical"},
                                    attributes={"versioning": False})],
                          [{"provider": "aws", "message": "Throttling: rate exceeded",
                            "kinds": ["object_store"]}])
    result = cli("scan", str(path), "--policies", str(POLICIES))
    assert result.code == 3
    assert "Evidence is incomplete" in result.out


@pytest.mark.parametrize("fail_on, code", [("critical", 0), ("medium", 1)])
def test_fail_on_sets_the_threshold(cli: Cli, write_snapshot: Callable[..., Path],
                                    fail_on: str, code: int) -> None:
    path = write_snapshot([resource("b", "object_store", tags={"data_class": "clinical"},
                                    attributes={"versioning": False})])
    assert cli("scan", str(path), "--policies", str(POLICIES), "--fail-on", fail_on).code == code


def test_only_and_skip_select_policies(cli: Cli, write_snapshot: Callable[..., Path]) -> None:
    path = write_snapshot([resource("b", "object_store", tags={"data_class": "clinical"},
                                    attributes={"versioning": False})])
    only = cli("scan", str(path), "--policies", str(POLICIES), "--only", "T-SEG*", "--format", "json")
    assert [p["id"] for p in only.json()["policies"]] == ["T-SEGMENTATION"]
    assert only.code == 0
    skipped = cli("scan", str(path), "--policies", str(POLICIES), "--skip", "T-VERSIONING",
                  "--format", "json")
    assert "T-VERSIONING" not in {p["id"] for p in skipped.json()["policies"]}
    unknown = cli("scan", str(path), "--policies", str(POLICIES), "--only", "NOPE-*")
    assert unknown.code == 2 and "no loaded policy matches 'NOPE-*'" in unknown.err


def test_usage_errors_exit_2(cli: Cli, tmp_path: Path) -> None:
    assert cli("scan").code == 2
    assert cli("scan", str(tmp_path / "missing.json")).code == 2
    assert cli("scan", str(EXAMPLE), "--format", "xml").code == 2
    assert cli("scan", str(EXAMPLE), "--format", "json", "--format", "text").code == 2
    with pytest.raises(SystemExit) as caught:
        cli("scan", "--fail-on", "urgent")
    assert caught.value.code == 2


def test_policies_lists_the_bundled_pack(cli: Cli) -> None:
    result = cli("policies", "--format", "json")
    rows = result.json()
    assert result.code == 0
    ids = [row["id"] for row in rows]
    assert ids == sorted(ids) and "PHI-SEG-002" in ids
    assert all(row["controls"] and row["severity"] for row in rows)
    assert "PHI-ENC-005" in ids
    opt_in = {row["id"] for row in rows if row["opt_in"]}
    assert opt_in == {"PHI-SEG-004"}  # listed, run only when asked for
    table = cli("policies", "--only", "PHI-SEG-00*")
    marked = {line.split()[1]: "opt-in" in line for line in table.out.splitlines() if "PHI-SEG-00" in line}
    assert marked == {"PHI-SEG-001": False, "PHI-SEG-002": False, "PHI-SEG-003": False, "PHI-SEG-004": True}


def test_an_opt_in_policy_runs_only_when_asked_for(cli: Cli, write_snapshot: Callable[..., Path],
                                                   tmp_path: Path) -> None:
    sample = {"sampled": 20, "flagged": 2, "identified": 1, "sensitive": 1, "unreadable": 0, "skipped": 0,
              "bytes": 4096, "entities": {"HEALTH": 3}, "evidence": ["0123456789abcdef"]}
    path = write_snapshot([resource("arn:aws:s3:::admin-exports", "object_store", "aws.s3.bucket",
                                    tags={"data_class": "administrative"},
                                    attributes={"content_sample": sample})])
    enabled = tmp_path / "enabled.yaml"
    enabled.write_text("policies:\n  PHI-SEG-004: {enabled: true}\n")
    disabled = tmp_path / "disabled.yaml"
    disabled.write_text("policies:\n  PHI-SEG-004: {enabled: false}\n")

    def outcome(*args: str) -> str | None:
        """PHI-SEG-004's status for the bucket, or None when the run did not evaluate it."""
        result = cli("scan", str(path), "--format", "json", *args)
        report = result.json()
        if "PHI-SEG-004" not in {p["id"] for p in report["policies"]}:
            return None
        [status] = [f["status"] for f in report["findings"] if f["policy_id"] == "PHI-SEG-004"]
        return str(status)

    assert outcome() is None
    assert outcome("--only", "PHI-SEG-*") is None  # a glob keeps its meaning: what normally runs
    assert outcome("--only", "PHI-SEG-004") == "fail"
    assert outcome("--config", str(enabled)) == "fail"
    assert outcome("--sample-content") == "fail"
    assert outcome("--sample-content", "--skip", "PHI-SEG-004") is None
    only_opt_in = cli("scan", str(path), "--only", "*SEG-004")
    assert only_opt_in.code == 2 and "PHI-SEG-004 opt-in" in only_opt_in.err
    off = cli("scan", str(path), "--config", str(disabled), "--only", "PHI-SEG-004")
    assert off.code == 2 and "no loaded policy matches 'PHI-SEG-004'" in off.err


def test_validate_accepts_the_pack_and_the_example(cli: Cli) -> None:
    result = cli("validate", str(bundled_pack()), str(EXAMPLE))
    assert result.code == 0, result.err
    assert "policies" in result.out and "records" in result.out


def test_schema_prints_every_document_and_kind(cli: Cli) -> None:
    for name in ["policy", "report", "snapshot", "config", "fixture", *KINDS]:
        result = cli("schema", name)
        assert result.code == 0
        jsonschema.Draft202012Validator.check_schema(result.json())


def test_providers_declare_their_permissions(cli: Cli) -> None:
    rows = cli("providers", "--format", "json").json()
    snapshot = next(row for row in rows if row["name"] == "snapshot")
    assert snapshot["permissions"] and snapshot["installed"]
    assert cli("providers", "--permissions", "nope").code == 2


def test_phigate_test_runs_fixtures_and_can_fail(cli: Cli, tmp_path: Path) -> None:
    assert cli("test").code == 0
    (tmp_path / "p.yaml").write_text((POLICIES / "versioning.yaml").read_text())
    (tmp_path / "p.test.yaml").write_text(
        "policy: T-VERSIONING\ncases:\n  - name: wrong on purpose\n    resources:\n"
        "      - {id: b, type: aws.s3.bucket, kind: object_store, provider: aws,"
        " tags: {data_class: clinical}, attributes: {versioning: false}}\n"
        "    expect: {pass: [b]}\n")
    result = cli("test", str(tmp_path))
    assert result.code == 1
    assert "0 passed, 1 failed" in result.out


def test_version_and_console_script() -> None:
    done = subprocess.run([sys.executable, "-m", "phigate.cli", "--version"],
                          capture_output=True, text=True, check=False)
    assert done.stdout.strip() == f"phigate {__version__}"


def test_control_characters_never_reach_the_terminal(cli: Cli, write_snapshot: Callable[..., Path]) -> None:
    hostile = resource("b\x1b[31mred", "object_store", name="evil\x1b]0;title\x07",
                       tags={"data_class": "clinical"}, attributes={"versioning": False})
    result = cli("scan", str(write_snapshot([hostile])), "--policies", str(POLICIES))
    assert result.code == 1
    assert "\x1b" not in result.out and "\\x1b" in result.out


def test_reports_carry_a_per_control_summary(cli: Cli) -> None:
    report = cli("scan", str(EXAMPLE), "--format", "json").json()
    jsonschema.Draft202012Validator(document_schema("report")).validate(report)
    by_framework = {c["framework"]: c for c in report["compliance"]}
    assert {"hipaa", "gdpr", "iso27001-2022", "hds-2024"} <= set(by_framework)
    hds = by_framework["hds-2024"]
    assert [(c["id"], c["status"], c["policies"]) for c in hds["controls"]] == [
        ("28", "failed", ["PHI-RES-001"])]   # the us-east-1 backup of clinical notes
    iso = by_framework["iso27001-2022"]["summary"]
    assert iso["not_covered"] > 0 and iso["failed"] > 0  # supplier controls have no policy yet
    text = cli("scan", str(EXAMPLE)).out
    assert "controls satisfied" in text


def test_framework_selects_the_mapped_policies(cli: Cli) -> None:
    report = cli("scan", str(EXAMPLE), "--framework", "cis-gcp-5.0.0", "--format", "json").json()
    assert {p["id"] for p in report["policies"]} == {
        "PHI-IAM-002", "PHI-IAM-003", "PHI-AUTH-002", "PHI-AUTH-005", "PHI-LOG-001", "PHI-TLS-001"}
    assert cli("scan", str(EXAMPLE), "--framework", "sox").code == 2


def test_controls_prints_the_mapping_matrix(cli: Cli) -> None:
    rows = cli("controls", "gdpr", "--format", "json").json()
    assert {row["framework"] for row in rows} == {"gdpr"}
    covered = {row["control"]: row["policies"] for row in rows}
    assert "PHI-SEG-002" in covered["9(1)"] or any("PHI-SEG-002" in p for p in covered.values())
    assert cli("controls", "nope").code == 2


def test_findings_carry_where_a_resource_is_declared(write_snapshot: Callable[..., Path], tmp_path: Path) -> None:
    """raw["location"] survives the slim copies of deferred policies and reaches the report."""
    from tests.conftest import resource

    where = {"location": {"file": "stores/notes.tf", "line": 12}}
    notes = resource("arn:aws:s3:::notes", "object_store", "aws.s3.bucket", tags={"data_class": "clinical"},
                     attributes={"encryption": {"at_rest": True, "key": "k1", "key_manager": "customer"}},
                     raw=where)
    admin = resource("arn:aws:s3:::admin", "object_store", "aws.s3.bucket",
                     tags={"data_class": "administrative"},
                     attributes={"encryption": {"at_rest": True, "key": "k1", "key_manager": "customer"}})
    key = resource("k1", "key", "aws.kms.key", attributes={"manager": "customer"})
    from phigate.cli import main

    out = tmp_path / "r.json"
    main(["scan", str(write_snapshot([notes, admin, key])), "--only", "PHI-SEG-001", "--quiet",
          "--format", f"json={out}"])
    [finding] = json.loads(out.read_text())["findings"]
    assert finding["resource"]["location"] == {"file": "stores/notes.tf", "line": 12}
