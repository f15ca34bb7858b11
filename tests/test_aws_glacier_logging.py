"""Whether an S3 Glacier vault's reads are logged (PHI-LOG-001), decided from the account's
CloudTrail trails read live from the moto server: CloudTrail records Glacier's calls as
management events (Glacier has no data events), so a logging trail, multi-region or at home in
the vault's region, whose selectors record management reads and do not exclude
``glacier.amazonaws.com``, logs the vault's retrievals.

moto answers a vault's listing and the trails, not a vault's access policy, lock or tags: those
three are answered in AWS's shapes (a clinical vault with neither policy nor lock). moto lists
no selector for a trail created without any (AWS lists its default one): each trail here is
given its selectors as AWS would list them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from phigate.api import CollectionError, Resource
from phigate.cli import main
from phigate.validation import kind_validator
from phigate_providers.aws.provider import AwsProvider, Settings
from tests.aws_server import ACCOUNT, REGION, _Body, error_response, inject_faults

OTHER = "eu-west-1"
VAULT = f"arn:aws:glacier:{REGION}:{ACCOUNT}:vaults/scans-archive"
LOGS = "trail-logs-bucket"
Aws = Callable[..., Any]
Fault = Callable[[str, str, str, Any], AWSResponse | None]

#: Basic selectors as AWS lists them.
ALL_MANAGEMENT = [{"ReadWriteType": "All", "IncludeManagementEvents": True, "DataResources": [],
                   "ExcludeManagementEventSources": []}]
READ_ONLY = [{**ALL_MANAGEMENT[0], "ReadWriteType": "ReadOnly"}]
WRITE_ONLY = [{**ALL_MANAGEMENT[0], "ReadWriteType": "WriteOnly"}]
DATA_ONLY = [{"ReadWriteType": "All", "IncludeManagementEvents": False,
              "DataResources": [{"Type": "AWS::S3::Object", "Values": ["arn:aws:s3"]}]}]


def management(*fields: dict[str, Any]) -> list[dict[str, Any]]:
    """One advanced selector of management events, with ``fields`` beside its category."""
    return [{"Name": "management", "FieldSelectors": [{"Field": "eventCategory", "Equals": ["Management"]},
                                                      *fields]}]


def vault_reads(service: str, region: str, called: str, request: Any) -> AWSResponse | None:
    """AWS's answers for a clinical vault with no access policy and no lock."""
    if called == "ListTagsForVault":
        return AWSResponse("https://replayed", 200, {"Content-Type": "application/json"},
                           _Body(json.dumps({"Tags": {"data_class": "clinical"}}).encode()))
    if called in ("GetVaultAccessPolicy", "GetVaultLock"):
        return error_response("ResourceNotFoundException", 404, json_protocol=True)
    return None


def refusing_trails(service: str, region: str, called: str, request: Any) -> AWSResponse | None:
    if called == "DescribeTrails":
        return error_response("AccessDeniedException", 400, json_protocol=True)
    return vault_reads(service, region, called, request)


def trail(aws: Aws, name: str, *, region: str = REGION, multi_region: bool = False, logging: bool = True,
          basic: list[dict[str, Any]] | None = None, advanced: list[dict[str, Any]] | None = None) -> None:
    """A trail at home in ``region``, its selectors set (basic or advanced), logging or not."""
    trails = aws("cloudtrail", region)
    trails.create_trail(Name=name, S3BucketName=LOGS, IsMultiRegionTrail=multi_region)
    if basic is not None:
        trails.put_event_selectors(TrailName=name, EventSelectors=basic)
    if advanced is not None:
        trails.put_event_selectors(TrailName=name, AdvancedEventSelectors=advanced)
    if logging:
        trails.start_logging(Name=name)


def seed(aws: Aws) -> None:
    """The clinical vault in the scanned region, and the bucket trails deliver to."""
    aws("s3").create_bucket(Bucket=LOGS, CreateBucketConfiguration={"LocationConstraint": REGION})
    aws("glacier").create_vault(vaultName="scans-archive")


def scan(tmp_path: Path, regions: tuple[str, ...] = (REGION,), fault: Fault = vault_reads) -> tuple[int, str]:
    """PHI-LOG-001 scanned live: the exit code and the vault's status."""
    out = tmp_path / "report.json"
    args = [arg for region in regions for arg in ("--region", region)]
    with pytest.MonkeyPatch.context() as patch:
        inject_faults(patch, fault)
        code = main(["scan", "--provider", "aws", *args, "--only", "PHI-LOG-001", "--quiet", "--show-passed",
                     "--format", f"json={out}"])
    findings = json.loads(out.read_text())["findings"]
    [status] = [f["status"] for f in findings if f["resource"]["id"] == VAULT]
    return code, status


def collect(fault: Fault = vault_reads) -> tuple[Resource, list[CollectionError]]:
    """The vault read for PHI-LOG-001 (its logging and tags), and the run's errors."""
    with pytest.MonkeyPatch.context() as patch:
        inject_faults(patch, fault)
        provider = AwsProvider(Settings(regions=(REGION,)))
        provider.restrict({"object_store": frozenset({"logging", "tags"})})
        records = list(provider.collect())
    [vault] = [r for r in records if isinstance(r, Resource) and r.id == VAULT]
    return vault, [r for r in records if isinstance(r, CollectionError)]


