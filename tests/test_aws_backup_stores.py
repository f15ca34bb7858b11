"""AWS Backup vaults and recovery points, DocumentDB, MemoryDB and DAX clusters read live from the
moto server: stores with their encryption and key, their exposure, their class (a recovery point
classified as its source), TLS in transit where the service has it, judged by the store policies
and read through the access graph.

The moto server serves vaults, MemoryDB and DAX. It has no vault access policies, no recovery
points and no DocumentDB engine: those answers are AWS's documented response shapes, replayed
through the same clients (botocore parses them as it parses AWS's).

One estate for the module (seeded once, collected and scanned once); the faults are injected
into later reads of the same estate."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from phigate.api import CollectionError, Resource
from phigate.cli import main
from phigate.snapshot import error_from_json, resource_from_json
from phigate.validation import kind_validator
from phigate_providers.aws import backup
from phigate_providers.aws.provider import AwsProvider, Settings
from tests.aws_server import ACCOUNT, REGION, _Body, client, error_response, inject_faults, reset

PARTNER = "111122223333"
CLINICAL = [{"Key": "data_class", "Value": "clinical"}]
#: Replayed answers are only those of the services the server lacks; the rest is moto's.
Fault = Callable[[str, str, str, Any], AWSResponse | None]


def vault_arn(name: str) -> str:
    return f"arn:aws:backup:{REGION}:{ACCOUNT}:backup-vault:{name}"


def point_arn(point_id: str) -> str:
    return f"arn:aws:backup:{REGION}:{ACCOUNT}:recovery-point:{point_id}"


def role_arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:role/{name}"


DOCS = f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:records-docs"
LEGACY_DOCS = f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:legacy-docs"
TABLE = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/consultations"
RDS_POINT = f"arn:aws:rds:{REGION}:{ACCOUNT}:snapshot:awsbackup:job-4d1c"
AMI_POINT = f"arn:aws:ec2:{REGION}::image/ami-0a1b2c3d4e5f60718"


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


#: Vault access policies, as GetBackupVaultAccessPolicy returns them (vaults without one answer
#: ResourceNotFoundException).
VAULT_POLICIES = {
    "open-vault": document({"Effect": "Allow", "Principal": "*", "Action": "backup:StartRestoreJob",
                            "Resource": "*"}),
    "partner-vault": document(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{PARTNER}:root"},
         "Action": ["backup:CopyFromBackupVault", "backup:StartCopyJob"], "Resource": "*"},
        {"Effect": "Deny", "Principal": "*", "Action": "backup:DeleteRecoveryPoint", "Resource": "*"}),
}


def recovery_points(key: str, file_system: str) -> dict[str, list[dict[str, Any]]]:
    """Per vault, ListRecoveryPointsByBackupVault's RecoveryPoints (the documented fields)."""
    return {
        "clinical-vault": [
            {"RecoveryPointArn": point_arn("efs-0001"), "BackupVaultName": "clinical-vault",
             "BackupVaultArn": vault_arn("clinical-vault"), "ResourceArn": file_system,
             "ResourceType": "EFS", "Status": "COMPLETED", "IsEncrypted": True, "EncryptionKeyArn": key,
             "EncryptionKeyType": "CUSTOMER_MANAGED_KMS_KEY", "BackupSizeInBytes": 4096,
             "CreationDate": 1765000000.0},
            # An RDS snapshot AWS Backup made: the RDS snapshot reader's, not read twice here.
            {"RecoveryPointArn": RDS_POINT, "BackupVaultName": "clinical-vault", "ResourceType": "RDS",
             "ResourceArn": f"arn:aws:rds:{REGION}:{ACCOUNT}:db:pms", "Status": "COMPLETED",
             "IsEncrypted": True, "EncryptionKeyArn": key},
            # An EC2 instance's image over unencrypted volumes.
            {"RecoveryPointArn": AMI_POINT, "BackupVaultName": "clinical-vault", "ResourceType": "EC2",
             "ResourceArn": f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/i-0abc", "Status": "COMPLETED",
             "IsEncrypted": False},
        ],
        "open-vault": [
            {"RecoveryPointArn": point_arn("ddb-0001"), "BackupVaultName": "open-vault", "ResourceArn": TABLE,
             "ResourceType": "DynamoDB", "Status": "COMPLETED", "IsEncrypted": True,
             "EncryptionKeyType": "AWS_OWNED_KMS_KEY"},
        ],
        "partner-vault": [
            {"RecoveryPointArn": point_arn("ddb-0002"), "BackupVaultName": "partner-vault", "ResourceArn": TABLE,
             "ResourceType": "DynamoDB", "Status": "COMPLETED", "IsEncrypted": True,
             "EncryptionKeyArn": f"arn:aws:kms:{REGION}:{ACCOUNT}:alias/aws/backup"},
        ],
    }


