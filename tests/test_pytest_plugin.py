"""The pytest plugin: policies as tests, one per policy and resource, from a single scan.

Each pytester run is a real pytest session with the installed plugin, compared with what
`phigate scan --format json` reports for the same inventory.
"""

from __future__ import annotations

import contextlib
import json
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import phigate.pytest_items
import phigate.testing
from phigate.api import CollectionError, InputError, Resource
from phigate.fixtures import load_fixtures
from phigate.load import bundled_pack
from phigate.registry import PROVIDERS, MissingPlugin, load, names
from phigate.run import RunResult

from .conftest import ROOT, CliResult, resource

pytest_plugins = ["pytester"]

# pytester's in-process runs forget the modules first imported during a run; imported here once,
# the plugin's modules and the providers (asked whether they claim a target) are not re-imported
# by every run.
assert phigate.pytest_items and phigate.testing
for _provider in names(PROVIDERS):
    with contextlib.suppress(MissingPlugin):
        load(PROVIDERS, _provider)

EXAMPLE = ROOT / "examples" / "supplier-estate.json"
Cli = Callable[..., CliResult]
#: Other installed plugins stay out of the runs: hypothesis' would import itself again in every
#: in-process run (pytester forgets modules a run imported), for half of this module's time.
QUIET = ["-p", "no:cacheprovider", "-p", "no:hypothesispytest"]
BASE = [*QUIET, "--strict-markers"]

NOTES = resource("arn:aws:s3:::notes", "object_store", "aws.s3.bucket", name="notes",
                 tags={"data_class": "clinical"},
                 attributes={"encryption": {"at_rest": True, "algorithm": "aws:kms",
                                            "key": "arn:aws:kms:eu-west-3:111122223333:key/k1",
                                            "key_manager": "customer"}})
#: Yielded without its encryption settings (not readable), plus the error naming it.
UNREAD = resource("arn:aws:s3:::lab-results", "object_store", "aws.s3.bucket", name="lab-results",
                  tags={"data_class": "clinical"}, attributes={})
UNREAD_ERROR = {"provider": "test", "scope": "acct", "message": "AccessDenied reading the encryption",
                "kinds": ["object_store"], "resource_id": "arn:aws:s3:::lab-results",
                "permission": "s3:GetEncryptionConfiguration"}
KEYS_DENIED = {"provider": "test", "scope": "acct", "region": "eu-west-1", "message": "AccessDenied listing keys",
               "kinds": ["key"], "permission": "kms:ListKeys"}


def _report(cli: Cli, inventory: Path, tmp_path: Path) -> dict[str, Any]:
    out = tmp_path / "report.json"
    cli("scan", str(inventory), "--format", f"json={out}")
    return json.loads(out.read_text())


def _name(finding: dict[str, Any]) -> str:
    r = finding["resource"]
    return f"{finding['policy_id']}[{r['type']}:{r['name'] or r['id']}]"


def _outcomes(junit: Path) -> dict[str, str]:
    """Test name → passed / failed / error / skipped, as pytest's own JUnit XML records it."""
    outcomes = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        child = next((c.tag for c in case if c.tag in ("failure", "error", "skipped")), "passed")
        outcomes[case.get("name", "")] = child
    return outcomes


def _collected(result: pytest.RunResult) -> list[str]:
    return [line.split("::", 1)[1] for line in result.outlines if line.startswith("phigate::")]


def test_each_failing_finding_is_one_failed_test_and_junit_records_them(
        pytester: pytest.Pytester, cli: Cli, tmp_path: Path) -> None:
    report = _report(cli, EXAMPLE, tmp_path)
    summary = report["summary"]
    assert summary["resources"] == 68 and summary["fail"] > 0 and summary["error"] == 0
    junit = pytester.path / "junit.xml"
    result = pytester.runpytest(*BASE, "--phigate", f"--phigate-inventory={EXAMPLE}", f"--junitxml={junit}")
    passes = sum(p["counts"]["pass"] for p in report["policies"])
    result.assert_outcomes(failed=summary["fail"], passed=passes, errors=0)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    outcomes = _outcomes(junit)
    assert sorted(n for n, o in outcomes.items() if o == "failure") == sorted(_name(f) for f in report["findings"])
    assert "PHI-ENC-002[aws.s3.bucket:exemplum-prod-clinical-notes]" in outcomes
    # not-applicable outcomes are counted in the summary, not collected as tests
    result.stdout.fnmatch_lines([f"phigate: 68 resources, {summary['policies']} policies: {summary['fail']} failed, "
                                 f"0 error, {passes} passed,* {summary['skip']} not applicable*"])


