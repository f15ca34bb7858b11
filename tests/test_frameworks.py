"""Framework catalogues: schema-valid, unique ids, and every policy mapping resolves to a control."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from phigate.load import bundled_pack, load_policies

ROOT = Path(__file__).parent.parent
FRAMEWORKS = ROOT / "policies" / "frameworks"
SCHEMA = ROOT / "checker" / "phigate" / "schemas" / "framework-v1.schema.json"
FRAMEWORK_FILES = sorted(FRAMEWORKS.glob("*.yaml"))


def load_catalogues(folder: Path = FRAMEWORKS) -> dict[str, set[str]]:
    """Framework key → control ids defined in its catalogue file."""
    return {
        path.stem: {control["id"] for control in yaml.safe_load(path.read_text())["controls"]}
        for path in sorted(folder.glob("*.yaml"))
    }


def mapping_problems(
    policies: Iterable[tuple[str, Mapping[str, Iterable[str]]]],
    catalogues: Mapping[str, set[str]],
) -> list[str]:
    """Every (policy id, controls) pair maps to at least one control, all known to a catalogue."""
    problems = []
    for policy_id, controls in policies:
        if not controls or not any(controls.values()):
            problems.append(f"{policy_id}: maps to no control")
        for framework, ids in controls.items():
            if framework not in catalogues:
                problems.append(f"{policy_id}: framework {framework!r} has no catalogue file")
                continue
            problems.extend(
                f"{policy_id}: {framework} control {control!r} is not in the catalogue"
                for control in ids
                if control not in catalogues[framework]
            )
    return problems


def test_catalogues_exist() -> None:
    assert FRAMEWORK_FILES, f"no framework catalogue under {FRAMEWORKS}"


def test_schema_is_valid_draft_2020_12() -> None:
    Draft202012Validator.check_schema(json.loads(SCHEMA.read_text()))


@pytest.mark.parametrize("path", FRAMEWORK_FILES, ids=lambda p: p.name)
def test_catalogue_matches_schema(path: Path) -> None:
    validator = Draft202012Validator(json.loads(SCHEMA.read_text()))
    errors = [f"{list(e.absolute_path)}: {e.message}"
              for e in validator.iter_errors(yaml.safe_load(path.read_text()))]
    assert errors == []


@pytest.mark.parametrize("path", FRAMEWORK_FILES, ids=lambda p: p.name)
def test_catalogue_ids_unique_and_file_named_after_framework(path: Path) -> None:
    data = yaml.safe_load(path.read_text())
    assert path.stem == data["framework"]
    ids = [control["id"] for control in data["controls"]]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    assert duplicates == []


def test_every_policy_maps_to_known_controls() -> None:
    policies = load_policies([bundled_pack() / "health"])
    assert policies
    pairs = [(policy.id, policy.controls) for policy in policies]
    assert mapping_problems(pairs, load_catalogues()) == []


def test_mapping_check_reports_unknown_framework_control_and_empty_mapping() -> None:
    catalogues = load_catalogues()
    problems = mapping_problems(
        [
            ("PHI-TEST-001", {"hipaa": ["164.312(a)(1)", "164.999(z)"]}),
            ("PHI-TEST-002", {"made-up-framework": ["1.1"]}),
            ("PHI-TEST-003", {}),
        ],
        catalogues,
    )
    assert problems == [
        "PHI-TEST-001: hipaa control '164.999(z)' is not in the catalogue",
        "PHI-TEST-002: framework 'made-up-framework' has no catalogue file",
        "PHI-TEST-003: maps to no control",
    ]


def test_schema_rejects_unknown_keys_and_missing_title() -> None:
    validator = Draft202012Validator(json.loads(SCHEMA.read_text()))
    bad: dict[str, Any] = {
        "framework": "x", "title": "X", "version": "1", "extra": True,
        "controls": [{"id": "1", "text": "copied"}],
    }
    messages = sorted(e.message for e in validator.iter_errors(bad))
    assert any("'extra'" in m for m in messages)
    assert any("'title' is a required property" in m for m in messages)
    assert any("'text'" in m for m in messages)


def test_a_control_with_no_evidence_is_not_satisfied() -> None:
    from phigate.frameworks import Framework, control_views
    from phigate.model import Status

    framework = Framework("hipaa", "HIPAA", "2013", {"164.312(b)": "Audit controls",
                                                     "164.312(c)(1)": "Integrity"})
    [policy] = [p for p in load_policies([bundled_pack() / "health"]) if p.id == "PHI-LOG-001"]
    nothing_applied = {"PHI-LOG-001": {Status.SKIP: 4}}
    passed = {"PHI-LOG-001": {Status.PASS: 2, Status.SKIP: 4}}
    assert [v.status for v in control_views(framework, [policy], nothing_applied)] == [
        "not_evaluated", "not_covered"]
    assert [v.status for v in control_views(framework, [policy], passed)] == [
        "satisfied", "not_covered"]


def test_a_cloud_benchmark_is_judged_on_its_own_providers_resources(
        write_snapshot: Any, tmp_path: Path) -> None:
    """A GCS bucket failing PHI-IAM-002 fails the CIS GCP control, not the CIS AWS one."""
    from phigate.cli import main
    from tests.conftest import resource

    aws_bucket = resource("arn:aws:s3:::fine", "object_store", "aws.s3.bucket", provider="aws",
                          tags={"data_class": "administrative"},
                          attributes={"public_access": {"blocked": True, "grants": []}})
    gcs_bucket = resource("gs://open", "object_store", "gcp.storage.bucket", provider="gcp",
                          tags={"data_class": "administrative"},
                          attributes={"public_access": {"blocked": False, "grants": ["allUsers"]}})
    snapshot = write_snapshot([aws_bucket, gcs_bucket])
    out = tmp_path / "report.json"
    main(["scan", str(snapshot), "--only", "PHI-IAM-002", "--quiet", "--format", f"json={out}"])
    report = json.loads(out.read_text())
    views = {c["framework"]: {v["id"]: v["status"] for v in c["controls"]} for c in report["compliance"]}
    assert views["cis-aws-7.0.0"]["3.1.4"] == "satisfied"
    assert views["cis-gcp-5.0.0"]["5.1"] == "failed"
    assert views["iso27001-2022"]["A.8.3"] == "failed"