def docdb_clusters(key: str) -> bytes:
    """DescribeDBClusters as the RDS API answers it for DocumentDB clusters (the query protocol):
    one under the default parameter group, one under the account's own group."""
    return f"""<DescribeDBClustersResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/">
  <DescribeDBClustersResult><DBClusters><DBCluster>
    <DBClusterIdentifier>legacy-docs</DBClusterIdentifier><DBClusterArn>{LEGACY_DOCS}</DBClusterArn>
    <Engine>docdb</Engine><EngineVersion>4.0.0</EngineVersion><Status>available</Status>
    <StorageEncrypted>false</StorageEncrypted><DBClusterParameterGroup>docs-no-tls</DBClusterParameterGroup>
    <BackupRetentionPeriod>1</BackupRetentionPeriod><DeletionProtection>false</DeletionProtection>
    <TagList><Tag><Key>data_class</Key><Value>administrative</Value></Tag></TagList>
  </DBCluster><DBCluster>
    <DBClusterIdentifier>records-docs</DBClusterIdentifier><DBClusterArn>{DOCS}</DBClusterArn>
    <Engine>docdb</Engine><EngineVersion>5.0.0</EngineVersion><Status>available</Status>
    <StorageEncrypted>true</StorageEncrypted><KmsKeyId>{key}</KmsKeyId>
    <DBClusterParameterGroup>default.docdb5.0</DBClusterParameterGroup>
    <DbClusterResourceId>cluster-7QEXAMPLE</DbClusterResourceId><BackupRetentionPeriod>7</BackupRetentionPeriod>
    <DeletionProtection>true</DeletionProtection><MultiAZ>false</MultiAZ>
    <TagList><Tag><Key>data_class</Key><Value>clinical</Value></Tag></TagList>
  </DBCluster></DBClusters></DescribeDBClustersResult>
  <ResponseMetadata><RequestId>7c3e</RequestId></ResponseMetadata>
</DescribeDBClustersResponse>""".encode()


TWO_REGIONS = f"""<DescribeRegionsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/">
  <requestId>59dbff89</requestId><regionInfo>
    <item><regionName>{REGION}</regionName><regionEndpoint>ec2.{REGION}.amazonaws.com</regionEndpoint>
      <optInStatus>opt-in-not-required</optInStatus></item>
    <item><regionName>eu-west-1</regionName><regionEndpoint>ec2.eu-west-1.amazonaws.com</regionEndpoint>
      <optInStatus>opt-in-not-required</optInStatus></item>
  </regionInfo>
</DescribeRegionsResponse>""".encode()
#: DescribeDBClusterParameters of the group ``docs-no-tls``: TLS turned off.
DOCS_NO_TLS = b"""<DescribeDBClusterParametersResponse xmlns="http://rds.amazonaws.com/doc/2014-10-31/">
  <DescribeDBClusterParametersResult><Parameters>
    <Parameter><ParameterName>audit_logs</ParameterName><ParameterValue>disabled</ParameterValue>
      <Source>system</Source><ApplyType>dynamic</ApplyType><DataType>string</DataType></Parameter>
    <Parameter><ParameterName>tls</ParameterName><ParameterValue>disabled</ParameterValue>
      <Source>user</Source><ApplyType>static</ApplyType><DataType>string</DataType></Parameter>
  </Parameters></DescribeDBClusterParametersResult>
  <ResponseMetadata><RequestId>8d1f</RequestId></ResponseMetadata>
</DescribeDBClusterParametersResponse>"""


