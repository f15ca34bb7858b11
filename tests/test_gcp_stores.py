"""The gcp provider's stores beyond Cloud Storage: BigQuery, Cloud SQL, Compute Engine disks and
snapshots, Healthcare API stores. No emulator serves them: their recorded answers
(:mod:`tests.gcp_stores`, shapes of the REST references) are replayed at their real addresses
through ``responses``, so every request goes through the provider's own session, retries and
failure reports. Cloud Storage answers an empty listing: these projects hold no bucket."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import responses

from .conftest import CliResult
from .gcp_cloud import Cloud, policy
from .gcp_stores import Stores, disabled
from .test_gcp_provider import (
    FAST_RETRIES,
    PROJECT,
    RECORDED,
    RequestLog,
    answer_kms,
    clear_google_env,
    collect,
    counts,
    failing,
    finding,
    kms_key,
    scan,
)

KEY = f"projects/{PROJECT}/locations/europe-west9/keyRings/clinical/cryptoKeys/warehouse"
OTHER_KEY = f"projects/{PROJECT}/locations/europe-west9/keyRings/admin/cryptoKeys/billing"
CLINICAL = {"data_class": "clinical"}
ADMIN = {"data_class": "administrative"}


class Estate:
    """One project's recorded stores, with Cloud KMS answering the keys in ``keys``."""

    def __init__(self) -> None:
        self.cloud = Cloud()
        self.stores: Stores = self.cloud.stores
        self.keys: dict[str, dict[str, Any]] = {}

    def key(self, name: str) -> str:
        self.keys[name] = kms_key(name)
        return name


@pytest.fixture
def estate(monkeypatch: pytest.MonkeyPatch) -> Iterator[Estate]:
    clear_google_env(monkeypatch)
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", RECORDED)
    state = Estate()
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock_:
        mock_.add(responses.GET, re.compile(re.escape(RECORDED) + r"/storage/v1/b\?"), json={"kind": "storage#buckets"})
        answer_kms(mock_, state.keys)
        state.cloud.register(mock_)
        yield state


def errors(report: dict[str, Any]) -> list[str]:
    return [e["message"] for e in report["collection_errors"]]


def by_id(snapshot: dict[str, Any], resource_id: str) -> dict[str, Any]:
    return dict(snapshot["by_id"][resource_id])


# --- BigQuery ------------------------------------------------------------------------------

def test_bigquery_datasets_and_tables_carry_their_keys_location_and_labels(
        estate: Estate, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    stores = estate.stores
    dataset = stores.dataset(PROJECT, "clinical_dw", key=estate.key(KEY), labels=CLINICAL)
    notes = stores.table(PROJECT, "clinical_dw", "notes", key=KEY, labels=CLINICAL)
    legacy = stores.table(PROJECT, "clinical_dw", "legacy_import", labels=CLINICAL)  # made before the key
    view = stores.table(PROJECT, "clinical_dw", "v_notes", view="SELECT * FROM clinical_dw.notes")
    snapshot = collect(cli, tmp_path, "--project", PROJECT)  # validated against the kinds' schemas
    assert by_id(snapshot, dataset)["kind"] == "database"
    assert by_id(snapshot, dataset)["region"] == "europe-west9"
    assert by_id(snapshot, dataset)["attributes"]["encryption"] == {
        "at_rest": True, "algorithm": "cmek", "key": KEY, "key_manager": "customer"}
    assert by_id(snapshot, dataset)["attributes"]["public_access"] == {"blocked": True, "grants": []}
    assert by_id(snapshot, notes)["kind"] == "table"
    assert by_id(snapshot, notes)["attributes"]["encryption"]["key"] == KEY
    assert by_id(snapshot, legacy)["attributes"]["encryption"] == {
        "at_rest": True, "algorithm": "google-managed", "key": None, "key_manager": "provider"}
    assert view not in snapshot["by_id"]  # a view holds no data
    assert by_id(snapshot, KEY)["kind"] == "key"

    code, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-ENC-002", "--only", "PHI-CLASS-001",
                        "--only", "PHI-RES-001")
    assert failing(report) == {"PHI-ENC-002": [legacy]}
    assert code == 1 and errors(report) == []


