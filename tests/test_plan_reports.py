"""Findings of planned resources in every report: named by their Terraform address (what the
code says), whatever their real-world id; JUnit counts the test cases it lists."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from phigate.schema_files import document_schema

from .conftest import DATA, CliResult

Cli = Callable[..., CliResult]
PLAN = DATA / "terraform" / "clinic" / "plan.json"
ADDRESS, ARN = "module.scans.aws_s3_bucket.this", "arn:aws:s3:::exemplum-scans"


@dataclass
class Reports:
    code: int
    text: str
    json: dict[str, Any]
    sarif: dict[str, Any]
    junit: ET.Element
    markdown: str


def scan(cli: Cli, folder: Path, *args: str) -> Reports:
    files = {name: folder / f"report.{name}" for name in ("json", "sarif", "junit", "markdown")}
    result = cli("scan", *args, *(x for name, path in files.items() for x in ("--format", f"{name}={path}")),
                 "--format", "text")
    assert result.code != 2, result.err
    report = json.loads(files["json"].read_text())
    jsonschema.Draft202012Validator(document_schema("report")).validate(report)
    return Reports(result.code, result.out, report, json.loads(files["sarif"].read_text()),
                   ET.fromstring(files["junit"].read_text()), files["markdown"].read_text())


def test_planned_findings_carry_their_terraform_address_in_every_report(
        cli: Cli, tmp_path: Path) -> None:
    reports = scan(cli, tmp_path, str(PLAN), "--only", "PHI-TLS-001")
    [finding] = [f for f in reports.json["findings"] if f["resource"]["id"] == ARN]
    assert finding["resource"]["address"] == ADDRESS
    [result] = [r for r in reports.sarif["runs"][0]["results"]
                if r["properties"]["resource"]["id"] == ARN]
    assert result["properties"]["resource"]["address"] == ADDRESS
    assert result["message"]["text"].startswith(f"{ADDRESS} ({ARN}): ")
    assert result["locations"][0]["logicalLocations"][0]["name"] == ADDRESS
    names = {c.get("name") for c in reports.junit.iter("testcase")}
    assert ADDRESS in names and ARN not in names
    assert f"`{ADDRESS}`" in reports.markdown and ARN not in reports.markdown
    assert ADDRESS in reports.text


def _check_counts(root: ET.Element) -> None:
    totals = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
    for suite in root.iter("testsuite"):
        cases = suite.findall("testcase")
        listed = {"tests": len(cases), "failures": len(suite.findall("testcase/failure")),
                  "errors": len(suite.findall("testcase/error")),
                  "skipped": len(suite.findall("testcase/skipped"))}
        assert {key: int(suite.get(key, "")) for key in listed} == listed, suite.get("name")
        for key, value in listed.items():
            totals[key] += value
    assert {key: int(root.get(key, "")) for key in totals} == totals


@pytest.mark.parametrize("show_passed", [False, True])
def test_junit_counts_are_the_cases_it_lists_with_or_without_passes(
        cli: Cli, tmp_path: Path, show_passed: bool) -> None:
    extra = ["--show-passed"] if show_passed else []
    reports = scan(cli, tmp_path, str(PLAN), "--only", "PHI-ENC-00[1-2]", "--only", "PHI-TLS-001", *extra)
    _check_counts(reports.junit)
    summary = reports.json["summary"]
    assert summary["error"] > 0 and summary["fail"] > 0 and summary["pass"] > 0
    listed = sum(summary[s] for s in ("fail", "error", "waived")) + (summary["pass"] if show_passed else 0)
    assert int(reports.junit.get("tests", "")) == listed
    for suite in reports.junit.iter("testsuite"):
        properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
        policy = next(p for p in reports.json["policies"] if p["id"] == suite.get("name"))
        assert properties["passed"] == str(policy["counts"]["pass"])


def test_junit_names_the_same_address_in_two_plans_by_plan(cli: Cli, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("prod", "staging"):
        (tmp_path / name).mkdir()
        shutil.copy(PLAN, tmp_path / name / "plan.json")
    monkeypatch.chdir(tmp_path)
    reports = scan(cli, tmp_path, "prod/plan.json", "staging/plan.json", "--only", "PHI-TLS-001")
    names = [c.get("name") for c in reports.junit.iter("testcase")]
    assert len(names) == len(set(names)) == 4
    assert f"{ADDRESS} ({(tmp_path / 'prod/plan.json').as_posix()})" in names
    ids = [f["id"] for f in reports.json["findings"]]
    assert len(ids) == len(set(ids)) == 4  # two plans, two findings each: never one id


def test_a_waived_error_is_shown_as_such_in_junit_and_sarif(cli: Cli, tmp_path: Path) -> None:
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text("waivers:\n  - policy: PHI-ENC-001\n    resource: aws_ebs_volume.*\n"
                       "    status: error\n    reason: encryption set by the account default\n"
                       "    owner: platform\n    expires: '2999-01-01'\n")
    reports = scan(cli, tmp_path, str(PLAN), "--only", "PHI-ENC-001", "--waivers", str(waivers))
    assert reports.code == 1  # the error is accepted; ledger's failure still gates
    assert reports.json["summary"]["error"] == 0 and reports.json["summary"]["waived"] == 1
    [case] = [c for c in reports.junit.iter("testcase") if c.get("name") == "aws_ebs_volume.scratch"]
    skipped = case.find("skipped")
    assert skipped is not None
    assert (skipped.get("message") or "").startswith("waived error: encryption set by the account default")
    [result] = [r for r in reports.sarif["runs"][0]["results"]
                if r["properties"]["resource"].get("address") == "aws_ebs_volume.scratch"]
    assert result["suppressions"][0]["justification"] == "encryption set by the account default"
    assert result["message"]["text"].startswith("not evaluated (error waived): aws_ebs_volume.scratch")
    assert "WAIVED (error)" in reports.text
    # Accepted for the gate, still not seen.
    assert reports.json["summary"]["evidence_complete"] is False
    assert reports.sarif["runs"][0]["properties"]["evidence-complete"] is False
    assert reports.sarif["runs"][0]["invocations"][0]["executionSuccessful"] is False


def test_every_finding_on_a_declared_resource_has_its_address_deferred_policies_included(
        cli: Cli, tmp_path: Path) -> None:
    # PHI-SEG-001 follows references: decided at the end of the stream, on a slim copy.
    reports = scan(cli, tmp_path, str(PLAN), "--show-passed")
    assert any(f["policy_id"] == "PHI-SEG-001" and f["resource"].get("address") == "aws_s3_bucket.notes"
               for f in reports.json["findings"])
    without = {f["resource"]["id"] for f in reports.json["findings"] if "address" not in f["resource"]}
    assert without == {"allUsers"}  # a member the plan's IAM bindings imply, declared nowhere