def json_answer(status: int, payload: dict[str, Any]) -> AWSResponse:
    return AWSResponse("https://replayed", status, {"Content-Type": "application/json"},
                       _Body(json.dumps(payload).encode()))


def vault_of(request: Any) -> str:
    return str(request.url).split("/backup-vaults/", 1)[1].split("/", 1)[0]


def replaying(key: str, file_system: str) -> Fault:
    """Answers for what the server lacks: vault access policies, recovery points, DocumentDB."""
    points = recovery_points(key, file_system)

    def answer(service: str, region: str, called: str, request: Any) -> AWSResponse | None:
        if called == "GetBackupVaultAccessPolicy":
            vault = vault_of(request)
            if vault not in VAULT_POLICIES:
                return json_answer(404, {"__type": "ResourceNotFoundException", "Message": "no policy"})
            return json_answer(200, {"BackupVaultName": vault, "BackupVaultArn": vault_arn(vault),
                                     "Policy": VAULT_POLICIES[vault]})
        if called == "ListRecoveryPointsByBackupVault":
            return json_answer(200, {"RecoveryPoints": points.get(vault_of(request), [])})
        if called == "DescribeDBClusters" and region == REGION:
            return AWSResponse("https://replayed", 200, {"Content-Type": "text/xml"}, _Body(docdb_clusters(key)))
        if called == "DescribeRegions":  # an account with two regions enabled: a quicker estate
            return AWSResponse("https://replayed", 200, {"Content-Type": "text/xml"}, _Body(TWO_REGIONS))
        if called == "DescribeDBClusterParameters":
            return AWSResponse("https://replayed", 200, {"Content-Type": "text/xml"}, _Body(DOCS_NO_TLS))
        return None

    return answer


def also(first: Fault, then: Fault) -> Fault:
    """``first``'s answer where it has one, else ``then``'s."""
    def fault(service: str, region: str, called: str, request: Any) -> AWSResponse | None:
        return first(service, region, called, request) or then(service, region, called, request)

    return fault


def seed(aws: Callable[..., Any]) -> tuple[str, str]:
    """Vaults under a customer key or the AWS-managed one, clinical stores they back up,
    MemoryDB and DAX clusters with and without TLS and encryption, and roles reading them.
    Returns the customer key and the clinical file system's ARN."""
    key = aws("kms").create_key()["KeyMetadata"]["Arn"]
    efs = aws("efs")
    file_system = efs.create_file_system(CreationToken="scans", Encrypted=True, KmsKeyId=key,
                                         Tags=CLINICAL)["FileSystemArn"]
    # Mounted by the account's principals only: its readers are decided, not unseen.
    efs.put_file_system_policy(FileSystemId=file_system.rsplit("/", 1)[1], Policy=document(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
         "Action": "elasticfilesystem:ClientMount", "Resource": file_system}))
    aws("dynamodb").create_table(
        TableName="consultations", KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}], BillingMode="PAY_PER_REQUEST",
        Tags=CLINICAL)
    vaults = aws("backup")
    vaults.create_backup_vault(BackupVaultName="clinical-vault", EncryptionKeyArn=key,
                               BackupVaultTags={"data_class": "clinical"})
    for name in ("open-vault", "partner-vault"):
        vaults.create_backup_vault(BackupVaultName=name)
    memorydb = aws("memorydb")
    memorydb.create_cluster(ClusterName="sessions", NodeType="db.t4g.small", ACLName="open-access",
                            TLSEnabled=False, Tags=CLINICAL)
    memorydb.create_cluster(ClusterName="records-cache", NodeType="db.t4g.small", ACLName="open-access",
                            KmsKeyId=key, Tags=CLINICAL)
    dax = aws("dax")
    for name, secure in (("daxclinical", True), ("daxplain", False)):
        dax.create_cluster(ClusterName=name, NodeType="dax.t3.small", ReplicationFactor=1,
                           IamRoleArn=role_arn("dax"), SSESpecification={"Enabled": secure},
                           ClusterEndpointEncryptionType="TLS" if secure else "NONE", Tags=CLINICAL)
    iam = aws("iam")
    for name, action in (("restorer", "backup:StartRestoreJob"),
                         ("vault-admin", "backup:PutBackupVaultAccessPolicy"),
                         ("cache-reader", "dax:GetItem")):
        trust = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=document(trust))
        iam.put_role_policy(RoleName=name, PolicyName="p",
                            PolicyDocument=document({"Effect": "Allow", "Action": action, "Resource": "*"}))
    return key, file_system


