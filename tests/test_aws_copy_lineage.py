"""Copies of a clinical store classed as their source wherever they lie, read live from the moto
server: read replicas and Aurora members, snapshots copied to another region, images copied to
another region, and copies of stores a name rule classes.

moto leaves out what AWS lists of a copy's origin: a copied RDS snapshot's ``SourceRegion`` and
``SourceDBSnapshotIdentifier`` (the source snapshot's ARN), and a copied image's
``SourceImageId`` and ``SourceImageRegion``. Its answers are replayed with them added, in AWS's
shapes (the RDS ``DBSnapshot`` and EC2 ``Image`` members of the botocore service models)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from phigate.api import Resource
from phigate.cli import main
from phigate_providers.aws.provider import AwsProvider, Settings
from tests.aws_server import ACCOUNT, REGION, _Body, inject_faults, moto_answer

OTHER = "eu-west-1"
DB = {"DBInstanceClass": "db.t3.micro", "Engine": "postgres", "MasterUsername": "admin",
      "MasterUserPassword": "not-a-real-secret-7", "AllocatedStorage": 20}
CLINICAL = [{"Key": "data_class", "Value": "clinical"}]
TEAM = [{"Key": "team", "Value": "ops"}]


def collect(*regions: str) -> dict[str, Resource]:
    records = AwsProvider(Settings(regions=regions or (REGION,))).collect()
    return {r.id: r for r in records if isinstance(r, Resource)}


def rds_arn(kind: str, name: str, region: str = REGION) -> str:
    return f"arn:aws:rds:{region}:{ACCOUNT}:{kind}:{name}"


def replaying(region: str, operation: str, marker: str, added: str
              ) -> Callable[[str, str, str, Any], AWSResponse | None]:
    """moto's answer to ``operation`` in ``region`` with ``added`` after ``marker``."""
    def fault(service: str, asked: str, called: str, request: Any) -> AWSResponse | None:
        if asked != region or called != operation:
            return None
        answer = moto_answer(request).replace(marker, marker + added)
        return AWSResponse("https://replayed", 200, {"Content-Type": "text/xml"}, _Body(answer.encode()))
    return fault


def test_read_replicas_and_cluster_members_are_classed_as_the_database_they_hold(
        aws: Callable[..., Any]) -> None:
    """Replicas tagged only by team (here and in another region) and an untagged Aurora member
    hold a clinical database's rows: clinical, as their primary or cluster."""
    rds = aws("rds")
    rds.create_db_instance(DBInstanceIdentifier="pms", Tags=CLINICAL, **DB)
    rds.create_db_instance_read_replica(DBInstanceIdentifier="pms-ro", SourceDBInstanceIdentifier="pms",
                                        Tags=TEAM)
    aws("rds", OTHER).create_db_instance_read_replica(
        DBInstanceIdentifier="pms-dr", SourceDBInstanceIdentifier=rds_arn("db", "pms"), Tags=TEAM)
    rds.create_db_cluster(DBClusterIdentifier="notes", Engine="aurora-postgresql", MasterUsername="admin",
                          MasterUserPassword="not-a-real-secret-8", Tags=CLINICAL)
    rds.create_db_instance(DBInstanceIdentifier="notes-1", DBClusterIdentifier="notes",
                           Engine="aurora-postgresql", DBInstanceClass="db.r5.large")
    found = collect(REGION, OTHER)
    for replica in (rds_arn("db", "pms-ro"), rds_arn("db", "pms-dr", OTHER), rds_arn("db", "notes-1")):
        assert found[replica].tags.get("data_class") == "clinical", replica
    assert found[rds_arn("db", "pms-dr", OTHER)].raw["source"] == [rds_arn("db", "pms")]
    assert "source" not in found[rds_arn("db", "pms")].raw
    assert "source" not in found[rds_arn("cluster", "notes")].raw  # its own identifier names no source