def test_a_table_carries_its_datasets_labels_and_a_snapshot_its_base_tables(
        estate: Estate, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    # Labels are set on the dataset (https://cloud.google.com/bigquery/docs/labels-intro), not
    # always on each table; a table snapshot (snapshotDefinition.baseTableReference,
    # https://cloud.google.com/bigquery/docs/reference/rest/v2/tables) holds its base's data.
    stores = estate.stores
    stores.dataset(PROJECT, "clinical_dw", key=estate.key(KEY), labels=CLINICAL)
    legacy = stores.table(PROJECT, "clinical_dw", "legacy_import")  # no labels of its own, no key
    stores.dataset(PROJECT, "scratch", labels={"team": "bi"})
    kept = stores.table(PROJECT, "scratch", "legacy_copy", snapshot_of=(PROJECT, "clinical_dw", "legacy_import"),
                        labels={"team": "bi"})
    snapshot = collect(cli, tmp_path, "--project", PROJECT)
    assert by_id(snapshot, legacy)["tags"] == CLINICAL
    assert by_id(snapshot, kept)["tags"] == {**CLINICAL, "team": "bi"}
    code, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-ENC-002")
    assert failing(report) == {"PHI-ENC-002": sorted([legacy, kept])}
    assert code == 1 and errors(report) == []


def test_a_dataset_open_to_everyone_makes_it_and_its_tables_public(
        estate: Estate, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    stores = estate.stores
    shared = stores.dataset(PROJECT, "open_data", labels=CLINICAL, access=[
        {"role": "OWNER", "specialGroup": "projectOwners"},
        {"role": "READER", "specialGroup": "allAuthenticatedUsers"}])
    rows = stores.table(PROJECT, "open_data", "rows", labels=CLINICAL)
    private = stores.dataset(PROJECT, "private", labels=ADMIN)
    exposed = stores.table(PROJECT, "private", "exposed", labels=ADMIN,
                           policy=policy({"role": "roles/bigquery.dataViewer", "members": ["allUsers"]}))
    kept = stores.table(PROJECT, "private", "kept", labels=ADMIN)
    code, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-IAM-002")
    assert failing(report) == {"PHI-IAM-002": sorted([shared, rows, exposed])}
    assert private not in failing(report)["PHI-IAM-002"] and kept not in failing(report)["PHI-IAM-002"]
    assert code == 1 and errors(report) == []


def test_an_authorized_view_lets_readers_of_its_dataset_read_the_source_tables(
        estate: Estate, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    stores = estate.stores
    source = stores.dataset(PROJECT, "clinical_dw", labels=CLINICAL, access=[
        {"role": "OWNER", "specialGroup": "projectOwners"},
        {"view": {"projectId": PROJECT, "datasetId": "reporting", "tableId": "v_stays"}}])
    notes = stores.table(PROJECT, "clinical_dw", "notes", labels=CLINICAL)
    reporting = stores.dataset(PROJECT, "reporting", labels=ADMIN, access=[
        {"role": "READER", "userByEmail": "analyst@mlm-sante.fr"}])
    stores.table(PROJECT, "reporting", "v_stays", view="SELECT ward, COUNT(*) FROM clinical_dw.notes GROUP BY ward")
    invoices = stores.table(PROJECT, "reporting", "invoices", labels=ADMIN)
    snapshot = collect(cli, tmp_path, "--project", PROJECT)
    analyst = by_id(snapshot, "user:analyst@mlm-sante.fr")["attributes"]
    assert analyst["can_read"] == sorted([source, notes, reporting, invoices])
    how = "through authorized view mlm-sante-prod.reporting.v_stays (roles/bigquery.dataViewer on the dataset)"
    assert analyst["can_read_via"][notes] == how
    assert analyst["can_read_via"][source] == how
    assert analyst["can_read_via_wildcard"] == []

    code, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-SEG-002")
    assert failing(report) == {"PHI-SEG-002": ["user:analyst@mlm-sante.fr"]}
    assert code == 1


def test_a_dataset_authorizing_a_view_of_a_public_dataset_is_public(
        estate: Estate, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    # https://cloud.google.com/bigquery/docs/authorized-views: whoever may query the view reads
    # the authorizing dataset, whose own entries grant nobody.
    stores = estate.stores
    source = stores.dataset(PROJECT, "clinical_dw", labels=CLINICAL, access=[
        {"role": "OWNER", "specialGroup": "projectOwners"},
        {"view": {"projectId": PROJECT, "datasetId": "open_reporting", "tableId": "v_stays"}}])
    notes = stores.table(PROJECT, "clinical_dw", "notes", labels=CLINICAL)
    reporting = stores.dataset(PROJECT, "open_reporting", labels=ADMIN, access=[
        {"role": "OWNER", "specialGroup": "projectOwners"},
        {"role": "READER", "specialGroup": "allAuthenticatedUsers"}])
    stores.table(PROJECT, "open_reporting", "v_stays", view="SELECT ward FROM clinical_dw.notes")
    # A view whose own policy opens it works as well, in a dataset nobody else reads.
    routed = stores.dataset(PROJECT, "claims", labels=ADMIN, access=[
        {"view": {"projectId": PROJECT, "datasetId": "exports", "tableId": "v_claims"}}])
    stores.dataset(PROJECT, "exports", labels=ADMIN, access=[])
    stores.table(PROJECT, "exports", "v_claims", view="SELECT * FROM claims.rows",
                 policy=policy({"role": "roles/bigquery.dataViewer", "members": ["allUsers"]}))
    kept = stores.dataset(PROJECT, "kept", labels=ADMIN, access=[
        {"view": {"projectId": PROJECT, "datasetId": "exports", "tableId": "v_gone"}}])  # no such view
    snapshot = collect(cli, tmp_path, "--project", PROJECT)
    assert by_id(snapshot, source)["attributes"]["public_access"] == {
        "blocked": False, "grants": ["allAuthenticatedUsers"]}
    assert by_id(snapshot, notes)["attributes"]["public_access"]["grants"] == ["allAuthenticatedUsers"]
    assert by_id(snapshot, routed)["attributes"]["public_access"]["grants"] == ["allUsers"]
    assert by_id(snapshot, kept)["attributes"]["public_access"] == {"blocked": True, "grants": []}
    code, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-IAM-002")
    assert failing(report) == {"PHI-IAM-002": sorted([source, notes, routed, reporting])}
    assert code == 1 and errors(report) == []


def test_a_view_authorized_from_a_project_not_read_leaves_segmentation_undecided(
        estate: Estate, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    # An access entry {"view": {projectId, datasetId, tableId}} may name a view of another
    # project (https://cloud.google.com/bigquery/docs/reference/rest/v2/datasets#Dataset.FIELDS.access):
    # whoever reads that view there reads the source, and nobody here has read who that is.
    stores = estate.stores
    source = stores.dataset(PROJECT, "clinical_dw", labels=CLINICAL, access=[
        {"role": "READER", "userByEmail": "clinician@mlm-sante.fr"},
        {"view": {"projectId": "mlm-sante-reporting", "datasetId": "bi", "tableId": "v_stays"}}])
    stores.table(PROJECT, "clinical_dw", "notes", labels=CLINICAL)
    stores.dataset(PROJECT, "billing", labels=ADMIN, access=[
        {"role": "READER", "userByEmail": "billing@mlm-sante.fr"}])
    stores.table(PROJECT, "billing", "invoices", labels=ADMIN)
    snapshot = collect(cli, tmp_path, "--project", PROJECT)
    billing = by_id(snapshot, "user:billing@mlm-sante.fr")["attributes"]
    assert [gap for gap in billing["access_unseen"] if "authorized view" in gap] == [
        f"{source}: read through authorized view mlm-sante-reporting.bi.v_stays of project mlm-sante-reporting, "
        "which was not read: who reads through it is not known (add mlm-sante-reporting to "
        "providers.gcp.projects)"]
    # The clinician already reads the source: the view changes nothing for them.
    clinician = by_id(snapshot, "user:clinician@mlm-sante.fr")["attributes"]
    assert not [gap for gap in clinician["access_unseen"] if "authorized view" in gap]
    code, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-SEG-002")
    assert [f["status"] for f in finding(report, "PHI-SEG-002", "user:billing@mlm-sante.fr")] == ["error"]
    assert code == 3
    # Whoever reads the view there may be everyone: the source's public access is not known.
    assert "public_access" not in by_id(snapshot, source)["attributes"]
    code, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-IAM-002")
    assert [f["status"] for f in finding(report, "PHI-IAM-002", source)] == ["error"]
    assert errors(report) == [
        "BigQuery dataset mlm-sante-prod.clinical_dw: public grants unknown: read through authorized views, "
        "datasets or routines not all seen (of another project, or unread)"]
    assert code == 3


def test_a_role_on_the_project_reads_every_table_through_a_wildcard(
        estate: Estate, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    estate.cloud.policies[f"projects/{PROJECT}"] = policy(
        {"role": "roles/bigquery.dataViewer", "members": ["group:bi@mlm-sante.fr"]})
    dataset = estate.stores.dataset(PROJECT, "clinical_dw", labels=CLINICAL, access=[])
    notes = estate.stores.table(PROJECT, "clinical_dw", "notes", labels=CLINICAL)
    snapshot = collect(cli, tmp_path, "--project", PROJECT, "--gcp-groups", str(directory(tmp_path)))
    bi = by_id(snapshot, "group:bi@mlm-sante.fr")["attributes"]
    assert bi["can_read"] == sorted([dataset, notes]) == bi["can_read_via_wildcard"]
    assert bi["can_read_via"][notes] == "roles/bigquery.dataViewer on project mlm-sante-prod"
    _, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-IAM-004",
                        "--gcp-groups", str(directory(tmp_path)))
    assert failing(report) == {"PHI-IAM-004": ["group:bi@mlm-sante.fr"]}


def directory(tmp_path: Path) -> Path:
    path = tmp_path / "groups.json"
    path.write_text('{"group:bi@mlm-sante.fr": []}')
    return path


def test_an_access_entry_of_unknown_shape_is_an_error_never_a_pass(
        estate: Estate, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    dataset = estate.stores.dataset(PROJECT, "odd", labels=ADMIN, access=[
        {"role": "READER", "someFutureMember": "x"}])
    table = estate.stores.table(PROJECT, "odd", "rows", labels=ADMIN)
    code, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-IAM-002")
    assert {(f["status"], f["resource"]["id"]) for f in report["findings"]} == {("error", dataset),
                                                                                ("error", table)}
    assert any("1 access entry of a shape phigate does not know" in m for m in errors(report))
    assert code == 3


def test_a_disabled_api_is_an_error_that_says_what_to_do(
        estate: Estate, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    estate.stores.replies[f"/bigquery/v2/projects/{PROJECT}/datasets"] = disabled()
    code, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-ENC-001")
    [message] = errors(report)
    assert "cannot list its BigQuery resources" in message and "accessNotConfigured" in message
    assert "the API is not enabled in the project" in message and "providers.gcp.services" in message
    assert "caller@example.org" not in message  # the server's prose is not copied
    assert "needs" not in message and report["collection_errors"][0]["permission"] is None
    assert code == 3 and counts(report, "PHI-ENC-001")["error"] >= 1


def test_a_denied_table_policy_leaves_that_table_without_public_grants(
        estate: Estate, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    estate.stores.dataset(PROJECT, "dw", labels=ADMIN)
    denied = estate.stores.table(PROJECT, "dw", "denied", labels=ADMIN, policy=403)
    fine = estate.stores.table(PROJECT, "dw", "fine", labels=ADMIN)
    snapshot = collect(cli, tmp_path, "--project", PROJECT)
    assert "public_access" not in by_id(snapshot, denied)["attributes"]
    assert by_id(snapshot, fine)["attributes"]["public_access"] == {"blocked": True, "grants": []}
    code, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-IAM-002")
    assert [f["status"] for f in finding(report, "PHI-IAM-002", denied)] == ["error"]
    assert finding(report, "PHI-IAM-002", fine) == []
    assert any("needs bigquery.tables.getIamPolicy" in m for m in errors(report))
    assert code == 3


def test_tables_listed_over_several_pages_are_all_read(
        estate: Estate, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    estate.stores.dataset(PROJECT, "dw", labels=ADMIN)
    ids = [estate.stores.table(PROJECT, "dw", f"t{i}", labels=ADMIN) for i in range(3)]
    path = f"/bigquery/v2/projects/{PROJECT}/datasets/dw/tables"
    listing = estate.stores.replies[path]
    estate.stores.replies[path] = [{**listing, "tables": [t]} for t in listing["tables"]]
    snapshot = collect(cli, tmp_path, "--project", PROJECT)
    assert all(i in snapshot["by_id"] for i in ids)


# --- Cloud SQL -----------------------------------------------------------------------------

def test_cloud_sql_instances_are_judged_on_exposure_tls_logging_and_keys(
        estate: Estate, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    stores = estate.stores
    open_ = stores.sql(PROJECT, "pms-legacy", public_ip=True, networks=("0.0.0.0/0", "203.0.113.0/24"),
                       ssl_mode="ALLOW_UNENCRYPTED_AND_ENCRYPTED", labels=CLINICAL)
    closed = stores.sql(PROJECT, "pms", key=estate.key(KEY), public_ip=True, networks=("203.0.113.0/24",),
                        labels=CLINICAL, flags={"log_connections": "on", "cloudsql.enable_pgaudit": "on",
                                                "pgaudit.log": "read,write"})
    snapshot = collect(cli, tmp_path, "--project", PROJECT)
    assert by_id(snapshot, open_)["attributes"]["public_access"] == {"blocked": False, "grants": ["0.0.0.0/0"]}
    assert by_id(snapshot, closed)["attributes"]["public_access"] == {"blocked": True, "grants": []}
    assert by_id(snapshot, closed)["attributes"]["backup_retention_days"] == 14
    server = by_id(snapshot, f"{closed}/server")
    assert server["kind"] == "db_server"
    assert server["attributes"]["logging"] == {"access_logs": True, "data_events": True}
    assert server["attributes"]["secure_transport_required"] is True
    assert by_id(snapshot, f"{open_}/server")["attributes"]["secure_transport_required"] is False

    code, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-IAM-002", "--only", "PHI-TLS-001",
                        "--only", "PHI-LOG-001", "--only", "PHI-ENC-002", "--only", "PHI-RES-001")
    assert failing(report) == {"PHI-IAM-002": [open_], "PHI-TLS-001": [f"{open_}/server"],
                               "PHI-LOG-001": [f"{open_}/server"], "PHI-ENC-002": [open_]}
    assert code == 1 and errors(report) == []


def test_authorized_networks_that_cover_every_address_between_them_are_open(
        estate: Estate, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    # settings.ipConfiguration.authorizedNetworks[].value: "in CIDR notation, also known as
    # 'slash' notation" (https://cloud.google.com/sql/docs/postgres/admin-api/rest/v1/instances):
    # two halves admit every address as 0.0.0.0/0 does.
    halves = estate.stores.sql(PROJECT, "halves", public_ip=True, networks=("0.0.0.0/1", "128.0.0.0/1"),
                               labels=CLINICAL)
    v6 = estate.stores.sql(PROJECT, "v6", public_ip=True, networks=("2001:db8::/32", "::/0"), labels=CLINICAL)
    office = estate.stores.sql(PROJECT, "office", public_ip=True, networks=("0.0.0.0/1", "203.0.113.0/24"),
                               labels=CLINICAL)
    snapshot = collect(cli, tmp_path, "--project", PROJECT)
    assert by_id(snapshot, halves)["attributes"]["public_access"] == {
        "blocked": False, "grants": ["0.0.0.0/1", "128.0.0.0/1"]}
    assert by_id(snapshot, v6)["attributes"]["public_access"]["grants"] == ["::/0"]
    assert by_id(snapshot, office)["attributes"]["public_access"] == {"blocked": True, "grants": []}
    code, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-IAM-002")
    assert failing(report) == {"PHI-IAM-002": sorted([halves, v6])} and code == 1


def test_require_ssl_decides_tls_on_instances_without_ssl_mode(
        estate: Estate, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    older = estate.stores.sql(PROJECT, "older", ssl_mode=None)
    estate.stores.replies[f"/v1/projects/{PROJECT}/instances"]["items"][0]["settings"]["ipConfiguration"][
        "requireSsl"] = True
    snapshot = collect(cli, tmp_path, "--project", PROJECT)
    assert by_id(snapshot, f"{older}/server")["attributes"]["secure_transport_required"] is True


def test_a_read_replica_carries_the_labels_of_its_primary(
        estate: Estate, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    # https://cloud.google.com/sql/docs/postgres/admin-api/rest/v1/instances: a replica's
    # masterInstanceName names its primary; the replica holds the primary's data.
    primary = estate.stores.sql(PROJECT, "pms", key=estate.key(KEY), labels=CLINICAL)
    replica = estate.stores.sql(PROJECT, "pms-replica-eu", replica_of="pms")
    snapshot = collect(cli, tmp_path, "--project", PROJECT)
    assert by_id(snapshot, replica)["tags"] == CLINICAL
    assert by_id(snapshot, f"{replica}/server")["tags"] == CLINICAL
    code, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-ENC-002")
    assert failing(report) == {"PHI-ENC-002": [replica]} and primary not in failing(report)["PHI-ENC-002"]
    assert code == 1


def test_a_listing_that_says_part_of_it_could_not_be_read_is_an_error(
        estate: Estate, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    # BigQuery's datasets.list names skipped locations in "unreachable"
    # (https://cloud.google.com/bigquery/docs/reference/rest/v2/datasets/list); Cloud SQL's
    # instances.list warns REGION_UNREACHABLE
    # (https://cloud.google.com/sql/docs/postgres/admin-api/rest/v1/instances/list, ApiWarning).
    estate.stores.dataset(PROJECT, "dw", labels=ADMIN)
    estate.stores.replies[f"/bigquery/v2/projects/{PROJECT}/datasets"]["unreachable"] = ["europe-west5"]
    estate.stores.sql(PROJECT, "pms", key=estate.key(KEY), labels=CLINICAL)
    estate.stores.replies[f"/v1/projects/{PROJECT}/instances"]["warnings"] = [
        {"code": "REGION_UNREACHABLE", "message": "europe-west1 is unreachable", "region": "europe-west1"}]
    code, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-ENC-002")
    assert sorted(errors(report)) == [
        f"project {PROJECT}: cannot list its BigQuery resources: locations or zones the listing could not "
        "reach; who can read them is unknown",
        f"project {PROJECT}: cannot list its Cloud SQL resources: a listing that warns part of it could not be "
        "read (REGION_UNREACHABLE); who can read them is unknown"]
    assert code == 3


# --- Compute Engine ------------------------------------------------------------------------

def test_disks_and_snapshots_are_volumes_with_their_keys_and_regions(
        estate: Estate, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    disk = estate.stores.disk(PROJECT, "pms-data", key=estate.key(KEY), labels=CLINICAL)
    bare = estate.stores.disk(PROJECT, "scratch", zone="europe-west1-b", labels=CLINICAL)
    multi = estate.stores.snapshot(PROJECT, "pms-data-nightly", locations=("eu", "us"), labels=CLINICAL)
    snapshot = collect(cli, tmp_path, "--project", PROJECT)
    assert by_id(snapshot, disk)["kind"] == "volume"
    assert by_id(snapshot, disk)["region"] == "europe-west9"
    assert by_id(snapshot, disk)["attributes"]["encryption"]["key"] == KEY  # the key, not its version
    assert by_id(snapshot, disk)["attributes"]["size_gb"] == 200
    assert by_id(snapshot, disk)["attributes"]["attached_to"] == [
        f"//compute.googleapis.com/projects/{PROJECT}/zones/europe-west9-a/instances/pms-app-1"]
    assert by_id(snapshot, bare)["region"] == "europe-west1"
    assert by_id(snapshot, multi)["region"] is None  # two locations: residency is undecided
    code, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-ENC-002", "--only", "PHI-RES-001")
    assert failing(report) == {"PHI-ENC-002": sorted([bare, multi])}
    assert [f["status"] for f in finding(report, "PHI-RES-001", multi)] == ["error"]
    assert code == 3


def test_a_snapshot_carries_the_labels_of_the_disk_it_copies(
        estate: Estate, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    estate.stores.disk(PROJECT, "pms-data", labels={**CLINICAL, "team": "pms"})
    bare = estate.stores.snapshot(PROJECT, "pms-data-nightly")
    relabelled = estate.stores.snapshot(PROJECT, "pms-data-export", labels=ADMIN)
    snapshot = collect(cli, tmp_path, "--project", PROJECT)
    assert by_id(snapshot, bare)["tags"] == {"data_class": "clinical", "team": "pms"}
    assert by_id(snapshot, relabelled)["tags"] == {"data_class": "clinical,administrative", "team": "pms"}
    _, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-ENC-002")
    assert failing(report)["PHI-ENC-002"] == sorted([bare, relabelled,
                                                     f"//compute.googleapis.com/projects/{PROJECT}/zones/"
                                                     "europe-west9-a/disks/pms-data"])


def test_a_snapshot_shared_with_everyone_is_read_by_the_public_principal(
        estate: Estate, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    shared = estate.stores.snapshot(PROJECT, "export", labels=CLINICAL, policy=policy(
        {"role": "roles/compute.imageUser", "members": ["allAuthenticatedUsers"]}))
    estate.cloud.roles["roles/compute.imageUser"] = ["compute.images.get", "compute.images.list",
                                                     "compute.images.useReadOnly", "compute.snapshots.get",
                                                     "compute.snapshots.list", "compute.snapshots.useReadOnly"]
    private = estate.stores.disk(PROJECT, "pms-data", labels=CLINICAL)
    snapshot = collect(cli, tmp_path, "--project", PROJECT)
    assert by_id(snapshot, "allAuthenticatedUsers")["attributes"]["can_read"] == [shared]
    # The same grant makes it public: PHI-IAM-002 judges disks and snapshots like other stores.
    assert by_id(snapshot, shared)["attributes"]["public_access"] == {
        "blocked": False, "grants": ["allAuthenticatedUsers"]}
    code, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-IAM-002")
    assert (code, errors(report)) == (1, []) and failing(report) == {"PHI-IAM-002": [shared]}
    assert [f["status"] for f in finding(report, "PHI-IAM-002", private)] in ([], ["pass"])


def test_an_image_of_a_clinical_disk_shared_with_everyone_is_a_public_copy(
        estate: Estate, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    # An image holds its source's data (https://cloud.google.com/compute/docs/reference/rest/v1/images:
    # sourceDisk, sourceSnapshot); roles/compute.imageUser on allAuthenticatedUsers lets anyone
    # with a Google account make a disk of it.
    estate.cloud.roles["roles/compute.imageUser"] = ["compute.images.get", "compute.images.list",
                                                     "compute.images.useReadOnly"]
    disk = estate.stores.disk(PROJECT, "pms-data", labels=CLINICAL)
    nightly = estate.stores.snapshot(PROJECT, "pms-data-nightly")  # sourceDisk: pms-data
    golden = estate.stores.image(PROJECT, "pms-golden", source=disk.removeprefix("//compute.googleapis.com/"),
                                 policy=policy({"role": "roles/compute.imageUser", "members": ["allAuthenticatedUsers"]}))
    rebuilt = estate.stores.image(PROJECT, "pms-rebuilt", source=nightly.removeprefix("//compute.googleapis.com/"),
                                  locations=("europe-west9",))
    snapshot = collect(cli, tmp_path, "--project", PROJECT)
    assert by_id(snapshot, golden)["kind"] == "volume" and by_id(snapshot, golden)["type"] == "gcp.compute.image"
    assert by_id(snapshot, golden)["tags"] == CLINICAL
    assert by_id(snapshot, rebuilt)["tags"] == CLINICAL  # through the snapshot it was made from
    assert by_id(snapshot, rebuilt)["region"] == "europe-west9"
    assert by_id(snapshot, golden)["attributes"]["public_access"] == {
        "blocked": False, "grants": ["allAuthenticatedUsers"]}
    assert by_id(snapshot, "allAuthenticatedUsers")["attributes"]["can_read"] == [golden]
    code, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-IAM-002", "--only", "PHI-ENC-002")
    assert failing(report) == {"PHI-IAM-002": [golden], "PHI-ENC-002": sorted([disk, nightly, golden, rebuilt])}
    assert code == 1 and errors(report) == []


def test_a_disk_restored_from_a_snapshot_of_a_clinical_disk_is_clinical(
        estate: Estate, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    # A disk made from a snapshot names it (sourceSnapshot,
    # https://cloud.google.com/compute/docs/reference/rest/v1/disks) and holds its data.
    estate.stores.disk(PROJECT, "pms-data", key=estate.key(KEY), labels=CLINICAL)
    nightly = estate.stores.snapshot(PROJECT, "pms-data-nightly", key=KEY)  # sourceDisk: pms-data
    restored = estate.stores.disk(PROJECT, "pms-restore-test", zone="europe-west9-b", labels={"env": "test"},
                                  source=nightly.removeprefix("//compute.googleapis.com/"))
    snapshot = collect(cli, tmp_path, "--project", PROJECT)
    assert by_id(snapshot, restored)["tags"] == {**CLINICAL, "env": "test"}
    code, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-ENC-002")
    assert failing(report) == {"PHI-ENC-002": [restored]} and code == 1


def test_a_zone_the_disk_listing_could_not_reach_is_an_error(
        estate: Estate, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    estate.stores.disk(PROJECT, "pms-data", labels=CLINICAL)
    estate.stores.replies[f"/compute/v1/projects/{PROJECT}/aggregated/disks"]["unreachables"] = [
        "zones/europe-west9-b"]
    code, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-ENC-001")
    assert any("cannot list its Compute Engine resources: locations or zones the listing could not reach"
               in m for m in errors(report))
    assert code == 3


def test_a_zone_an_aggregated_listing_warns_it_could_not_reach_is_an_error(
        estate: Estate, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    # Without returnPartialSuccess, a scope that could not be read is a warning in its place
    # (code UNREACHABLE: "A given scope cannot be reached",
    # https://cloud.google.com/compute/docs/reference/rest/v1/disks/aggregatedList), its disks absent.
    estate.stores.disk(PROJECT, "pms-data", key=estate.key(KEY), labels=CLINICAL)
    estate.stores.replies[f"/compute/v1/projects/{PROJECT}/aggregated/disks"]["items"]["zones/europe-west9-b"] = {
        "warning": {"code": "UNREACHABLE", "message": "Scope 'zones/europe-west9-b' is unreachable.",
                    "data": [{"key": "scope", "value": "zones/europe-west9-b"}]}}
    code, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-ENC-002")
    assert any("cannot list its Compute Engine resources: a listing that warns part of it could not be read "
               "(UNREACHABLE)" in m for m in errors(report))
    assert code == 3


# --- Healthcare API ------------------------------------------------------------------------

def test_healthcare_stores_take_their_datasets_key_and_policies(
        estate: Estate, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    dataset = estate.stores.healthcare(PROJECT, "ehr", key=estate.key(KEY))
    fhir = estate.stores.healthcare_store(dataset, "fhirStores", "patients", labels=CLINICAL)
    dicom = estate.stores.healthcare_store(dataset, "dicomStores", "imaging", labels=CLINICAL, policy=policy(
        {"role": "roles/healthcare.dicomViewer", "members": ["allUsers"]}))
    denied = estate.stores.healthcare_store(dataset, "hl7V2Stores", "adt", labels=CLINICAL, policy=403)
    snapshot = collect(cli, tmp_path, "--project", PROJECT)
    assert by_id(snapshot, fhir)["kind"] == "database"
    assert by_id(snapshot, fhir)["attributes"]["engine"] == "fhir"
    assert by_id(snapshot, fhir)["attributes"]["encryption"]["key"] == KEY
    assert by_id(snapshot, fhir)["region"] == "europe-west4"
    assert "public_access" not in by_id(snapshot, denied)["attributes"]
    code, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-IAM-002", "--only", "PHI-ENC-002")
    assert failing(report) == {"PHI-IAM-002": [dicom]}
    assert [f["status"] for f in finding(report, "PHI-IAM-002", denied)] == ["error"]
    assert any("needs healthcare.hl7V2Stores.getIamPolicy" in m for m in errors(report))
    assert code == 3


def test_viewer_on_the_project_reads_its_instances_disks_snapshots_and_health_records(
        estate: Estate, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    # IAM's definition of roles/viewer (https://cloud.google.com/iam/docs/roles-permissions/basic)
    # holds cloudsql.instances.export, compute.disks.useReadOnly, compute.snapshots.useReadOnly and
    # healthcare.fhirResources.get; it holds no storage.objects.get and no bigquery.tables.getData.
    estate.cloud.policies[f"projects/{PROJECT}"] = policy(
        {"role": "roles/viewer", "members": ["user:auditor@mlm-sante.fr"]})
    stores = estate.stores
    instance = stores.sql(PROJECT, "pms", labels=CLINICAL)
    disk = stores.disk(PROJECT, "pms-data", labels=CLINICAL)
    nightly = stores.snapshot(PROJECT, "pms-data-nightly", labels=CLINICAL)
    fhir = stores.healthcare_store(stores.healthcare(PROJECT, "ehr"), "fhirStores", "patients", labels=CLINICAL)
    warehouse = stores.dataset(PROJECT, "dw", labels=CLINICAL, access=[])
    stores.table(PROJECT, "dw", "stays", labels=CLINICAL)
    snapshot = collect(cli, tmp_path, "--project", PROJECT)
    auditor = by_id(snapshot, "user:auditor@mlm-sante.fr")["attributes"]
    assert auditor["can_read"] == sorted([instance, disk, nightly, fhir])
    assert auditor["can_read_via"][fhir] == "roles/viewer on project mlm-sante-prod"
    assert warehouse not in auditor["can_read"]


# --- the run -------------------------------------------------------------------------------

def test_every_store_request_is_a_read(estate: Estate, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    estate.stores.dataset(PROJECT, "dw", labels=ADMIN)
    estate.stores.table(PROJECT, "dw", "rows", labels=ADMIN)
    estate.stores.sql(PROJECT, "pms")
    estate.stores.disk(PROJECT, "pms-data")
    estate.stores.snapshot(PROJECT, "pms-data-nightly")
    dataset = estate.stores.healthcare(PROJECT, "ehr")
    estate.stores.healthcare_store(dataset, "fhirStores", "patients")
    with RequestLog() as log:
        code, _ = scan(cli, tmp_path, "--project", PROJECT)
    log.assert_read_only()
    seen = {path for _, path in estate.stores.seen}
    assert {f"/bigquery/v2/projects/{PROJECT}/datasets/dw/tables/rows:getIamPolicy",
            f"/compute/v1/projects/{PROJECT}/zones/europe-west9-a/disks/pms-data/getIamPolicy",
            f"/compute/v1/projects/{PROJECT}/global/snapshots/pms-data-nightly/getIamPolicy",
            f"/v1/{dataset}:getIamPolicy", f"/v1/{dataset}/fhirStores/patients:getIamPolicy"} <= seen
    assert code in (0, 1)


def test_a_service_left_out_is_not_read_and_leaves_principals_undecided(
        estate: Estate, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    estate.stores.sql(PROJECT, "pms")
    estate.cloud.policies[f"projects/{PROJECT}"] = policy({"role": "roles/viewer", "members": ["user:a@mlm-sante.fr"]})
    code, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-SEG-002",
                        settings={"projects": [PROJECT], "services": ["bigquery", "compute", "healthcare"]})
    assert not [p for _, p in estate.stores.seen if p.startswith("/v1/projects/") and "/instances" in p]
    [error] = finding(report, "PHI-SEG-002", "user:a@mlm-sante.fr")
    assert error["status"] == "error"
    assert "Cloud SQL not read (left out by providers.gcp.services)" in str(error)
    assert code == 3


def test_an_unknown_service_is_bad_input(estate: Estate, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    config = tmp_path / "phigate.yaml"
    config.write_text("version: 1\nproviders:\n  gcp:\n    projects: [mlm-sante-prod]\n    services: [spanner]\n")
    result = cli("scan", "--provider", "gcp", "--config", str(config), "-q")
    assert result.code == 2 and "unknown service(s) spanner" in result.err


def test_transient_failures_of_a_store_listing_are_retried(
        estate: Estate, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    estate.stores.sql(PROJECT, "pms", labels=ADMIN)
    path = f"/v1/projects/{PROJECT}/instances"
    estate.stores.failures[path] = [503, 429]
    code, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-ENC-001", settings={
        "projects": [PROJECT], **FAST_RETRIES})
    assert errors(report) == [] and code == 0
    assert [p for _, p in estate.stores.seen].count(path) == 3


def test_store_policies_no_selected_policy_needs_are_not_read(
        estate: Estate, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    estate.stores.dataset(PROJECT, "dw", labels=ADMIN)
    estate.stores.table(PROJECT, "dw", "rows", labels=ADMIN, policy=403)  # would be an error if read
    estate.stores.disk(PROJECT, "pms-data", labels=ADMIN, policy=403)
    code, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-ENC-001", "--only", "PHI-CLASS-001")
    assert not [p for _, p in estate.stores.seen if "getIamPolicy" in p]
    assert code == 0 and errors(report) == []


def test_an_instance_answer_of_another_shape_is_an_error_never_a_pass(
        estate: Estate, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    estate.stores.sql(PROJECT, "pms", public_ip=True, labels=ADMIN)
    instance = estate.stores.replies[f"/v1/projects/{PROJECT}/instances"]["items"][0]
    instance["settings"]["ipConfiguration"]["authorizedNetworks"] = {"value": "0.0.0.0/0"}  # not a list
    code, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-IAM-002")
    assert any("cannot list its Cloud SQL resources: unexpected answer" in m for m in errors(report))
    assert code == 3 and counts(report, "PHI-IAM-002")["pass"] == 0


def test_stores_of_projects_left_out_by_project_are_context_the_graph_still_reads(
        estate: Estate, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    admin = "mlm-sante-admin"
    estate.stores.dataset(PROJECT, "clinical_dw", labels=CLINICAL, access=[
        {"role": "READER", "userByEmail": "analyst@mlm-sante.fr"}])
    billing = estate.stores.dataset(admin, "billing", labels=ADMIN, access=[
        {"role": "READER", "userByEmail": "analyst@mlm-sante.fr"}])
    estate.stores.sql(admin, "erp", labels=ADMIN, public_ip=True, networks=("0.0.0.0/0",))
    code, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-SEG-002", "--only", "PHI-IAM-002",
                        settings={"projects": [PROJECT, admin]})
    # The analyst reads the administrative dataset of the other project: reasoned about ...
    assert failing(report) == {"PHI-SEG-002": ["user:analyst@mlm-sante.fr"]}
    # ... yet the other project's stores are not reported (its public instance fails nothing).
    assert not [f for f in report["findings"] if f["resource"]["id"] == billing]
    assert code == 1


def test_a_denied_snapshot_listing_names_its_own_permission(
        estate: Estate, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    estate.stores.disk(PROJECT, "pms-data", labels=ADMIN)
    estate.stores.replies[f"/compute/v1/projects/{PROJECT}/global/snapshots"] = 403
    code, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-ENC-001")
    [error] = report["collection_errors"]
    assert error["permission"] == "compute.snapshots.list" and "(needs compute.snapshots.list)" in error["message"]
    assert code == 3