Estate = tuple[dict[str, Resource], list[CollectionError], int, dict[str, Any], dict[str, Resource]]


@pytest.fixture(scope="module")
def replay(endpoint: str) -> Fault:
    reset(endpoint)
    return replaying(*seed(lambda service, region=REGION: client(endpoint, service, region)))


@pytest.fixture(scope="module")
def estate(replay: Fault, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Estate]:
    """The seeded estate read live once into a snapshot, and the snapshot scanned with every
    finding shown."""
    folder = tmp_path_factory.mktemp("backups")
    snapshot, out = folder / "estate.json", folder / "report.json"
    with pytest.MonkeyPatch.context() as patch:
        inject_faults(patch, replay)
        assert main(["collect", "--provider", "aws", "--region", REGION, "--quiet", "--output", str(snapshot)]) == 0
    code = main(["scan", str(snapshot), "--quiet", "--show-passed", "--format", f"json={out}"])
    document = json.loads(snapshot.read_text())
    found = {r.id: r for r in map(resource_from_json, document["resources"])}
    context = {r.id: r for r in map(resource_from_json, document.get("context", []))}
    yield (found, [error_from_json(e) for e in document["errors"]], code, json.loads(out.read_text()), context)


def statuses(report: dict[str, Any], policy: str) -> dict[str, str]:
    return {f["resource"]["id"]: f["status"] for f in report["findings"] if f["policy_id"] == policy}


def collect(fault: Fault, monkeypatch: pytest.MonkeyPatch, **fields: frozenset[str]
            ) -> tuple[dict[str, Resource], list[CollectionError]]:
    """The estate read again, through ``fault``; only what ``fields`` name (kind → attributes)."""
    inject_faults(monkeypatch, fault)
    provider = AwsProvider(Settings(regions=(REGION,)))
    if fields:
        provider.restrict(fields)
    records = list(provider.collect())
    return ({r.id: r for r in records if isinstance(r, Resource)},
            [r for r in records if isinstance(r, CollectionError)])


# --- AWS Backup -----------------------------------------------------------------------------------

def test_vaults_carry_their_key_and_their_access_policys_exposure(estate: Estate) -> None:
    found, errors, _, _, _ = estate
    assert errors == []
    clinical, open_vault, partner = (found[vault_arn(n)] for n in ("clinical-vault", "open-vault", "partner-vault"))
    assert (clinical.kind, clinical.type, clinical.region) == ("volume", "aws.backup.vault", REGION)
    assert clinical.attributes["encryption"] == {"at_rest": True, "algorithm": "aws:kms",
                                                 "key": clinical.raw["EncryptionKeyArn"], "key_manager": "customer"}
    # No key named: the AWS-managed aws/backup key (a vault is always encrypted).
    assert open_vault.attributes["encryption"] == {"at_rest": True, "algorithm": "aws:kms", "key": None,
                                                   "key_manager": "provider"}
    assert open_vault.attributes["public_access"] == {"blocked": False, "grants": ["*"]}
    # A named partner, and a deny to everyone: not public.
    assert partner.attributes["public_access"] == {"blocked": True, "grants": []}
    assert clinical.attributes["public_access"] == {"blocked": True, "grants": []}  # no policy
    assert clinical.tags == {"data_class": "clinical"} and open_vault.tags == {}
    assert list(kind_validator("volume").iter_errors(dict(clinical.attributes))) == []


