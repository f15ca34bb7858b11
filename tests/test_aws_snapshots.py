"""RDS, Aurora and EBS snapshots read live from the moto server: stores of their source's kind,
with their sharing, encryption and their source's classification, judged by the store policies
and read through the access graph by the accounts they are shared with."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from phigate.api import CollectionError, Context, Resource
from phigate.cli import main
from phigate.validation import kind_validator
from phigate_providers.aws.provider import AwsProvider, Settings
from tests.aws_server import (
    ACCOUNT,
    REGION,
    _Body,
    error_response,
    inject_faults,
    member_account,
    moto_answer,
)

PARTNER = "111122223333"
DB = {"DBInstanceClass": "db.t3.micro", "Engine": "postgres", "MasterUsername": "admin",
      "MasterUserPassword": "not-a-real-secret-2", "AllocatedStorage": 20}
CLINICAL = [{"Key": "data_class", "Value": "clinical"}]


def collect(**settings: Any) -> tuple[dict[str, Resource], list[CollectionError], dict[str, Resource]]:
    records = list(AwsProvider(Settings(regions=(REGION,), **settings)).collect())
    found = {r.id: r for r in records if isinstance(r, Resource)}
    context = {r.resource.id: r.resource for r in records if isinstance(r, Context)}
    return found, [r for r in records if isinstance(r, CollectionError)], context


def scan(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    out = tmp_path / "report.json"
    code = main(["scan", "--provider", "aws", "--region", REGION, "--quiet", "--format", f"json={out}", *args])
    return code, json.loads(out.read_text())


def statuses(report: dict[str, Any], policy: str) -> dict[str, str]:
    return {f["resource"]["id"]: f["status"] for f in report["findings"] if f["policy_id"] == policy}


def rds_snapshot_arn(name: str, prefix: str = "snapshot") -> str:
    return f"arn:aws:rds:{REGION}:{ACCOUNT}:{prefix}:{name}"


def ebs_snapshot_arn(snapshot_id: str) -> str:
    return f"arn:aws:ec2:{REGION}::snapshot/{snapshot_id}"


def database_snapshots(aws: Callable[..., Any]) -> None:
    """A clinical database snapshotted twice (one public, one shared with a partner, neither
    tagged) and an untagged Aurora cluster snapshotted."""
    rds = aws("rds")
    rds.create_db_instance(DBInstanceIdentifier="pms", StorageEncrypted=True, Tags=CLINICAL, **DB)
    for name in ("pms-public", "pms-partner"):
        rds.create_db_snapshot(DBSnapshotIdentifier=name, DBInstanceIdentifier="pms")
    rds.modify_db_snapshot_attribute(DBSnapshotIdentifier="pms-public", AttributeName="restore",
                                     ValuesToAdd=["all"])
    rds.modify_db_snapshot_attribute(DBSnapshotIdentifier="pms-partner", AttributeName="restore",
                                     ValuesToAdd=[PARTNER])
    rds.create_db_cluster(DBClusterIdentifier="billing", Engine="aurora-postgresql", MasterUsername="admin",
                          MasterUserPassword="not-a-real-secret-3", StorageEncrypted=False)
    rds.create_db_cluster_snapshot(DBClusterSnapshotIdentifier="billing-nightly", DBClusterIdentifier="billing")


def volume_snapshots(aws: Callable[..., Any]) -> tuple[str, str, str]:
    """A clinical volume under a customer key, snapshotted twice (one public, one kept), and an
    unencrypted volume's snapshot tagged administrative. Returns the three snapshot ids."""
    key = aws("kms").create_key()["KeyMetadata"]["Arn"]
    ec2 = aws("ec2")
    volume = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=8, Encrypted=True, KmsKeyId=key,
                               TagSpecifications=[{"ResourceType": "volume", "Tags": CLINICAL}])["VolumeId"]
    public = ec2.create_snapshot(VolumeId=volume)["SnapshotId"]
    kept = ec2.create_snapshot(VolumeId=volume)["SnapshotId"]
    ec2.modify_snapshot_attribute(SnapshotId=public, Attribute="createVolumePermission",
                                  OperationType="add", GroupNames=["all"])
    clear = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=4)["VolumeId"]
    admin = ec2.create_snapshot(VolumeId=clear, TagSpecifications=[
        {"ResourceType": "snapshot", "Tags": [{"Key": "data_class", "Value": "administrative"}]}])["SnapshotId"]
    return public, kept, admin


