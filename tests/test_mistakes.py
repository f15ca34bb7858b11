"""Mistakes that would silently weaken a gate are refused with a location, or change nothing."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import ROOT, CliResult

EXAMPLE = ROOT / "examples" / "supplier-estate.json"
POLICY = """id: TEAM-001
title: Buckets are encrypted
severity: high
kinds: [object_store]
assert: {path: encryption.at_rest, op: %s, value: %s}
controls:
  %s
"""


def team_policy(tmp_path: Path, op: str = "eq", value: str = "true",
                controls: str = "hipaa: ['164.312(a)(2)(iv)']") -> Path:
    folder = tmp_path / "team"
    folder.mkdir(exist_ok=True)
    (folder / "TEAM-001.yaml").write_text(POLICY % (op, value, controls), encoding="utf-8")
    return folder


@pytest.mark.parametrize(("op", "value", "words"), [
    ("eq", '"true"', '"true" is a string, but the attribute holds a boolean'),
    ("ne", "1", "1 is a integer, but the attribute holds a boolean"),
    ("in", '[true, "yes"]', '"yes" is a string, but the attribute holds a boolean'),
])
def test_a_value_of_the_wrong_type_is_refused_with_its_location(
        tmp_path: Path, cli: Callable[..., CliResult], op: str, value: str, words: str) -> None:
    folder = team_policy(tmp_path, op, value)
    result = cli("validate", str(folder))
    assert result.code == 2
    assert re.search(rf"TEAM-001.yaml:5:\d+: {re.escape(words)}", result.err), result.err


def test_a_value_of_the_right_type_is_accepted(tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    assert cli("validate", str(team_policy(tmp_path))).code == 0


@pytest.mark.parametrize(("controls", "words"), [
    ("hipa: ['164.312(a)(2)(iv)']", "unknown framework 'hipa' (did you mean 'hipaa'?)"),
    ("hipaa: ['164.312(a)(2)(v)']", "hipaa has no control '164.312(a)(2)(v)'"),
])
def test_unknown_frameworks_and_controls_are_refused(
        tmp_path: Path, cli: Callable[..., CliResult], controls: str, words: str) -> None:
    result = cli("scan", str(EXAMPLE), "--policies", str(team_policy(tmp_path, controls=controls)))
    assert result.code == 2
    assert "TEAM-001.yaml:7:" in result.err and words in result.err, result.err


def test_a_framework_of_the_teams_own_is_accepted_when_its_key_says_so(
        tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    folder = team_policy(tmp_path, controls="x-soc2: [CC6.1]")
    result = cli("scan", str(EXAMPLE), "--policies", str(folder), "-q")
    assert result.code == 0 and "error" not in result.err


def test_an_unversioned_framework_name_stands_for_its_only_version(cli: Callable[..., CliResult],
                                                                   tmp_path: Path) -> None:
    short, full = tmp_path / "short.json", tmp_path / "full.json"
    assert cli("scan", str(EXAMPLE), "-q", "--framework", "hds", "--format", f"json={short}").code == 1
    assert cli("scan", str(EXAMPLE), "-q", "--framework", "hds-2024", "--format", f"json={full}").code == 1
    ids = [{f["id"] for f in json.loads(p.read_text())["findings"]} for p in (short, full)]
    assert ids[0] == ids[1] and ids[0]


def _failures(cli: Callable[..., CliResult], tmp_path: Path, *config: str) -> set[tuple[str, str]]:
    out = tmp_path / f"r{len(list(tmp_path.iterdir()))}.json"
    cli("scan", str(EXAMPLE), "-q", "--format", f"json={out}", *config)
    return {(f["policy_id"], f["resource"]["id"]) for f in json.loads(out.read_text())["findings"]
            if f["status"] == "fail"}


def test_the_readmes_sample_classification_keeps_every_default_class_value(
        cli: Callable[..., CliResult], tmp_path: Path) -> None:
    """The README's sample lists fewer values than the defaults: they add, they never drop."""
    readme = (ROOT / "README.md").read_text()
    sample = re.search(r"```yaml\n(version: 1\nclassification:.*?)```", readme, re.S)
    assert sample is not None
    config = tmp_path / "phigate.yaml"
    config.write_text(sample.group(1).replace("fail_on: high\n", ""))
    (tmp_path / "x").mkdir()
    defaults = _failures(cli, tmp_path / "x")
    with_sample = _failures(cli, tmp_path / "x", "--config", str(config))
    assert {f for f in defaults if f[0] != "PHI-LOG-001"} <= with_sample


def test_replacing_the_default_values_is_said_out_loud(cli: Callable[..., CliResult], tmp_path: Path) -> None:
    config = tmp_path / "phigate.yaml"
    config.write_text("classification:\n  extend: false\n  values:\n    clinical: [clinical]\n")
    result = cli("scan", str(EXAMPLE), "-q", "--config", str(config))
    assert "warning:" in result.err and "clinical_notes (clinical)" in result.err
    assert "administrative (administrative)" in result.err


