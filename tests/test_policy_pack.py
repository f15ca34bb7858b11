"""The bundled health pack: every policy loads, carries its metadata, and its fixtures hold.

Fixtures are the pack's specification: each policy's ``.test.yaml`` must show at least one
pass, one fail and one error, and the runner must notice when an expectation is wrong.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest

from phigate.fixtures import CaseResult, Fixture, load_fixtures, run_fixtures
from phigate.load import load_policies
from phigate.model import Policy
from phigate.problems import ProblemsError
from phigate.schema_files import document_schema

PACK = Path(__file__).parent.parent / "policies" / "health"
CATALOGUE = {  # the required catalogue, whole
    "PHI-CLASS-001", "PHI-ENC-001", "PHI-ENC-002", "PHI-ENC-003", "PHI-ENC-004", "PHI-ENC-005",
    "PHI-TLS-001", "PHI-SEG-001", "PHI-SEG-002", "PHI-SEG-003", "PHI-SEG-004", "PHI-IAM-001", "PHI-IAM-002",
    "PHI-IAM-003", "PHI-IAM-004", "PHI-IAM-005", "PHI-IAM-006", "PHI-IAM-007", "PHI-LOG-001",
    "PHI-INT-001", "PHI-RES-001",
    "PHI-AUTH-001", "PHI-AUTH-002", "PHI-AUTH-003", "PHI-AUTH-004", "PHI-AUTH-005",
}
FRAMEWORKS = {"hipaa", "gdpr", "iso27001-2022", "hds-2024", "cis-aws-7.0.0", "cis-gcp-5.0.0",
              "cis-postgresql-16-1.0.0"}
LESSONS = re.compile(r"segment|minimi|encrypt|supplier|authenticat|audit|integrity|EEA|HDS",
                     re.IGNORECASE)


@pytest.fixture(scope="module")
def policies() -> dict[str, Policy]:
    return {p.id: p for p in load_policies([PACK])}


@pytest.fixture(scope="module")
def fixtures() -> list[Fixture]:
    return load_fixtures([PACK])


@pytest.fixture(scope="module")
def results(fixtures: list[Fixture], policies: dict[str, Policy]) -> list[CaseResult]:
    return run_fixtures(fixtures, policies.values())


def test_pack_holds_the_catalogue(policies: dict[str, Policy]) -> None:
    assert set(policies) == CATALOGUE
    for policy in policies.values():
        assert Path(policy.source.rsplit(":", 1)[0]).name == f"{policy.id}.yaml"


@pytest.mark.parametrize("policy_id", sorted(CATALOGUE))
def test_policy_metadata(policies: dict[str, Policy], policy_id: str) -> None:
    policy = policies[policy_id]
    assert policy.controls and set(policy.controls) <= FRAMEWORKS
    assert LESSONS.search(policy.rationale), "the rationale names the lesson it enforces"
    assert policy.remediation and "default" in policy.remediation


@pytest.mark.parametrize("policy_id", sorted(CATALOGUE))
def test_every_policy_has_pass_fail_and_error_fixtures(fixtures: list[Fixture],
                                                       policy_id: str) -> None:
    mine = [f for f in fixtures if f.policy_id == policy_id]
    assert [Path(f.file).name for f in mine] == [f"{policy_id}.test.yaml"]
    statuses = {status for case in mine[0].cases for status in case.expect.values()}
    assert {"pass", "fail", "error"} <= statuses


def test_all_fixtures_hold(results: list[CaseResult]) -> None:
    failures = [str(r) for r in results if not r.passed]
    assert not failures, "\n".join(failures)
    assert len(results) >= len(CATALOGUE)


def _fixture(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "case.test.yaml"
    path.write_text(body)
    return path


BUCKET = ('{id: "arn:aws:s3:::notes", type: aws.s3.bucket, kind: object_store, provider: aws, '
          'tags: {data_class: clinical}, attributes: {versioning: false, retention: {enabled: false}}}')


def test_a_wrong_expectation_is_reported(tmp_path: Path, policies: dict[str, Policy]) -> None:
    path = _fixture(tmp_path, f"""
policy: PHI-INT-001
cases:
  - name: claims an unversioned clinical bucket passes
    resources: [{BUCKET}]
    expect: {{pass: ["arn:aws:s3:::notes"]}}
  - name: forgets a resource the policy applies to
    resources: [{BUCKET}]
    expect: {{fail: []}}
""")
    wrong, forgotten = run_fixtures(load_fixtures([path]), policies.values())
    assert not wrong.passed and not forgotten.passed
    assert wrong.differences[0].startswith("arn:aws:s3:::notes: expected pass, got fail (")
    assert "versioning" in wrong.differences[0]
    assert forgotten.differences[0].startswith("arn:aws:s3:::notes: expected no outcome, got fail")


def test_invalid_fixtures_are_located_problems(tmp_path: Path) -> None:
    path = _fixture(tmp_path, """
policy: PHI-INT-001
cases:
  - name: typo
    resources:
      - {id: "gs://b", type: gcp.storage.bucket, kind: object_store, provider: gcp,
         attributes: {versionning: true}}
    expect: {pass: ["gs://b"], fail: ["gs://b"], unknown: []}
""")
    with pytest.raises(ProblemsError) as caught:
        load_fixtures([path])
    text = str(caught.value)
    assert f"{path}:8:50" in text and "unknown key 'unknown'" in text
    # the schema stops at the first layer; once it is fixed the records are checked
    path.write_text(path.read_text().replace(", unknown: []", ""))
    with pytest.raises(ProblemsError) as caught:
        load_fixtures([path])
    text = str(caught.value)
    assert f"{path}:7:" in text and "versionning" in text
    assert "already expected to pass" in text


def test_fixture_for_an_unknown_policy_is_a_problem(tmp_path: Path,
                                                    policies: dict[str, Policy]) -> None:
    path = _fixture(tmp_path, "policy: PHI-NOPE-001\ncases: [{name: x, resources: [], "
                              "expect: {pass: []}}]\n")
    with pytest.raises(ProblemsError, match="unknown policy 'PHI-NOPE-001'"):
        run_fixtures(load_fixtures([path]), policies.values())


def test_fixture_schema_is_valid_draft_2020_12() -> None:
    schema = document_schema("fixture")
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_fixture_schema_embeds_the_record_schemas_unchanged() -> None:
    schema = document_schema("fixture")
    resource = {k: v for k, v in document_schema("resource").items()
                if k not in ("$schema", "$id")}
    assert json.dumps(schema["$defs"]["resource"], sort_keys=True) == \
        json.dumps(resource, sort_keys=True)
    assert schema["$defs"]["collection_error"] == document_schema("snapshot")["$defs"]["error"]