def test_recovery_points_are_copies_classified_as_their_source_under_their_vaults_exposure(estate: Estate) -> None:
    found, _, _, _, _ = estate
    points = {r.id: r for r in found.values() if r.type == "aws.backup.recovery_point"}
    # The RDS snapshot AWS Backup made is read once, by the snapshot reader (here: not seen by it,
    # the server has no such snapshot), never as a recovery point too.
    assert set(points) == {point_arn("efs-0001"), AMI_POINT, point_arn("ddb-0001"), point_arn("ddb-0002")}
    assert RDS_POINT not in found
    efs_point, image, owned, managed = (points[a] for a in (point_arn("efs-0001"), AMI_POINT, point_arn("ddb-0001"),
                                                            point_arn("ddb-0002")))
    assert efs_point.kind == "volume" and efs_point.name == "clinical-vault/efs-0001"
    assert efs_point.attributes["encryption"]["key_manager"] == "customer"
    assert image.attributes["encryption"] == {"at_rest": False, "algorithm": None, "key": None, "key_manager": None}
    assert owned.attributes["encryption"] == {"at_rest": True, "algorithm": "aws:kms", "key": None,
                                              "key_manager": "provider"}
    assert managed.attributes["encryption"]["key_manager"] == "provider"  # alias/aws/backup
    # Untagged, classified as the file system and table they copy; the image's instance was not read.
    assert efs_point.tags["data_class"] == owned.tags["data_class"] == "clinical"
    assert "data_class" not in image.tags
    # The vault's policy applies to what it holds.
    assert owned.attributes["public_access"] == {"blocked": False, "grants": ["*"]}
    assert managed.attributes["public_access"] == {"blocked": True, "grants": []}
    assert list(kind_validator("volume").iter_errors(dict(owned.attributes))) == []


def test_store_policies_judge_backups_without_policies_of_their_own(estate: Estate) -> None:
    _, _, code, report, _ = estate
    assert report["collection_errors"] == []
    exposure, encrypted, customer_key = (statuses(report, p) for p in ("PHI-IAM-002", "PHI-ENC-001", "PHI-ENC-002"))
    assert exposure[point_arn("ddb-0001")] == exposure[vault_arn("open-vault")] == "fail"
    assert exposure[point_arn("ddb-0002")] == exposure[vault_arn("partner-vault")] == "pass"
    assert encrypted[AMI_POINT] == "fail"
    assert encrypted[point_arn("efs-0001")] == encrypted[vault_arn("open-vault")] == "pass"
    # Clinical through its table, under keys AWS owns or manages: no customer-managed key.
    assert customer_key[point_arn("ddb-0001")] == customer_key[point_arn("ddb-0002")] == "fail"
    assert customer_key[point_arn("efs-0001")] == customer_key[vault_arn("clinical-vault")] == "pass"
    # Neither its own tag nor a source read: unclassified, and reported.
    assert statuses(report, "PHI-CLASS-001")[AMI_POINT] == "fail"
    assert statuses(report, "PHI-RES-001")[point_arn("efs-0001")] == "pass"
    # moto has no AWS-managed aws/backup key: whether the key named by alias also encrypts
    # other data is undecided (exit 3), nothing else.
    undecided = {(f["policy_id"], f["resource"]["id"]) for f in report["findings"] if f["status"] == "error"}
    assert code == 3 and undecided == {("PHI-SEG-001", point_arn("ddb-0002"))}


def test_restoring_copying_or_reopening_a_vault_reads_its_recovery_points(estate: Estate) -> None:
    found, _, _, _, _ = estate
    restorer, admin = found[role_arn("restorer")], found[role_arn("vault-admin")]
    points = {r.id for r in found.values() if r.type == "aws.backup.recovery_point"}
    assert points <= set(restorer.attributes["can_read"])
    # Rewriting the vault access policy lets it grant itself read.
    assert admin.attributes["can_read_via"][point_arn("efs-0001")] == (
        "backup:PutBackupVaultAccessPolicy (can grant itself read)")
    # The public vault's recovery point is anyone's.
    assert point_arn("ddb-0001") in admin.attributes["can_read"]
    # The vault's policy, naming the partner, is handed to the analysis with the point's ways in;
    # the vault is read through what it holds.
    facets, policy = backup.store_access(found[point_arn("ddb-0002")])  # type: ignore[misc]
    assert policy is not None and {"backup:StartCopyJob", "backup:StartRestoreJob"} <= facets[0].actions
    assert vault_arn("partner-vault") in restorer.attributes["can_read"]