def test_explain_tells_a_policy_in_words(cli: Callable[..., CliResult]) -> None:
    result = cli("explain", "PHI-SEG-002")
    assert result.code == 0
    for words in ("Why:", "What to do:", "aws: Split the role", "break_glass = []", "hipaa: 164.308(a)(4)",
                  "Cases (phigate test):", "PHI-SEG-002.yaml:1"):
        assert words in result.out
    wrong = cli("explain", "phi-seg-02")
    assert wrong.code == 2 and "did you mean PHI-SEG-002?" in wrong.err


def test_policies_as_json_carry_rationale_remediation_and_parameters(cli: Callable[..., CliResult]) -> None:
    rows = {row["id"]: row for row in cli("policies", "--format", "json").json()}
    assert rows["PHI-SEG-002"]["remediation"]["postgres"].startswith("Revoke SELECT")
    assert rows["PHI-SEG-002"]["params"] == {"break_glass": [], "bootstrap_role": "postgres"}
    assert all(row["rationale"] and row["remediation"] for row in rows.values())


def test_every_json_finding_carries_the_remediation_for_its_provider(cli: Callable[..., CliResult],
                                                                     tmp_path: Path) -> None:
    out = tmp_path / "r.json"
    cli("scan", str(EXAMPLE), "-q", "--format", f"json={out}")
    findings = json.loads(out.read_text())["findings"]
    assert findings and all(f.get("remediation") for f in findings)
    postgres = next(f for f in findings if f["policy_id"] == "PHI-SEG-002"
                    and f["resource"]["provider"] == "postgres")
    assert postgres["remediation"].startswith("Revoke SELECT")


#: Operator names as messages used to show them ("expected eq true", "in ["…"]", "element(s) match").
OPERATOR_WORDS = re.compile(r"\b(eq|ne|not_in|len_eq)\b|\bin \[|element\(s\)|\(expected ")


@pytest.mark.parametrize("fmt", ["json", "sarif", "markdown", "junit", "html", "text"])
def test_no_message_names_an_operator(cli: Callable[..., CliResult], tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"report.{fmt}"
    cli("scan", str(EXAMPLE), "-q", "--format", f"{fmt}={out}")
    text = out.read_text()
    if fmt == "json":
        text = "\n".join(f["message"] for f in json.loads(text)["findings"])
    elif fmt == "sarif":
        text = "\n".join(r["message"]["text"] for run in json.loads(text)["runs"] for r in run["results"])
    assert not OPERATOR_WORDS.search(text), OPERATOR_WORDS.search(text)
    assert 'kind is "account"' not in text and "NoneType" not in text


def test_the_config_is_found_from_a_subfolder_up_to_the_repository_root(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    from phigate.config import discover, load_config

    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    (repo / "infra" / "modules").mkdir(parents=True)
    (repo / "phigate.yaml").write_text("fail_on: high\n")
    (tmp_path / "phigate.yaml").write_text("fail_on: low\n")  # outside the repository: never used
    monkeypatch.chdir(repo / "infra" / "modules")
    assert discover() == repo / "phigate.yaml"
    assert load_config(None).fail_on == "high"
    (repo / "phigate.yaml").unlink()
    assert discover() is None and load_config(None).fail_on is None


@pytest.mark.parametrize(("section", "words"), [
    ("aws:\n    regionz: [eu-west-3]", "providers.aws: unknown setting 'regionz' (did you mean 'regions'?)"),
    ("aws:\n    region: eu-west-3", "providers.aws: unknown setting 'region' (did you mean 'regions'?)"),
    ("postgres:\n    dsnz: [x]", "providers.postgres: unknown key 'dsnz'"),
])
def test_a_provider_setting_with_a_typo_is_refused_never_a_wider_scan(
        cli: Callable[..., CliResult], tmp_path: Path, section: str, words: str) -> None:
    config = tmp_path / "phigate.yaml"
    config.write_text(f"providers:\n  {section}\n")
    provider = section.split(":", 1)[0]
    result = cli("scan", "--provider", provider, "--config", str(config), "-q")
    assert result.code == 2 and words in result.err, result.err


def test_a_message_placeholder_reads_common_fields_and_nested_attributes(
        tmp_path: Path, cli: Callable[..., CliResult], write_snapshot: Callable[..., Path]) -> None:
    folder = tmp_path / "team"
    folder.mkdir()
    (folder / "TEAM-002.yaml").write_text(
        "id: TEAM-002\ntitle: Buckets are encrypted\nseverity: high\nkinds: [object_store]\n"
        "message: '{resource} in {region} tagged {tags.data_class}, at rest {encryption.at_rest}'\n"
        "assert: {path: encryption.at_rest, op: eq, value: true}\n", encoding="utf-8")
    estate = write_snapshot([{"id": "arn:aws:s3:::notes", "type": "aws.s3.bucket", "kind": "object_store",
                              "provider": "aws", "region": "eu-west-3", "name": "notes",
                              "tags": {"data_class": "clinical"},
                              "attributes": {"encryption": {"at_rest": False}}}])
    result = cli("scan", str(estate), "-q", "--policies", str(folder), "--format", "json")
    [finding] = result.json()["findings"]
    assert finding["message"].startswith("notes in eu-west-3 tagged clinical, at rest false:")
