"""AWS HealthLake FHIR data stores as ``database`` stores, read live through boto3 from recorded
HealthLake answers (``tests/aws_replay.py``; moto has no HealthLake) beside the moto server
(keys, roles): clinical whatever their tags, their key, their readers, judged by the store
policies.

One estate for the module (recorded once, read and scanned once); the faults are injected into
later reads of the same estate."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import EndpointConnectionError

from phigate.api import CollectionError, Resource
from phigate.cli import main
from phigate.snapshot import error_from_json, resource_from_json
from phigate_providers.aws import healthlake
from phigate_providers.aws.provider import AwsProvider, Settings
from tests import aws_replay
from tests.aws_server import ACCOUNT, REGION, client, error_response, inject_faults, reset

#: Data stores by id: under a customer key, under a key HealthLake owns, behind SMART on FHIR,
#: tagged administrative, deleted.
RECORDS, TRIALS, PORTAL, CLAIMS, GONE = ("a1" * 16, "b2" * 16, "c3" * 16, "d4" * 16, "e5" * 16)


def store_arn(store_id: str) -> str:
    return aws_replay.arn(REGION, store_id)


def role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


def seed(aws: Callable[..., Any]) -> str:
    key = str(aws("kms").create_key()["KeyMetadata"]["Arn"])
    for store_id, name, settings, tags in (
            (RECORDS, "patient-records", {"key": key}, {}),
            (TRIALS, "trials", {"PreloadDataConfig": {"PreloadDataType": "SYNTHEA"}}, {"team": "research"}),
            (PORTAL, "portal", {"key": key, "strategy": "SMART_ON_FHIR_V1"}, {}),
            (CLAIMS, "claims", {"key": key}, {"data_class": "administrative"}),
            (GONE, "retired", {"status": "DELETED"}, {})):
        aws_replay.record(REGION, aws_replay.datastore(REGION, store_id, name, **settings), tags)
    iam = aws("iam")
    trust = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}
    for name, action in (("clinician-app", "healthlake:SearchWithPost"), ("exporter", "healthlake:StartFHIRExportJob")):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17",
                                                                              "Statement": [trust]}))
        iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action,
                                                    "Resource": store_arn(RECORDS)}]}))
    return key


@pytest.fixture(scope="module")
def estate(endpoint: str, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[dict[str, Resource], list[CollectionError], str, int, dict[str, Any]]]:
    reset(endpoint)
    key = seed(lambda service, region=REGION: client(endpoint, service, region))
    folder = tmp_path_factory.mktemp("healthlake")
    snapshot, out = folder / "estate.json", folder / "report.json"
    assert main(["collect", "--provider", "aws", "--region", REGION, "--quiet", "--output", str(snapshot)]) == 0
    code = main(["scan", str(snapshot), "--quiet", "--show-passed", "--format", f"json={out}"])
    document = json.loads(snapshot.read_text())
    found = {r.id: r for r in map(resource_from_json, document["resources"])}
    yield found, [error_from_json(e) for e in document["errors"]], key, code, json.loads(out.read_text())


def statuses(report: dict[str, Any], policy: str) -> dict[str, str]:
    return {f["resource"]["id"]: f["status"] for f in report["findings"] if f["policy_id"] == policy}


def test_fhir_stores_are_clinical_databases_under_their_key(estate: Any) -> None:
    found, errors, key, _, _ = estate
    assert errors == []
    records, trials, claims = found[store_arn(RECORDS)], found[store_arn(TRIALS)], found[store_arn(CLAIMS)]
    assert (records.kind, records.type, records.name) == ("database", "aws.healthlake.fhir_datastore",
                                                          "patient-records")
    assert records.attributes == {"engine": "fhir-r4", "public_access": {"blocked": True, "grants": []},
                                  "encryption": {"at_rest": True, "algorithm": "aws:kms", "key": key,
                                                 "key_manager": "customer"}}
    # A key HealthLake owns: encrypted, not under the customer's key.
    assert trials.attributes["encryption"] == {"at_rest": True, "algorithm": "aws:kms", "key": None,
                                               "key_manager": "provider"}
    # Clinical by its format: untagged, tagged otherwise, or preloaded with synthetic data.
    assert records.tags == {"data_class": "clinical"}
    assert trials.tags == {"data_class": "clinical", "team": "research"}
    assert claims.tags == {"data_class": "clinical,administrative"}
    # A deleted store holds nothing; the five stores came over three pages.
    assert store_arn(GONE) not in found
    assert {r.id for r in found.values() if r.type == healthlake.TYPES[0]} == {
        store_arn(s) for s in (RECORDS, TRIALS, PORTAL, CLAIMS)}


def test_store_policies_judge_fhir_stores(estate: Any) -> None:
    _, _, _, code, report = estate
    assert report["collection_errors"] == []
    assert code == 1 and not [f for f in report["findings"] if f["status"] == "error"]
    customer_key = statuses(report, "PHI-ENC-002")
    assert customer_key[store_arn(RECORDS)] == "pass" and customer_key[store_arn(TRIALS)] == "fail"
    assert statuses(report, "PHI-CLASS-001")[store_arn(RECORDS)] == "pass"
    assert statuses(report, "PHI-IAM-002")[store_arn(RECORDS)] == "pass"
    # One customer key for four clinical stores: dedicated (the claims store is clinical too).
    assert statuses(report, "PHI-SEG-001")[store_arn(CLAIMS)] == "pass"


def test_searching_or_exporting_reads_the_store(estate: Any) -> None:
    found, _, _, _, _ = estate
    assert found[role_arn("clinician-app")].attributes["can_read_via"] == {
        store_arn(RECORDS): "healthlake:SearchWithPost"}
    assert found[role_arn("exporter")].attributes["can_read"] == [store_arn(RECORDS)]
    # Behind SMART on FHIR too, IAM principals read it through the same actions.
    facets, policy = healthlake.store_access(found[store_arn(PORTAL)])
    assert policy is None and {"healthlake:ReadResource", "healthlake:StartFHIRExportJob"} <= facets[0].actions


def refusing(*operations: str) -> Callable[[str, str, str, Any], AWSResponse | None]:
    def fault(service: str, region: str, called: str, request: Any) -> AWSResponse | None:
        if service == "healthlake" and called in operations:
            return error_response("AccessDeniedException", 403, json_protocol=True)
        return None

    return fault


def collect(regions: tuple[str, ...] = (REGION,)) -> tuple[dict[str, Resource], list[CollectionError]]:
    provider = AwsProvider(Settings(regions=regions))
    provider.restrict({"database": frozenset({"encryption", "tags"})})
    records = list(provider.collect())
    return ({r.id: r for r in records if isinstance(r, Resource)},
            [r for r in records if isinstance(r, CollectionError)])


def test_a_store_whose_tags_cannot_be_read_stays_clinical(estate: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    inject_faults(monkeypatch, refusing("ListTagsForResource"))
    found, errors = collect()
    assert found[store_arn(TRIALS)].tags == {"data_class": "clinical"}
    assert store_arn(TRIALS) in {e.resource_id for e in errors if e.permission == "healthlake:ListTagsForResource"}


def test_stores_not_listed_are_an_error_on_every_database_policy(
        estate: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    inject_faults(monkeypatch, refusing("ListFHIRDatastores"))
    found, errors = collect()
    assert not [r for r in found.values() if r.type in healthlake.TYPES]
    assert {(e.permission, e.kinds, e.types) for e in errors if e.resource_id is None} == {
        ("healthlake:ListFHIRDatastores", ("database",), healthlake.TYPES)}


def unreachable(service: str, region: str, called: str, request: Any) -> None:
    if service == "healthlake":
        raise EndpointConnectionError(endpoint_url=f"https://healthlake.{region}.amazonaws.com/")


def test_a_region_without_healthlake_holds_no_store_and_one_that_has_it_is_an_error_when_unreachable(
        estate: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    inject_faults(monkeypatch, unreachable)
    # Paris is not in the SDK's region table for HealthLake and its endpoint is not reached: no store there.
    found, errors = collect()
    assert not [r for r in found.values() if r.type in healthlake.TYPES]
    assert not [e for e in errors if "healthlake" in (e.permission or "")]
    # Ireland is: its endpoint not reached is a failed listing, never an empty region.
    _, errors = collect(("eu-west-1",))
    assert {(e.permission, e.region) for e in errors if e.resource_id is None} == {
        ("healthlake:ListFHIRDatastores", "eu-west-1")}
