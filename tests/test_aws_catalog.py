"""Glue Data Catalogs and Athena workgroups read live from the moto server as ``database``
stores: their encryption and key, the catalog's resource policy (public, or shared with another
account), their class, judged by the store policies and read through the access graph.

One estate for the module (seeded once, read once and scanned once); the faults are injected
into later reads of the same estate."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from phigate.api import CollectionError, Context, Resource
from phigate.cli import main
from phigate.snapshot import error_from_json, resource_from_json
from phigate_providers.aws import athena, glue
from phigate_providers.aws.kms import KeyDirectory, KeyFacts
from phigate_providers.aws.provider import AwsProvider, Settings
from tests.aws_server import ACCOUNT, REGION, client, error_response, inject_faults, reset

PARTNER = "111122223333"
#: A second region whose catalog is public and in clear, and one whose catalog holds nothing.
OTHER, EMPTY = "eu-west-1", "eu-central-1"
REGIONS = (REGION, OTHER, EMPTY)


def catalog_arn(region: str = REGION) -> str:
    return f"arn:aws:glue:{region}:{ACCOUNT}:catalog"


def workgroup_arn(name: str) -> str:
    return f"arn:aws:athena:{REGION}:{ACCOUNT}:workgroup/{name}"


def role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def seed(aws: Callable[..., Any]) -> str:
    """Catalogs under a customer key and in clear, shared with a partner or public; workgroups
    enforcing their encryption or not; roles reading them. The customer key's ARN."""
    key = aws("kms").create_key()["KeyMetadata"]["Arn"]
    glue_here = aws("glue")
    glue_here.create_database(DatabaseInput={"Name": "pms", "Parameters": {"data_class": "clinical"}})
    glue_here.create_database(DatabaseInput={"Name": "billing"}, Tags={"data_class": "administrative"})
    glue_here.put_data_catalog_encryption_settings(DataCatalogEncryptionSettings={
        "EncryptionAtRest": {"CatalogEncryptionMode": "SSE-KMS", "SseAwsKmsKeyId": key},
        "ConnectionPasswordEncryption": {"ReturnConnectionPasswordEncrypted": True, "AwsKmsKeyId": key}})
    glue_here.put_resource_policy(PolicyInJson=document({
        "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{PARTNER}:root"},
        "Action": ["glue:GetTable", "glue:GetTables"],
        "Resource": [catalog_arn(), f"arn:aws:glue:{REGION}:{ACCOUNT}:table/*"]}))
    glue_there = aws("glue", OTHER)
    glue_there.create_database(DatabaseInput={"Name": "staging"})
    glue_there.create_database(DatabaseInput={"Name": "exports", "Parameters": {"data_class": "administrative"}})
    glue_there.put_resource_policy(PolicyInJson=document({
        "Effect": "Allow", "Principal": "*", "Action": "glue:GetTables", "Resource": "*"}))
    athena_client = aws("athena")
    for name, enforced, encryption, tag in (
            ("clinical-results", True, {"EncryptionOption": "SSE_KMS", "KmsKey": key}, "clinical"),
            ("adhoc", False, {"EncryptionOption": "SSE_KMS", "KmsKey": key}, "clinical"),
            ("reports", True, {"EncryptionOption": "SSE_S3"}, "administrative")):
        athena_client.create_work_group(Name=name, Tags=[{"Key": "data_class", "Value": tag}], Configuration={
            "ResultConfiguration": {"OutputLocation": f"s3://exemplum-results/{name}/",
                                    "EncryptionConfiguration": encryption},
            "EnforceWorkGroupConfiguration": enforced})
    iam = aws("iam")
    for name, action, resource in (
            ("catalog-reader", "glue:GetTable", f"arn:aws:glue:{REGION}:{ACCOUNT}:table/*"),
            ("results-reader", "athena:GetQueryResults", workgroup_arn("clinical-results")),
            ("policy-writer", "glue:PutResourcePolicy", "*")):
        trust = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=document(trust))
        iam.put_role_policy(RoleName=name, PolicyName="p",
                            PolicyDocument=document({"Effect": "Allow", "Action": action, "Resource": resource}))
    return str(key)


Read = tuple[dict[str, Resource], list[CollectionError], dict[str, Resource]]


def collect(regions: tuple[str, ...] = REGIONS, **fields: frozenset[str]) -> Read:
    """The estate read live: reported resources, errors, context; only ``fields`` when given."""
    provider = AwsProvider(Settings(regions=regions))
    if fields:
        provider.restrict(fields)
    records = list(provider.collect())
    return ({r.id: r for r in records if isinstance(r, Resource)},
            [r for r in records if isinstance(r, CollectionError)],
            {r.resource.id: r.resource for r in records if isinstance(r, Context)})