def test_a_vault_is_logged_by_a_trail_recording_management_reads_with_no_server_access_logs(aws: Aws) -> None:
    seed(aws)
    trail(aws, "audit", basic=ALL_MANAGEMENT)
    vault, errors = collect()
    assert errors == []
    assert vault.attributes["logging"] == {"access_logs": False, "data_events": True}
    assert not list(kind_validator("object_store").iter_errors(vault.attributes))


@pytest.mark.parametrize(("trails", "regions", "status"), [
    pytest.param({"basic": ALL_MANAGEMENT}, (REGION,), "pass", id="management-events-all"),
    pytest.param({"basic": READ_ONLY}, (REGION,), "pass", id="management-events-read-only"),
    pytest.param({"advanced": management()}, (REGION,), "pass", id="advanced-management"),
    pytest.param({"advanced": management({"Field": "readOnly", "Equals": ["true"]})}, (REGION,), "pass",
                 id="advanced-management-reads"),
    pytest.param({"advanced": management({"Field": "eventSource", "NotEquals": ["kms.amazonaws.com"]})},
                 (REGION,), "pass", id="advanced-excluding-another-service"),
    pytest.param({"region": OTHER, "multi_region": True, "basic": ALL_MANAGEMENT}, (REGION, OTHER), "pass",
                 id="multi-region-trail-elsewhere"),
    pytest.param({"region": OTHER, "multi_region": True, "basic": ALL_MANAGEMENT}, (REGION,), "pass",
                 id="multi-region-trail-at-home-outside-the-scan"),
    pytest.param({"region": OTHER, "multi_region": True, "basic": WRITE_ONLY}, (REGION,), "fail",
                 id="multi-region-trail-outside-the-scan-recording-writes-only"),
    pytest.param({"basic": WRITE_ONLY}, (REGION,), "fail", id="management-writes-only"),
    pytest.param({"basic": DATA_ONLY}, (REGION,), "fail", id="data-events-only"),
    pytest.param({"basic": [{**ALL_MANAGEMENT[0], "ExcludeManagementEventSources": ["glacier.amazonaws.com"]}]},
                 (REGION,), "fail", id="management-events-excluding-glacier"),
    pytest.param({"advanced": management({"Field": "readOnly", "Equals": ["false"]})}, (REGION,), "fail",
                 id="advanced-management-writes"),
    pytest.param({"advanced": management({"Field": "eventSource", "NotEquals": ["glacier.amazonaws.com"]})},
                 (REGION,), "fail", id="advanced-excluding-glacier"),
    pytest.param({"advanced": management({"Field": "eventName", "Equals": ["GetJobOutput"]})}, (REGION,),
                 "fail", id="advanced-filter-not-understood"),
    pytest.param({"basic": ALL_MANAGEMENT, "logging": False}, (REGION,), "fail", id="trail-not-logging"),
    pytest.param({"region": OTHER, "basic": ALL_MANAGEMENT}, (REGION, OTHER), "fail",
                 id="single-region-trail-elsewhere"),
    pytest.param(None, (REGION,), "fail", id="no-trail"),
])
def test_phi_log_001_judges_a_clinical_vault_by_the_trails_recording_glacier_reads(
        aws: Aws, tmp_path: Path, trails: dict[str, Any] | None, regions: tuple[str, ...], status: str) -> None:
    seed(aws)
    if trails is not None:
        trail(aws, "audit", **trails)
    _, found = scan(tmp_path, regions)  # the exit code is the account's too
    assert found == status


def test_trails_not_read_leave_a_vaults_logging_undecided(aws: Aws, tmp_path: Path) -> None:
    seed(aws)
    trail(aws, "audit", basic=ALL_MANAGEMENT)
    vault, errors = collect(refusing_trails)
    assert vault.attributes["logging"] == {"access_logs": False}
    assert {(e.permission, "object_store" in e.kinds) for e in errors} == {("cloudtrail:DescribeTrails", True)}
    code, status = scan(tmp_path, fault=refusing_trails)
    assert (code, status) == (3, "error")


def test_a_trail_at_home_elsewhere_that_cannot_be_read_logs_nothing_and_is_no_error(aws: Aws, tmp_path: Path) -> None:
    """A shadow the run cannot read shows no logging: the vault fails, nothing is unknown."""
    seed(aws)
    trail(aws, "audit", region=OTHER, multi_region=True, basic=ALL_MANAGEMENT)

    def refused_at_home(service: str, region: str, called: str, request: Any) -> AWSResponse | None:
        if (called, region) == ("GetTrailStatus", OTHER):
            return error_response("AccessDeniedException", 400, json_protocol=True)
        return vault_reads(service, region, called, request)

    code, status = scan(tmp_path, fault=refused_at_home)
    assert (code, status) == (1, "fail")

