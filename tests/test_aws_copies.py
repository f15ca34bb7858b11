"""Copies of patient data nobody looks at, read live from the moto server: EC2 images (AMIs, kind
``volume``), manual Redshift snapshots (``database``) and S3 Glacier vaults (``object_store``),
with their exposure, encryption and their sources' classification, judged by the store policies
and read through the access graph.

One estate for the module (seeded once, collected and scanned once); the faults are injected
into later reads of the same estate. moto does not model Redshift snapshot sharing, nor a
vault's access policy, lock and tags: its answer to ``DescribeClusterSnapshots`` is replayed with
``AccountsWithRestoreAccess`` added, and those three vault reads are answered, in AWS's shapes."""

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
from phigate_providers.aws import copies, glacier, images, redshift_snapshots
from phigate_providers.aws.kms import KeyDirectory, KeyFacts
from phigate_providers.aws.provider import AwsProvider, Settings
from tests.aws_server import ACCOUNT, REGION, _Body, client, error_response, inject_faults, moto_answer, reset
from tests.aws_server import role_allowed as role

PARTNER = "111122223333"
CLINICAL = [{"Key": "data_class", "Value": "clinical"}]
ADMINISTRATIVE = [{"Key": "data_class", "Value": "administrative"}]
#: The Redshift snapshot shared with the partner, and the element AWS lists its account in.
SHARED_SNAPSHOT = "warehouse-partner"
RESTORE_ACCESS = (f"<AccountsWithRestoreAccess><AccountWithRestoreAccess><AccountId>{PARTNER}</AccountId>"
                  "</AccountWithRestoreAccess></AccountsWithRestoreAccess>")


#: Per vault: its access policy, lock and tags as AWS answers them (None: it has none).
VAULTS: dict[str, dict[str, Any]] = {
    "scans-archive": {
        "access-policy": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": "*", "Action": ["glacier:InitiateJob", "glacier:GetJobOutput"],
            "Resource": f"arn:aws:glacier:{REGION}:{ACCOUNT}:vaults/scans-archive"}]},
        "lock-policy": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Deny", "Principal": "*", "Action": "glacier:DeleteArchive",
            "Resource": f"arn:aws:glacier:{REGION}:{ACCOUNT}:vaults/scans-archive",
            "Condition": {"NumericLessThan": {"glacier:ArchiveAgeInDays": "3650"}}}]},
        "tags": {"data_class": "clinical"}},
    "billing-archive": {
        "access-policy": {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{PARTNER}:root"},
            "Action": "glacier:InitiateJob", "Resource": f"arn:aws:glacier:{REGION}:{ACCOUNT}:vaults/billing-archive"}]},
        "lock-policy": None, "tags": {"data_class": "administrative"}},
    "old-exports": {"access-policy": None, "lock-policy": None, "tags": {}},
}


def image_arn(image_id: str) -> str:
    return images.image_arn("aws", REGION, image_id)


def vault_arn(name: str) -> str:
    return f"arn:aws:glacier:{REGION}:{ACCOUNT}:vaults/{name}"