@pytest.fixture(scope="module")
def estate(endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Read, str, int, dict[str, Any]]]:
    """The seeded estate read live once, and scanned once with every finding shown."""
    reset(endpoint)
    key = seed(lambda service, region=REGION: client(endpoint, service, region))
    folder = tmp_path_factory.mktemp("catalog")
    snapshot, out = folder / "estate.json", folder / "report.json"
    regions = [arg for region in REGIONS for arg in ("--region", region)]
    assert main(["collect", "--provider", "aws", *regions, "--quiet", "--output", str(snapshot)]) == 0
    code = main(["scan", str(snapshot), "--quiet", "--show-passed", "--format", f"json={out}"])
    document = json.loads(snapshot.read_text())
    found = {r.id: r for r in map(resource_from_json, document["resources"])}
    yield (found, [error_from_json(e) for e in document["errors"]], {}), key, code, json.loads(out.read_text())


def statuses(report: dict[str, Any], policy: str) -> dict[str, str]:
    return {f["resource"]["id"]: f["status"] for f in report["findings"] if f["policy_id"] == policy}


# --- Glue Data Catalogs -----------------------------------------------------------------------------

def test_a_regions_catalog_is_a_database_under_its_key_classed_by_its_databases(estate: Any) -> None:
    (found, errors, _), key, _, _ = estate
    assert errors == []
    here, there = found[catalog_arn()], found[catalog_arn(OTHER)]
    assert (here.kind, here.type, here.region) == ("database", "aws.glue.data_catalog", REGION)
    assert here.attributes["encryption"] == {"at_rest": True, "algorithm": "aws:kms", "key": key,
                                             "key_manager": "customer"}
    assert there.attributes["encryption"]["at_rest"] is False
    # Shared with a named partner: not public; allowed to everyone: public.
    assert here.attributes["public_access"] == {"blocked": True, "grants": []}
    assert there.attributes["public_access"] == {"blocked": False, "grants": ["*"]}
    # A clinical parameter and an administrative tag: both kept, the strictest wins.
    assert here.tags == {"data_class": "administrative,clinical"}
    # One database without a class: the catalog may hold anything, it is unclassified.
    assert there.tags == {}
    assert here.raw["databases"] == ["billing", "pms"]
    assert here.raw["ConnectionPasswordEncryption"]["ReturnConnectionPasswordEncrypted"] is True
    # A catalog without a database holds nothing: no store.
    assert catalog_arn(EMPTY) not in found


def test_a_catalog_is_clinical_when_one_database_is_and_unclassified_when_one_could_be() -> None:
    assert glue.catalog_class(["clinical", None]) == "clinical"
    assert glue.catalog_class(["administrative", None]) is None
    assert glue.catalog_class(["public", "administrative"]) == "administrative,public"
    assert glue.catalog_class([None]) is None


def test_store_policies_judge_catalogs_and_workgroups_without_policies_of_their_own(estate: Any) -> None:
    _, _, code, report = estate
    assert report["collection_errors"] == []
    assert code == 1 and not [f for f in report["findings"] if f["status"] == "error"]
    encrypted, exposure = statuses(report, "PHI-ENC-001"), statuses(report, "PHI-IAM-002")
    assert encrypted[catalog_arn()] == "pass" and encrypted[catalog_arn(OTHER)] == "fail"
    assert exposure[catalog_arn()] == "pass" and exposure[catalog_arn(OTHER)] == "fail"
    assert statuses(report, "PHI-CLASS-001")[catalog_arn(OTHER)] == "fail"
    customer_key = statuses(report, "PHI-ENC-002")
    assert customer_key[catalog_arn()] == customer_key[workgroup_arn("clinical-results")] == "pass"
    # Not enforced: a query may write its results elsewhere, under S3-managed keys.
    assert customer_key[workgroup_arn("adhoc")] == "fail"
    # The key encrypts the clinical catalog and the clinical results only: dedicated.
    assert statuses(report, "PHI-SEG-001")[catalog_arn()] == "pass"


# --- Athena workgroups ------------------------------------------------------------------------------

def test_workgroups_store_results_under_the_encryption_they_enforce(estate: Any) -> None:
    (found, _, _), key, _, _ = estate
    results, adhoc, reports = (found[workgroup_arn(n)] for n in ("clinical-results", "adhoc", "reports"))
    assert (results.kind, results.type) == ("database", "aws.athena.workgroup")
    assert results.attributes["encryption"] == {"at_rest": True, "algorithm": "SSE_KMS", "key": key,
                                                "key_manager": "customer"}
    assert adhoc.attributes["encryption"] == reports.attributes["encryption"] == athena.S3_FLOOR
    assert results.attributes["public_access"] == {"blocked": True, "grants": []}
    assert results.tags == {"data_class": "clinical"}
    # The default workgroup names no output location: it stores nothing of its own.
    assert workgroup_arn("primary") not in found