def test_a_vault_whose_policy_cannot_be_read_leaves_its_recovery_points_undecided_and_unseen(
        replay: Fault, estate: Estate, monkeypatch: pytest.MonkeyPatch) -> None:
    refused = also(lambda s, r, called, q: error_response("AccessDeniedException", 403, json_protocol=True)
                   if called == "GetBackupVaultAccessPolicy" else None, replay)
    found, errors = collect(refused, monkeypatch, volume=frozenset({"encryption", "public_access", "tags"}))
    point = found[point_arn("ddb-0001")]
    assert "public_access" not in point.attributes and "public_access" not in found[vault_arn("open-vault")].attributes
    assert vault_arn("open-vault") in {e.resource_id for e in errors
                                       if e.permission == "backup:GetBackupVaultAccessPolicy"}
    # Who may restore it is not known: unseen for the access analysis, never nobody.
    assert backup.store_access(point) == "backup vault access policy not read"


def test_recovery_points_not_listed_are_an_error_on_every_store_policy_of_theirs(
        replay: Fault, estate: Estate, monkeypatch: pytest.MonkeyPatch) -> None:
    refused = also(lambda s, r, called, q: error_response("AccessDeniedException", 403, json_protocol=True)
                   if called == "ListRecoveryPointsByBackupVault" else None, replay)
    found, errors = collect(refused, monkeypatch, volume=frozenset({"encryption"}))
    assert not [r for r in found.values() if r.type == "aws.backup.recovery_point"]
    # Who restores what the vault holds is not known: its reach is unseen, never nobody.
    assert backup.store_access(found[vault_arn("clinical-vault")]) == backup.NOT_LISTED
    listed = {(e.permission, e.kinds, e.types, e.resource_id) for e in errors}
    assert listed == {("backup:ListRecoveryPointsByBackupVault", ("volume",), ("aws.backup.recovery_point",), None)}


# --- DocumentDB -----------------------------------------------------------------------------------

def test_documentdb_clusters_are_read_once_as_rds_clusters_never_public_with_their_tls(estate: Estate) -> None:
    found, _, _, report, _ = estate
    legacy, docs = sorted((r for r in found.values() if r.attributes.get("engine") == "docdb"), key=lambda r: r.id)
    assert (docs.id, docs.kind, docs.type, legacy.id) == (DOCS, "database", "aws.rds.db_cluster", LEGACY_DOCS)
    # The default parameter group has TLS on (documented); the account's own group turns it off.
    assert (docs.attributes["secure_transport_required"], legacy.attributes["secure_transport_required"]) == (
        True, False)
    assert statuses(report, "PHI-ENC-001")[LEGACY_DOCS] == "fail"
    assert docs.attributes["encryption"]["key_manager"] == "customer"
    # No public endpoint exists for DocumentDB: decided, where an Aurora cluster's is unread.
    assert docs.attributes["public_access"] == {"blocked": True, "grants": []}
    assert statuses(report, "PHI-IAM-002")[DOCS] == statuses(report, "PHI-ENC-002")[DOCS] == "pass"


# --- MemoryDB and DAX -------------------------------------------------------------------------------