# --- normalised -----------------------------------------------------------------------------------

def test_database_snapshots_are_databases_with_their_sharing_and_their_sources_class(
        aws: Callable[..., Any]) -> None:
    database_snapshots(aws)
    found, errors, _ = collect()
    assert errors == []
    public, partner = found[rds_snapshot_arn("pms-public")], found[rds_snapshot_arn("pms-partner")]
    cluster = found[rds_snapshot_arn("billing-nightly", "cluster-snapshot")]
    assert (public.kind, public.type, cluster.type) == ("database", "aws.rds.db_snapshot",
                                                        "aws.rds.db_cluster_snapshot")
    assert public.attributes["public_access"] == {"blocked": False, "grants": ["restore:all"]}
    assert partner.attributes["public_access"] == {"blocked": True, "grants": []}
    assert partner.raw["shared_with"] == [PARTNER]
    assert cluster.attributes["public_access"] == {"blocked": True, "grants": []}
    # Untagged: classified as the database they copy.
    assert public.tags["data_class"] == partner.tags["data_class"] == "clinical"
    assert public.attributes["encryption"]["at_rest"] is True
    assert cluster.attributes["encryption"] == {"at_rest": False, "algorithm": None, "key": None,
                                                "key_manager": None}
    assert "not-a-real-secret" not in json.dumps([r.raw for r in found.values()])


def test_volume_snapshots_are_volumes_with_their_sharing_key_and_their_sources_class(
        aws: Callable[..., Any]) -> None:
    public_id, kept_id, admin_id = volume_snapshots(aws)
    found, errors, _ = collect()
    assert errors == []
    public, kept, admin = (found[ebs_snapshot_arn(i)] for i in (public_id, kept_id, admin_id))
    assert (public.kind, public.type) == ("volume", "aws.ec2.snapshot")
    assert public.attributes["public_access"] == {"blocked": False, "grants": ["createVolumePermission:all"]}
    assert kept.attributes["public_access"] == {"blocked": True, "grants": []}
    # Encrypted, naming no key (moto names none): the AWS-managed aws/ebs key, as for volumes.
    assert kept.attributes["encryption"] == {"at_rest": True, "algorithm": "aws:kms", "key": None,
                                             "key_manager": "provider"}
    assert kept.tags["data_class"] == "clinical"  # from its volume
    assert admin.tags["data_class"] == "administrative"  # its own
    assert admin.attributes["encryption"]["at_rest"] is False
    volumes = [r for r in found.values() if r.type == "aws.ec2.volume"]
    assert volumes and all(v.attributes["public_access"] == {"blocked": True, "grants": []} for v in volumes)


def test_a_snapshot_tagged_otherwise_than_its_source_keeps_both_classes(aws: Callable[..., Any]) -> None:
    rds = aws("rds")
    rds.create_db_instance(DBInstanceIdentifier="pms", Tags=CLINICAL, **DB)
    rds.create_db_snapshot(DBSnapshotIdentifier="relabelled", DBInstanceIdentifier="pms",
                           Tags=[{"Key": "data_class", "Value": "public"}])
    found, _, _ = collect()
    assert found[rds_snapshot_arn("relabelled")].tags["data_class"] == "clinical,public"


# --- judged by the store policies -------------------------------------------------------------------

def test_store_policies_judge_snapshots_without_policies_of_their_own(
        aws: Callable[..., Any], tmp_path: Path) -> None:
    database_snapshots(aws)
    public_id, kept_id, admin_id = volume_snapshots(aws)
    code, report = scan(tmp_path, "--show-passed")
    assert report["collection_errors"] == []
    # moto names the database's key by a placeholder no key directory knows: its key policies
    # are undecided, for the database and its snapshots alike (exit 3), nothing else.
    undecided = {(f["policy_id"], f["resource"]["type"]) for f in report["findings"] if f["status"] == "error"}
    assert code == 3 and undecided == {(p, t) for p in ("PHI-ENC-002", "PHI-SEG-001")
                                       for t in ("aws.rds.db_instance", "aws.rds.db_snapshot")}
    exposure = statuses(report, "PHI-IAM-002")
    assert exposure[rds_snapshot_arn("pms-public")] == "fail"
    assert exposure[ebs_snapshot_arn(public_id)] == "fail"
    assert exposure[rds_snapshot_arn("pms-partner")] == exposure[ebs_snapshot_arn(kept_id)] == "pass"
    encrypted = statuses(report, "PHI-ENC-001")
    assert encrypted[rds_snapshot_arn("billing-nightly", "cluster-snapshot")] == "fail"
    assert encrypted[ebs_snapshot_arn(admin_id)] == "fail"
    assert encrypted[ebs_snapshot_arn(kept_id)] == "pass"
    # Clinical through its volume, under the AWS-managed aws/ebs key: no customer-managed key.
    assert statuses(report, "PHI-ENC-002")[ebs_snapshot_arn(kept_id)] == "fail"
    # Classified by its own tag or its source's; neither: unclassified, and reported.
    classified = statuses(report, "PHI-CLASS-001")
    assert classified[rds_snapshot_arn("pms-partner")] == classified[ebs_snapshot_arn(admin_id)] == "pass"
    assert classified[rds_snapshot_arn("billing-nightly", "cluster-snapshot")] == "fail"


