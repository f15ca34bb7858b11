"""MemoryDB, DAX and S3 Glacier, which AWS runs in some regions only, read from the moto server:
a region holds none of their stores only when two facts say so, the SDK's region table not
listing it for the service and its endpoint there not reached. A table alone is wrong for a
region opened after the SDK was built (a store there would never be seen).

An outdated SDK is the SDK's own region table with the scanned region taken out of the three
services, loaded the way botocore loads data files (``AWS_DATA_PATH``). An unreachable endpoint is
the SDK's own connection error, raised before the request leaves."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import botocore
import botocore.session
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import EndpointConnectionError

from phigate.api import CollectionError, Resource
from phigate.cli import main
from phigate_providers.aws import dax, glacier, memorydb, memorydb_snapshots
from phigate_providers.aws.offered import listed_regions, reread_table
from phigate_providers.aws.provider import AwsProvider, Settings
from tests.aws_server import ACCOUNT, REGION, error_response, inject_faults
from tests.test_aws_glacier_logging import vault_reads

Aws = Callable[..., Any]
Fault = Callable[[str, str, str, Any], AWSResponse | None]
SERVICES = ("memorydb", "dax", "glacier")
#: The stores seeded, one per service, and the permission listing each needs.
STORES = {
    "memorydb": (f"arn:aws:memorydb:{REGION}:{ACCOUNT}:cluster/sessions", "memorydb:DescribeClusters"),
    "dax": (f"arn:aws:dax:{REGION}:{ACCOUNT}:cache/notescache", "dax:DescribeClusters"),
    "glacier": (f"arn:aws:glacier:{REGION}:{ACCOUNT}:vaults/scans-archive", "glacier:ListVaults"),
}
TYPES = {*memorydb.TYPES, *dax.TYPES, *glacier.TYPES}


def seed(aws: Aws) -> None:
    aws("memorydb").create_cluster(ClusterName="sessions", NodeType="db.t4g.small", ACLName="open-access")
    aws("dax").create_cluster(ClusterName="notescache", NodeType="dax.t3.small", ReplicationFactor=1,
                              IamRoleArn=f"arn:aws:iam::{ACCOUNT}:role/dax")
    aws("glacier").create_vault(vaultName="scans-archive")


@pytest.fixture
def outdated_sdk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The SDK's region table without the scanned region for MemoryDB, DAX and Glacier."""
    shipped = Path(botocore.__file__).parent / "data" / "endpoints.json"
    table = json.loads(shipped.read_text())
    session = botocore.session.get_session()
    [aws] = [p for p in table["partitions"] if p["partition"] == "aws"]
    for service in SERVICES:
        del aws["services"][session.get_service_model(service).endpoint_prefix]["endpoints"][REGION]
    (tmp_path / "endpoints.json").write_text(json.dumps(table))
    monkeypatch.setenv("AWS_DATA_PATH", str(tmp_path))
    reread_table()
    assert not any(REGION in listed_regions(service, "aws") for service in SERVICES)
    yield
    reread_table()


def unreachable(service: str, region: str, called: str, request: Any) -> AWSResponse | None:
    if service in SERVICES:
        raise EndpointConnectionError(endpoint_url=f"https://{service}.{region}.amazonaws.com/")
    return vault_reads(service, region, called, request)


def refused(service: str, region: str, called: str, request: Any) -> AWSResponse | None:
    if called in ("DescribeClusters", "ListVaults") and service in SERVICES:
        return error_response("AccessDeniedException", 400, json_protocol=True)
    return vault_reads(service, region, called, request)


def collect(fault: Fault) -> tuple[set[str], list[CollectionError], list[str]]:
    """The three services' stores read in the scanned region: their ids, the errors of their
    listings, and the run's notices."""
    with pytest.MonkeyPatch.context() as patch:
        inject_faults(patch, fault)
        provider = AwsProvider(Settings(regions=(REGION,)))
        provider.restrict({"database": frozenset({"tags"}), "object_store": frozenset({"tags"})})
        records = list(provider.collect())
    stores = {r.id for r in records if isinstance(r, Resource) and r.type in TYPES}
    listings = [r for r in records if isinstance(r, CollectionError) and r.resource_id is None]
    return stores, listings, provider.notices()


def test_a_region_an_outdated_sdk_leaves_out_is_read_when_its_endpoint_answers(aws: Aws, outdated_sdk: None) -> None:
    seed(aws)
    stores, errors, notices = collect(vault_reads)
    assert stores == {arn for arn, _ in STORES.values()}
    assert errors == [] and notices == []


def test_a_region_the_sdk_leaves_out_whose_endpoint_is_unreachable_holds_nothing_with_a_notice(
        aws: Aws, outdated_sdk: None) -> None:
    seed(aws)
    stores, errors, notices = collect(unreachable)
    assert stores == set() and errors == []
    assert [n.split(":")[1].split()[0] for n in notices] == sorted(SERVICES)
    assert all(f"not offered in {REGION} " in n and ACCOUNT in n for n in notices)


def test_any_other_failure_in_a_region_the_sdk_leaves_out_is_an_error(aws: Aws, outdated_sdk: None) -> None:
    seed(aws)
    stores, errors, notices = collect(refused)
    assert stores == set() and notices == []
    assert {(e.permission, e.region) for e in errors} == {(p, REGION) for _, p in STORES.values()}


def test_an_unreachable_endpoint_in_a_region_the_sdk_lists_is_an_error_on_its_stores_policies(
        aws: Aws, tmp_path: Path) -> None:
    seed(aws)
    stores, errors, notices = collect(unreachable)
    assert stores == set() and notices == []
    # MemoryDB's snapshots are listed at the same endpoint: undecided too.
    assert {(e.permission, e.region, e.types) for e in errors} == {
        (permission, REGION, module.TYPES) for module, (_, permission) in
        zip((memorydb, dax, glacier), STORES.values(), strict=True)} | {
        ("memorydb:DescribeSnapshots", REGION, memorydb_snapshots.TYPES)}
    out = tmp_path / "report.json"
    with pytest.MonkeyPatch.context() as patch:
        inject_faults(patch, unreachable)
        code = main(["scan", "--provider", "aws", "--region", REGION, "--only", "PHI-ENC-001", "--quiet",
                     "--format", f"json={out}"])
    report = json.loads(out.read_text())
    assert code == 3
    # PHI-ENC-001 is undecided for each service's stores there, never passed by an empty region.
    undecided = [f["message"] for f in report["findings"] if f["status"] == "error"]
    assert sorted(m.split(" in ")[0] for m in undecided) == ["DAX clusters", "MemoryDB clusters",
                                                            "MemoryDB snapshots", "S3 Glacier vaults"]
    assert all(f"in {REGION}:" in m and "EndpointConnectionError" in m for m in undecided)