def snapshot_arn(cluster: str, name: str) -> str:
    return f"arn:aws:redshift:{REGION}:{ACCOUNT}:snapshot:{cluster}/{name}"


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def seed(aws: Callable[..., Any]) -> dict[str, str]:
    """Images of a clinical server (one public, one kept private; their disks' snapshots tagged
    clinical, as ``CreateImage`` tags them) and of an administrative one (shared with a partner,
    tagged as its own); a clinical warehouse snapshotted twice (one shared with the partner) and
    an untagged unencrypted one snapshotted. Returns the image ids by name."""
    ec2 = aws("ec2")
    instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    made = {"pms-public": ec2.create_image(InstanceId=instance, Name="pms-public")["ImageId"],
            "pms-golden": ec2.create_image(InstanceId=instance, Name="pms-golden")["ImageId"],
            "billing": ec2.create_image(InstanceId=instance, Name="billing", TagSpecifications=[
                {"ResourceType": "image", "Tags": ADMINISTRATIVE}])["ImageId"]}
    for image in ec2.describe_images(ImageIds=[made["pms-public"], made["pms-golden"]])["Images"]:
        disks = [m["Ebs"]["SnapshotId"] for m in image["BlockDeviceMappings"]]
        ec2.create_tags(Resources=disks, Tags=CLINICAL)
    ec2.modify_image_attribute(ImageId=made["pms-public"], LaunchPermission={"Add": [{"Group": "all"}]})
    ec2.modify_image_attribute(ImageId=made["billing"], LaunchPermission={"Add": [{"UserId": PARTNER}]})
    key = aws("kms").create_key()["KeyMetadata"]["Arn"]
    redshift = aws("redshift")
    redshift.create_cluster(ClusterIdentifier="warehouse", NodeType="dc2.large", MasterUsername="admin",
                            MasterUserPassword="Not-a-real-secret-4", Encrypted=True, KmsKeyId=key, Tags=CLINICAL)
    redshift.create_cluster(ClusterIdentifier="scratch", NodeType="dc2.large", MasterUsername="admin",
                            MasterUserPassword="Not-a-real-secret-5")
    for name in (SHARED_SNAPSHOT, "warehouse-kept"):
        redshift.create_cluster_snapshot(SnapshotIdentifier=name, ClusterIdentifier="warehouse")
    redshift.create_cluster_snapshot(SnapshotIdentifier="scratch-copy", ClusterIdentifier="scratch")
    dynamodb = aws("dynamodb")
    for table, tags, sse in (("notes", CLINICAL, {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": key}),
                             ("scratch", [], {"Enabled": False})):
        dynamodb.create_table(TableName=table, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                              AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                              BillingMode="PAY_PER_REQUEST", SSESpecification=sse, **({"Tags": tags} if tags else {}))
        dynamodb.create_backup(TableName=table, BackupName=f"{table}-nightly")
    dynamodb.delete_table(TableName="scratch")  # its backup outlives it
    rds = aws("rds")  # a database deleted, its automated backups kept
    rds.create_db_instance(DBInstanceIdentifier="legacy-pms", DBInstanceClass="db.t3.micro", Engine="postgres",
                           MasterUsername="admin", MasterUserPassword="Not-a-real-secret-6", AllocatedStorage=20,
                           BackupRetentionPeriod=7, Tags=CLINICAL)
    rds.delete_db_instance(DBInstanceIdentifier="legacy-pms", SkipFinalSnapshot=True, DeleteAutomatedBackups=False)
    fsx = aws("fsx")
    fsx.create_file_system(FileSystemType="WINDOWS", StorageCapacity=32, SubnetIds=["subnet-0a1b2c3d4e5f6"], KmsKeyId=key,
                           Tags=CLINICAL)
    fsx.create_file_system(FileSystemType="LUSTRE", StorageCapacity=1200, SubnetIds=["subnet-0a1b2c3d4e5f6"])
    glacier = aws("glacier")
    for vault in VAULTS:
        glacier.create_vault(vaultName=vault)
    iam = aws("iam")
    role(iam, "retriever", "glacier:InitiateJob")
    role(iam, "table-restorer", "dynamodb:RestoreTableFromBackup")
    role(iam, "point-in-time", "rds:RestoreDBInstanceToPointInTime")
    role(iam, "launcher", "ec2:RunInstances")
    role(iam, "restorer", "redshift:RestoreFromClusterSnapshot")
    role(iam, "sharer", "redshift:AuthorizeSnapshotAccess")
    return {name: str(image_id) for name, image_id in made.items()}


def json_answer(answer: dict[str, Any]) -> AWSResponse:
    return AWSResponse("https://replayed", 200, {"Content-Type": "application/json"},
                       _Body(json.dumps(answer).encode()))


def vault_reads(called: str, request: Any) -> AWSResponse | None:
    """A vault's access policy, lock and tags, as AWS answers them."""
    reads = {"GetVaultAccessPolicy": "access-policy", "GetVaultLock": "lock-policy", "ListTagsForVault": "tags"}
    if called not in reads:
        return None
    vault = VAULTS[request.url.split("/vaults/", 1)[1].split("/", 1)[0]]
    found = vault[reads[called]]
    if called == "ListTagsForVault":
        return json_answer({"Tags": found})
    if found is None:
        return error_response("ResourceNotFoundException", 404, json_protocol=True)
    if called == "GetVaultLock":
        return json_answer({"Policy": json.dumps(found), "State": "Locked"})
    return json_answer({"Policy": json.dumps(found)})


def backup_description(request: Any) -> AWSResponse:
    """moto's description of a backup with what it leaves out, its table's encryption (from
    moto's description of the table), where AWS gives it: ``SourceTableFeatureDetails``."""
    answer = json.loads(moto_answer(request))
    description = answer["BackupDescription"]
    endpoint = request.url.split("/", 3)
    tables = client("/".join(endpoint[:3]), "dynamodb")
    try:
        table = tables.describe_table(TableName=description["SourceTableDetails"]["TableName"])["Table"]
    except tables.exceptions.ResourceNotFoundException:
        table = {}  # deleted since: made without SSE here
    sse = table.get("SSEDescription")
    description["SourceTableFeatureDetails"] = {"SSEDescription": sse} if sse else {}
    return AWSResponse("https://replayed", 200, {"Content-Type": "application/x-amz-json-1.0"},
                       _Body(json.dumps(answer).encode()))


#: What AWS lists of a retained automated backup beside what moto does.
RETAINED_BACKUP_ARN = f"arn:aws:rds:{REGION}:{ACCOUNT}:auto-backup:ab-legacypms0123456789"
RETAINED_FIELDS = (f"<Encrypted>false</Encrypted><Engine>postgres</Engine>"
                   f"<DBInstanceAutomatedBackupsArn>{RETAINED_BACKUP_ARN}</DBInstanceAutomatedBackupsArn>"
                   f"<DBInstanceArn>arn:aws:rds:{REGION}:{ACCOUNT}:db:legacy-pms</DBInstanceArn>")


def shared_snapshot(service: str, region: str, called: str, request: Any) -> AWSResponse | None:
    """moto's own answer to ``DescribeClusterSnapshots``, the partner added to one snapshot, and
    to ``DescribeBackup`` in AWS's shape; AWS's answers to what moto does not read of vaults."""
    if service == "glacier":
        return vault_reads(called, request)
    if called == "DescribeBackup":
        return backup_description(request)
    if called == "DescribeDBInstanceAutomatedBackups":
        marker = "<Status>retained</Status>"
        answer_text = moto_answer(request).replace(marker, marker + RETAINED_FIELDS)
        return AWSResponse("https://replayed", 200, {"Content-Type": "text/xml"}, _Body(answer_text.encode()))
    if called != "DescribeClusterSnapshots":
        return None
    answer_text = moto_answer(request)
    marker = f"<SnapshotIdentifier>{SHARED_SNAPSHOT}</SnapshotIdentifier>"
    replayed = answer_text.replace(marker, marker + RESTORE_ACCESS)
    return AWSResponse("https://replayed", 200, {"Content-Type": "text/xml"}, _Body(replayed.encode()))


#: (resources, errors, the scan's exit code, its report, the image ids by name, context resources)
Estate = tuple[dict[str, Resource], list[CollectionError], int, dict[str, Any], dict[str, str],
               dict[str, Resource]]


@pytest.fixture(scope="module")
def estate(endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Estate]:
    """The seeded estate read live once into a snapshot, and the snapshot scanned with every
    finding shown."""
    reset(endpoint)
    made = seed(lambda service, region=REGION: client(endpoint, service, region))
    folder = tmp_path_factory.mktemp("copies")
    snapshot, out = folder / "estate.json", folder / "report.json"
    with pytest.MonkeyPatch.context() as patch:
        inject_faults(patch, shared_snapshot)
        assert main(["collect", "--provider", "aws", "--region", REGION, "--quiet", "--output", str(snapshot)]) == 0
    code = main(["scan", str(snapshot), "--quiet", "--show-passed", "--format", f"json={out}"])
    document = json.loads(snapshot.read_text())
    found = {r.id: r for r in map(resource_from_json, document["resources"])}
    context = {r.id: r for r in map(resource_from_json, document.get("context", []))}
    yield (found, [error_from_json(e) for e in document["errors"]], code, json.loads(out.read_text()), made,
           context)


def statuses(report: dict[str, Any], policy: str) -> dict[str, str]:
    return {f["resource"]["id"]: f["status"] for f in report["findings"] if f["policy_id"] == policy}


#: What the store policies read of copies.
STORE_FIELDS = {kind: frozenset({"encryption", "public_access", "tags"})
                for kind in ("volume", "database", "object_store", "table")}


def collect(fault: Callable[[str, str, str, Any], AWSResponse | None], monkeypatch: pytest.MonkeyPatch
            ) -> tuple[dict[str, Resource], list[CollectionError]]:
    """The estate read again through ``fault``, for what the store policies read only (so the
    asked region only: no access analysis)."""
    inject_faults(monkeypatch, fault)
    provider = AwsProvider(Settings(regions=(REGION,)))
    provider.restrict(STORE_FIELDS)
    records = list(provider.collect())
    return ({r.id: r for r in records if isinstance(r, Resource)},
            [r for r in records if isinstance(r, CollectionError)])


def refusing(operation: str) -> Callable[[str, str, str, Any], AWSResponse | None]:
    def fault(service: str, region: str, called: str, request: Any) -> AWSResponse | None:
        if called == operation:
            return error_response("AccessDeniedException", 403, json_protocol=service in ("glacier", "dynamodb", "fsx"))
        return shared_snapshot(service, region, called, request)

    return fault


# --- normalised -----------------------------------------------------------------------------------

def test_images_are_volumes_with_their_launch_permissions_their_disks_key_and_their_servers_class(
        estate: Estate) -> None:
    found, errors, _, _, made, _ = estate
    assert errors == []
    public, golden, billing = (found[image_arn(made[n])] for n in ("pms-public", "pms-golden", "billing"))
    assert (public.kind, public.type, public.name, public.region) == ("volume", "aws.ec2.image", "pms-public",
                                                                      REGION)
    assert public.attributes["public_access"] == {"blocked": False, "grants": ["launchPermission:all"]}
    assert golden.attributes["public_access"] == billing.attributes["public_access"] == {
        "blocked": True, "grants": []}
    assert billing.raw["shared_with"] == [PARTNER] and golden.raw["shared_with"] == []
    # moto's images are of unencrypted disks (their snapshots say so).
    assert golden.attributes["encryption"] == {"at_rest": False, "algorithm": None, "key": None,
                                               "key_manager": None}
    # Untagged images of the clinical server: clinical through their disks' snapshots.
    assert public.tags["data_class"] == golden.tags["data_class"] == "clinical"
    assert billing.tags["data_class"] == "administrative"
    [source] = golden.raw["source"]
    assert source.startswith(f"arn:aws:ec2:{REGION}::snapshot/snap-") and source in found


def test_manual_warehouse_snapshots_are_databases_with_their_restorers_key_and_their_clusters_class(
        estate: Estate) -> None:
    found, _, _, _, _, _ = estate
    snapshots = {r.name: r for r in found.values() if r.type == "aws.redshift.snapshot"}
    # The automated snapshots moto takes of each cluster are left to their cluster.
    assert set(snapshots) == {SHARED_SNAPSHOT, "warehouse-kept", "scratch-copy"}
    partner, kept, scratch = snapshots[SHARED_SNAPSHOT], snapshots["warehouse-kept"], snapshots["scratch-copy"]
    assert partner.id == snapshot_arn("warehouse", SHARED_SNAPSHOT) and partner.kind == "database"
    assert partner.raw["shared_with"] == [PARTNER] and kept.raw["shared_with"] == []
    assert partner.attributes["public_access"] == {"blocked": True, "grants": []}  # Redshift shares by name only
    # Encrypted, naming no key (moto names none on snapshots): the AWS-managed aws/redshift key.
    assert kept.attributes["encryption"] == {"at_rest": True, "algorithm": "aws:kms", "key": None,
                                             "key_manager": "provider"}
    assert scratch.attributes["encryption"] == {"at_rest": False, "algorithm": None, "key": None,
                                                "key_manager": None}
    assert partner.tags == kept.tags == {"data_class": "clinical"} and scratch.tags == {}
    assert "Not-a-real-secret" not in json.dumps([r.raw for r in found.values()])


# --- judged by the store policies -------------------------------------------------------------------

def test_store_policies_judge_images_and_warehouse_snapshots_without_policies_of_their_own(
        estate: Estate) -> None:
    _, _, code, report, made, _ = estate
    assert report["collection_errors"] == []
    public, golden, billing = (image_arn(made[n]) for n in ("pms-public", "pms-golden", "billing"))
    exposure = statuses(report, "PHI-IAM-002")
    assert exposure[public] == "fail" and exposure[golden] == exposure[billing] == "pass"
    assert exposure[snapshot_arn("warehouse", SHARED_SNAPSHOT)] == "pass"
    encrypted = statuses(report, "PHI-ENC-001")
    assert encrypted[golden] == encrypted[snapshot_arn("scratch", "scratch-copy")] == "fail"
    assert encrypted[snapshot_arn("warehouse", "warehouse-kept")] == "pass"
    # Clinical through its cluster, under the AWS-managed key: no customer-managed key.
    assert statuses(report, "PHI-ENC-002")[snapshot_arn("warehouse", "warehouse-kept")] == "fail"
    classified = statuses(report, "PHI-CLASS-001")
    assert classified[golden] == classified[snapshot_arn("warehouse", "warehouse-kept")] == "pass"
    assert classified[snapshot_arn("scratch", "scratch-copy")] == "fail"
    # Nothing undecided: the clinical vault's retrievals are judged by the trails too.
    assert [f for f in report["findings"] if f["status"] == "error"] == [] and code == 1


# --- the access graph -------------------------------------------------------------------------------

def test_launching_an_image_or_restoring_a_snapshot_reads_it(estate: Estate) -> None:
    found, _, _, _, _, _ = estate
    principal = {name: found[f"arn:aws:iam::{ACCOUNT}:role/{name}"] for name in ("launcher", "restorer", "sharer")}
    owned_images = {r.id for r in found.values() if r.type == "aws.ec2.image"}
    warehouse = {r.id for r in found.values() if r.type == "aws.redshift.snapshot"}
    assert owned_images <= set(principal["launcher"].attributes["can_read"])
    assert warehouse <= set(principal["restorer"].attributes["can_read"])
    assert not warehouse & set(principal["launcher"].attributes["can_read"])
    assert principal["sharer"].attributes["can_read_via"][snapshot_arn("warehouse", "warehouse-kept")] == (
        "redshift:AuthorizeSnapshotAccess (can share it with an account it controls)")


def test_the_account_an_image_or_snapshot_is_shared_with_is_a_principal_in_context(estate: Estate) -> None:
    _, _, _, _, made, context = estate
    partner = context[f"arn:aws:iam::{PARTNER}:root"]
    via = partner.attributes["can_read_via"]
    assert via[image_arn(made["billing"])] == ("shared with the account: ec2:CopyImage, ec2:CreateStoreImageTask, "
                                              "ec2:ExportImage, ec2:RunInstances")
    assert via[snapshot_arn("warehouse", SHARED_SNAPSHOT)].startswith("shared with the account: ")
    assert image_arn(made["pms-golden"]) not in via
    assert list(kind_validator("principal").iter_errors(dict(partner.attributes))) == []


# --- what was not read --------------------------------------------------------------------------

def test_an_image_whose_launch_permissions_cannot_be_read_keeps_its_listed_exposure_and_unseen_readers(
        estate: Estate, monkeypatch: pytest.MonkeyPatch) -> None:
    _, _, _, _, made, _ = estate
    found, errors = collect(refusing("DescribeImageAttribute"), monkeypatch)
    golden, public = found[image_arn(made["pms-golden"])], found[image_arn(made["pms-public"])]
    # The listing says it is not public; who it is shared with is not known, never no one.
    assert golden.attributes["public_access"] == {"blocked": True, "grants": []}
    assert images.store_access(golden) == "launch permissions not read"
    assert {(e.resource_id, e.permission) for e in errors} == {
        (image_arn(made[n]), "ec2:DescribeImageAttribute") for n in ("pms-golden", "billing")}
    # A public image needs no read: everyone may launch it.
    assert public.raw["shared_with"] == ["all"]


def test_an_image_whose_disks_cannot_be_read_has_undecided_encryption(
        estate: Estate, monkeypatch: pytest.MonkeyPatch) -> None:
    _, _, _, _, made, _ = estate
    found, errors = collect(refusing("DescribeSnapshots"), monkeypatch)
    golden = found[image_arn(made["pms-golden"])]
    assert "encryption" not in golden.attributes  # moto's mappings do not say: left undecided
    assert (golden.id, "ec2:DescribeSnapshots") in {(e.resource_id, e.permission) for e in errors}


@pytest.mark.parametrize(("operation", "permission", "rtype", "kind"), [
    ("DescribeImages", "ec2:DescribeImages", "aws.ec2.image", "volume"),
    ("DescribeClusterSnapshots", "redshift:DescribeClusterSnapshots", "aws.redshift.snapshot", "database"),
    ("ListVaults", "glacier:ListVaults", "aws.glacier.vault", "object_store"),
    ("ListBackups", "dynamodb:ListBackups", "aws.dynamodb.backup", "table"),
    ("DescribeFileSystems", "fsx:DescribeFileSystems", "aws.fsx.file_system", "volume"),
    ("DescribeDBInstanceAutomatedBackups", "rds:DescribeDBInstanceAutomatedBackups", "aws.rds.automated_backup",
     "database")])
def test_copies_not_listed_are_an_error_on_every_store_policy_of_their_kind(
        estate: Estate, monkeypatch: pytest.MonkeyPatch, operation: str, permission: str, rtype: str,
        kind: str) -> None:
    found, errors = collect(refusing(operation), monkeypatch)
    assert not [r for r in found.values() if r.type == rtype]
    [error] = [e for e in errors if e.permission == permission and e.region == REGION]
    assert error.kinds == (kind,) and error.types == (rtype,) and error.resource_id is None


def test_the_weakest_disk_decides_an_images_key() -> None:
    """An image with disks under a customer key and under aws/ebs is as weak as aws/ebs; one
    disk unencrypted makes it unencrypted; a disk not read leaves it undecided."""
    keys = KeyDirectory()
    customer = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    keys.add_region(REGION, [KeyFacts(arn=customer, manager="customer", aliases=())])
    assert images.disks_encryption(keys, REGION, ACCOUNT, [(True, customer)]) == {
        "at_rest": True, "algorithm": "aws:kms", "key": customer, "key_manager": "customer"}
    assert images.disks_encryption(keys, REGION, ACCOUNT, [(True, customer), (True, None)]) == {
        "at_rest": True, "algorithm": "aws:kms", "key": None, "key_manager": "provider"}
    unknown = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/not-listed"
    assert "key_manager" not in (images.disks_encryption(keys, REGION, ACCOUNT, [(True, customer), (True, unknown)])
                                 or {"key_manager": "decided"})
    assert images.disks_encryption(keys, REGION, ACCOUNT, [(True, None), (False, None)]) == {
        "at_rest": False, "algorithm": None, "key": None, "key_manager": None}
    assert images.disks_encryption(keys, REGION, ACCOUNT, [(True, None), None]) is None
    assert images.disks_encryption(keys, REGION, ACCOUNT, []) is None


def test_an_image_carries_its_snapshots_tags_and_through_them_their_volumes() -> None:
    volume = Resource("arn:volume", "aws.ec2.volume", "volume", "aws", tags={"data_class": "clinical"})
    snapshot = Resource("arn:snapshot", "aws.ec2.snapshot", "volume", "aws", raw={"source": "arn:volume"})
    other = Resource("arn:other", "aws.ec2.snapshot", "volume", "aws", tags={"team": "billing"})
    image = Resource("arn:image", "aws.ec2.image", "volume", "aws", tags={"data_class": "public"},
                     raw={"source": ["arn:snapshot", "arn:other", "arn:gone"]})
    *_, labelled = copies.labelled([volume, snapshot, other, image])
    assert labelled.tags == {"data_class": "clinical,public", "team": "billing"}
    looped = [Resource("a", "t", "volume", "aws", tags={"x": "1"}, raw={"source": "b"}),
              Resource("b", "t", "volume", "aws", tags={"y": "2"}, raw={"source": "a"})]
    assert [r.tags for r in copies.labelled(looped)] == [{"x": "1", "y": "2"}, {"x": "1", "y": "2"}]


def test_redshift_snapshot_sharing_is_read_from_the_listing() -> None:
    snapshot = Resource(snapshot_arn("w", "s"), "aws.redshift.snapshot", "database", "aws",
                        raw={"shared_with": [PARTNER]})
    facets, policy = redshift_snapshots.store_access(snapshot)  # type: ignore[misc]
    assert policy is not None and facets
    assert redshift_snapshots.store_access(Resource(snapshot.id, snapshot.type, "database", "aws")) == (
        "sharing not read")


# --- S3 Glacier vaults ------------------------------------------------------------------------------

def test_vaults_are_object_stores_always_encrypted_under_keys_glacier_manages(estate: Estate) -> None:
    found, _, _, _, _, _ = estate
    scans, billing, old = (found[vault_arn(n)] for n in ("scans-archive", "billing-archive", "old-exports"))
    assert (scans.kind, scans.type, scans.name, scans.region) == ("object_store", "aws.glacier.vault",
                                                                  "scans-archive", REGION)
    assert scans.attributes["encryption"] == {"at_rest": True, "algorithm": "AES256", "key": None,
                                              "key_manager": "provider"}
    assert scans.attributes["public_access"] == {"blocked": False, "grants": ["*"]}
    # Named partner: not public, a reader for the access graph; no policy: not public.
    assert billing.attributes["public_access"] == old.attributes["public_access"] == {"blocked": True, "grants": []}
    assert scans.attributes["retention"] == {"enabled": True, "locked": True, "days": None}
    assert old.attributes["retention"] == {"enabled": False, "locked": False, "days": None}
    assert scans.attributes["secure_transport_required"] is True and scans.attributes["acls_disabled"] is True
    # The account has no trail: no Glacier read is recorded; a vault has no server access logs.
    assert scans.attributes["logging"] == {"access_logs": False, "data_events": False}
    assert (scans.tags, billing.tags, old.tags) == ({"data_class": "clinical"}, {"data_class": "administrative"}, {})


def test_store_policies_judge_vaults_and_their_logging_by_the_trails(estate: Estate) -> None:
    _, _, _, report, _, _ = estate
    scans, billing, old = (vault_arn(n) for n in ("scans-archive", "billing-archive", "old-exports"))
    assert statuses(report, "PHI-IAM-002")[scans] == "fail"
    assert statuses(report, "PHI-IAM-002")[billing] == statuses(report, "PHI-IAM-002")[old] == "pass"
    assert statuses(report, "PHI-ENC-001")[scans] == "pass"
    assert statuses(report, "PHI-ENC-002")[scans] == "fail"  # no customer key can encrypt a vault
    assert statuses(report, "PHI-INT-001")[scans] == "pass"  # locked against deletion
    assert statuses(report, "PHI-CLASS-001")[old] == "fail"
    assert statuses(report, "PHI-LOG-001")[scans] == "fail"  # no trail records its retrievals


def test_retrieving_archives_reads_a_vault(estate: Estate) -> None:
    found, _, _, _, _, _ = estate
    retriever, launcher = (found[f"arn:aws:iam::{ACCOUNT}:role/{n}"] for n in ("retriever", "launcher"))
    vaults = {vault_arn(n) for n in VAULTS}
    assert vaults <= set(retriever.attributes["can_read"])
    # The public vault is anyone's; the others are not the launcher's.
    assert vaults & set(launcher.attributes["can_read"]) == {vault_arn("scans-archive")}


def test_a_vault_whose_policy_lock_or_tags_cannot_be_read_is_undecided_not_private(
        estate: Estate, monkeypatch: pytest.MonkeyPatch) -> None:
    """moto itself does not answer these reads: each is the vault's error."""
    found, errors = collect(lambda *_: None, monkeypatch)
    scans = found[vault_arn("scans-archive")]
    assert "public_access" not in scans.attributes and "retention" not in scans.attributes
    assert glacier.store_access(scans) == "resource policy not read"
    assert scans.attributes["encryption"]["at_rest"] is True  # decided without a read
    assert {e.permission for e in errors if e.resource_id == scans.id} == {
        "glacier:GetVaultAccessPolicy", "glacier:GetVaultLock", "glacier:ListTagsForVault"}


# --- DynamoDB backups -------------------------------------------------------------------------------

def backups(found: dict[str, Resource]) -> dict[str, Resource]:
    return {r.name: r for r in found.values() if r.type == "aws.dynamodb.backup"}


def test_backups_are_tables_under_their_tables_key_and_class_even_once_the_table_is_gone(estate: Estate) -> None:
    found, _, _, report, _, _ = estate
    made = backups(found)
    notes, scratch = made["notes/notes-nightly"], made["scratch/scratch-nightly"]
    assert (notes.kind, notes.region) == ("table", REGION)
    assert notes.attributes["encryption"]["key_manager"] == "customer"
    assert str(notes.attributes["encryption"]["key"]).startswith(f"arn:aws:kms:{REGION}:{ACCOUNT}:key/")
    assert scratch.attributes["encryption"] == {"at_rest": True, "algorithm": "AES256", "key": None,
                                                "key_manager": "provider"}  # an AWS-owned key
    assert notes.attributes["public_access"] == {"blocked": True, "grants": []}
    assert notes.tags == {"data_class": "clinical"} and scratch.tags == {}  # its table is gone
    assert statuses(report, "PHI-ENC-002")[notes.id] == "pass"
    assert statuses(report, "PHI-CLASS-001")[scratch.id] == "fail"
    restorer = found[f"arn:aws:iam::{ACCOUNT}:role/table-restorer"]
    assert {notes.id, scratch.id} <= set(restorer.attributes["can_read"])


def test_a_backup_whose_description_cannot_be_read_has_undecided_encryption(
        estate: Estate, monkeypatch: pytest.MonkeyPatch) -> None:
    found, errors = collect(refusing("DescribeBackup"), monkeypatch)
    notes = backups(found)["notes/notes-nightly"]
    assert "encryption" not in notes.attributes
    assert (notes.id, "dynamodb:DescribeBackup") in {(e.resource_id, e.permission) for e in errors}


# --- FSx file systems -------------------------------------------------------------------------------

def test_file_systems_are_volumes_always_encrypted_under_the_key_they_name(estate: Estate) -> None:
    found, _, _, report, _, _ = estate
    systems = {r.raw["FileSystemType"]: r for r in found.values() if r.type == "aws.fsx.file_system"}
    windows, lustre = systems["WINDOWS"], systems["LUSTRE"]
    assert (windows.kind, windows.region) == ("volume", REGION)
    assert windows.attributes["encryption"]["key_manager"] == "customer"
    assert lustre.attributes["encryption"] == {"at_rest": True, "algorithm": "aws:kms", "key": None,
                                               "key_manager": "provider"}  # aws/fsx
    assert windows.attributes["public_access"] == {"blocked": True, "grants": []}
    assert windows.tags == {"data_class": "clinical"}
    assert statuses(report, "PHI-ENC-002")[windows.id] == "pass"
    assert statuses(report, "PHI-CLASS-001")[lustre.id] == "fail"


# --- RDS automated backups kept after their database ----------------------------------------------

def test_a_retained_automated_backup_is_a_database_nobody_classifies_any_more(estate: Estate) -> None:
    found, _, _, report, _, _ = estate
    backup = found[RETAINED_BACKUP_ARN]
    assert (backup.kind, backup.type, backup.name) == ("database", "aws.rds.automated_backup", "legacy-pms")
    assert backup.attributes["encryption"]["at_rest"] is False
    assert backup.attributes["public_access"] == {"blocked": True, "grants": []}
    assert backup.tags == {}  # its database is gone: nothing lends it a class
    assert statuses(report, "PHI-ENC-001")[backup.id] == statuses(report, "PHI-CLASS-001")[backup.id] == "fail"
    restorer = role_of(found, "point-in-time")
    assert backup.id in restorer.attributes["can_read"]


def test_a_retained_backup_whose_encryption_is_not_listed_is_undecided(
        estate: Estate, monkeypatch: pytest.MonkeyPatch) -> None:
    """moto lists no ``Encrypted``: the backup is yielded without an encryption of its own."""
    found, _ = collect(lambda *_: None, monkeypatch)
    [backup] = [r for r in found.values() if r.type == "aws.rds.automated_backup"]
    assert "encryption" not in backup.attributes


def role_of(found: dict[str, Resource], name: str) -> Resource:
    return found[f"arn:aws:iam::{ACCOUNT}:role/{name}"]
