"""The Glue Data Catalog of a Terraform plan, read with the type, kind and attributes the AWS
provider gives the live one (:mod:`phigate_providers.aws.glue`), so the gate and the audit agree:
one ``database`` store per region, encrypted as its encryption settings say, exposed by its
resource policy, classified by its databases.

The plans are written in the shape ``terraform show -json`` gives for the ``hashicorp/aws``
provider (see :mod:`tests.test_terraform_aws_backup`). The last test reads one estate twice,
live from the moto server and from a plan of the same configuration, and compares what both
give (the FSx file systems of :mod:`tests.test_terraform_aws_fsx` and the manual Redshift
snapshots of :mod:`tests.test_terraform_aws_redshift_snapshots` too)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from phigate.api import CollectionError, Resource, Unknown
from phigate.validation import kind_validator

from .conftest import CliResult
from .test_terraform_aws_backup import CLINICAL, PARTNER, REGION, block, plan_file, policy, ref, role
from .test_terraform_provider import collect, outcomes

Cli = Callable[..., CliResult]
ACCOUNT = "123456789012"
ADMIN = {"data_class": "administrative"}
KEY = block("aws_kms_key.catalog", {"description": "catalog", "enable_key_rotation": True},
            unknown={"key_id": True})
#: A key whose ARN the plan shows: it tells the plan's account.
KNOWN = block("aws_kms_key.known", {"arn": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/1f2e"}, unknown={"arn": False})
CATALOG = f"arn:aws:glue:{REGION}:{ACCOUNT}:catalog"


def settings(mode: str | None, key: Any = None, *, passwords: bool = True) -> dict[str, Any]:
    """Encryption settings: ``mode`` (None: the block left out), ``key`` a reference or literal."""
    at_rest: dict[str, Any] = {"catalog_encryption_mode": mode}
    expressions: dict[str, Any] = {"catalog_encryption_mode": {"constant_value": mode}}
    unknown: dict[str, Any] = {}
    if isinstance(key, dict):
        expressions["sse_aws_kms_key_id"] = key
        unknown = {"data_catalog_encryption_settings": [{"encryption_at_rest": [{"sse_aws_kms_key_id": True}]}]}
    elif key is not None:
        at_rest["sse_aws_kms_key_id"] = key
        expressions["sse_aws_kms_key_id"] = {"constant_value": key}
    value = {"encryption_at_rest": [at_rest] if mode else [],
             "connection_password_encryption": [{"return_connection_password_encrypted": passwords}]}
    written = {"encryption_at_rest": [expressions] if mode else [],
               "connection_password_encryption": [{"return_connection_password_encrypted": {
                   "constant_value": passwords}}]}
    return block("aws_glue_data_catalog_encryption_settings.this",
                 {"data_catalog_encryption_settings": [value]}, unknown={"catalog_id": True, **unknown},
                 expressions={"data_catalog_encryption_settings": [written]})


def database(name: str, *, parameters: dict[str, str] | None = None, tags: dict[str, str] | None = None
             ) -> dict[str, Any]:
    values: dict[str, Any] = {"name": name, "parameters": parameters, "tags": tags or {}, "tags_all": tags or {}}
    return block(f"aws_glue_catalog_database.{name}", values, unknown={"catalog_id": True})


def resource_policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return block(f"aws_glue_resource_policy.p{len(statements)}", {"policy": policy(*statements)})


def test_the_catalog_is_a_database_under_the_key_its_settings_name(tmp_path: Path) -> None:
    found, records, _ = collect(plan_file(tmp_path, KNOWN, KEY, settings("SSE-KMS", ref("aws_kms_key.catalog")),
                                          database("pms", parameters=CLINICAL), resource_policy(
                                              {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{PARTNER}:root"},
                                               "Action": "glue:GetTable", "Resource": "*"}),
                                          *role("catalog-reader", "glue:GetTable"),
                                          *role("policy-writer", "glue:PutResourcePolicy")))
    assert not [r for r in records if isinstance(r, CollectionError)]
    catalog = found["aws_glue_data_catalog_encryption_settings.this"]
    assert (catalog.id, catalog.type, catalog.kind, catalog.region) == (
        CATALOG, "aws.glue.data_catalog", "database", REGION)
    assert catalog.attributes["encryption"] == {"at_rest": True, "algorithm": "aws:kms",
                                                "key": found["aws_kms_key.catalog"].id, "key_manager": "customer"}
    assert catalog.attributes["public_access"] == {"blocked": True, "grants": []}
    assert catalog.tags == CLINICAL
    assert catalog.raw["ConnectionPasswordEncryption"]["ReturnConnectionPasswordEncrypted"] is True
    assert not list(kind_validator("database").iter_errors(dict(catalog.attributes)))
    # As live: read through its tables, or by rewriting its policy.
    reader, writer = found["aws_iam_role.catalog-reader"].attributes, found["aws_iam_role.policy-writer"].attributes
    assert reader["can_read_via"][CATALOG] == "glue:GetTable"
    assert writer["can_read_via"][CATALOG] == "glue:PutResourcePolicy (can grant itself read)"
    # The databases and the policy are the catalog's, not stores of their own.
    assert not [a for a in found if a.startswith(("aws_glue_catalog_database", "aws_glue_resource_policy"))]


def test_metadata_is_clear_when_disabled_and_under_aws_glue_when_no_key_is_named(tmp_path: Path) -> None:
    for mode, expected in (("DISABLED", {"at_rest": False, "algorithm": None, "key": None, "key_manager": None}),
                           (None, {"at_rest": False, "algorithm": None, "key": None, "key_manager": None}),
                           ("SSE-KMS-WITH-SERVICE-ROLE", {"at_rest": True, "algorithm": "aws:kms", "key": None,
                                                          "key_manager": "provider"})):
        found, _, _ = collect(plan_file(tmp_path, settings(mode), database("pms", tags=CLINICAL), resource_policy()))
        assert found["aws_glue_data_catalog_encryption_settings.this"].attributes["encryption"] == expected, mode


def test_settings_or_policy_the_plan_does_not_manage_are_unknown_never_defaults(tmp_path: Path) -> None:
    found, _, _ = collect(plan_file(tmp_path, database("pms", parameters=CLINICAL)))
    catalog = found["aws_glue_catalog_database.pms"].attributes
    assert isinstance(catalog["encryption"]["at_rest"], Unknown)
    assert "aws_glue_data_catalog_encryption_settings" in catalog["encryption"]["at_rest"].reason
    assert isinstance(catalog["public_access"]["blocked"], Unknown)


def test_the_catalogs_class_is_its_databases_combined_as_live(tmp_path: Path) -> None:
    def class_of(*databases: dict[str, Any]) -> Any:
        found, records, _ = collect(plan_file(tmp_path, settings("SSE-KMS"), resource_policy(), *databases))
        catalog = found.get("aws_glue_data_catalog_encryption_settings.this")
        errors = [r.message for r in records if isinstance(r, CollectionError)]
        return catalog.tags if catalog is not None else errors

    assert class_of(database("pms", parameters=CLINICAL), database("billing", tags=ADMIN)) == {
        "data_class": "administrative,clinical"}
    # A database without a class could hold anything: unclassified, unless one is clinical.
    assert class_of(database("billing", tags=ADMIN), database("scratch")) == {}
    assert class_of(database("pms", tags=CLINICAL), database("scratch")) == CLINICAL
    # The plan manages no database: its class cannot be told.
    errors = class_of()
    assert len(errors) == 1 and "manages none of its databases" in errors[0]
    # A table of a database outside the plan: its class is not known either.
    table = block("aws_glue_catalog_table.visits", {"name": "visits", "database_name": "shared"})
    found, records, _ = collect(plan_file(tmp_path, settings("SSE-KMS"), resource_policy(),
                                          database("billing", tags=ADMIN), table))
    assert "aws_glue_data_catalog_encryption_settings.this" not in found
    assert ["its database shared is not in the plan" in r.message for r in records
            if isinstance(r, CollectionError)] == [True]


def test_a_public_policy_and_clear_metadata_fail_the_gate(tmp_path: Path, cli: Cli) -> None:
    opened = resource_policy({"Effect": "Allow", "Principal": "*", "Action": "glue:GetTables", "Resource": "*"})
    path = plan_file(tmp_path, KNOWN, settings("DISABLED"), database("pms", parameters=CLINICAL), opened,
                     *role("writer", "glue:PutResourcePolicy"))
    found, _, _ = collect(path)
    catalog = found["aws_glue_data_catalog_encryption_settings.this"]
    assert catalog.attributes["public_access"] == {"blocked": False, "grants": ["*"]}
    # Everyone reads it, the role with no grant to read included.
    assert found["aws_iam_role.writer"].attributes["can_read_via"][CATALOG] == "glue:GetTables"
    result = cli("scan", str(path), "--only", "PHI-ENC-001", "--only", "PHI-IAM-002", "--format", "json")
    failed = {(p, a) for s, p, a in outcomes(result) if s == "fail"}
    assert failed == {("PHI-ENC-001", "aws_glue_data_catalog_encryption_settings.this"),
                      ("PHI-IAM-002", "aws_glue_data_catalog_encryption_settings.this")}


# --- the plan and the live reader agree --------------------------------------------------------------

def test_the_plan_reader_and_the_live_reader_give_the_same_catalog_file_systems_and_snapshots(
        aws: Callable[..., Any], tmp_path: Path) -> None:
    from phigate_providers.aws.provider import AwsProvider, Settings

    key = aws("kms").create_key()["KeyMetadata"]["Arn"]
    glue = aws("glue")
    glue.create_database(DatabaseInput={"Name": "pms", "Parameters": {"data_class": "clinical"}})
    glue.create_database(DatabaseInput={"Name": "billing"}, Tags={"data_class": "administrative"})
    glue.put_data_catalog_encryption_settings(DataCatalogEncryptionSettings={
        "EncryptionAtRest": {"CatalogEncryptionMode": "SSE-KMS", "SseAwsKmsKeyId": key},
        "ConnectionPasswordEncryption": {"ReturnConnectionPasswordEncrypted": True, "AwsKmsKeyId": key}})
    shared = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{PARTNER}:root"},
              "Action": ["glue:GetTable", "glue:GetTables"], "Resource": [CATALOG, f"{CATALOG[:-7]}table/*"]}
    glue.put_resource_policy(PolicyInJson=policy(shared))
    fsx = aws("fsx")
    systems = {}
    for name, tags, extra in (("scans", CLINICAL, {"KmsKeyId": key}), ("exports", ADMIN, {})):
        made = fsx.create_file_system(FileSystemType="LUSTRE", StorageCapacity=1200, SubnetIds=["subnet-0a1b2c3d"],
                                      Tags=[{"Key": k, "Value": v} for k, v in tags.items()], **extra)
        systems[name] = (made["FileSystem"]["ResourceARN"], tags, extra.get("KmsKeyId"))
    redshift = aws("redshift")
    # In clear: the emulator's snapshots do not carry their cluster's key, as AWS's do.
    redshift.create_cluster(ClusterIdentifier="warehouse", NodeType="dc2.large", MasterUsername="admin",
                            MasterUserPassword="Not-a-real-secret-4", Tags=[{"Key": "data_class", "Value": "clinical"}])
    redshift.create_cluster_snapshot(SnapshotIdentifier="kept", ClusterIdentifier="warehouse",
                                     Tags=[{"Key": "purpose", "Value": "migration"}])
    snapshot_arn = f"arn:aws:redshift:{REGION}:{ACCOUNT}:snapshot:warehouse/kept"
    live = {r.id: r for r in AwsProvider(Settings(regions=(REGION,))).collect() if isinstance(r, Resource)}

    def existing(address: str, values: dict[str, Any]) -> dict[str, Any]:
        made = block(address, values)
        made["unknown"] = {}
        return made

    plan = settings("SSE-KMS", key)
    plan["unknown"] = {}
    plan["values"]["data_catalog_encryption_settings"][0]["connection_password_encryption"][0]["aws_kms_key_id"] = key
    blocks = [plan, existing("aws_glue_resource_policy.p1", {"policy": policy(shared)}),
              existing("aws_glue_catalog_database.pms", {"name": "pms", "parameters": CLINICAL, "tags": {},
                                                        "arn": f"{CATALOG[:-7]}database/pms"}),
              existing("aws_glue_catalog_database.billing", {"name": "billing", "tags": ADMIN, "tags_all": ADMIN,
                                                            "arn": f"{CATALOG[:-7]}database/billing"})]
    for name, (arn, tags, chosen) in systems.items():
        blocks.append(existing(f"aws_fsx_lustre_file_system.{name}", {
            "arn": arn, "storage_capacity": 1200, "tags": tags, "tags_all": tags,
            **({"kms_key_id": chosen} if chosen else {})}))
    blocks += [existing("aws_redshift_cluster.warehouse", {
        "cluster_identifier": "warehouse", "encrypted": False, "publicly_accessible": False,
        "automated_snapshot_retention_period": 1, "tags": CLINICAL, "tags_all": CLINICAL,
        "arn": f"arn:aws:redshift:{REGION}:{ACCOUNT}:cluster:warehouse"}),
        existing("aws_redshift_cluster_snapshot.kept", {
            "snapshot_identifier": "kept", "cluster_identifier": "warehouse", "arn": snapshot_arn,
            "tags": {"purpose": "migration"}, "tags_all": {"purpose": "migration"}})]
    found, records, _ = collect(plan_file(tmp_path, *blocks))
    assert not [r for r in records if isinstance(r, CollectionError)]
    stores = [r for r in found.values()
              if r.type in ("aws.glue.data_catalog", "aws.fsx.file_system", "aws.redshift.snapshot")]
    assert len(stores) == 4
    for store in stores:
        seen = live[store.id]
        assert (store.type, store.kind, store.region, store.tags) == (seen.type, seen.kind, seen.region, seen.tags)
        assert store.attributes == seen.attributes, store.name
    # Whether connection passwords come back encrypted: kept alike, for raw-reading policies.
    gate = found["aws_glue_data_catalog_encryption_settings.this"].raw["ConnectionPasswordEncryption"]
    assert gate == live[CATALOG].raw["ConnectionPasswordEncryption"]


def test_a_database_in_the_state_and_new_settings_are_one_catalog_of_the_plans_account(tmp_path: Path) -> None:
    kept = database("pms", parameters=CLINICAL)
    kept["values"]["catalog_id"], kept["unknown"] = ACCOUNT, {}  # the state shows the account
    found, records, _ = collect(plan_file(tmp_path, settings("SSE-KMS"), kept, resource_policy(),
                                          resource_policy({"Effect": "Allow", "Principal": "*",
                                                           "Action": "glue:GetTables", "Resource": "*"})))
    assert not [r for r in records if isinstance(r, CollectionError)]
    catalogs = [r for r in found.values() if r.type == "aws.glue.data_catalog"]
    assert [(c.id, c.tags) for c in catalogs] == [(CATALOG, CLINICAL)]
    # Both policies of the region apply: the open one makes it public.
    assert catalogs[0].attributes["public_access"] == {"blocked": False, "grants": ["*"]}


@pytest.mark.parametrize("seed", ["seed-aws-tables-catalog-plan.json", "seed-gcp-service-account-keys-plan.json"])
def test_any_value_of_these_plans_replaced_by_another_type_is_read_or_refused(tmp_path: Path, seed: str) -> None:
    """Every value of the fuzzing seeds holding S3 Tables, the Glue catalog, FSx, Redshift
    snapshots and service account keys, replaced by each other JSON type in turn: refused with a
    location (exit 2) or read; never another exception."""

    from .test_terraform_provider import WRONG_TYPES, _nodes, read_or_refused

    original = json.loads((Path(__file__).parent / "fuzz" / "corpus" / "terraform" / seed).read_text())
    paths = [p for p in _nodes(original)[1:] if p[0] in ("planned_values", "resource_changes", "configuration")]
    for number, where in enumerate(paths):
        read_or_refused(original, where, WRONG_TYPES[number % len(WRONG_TYPES)], tmp_path / "mutated.json")