def test_a_failure_reads_as_the_finding_without_a_traceback(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(*BASE, "--phigate", f"--phigate-inventory={EXAMPLE}",
                                "-k", "PHI-ENC-002 and exemplum-prod-clinical-notes")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "PHI-ENC-002 (high) failed: Clinical stores use customer-managed keys",
        "resource: arn:aws:s3:::exemplum-prod-clinical-notes (aws.s3.bucket; aws, 111122223333, eu-west-3;*",
        "evidence:",
        '  [ok] encryption.at_rest is true; it must be true (as required)',
        '  [AGAINST] encryption.key_manager is provider; it must be customer',
        "rationale: Enforces encryption at rest*",
        "remediation: Use SSE-KMS*",  # the AWS remediation, for an AWS resource
        "policy: *PHI-ENC-002.yaml:1",
    ])
    assert "Traceback" not in result.stdout.str() and "pytest_items.py" not in result.stdout.str()


def test_an_error_finding_is_a_test_error_never_a_pass(
        pytester: pytest.Pytester, cli: Cli, write_snapshot: Callable[..., Path], tmp_path: Path) -> None:
    snapshot = write_snapshot([NOTES, UNREAD], [UNREAD_ERROR, KEYS_DENIED])
    report = _report(cli, snapshot, tmp_path)
    errors = [f for f in report["findings"] if f["status"] == "error"]
    assert errors and len(report["collection_errors"]) == 2
    junit = pytester.path / "junit.xml"
    result = pytester.runpytest(*BASE, "--phigate", f"--phigate-inventory={snapshot}", f"--junitxml={junit}")
    outcomes = _outcomes(junit)
    # one error per error finding, and one per collection error (the CLI exits 3 for those too)
    result.assert_outcomes(errors=len(errors) + 2, passed=Counter(outcomes.values())["passed"])
    for finding in errors:
        assert outcomes[_name(finding)] == "error"
    assert outcomes["collection[test:acct:arn:aws:s3:::lab-results]"] == "error"
    assert outcomes["collection[test:acct:eu-west-1:key]"] == "error"
    assert outcomes["PHI-ENC-002[aws.s3.bucket:notes]"] == "passed"
    out = result.stdout.str()
    assert "could not be evaluated (evidence incomplete)" in out
    assert "missing permission: kms:ListKeys" in out and "Traceback" not in out


def test_markers_and_keywords_select_by_severity_framework_and_id(
        pytester: pytest.Pytester, cli: Cli, tmp_path: Path) -> None:
    report = {p["id"]: p for p in _report(cli, EXAMPLE, tmp_path)["policies"]}
    inventory = f"--phigate-inventory={EXAMPLE}"
    critical = pytester.runpytest(*BASE, "--phigate", inventory, "-m", "phigate_critical", "--co", "-q")
    expected = sum(p["counts"]["pass"] + p["counts"]["fail"] for p in report.values() if p["severity"] == "critical")
    assert expected and len(_collected(critical)) == expected
    assert {n.split("[")[0] for n in _collected(critical)} == {
        pid for pid, p in report.items() if p["severity"] == "critical"}

    cis_aws = _collected(pytester.runpytest(*BASE, "--phigate", inventory, "-m", "phigate_cis_aws", "--co", "-q"))
    assert cis_aws and all("[aws." in n for n in cis_aws)  # a CIS AWS control judges AWS resources only
    assert {n.split("[")[0] for n in cis_aws} == {pid for pid, p in report.items() if "cis-aws-7.0.0" in p["controls"]}

    enc = _collected(pytester.runpytest(*BASE, "--phigate", inventory, "-k", "ENC", "--co", "-q"))
    assert len(enc) == sum(p["counts"]["pass"] + p["counts"]["fail"] for pid, p in report.items() if "ENC" in pid)


