"""BigQuery, Cloud SQL, Compute Engine and Healthcare API resources of a Terraform plan, read as
the gcp provider reports the live stores.

The plan is written here in the shape ``terraform show -json`` gives for the ``hashicorp/google``
provider 6.x (format 1.2: ``planned_values`` without what is known only after apply,
``resource_changes`` with ``after_unknown``, ``configuration`` with the expressions): for a new
dataset, ``effective_labels``, ``etag``, ``id`` and ``self_link`` are known only after apply
while ``dataset_id``, ``location`` and ``project`` are shown; a new instance's ``ssl_mode`` is
computed when the configuration leaves it unset; a reference to a key of the same plan is known
only after apply."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from phigate.api import CollectionError, Resource

from .conftest import CliResult
from .test_terraform_provider import collect as collect_all
from .test_terraform_provider import outcomes

PROJECT = "exemplum-sante"
KEY = f"projects/{PROJECT}/locations/europe-west9/keyRings/clinical/cryptoKeys/archive"
Cli = Callable[..., CliResult]


def collect(path: Path) -> tuple[dict[str, Resource], list[CollectionError], Any]:
    """Resources by address, and the collection errors (stub keys, yielded as context, left out)."""
    found, records, provider = collect_all(path)
    return found, [r for r in records if isinstance(r, CollectionError)], provider


def block(address: str, values: dict[str, Any], unknown: dict[str, Any] | None = None,
          expressions: dict[str, Any] | None = None, actions: tuple[str, ...] = ("create",)) -> dict[str, Any]:
    rtype, name = address.split(".")
    return {"address": address, "type": rtype, "name": name, "values": values, "unknown": unknown or {},
            "expressions": expressions if expressions is not None else {
                k: {"constant_value": v} for k, v in values.items() if v is not None},
            "actions": list(actions)}


def ref(address: str, attribute: str = "id") -> dict[str, Any]:
    return {"references": [f"{address}.{attribute}", address]}


def plan_file(tmp_path: Path, *blocks: dict[str, Any]) -> Path:
    resources, changes, configured = [], [], []
    for b in blocks:
        rtype, name = b["type"], b["name"]
        resources.append({"address": b["address"], "mode": "managed", "type": rtype, "name": name,
                          "provider_name": "registry.terraform.io/hashicorp/google", "schema_version": 0,
                          "values": b["values"], "sensitive_values": {}})
        changes.append({"address": b["address"], "mode": "managed", "type": rtype, "name": name,
                        "provider_name": "registry.terraform.io/hashicorp/google",
                        "change": {"actions": b["actions"], "before": None, "after": b["values"],
                                   "after_unknown": {"id": True, **b["unknown"]}, "before_sensitive": False,
                                   "after_sensitive": {}}})
        configured.append({"address": b["address"], "mode": "managed", "type": rtype, "name": name,
                           "provider_config_key": "google", "expressions": b["expressions"], "schema_version": 0})
    document = {
        "format_version": "1.2", "terraform_version": "1.11.4",
        "planned_values": {"root_module": {"resources": resources}}, "resource_changes": changes,
        "configuration": {"provider_config": {"google": {
            "name": "google", "full_name": "registry.terraform.io/hashicorp/google",
            "expressions": {"project": {"constant_value": PROJECT}, "region": {"constant_value": "europe-west9"}}}},
            "root_module": {"resources": configured}},
        "applyable": True, "complete": True, "errored": False}
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(document))
    return path


LABELS = {"effective_labels": True, "terraform_labels": True}


def dataset(name: str, dataset_id: str, *, labels: dict[str, str], location: str | None = "EU",
            access: list[dict[str, Any]] | None = None, key: dict[str, Any] | None = None) -> dict[str, Any]:
    values: dict[str, Any] = {"dataset_id": dataset_id, "location": location, "project": PROJECT, "labels": labels,
                              "delete_contents_on_destroy": False,
                              "default_encryption_configuration": [{}] if key else [], "access": access or []}
    expressions: dict[str, Any] = {"dataset_id": {"constant_value": dataset_id},
                                   "labels": {"constant_value": labels}}
    if location is not None:
        expressions["location"] = {"constant_value": location}
    unknown: dict[str, Any] = {**LABELS, "etag": True, "self_link": True}
    if access:
        expressions["access"] = [{k: {"constant_value": v} for k, v in a.items()} for a in access]
    else:
        unknown["access"] = True  # computed: BigQuery's defaults
    if key:
        expressions["default_encryption_configuration"] = [{"kms_key_name": key}]
        unknown["default_encryption_configuration"] = [{"kms_key_name": True}]
    return block(f"google_bigquery_dataset.{name}", values, unknown, expressions)


def test_bigquery_datasets_and_tables_take_keys_labels_and_public_grants(tmp_path: Path, cli: Cli) -> None:
    ring = block("google_kms_key_ring.ring", {"name": "ring", "location": "europe-west9"})
    key = block("google_kms_crypto_key.warehouse", {"name": "warehouse", "rotation_period": "7776000s"},
                {"key_ring": True, "effective_labels": True, "primary": True},
                {"name": {"constant_value": "warehouse"}, "rotation_period": {"constant_value": "7776000s"},
                 "key_ring": ref("google_kms_key_ring.ring")})
    clinical = dataset("clinical", "clinical_dw", labels={"data_class": "clinical"},
                       key=ref("google_kms_crypto_key.warehouse"))
    notes = block("google_bigquery_table.notes", {"table_id": "notes", "project": PROJECT,
                                                  "labels": {"data_class": "clinical"}, "deletion_protection": True},
                  {**LABELS, "dataset_id": True, "encryption_configuration": True, "etag": True},
                  {"table_id": {"constant_value": "notes"}, "labels": {"constant_value": {"data_class": "clinical"}},
                   "dataset_id": ref("google_bigquery_dataset.clinical", "dataset_id")})
    shared = dataset("shared", "open_data", labels={"data_class": "administrative"}, location=None,
                     access=[{"role": "READER", "special_group": "allAuthenticatedUsers"}])
    reports = dataset("reports", "reports", labels={"data_class": "administrative"})
    rows = block("google_bigquery_table.rows", {"table_id": "rows", "dataset_id": "reports", "project": PROJECT,
                                                "labels": {"data_class": "administrative"}},
                 {**LABELS, "encryption_configuration": True})
    public_rows = block("google_bigquery_table_iam_member.everyone",
                        {"role": "roles/bigquery.dataViewer", "member": "allUsers", "project": PROJECT,
                         "dataset_id": "reports"}, {"table_id": True, "etag": True},
                        {"role": {"constant_value": "roles/bigquery.dataViewer"},
                         "member": {"constant_value": "allUsers"}, "dataset_id": {"constant_value": "reports"},
                         "table_id": ref("google_bigquery_table.rows", "table_id")})
    found, errors, _ = collect(plan_file(tmp_path, ring, key, clinical, notes, shared, reports, rows, public_rows))
    warehouse: Resource = found["google_bigquery_dataset.clinical"]
    assert warehouse.id == f"//bigquery.googleapis.com/projects/{PROJECT}/datasets/clinical_dw"
    assert (warehouse.kind, warehouse.type, warehouse.region) == ("database", "gcp.bigquery.dataset", "eu")
    key_id = found["google_kms_crypto_key.warehouse"].id
    assert warehouse.attributes["encryption"] == {"at_rest": True, "algorithm": "cmek", "key": key_id,
                                                  "key_manager": "customer"}
    assert found["google_bigquery_table.notes"].attributes["encryption"]["key"] == key_id  # the dataset's
    assert found["google_bigquery_dataset.shared"].region == "us"  # the provider's default location
    assert found["google_bigquery_dataset.shared"].attributes["public_access"] == {
        "blocked": False, "grants": ["allAuthenticatedUsers"]}
    assert found["google_bigquery_dataset.reports"].attributes["public_access"] == {"blocked": True, "grants": []}
    assert found["google_bigquery_table.rows"].attributes["public_access"] == {"blocked": False,
                                                                              "grants": ["allUsers"]}
    assert not errors

    result = cli("scan", str(plan_file(tmp_path, ring, key, clinical, notes, shared, reports, rows, public_rows)),
                 "--only", "PHI-IAM-002", "--only", "PHI-ENC-002", "--format", "json")
    assert {(s, p, a) for s, p, a in outcomes(result) if s == "fail"} == {
        ("fail", "PHI-IAM-002", "google_bigquery_dataset.shared"),
        ("fail", "PHI-IAM-002", "google_bigquery_table.rows")}


def test_a_planned_table_carries_its_datasets_labels(tmp_path: Path) -> None:
    clinical = dataset("clinical", "clinical_dw", labels={"data_class": "clinical"})
    stays = block("google_bigquery_table.stays", {"table_id": "stays", "project": PROJECT, "labels": {"team": "bi"},
                                                  "deletion_protection": True},
                  {**LABELS, "dataset_id": True, "encryption_configuration": True, "etag": True},
                  {"table_id": {"constant_value": "stays"}, "labels": {"constant_value": {"team": "bi"}},
                   "dataset_id": ref("google_bigquery_dataset.clinical", "dataset_id")})
    found, errors, _ = collect(plan_file(tmp_path, clinical, stays))
    assert found["google_bigquery_table.stays"].tags == {"data_class": "clinical", "team": "bi"}
    assert not errors


def test_an_iam_resource_whose_store_cannot_be_told_leaves_public_grants_unknown(tmp_path: Path) -> None:
    reports = dataset("reports", "reports", labels={"data_class": "administrative"})
    member = block("google_bigquery_dataset_iam_member.someone",
                   {"role": "roles/bigquery.dataViewer", "member": "allUsers"}, {"dataset_id": True},
                   {"role": {"constant_value": "roles/bigquery.dataViewer"},
                    "member": {"constant_value": "allUsers"}, "dataset_id": {"references": ["local.name"]}})
    found, _, _ = collect(plan_file(tmp_path, reports, member))
    grants = found["google_bigquery_dataset.reports"].attributes["public_access"]["grants"]
    assert "cannot be told from the plan" in str(grants)


def test_cloud_sql_instances_are_databases_and_servers_with_the_providers_defaults(tmp_path: Path, cli: Cli) -> None:
    settings = {"tier": "db-custom-2-7680", "user_labels": {"data_class": "clinical"},
                "ip_configuration": [{"ipv4_enabled": True, "authorized_networks": [
                    {"name": "anywhere", "value": "0.0.0.0/0", "expiration_time": ""}]}],
                "database_flags": [{"name": "log_connections", "value": "on"}],
                "backup_configuration": [{"enabled": True, "backup_retention_settings": [
                    {"retained_backups": 30, "retention_unit": "COUNT"}]}]}
    instance = block("google_sql_database_instance.pms",
                     {"name": "pms", "database_version": "POSTGRES_16", "region": "europe-west9",
                      "deletion_protection": True, "settings": [settings]},
                     {"settings": [{"ip_configuration": [{"ssl_mode": True, "require_ssl": True}],
                                    "deletion_protection_enabled": True}], "encryption_key_name": True,
                      "connection_name": True, "self_link": True},
                     {"name": {"constant_value": "pms"}, "database_version": {"constant_value": "POSTGRES_16"},
                      "region": {"constant_value": "europe-west9"},
                      "settings": [{"tier": {"constant_value": "db-custom-2-7680"},
                                    "user_labels": {"constant_value": {"data_class": "clinical"}},
                                    "ip_configuration": [{"ipv4_enabled": {"constant_value": True}}]}]})
    path = plan_file(tmp_path, instance)
    found, errors, _ = collect(path)
    database = found["google_sql_database_instance.pms"]
    assert database.id == f"//cloudsql.googleapis.com/projects/{PROJECT}/instances/pms"
    assert database.attributes["public_access"] == {"blocked": False, "grants": ["0.0.0.0/0"]}
    assert database.attributes["encryption"]["key_manager"] == "provider"
    assert database.attributes["backup_retention_days"] == 30
    assert database.tags == {"data_class": "clinical"}
    server = found["google_sql_database_instance.pms (server)"]
    assert server.id == f"{database.id}/server"
    assert server.attributes["secure_transport_required"] is False  # ssl_mode unset: unencrypted allowed
    assert server.attributes["logging"] == {"access_logs": True, "data_events": False}
    assert not errors
    result = cli("scan", str(path), "--only", "PHI-TLS-001", "--only", "PHI-IAM-002", "--format", "json")
    assert ("fail", "PHI-TLS-001", "google_sql_database_instance.pms (server)") in outcomes(result)
    assert ("fail", "PHI-IAM-002", "google_sql_database_instance.pms") in outcomes(result)


def test_a_planned_read_replica_carries_its_primarys_labels(tmp_path: Path) -> None:
    def instance(name: str, labels: dict[str, str], master: str | None = None) -> dict[str, Any]:
        settings = {"tier": "db-custom-2-7680", "user_labels": labels, "ip_configuration": [{"ipv4_enabled": False}]}
        expressions: dict[str, Any] = {"name": {"constant_value": name}, "settings": [
            {"user_labels": {"constant_value": labels}}]}
        values: dict[str, Any] = {"name": name, "database_version": "POSTGRES_16", "region": "europe-west9",
                                  "settings": [settings]}
        if master:
            values["master_instance_name"] = None
            expressions["master_instance_name"] = ref(master, "name")
        return block(f"google_sql_database_instance.{name}", values,
                     {"settings": [{"ip_configuration": [{"ssl_mode": True}]}], "connection_name": True,
                      "self_link": True, **({"master_instance_name": True} if master else {})}, expressions)

    primary = instance("pms", {"data_class": "clinical"})
    replica = instance("pms_replica", {"team": "dba"}, master="google_sql_database_instance.pms")
    found, errors, _ = collect(plan_file(tmp_path, replica, primary))  # the replica listed first
    assert found["google_sql_database_instance.pms_replica"].tags == {"data_class": "clinical", "team": "dba"}
    assert not errors


@pytest.mark.parametrize(("encryption", "expected"), [
    ([], {"at_rest": True, "algorithm": "google-managed", "key": None, "key_manager": "provider"}),
    ([{"kms_key_self_link": f"{KEY}/cryptoKeyVersions/3"}],
     {"at_rest": True, "algorithm": "cmek", "key": KEY, "key_manager": "customer"}),
    ([{"raw_key": "c2VjcmV0LWtleS1tYXRlcmlhbC0zMi1ieXRlcyE="}],
     {"at_rest": True, "algorithm": "csek", "key": None, "key_manager": "customer"}),
])
def test_disks_and_snapshots_are_volumes(tmp_path: Path, encryption: list[dict[str, Any]],
                                         expected: dict[str, Any]) -> None:
    disk = block("google_compute_disk.data", {"name": "pms-data", "zone": "europe-west9-a", "size": 200,
                                              "labels": {"data_class": "clinical"},
                                              "disk_encryption_key": encryption}, LABELS)
    snapshot = block("google_compute_snapshot.nightly", {"name": "nightly", "storage_locations": ["eu"],
                                                         "labels": {"data_class": "clinical"},
                                                         "snapshot_encryption_key": encryption}, LABELS)
    found, errors, _ = collect(plan_file(tmp_path, disk, snapshot))
    volume = found["google_compute_disk.data"]
    assert volume.id == f"//compute.googleapis.com/projects/{PROJECT}/zones/europe-west9-a/disks/pms-data"
    assert (volume.kind, volume.region, volume.attributes["size_gb"]) == ("volume", "europe-west9", 200)
    assert volume.attributes["encryption"] == expected
    assert found["google_compute_snapshot.nightly"].attributes["encryption"] == expected
    assert found["google_compute_snapshot.nightly"].region == "eu"
    assert not errors


def test_a_snapshot_carries_the_labels_of_the_disk_it_copies(tmp_path: Path) -> None:
    disk = block("google_compute_disk.data", {"name": "pms-data", "zone": "europe-west9-a",
                                              "labels": {"data_class": "clinical"}}, LABELS)
    snapshot = block("google_compute_snapshot.nightly", {"name": "nightly", "labels": {}},
                     {**LABELS, "source_disk": True},
                     {"name": {"constant_value": "nightly"}, "source_disk": ref("google_compute_disk.data")})
    found, _, _ = collect(plan_file(tmp_path, disk, snapshot))
    assert found["google_compute_snapshot.nightly"].tags == {"data_class": "clinical"}


def test_healthcare_stores_take_their_datasets_key_and_location(tmp_path: Path, cli: Cli) -> None:
    ehr = block("google_healthcare_dataset.ehr", {"name": "ehr", "location": "europe-west4",
                                                  "encryption_spec": [{"kms_key_name": KEY}]})
    patients = block("google_healthcare_fhir_store.patients", {"name": "patients", "version": "R4",
                                                               "labels": {"data_class": "clinical"}},
                     {**LABELS, "dataset": True},
                     {"name": {"constant_value": "patients"}, "dataset": ref("google_healthcare_dataset.ehr")})
    imaging = block("google_healthcare_dicom_store.imaging", {"name": "imaging",
                                                              "labels": {"data_class": "clinical"}},
                    {**LABELS, "dataset": True},
                    {"name": {"constant_value": "imaging"}, "dataset": ref("google_healthcare_dataset.ehr")})
    public = block("google_healthcare_dicom_store_iam_member.viewers",
                   {"role": "roles/healthcare.dicomViewer", "member": "allAuthenticatedUsers"},
                   {"dicom_store_id": True, "etag": True},
                   {"role": {"constant_value": "roles/healthcare.dicomViewer"},
                    "member": {"constant_value": "allAuthenticatedUsers"},
                    "dicom_store_id": ref("google_healthcare_dicom_store.imaging")})
    path = plan_file(tmp_path, ehr, patients, imaging, public)
    found, errors, _ = collect(path)
    fhir = found["google_healthcare_fhir_store.patients"]
    assert (fhir.kind, fhir.type, fhir.region) == ("database", "gcp.healthcare.fhir_store", "europe-west4")
    assert fhir.attributes["encryption"]["key"] == KEY
    assert fhir.attributes["public_access"] == {"blocked": True, "grants": []}
    # Only the principal whose Healthcare API role the built-in table does not describe.
    assert [(e.kinds, e.resource_id) for e in errors] == [(("principal",), "allAuthenticatedUsers")]
    result = cli("scan", str(path), "--only", "PHI-IAM-002", "--format", "json")
    assert {a for s, p, a in outcomes(result) if s == "fail"} == {"google_healthcare_dicom_store.imaging"}


def test_labels_known_only_after_apply_are_an_error_not_a_guessed_class(tmp_path: Path) -> None:
    disk = block("google_compute_disk.data", {"name": "pms-data", "zone": "europe-west9-a"},
                 {"effective_labels": True, "labels": True},
                 {"name": {"constant_value": "pms-data"}, "labels": {"references": ["var.labels"]}})
    found, errors, _ = collect(plan_file(tmp_path, disk))
    assert "google_compute_disk.data" not in found
    assert [e.resource_id for e in errors] == [
        f"//compute.googleapis.com/projects/{PROJECT}/zones/europe-west9-a/disks/pms-data"]


def test_grants_on_bigquery_and_healthcare_stores_feed_the_plans_access_graph(tmp_path: Path, cli: Cli) -> None:
    clinical = dataset("clinical", "clinical_dw", labels={"data_class": "clinical"}, access=[
        {"role": "OWNER", "special_group": "projectOwners"},
        {"view": [{"project_id": PROJECT, "dataset_id": "reports", "table_id": "v_stays"}]}])
    notes = block("google_bigquery_table.notes", {"table_id": "notes", "dataset_id": "clinical_dw",
                                                  "project": PROJECT, "labels": {"data_class": "clinical"}},
                  {**LABELS, "encryption_configuration": True})
    reports = dataset("reports", "reports", labels={"data_class": "administrative"})
    stays = block("google_bigquery_table.v_stays", {"table_id": "v_stays", "dataset_id": "reports", "project": PROJECT,
                                                    "view": [{"query": "SELECT ward FROM clinical_dw.notes",
                                                              "use_legacy_sql": False}]}, LABELS)
    analysts = block("google_bigquery_dataset_iam_member.analysts",
                     {"role": "roles/bigquery.dataViewer", "member": "group:analysts@exemplum.fr",
                      "dataset_id": "reports"}, {"etag": True})
    ehr = block("google_healthcare_dataset.ehr", {"name": "ehr", "location": "europe-west4"})
    patients = block("google_healthcare_fhir_store.patients", {"name": "patients",
                                                               "labels": {"data_class": "clinical"}},
                     {**LABELS, "dataset": True},
                     {"name": {"constant_value": "patients"}, "dataset": ref("google_healthcare_dataset.ehr")})
    readers = block("google_healthcare_dataset_iam_member.clerks",
                    {"role": "roles/healthcare.fhirResourceReader", "member": "user:clerk@exemplum.fr"},
                    {"dataset_id": True, "etag": True},
                    {"role": {"constant_value": "roles/healthcare.fhirResourceReader"},
                     "member": {"constant_value": "user:clerk@exemplum.fr"},
                     "dataset_id": ref("google_healthcare_dataset.ehr")})
    path = plan_file(tmp_path, clinical, notes, reports, stays, analysts, ehr, patients, readers)
    found, _, _ = collect(path)
    group = found["analysts@exemplum.fr"].attributes  # a principal's name: the member without its kind
    clinical_id = f"//bigquery.googleapis.com/projects/{PROJECT}/datasets/clinical_dw"
    assert group["can_read"] == sorted([clinical_id, f"{clinical_id}/tables/notes",
                                        f"//bigquery.googleapis.com/projects/{PROJECT}/datasets/reports"])
    assert group["can_read_via"][f"{clinical_id}/tables/notes"] == (
        f"through authorized view {PROJECT}.reports.v_stays (roles/bigquery.dataViewer on the dataset)")
    # A Healthcare API role is not in the built-in table: its reach is undecided, never assumed nil.
    clerk = found["clerk@exemplum.fr"].attributes
    assert ("role roles/healthcare.fhirResourceReader (not read: its permissions are not described)"
            in clerk["access_unseen"])
    result = cli("scan", str(path), "--only", "PHI-SEG-002", "--format", "json")
    assert ("fail", "PHI-SEG-002", "analysts@exemplum.fr") in outcomes(result)
    assert ("error", "PHI-SEG-002", "clerk@exemplum.fr") in outcomes(result)


def bucket(name: str, *, labels: dict[str, str], uniform: bool, prevention: str = "inherited") -> dict[str, Any]:
    return block(f"google_storage_bucket.{name}", {
        "name": f"exemplum-{name}", "location": "EUROPE-WEST9", "project": PROJECT, "labels": labels,
        "uniform_bucket_level_access": uniform, "public_access_prevention": prevention,
        "force_destroy": False}, {**LABELS, "self_link": True, "url": True})


def reader(name: str, bucket_name: str, member: str) -> dict[str, Any]:
    return block(f"google_storage_bucket_iam_member.{name}", {"role": "roles/storage.objectViewer",
                                                             "member": member}, {"bucket": True, "etag": True},
                 {"role": {"constant_value": "roles/storage.objectViewer"}, "member": {"constant_value": member},
                  "bucket": ref(f"google_storage_bucket.{bucket_name}", "name")})


def test_a_planned_bucket_without_uniform_access_leaves_segmentation_undecided(tmp_path: Path, cli: Cli) -> None:
    # As on the live estate: object ACLs may grant anyone read, and nothing shows who.
    path = plan_file(tmp_path, bucket("notes", labels={"data_class": "clinical"}, uniform=False, prevention="enforced"),
                     bucket("billing", labels={"data_class": "administrative"}, uniform=True),
                     bucket("scratch", labels={}, uniform=False),
                     reader("clinicians", "notes", "user:clinician@exemplum.fr"),
                     reader("billing", "billing", "user:billing@exemplum.fr"),
                     reader("public", "billing", "allUsers"))
    result = cli("scan", str(path), "--only", "PHI-SEG-002", "--show-passed", "--format", "json")
    found = outcomes(result)
    assert ("error", "PHI-SEG-002", "billing@exemplum.fr") in found  # may read clinical notes unseen
    assert ("pass", "PHI-SEG-002", "clinician@exemplum.fr") in found  # reads them already
    assert ("pass", "PHI-SEG-002", "allUsers") in found  # public access prevention is enforced on notes
    [undecided] = [f for f in result.json()["findings"] if f["resource"]["name"] == "billing@exemplum.fr"]
    assert "turn on uniform bucket-level access" in undecided["message"]
    assert result.code == 3
    # Once the bucket is uniform, IAM decides alone: the same principal passes.
    path = plan_file(tmp_path, bucket("notes", labels={"data_class": "clinical"}, uniform=True),
                     bucket("billing", labels={"data_class": "administrative"}, uniform=True),
                     reader("clinicians", "notes", "user:clinician@exemplum.fr"),
                     reader("billing", "billing", "user:billing@exemplum.fr"))
    result = cli("scan", str(path), "--only", "PHI-SEG-002", "--show-passed", "--format", "json")
    assert ("pass", "PHI-SEG-002", "billing@exemplum.fr") in outcomes(result)
    assert result.code == 0
