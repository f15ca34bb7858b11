"""EFS replication destinations: the read-only copy of a file system, often in another region, is
classed as its source. moto has no EFS replication: its file system listing is answered with the
field AWS marks a destination with, and ``DescribeReplicationConfigurations`` as AWS answers it
(the botocore model's ``ReplicationConfigurationDescription``;
https://docs.aws.amazon.com/efs/latest/ug/API_DescribeReplicationConfigurations.html), through the
provider's own client."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from phigate.api import CollectionError, Resource
from phigate_providers.aws.provider import AwsProvider, Settings
from tests.aws_server import ACCOUNT, REGION, _Body, error_response, inject_faults, moto_answer

OTHER = "eu-west-1"
CLINICAL = [{"Key": "data_class", "Value": "clinical"}]


def collect() -> tuple[dict[str, Resource], list[CollectionError]]:
    records = list(AwsProvider(Settings(regions=(REGION, OTHER))).collect())
    found = {r.id: r for r in records if isinstance(r, Resource)}
    return found, [r for r in records if isinstance(r, CollectionError)]


def fs_arn(fs_id: str, region: str) -> str:
    return f"arn:aws:elasticfilesystem:{region}:{ACCOUNT}:file-system/{fs_id}"


def _json(document: dict[str, Any]) -> AWSResponse:
    return AWSResponse("https://replayed", 200, {"Content-Type": "application/json"},
                       _Body(json.dumps(document).encode()))


def replicated(aws: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, *,
               configuration: Callable[[str, str], AWSResponse] | None = None) -> tuple[str, str, list[str]]:
    """A clinical file system replicated to an untagged one in another region. Returns both ids
    and the file systems whose replication configuration was asked for."""
    source = aws("efs").create_file_system(CreationToken="records", Encrypted=True, Tags=CLINICAL)["FileSystemId"]
    destination = aws("efs", OTHER).create_file_system(CreationToken="records-dr", Encrypted=True)["FileSystemId"]
    asked: list[str] = []

    def recorded(source_id: str, destination_id: str) -> AWSResponse:
        return _json({"Replications": [{
            "SourceFileSystemId": source_id, "SourceFileSystemRegion": REGION,
            "SourceFileSystemArn": fs_arn(source_id, REGION), "OriginalSourceFileSystemArn": fs_arn(source_id, REGION),
            "CreationTime": 1733600000.0, "SourceFileSystemOwnerId": ACCOUNT,
            "Destinations": [{"Status": "ENABLED", "FileSystemId": destination_id, "Region": OTHER,
                              "LastReplicatedTimestamp": 1733650000.0, "OwnerId": ACCOUNT}]}]})

    def answer(service: str, region: str, operation: str, request: Any) -> AWSResponse | None:
        if service != "efs":
            return None
        if operation == "DescribeFileSystems" and region == OTHER:
            listed = json.loads(moto_answer(request))
            for found in listed["FileSystems"]:
                if found["FileSystemId"] == destination:
                    found["FileSystemProtection"] = {"ReplicationOverwriteProtection": "REPLICATING"}
            return _json(listed)
        if operation == "DescribeReplicationConfigurations":
            asked.append(request.url.rsplit("FileSystemId=", 1)[-1])
            return (configuration or recorded)(source, destination)
        return None

    inject_faults(monkeypatch, answer)
    return source, destination, asked


def test_a_replication_destination_is_classed_as_its_source(
        aws: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    source, destination, asked = replicated(aws, monkeypatch)
    found, errors = collect()
    assert errors == []
    copy = found[fs_arn(destination, OTHER)]
    assert copy.raw["source"] == fs_arn(source, REGION)
    assert copy.tags["data_class"] == "clinical"
    assert asked == [destination]  # the source, not a destination, is not asked about


def test_a_destination_whose_replication_cannot_be_read_keeps_its_own_tags_and_is_named(
        aws: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    _, destination, _ = replicated(aws, monkeypatch, configuration=lambda *_: error_response(
        "AccessDeniedException", 403, json_protocol=True))
    found, errors = collect()
    copy = found[fs_arn(destination, OTHER)]
    assert "source" not in copy.raw and "data_class" not in copy.tags
    [error] = [e for e in errors if e.resource_id == copy.id]
    assert error.permission == "elasticfilesystem:DescribeReplicationConfigurations"
    assert error.kinds == ("volume",) and error.types == ("aws.efs.file_system",)
