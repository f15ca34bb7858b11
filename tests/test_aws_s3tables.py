"""S3 Tables tables as ``table`` stores, read live through boto3 from recorded S3 Tables answers
(``tests/aws_replay.py``: moto's S3 Tables fail in server mode) beside the moto server (keys,
roles): their encryption and key, their bucket's and their own policy, their class over their
bucket's, judged by the store policies and read through the access graph.

One estate for the module (recorded once, read and scanned once); the faults are injected into
later reads of the same estate."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from phigate.api import CollectionError, Resource
from phigate.cli import main
from phigate.snapshot import error_from_json, resource_from_json
from phigate_providers.aws import s3tables
from phigate_providers.aws.provider import AwsProvider, Settings
from tests import aws_replay
from tests.aws_server import ACCOUNT, REGION, client, error_response, inject_faults, reset

PARTNER = "111122223333"


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


def lake(name: str) -> str:
    return f"arn:aws:s3tables:{REGION}:{ACCOUNT}:bucket/{name}"


def seed(aws: Callable[..., Any]) -> dict[str, str]:
    """Two table buckets: a clinical one shared with a partner, holding a table under a customer
    key and one a table policy opens to everyone; an unclassified one of three tables. The
    tables' ARNs by name."""
    key = str(aws("kms").create_key()["KeyMetadata"]["Arn"])
    clinical = aws_replay.table_bucket(REGION, "clinical-lake", tags={"data_class": "clinical"}, policy=document({
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{PARTNER}:root"}, "Action": "s3tables:GetTableData",
        "Resource": f"{lake('clinical-lake')}/table/*"}))
    tables = {
        "encounters": aws_replay.table(clinical, "notes", "encounters", key=key),
        "scratch": aws_replay.table(clinical, "notes", "scratch", tags={"data_class": "administrative"},
                                    policy=document({"Effect": "Allow", "Principal": "*",
                                                     "Action": "s3tables:GetTableData", "Resource": "*"})),
    }
    other = aws_replay.table_bucket(REGION, "open-lake")
    for name in ("events", "sessions", "exports"):
        tables[name] = aws_replay.table(other, "raw", name, key=key if name == "exports" else None)
    iam = aws("iam")
    trust = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}
    for name, action, resource in (("analyst", "s3tables:GetTableData", f"{lake('clinical-lake')}/table/*"),
                                   ("lake-admin", "s3tables:PutTableBucketPolicy", lake("open-lake"))):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=document(trust))
        iam.put_role_policy(RoleName=name, PolicyName="p",
                            PolicyDocument=document({"Effect": "Allow", "Action": action, "Resource": resource}))
    return {**tables, "key": key}


@pytest.fixture(scope="module")
def estate(endpoint: str, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[dict[str, Resource], list[CollectionError], dict[str, str], int, dict[str, Any]]]:
    reset(endpoint)
    seeded = seed(lambda service, region=REGION: client(endpoint, service, region))
    folder = tmp_path_factory.mktemp("s3tables")
    snapshot, out = folder / "estate.json", folder / "report.json"
    assert main(["collect", "--provider", "aws", "--region", REGION, "--quiet", "--output", str(snapshot)]) == 0
    code = main(["scan", str(snapshot), "--quiet", "--show-passed", "--format", f"json={out}"])
    read = json.loads(snapshot.read_text())
    found = {r.id: r for r in map(resource_from_json, read["resources"])}
    yield found, [error_from_json(e) for e in read["errors"]], seeded, code, json.loads(out.read_text())


def statuses(report: dict[str, Any], policy: str) -> dict[str, str]:
    return {f["resource"]["id"]: f["status"] for f in report["findings"] if f["policy_id"] == policy}


def test_tables_carry_their_key_their_policies_exposure_and_their_buckets_class(estate: Any) -> None:
    found, errors, seeded, _, _ = estate
    assert errors == []
    encounters, scratch, events = (found[seeded[n]] for n in ("encounters", "scratch", "events"))
    assert (encounters.kind, encounters.type, encounters.name) == ("table", "aws.s3tables.table",
                                                                  "clinical-lake/notes/encounters")
    assert encounters.attributes["encryption"] == {"at_rest": True, "algorithm": "aws:kms", "key": seeded["key"],
                                                   "key_manager": "customer"}
    assert scratch.attributes["encryption"] == s3tables.SSE_S3
    # The bucket's policy names a partner: not public; the table's own opens it to everyone.
    assert encounters.attributes["public_access"] == {"blocked": True, "grants": []}
    assert scratch.attributes["public_access"] == {"blocked": False, "grants": ["*"]}
    assert events.attributes["public_access"] == {"blocked": True, "grants": []}
    # The bucket's class under the table's own: both kept, the strictest wins.
    assert encounters.tags == {"data_class": "clinical"}
    assert scratch.tags == {"data_class": "clinical,administrative"}
    assert events.tags == {}
    # Five tables over two buckets, listed two a page.
    assert len([r for r in found.values() if r.type == "aws.s3tables.table"]) == 5


