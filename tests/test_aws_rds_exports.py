"""RDS snapshot exports to S3, read live from the moto server: the bucket an export lands in holds
the exported database's tables, so it is classed as that database, whatever its own tags say;
exports that cannot be listed leave every bucket's class undecided, never a guess."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from phigate.api import CollectionError, Resource
from phigate.cli import main
from phigate_providers.aws.provider import AwsProvider, Settings
from tests.aws_server import ACCOUNT, REGION, error_response, inject_faults

DB = {"DBInstanceClass": "db.t3.micro", "Engine": "postgres", "MasterUsername": "admin",
      "MasterUserPassword": "not-a-real-secret-10", "AllocatedStorage": 20}
SNAPSHOT = f"arn:aws:rds:{REGION}:{ACCOUNT}:snapshot:pms-nightly"
EXPORTS, REPORTS = "arn:aws:s3:::pms-analytics", "arn:aws:s3:::billing-reports"


def exported(aws: Callable[..., Any], *, database_tags: list[dict[str, str]]) -> None:
    """A snapshot of the database ``pms`` exported to ``pms-analytics`` (tagged public: it was
    meant for aggregates); ``billing-reports`` holds no export."""
    rds, s3 = aws("rds"), aws("s3")
    rds.create_db_instance(DBInstanceIdentifier="pms", Tags=database_tags, **DB)
    rds.create_db_snapshot(DBSnapshotIdentifier="pms-nightly", DBInstanceIdentifier="pms")
    for bucket, data_class in (("pms-analytics", "public"), ("billing-reports", "administrative")):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "data_class", "Value": data_class}]})
    key = aws("kms").create_key()["KeyMetadata"]["Arn"]
    rds.start_export_task(ExportTaskIdentifier="pms-to-lake", SourceArn=SNAPSHOT, S3BucketName="pms-analytics",
                          IamRoleArn=f"arn:aws:iam::{ACCOUNT}:role/export", KmsKeyId=key)


def collect() -> tuple[dict[str, Resource], list[CollectionError]]:
    records = list(AwsProvider(Settings(regions=(REGION,))).collect())
    return ({r.id: r for r in records if isinstance(r, Resource)},
            [r for r in records if isinstance(r, CollectionError)])


def test_a_bucket_an_export_lands_in_is_classed_as_the_exported_database(aws: Callable[..., Any]) -> None:
    exported(aws, database_tags=[{"Key": "data_class", "Value": "clinical"}])
    found, errors = collect()
    assert errors == []
    lake = found[EXPORTS]
    assert lake.raw["source"] == [SNAPSHOT]
    assert lake.tags["data_class"] == "clinical,public"  # the snapshot's (its database's), then its own
    assert found[REPORTS].tags == {"data_class": "administrative"} and "source" not in found[REPORTS].raw


def test_an_export_bucket_of_a_database_a_name_rule_classes_is_judged_as_clinical(
        aws: Callable[..., Any], tmp_path: Path) -> None:
    """The database is clinical by a name rule, untagged, so it lends no tag: the bucket's own
    ``public`` tag would keep PHI-ENC-002 (clinical stores under a customer key) off it. The
    export makes it clinical, and its S3-managed key fails it."""
    exported(aws, database_tags=[])
    config = tmp_path / "phigate.yaml"
    config.write_text("version: 1\nclassification:\n  names:\n"
                      "    - {pattern: '^pms$', data_class: clinical, kinds: [database]}\n")
    out = tmp_path / "report.json"
    main(["scan", "--provider", "aws", "--region", REGION, "--config", str(config), "--quiet",
          "--only", "PHI-ENC-002", "--format", f"json={out}"])
    statuses = {f["resource"]["id"]: f["status"] for f in json.loads(out.read_text())["findings"]}
    assert statuses[EXPORTS] == "fail"
    assert REPORTS not in statuses


def test_exports_that_cannot_be_listed_leave_every_buckets_class_undecided(
        aws: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    exported(aws, database_tags=[{"Key": "data_class", "Value": "clinical"}])

    def refused(service: str, region: str, called: str, request: Any) -> AWSResponse | None:
        return error_response("AccessDenied", 403, json_protocol=False) if called == "DescribeExportTasks" else None

    inject_faults(monkeypatch, refused)
    _, errors = collect()
    [error] = [e for e in errors if "RDS snapshot exports" in e.message]
    assert error.kinds == ("object_store",) and error.types == ("aws.s3.bucket",)


def test_a_bucket_a_table_was_exported_to_is_classed_as_the_table(aws: Callable[..., Any]) -> None:
    """A clinical table exported to a bucket tagged public holds clinical items."""
    dynamodb, s3 = aws("dynamodb"), aws("s3")
    table = dynamodb.create_table(
        TableName="encounters", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        Tags=[{"Key": "data_class", "Value": "clinical"}])["TableDescription"]["TableArn"]
    dynamodb.update_continuous_backups(TableName="encounters",
                                       PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    s3.create_bucket(Bucket="encounters-lake", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_tagging(Bucket="encounters-lake", Tagging={"TagSet": [{"Key": "data_class", "Value": "public"}]})
    dynamodb.export_table_to_point_in_time(TableArn=table, S3Bucket="encounters-lake", S3Prefix="nightly",
                                           ExportFormat="DYNAMODB_JSON")
    found, errors = collect()
    assert errors == []
    lake = found["arn:aws:s3:::encounters-lake"]
    assert lake.raw["source"] == [table]
    assert lake.tags["data_class"] == "clinical,public"