def test_an_opt_in_policy_is_collected_only_when_asked_for(pytester: pytest.Pytester) -> None:
    sample = {"sampled": 20, "flagged": 2, "identified": 1, "sensitive": 1, "unreadable": 0, "skipped": 0,
              "bytes": 4096, "entities": {"HEALTH": 3}, "evidence": ["0123456789abcdef"]}
    admin = resource("arn:aws:s3:::admin-exports", "object_store", "aws.s3.bucket", name="admin-exports",
                     tags={"data_class": "administrative"}, attributes={"content_sample": sample})
    inventory = pytester.path / "estate.json"
    inventory.write_text(json.dumps({"phigate_snapshot": 1, "resources": [admin], "errors": []}))
    (pytester.path / "enabled.yaml").write_text("policies:\n  PHI-SEG-004: {enabled: true}\n")
    args = [*BASE, "--phigate", f"--phigate-inventory={inventory}", "--co", "-q"]

    def seg_004(*extra: str) -> list[str]:
        return [n for n in _collected(pytester.runpytest(*args, *extra)) if n.startswith("PHI-SEG-004")]

    assert seg_004() == [] and seg_004("--phigate-only=PHI-SEG-*") == []  # not asked for (a glob is not)
    assert seg_004("--phigate-only=PHI-SEG-004") == ["PHI-SEG-004[aws.s3.bucket:admin-exports]"]
    assert seg_004("--phigate-config=enabled.yaml") == ["PHI-SEG-004[aws.s3.bucket:admin-exports]"]


def test_the_plugin_is_silent_until_asked_for_and_p_no_phigate_disables_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="""
        import sys

        def test_engine_not_loaded():
            loaded = [m for m in ("phigate.evaluate", "phigate.pytest_items", "phigate.load") if m in sys.modules]
            assert loaded == []
    """)
    plain = pytester.runpytest_subprocess(*BASE)  # a fresh interpreter: nothing imported beforehand
    plain.assert_outcomes(passed=1)
    plain.stdout.fnmatch_lines(["plugins: *phigate-*", "collected 1 item"])

    (pytester.path / "audit").mkdir()
    (pytester.path / "audit" / "estate.json").write_text(EXAMPLE.read_text())
    pytester.makeini("[pytest]\nphigate_inventory = audit/estate.json\n")  # relative to the ini file
    enabled = pytester.runpytest(*BASE, "--co", "-q", "-m", "phigate")
    assert len(_collected(enabled)) > 0
    disabled = pytester.runpytest_subprocess("-p", "no:phigate", *QUIET)
    disabled.assert_outcomes(passed=1)
    assert "phigate-" not in disabled.stdout.str()
    refused = pytester.runpytest("-p", "no:phigate", *QUIET, "--phigate")
    assert refused.ret == pytest.ExitCode.USAGE_ERROR


def test_xdist_workers_report_the_same_outcomes(pytester: pytest.Pytester) -> None:
    pytest.importorskip("xdist")
    serial, parallel = pytester.path / "serial.xml", pytester.path / "parallel.xml"
    args = [*BASE, "--phigate", f"--phigate-inventory={EXAMPLE}"]
    pytester.runpytest(*args, "-p", "no:xdist", f"--junitxml={serial}")
    result = pytester.runpytest(*args, "-n", "2", f"--junitxml={parallel}")
    result.stdout.fnmatch_lines(["created: 2/2 workers"])
    outcomes = _outcomes(serial)
    assert Counter(outcomes.values())["failure"] > 0 and Counter(outcomes.values())["passed"] > 0
    assert _outcomes(parallel) == outcomes


