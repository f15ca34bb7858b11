"""SARIF, JUnit and Markdown: what CI gates, code scanning and pull-request comments read.

One scan of the example estate writes every format at once (as a CI job does); each test reads
the files it needs and checks them against the JSON report of the same run.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from phigate.api import Scope
from phigate.baseline import BaselineComparison
from phigate.cli import main
from phigate.config import Config
from phigate.load import load_policies
from phigate.model import Status
from phigate.reporters.junit import COLLECTION_SUITE, JunitReporter
from phigate.reporters.markdown import MarkdownReporter, code, escape
from phigate.reporters.sarif import FINGERPRINT_KEY, PSEUDO_PATH, SarifReporter, artifact_uri
from phigate.run import RunResult, scan
from phigate.waivers import Waiver
from phigate_providers.snapshot import SnapshotProvider

from .conftest import DATA, ROOT, resource

EXAMPLE = ROOT / "examples" / "supplier-estate.json"
POLICIES = DATA / "policies"
SARIF_SCHEMA = json.loads((DATA / "sarif-schema-2.1.0.json").read_text("utf-8"))
LEVELS = {"critical": "error", "high": "error", "medium": "warning", "low": "note", "info": "note"}
REPORTED = ("fail", "error", "waived")


@dataclass
class Reports:
    code: int
    json: dict[str, Any]
    sarif: dict[str, Any]
    junit: ET.Element
    markdown: str
    folder: Path


def run_scan(folder: Path, *args: str) -> Reports:
    """``phigate scan`` writing JSON, SARIF, JUnit and Markdown files from one run."""
    folder.mkdir(parents=True, exist_ok=True)
    files = {name: folder / f"report.{name}" for name in ("json", "sarif", "junit", "markdown")}
    code = main(["scan", *args, "--quiet",
                 *(x for name, file in files.items() for x in ("--format", f"{name}={file}"))])
    return Reports(code, json.loads(files["json"].read_text("utf-8")),
                   json.loads(files["sarif"].read_text("utf-8")),
                   ET.fromstring(files["junit"].read_text("utf-8")),
                   files["markdown"].read_text("utf-8"), folder)


@pytest.fixture(scope="module")
def example(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Reports]:
    # From the repository root, as in CI: the scanned file is then a path relative to it.
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(ROOT)
        yield run_scan(tmp_path_factory.mktemp("example"), str(EXAMPLE.relative_to(ROOT)))


@pytest.fixture
def incomplete(write_snapshot: Callable[..., Path], tmp_path: Path) -> Reports:
    """A failure, an attribute nobody could read, and a list call that was refused."""
    path = write_snapshot(
        [resource("notes", "object_store", tags={"data_class": "clinical"},
                  attributes={"versioning": False}),
         resource("drafts", "object_store", tags={"data_class": "clinical"})],
        [{"provider": "test", "scope": "acct", "message": "AccessDenied: iam:ListRoles",
          "kinds": ["principal"], "permission": "iam:ListRoles"}])
    return run_scan(tmp_path / "out", str(path), "--policies", str(POLICIES))


def schema_errors(log: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft4Validator(SARIF_SCHEMA)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(log)]


def sarif_results(reports: Reports) -> list[dict[str, Any]]:
    [run] = reports.sarif["runs"]
    results: list[dict[str, Any]] = run["results"]
    return results


# --- SARIF -------------------------------------------------------------------------------


def test_the_vendored_schema_is_the_official_one() -> None:
    raw = (DATA / "sarif-schema-2.1.0.json").read_bytes()  # unmodified: see its NOTICE
    assert hashlib.sha256(raw).hexdigest() == "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"
    assert SARIF_SCHEMA["title"] == "Static Analysis Results Format (SARIF) Version 2.1.0 JSON Schema"
    assert SARIF_SCHEMA["id"].startswith("https://docs.oasis-open.org/sarif/sarif/v2.1.0/")
    # It does reject what is not SARIF, so the validations below mean something.
    assert schema_errors({"version": "2.1.0", "runs": [{"tool": {"driver": {}}}]})


def test_sarif_of_the_example_estate_validates(example: Reports) -> None:
    assert example.code == 1
    assert schema_errors(example.sarif) == []
    assert example.sarif["version"] == "2.1.0"
    driver = example.sarif["runs"][0]["tool"]["driver"]
    assert driver["name"] == "phigate" and driver["version"] == example.json["tool"]["version"]
    assert driver["informationUri"].startswith("https://")


def test_sarif_has_one_result_per_reported_finding_with_the_json_id(example: Reports) -> None:
    results = sarif_results(example)
    reported = [f for f in example.json["findings"] if f["status"] in REPORTED]
    assert len(results) == len(reported) == example.json["summary"]["fail"]
    assert [r["partialFingerprints"][FINGERPRINT_KEY] for r in results] == [f["id"] for f in reported]
    assert [r["ruleId"] for r in results] == [f["policy_id"] for f in reported]


def test_sarif_fingerprints_are_stable_across_runs(example: Reports, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(ROOT)
    again = run_scan(tmp_path, str(EXAMPLE.relative_to(ROOT)))
    fingerprints = [r["partialFingerprints"] for r in sarif_results(example)]
    assert [r["partialFingerprints"] for r in sarif_results(again)] == fingerprints
    assert len({f[FINGERPRINT_KEY] for f in fingerprints}) == len(fingerprints)


def test_a_fingerprint_follows_the_resource_not_the_message(write_snapshot: Callable[..., Path],
                                                            tmp_path: Path) -> None:
    def fingerprint(attributes: dict[str, Any], name: str) -> tuple[str, str]:
        path = write_snapshot([resource("notes", "object_store", tags={"data_class": "clinical"},
                                        attributes=attributes)], name=name)
        [result] = sarif_results(run_scan(tmp_path / f"{name}.out", str(path), "--policies", str(POLICIES)))
        return result["partialFingerprints"][FINGERPRINT_KEY], result["message"]["text"]

    failed, failed_message = fingerprint({"versioning": False}, "fails.json")
    unknown, unknown_message = fingerprint({}, "unread.json")  # now an error, same resource
    assert failed == unknown and failed_message != unknown_message


def test_sarif_rules_carry_levels_tags_and_help(example: Reports) -> None:
    rules = example.sarif["runs"][0]["tool"]["driver"]["rules"]
    policies = {p["id"]: p for p in example.json["policies"]}
    assert [r["id"] for r in rules] == list(policies)
    for rule in rules:
        policy = policies[rule["id"]]
        assert rule["defaultConfiguration"]["level"] == LEVELS[policy["severity"]]
        assert rule["shortDescription"]["text"] == policy["title"]
        assert rule["fullDescription"]["text"]
        assert "security" in rule["properties"]["tags"]
        for framework, controls in policy["controls"].items():
            assert {f"{framework}/{c}" for c in controls} <= set(rule["properties"]["tags"])
        assert rule["help"]["text"].startswith("Remediation:") and rule["help"]["markdown"]
    by_id = {r["id"]: r for r in rules}
    encryption = by_id["PHI-ENC-002"]
    assert "hipaa/164.312(a)(2)(iv)" in encryption["properties"]["tags"]
    assert encryption["fullDescription"]["text"].startswith("Enforces encryption at rest")
    assert "**aws**" in encryption["help"]["markdown"] and "- gcp:" in encryption["help"]["text"]
    assert by_id["PHI-SEG-002"]["properties"]["security-severity"] == "9.5"   # critical
    assert encryption["properties"]["security-severity"] == "8.0"             # high
    assert by_id["PHI-CLASS-001"]["defaultConfiguration"]["level"] == "warning"  # medium


def test_sarif_failures_point_at_the_scanned_file_and_the_resource(example: Reports) -> None:
    results = sarif_results(example)
    findings = [f for f in example.json["findings"] if f["status"] in REPORTED]
    for result, finding in zip(results, findings, strict=True):
        assert result["level"] == LEVELS[finding["severity"]] and "kind" not in result
        [location] = result["locations"]
        assert location["physicalLocation"]["artifactLocation"]["uri"] == "examples/supplier-estate.json"
        [logical] = location["logicalLocations"]
        assert logical["fullyQualifiedName"] == finding["resource"]["id"]
        assert logical["kind"] == finding["resource"]["type"]
        assert finding["message"] in result["message"]["text"]
    [invocation] = example.sarif["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is True
    assert "toolExecutionNotifications" not in invocation


def test_sarif_reports_what_could_not_be_evaluated_apart(incomplete: Reports) -> None:
    assert incomplete.code == 3
    assert schema_errors(incomplete.sarif) == []
    by_status: dict[str, list[dict[str, Any]]] = {}
    for result in sarif_results(incomplete):
        by_status.setdefault(result["properties"]["phigate-status"], []).append(result)
    [failure] = by_status["fail"]
    assert failure["level"] == "warning" and "kind" not in failure       # medium, a real failure
    errors = by_status["error"]
    assert len(errors) == incomplete.json["summary"]["error"] >= 2
    for error in errors:
        assert error["kind"] == "review" and error["level"] == "none"     # never pass, never fail
        assert error["message"]["text"].startswith("not evaluated:")
    # One snapshot read from outside the working directory: an absolute file URI.
    assert failure["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].startswith("file:///")
    [invocation] = incomplete.sarif["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False
    notes = invocation["toolExecutionNotifications"]
    collection = [n for n in notes if n["descriptor"]["id"] == "phigate/collection-error"]
    assert [n["properties"]["permission"] for n in collection] == ["iam:ListRoles"]
    assert collection[0]["level"] == "error" and "AccessDenied" in collection[0]["message"]["text"]


def test_results_point_at_a_pseudo_path_unless_one_file_was_read(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # Code scanning refuses results without a physical location: one is always given.
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a b.json").write_text("{}")
    (tmp_path / "c.json").write_text("{}")
    assert artifact_uri([Scope("snapshot", "a b.json")]) == "a%20b.json"
    assert artifact_uri([Scope("terraform", str(tmp_path / "c.json"))]) == "c.json"
    assert artifact_uri([Scope("snapshot", "a b.json"), Scope("snapshot", "c.json")]) == PSEUDO_PATH
    assert artifact_uri([Scope("snapshot", str(tmp_path))]) == PSEUDO_PATH        # a folder
    assert artifact_uri([Scope("aws", "111122223333")]) == PSEUDO_PATH
    assert artifact_uri([]) == PSEUDO_PATH


def test_sarif_marks_failures_new_or_unchanged_against_a_baseline(waived_run: RunResult) -> None:
    failing = tuple(replace(f, status=Status.FAIL, waiver=None) for f in waived_run.findings)
    against = replace(
        waived_run, findings=failing,
        counts={**waived_run.counts,
                "T-VERSIONING": {**waived_run.counts["T-VERSIONING"], Status.FAIL: 2, Status.WAIVED: 0}},
        baseline=BaselineComparison("base.json", frozenset({failing[0].fingerprint}),
                                    frozenset({failing[1].fingerprint}), ()))
    log = json.loads(render(SarifReporter(), against))
    assert schema_errors(log) == []
    assert [r["baselineState"] for r in log["runs"][0]["results"]] == ["new", "unchanged"]
    assert render(MarkdownReporter(), against).startswith(
        "## phigate: ❌ 1 new failure(s), 1 already in the baseline")


# --- waived findings, rendered from a run whose failures a waiver covered --------------------


@pytest.fixture
def waived_run(write_snapshot: Callable[..., Path]) -> RunResult:
    path = write_snapshot([resource("notes", "object_store", tags={"data_class": "clinical"},
                                    attributes={"versioning": False}),
                           resource("logs", "object_store", tags={"data_class": "clinical"},
                                    attributes={"versioning": False})])
    result = scan([SnapshotProvider([path])], load_policies([POLICIES], Config()), Config())
    waiver = Waiver("T-VERSIONING", "notes", "legacy bucket, replaced in Q3", "data-platform",
                    dt.date(2099, 1, 1), source="waivers.yaml:3")
    counts = result.counts["T-VERSIONING"]
    return replace(result,
                   findings=tuple(replace(f, status=Status.WAIVED,
                                          waiver=waiver if f.resource.id == "notes" else None)
                                  for f in result.findings),
                   counts={**result.counts, "T-VERSIONING": {**counts, Status.WAIVED: counts[Status.FAIL],
                                                             Status.FAIL: 0}})


def render(reporter: Any, result: RunResult) -> str:
    out = io.StringIO()
    reporter.render(result, out, color=False)
    return out.getvalue()


def test_waived_findings_are_suppressed_results_with_their_reason(waived_run: RunResult) -> None:
    log = json.loads(render(SarifReporter(), waived_run))
    assert schema_errors(log) == []
    results = {r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]: r
               for r in log["runs"][0]["results"]}
    assert set(results) == {"notes", "logs"}
    [with_reason] = results["notes"]["suppressions"]
    assert with_reason["kind"] == "external"
    assert with_reason["justification"] == "legacy bucket, replaced in Q3"
    [generic] = results["logs"]["suppressions"]
    assert generic["justification"]  # no waiver attached: still suppressed, never silently


def test_waived_findings_are_skipped_test_cases(waived_run: RunResult) -> None:
    root = ET.fromstring(render(JunitReporter(), waived_run))
    [suite] = [s for s in root if s.get("name") == "T-VERSIONING"]
    assert (suite.get("tests"), suite.get("failures"), suite.get("skipped")) == ("2", "0", "2")
    skipped = {c.get("name"): c.find("skipped") for c in suite.iter("testcase")}
    notes, logs = skipped["notes"], skipped["logs"]
    assert notes is not None and "legacy bucket, replaced in Q3" in notes.get("message", "")
    assert logs is not None and logs.get("message") == "waived"


# --- JUnit -------------------------------------------------------------------------------


def suites(root: ET.Element) -> dict[str, ET.Element]:
    assert root.tag == "testsuites"
    return {s.get("name", ""): s for s in root.iter("testsuite")}


def test_junit_counts_the_cases_it_lists_and_keeps_the_run_counts_as_properties(
        example: Reports) -> None:
    by_name = suites(example.junit)
    assert list(by_name) == [p["id"] for p in example.json["policies"]]
    for policy in example.json["policies"]:
        counts, suite = policy["counts"], by_name[policy["id"]]
        assert int(suite.get("tests", "")) == len(suite.findall("testcase"))
        assert int(suite.get("failures", "")) == counts["fail"] == len(suite.findall("testcase/failure"))
        assert int(suite.get("errors", "")) == counts["error"] == len(suite.findall("testcase/error"))
        assert int(suite.get("skipped", "")) == counts["waived"] == len(suite.findall("testcase/skipped"))
        properties = {p.get("name"): p.get("value") for p in suite.iter("property")}
        assert properties["passed"] == str(counts["pass"])
        assert properties["not-applicable"] == str(counts["skip"])
        for case in suite.iter("testcase"):
            assert case.get("classname") == policy["id"]
    summary = example.json["summary"]
    assert summary["pass"] > 0  # passes are counted by the run, not listed as cases
    assert int(example.junit.get("failures", "")) == summary["fail"]
    assert int(example.junit.get("tests", "")) == len(list(example.junit.iter("testcase")))
    assert int(example.junit.get("tests", "")) == sum(summary[s] for s in ("fail", "error", "waived"))


def test_junit_failures_carry_message_and_evidence(example: Reports) -> None:
    failing = [f for f in example.json["findings"] if f["status"] == "fail"]
    cases = {(c.get("classname"), c.get("name")): c for c in example.junit.iter("testcase")}
    for finding in failing:
        failure = cases[(finding["policy_id"], finding["resource"]["id"])].find("failure")
        assert failure is not None and failure.get("message") == finding["message"]
        assert failure.get("type") == finding["severity"]
        assert finding["evidence"][0]["path"] in (failure.text or "")


def test_junit_errors_and_collection_errors(incomplete: Reports) -> None:
    by_name = suites(incomplete.junit)
    for policy in incomplete.json["policies"]:
        assert int(by_name[policy["id"]].get("errors", "")) == policy["counts"]["error"]
    collection = by_name[COLLECTION_SUITE]
    [case] = collection.findall("testcase")
    error = case.find("error")
    assert error is not None and "AccessDenied" in (error.get("message") or "")
    assert "iam:ListRoles" in (error.text or "")
    assert int(incomplete.junit.get("errors", "")) == incomplete.json["summary"]["error"] + 1


def test_junit_lists_passes_when_they_are_kept(write_snapshot: Callable[..., Path], tmp_path: Path) -> None:
    path = write_snapshot([resource(f"b{i}", "object_store", tags={"data_class": "clinical"},
                                    attributes={"versioning": i % 2 == 0}) for i in range(4)])
    reports = run_scan(tmp_path, str(path), "--policies", str(POLICIES), "--show-passed")
    suite = suites(reports.junit)["T-VERSIONING"]
    cases = suite.findall("testcase")
    assert len(cases) == int(suite.get("tests", "")) == 4
    assert sorted(c.get("name", "") for c in cases if c.find("failure") is None) == ["b0", "b2"]


def test_junit_is_read_by_a_junit_consumer(example: Reports) -> None:
    junitparser = pytest.importorskip("junitparser")
    xml = junitparser.JUnitXml.fromfile(str(example.folder / "report.junit"))
    read = {suite.name: suite for suite in xml}
    for policy in example.json["policies"]:
        suite = read[policy["id"]]
        assert suite.failures == policy["counts"]["fail"]
        failing = [case.name for case in suite if not case.is_passed and not case.is_skipped]
        assert len(failing) == policy["counts"]["fail"] + policy["counts"]["error"]


def test_junit_stays_valid_xml_whatever_the_resource_id(write_snapshot: Callable[..., Path],
                                                        tmp_path: Path) -> None:
    hostile = "notes\x00\x1b[31m<&>\"\n"
    path = write_snapshot([resource(hostile, "object_store", tags={"data_class": "clinical"},
                                    attributes={"versioning": False})])
    reports = run_scan(tmp_path, str(path), "--policies", str(POLICIES))  # parsing is the check
    [case] = reports.junit.iter("testcase")
    assert case.get("name") == "notes\\x00\\x1b[31m<&>\"\n"


# --- Markdown ----------------------------------------------------------------------------


def test_markdown_summary_of_the_example(example: Reports) -> None:
    text = example.markdown
    first = text.splitlines()[0]
    assert first.startswith("## phigate: ❌") and f"{example.json['summary']['fail']} failure" in first
    assert f"| {example.json['summary']['resources']} | {len(example.json['policies'])} |" in text
    # Failures grouped by policy, the most severe first, long groups cut short.
    assert text.index("**PHI-SEG-002**") < text.index("**PHI-ENC-002**")
    seg = [f for f in example.json["findings"] if f["policy_id"] == "PHI-SEG-001" and f["status"] == "fail"]
    assert len(seg) > 5 and f"… and {len(seg) - 5} more" in text
    for framework in example.json["compliance"]:
        s = framework["summary"]
        row = (f"| {escape(framework['title'])} | {s['satisfied']} | {s['failed']} "
               f"| {s['not_evaluated']} | {s['not_covered']} |")
        assert row in text
    assert "Not evaluated" not in text


def test_markdown_says_when_evidence_is_incomplete(incomplete: Reports) -> None:
    text = incomplete.markdown
    assert text.startswith("## phigate: ⚠️ evidence incomplete")
    assert "### ⚠️ Not evaluated" in text and "### ⚠️ Could not collect" in text
    assert "`iam:ListRoles`" in text


def test_markdown_verdict_is_clean_when_nothing_fails(write_snapshot: Callable[..., Path],
                                                      tmp_path: Path) -> None:
    path = write_snapshot([resource("notes", "object_store", tags={"data_class": "clinical"},
                                    attributes={"versioning": True})])
    reports = run_scan(tmp_path, str(path), "--policies", str(POLICIES))
    assert reports.code == 0 and reports.markdown.startswith("## phigate: ✅")


def unescaped_pipes(line: str) -> int:
    return len(re.findall(r"(?<!\\)\|", line))


def test_markdown_escapes_what_the_estate_names(write_snapshot: Callable[..., Path], tmp_path: Path) -> None:
    rid = "db|prod `notes`\n<b>*x*"
    path = write_snapshot([resource(rid, "object_store", tags={"data_class": "clinical"},
                                    attributes={"versioning": False})])
    reports = run_scan(tmp_path, str(path), "--policies", str(POLICIES))
    [row] = [line for line in reports.markdown.splitlines() if "prod" in line]
    assert unescaped_pipes(row) == 3                 # | resource | message |: two cells, one line
    assert code(rid) in row and code(rid).startswith("``")  # a longer fence than the id's backticks
    assert "\\n" in code(rid)
    assert "<" not in row.replace(code(rid), "")    # markup only ever inside the code span


def test_escape_and_code_spans() -> None:
    assert escape("a|b*c_d`e<f>[g]") == "a\\|b\\*c\\_d\\`e\\<f\\>\\[g\\]"
    # Visible escapes for line breaks and control characters, their backslash escaped in turn.
    assert escape("two\nlines\x1b") == "two\\\\nlines\\\\x1b"
    assert code("plain") == "`plain`"
    assert code("a|b") == "`a\\|b`"
    assert code("`x`") == "`` `x` ``"


def test_markdown_reporter_renders_a_run_directly(waived_run: RunResult) -> None:
    text = render(MarkdownReporter(), waived_run)
    assert text.startswith("## phigate: ✅")       # waived failures do not fail the verdict
    assert "| 0 | 0 | 0 | 0 | 2 |" in text          # failed, not evaluated, collection, passed, waived
