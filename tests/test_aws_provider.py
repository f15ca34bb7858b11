"""The AWS provider against a real moto server: seeded estates, the traps, faults, read-only."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from phigate.cli import main
from phigate_providers.aws import operations, sampling
from phigate_providers.aws.session import Clients
from tests import aws_replay
from tests.aws_server import (
    ACCOUNT,
    REGION,
    error_response,
    inject_faults,
    member_account,
    reset,
)

ROOT = Path(__file__).parent.parent
SEEDER = ROOT.parent / "shared" / "bench" / "seed_aws.py"

#: The seeder's rules, as (policy, resource type) pairs; truth ids are normalised to ours.
RULES: dict[str, tuple[str, str]] = {
    "s3_cmk_for_clinical": ("PHI-ENC-002", "aws.s3.bucket"),
    "dynamodb_cmk_for_clinical": ("PHI-ENC-002", "aws.dynamodb.table"),
    "s3_public_access_block": ("PHI-IAM-002", "aws.s3.bucket"),
    "rds_storage_encrypted": ("PHI-ENC-001", "aws.rds.db_instance"),
    "ebs_encrypted": ("PHI-ENC-001", "aws.ec2.volume"),
    "kms_rotation": ("PHI-ENC-003", "aws.kms.key"),
    "iam_no_star_star": ("PHI-IAM-001", "aws.iam.policy"),
    "segmentation_distinct_keys": ("PHI-SEG-001", "aws.s3.bucket"),
    "segmentation_no_cross_reader": ("PHI-SEG-002", "aws.iam.role"),
}


def scan(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    out = tmp_path / "report.json"
    code = main(
        ["scan", "--provider", "aws", "--region", REGION, "--quiet", "--format", f"json={out}", *args]
    )
    return code, json.loads(out.read_text())


def failing(report: dict[str, Any], policy: str, rtype: str | None = None, status: str = "fail") -> set[str]:
    return {
        f["resource"]["id"]
        for f in report["findings"]
        if f["policy_id"] == policy
        and f["status"] == status
        and (rtype is None or f["resource"]["type"] == rtype)
    }


def truth_id(rule: str, value: str) -> str:
    """Our resource id for one of the seeder's truth ids (names for buckets, tables, roles)."""
    _, rtype = RULES[rule]
    if rtype == "aws.s3.bucket":
        return f"arn:aws:s3:::{value}"
    if rtype == "aws.dynamodb.table":
        return f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{value}"
    if rtype == "aws.ec2.volume":
        return f"arn:aws:ec2:{REGION}:{ACCOUNT}:volume/{value}"
    if rtype == "aws.iam.role":
        return f"arn:aws:iam::{ACCOUNT}:role/{value}"
    return value


# --- the seeded estate --------------------------------------------------------------------


@pytest.mark.skipif(not SEEDER.exists(), reason="the shared seeder is not beside the project")
def test_a_seeded_estate_fails_exactly_the_expected_resources(endpoint: str, tmp_path: Path) -> None:
    reset(endpoint)
    truth_file = tmp_path / "truth.json"
    subprocess.run(
        [
            sys.executable,
            str(SEEDER),
            "--endpoint",
            endpoint,
            "--scale",
            "60",
            "--seed",
            "4242",
            "--truth",
            str(truth_file),
            "--threads",
            "4",
        ],
        check=True,
        capture_output=True,
    )
    truth = json.loads(truth_file.read_text())["expected_failures"]
    code, report = scan(tmp_path)
    assert report["collection_errors"] == []
    assert code == 1
    by_policy: dict[tuple[str, str], set[str]] = {}
    for rule, ids in truth.items():
        by_policy.setdefault(RULES[rule], set()).update(truth_id(rule, i) for i in ids)
    assert any(by_policy.values()), "the seed must produce failures to compare"
    for (policy, rtype), expected in by_policy.items():
        assert failing(report, policy, rtype) == expected, (policy, rtype)
    assert not [f for f in report["findings"] if f["status"] == "error"]


# --- the traps ----------------------------------------------------------------------------