def test_store_policies_judge_tables(estate: Any) -> None:
    _, _, seeded, code, report = estate
    assert report["collection_errors"] == []
    assert code == 1 and not [f for f in report["findings"] if f["status"] == "error"]
    assert statuses(report, "PHI-IAM-002")[seeded["scratch"]] == "fail"
    customer_key = statuses(report, "PHI-ENC-002")
    assert customer_key[seeded["encounters"]] == "pass" and customer_key[seeded["scratch"]] == "fail"
    assert statuses(report, "PHI-CLASS-001")[seeded["events"]] == "fail"
    # The clinical table's key also encrypts an unclassified table: not dedicated.
    assert statuses(report, "PHI-SEG-001")[seeded["encounters"]] == "fail"


def test_reading_table_data_or_rewriting_the_buckets_policy_reads_the_table(estate: Any) -> None:
    found, _, seeded, _, _ = estate
    # The public table is anyone's: every principal counts as reading it.
    assert set(found[role_arn("analyst")].attributes["can_read"]) == {seeded["encounters"], seeded["scratch"]}
    via = found[role_arn("lake-admin")].attributes["can_read_via"]
    assert via[seeded["events"]] == "s3tables:PutTableBucketPolicy (can grant itself read)"
    assert seeded["encounters"] not in via


def refusing(*operations: str) -> Callable[[str, str, str, Any], AWSResponse | None]:
    def fault(service: str, region: str, called: str, request: Any) -> AWSResponse | None:
        if service == "s3tables" and called in operations:
            return error_response("AccessDeniedException", 403, json_protocol=True)
        return None

    return fault


def collect() -> tuple[dict[str, Resource], list[CollectionError]]:
    provider = AwsProvider(Settings(regions=(REGION,)))
    provider.restrict({"table": frozenset({"encryption", "public_access", "tags"})})
    records = list(provider.collect())
    return ({r.id: r for r in records if isinstance(r, Resource)},
            [r for r in records if isinstance(r, CollectionError)])


def test_a_table_whose_bucket_policy_or_encryption_cannot_be_read_is_undecided(
        estate: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    _, _, seeded, _, _ = estate
    inject_faults(monkeypatch, refusing("GetTableBucketPolicy", "GetTableEncryption"))
    found, errors = collect()
    for name in ("encounters", "events"):
        table = found[seeded[name]]
        assert "public_access" not in table.attributes and "encryption" not in table.attributes
        assert s3tables.store_access(table) == "resource policy not read"
        assert "s3tables:GetTableEncryption" in {e.permission for e in errors if e.resource_id == table.id}
    assert {e.resource_id for e in errors if e.permission == "s3tables:GetTableBucketPolicy"} == {
        lake("clinical-lake"), lake("open-lake")}


def test_tables_not_listed_are_an_error_on_every_table_policy(estate: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    inject_faults(monkeypatch, refusing("ListTables"))
    found, errors = collect()
    assert not [r for r in found.values() if r.type in s3tables.TYPES]
    assert {(e.permission, e.kinds, e.types) for e in errors if e.resource_id is None} == {
        ("s3tables:ListTables", ("table",), s3tables.TYPES)}


def test_a_table_policy_merges_with_its_buckets() -> None:
    bucket = document({"Effect": "Allow", "Principal": "*", "Action": "s3tables:GetTableData", "Resource": "*"})
    table = json.dumps({"Version": "2012-10-17", "Statement": {"Effect": "Deny", "Principal": "*",
                                                               "Action": "*", "Resource": "*"}})
    merged = json.loads(s3tables.combined(bucket, table) or "")
    assert [s["Effect"] for s in merged["Statement"]] == ["Allow", "Deny"]
    assert s3tables.combined(None, table) == table and s3tables.combined(None, None) is None
    assert s3tables.combined(bucket, "not json") == "not json"  # reported as the table's error
