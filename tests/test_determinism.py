"""Same evidence, same bytes: with SOURCE_DATE_EPOCH set, two scans write identical reports,
whatever the process's hash seed, the order providers yield errors in, or the machine's clock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from .conftest import ROOT, CliResult, resource

EXAMPLE = ROOT / "examples" / "supplier-estate.json"
EPOCH = "1700000000"  # 2023-11-14T22:13:20Z
FORMATS = ("json", "sarif", "junit", "markdown")
Cli = Callable[..., CliResult]


def scan_in_a_fresh_process(out: Path, hash_seed: str, *extra: str) -> dict[str, bytes]:
    """``phigate scan`` of the example estate in its own interpreter, every format to a file."""
    out.mkdir()
    formats = [x for name in FORMATS for x in ("--format", f"{name}={out / name}")]
    env = {**os.environ, "SOURCE_DATE_EPOCH": EPOCH, "PYTHONHASHSEED": hash_seed}
    done = subprocess.run([sys.executable, "-m", "phigate.cli", "scan", str(EXAMPLE), "--quiet",
                           "--show-passed", *formats, *extra],
                          env=env, capture_output=True, text=True, check=False, cwd=ROOT)
    assert done.returncode == 1, done.stderr
    return {name: (out / name).read_bytes() for name in FORMATS}


def test_two_scans_of_the_example_estate_write_byte_identical_reports(tmp_path: Path) -> None:
    first = scan_in_a_fresh_process(tmp_path / "first", "1")
    second = scan_in_a_fresh_process(tmp_path / "second", "2")  # sets and dicts iterate otherwise
    for name in FORMATS:
        assert first[name] == second[name], f"{name} differs between two runs"
    report = json.loads(first["json"])
    assert report["started"] == report["finished"] == "2023-11-14T22:13:20+00:00"
    assert report["summary"]["pass"] > 0 and report["summary"]["fail"] > 0  # passes listed too
    sarif = json.loads(first["sarif"])
    assert sarif["runs"][0]["invocations"][0]["startTimeUtc"] == "2023-11-14T22:13:20Z"
    suites = ET.fromstring(first["junit"])
    assert suites.get("time") == "0.000"
    assert {s.get("timestamp") for s in suites} == {"2023-11-14T22:13:20"}


def test_without_source_date_epoch_the_report_states_the_real_time(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    report = cli("scan", str(EXAMPLE), "--format", "json").json()
    assert report["started"] > "2024"


@pytest.mark.parametrize("value", ["yesterday", "-1", "1.5", " 17", "99999999999999999999", "\u0661\u0667\u0660\u0660"])
def test_a_malformed_source_date_epoch_is_an_input_error(cli: Cli, monkeypatch: pytest.MonkeyPatch,
                                                         value: str) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", value)
    result = cli("scan", str(EXAMPLE), "--quiet")
    assert result.code == 2
    assert result.err.startswith("error: SOURCE_DATE_EPOCH must be a whole number of seconds")


def test_an_old_epoch_never_revives_an_expired_waiver(cli: Cli, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Reports are dated by SOURCE_DATE_EPOCH; waivers are judged against the real date."""
    waivers = tmp_path / "waivers.yaml"
    waivers.write_text("waivers:\n  - {policy: PHI-ENC-002, resource: 'arn:aws:s3:::exemplum-prod-clinical-notes',"
                       " reason: accepted until 2001, owner: dpo@example.org, expires: '2001-01-01'}\n")
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "946684800")  # 2000-01-01, before the expiry
    result = cli("scan", str(EXAMPLE), "--waivers", str(waivers), "--format", "json")
    report = result.json()
    assert report["started"].startswith("2000-01-01")
    assert [w["expires"] for w in report["waivers"]["expired"]] == ["2001-01-01"]
    assert report["summary"]["waived"] == 0 and result.code == 1


def _snapshot_with_errors(path: Path, order: list[int]) -> Path:
    errors = [{"provider": "aws", "scope": f"11112222333{i}", "region": "eu-west-3", "message": f"denied {i}",
               "kinds": ["object_store"], "resource_id": f"arn:aws:s3:::b{i}", "permission": "s3:GetBucketPolicy"}
              for i in order]
    bucket = resource("arn:aws:s3:::seen", "object_store", "aws.s3.bucket", tags={"data_class": "clinical"},
                      attributes={"versioning": True})
    path.write_text(json.dumps({"phigate_snapshot": 1, "resources": [bucket], "errors": errors}))
    return path


def test_collection_errors_are_listed_sorted_whatever_order_they_came_in(
        cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    snapshot = tmp_path / "estate.json"
    outputs = []
    for order in ([3, 1, 2, 0], [0, 2, 1, 3]):
        _snapshot_with_errors(snapshot, order)
        out = tmp_path / "report.sarif"
        result = cli("scan", str(snapshot), "--format", "json", "--format", f"sarif={out}")
        assert result.code == 3
        outputs.append((result.out, out.read_bytes()))
    assert outputs[0] == outputs[1]
    report = json.loads(outputs[0][0])
    assert [e["resource_id"] for e in report["collection_errors"]] == [f"arn:aws:s3:::b{i}" for i in range(4)]


def _is_sorted(items: list[Any], key: Callable[[Any], Any]) -> bool:
    keys = [key(x) for x in items]
    return keys == sorted(keys)


def test_every_list_of_the_reports_is_in_a_stable_order(tmp_path: Path) -> None:
    files = scan_in_a_fresh_process(tmp_path / "run", "3")
    report = json.loads(files["json"])
    assert _is_sorted(report["findings"], lambda f: (f["policy_id"], f["resource"]["id"], f["status"]))
    assert _is_sorted(report["policies"], lambda p: p["id"])
    assert _is_sorted(report["compliance"], lambda c: c["framework"])
    for finding in report["findings"]:
        assert list(finding["controls"]) == sorted(finding["controls"])
    for policy in report["policies"]:
        assert list(policy["controls"]) == sorted(policy["controls"])
    sarif = json.loads(files["sarif"])["runs"][0]
    assert [r["id"] for r in sarif["tool"]["driver"]["rules"]] == [p["id"] for p in report["policies"]]
    shown = [f for f in report["findings"] if f["status"] in ("fail", "error", "waived")]
    assert [r["partialFingerprints"]["phigate/v1"] for r in sarif["results"]] == [f["id"] for f in shown]
    suites = ET.fromstring(files["junit"])
    assert [s.get("name") for s in suites] == [p["id"] for p in report["policies"]]
    for suite in suites:
        assert _is_sorted(suite.findall("testcase"), lambda c: c.get("name"))


def test_two_collections_of_the_same_evidence_write_byte_identical_snapshots(
        cli: Cli, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # 2026-01-01T00:00:00Z
    first, second = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    assert cli("collect", str(EXAMPLE), "-o", str(first)).code == 0
    assert cli("collect", str(EXAMPLE), "-o", str(second)).code == 0
    assert first.read_bytes() == second.read_bytes()
    assert json.loads(first.read_text().splitlines()[0])["created"] == "2026-01-01T00:00:00+00:00"
