"""The text report as people ask for it: compact, grouped, explained, quiet, without colour."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

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


def test_the_table_of_provider_options_is_what_the_providers_register() -> None:
    import argparse

    from phigate.cli import PROVIDER_OPTIONS
    from phigate.registry import PROVIDERS, load

    for name, (_, options) in PROVIDER_OPTIONS.items():
        group = argparse.ArgumentParser().add_argument_group(name)
        load(PROVIDERS, name).add_arguments(group)
        registered = {o for a in group._group_actions for o in a.option_strings
                      if o.startswith("--") and not o.startswith("--sample-")}
        assert registered == set(options), name


def test_an_option_of_a_provider_whose_extra_is_missing_says_what_to_install(
        cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    from phigate import cli as cli_module
    from phigate.registry import MissingPlugin

    real = cli_module.load

    def without_aws(group: str, name: str) -> object:
        if name == "aws":
            raise MissingPlugin("'aws' needs a package that is not installed (boto3); install phigate[aws]")
        return real(group, name)

    monkeypatch.setattr(cli_module, "load", without_aws)
    result = cli("scan", "--provider", "aws", "--region", "eu-west-3")
    assert result.code == 2 and "install phigate[aws] to use it" in result.err and "--region" in result.err


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