def test_a_snapshot_copied_to_another_region_is_classed_as_its_database(
        aws: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """The copy keeps its database's identifier, but the database lives where the snapshot was
    taken (``SourceRegion``): read there, never looked for in the copy's region."""
    rds = aws("rds")
    rds.create_db_instance(DBInstanceIdentifier="pms", Tags=CLINICAL, **DB)
    rds.create_db_snapshot(DBSnapshotIdentifier="pms-nightly", DBInstanceIdentifier="pms")
    source = rds_arn("snapshot", "pms-nightly")
    aws("rds", OTHER).copy_db_snapshot(SourceDBSnapshotIdentifier=source, TargetDBSnapshotIdentifier="pms-dr",
                                       SourceRegion=REGION)
    inject_faults(monkeypatch, replaying(
        OTHER, "DescribeDBSnapshots", "<DBSnapshotIdentifier>pms-dr</DBSnapshotIdentifier>",
        f"<SourceRegion>{REGION}</SourceRegion><SourceDBSnapshotIdentifier>{source}</SourceDBSnapshotIdentifier>"))
    copy = collect(REGION, OTHER)[rds_arn("snapshot", "pms-dr", OTHER)]
    assert copy.tags.get("data_class") == "clinical"
    assert copy.raw["source"] == [rds_arn("db", "pms"), source]


def test_an_image_copied_to_another_region_is_classed_as_the_image_it_copies(
        aws: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """A copied image's disks are new snapshots naming no volume: its class comes from the image
    it was copied from, which AWS names (``SourceImageId`` in ``SourceImageRegion``)."""
    ec2 = aws("ec2")
    instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    original = ec2.create_image(InstanceId=instance, Name="pms-server")["ImageId"]
    ec2.create_tags(Resources=[original], Tags=CLINICAL)
    copy = aws("ec2", OTHER).copy_image(SourceImageId=original, SourceRegion=REGION, Name="pms-dr")["ImageId"]
    inject_faults(monkeypatch, replaying(
        OTHER, "DescribeImages", f"<imageId>{copy}</imageId>",
        f"<sourceImageId>{original}</sourceImageId><sourceImageRegion>{REGION}</sourceImageRegion>"))
    found = collect(REGION, OTHER)
    copied = found[f"arn:aws:ec2:{OTHER}::image/{copy}"]
    assert copied.tags.get("data_class") == "clinical"
    assert f"arn:aws:ec2:{REGION}::image/{original}" in copied.raw["source"]


def test_a_copy_of_a_store_a_name_rule_classes_is_classed_so_whatever_its_own_tags_say(
        aws: Callable[..., Any], tmp_path: Path) -> None:
    """``pms-*`` databases are clinical by the configuration's name rule, untagged. A snapshot of
    one named ``nightly-1`` and tagged administrative holds clinical rows: PHI-ENC-002 (clinical
    stores under a customer key) judges it, and fails it, rather than passing it over."""
    rds = aws("rds")
    rds.create_db_instance(DBInstanceIdentifier="pms-main", **DB)
    rds.create_db_snapshot(DBSnapshotIdentifier="nightly-1", DBInstanceIdentifier="pms-main",
                           Tags=[{"Key": "data_class", "Value": "administrative"}])
    config = tmp_path / "phigate.yaml"
    config.write_text("version: 1\nclassification:\n  names:\n"
                      "    - {pattern: '^pms-', data_class: clinical, kinds: [database]}\n")
    out = tmp_path / "report.json"
    main(["scan", "--provider", "aws", "--region", REGION, "--config", str(config), "--quiet",
          "--only", "PHI-ENC-002", "--format", f"json={out}"])
    findings = {f["resource"]["id"]: f for f in json.loads(out.read_text())["findings"]
                if f["policy_id"] == "PHI-ENC-002"}
    snapshot = rds_arn("snapshot", "nightly-1")
    assert findings[snapshot]["status"] == "fail"
    assert f"classed clinical as what it copies: {rds_arn('db', 'pms-main')}" in findings[snapshot]["message"]
    assert findings[rds_arn("db", "pms-main")]["status"] == "fail"


def test_a_warehouse_snapshot_copied_from_another_region_is_classed_as_its_cluster(
        aws: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """A Redshift snapshot copied here names its cluster, which lives where the snapshot was
    taken (``SourceRegion``); a cluster of the same name here, gone since, lends nothing."""
    secret = {"NodeType": "dc2.large", "MasterUsername": "admin", "MasterUserPassword": "Not-a-real-secret-9"}
    aws("redshift").create_cluster(ClusterIdentifier="warehouse", Tags=CLINICAL, **secret)
    here = aws("redshift", OTHER)
    here.create_cluster(ClusterIdentifier="warehouse", **secret)
    here.create_cluster_snapshot(SnapshotIdentifier="warehouse-dr", ClusterIdentifier="warehouse")
    here.delete_cluster(ClusterIdentifier="warehouse", SkipFinalClusterSnapshot=True)
    inject_faults(monkeypatch, replaying(OTHER, "DescribeClusterSnapshots",
                                         "<SnapshotIdentifier>warehouse-dr</SnapshotIdentifier>",
                                         f"<SourceRegion>{REGION}</SourceRegion>"))
    copy = collect(REGION, OTHER)[f"arn:aws:redshift:{OTHER}:{ACCOUNT}:snapshot:warehouse/warehouse-dr"]
    assert copy.tags.get("data_class") == "clinical"
    assert copy.raw["source"] == f"arn:aws:redshift:{REGION}:{ACCOUNT}:cluster:warehouse"


#: The automated backups of ``pms`` replicated to the other region, as that region lists them
#: (the RDS ``DBInstanceAutomatedBackup`` shape; a replica names its database's region).
REPLICATED_BACKUP = f"arn:aws:rds:{OTHER}:{ACCOUNT}:auto-backup:ab-pmsreplica0123456789abcdef"
REPLICATED_BACKUPS = (
    '<DescribeDBInstanceAutomatedBackupsResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/">'
    "<DescribeDBInstanceAutomatedBackupsResult><DBInstanceAutomatedBackups><DBInstanceAutomatedBackup>"
    f"<DBInstanceArn>arn:aws:rds:{REGION}:{ACCOUNT}:db:pms</DBInstanceArn>"
    "<DbiResourceId>db-PMSREPLICA0123456789ABCDEF</DbiResourceId>"
    f"<Region>{REGION}</Region><DBInstanceIdentifier>pms</DBInstanceIdentifier>"
    "<Status>replicating</Status><Engine>postgres</Engine><AllocatedStorage>20</AllocatedStorage>"
    "<Encrypted>false</Encrypted><BackupRetentionPeriod>7</BackupRetentionPeriod>"
    f"<DBInstanceAutomatedBackupsArn>{REPLICATED_BACKUP}</DBInstanceAutomatedBackupsArn>"
    "</DBInstanceAutomatedBackup></DBInstanceAutomatedBackups></DescribeDBInstanceAutomatedBackupsResult>"
    "<ResponseMetadata><RequestId>replayed</RequestId></ResponseMetadata>"
    "</DescribeDBInstanceAutomatedBackupsResponse>")


def test_automated_backups_replicated_to_another_region_are_read_there_with_their_databases_class(
        aws: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """Cross-region backup replication keeps a clinical database restorable in another region:
    the replica, active while its database is, is a store there, classed as that database."""
    aws("rds").create_db_instance(DBInstanceIdentifier="pms", Tags=CLINICAL, **DB)

    def replicated(service: str, region: str, called: str, request: Any) -> AWSResponse | None:
        if region != OTHER or called != "DescribeDBInstanceAutomatedBackups":
            return None
        return AWSResponse("https://replayed", 200, {"Content-Type": "text/xml"}, _Body(REPLICATED_BACKUPS.encode()))

    inject_faults(monkeypatch, replicated)
    found = collect(REGION, OTHER)
    backup = found[REPLICATED_BACKUP]
    assert (backup.region, backup.kind) == (OTHER, "database")
    assert backup.tags.get("data_class") == "clinical"
    assert backup.attributes["encryption"]["at_rest"] is False
    # the source region's own, active backups stay its database's
    assert not [r for r in found.values() if r.type == "aws.rds.automated_backup" and r.region == REGION]


def test_a_volume_snapshot_copied_to_another_region_is_classed_as_the_snapshot_it_copies(
        aws: Callable[..., Any]) -> None:
    """A copy names an arbitrary volume; its description, as the console writes it, names the
    snapshot copied, itself of a clinical volume."""
    ec2 = aws("ec2")
    volume = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=1,
                               TagSpecifications=[{"ResourceType": "volume", "Tags": CLINICAL}])["VolumeId"]
    original = ec2.create_snapshot(VolumeId=volume)["SnapshotId"]
    copy = aws("ec2", OTHER).copy_snapshot(SourceSnapshotId=original, SourceRegion=REGION,
                                           Description=f"[Copied {original} from {REGION}] nightly")["SnapshotId"]
    found = collect(REGION, OTHER)
    copied = found[f"arn:aws:ec2:{OTHER}::snapshot/{copy}"]
    assert copied.tags.get("data_class") == "clinical"
    assert copied.raw["source"] == f"arn:aws:ec2:{REGION}::snapshot/{original}"


def test_a_global_tables_replica_is_classed_as_the_table_it_replicates(
        aws: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    """Replicas are tagged each on its own: the one in the other region, untagged, holds the
    clinical table's items. moto keeps no replicas: each region's table is described with the
    ``Replicas`` AWS lists (the table's own region among them)."""
    schema = {"BillingMode": "PAY_PER_REQUEST", "AttributeDefinitions": [{"AttributeName": "id", "AttributeType": "S"}],
              "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}]}
    aws("dynamodb").create_table(TableName="encounters", Tags=CLINICAL, **schema)
    aws("dynamodb", OTHER).create_table(TableName="encounters", **schema)
    replicas = [{"RegionName": region, "ReplicaStatus": "ACTIVE"} for region in (REGION, OTHER)]

    def global_table(service: str, region: str, called: str, request: Any) -> AWSResponse | None:
        if called != "DescribeTable":
            return None
        answer = json.loads(moto_answer(request))
        answer["Table"]["Replicas"] = replicas
        return AWSResponse("https://replayed", 200, {"Content-Type": "application/x-amz-json-1.0"},
                           _Body(json.dumps(answer).encode()))

    inject_faults(monkeypatch, global_table)
    found = collect(REGION, OTHER)
    replica = found[f"arn:aws:dynamodb:{OTHER}:{ACCOUNT}:table/encounters"]
    assert replica.tags.get("data_class") == "clinical"
    assert replica.raw["source"] == [f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/encounters"]
    assert found[f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/encounters"].tags == {"data_class": "clinical"}