def test_bad_input_is_a_collection_error_with_the_problem_not_a_traceback(pytester: pytest.Pytester) -> None:
    missing = pytester.runpytest(*BASE, "--phigate", "--phigate-inventory=absent.json")
    assert missing.ret == pytest.ExitCode.INTERRUPTED
    missing.stdout.fnmatch_lines(["*absent.json: no such file or folder*"])
    nothing = pytester.runpytest(*BASE, "--phigate")
    nothing.stdout.fnmatch_lines(["*nothing to scan: give --phigate-inventory PATH*"])
    (pytester.path / "policies").mkdir()
    (pytester.path / "policies" / "bad.yaml").write_text("id: X-1\ntitle: t\nseverity: urgent\n")
    broken = pytester.runpytest(*BASE, f"--phigate-inventory={EXAMPLE}", "--phigate-policies=policies")
    assert broken.ret == pytest.ExitCode.INTERRUPTED
    broken.stdout.fnmatch_lines(["*policies/bad.yaml:3:*", "*problem(s); nothing was evaluated."])
    typo = pytester.runpytest(*BASE, f"--phigate-inventory={EXAMPLE}", "--phigate-only=PHI-NOPE-*")
    typo.stdout.fnmatch_lines(["*no loaded policy matches 'PHI-NOPE-*'*"])
    assert "Traceback" not in missing.stdout.str() + broken.stdout.str() + typo.stdout.str()


def test_resources_sharing_a_name_get_distinct_readable_ids(
        pytester: pytest.Pytester, write_snapshot: Callable[..., Path]) -> None:
    twin = {**NOTES, "id": "arn:aws:s3:::notes-replica"}  # same name, another bucket
    snapshot = write_snapshot([NOTES, twin])
    result = pytester.runpytest(*BASE, f"--phigate-inventory={snapshot}", "--phigate-only=PHI-ENC-002",
                                "--co", "-q")
    assert _collected(result) == ["PHI-ENC-002[aws.s3.bucket:arn:aws:s3:::notes]",
                                  "PHI-ENC-002[aws.s3.bucket:arn:aws:s3:::notes-replica]"]