# --- what was not read --------------------------------------------------------------------------

def refusing(operation: str, *, json_protocol: bool = False) -> Callable[[str, str, str, Any], AWSResponse | None]:
    def fault(service: str, region: str, called: str, request: Any) -> AWSResponse | None:
        return error_response("AccessDenied", 403, json_protocol=json_protocol) if called == operation else None

    return fault


@pytest.mark.parametrize(("operation", "snapshot"), [
    ("DescribeDBSnapshotAttributes", "rds"), ("DescribeSnapshotAttribute", "ebs")])
def test_a_snapshot_whose_sharing_cannot_be_read_is_undecided_not_private(
        aws: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch, operation: str,
        snapshot: str) -> None:
    database_snapshots(aws)
    public_id, _, _ = volume_snapshots(aws)
    inject_faults(monkeypatch, refusing(operation))
    target = rds_snapshot_arn("pms-public") if snapshot == "rds" else ebs_snapshot_arn(public_id)
    found, errors, _ = collect()
    assert "public_access" not in found[target].attributes
    assert target in {e.resource_id for e in errors}
    code, report = scan(tmp_path)
    assert code == 3
    assert statuses(report, "PHI-IAM-002")[target] == "error"


def test_snapshots_not_listed_are_an_error_on_every_store_policy_of_their_kind(
        aws: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    volume_snapshots(aws)
    inject_faults(monkeypatch, refusing("DescribeSnapshots"))
    _, errors, _ = collect()
    [error] = [e for e in errors if "EBS snapshots" in e.message and e.region == REGION]
    assert error.kinds == ("volume",) and error.types == ("aws.ec2.snapshot",)
    assert error.permission == "ec2:DescribeSnapshots" and error.resource_id is None


# --- the access graph -------------------------------------------------------------------------------

def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def role(iam: Any, name: str, action: str, account: str = ACCOUNT) -> str:
    trust = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "sts:AssumeRole"}
    made = iam.create_role(RoleName=name, AssumeRolePolicyDocument=document(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="p",
                        PolicyDocument=document({"Effect": "Allow", "Action": action, "Resource": "*"}))
    return str(made)


def test_restoring_or_resharing_a_snapshot_reads_it(aws: Callable[..., Any]) -> None:
    database_snapshots(aws)
    iam = aws("iam")
    restorer = role(iam, "restorer", "rds:RestoreDBInstanceFromDBSnapshot")
    sharer = role(iam, "sharer", "rds:ModifyDBSnapshotAttribute")
    auditor = role(iam, "auditor", "rds:DescribeDBSnapshots")
    found, errors, _ = collect()
    assert errors == []
    # Both manual ones and the automated one moto takes (a cluster snapshot is restored otherwise).
    snapshots = {rid for rid, r in found.items() if r.type == "aws.rds.db_snapshot"}
    assert len(snapshots) == 3 and set(found[restorer].attributes["can_read"]) == snapshots
    assert found[sharer].attributes["can_read_via"][rds_snapshot_arn("pms-partner")] == (
        "rds:ModifyDBSnapshotAttribute (can share it with an account it controls)")
    # The public one is anyone's: any account may restore it, so every principal counts as reading it.
    assert found[auditor].attributes["can_read"] == [rds_snapshot_arn("pms-public")]


def test_a_snapshot_shared_with_another_account_of_the_run_is_read_by_its_principals(
        aws: Callable[..., Any], endpoint: str) -> None:
    member, member_client = member_account(endpoint)
    _, kept_id, _ = volume_snapshots(aws)
    ec2 = aws("ec2")
    ec2.modify_snapshot_attribute(SnapshotId=kept_id, Attribute="createVolumePermission",
                                  OperationType="add", UserIds=[member])
    member_iam = member_client("iam")
    copier = role(member_iam, "copier", "ec2:CopySnapshot", member)
    found, errors, _ = collect(org_role="OrganizationAccountAccessRole")
    assert errors == []
    readable = found[copier].attributes["can_read_via"]
    # Shared with the member: its copier reads it; the public one too, as anyone; the one kept
    # private by the administrative volume is not.
    assert readable.get(ebs_snapshot_arn(kept_id)) == "ec2:CopySnapshot"
    assert len(readable) == 2 and all(s.startswith(f"arn:aws:ec2:{REGION}::snapshot/") for s in readable)


def test_an_account_outside_the_run_a_snapshot_is_shared_with_is_a_principal_in_context(
        aws: Callable[..., Any]) -> None:
    database_snapshots(aws)
    role(aws("iam"), "auditor", "rds:DescribeDBSnapshots")
    found, errors, context = collect()
    assert errors == []
    partner = context[f"arn:aws:iam::{PARTNER}:root"]
    assert partner.kind == "principal" and partner.id not in found  # in the graph, never reported
    assert partner.attributes["can_read_via"] == {rds_snapshot_arn("pms-partner"): (
        "shared with the account: rds:CopyDBSnapshot, rds:RestoreDBInstanceFromDBSnapshot")}
    assert partner.attributes["access_unseen"]  # who there uses the share is not read
    assert list(kind_validator("principal").iter_errors(dict(partner.attributes))) == []


def test_a_snapshot_of_another_region_is_read_as_context_for_the_access_graph(aws: Callable[..., Any]) -> None:
    other = "eu-west-1"
    ec2 = aws("ec2", other)
    snapshot = ec2.create_snapshot(VolumeId=ec2.create_volume(AvailabilityZone=f"{other}a", Size=1)["VolumeId"])
    arn = f"arn:aws:ec2:{other}::snapshot/{snapshot['SnapshotId']}"
    reader = role(aws("iam"), "block-reader", "ebs:GetSnapshotBlock")
    found, errors, context = collect()
    assert errors == []
    assert arn in context and arn not in found  # never reported: outside the asked region
    assert found[reader].attributes["can_read_via"] == {arn: "ebs:GetSnapshotBlock"}


def _copied_from(arn: str) -> Callable[..., AWSResponse | None]:
    """moto's listing of the member's snapshots with what AWS lists for a copy of a snapshot
    another account shared: the ARN it was copied from (moto copies within an account only)."""
    def fault(service: str, region: str, called: str, request: Any) -> AWSResponse | None:
        if called != "DescribeDBSnapshots":
            return None
        marker = "<DBSnapshotIdentifier>pms-copy</DBSnapshotIdentifier>"
        answer = moto_answer(request).replace(
            marker, f"{marker}<SourceDBSnapshotIdentifier>{arn}</SourceDBSnapshotIdentifier>")
        return AWSResponse("https://replayed", 200, {"Content-Type": "text/xml"}, _Body(answer.encode()))
    return fault


def test_a_copy_of_a_snapshot_of_another_account_of_the_run_is_classed_by_it(
        aws: Callable[..., Any], endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The member copied the clinical snapshot the management account shared with it: its copy,
    untagged, of an untagged database of its own, is clinical when both accounts are read,
    whichever is reported."""
    member, member_client = member_account(endpoint)
    database_snapshots(aws)
    aws("rds").modify_db_snapshot_attribute(DBSnapshotIdentifier="pms-partner", AttributeName="restore",
                                            ValuesToAdd=[member])
    rds = member_client("rds")
    rds.create_db_instance(DBInstanceIdentifier="restored", **DB)
    rds.create_db_snapshot(DBSnapshotIdentifier="pms-copy", DBInstanceIdentifier="restored")
    inject_faults(monkeypatch, _copied_from(rds_snapshot_arn("pms-partner")))
    copy = f"arn:aws:rds:{REGION}:{member}:snapshot:pms-copy"
    found, errors, _ = collect(org_role="OrganizationAccountAccessRole")
    assert errors == []
    assert found[copy].tags.get("data_class") == "clinical"
    assert rds_snapshot_arn("pms-partner") in found[copy].raw["source"]
    alone, _, _ = collect(org_role="OrganizationAccountAccessRole", accounts=(member,))
    assert alone[copy].tags.get("data_class") == "clinical"  # the other account read as context