def _bucket(aws: Callable[..., Any], name: str, data_class: str, **settings: Any) -> None:
    s3 = aws("s3")
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": "data_class", "Value": data_class}]})
    if "encryption" in settings:
        s3.put_bucket_encryption(
            Bucket=name,
            ServerSideEncryptionConfiguration={
                "Rules": [{"ApplyServerSideEncryptionByDefault": settings["encryption"]}]
            },
        )
    if "policy" in settings:
        s3.put_bucket_policy(Bucket=name, Policy=json.dumps(settings["policy"]))
    if settings.get("block", True):
        s3.put_public_access_block(
            Bucket=name,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True,
                "IgnorePublicAcls": True,
                "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True,
            },
        )


def test_encryption_traps_sse_s3_default_and_aws_managed_keys(
    aws: Callable[..., Any], tmp_path: Path
) -> None:
    kms = aws("kms")
    own = kms.create_key(Description="clinical")["KeyMetadata"]["Arn"]
    _bucket(aws, "no-config", "clinical")  # no configuration at all: SSE-S3 since 2023
    _bucket(
        aws,
        "aws-managed",
        "clinical",
        encryption={"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": "alias/aws/s3"},
    )
    _bucket(aws, "kms-default-key", "clinical", encryption={"SSEAlgorithm": "aws:kms"})
    _bucket(aws, "own-key", "clinical", encryption={"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": own})
    _bucket(aws, "admin-sse-s3", "administrative", encryption={"SSEAlgorithm": "AES256"})
    code, report = scan(tmp_path)
    assert report["collection_errors"] == []
    assert failing(report, "PHI-ENC-001") == set()
    assert failing(report, "PHI-ENC-002") == {
        "arn:aws:s3:::no-config",
        "arn:aws:s3:::aws-managed",
        "arn:aws:s3:::kms-default-key",
    }
    assert code == 1