def test_a_waived_failure_is_reported_as_xfail_with_its_reason(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", waivers="""
        waivers:
          - policy: PHI-ENC-002
            resource: "arn:aws:s3:::exemplum-prod-clinical-notes"
            reason: re-encryption under the new key is scheduled
            owner: storage team
            expires: "2999-12-31"
    """)
    result = pytester.runpytest(*BASE, f"--phigate-inventory={EXAMPLE}", "--phigate-only=PHI-ENC-002",
                                "--phigate-waivers=waivers.yaml", "-rx")
    outcomes = result.parseoutcomes()
    assert (outcomes["failed"], outcomes["xfailed"]) == (2, 1)  # 3 failures, one of them waived
    result.stdout.fnmatch_lines(["XFAIL *PHI-ENC-002[[]aws.s3.bucket:exemplum-prod-clinical-notes[]]*"
                                 "waived until 2999-12-31 (storage team): re-encryption*"])
    unwaived = pytester.runpytest(*BASE, f"--phigate-inventory={EXAMPLE}", "--phigate-only=PHI-ENC-002",
                                  "--phigate-waivers=waivers.yaml", "--runxfail")
    assert unwaived.parseoutcomes()["failed"] == 3
    unwaived.stdout.fnmatch_lines(["waived until 2999-12-31 (storage team): *[[]waivers.yaml:2[]]"])


def test_policy_fixture_folders_run_one_test_per_case(pytester: pytest.Pytester) -> None:
    cases = sum(len(f.cases) for f in load_fixtures([bundled_pack()]))
    result = pytester.runpytest(*BASE, f"--phigate-fixtures={bundled_pack()}")
    result.assert_outcomes(passed=cases)

    folder = pytester.mkdir("team-policies")
    (folder / "ACME-VER-001.yaml").write_text(
        "id: ACME-VER-001\ntitle: Clinical stores keep versions\nseverity: low\nkinds: [object_store]\n"
        "where: {path: data_class, op: eq, value: clinical}\n"
        "assert: {path: versioning, op: eq, value: true}\n"
        "rationale: Versions undo a ransomware overwrite.\nremediation: Turn versioning on.\n")
    bucket = json.dumps({**NOTES, "attributes": {"versioning": False}})
    (folder / "ACME-VER-001.test.yaml").write_text(
        f"policy: ACME-VER-001\ncases:\n"
        f"  - name: an unversioned clinical bucket fails\n    resources: [{bucket}]\n"
        f"    expect: {{fail: ['arn:aws:s3:::notes']}}\n"
        f"  - name: a wrong expectation is caught\n    resources: [{bucket}]\n"
        f"    expect: {{pass: ['arn:aws:s3:::notes']}}\n")
    walked = pytester.runpytest(*BASE, "--phigate", "team-policies", "-v")  # a folder given to pytest
    walked.assert_outcomes(passed=1, failed=1)
    walked.stdout.fnmatch_lines([
        "team-policies/ACME-VER-001.test.yaml::an unversioned clinical bucket fails PASSED*",
        "team-policies/ACME-VER-001.test.yaml:6: ACME-VER-001 / a wrong expectation is caught:",
        "  arn:aws:s3:::notes: expected pass, got fail (versioning is false; it must be true)",
    ])
    (folder / "ACME-VER-001.test.yaml").write_text(
        f"policy: ACME-NOPE-001\ncases:\n  - name: x\n    resources: [{bucket}]\n"
        f"    expect: {{pass: ['arn:aws:s3:::notes']}}\n")
    unknown = pytester.runpytest(*BASE, "--phigate-fixtures=team-policies")
    assert unknown.ret == pytest.ExitCode.INTERRUPTED
    unknown.stdout.fnmatch_lines(["*fixture for unknown policy 'ACME-NOPE-001'*"])


# -- the fixtures a team uses in its own tests (this very session has the plugin) --------------

def test_assert_compliant_passes_a_compliant_resource(
        phigate_resource: Callable[..., Resource], assert_compliant: Callable[..., None]) -> None:
    assert_compliant([phigate_resource(NOTES)], policy="PHI-ENC-*")


def test_assert_compliant_lists_failures_and_errors(
        phigate_resource: Callable[..., Resource], assert_compliant: Callable[..., None]) -> None:
    provider_key = {**NOTES, "attributes": {"encryption": {**NOTES["attributes"]["encryption"],
                                                           "key_manager": "provider"}}}
    with pytest.raises(AssertionError) as failed:
        assert_compliant([phigate_resource(provider_key), UNREAD,
                          CollectionError(**{**UNREAD_ERROR, "kinds": ("object_store",)})], policy="PHI-ENC-002")
    message = str(failed.value)
    assert ("FAIL PHI-ENC-002 (high) aws.s3.bucket:notes: Clinical store notes is not encrypted under a "
            "customer-managed key: encryption.key_manager is provider; it must be customer") in message
    assert "ERROR PHI-ENC-002 (high) aws.s3.bucket:lab-results" in message
    assert "could not collect from test acct: AccessDenied reading the encryption" in message


def test_assert_compliant_refuses_to_pass_when_nothing_was_checked(
        assert_compliant: Callable[..., None]) -> None:
    admin = {**NOTES, "tags": {"data_class": "admin"}}  # PHI-ENC-002 is about clinical stores
    with pytest.raises(AssertionError, match="applied to none of the resources"):
        assert_compliant([admin], policy="PHI-ENC-002")
    with pytest.raises(AssertionError, match="no resource"):
        assert_compliant([])


def test_a_resource_with_a_misspelt_attribute_is_refused(phigate_resource: Callable[..., Resource]) -> None:
    with pytest.raises(InputError, match="encryptoin"):
        phigate_resource({**NOTES, "attributes": {"encryptoin": {}}})


def test_phigate_scan_returns_the_run_of_a_snapshot(
        phigate_scan: Callable[..., RunResult], phigate_snapshot: Callable[..., list[Any]]) -> None:
    result = phigate_scan(EXAMPLE, only=["PHI-SEG-*"])
    assert {p.id for p in result.policies} == {"PHI-SEG-001", "PHI-SEG-002", "PHI-SEG-003"}
    assert result.resources_seen == len(phigate_snapshot(EXAMPLE)) == 68
    assert ("PHI-SEG-002", "exemplum-analytics") in {(f.policy_id, f.resource.name) for f in result.findings
                                                      if f.status.value == "fail"}
