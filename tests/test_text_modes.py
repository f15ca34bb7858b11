"""The text report as people ask for it: compact, grouped, explained, quiet, without colour."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from .conftest import ROOT, CliResult

EXAMPLE = ROOT / "examples" / "supplier-estate.json"
Cli = Callable[..., CliResult]


def failures(cli: Cli, tmp_path: Path) -> list[dict[str, object]]:
    out = tmp_path / "r.json"
    cli("scan", str(EXAMPLE), "-q", "--format", f"json={out}")
    return [f for f in json.loads(out.read_text())["findings"] if f["status"] == "fail"]


def test_compact_is_one_line_a_finding(cli: Cli, tmp_path: Path) -> None:
    result = cli("scan", str(EXAMPLE), "--compact")
    lines = [line for line in result.out.splitlines() if line.startswith("FAIL ")]
    assert len(lines) == len(failures(cli, tmp_path))
    assert all(" PHI-" in line for line in lines)


def test_grouped_by_policy_with_counts_and_by_resource(cli: Cli) -> None:
    by_policy = cli("scan", str(EXAMPLE), "--group-by", "policy").out
    assert "PHI-SEG-002 No identity reads both clinical and administrative data (" in by_policy
    by_resource = cli("scan", str(EXAMPLE), "--group-by", "resource").out
    assert any(line.startswith("exemplum-analytics (") for line in by_resource.splitlines())


def test_explain_puts_the_remedy_for_its_provider_under_each_finding(cli: Cli, tmp_path: Path) -> None:
    out = cli("scan", str(EXAMPLE), "--compact", "--explain").out
    lines = out.splitlines()
    fixes = [line for line in lines if line.strip().startswith("fix: ")]
    assert len(fixes) == len(failures(cli, tmp_path))
    postgres = lines.index(next(line for line in lines if "PHI-SEG-002" in line and "reporting_ro" in line))
    assert lines[postgres + 1].strip().startswith("fix: Revoke SELECT")


def test_quiet_lists_failures_only_then_the_summary(cli: Cli) -> None:
    out = cli("scan", str(EXAMPLE), "-q", "--compact").out.splitlines()
    assert out[-1].startswith("68 resources")
    assert all(line.startswith("FAIL ") for line in out[:-1])


def test_no_color_and_frameworks_only_where_something_was_decided(cli: Cli, tmp_path: Path) -> None:
    result = cli("scan", str(EXAMPLE), "--no-color", "--only", "PHI-ENC-003")
    assert "\x1b[" not in result.out
    assert "General Data Protection Regulation" in result.out  # PHI-ENC-003 decided a GDPR control
    assert "PostgreSQL" not in result.out and "Google Cloud" not in result.out  # nothing decided there


def test_an_error_every_policy_shares_is_one_row_naming_them(cli: Cli, tmp_path: Path) -> None:
    """A scope that could not be read errs every policy over it with one message: one row."""
    snapshot = tmp_path / "estate.json"
    snapshot.write_text(json.dumps({"phigate_snapshot": 1, "resources": [], "errors": [
        {"provider": "postgres", "scope": "pg-01:5432", "message": "connection refused",
         "kinds": ["table"], "types": []}]}))
    out = cli("scan", str(snapshot), "--no-color").out
    rows = [line for line in out.splitlines() if "ERROR" in line and "connection refused" in line]
    assert len(rows) == 1, out  # not one row per policy
    assert "PHI-ENC-001" in out and "more" in out