def test_account_block_public_access_covers_a_bucket_whose_own_setting_is_off(
    aws: Callable[..., Any], tmp_path: Path
) -> None:
    _bucket(aws, "covered", "administrative", block=False)
    _, report = scan(tmp_path)
    assert "arn:aws:s3:::covered" in failing(report, "PHI-IAM-002")
    aws("s3control").put_public_access_block(
        AccountId=ACCOUNT,
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    _, report = scan(tmp_path)
    assert report["collection_errors"] == []
    assert failing(report, "PHI-IAM-002") == set()


def test_a_public_bucket_policy_and_tls_enforcement(aws: Callable[..., Any], tmp_path: Path) -> None:
    public = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::open/*"}
        ],
    }
    tls = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": "*",
                "Action": "s3:*",
                "Resource": ["arn:aws:s3:::notes", "arn:aws:s3:::notes/*"],
                "Condition": {"Bool": {"aws:SecureTransport": "false"}},
            }
        ],
    }
    _bucket(aws, "open", "clinical", policy=public, block=False)
    _bucket(aws, "notes", "clinical", policy=tls)
    _, report = scan(tmp_path)
    assert failing(report, "PHI-IAM-002") == {"arn:aws:s3:::open"}
    assert failing(report, "PHI-TLS-001") == {"arn:aws:s3:::open"}


def _role(
    aws: Callable[..., Any],
    name: str,
    statements: list[dict[str, Any]],
    trust_principal: dict[str, Any] | None = None,
    condition: dict[str, Any] | None = None,
) -> str:
    iam = aws("iam")
    trust: dict[str, Any] = {
        "Effect": "Allow",
        "Principal": trust_principal or {"Service": "ec2.amazonaws.com"},
        "Action": "sts:AssumeRole",
    }
    if condition:
        trust["Condition"] = condition
    arn = iam.create_role(
        RoleName=name, AssumeRolePolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [trust]})
    )["Role"]["Arn"]
    if statements:
        iam.put_role_policy(
            RoleName=name,
            PolicyName="read",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
        )
    return str(arn)


def test_segmentation_deny_beats_allow_wildcards_and_not_action(
    aws: Callable[..., Any], tmp_path: Path
) -> None:
    _bucket(aws, "pms-notes", "clinical")
    _bucket(aws, "pms-invoices", "administrative")
    read_all = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::pms-*/*"}
    cross = _role(aws, "wildcard-reader", [read_all])
    _role(
        aws,
        "denied-notes",
        [read_all, {"Effect": "Deny", "Action": "s3:*", "Resource": "arn:aws:s3:::pms-notes/*"}],
    )
    not_action = _role(aws, "not-action", [{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}])
    _role(
        aws,
        "bucket-only",
        [
            {
                "Effect": "Allow",
                "Action": "s3:GetObject",
                "Resource": ["arn:aws:s3:::pms-notes", "arn:aws:s3:::pms-invoices"],
            }
        ],
    )
    _, report = scan(tmp_path)
    assert report["collection_errors"] == []
    assert failing(report, "PHI-SEG-002") == {cross, not_action}
    assert {cross, not_action} <= failing(report, "PHI-IAM-004")


def test_a_bucket_policy_grant_counts_as_read_access(aws: Callable[..., Any], tmp_path: Path) -> None:
    reader = _role(
        aws,
        "granted-by-bucket",
        [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::admin-exports/*"}],
    )
    grant = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": reader},
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::lab-results/*",
            }
        ],
    }
    _bucket(aws, "lab-results", "clinical", policy=grant)
    _bucket(aws, "admin-exports", "administrative")
    _, report = scan(tmp_path)
    assert failing(report, "PHI-SEG-002") == {reader}


def test_third_party_roles_need_an_external_id(aws: Callable[..., Any], tmp_path: Path) -> None:
    supplier = {"AWS": "arn:aws:iam::999988887777:root"}
    loose = _role(aws, "supplier-loose", [], trust_principal=supplier)
    _role(
        aws,
        "supplier-strict",
        [],
        trust_principal=supplier,
        condition={"StringEquals": {"sts:ExternalId": "x-7f3a"}},
    )
    _, report = scan(tmp_path)
    assert failing(report, "PHI-IAM-005") == {loose}


def test_databases_volumes_tables_and_region_defaults(aws: Callable[..., Any], tmp_path: Path) -> None:
    rds = aws("rds")
    rds.create_db_instance(
        DBInstanceIdentifier="clear-db",
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        MasterUsername="admin",
        MasterUserPassword="not-a-real-secret-1",
        AllocatedStorage=20,
        StorageEncrypted=False,
        PubliclyAccessible=True,
        Tags=[{"Key": "data_class", "Value": "clinical"}],
    )
    ec2 = aws("ec2")
    volume = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=8, Encrypted=True)["VolumeId"]
    ec2.enable_ebs_encryption_by_default()
    _, report = scan(tmp_path)
    db = f"arn:aws:rds:{REGION}:{ACCOUNT}:db:clear-db"
    assert db in failing(report, "PHI-ENC-001")
    assert db in failing(report, "PHI-IAM-002")
    # Encrypted without a key: the AWS-managed aws/ebs key, which is no customer key.
    volume_arn = f"arn:aws:ec2:{REGION}:{ACCOUNT}:volume/{volume}"
    assert volume_arn not in failing(report, "PHI-ENC-001")
    assert failing(report, "PHI-ENC-004") == set()
    assert "not-a-real-secret-1" not in json.dumps(report)


def test_cloudtrail_logging_of_the_account(aws: Callable[..., Any], tmp_path: Path) -> None:
    _bucket(aws, "trail-logs", "administrative")
    _, report = scan(tmp_path)
    account = f"arn:aws:iam::{ACCOUNT}:root"
    assert account in failing(report, "PHI-LOG-001")
    trail = aws("cloudtrail")
    trail.create_trail(Name="org-trail", S3BucketName="trail-logs", IsMultiRegionTrail=True)
    trail.start_logging(Name="org-trail")
    _, report = scan(tmp_path)
    assert account not in failing(report, "PHI-LOG-001")


# --- read-only, permissions -----------------------------------------------------------------


@pytest.fixture
def recorded_operations(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every API operation of every boto3 client made meanwhile, through botocore's event hooks."""
    seen: list[tuple[str, str]] = []
    original = boto3.session.Session.client

    def record(model: Any, **_: Any) -> None:
        seen.append((model.service_model.service_name, model.name))

    def client(self: boto3.session.Session, *args: Any, **kwargs: Any) -> Any:
        made = original(self, *args, **kwargs)
        made.meta.events.register("before-call", record)
        return made

    monkeypatch.setattr(boto3.session.Session, "client", client)
    return seen


def test_a_full_scan_only_reads_and_uses_exactly_the_declared_permissions(
    aws: Callable[..., Any], tmp_path: Path, recorded_operations: list[tuple[str, str]]
) -> None:
    kms = aws("kms")
    key = kms.create_key()["KeyMetadata"]["Arn"]
    _bucket(aws, "ro-notes", "clinical", encryption={"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key})
    _role(aws, "ro-reader", [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}])
    aws("dynamodb").create_table(
        TableName="ro-table",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    aws("dynamodb").create_backup(TableName="ro-table", BackupName="ro-table-nightly")  # described
    aws("dynamodb").update_continuous_backups(  # exported, so the export's bucket is read
        TableName="ro-table", PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True})
    aws("dynamodb").export_table_to_point_in_time(TableArn=f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/ro-table",
                                                  S3Bucket="ro-notes", S3Prefix="exports")
    aws("s3").put_bucket_versioning(Bucket="ro-notes", VersioningConfiguration={"Status": "Enabled"})  # lock read
    aws("cloudtrail").create_trail(Name="audit-trail", S3BucketName="ro-notes")
    aws("iam").create_user(UserName="ro-user")  # how users sign in is read per user
    # One snapshot of each sort, so their sharing is read too.
    rds = aws("rds")
    rds.create_db_instance(DBInstanceIdentifier="ro-db", DBInstanceClass="db.t3.micro", Engine="postgres",
                           MasterUsername="admin", MasterUserPassword="x" * 12, AllocatedStorage=20)
    rds.create_db_snapshot(DBSnapshotIdentifier="ro-db-manual", DBInstanceIdentifier="ro-db")
    rds.create_db_cluster(DBClusterIdentifier="ro-cluster", Engine="aurora-postgresql", MasterUsername="admin",
                          MasterUserPassword="x" * 12)
    rds.create_db_cluster_snapshot(DBClusterSnapshotIdentifier="ro-cluster-manual", DBClusterIdentifier="ro-cluster")
    ec2 = aws("ec2")
    ec2.create_snapshot(VolumeId=ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=1)["VolumeId"])
    instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    ec2.create_image(InstanceId=instance, Name="ro-image")  # its launch permissions and disks are read
    # One stream of each sort, so their attributes, policies and tags are read too.
    aws("sqs").create_queue(QueueName="ro-queue")
    aws("sns").create_topic(Name="ro-topic")
    aws("logs").create_log_group(logGroupName="ro-logs")
    aws("efs").create_file_system(CreationToken="ro-files")
    aws("kinesis").create_stream(StreamName="ro-stream", ShardCount=1)
    aws("redshift").create_cluster(ClusterIdentifier="ro-warehouse", NodeType="dc2.large", MasterUsername="admin",
                                   MasterUserPassword="X" * 12)
    aws("redshift").create_cluster_snapshot(SnapshotIdentifier="ro-warehouse-manual", ClusterIdentifier="ro-warehouse")
    aws("glacier").create_vault(vaultName="ro-vault")  # its policy, lock and tags are read
    drive = aws("fsx").create_file_system(FileSystemType="LUSTRE", StorageCapacity=1200,
                                          SubnetIds=["subnet-0a1b2c3d4e5f6"])["FileSystem"]["FileSystemId"]
    aws("fsx").create_backup(FileSystemId=drive)
    aws("opensearch").create_domain(DomainName="ro-search")
    aws("elasticache").create_replication_group(ReplicationGroupId="ro-cache", ReplicationGroupDescription="ro",
                                                Engine="redis", CacheNodeType="cache.t3.micro")
    aws("elasticache").create_snapshot(ReplicationGroupId="ro-cache", SnapshotName="ro-cache-nightly")
    aws("firehose").create_delivery_stream(DeliveryStreamName="ro-delivery", ExtendedS3DestinationConfiguration={
        "RoleARN": f"arn:aws:iam::{ACCOUNT}:role/firehose", "BucketARN": "arn:aws:s3:::ro-notes"})
    # A catalog with a database, and a workgroup storing results, so their settings are read too.
    aws("glue").create_database(DatabaseInput={"Name": "ro_catalog"})
    aws("athena").create_work_group(Name="ro-queries", Configuration={
        "ResultConfiguration": {"OutputLocation": "s3://ro-notes/results/"}})
    # HealthLake and S3 Tables answer as recorded (moto serves neither): one store of each.
    aws_replay.record(REGION, aws_replay.datastore(REGION, "f0" * 16, "ro-fhir"))
    aws_replay.table(aws_replay.table_bucket(REGION, "ro-lake"), "ro", "events")
    # A vault (its policy and recovery points are asked for), a MemoryDB and a DAX cluster.
    aws("backup").create_backup_vault(BackupVaultName="ro-vault")
    aws("memorydb").create_cluster(ClusterName="ro-memory", NodeType="db.t4g.small", ACLName="open-access")
    aws("memorydb").create_snapshot(ClusterName="ro-memory", SnapshotName="ro-memory-nightly")
    aws("dax").create_cluster(ClusterName="ro-dax", NodeType="dax.t3.small", ReplicationFactor=1,
                              IamRoleArn=f"arn:aws:iam::{ACCOUNT}:role/dax")
    recorded_operations.clear()  # the seeding above wrote, through the same hooks
    scan(tmp_path)
    performed = set(recorded_operations)
    assert performed, "the recorder must see the scan's calls"
    not_declared = performed - operations.OPERATIONS.keys()
    assert not not_declared
    writes = {op for op in performed if not operations.is_read(op[1]) and op != ("sts", "AssumeRole")}
    assert not writes
    # Minimal: every declared operation is one a scan performs (those only needed by other
    # modes — organizations, assumed roles, regions discovery, bucket location — are listed).
    other_modes = {
        ("sts", "AssumeRole"),
        ("organizations", "ListAccounts"),
        ("ec2", "DescribeRegions"),
        ("s3", "GetBucketAcl"),  # only where ACLs can matter
        ("s3", "GetBucketTagging"),  # only for buckets the bulk tagging read did not return
        ("elasticache", "ListTagsForResource"),  # likewise (moto's listing returns untagged groups)
        ("s3", "GetBucketLocation"),  # only where listings name no region
        ("rds", "DescribeDBClusterParameters"),  # only for DocumentDB clusters with their own group
        ("efs", "DescribeReplicationConfigurations"),  # only for replication destinations
    }
    assert set(operations.OPERATIONS) - performed <= other_modes


def test_content_sampling_adds_only_its_declared_object_reads(
    aws: Callable[..., Any], tmp_path: Path, recorded_operations: list[tuple[str, str]]
) -> None:
    """With --sample-content the scan also lists and reads objects, of non-clinical buckets
    only, and nothing else: every operation is declared, by the audit or by sampling."""
    _bucket(aws, "ro-admin", "administrative")
    _bucket(aws, "ro-clinical", "clinical")
    s3 = aws("s3")
    for bucket in ("ro-admin", "ro-clinical"):
        s3.put_object(Bucket=bucket, Key="note.txt", Body=b"Facture 2024-118 reglee.")
    recorded_operations.clear()
    code, report = scan(tmp_path, "--sample-content", "--show-passed")
    performed = set(recorded_operations)
    declared = operations.OPERATIONS.keys() | sampling.OPERATIONS.keys()
    assert not performed - declared
    assert set(sampling.OPERATIONS) <= performed  # the object reads happened, and are declared
    assert not {op for op in performed if not operations.is_read(op[1]) and op != ("sts", "AssumeRole")}
    assert code == 1 and report["collection_errors"] == []
    assert failing(report, "PHI-SEG-004", status="pass") == {"arn:aws:s3:::ro-admin"}  # an invoice line
    assert failing(report, "PHI-SEG-004", status="skip") == {"arn:aws:s3:::ro-clinical"}


def test_the_recorder_catches_a_write(
    aws: Callable[..., Any], endpoint: str, recorded_operations: list[tuple[str, str]]
) -> None:
    """The read-only test can fail: a write made through a provider client is recorded."""
    from phigate_providers.aws.session import Tuning

    clients = Clients(boto3.Session(region_name=REGION), Tuning())
    clients.get("s3", REGION).create_bucket(
        Bucket="written", CreateBucketConfiguration={"LocationConstraint": REGION}
    )
    assert ("s3", "CreateBucket") in recorded_operations
    assert not operations.is_read("CreateBucket")


def test_the_permissions_document_is_a_policy_without_content_reads(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["providers", "--permissions", "aws"]) == 0
    document = json.loads(capsys.readouterr().out)
    actions = set(document["Statement"][0]["Action"])
    assert actions == set(operations.permissions())
    assert not {
        a
        for a in actions
        if a
        in (
            "s3:GetObject",
            "s3:GetObjectVersion",
            "dynamodb:GetItem",
            "dynamodb:Scan",
            "dynamodb:Query",
            "kms:Decrypt",
        )
    }
    assert all(
        a.split(":", 1)[1].startswith(("Get", "List", "Describe")) or a == "sts:AssumeRole" for a in actions
    )


def test_with_content_sampling_the_permissions_document_adds_the_object_reads(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["providers", "--permissions", "aws", "--sample-content"]) == 0
    audit, reads = json.loads(capsys.readouterr().out)["Statement"]
    assert set(audit["Action"]) == set(operations.permissions())
    assert reads["Sid"] == "PhigateContentSampling"
    assert set(reads["Action"]) == {"s3:ListBucket", "s3:GetObject", "kms:Decrypt"}
    assert set(sampling.OPERATIONS.values()) <= set(reads["Action"])


# --- faults: never a pass -----------------------------------------------------------------


def test_denied_bucket_policy_reads_make_errors_not_passes(
    aws: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _bucket(aws, "denied-notes", "clinical")
    _bucket(aws, "readable-admin", "administrative")
    _role(aws, "some-reader", [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}])

    def fault(service: str, region: str, operation: str, request: Any) -> AWSResponse | None:
        if service == "s3" and operation == "GetBucketPolicy" and "denied-notes" in request.url:
            return error_response("AccessDenied", 403, json_protocol=False)
        return None

    inject_faults(monkeypatch, fault)
    code, report = scan(tmp_path)
    assert code == 3
    assert report["summary"]["evidence_complete"] is False
    errors = failing(report, "PHI-TLS-001", status="error")
    assert "arn:aws:s3:::denied-notes" in errors
    assert "arn:aws:s3:::denied-notes" not in failing(report, "PHI-TLS-001", status="pass")
    assert any("s3:GetBucketPolicy" in e["message"] for e in report["collection_errors"])
    # Effective access is unknown for every principal: segmentation is error, never pass.
    assert failing(report, "PHI-SEG-002", status="error")


def test_throttling_past_retries_and_server_errors_are_errors(
    aws: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    aws("kms").create_key()
    aws("rds").create_db_instance(
        DBInstanceIdentifier="db1",
        DBInstanceClass="db.t3.micro",
        Engine="postgres",
        MasterUsername="admin",
        MasterUserPassword="x" * 12,
        AllocatedStorage=20,
    )

    def fault(service: str, region: str, operation: str, request: Any) -> AWSResponse | None:
        if service == "kms" and operation == "ListKeys":
            return error_response("ThrottlingException", 400, json_protocol=True)
        if service == "rds" and operation == "DescribeDBInstances":
            return error_response("ServiceUnavailable", 503, json_protocol=False)
        return None

    inject_faults(monkeypatch, fault)
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "2")
    code, report = scan(tmp_path, "--aws-max-attempts", "2")
    assert code == 3
    messages = " ".join(e["message"] for e in report["collection_errors"])
    assert "kms:ListKeys" in messages and "rds:DescribeDBInstances" in messages
    assert failing(report, "PHI-ENC-003", status="error")
    assert failing(report, "PHI-ENC-001", "aws.rds.db_instance") == set()
    assert not failing(report, "PHI-ENC-003", status="pass")


def test_unreachable_endpoint_is_a_clean_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.aws_server import free_port

    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{free_port()}")
    code, report = scan(tmp_path, "--aws-max-attempts", "1")
    assert code == 3
    assert report["collection_errors"]
    assert report["summary"]["pass"] == 0


# --- several accounts -----------------------------------------------------------------------

def test_an_organization_is_audited_account_by_account_through_an_assumed_role(
        aws: Callable[..., Any], endpoint: str, tmp_path: Path) -> None:
    member, member_client = member_account(endpoint)
    member_s3 = member_client("s3")
    member_s3.create_bucket(Bucket="member-notes", CreateBucketConfiguration={"LocationConstraint": REGION})
    member_s3.put_bucket_tagging(Bucket="member-notes",
                                 Tagging={"TagSet": [{"Key": "data_class", "Value": "clinical"}]})
    _bucket(aws, "management-notes", "clinical")
    code, report = scan(tmp_path, "--org-role", "OrganizationAccountAccessRole", "--external-id", "x-1",
                        "--only", "PHI-ENC-002")
    assert report["collection_errors"] == []
    assert {s["scope"] for s in report["scopes"]} == {ACCOUNT, member}
    found = {(f["resource"]["id"], f["resource"]["scope"]) for f in report["findings"]}
    assert found == {("arn:aws:s3:::member-notes", member), ("arn:aws:s3:::management-notes", ACCOUNT)}
    assert code == 1
    _, report = scan(tmp_path, "--org-role", "OrganizationAccountAccessRole", "--account", member,
                     "--only", "PHI-ENC-002")
    assert {s["scope"] for s in report["scopes"]} == {member}


def test_bad_options_are_input_errors(cli: Any) -> None:
    assert cli("scan", "--provider", "aws", "--region", "Paris").code == 2
    assert cli("scan", "--provider", "aws", "--account", "123").code == 2
    result = cli("scan", "--provider", "aws", "--account", ACCOUNT)
    assert result.code == 2 and "--org-role" in result.err


def test_buckets_are_placed_in_their_regions_and_other_regions_left_out(
        aws: Callable[..., Any], tmp_path: Path) -> None:
    _bucket(aws, "paris-notes", "clinical")
    dublin = aws("s3", "eu-west-1")
    dublin.create_bucket(Bucket="dublin-notes", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    dublin.put_bucket_tagging(Bucket="dublin-notes", Tagging={"TagSet": [{"Key": "data_class", "Value": "clinical"}]})
    _, report = scan(tmp_path, "--only", "PHI-ENC-002")
    assert {(f["resource"]["id"], f["resource"]["region"]) for f in report["findings"]} == {
        ("arn:aws:s3:::paris-notes", REGION)}
    _, report = scan(tmp_path, "--region", "eu-west-1", "--only", "PHI-ENC-002")
    assert {(f["resource"]["id"], f["resource"]["region"]) for f in report["findings"]} == {
        ("arn:aws:s3:::paris-notes", REGION), ("arn:aws:s3:::dublin-notes", "eu-west-1")}


def test_an_organization_splits_into_one_slice_per_account(aws: Callable[..., Any], endpoint: str) -> None:
    from phigate.testing import run_context
    from phigate_providers.aws import AwsProvider

    member, _ = member_account(endpoint, "lab")
    options = {"org_role": "OrganizationAccountAccessRole", "region": [REGION]}
    [provider] = AwsProvider.configure([], run_context(options=options))
    parts = provider.slices()  # type: ignore[attr-defined]
    assert sorted(p.slice_account for p in parts) == sorted([ACCOUNT, member])
    [single] = AwsProvider.configure([], run_context(options={"region": [REGION]}))
    assert single.slices() == [single]  # type: ignore[attr-defined]


def test_a_bucket_the_tagging_index_misses_is_still_classified(
        aws: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The tagging API may lag behind a new tag: a clinical bucket it does not return is read on
    its own, never taken for an unclassified one (which would skip every clinical policy)."""
    from botocore.awsrequest import AWSResponse

    from tests.aws_server import _Body

    _bucket(aws, "fresh-notes", "clinical")

    def fault(service: str, region: str, operation: str, request: Any) -> AWSResponse | None:
        if operation == "GetResources":
            return AWSResponse("https://injected", 200, {"Content-Type": "application/x-amz-json-1.1"},
                               _Body(b'{"ResourceTagMappingList": []}'))
        return None

    inject_faults(monkeypatch, fault)
    _, report = scan(tmp_path, "--only", "PHI-ENC-002", "--only", "PHI-CLASS-001")
    assert failing(report, "PHI-ENC-002") == {"arn:aws:s3:::fresh-notes"}
    assert failing(report, "PHI-CLASS-001") == set()


def _locked_bucket(aws: Callable[..., Any], name: str) -> None:
    s3 = aws("s3")
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION},
                     ObjectLockEnabledForBucket=True)
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": "data_class", "Value": "clinical"}]})
    s3.put_object_lock_configuration(Bucket=name, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled", "Rule": {"DefaultRetention": {"Mode": "COMPLIANCE", "Days": 30}}})


def test_object_lock_is_read_only_where_versioning_is_on(
        aws: Callable[..., Any], tmp_path: Path, recorded_operations: list[tuple[str, str]]) -> None:
    """AWS turns Object Lock on only in versioned buckets: an unversioned bucket has none,
    without a call to ask."""
    _bucket(aws, "plain-notes", "clinical")
    _locked_bucket(aws, "locked-notes")
    recorded_operations.clear()
    _, report = scan(tmp_path, "--only", "PHI-INT-001", "--show-passed")
    assert failing(report, "PHI-INT-001") == {"arn:aws:s3:::plain-notes"}
    assert failing(report, "PHI-INT-001", status="pass") == {"arn:aws:s3:::locked-notes"}
    assert recorded_operations.count(("s3", "GetObjectLockConfiguration")) == 1


def test_versioning_not_read_never_stands_for_no_object_lock(
        aws: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.aws_server import refusing

    _bucket(aws, "plain-notes", "clinical")
    _locked_bucket(aws, "locked-notes")
    inject_faults(monkeypatch, refusing("GetBucketVersioning", "AccessDenied", 403, json_protocol=False))
    _, report = scan(tmp_path, "--only", "PHI-INT-001", "--show-passed")
    # Its lock read all the same: retention alone makes the locked bucket pass.
    assert failing(report, "PHI-INT-001", status="pass") == {"arn:aws:s3:::locked-notes"}
    assert failing(report, "PHI-INT-001", status="error") == {"arn:aws:s3:::plain-notes"}
    assert failing(report, "PHI-INT-001") == set()


# --- CloudTrail selectors and raw responses -------------------------------------------------


def _advanced(**fields: dict[str, Any]) -> dict[str, Any]:
    base: dict[str, Any] = {
        "eventCategory": {"Field": "eventCategory", "Equals": ["Data"]},
        "resources.type": {"Field": "resources.type", "Equals": ["AWS::S3::Object"]},
    }
    base.update({name: {"Field": name, **spec} for name, spec in fields.items()})
    return base


def test_advanced_selectors_that_narrow_what_is_recorded_never_claim_every_bucket() -> None:
    from phigate_providers.aws.trail_selectors import advanced_read_scopes

    assert advanced_read_scopes(_advanced()) == [""]
    assert advanced_read_scopes(_advanced(**{"resources.ARN": {"StartsWith": ["arn:aws:s3:::phi/"]}})) == ["phi/"]
    # An exclusion, an event-name filter or write-only events: not "every bucket's reads".
    assert advanced_read_scopes(_advanced(**{"resources.ARN": {"NotStartsWith": ["arn:aws:s3:::phi/"]}})) == []
    assert advanced_read_scopes(_advanced(eventName={"Equals": ["PutObject"]})) == []
    assert advanced_read_scopes(_advanced(readOnly={"Equals": ["false"]})) == []
    assert advanced_read_scopes(_advanced(readOnly={"Equals": ["true"]})) == [""]


def test_raw_responses_never_keep_credential_fields() -> None:
    from phigate_providers.aws.context import jsonable

    kept = jsonable({"DBInstanceIdentifier": "db", "MasterUserPassword": "s3cret", "Nested": [{"Password": "p"}]})
    assert kept == {"DBInstanceIdentifier": "db", "Nested": [{}]}