def test_managed_results_are_under_their_key_or_one_athena_owns() -> None:
    """The workgroup configuration as the Athena API reference shows it (GetWorkGroup,
    ManagedQueryResultsConfiguration), through the same normalisation."""
    keys = KeyDirectory()
    key = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    keys.add_region(REGION, [KeyFacts(key, "customer", ())])
    managed = {"EnforceWorkGroupConfiguration": True, "ManagedQueryResultsConfiguration": {"Enabled": True}}
    assert athena.encryption(managed, keys, REGION, ACCOUNT)["key_manager"] == "provider"
    managed["ManagedQueryResultsConfiguration"]["EncryptionConfiguration"] = {"KmsKey": key}
    assert athena.encryption(managed, keys, REGION, ACCOUNT) == {"at_rest": True, "algorithm": "aws:kms",
                                                                 "key": key, "key_manager": "customer"}
    cse = {"EnforceWorkGroupConfiguration": True, "ResultConfiguration": {
        "EncryptionConfiguration": {"EncryptionOption": "CSE_KMS", "KmsKey": key}}}
    assert athena.encryption(cse, keys, REGION, ACCOUNT)["algorithm"] == "CSE_KMS"
    # A key this run has not seen: who manages it is left out (undecided), never guessed.
    unknown = {**cse, "ResultConfiguration": {"EncryptionConfiguration": {
        "EncryptionOption": "SSE_KMS", "KmsKey": key.replace("1234abcd", "99999999")}}}
    assert "key_manager" not in athena.encryption(unknown, keys, REGION, ACCOUNT)


# --- the access graph -------------------------------------------------------------------------------

def test_reading_tables_or_results_reads_the_store(estate: Any) -> None:
    (found, _, _), _, _, _ = estate
    reader, results, writer = (found[role_arn(n)] for n in ("catalog-reader", "results-reader", "policy-writer"))
    # The public catalog is anyone's: every principal counts as reading it.
    assert set(reader.attributes["can_read"]) == {catalog_arn(), catalog_arn(OTHER)}
    assert set(results.attributes["can_read"]) == {workgroup_arn("clinical-results"), catalog_arn(OTHER)}
    assert writer.attributes["can_read_via"][catalog_arn()] == "glue:PutResourcePolicy (can grant itself read)"
    # The partner the catalog's policy names is let in by it, for the analysis across accounts.
    facets, policy = glue.store_access(found[catalog_arn()])  # type: ignore[misc]
    assert policy is not None and PARTNER in json.dumps(found[catalog_arn()].raw["policy"])
    assert {"glue:GetTable", "glue:GetConnection", "glue:PutResourcePolicy"} <= facets[0].actions


# --- what was not read ------------------------------------------------------------------------------

def refusing(*operations: str) -> Callable[[str, str, str, Any], AWSResponse | None]:
    def fault(service: str, region: str, called: str, request: Any) -> AWSResponse | None:
        return error_response("AccessDeniedException", 400, json_protocol=True) if called in operations else None

    return fault


#: What the store policies read of databases.
DATABASE_FIELDS = {"database": frozenset({"encryption", "public_access", "tags"})}


def test_a_catalog_whose_settings_policy_or_tags_cannot_be_read_is_undecided_not_private(
        estate: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    inject_faults(monkeypatch, refusing("GetDataCatalogEncryptionSettings", "GetResourcePolicy", "GetTags"))
    found, errors, _ = collect((REGION,), **DATABASE_FIELDS)
    here = found[catalog_arn()]
    assert "encryption" not in here.attributes and "public_access" not in here.attributes
    assert glue.store_access(here) == "resource policy not read"
    refused = {e.permission for e in errors if e.resource_id == catalog_arn() and e.kinds == ("database",)}
    assert refused == {"glue:GetDataCatalogEncryptionSettings", "glue:GetResourcePolicy", "glue:GetTags"}
    # The billing database's tag was not read: only the clinical parameter is known, and it decides.
    assert here.tags == {"data_class": "clinical"}


def test_a_workgroup_that_cannot_be_read_is_yielded_without_encryption(
        estate: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    inject_faults(monkeypatch, refusing("GetWorkGroup", "ListTagsForResource"))
    found, errors, _ = collect((REGION,), **DATABASE_FIELDS)
    # Whether it stores results is unknown: every workgroup is yielded, its encryption undecided.
    for name in ("clinical-results", "primary"):
        assert "encryption" not in found[workgroup_arn(name)].attributes
        assert found[workgroup_arn(name)].tags == {}
    assert {"athena:GetWorkGroup", "athena:ListTagsForResource"} <= {
        e.permission for e in errors if e.resource_id == workgroup_arn("clinical-results")}


def test_catalogs_and_workgroups_not_listed_are_an_error_on_every_database_policy(
        estate: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    inject_faults(monkeypatch, refusing("GetDatabases", "ListWorkGroups"))
    found, errors, _ = collect((REGION,), **DATABASE_FIELDS)
    assert not [r for r in found.values() if r.type in (*glue.TYPES, *athena.TYPES)]
    listed = {(e.permission, e.kinds, e.types) for e in errors if e.resource_id is None}
    assert listed == {("glue:GetDatabases", ("database",), glue.TYPES),
                      ("athena:ListWorkGroups", ("database",), athena.TYPES)}