def test_memorydb_and_dax_clusters_are_databases_with_their_key_and_tls(estate: Estate) -> None:
    found, _, _, report, _ = estate
    clusters = {r.name: r for r in found.values() if r.type in ("aws.memorydb.cluster", "aws.dax.cluster")}
    sessions, records, secure, plain = (clusters[n] for n in ("sessions", "records-cache", "daxclinical", "daxplain"))
    assert (sessions.kind, sessions.type, secure.type) == ("database", "aws.memorydb.cluster", "aws.dax.cluster")
    # MemoryDB always encrypts: under the key named, else one MemoryDB owns.
    assert sessions.attributes["encryption"] == {"at_rest": True, "algorithm": "AES256", "key": None,
                                                 "key_manager": "provider"}
    assert records.attributes["encryption"]["key_manager"] == "customer"
    assert (sessions.attributes["secure_transport_required"], records.attributes["secure_transport_required"]) == (
        False, True)
    assert secure.attributes["encryption"]["key_manager"] == "provider"  # DAX takes no customer key
    assert plain.attributes["encryption"]["at_rest"] is False
    assert (secure.attributes["secure_transport_required"], plain.attributes["secure_transport_required"]) == (
        True, False)
    assert all(c.tags == {"data_class": "clinical"} for c in clusters.values())
    assert all(not list(kind_validator("database").iter_errors(dict(c.attributes))) for c in clusters.values())
    encrypted, customer_key = statuses(report, "PHI-ENC-001"), statuses(report, "PHI-ENC-002")
    assert encrypted[plain.id] == "fail" and encrypted[sessions.id] == encrypted[secure.id] == "pass"
    assert customer_key[records.id] == "pass" and customer_key[sessions.id] == customer_key[secure.id] == "fail"
    # DAX authorises every item read with IAM: its readers are in the graph.
    reader = found[role_arn("cache-reader")]
    assert {secure.id, plain.id} <= set(reader.attributes["can_read"])
    assert not {sessions.id, records.id} & set(reader.attributes["can_read"])


@pytest.mark.parametrize(("operation", "permission", "types"), [
    ("ListBackupVaults", "backup:ListBackupVaults", backup.TYPES),
    ("DescribeClusters", "memorydb:DescribeClusters", ("aws.memorydb.cluster",)),
])
def test_stores_not_listed_are_an_error_on_every_store_policy_of_their_kind(
        replay: Fault, estate: Estate, monkeypatch: pytest.MonkeyPatch, operation: str, permission: str,
        types: tuple[str, ...]) -> None:
    service = permission.split(":", 1)[0]
    refused = also(lambda s, r, called, q: error_response("AccessDeniedException", 400, json_protocol=True)
                   if (s, called) == (service, operation) else None, replay)
    _, errors = collect(refused, monkeypatch, volume=frozenset({"encryption"}), database=frozenset({"encryption"}))
    [error] = [e for e in errors if e.permission == permission]
    assert error.types == types and error.resource_id is None and error.region == REGION


def test_a_documentdb_parameter_group_not_read_leaves_its_clusters_tls_undecided(
        replay: Fault, estate: Estate, monkeypatch: pytest.MonkeyPatch) -> None:
    refused = also(lambda s, r, called, q: error_response("AccessDenied", 403, json_protocol=False)
                   if called == "DescribeDBClusterParameters" else None, replay)
    found, errors = collect(refused, monkeypatch, database=frozenset({"secure_transport_required"}))
    assert "secure_transport_required" not in found[LEGACY_DOCS].attributes
    assert found[DOCS].attributes["secure_transport_required"] is True  # a default group: no read
    assert {(e.resource_id, e.permission) for e in errors} == {(LEGACY_DOCS, "rds:DescribeDBClusterParameters")}


def test_a_dax_cluster_whose_tags_cannot_be_read_is_unclassified_with_an_error(
        replay: Fault, estate: Estate, monkeypatch: pytest.MonkeyPatch) -> None:
    refused = also(lambda s, r, called, q: error_response("AccessDeniedException", 400, json_protocol=True)
                   if (s, called) == ("dax", "ListTags") else None, replay)
    found, errors = collect(refused, monkeypatch, database=frozenset({"encryption", "tags"}))
    dax = [r for r in found.values() if r.type == "aws.dax.cluster"]
    assert dax and all(r.tags == {} for r in dax)
    assert {r.id for r in dax} == {e.resource_id for e in errors if e.permission == "dax:ListTags"}
