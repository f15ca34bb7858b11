"""The gcp provider against a real Cloud Storage emulator (gcp-storage-emulator, in-process on a
free loopback port), and against recorded answers for what an emulator cannot produce: denials,
throttling, server and network failures, pagination, several projects, Cloud KMS.

The provider talks through google-cloud-storage's client, which sends its requests with
``requests``: the emulator answers them for real, ``responses`` answers the recorded ones, and
the request log sees every one of them where ``requests`` hands it to the network.

Nothing here depends on how fast the machine is: deadlines are generous (seconds where a mocked
answer takes milliseconds), and background threads are waited for before requests are counted."""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import re
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

import pytest
import requests
import responses
import yaml
from gcp_storage_emulator.server import create_server

from phigate.api import Resource
from phigate.cli import main
from phigate_providers.gcp import GcpProvider
from phigate_providers.gcp.api import READ_METHODS
from phigate_providers.gcp.directory import load as load_directory
from phigate_providers.gcp.settings import GcpSettings

from . import gcp_cloud
from .conftest import ROOT, CliResult
from .gcp_cloud import Cloud

PROJECT = "mlm-sante-prod"
KMS = re.compile(r"^https://cloudkms\.googleapis\.com/v1/(?P<name>.+)$")
RECORDED = "http://gcs.recorded.invalid"
#: Retries that start after a millisecond and give up after two seconds: a recorded answer takes
#: milliseconds, so even a loaded machine retries a persistent fault several times in that window.
FAST_RETRIES = {"retry_deadline": 2, "retry_initial_delay": 0.001, "timeout": 10}
#: What steers Google's clients (endpoint, credentials, mTLS, universe, project, metadata fetches):
#: every test starts without these, whatever the shell running pytest holds.
GOOGLE_ENV = ("STORAGE_EMULATOR_HOST", "API_ENDPOINT_OVERRIDE", "GOOGLE_API_USE_CLIENT_CERTIFICATE",
              "GOOGLE_API_USE_MTLS_ENDPOINT", "GOOGLE_CLOUD_UNIVERSE_DOMAIN", "GOOGLE_APPLICATION_CREDENTIALS",
              "GOOGLE_CLOUD_PROJECT", "GCLOUD_PROJECT", "DISABLE_GCS_PYTHON_CLIENT_OTEL_BUCKET_METADATA")
SEED = 29
SCALE = 48
CMEK = f"projects/{PROJECT}/locations/europe-west9/keyRings/clinical/cryptoKeys/notes"
#: The listings of a project holding no BigQuery dataset, Cloud SQL instance, disk, snapshot,
#: image or Healthcare API location: one request each, nothing below them.
EMPTY_STORE_LISTINGS = (f"https://bigquery.googleapis.com/bigquery/v2/projects/{PROJECT}/datasets",
                        f"https://sqladmin.googleapis.com/v1/projects/{PROJECT}/instances",
                        f"https://compute.googleapis.com/compute/v1/projects/{PROJECT}/aggregated/disks",
                        f"https://compute.googleapis.com/compute/v1/projects/{PROJECT}/global/snapshots",
                        f"https://compute.googleapis.com/compute/v1/projects/{PROJECT}/global/images",
                        f"https://healthcare.googleapis.com/v1/projects/{PROJECT}/locations")


# --- environment ---------------------------------------------------------------------------

def clear_google_env(patch: pytest.MonkeyPatch) -> None:
    for name in GOOGLE_ENV:
        patch.delenv(name, raising=False)


@pytest.fixture(autouse=True)
def environment_restored() -> Iterator[None]:
    """Every test leaves the environment as it found it (STORAGE_EMULATOR_HOST above all: a leaked
    value would send later tests' requests to a stopped emulator). Set up before ``monkeypatch``,
    so this check runs after it has undone its changes."""
    before = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    yield
    after = {k: v for k, v in os.environ.items() if k != "PYTEST_CURRENT_TEST"}
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"environment left changed: {changed}"


@pytest.fixture(autouse=True)
def google_env_cleared(environment_restored: None, monkeypatch: pytest.MonkeyPatch) -> None:
    clear_google_env(monkeypatch)


def settle(started_before: set[threading.Thread], limit: float = 30.0) -> None:
    """Wait (boundedly) for threads started since ``started_before``, so that a request sent in
    the background by a library is in the log before the log is read."""
    for thread in set(threading.enumerate()) - started_before:
        thread.join(timeout=limit)


# --- backends ------------------------------------------------------------------------------

class Emulator:
    """gcp-storage-emulator serving the JSON API in this process, on a loopback port the kernel
    picks when the server binds (port 0): no other process can take it between a probe and the
    bind, which would leave the emulator's thread dead and its start waiting forever."""

    def __init__(self) -> None:
        self._server = create_server("127.0.0.1", 0, True)
        self._server.start()
        port = self._server._api._httpd.server_address[1]  # the emulator does not expose it otherwise
        self.url = f"http://127.0.0.1:{port}"

    def wipe(self) -> None:
        self._server.wipe()

    def stop(self) -> None:
        self._server.stop()


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    logging.getLogger("gcp_storage_emulator").setLevel(logging.WARNING)
    server = Emulator()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def estate_emulator() -> Iterator[Emulator]:
    """A second emulator for the seeded estate: it lists every bucket it holds, whatever the project."""
    server = Emulator()
    yield server
    server.stop()


def kms_key(name: str, *, state: str = "ENABLED", rotation: bool = True) -> dict[str, Any]:
    """A Cloud KMS key as cryptoKeys.get describes it."""
    key: dict[str, Any] = {"name": name, "purpose": "ENCRYPT_DECRYPT",
                           "primary": {"name": f"{name}/cryptoKeyVersions/1", "state": state,
                                       "algorithm": "GOOGLE_SYMMETRIC_ENCRYPTION", "protectionLevel": "SOFTWARE"},
                           "labels": {"owner": "platform"}}
    if rotation:
        key["rotationPeriod"] = "7776000s"
    return key


def answer_kms(mock_: responses.RequestsMock, keys: dict[str, dict[str, Any]]) -> None:
    """Cloud KMS is not emulated: answer cryptoKeys.get from ``keys``, 404 for any other key."""
    def reply(request: Any) -> tuple[int, dict[str, str], str]:
        match = KMS.match(request.url)
        key = keys.get(match["name"]) if match else None
        if key is None:
            return 404, {}, json.dumps({"error": {"code": 404, "message": "not found"}})
        return 200, {"Content-Type": "application/json"}, json.dumps(key)
    mock_.add_callback(responses.GET, KMS, callback=reply)


class Gcs:
    """The emulator seen through its JSON API, to set buckets up as a test needs them."""

    def __init__(self, url: str) -> None:
        self.api = f"{url}/storage/v1"
        self.keys: dict[str, dict[str, Any]] = {}
        self.cloud = Cloud()  # Resource Manager and IAM, recorded

    def bucket(self, name: str, *, bindings: list[dict[str, Any]] | None = None, **properties: Any) -> str:
        # The emulator drops properties given at creation: create, then patch.
        requests.post(f"{self.api}/b?project={PROJECT}", json={"name": name}, timeout=10).raise_for_status()
        if properties:
            requests.patch(f"{self.api}/b/{name}", json=properties, timeout=10).raise_for_status()
        if bindings is not None:
            requests.put(f"{self.api}/b/{name}/iam", json={"version": 3, "bindings": bindings},
                         timeout=10).raise_for_status()
        return f"gs://{name}"


@pytest.fixture
def gcs(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Gcs]:
    emulator.wipe()
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", emulator.url)
    state = Gcs(emulator.url)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as recorded:
        recorded.add_passthru(emulator.url)
        answer_kms(recorded, state.keys)
        state.cloud.register(recorded)
        yield state


@pytest.fixture
def cloud() -> Cloud:
    """Resource Manager and IAM as the ``recorded`` fixture answers them."""
    return Cloud()


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch, cloud: Cloud) -> Iterator[responses.RequestsMock]:
    """Recorded answers at an address nothing serves: only what a test registers is answered
    (and Resource Manager and IAM, from ``cloud``)."""
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", RECORDED)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock_:
        cloud.register(mock_)
        yield mock_


class RequestLog:
    """Every HTTP request the process sends, seen where ``requests`` hands it to the network: the
    transport beneath every session, the storage client's included, in any thread (a library's
    background thread too), after ``responses`` (which patches the same method) when both run."""

    READS = frozenset({"GET", "HEAD", "OPTIONS"})

    def __init__(self) -> None:
        self.sent: list[tuple[str, str]] = []
        original = requests.adapters.HTTPAdapter.send

        def send(adapter: Any, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> Any:
            self.sent.append((str(request.method), str(request.url)))
            return original(adapter, request, *args, **kwargs)

        self._patch = mock.patch.object(requests.adapters.HTTPAdapter, "send", send)

    def __enter__(self) -> RequestLog:
        self._patch.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._patch.stop()

    def assert_read_only(self) -> None:
        """Nothing but reads: GETs, and the APIs' read-only POST methods (getIamPolicy, getAncestry)."""
        writes = [(m, u) for m, u in self.sent if m not in self.READS
                  and not (m == "POST" and urlsplit(u).path.endswith(READ_METHODS))]
        assert not writes, f"non-read requests sent: {writes}"


# --- helpers -------------------------------------------------------------------------------

def scan(cli: Callable[..., CliResult], tmp_path: Path, *args: str,
         settings: dict[str, Any] | None = None) -> tuple[int, dict[str, Any]]:
    """``phigate scan --provider gcp`` in-process; the exit code and the JSON report."""
    report = tmp_path / "report.json"
    extra: list[str] = []
    if settings is not None:
        config = tmp_path / "phigate.yaml"
        config.write_text(yaml.safe_dump({"version": 1, "providers": {"gcp": settings}}))
        extra = ["--config", str(config)]
    result = cli("scan", "--provider", "gcp", *args, *extra, "--format", f"json={report}", "-q")
    assert report.exists(), result.err
    return result.code, json.loads(report.read_text())


def failing(report: dict[str, Any]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for finding in report["findings"]:
        if finding["status"] == "fail":
            found.setdefault(finding["policy_id"], []).append(finding["resource"]["id"])
    return {policy: sorted(ids) for policy, ids in found.items()}


def statuses(report: dict[str, Any], status: str) -> set[tuple[str, str]]:
    return {(f["policy_id"], f["resource"]["id"]) for f in report["findings"] if f["status"] == status}


def counts(report: dict[str, Any], policy: str) -> dict[str, int]:
    return next(p["counts"] for p in report["policies"] if p["id"] == policy)


def collect(cli: Callable[..., CliResult], tmp_path: Path, *args: str) -> dict[str, Any]:
    """``phigate collect`` into a snapshot; the snapshot is validated by ``phigate validate``."""
    out = tmp_path / "snapshot.json"
    result = cli("collect", "--provider", "gcp", *args, "-o", str(out), "-q")
    assert result.code in (0, 3), result.err
    assert cli("validate", str(out)).code == 0
    document = json.loads(out.read_text())
    document["by_id"] = {r["id"]: r for r in document["resources"]}
    return document


def seeder() -> ModuleType:
    spec = importlib.util.spec_from_file_location("seed_gcs", ROOT / "bench" / "seed_gcs.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# --- the seeded estate: every failure, exactly, and nothing but reads ----------------------

@pytest.fixture(scope="module")
def seeded(estate_emulator: Emulator, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    truth = seeder().seed(estate_emulator.url, SCALE, SEED, PROJECT)
    folder = tmp_path_factory.mktemp("seeded")
    report, directory = folder / "report.json", folder / "groups.json"
    directory.write_text(json.dumps(truth["directory"]))  # memberships known: none adds access
    with pytest.MonkeyPatch.context() as patch:
        clear_google_env(patch)
        patch.setenv("STORAGE_EMULATOR_HOST", estate_emulator.url)
        with responses.RequestsMock(assert_all_requests_are_fired=False) as recorded:
            recorded.add_passthru(estate_emulator.url)
            answer_kms(recorded, {name: kms_key(name) for name in truth["keys"]})
            Cloud(accounts={PROJECT: truth["service_accounts"]}).register(recorded)
            with RequestLog() as log:
                threads = set(threading.enumerate())
                code = main(["scan", "--provider", "gcp", "--project", PROJECT, "--gcp-groups", str(directory),
                             "--format", f"json={report}", "-q"])
                settle(threads)
            snapshot = folder / "snapshot.json"
            assert main(["collect", "--provider", "gcp", "--project", PROJECT, "--gcp-groups", str(directory),
                         "-o", str(snapshot), "-q"]) == 0
    return {"truth": truth, "code": code, "report": json.loads(report.read_text()), "log": log,
            "emulator_url": estate_emulator.url, "snapshot": json.loads(snapshot.read_text())}


def test_the_seeded_estate_covers_every_policy_the_seeder_knows(seeded: dict[str, Any]) -> None:
    expected = seeded["truth"]["expected_failures"]
    assert all(expected.values()), {p: len(ids) for p, ids in expected.items()}  # each rule is exercised
    assert all(seeded["truth"]["expected_errors"].values())
    assert seeded["truth"]["counts"]["buckets"] == SCALE


def test_failing_ids_per_policy_equal_the_truth_exactly(seeded: dict[str, Any]) -> None:
    expected = {p: ids for p, ids in seeded["truth"]["expected_failures"].items() if ids}
    assert failing(seeded["report"]) == expected
    assert seeded["code"] == 3  # failures, and members who may read through object ACLs


def test_the_seeded_scan_is_undecided_only_where_object_acls_may_grant(seeded: dict[str, Any]) -> None:
    report = seeded["report"]
    expected = {(policy, member) for policy, ids in seeded["truth"]["expected_errors"].items() for member in ids}
    assert statuses(report, "error") == expected
    assert report["collection_errors"] == []
    assert report["summary"]["evidence_complete"] is False
    kinds = Counter(f["resource"]["kind"] for f in report["findings"])
    assert set(kinds) == {"object_store", "access_policy", "principal"}


def test_the_seeded_graph_has_no_edge_nor_gap_the_truth_leaves_out(seeded: dict[str, Any]) -> None:
    """The truth counts bindings alone: with every membership known and empty, the graph adds no
    edge, and no gap but the object ACLs of buckets without uniform access, so an engine closing
    the graph finds the same failures."""
    principals = [r for r in seeded["snapshot"]["resources"] if r["kind"] == "principal"]
    assert len(principals) == seeded["truth"]["counts"]["members"]
    assert all(p["attributes"]["can_become"] == [] for p in principals)
    gaps = {p["id"] for p in principals if p["attributes"]["access_unseen"]}
    assert gaps == set(seeded["truth"]["marked"])
    assert all("object ACLs" in gap for p in principals for gap in p["attributes"]["access_unseen"])


def test_a_full_scan_sends_only_reads(seeded: dict[str, Any]) -> None:
    log: RequestLog = seeded["log"]
    log.assert_read_only()
    iam_reads = [u for m, u in log.sent if m == "GET" and re.search(r"/b/[^/?]+/iam\?", u)]
    assert len(iam_reads) == SCALE  # one policy read per bucket, and it was recorded
    assert any(KMS.match(u) for _, u in log.sent)


def test_a_full_scan_sends_nothing_but_the_listing_iam_policies_and_keys(seeded: dict[str, Any]) -> None:
    """No request beyond those the permissions name: in particular no bucket metadata GET
    (storage.buckets.get, not granted), which the storage library would otherwise send from a
    background thread for every bucket whose IAM policy it reads."""
    api = f"{seeded['emulator_url']}/storage/v1"
    kinds = Counter(
        "listing" if u.startswith(f"{api}/b?") else
        "iam" if re.match(re.escape(f"{api}/b/") + r"[^/?]+/iam\?", u) else
        "key" if KMS.match(u) else
        "managed folders" if re.match(re.escape(f"{api}/b/") + r"[^/?]+/managedFolders\?", u) else
        "ancestry" if u.endswith(f"/v1/projects/{PROJECT}:getAncestry") else
        "project policy" if u.endswith(f"/v3/projects/{PROJECT}:getIamPolicy") else
        "organisation policy" if u.endswith(f"/v1/projects/{PROJECT}:getEffectiveOrgPolicy") else
        "service accounts" if u.startswith(f"https://iam.googleapis.com/v1/projects/{PROJECT}/serviceAccounts?")
        else "account policy" if re.match(r"https://iam\.googleapis\.com/v1/projects/[^/]+/serviceAccounts/"
                                           r"[^/]+:getIamPolicy\?", u)
        else "other stores" if u.split("?")[0] in EMPTY_STORE_LISTINGS
        else "account keys" if re.match(r"https://iam\.googleapis\.com/v1/projects/[^/]+/serviceAccounts/"
                                        r"[^/]+/keys\?keyTypes=USER_MANAGED$", u)
        else "hmac keys" if u.startswith(f"{api}/projects/{PROJECT}/hmacKeys?")
        else "deny policies" if u.startswith("https://iam.googleapis.com/v2/policies/cloudresourcemanager."
                                             f"googleapis.com%2Fprojects%2F{PROJECT}/denypolicies?")
        else f"other: {m} {u}"
        for m, u in seeded["log"].sent)
    uniform = sum(r["kind"] == "object_store" and r["attributes"]["acls_disabled"]
                  for r in seeded["snapshot"]["resources"])  # only they can hold managed folders
    assert 0 < uniform < SCALE
    assert kinds == {"listing": 1, "iam": SCALE, "key": len(seeded["truth"]["keys"]), "managed folders": uniform,
                     "ancestry": 1, "project policy": 1, "organisation policy": 1, "service accounts": 1,
                     "account policy": len(seeded["truth"]["service_accounts"]),
                     "other stores": len(EMPTY_STORE_LISTINGS),
                     "account keys": len(seeded["truth"]["service_accounts"]), "hmac keys": 1,
                     "deny policies": 1}


def test_the_request_log_catches_a_write(emulator: Emulator) -> None:
    with RequestLog() as log:
        requests.post(f"{emulator.url}/storage/v1/b?project={PROJECT}", json={"name": "deliberate-write"},
                      timeout=10)
    with pytest.raises(AssertionError, match="POST"):
        log.assert_read_only()


# --- normalisation, on the emulator --------------------------------------------------------

def test_a_configured_bucket_is_normalised_with_its_key(gcs: Gcs, cli: Callable[..., CliResult],
                                                        tmp_path: Path) -> None:
    gcs.keys[CMEK] = kms_key(CMEK)
    gcs.bucket("notes-fr", location="EUROPE-WEST9", labels={"data_class": "clinical", "app": "pms"},
               encryption={"defaultKmsKeyName": CMEK},
               iamConfiguration={"uniformBucketLevelAccess": {"enabled": True},
                                 "publicAccessPrevention": "enforced"},
               versioning={"enabled": True}, retentionPolicy={"retentionPeriod": str(3650 * 86400),
                                                              "isLocked": True},
               logging={"logBucket": "audit-logs", "logObjectPrefix": "notes-fr/"}, bindings=[])
    snapshot = collect(cli, tmp_path, "--project", PROJECT)
    bucket = snapshot["by_id"]["gs://notes-fr"]
    assert (bucket["type"], bucket["kind"], bucket["scope"], bucket["region"], bucket["name"]) == (
        "gcp.storage.bucket", "object_store", PROJECT, "europe-west9", "notes-fr")
    assert bucket["tags"] == {"data_class": "clinical", "app": "pms"}
    assert bucket["attributes"] == {
        "encryption": {"at_rest": True, "algorithm": "cmek", "key": CMEK, "key_manager": "customer"},
        "public_access": {"blocked": True, "grants": []},
        "acls_disabled": True, "secure_transport_required": True, "versioning": True,
        "retention": {"enabled": True, "locked": True, "days": 3650},
        "soft_delete_days": 7,
        "logging": {"access_logs": True, "data_events": False},
    }
    assert bucket["raw"]["location"] == "EUROPE-WEST9" and "locationType" in bucket["raw"]
    key = snapshot["by_id"][CMEK]
    assert (key["kind"], key["type"], key["scope"], key["region"], key["name"]) == (
        "key", "gcp.kms.crypto_key", PROJECT, "europe-west9", "notes")
    assert key["attributes"] == {"manager": "customer", "aliases": [], "symmetric": True, "state": "ENABLED",
                                 "spec": "GOOGLE_SYMMETRIC_ENCRYPTION", "rotation_enabled": True}


def test_a_bare_bucket_is_google_managed_and_open(gcs: Gcs, cli: Callable[..., CliResult],
                                                  tmp_path: Path) -> None:
    gcs.bucket("scratch-us")
    snapshot = collect(cli, tmp_path, "--project", PROJECT)
    bucket = snapshot["by_id"]["gs://scratch-us"]
    assert bucket["region"] == "us" and bucket["tags"] == {}
    attributes = bucket["attributes"]
    assert attributes["encryption"] == {"at_rest": True, "algorithm": "google-managed", "key": None,
                                        "key_manager": "provider"}
    assert attributes["public_access"] == {"blocked": False, "grants": []}
    assert (attributes["acls_disabled"], attributes["versioning"]) == (False, False)
    assert attributes["retention"] == {"enabled": False, "locked": False, "days": None}
    assert attributes["logging"] == {"access_logs": False, "data_events": False}
    policy = snapshot["by_id"]["gs://scratch-us/iam-policy"]
    assert policy["attributes"]["target"] == "gs://scratch-us"
    assert policy["attributes"]["bindings"] == [] and policy["attributes"]["attached_to"] == []


def test_one_principal_per_member_across_buckets_with_conditions_kept(
        gcs: Gcs, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    analyst = "group:analysts@mlm-sante.example"
    robot = "serviceAccount:billing@mlm-sante-prod.iam.gserviceaccount.com"
    gcs.bucket("notes", labels={"data_class": "clinical"}, bindings=[
        {"role": "roles/storage.objectViewer", "members": [analyst],
         "condition": {"title": "office-hours", "expression": "request.time.getHours('Europe/Paris') < 19"}},
        {"role": "roles/storage.objectCreator", "members": [robot]},
        {"role": "roles/storage.legacyObjectReader", "members": ["allUsers"]}])
    gcs.bucket("invoices", labels={"data_class": "pii"}, bindings=[
        {"role": "roles/storage.objectViewer", "members": [analyst, robot, "domain:mlm-sante.example"]}])
    snapshot = collect(cli, tmp_path, "--project", PROJECT)
    principals = [r for r in snapshot["resources"] if r["kind"] == "principal"]
    assert sorted(p["id"] for p in principals) == sorted([analyst, robot, "allUsers", "domain:mlm-sante.example"])
    group = snapshot["by_id"][analyst]
    assert group["attributes"]["can_read"] == ["gs://invoices", "gs://notes"]
    assert group["attributes"]["undecided_conditions"] == ["gs://notes roles/storage.objectViewer: office-hours"]
    assert (group["type"], group["name"], group["attributes"]["principal_type"]) == (
        "gcp.iam.member", "analysts@mlm-sante.example", "group")
    service = snapshot["by_id"][robot]
    assert (service["type"], service["name"], service["attributes"]["principal_type"]) == (
        "gcp.iam.service_account", "billing", "service_account")
    assert service["attributes"]["can_read"] == ["gs://invoices"]  # objectCreator reads nothing
    assert snapshot["by_id"]["allUsers"]["attributes"]["principal_type"] == "public"
    notes_policy = snapshot["by_id"]["gs://notes/iam-policy"]["attributes"]
    assert {s["actions"][0]: s["conditional"] for s in notes_policy["statements"]} == {
        "roles/storage.objectViewer": True, "roles/storage.objectCreator": False,
        "roles/storage.legacyObjectReader": False}
    assert snapshot["by_id"]["gs://notes"]["attributes"]["public_access"]["grants"] == ["allUsers"]

    code, report = scan(cli, tmp_path, "--project", PROJECT)
    assert failing(report)["PHI-SEG-002"] == [analyst]  # possible access counts
    # The robot reads administrative data and may be in the analysts' group (no directory export).
    [undecided] = [f for f in report["findings"] if (f["policy_id"], f["resource"]["id"]) == ("PHI-SEG-002", robot)]
    assert undecided["status"] == "error" and f"{analyst}: membership not known" in undecided["message"]
    assert code == 3


def test_admin_roles_on_a_clinical_bucket_fail_iam_001(gcs: Gcs, cli: Callable[..., CliResult],
                                                       tmp_path: Path) -> None:
    gcs.bucket("notes", labels={"data_class": "clinical"},
               bindings=[{"role": "roles/storage.admin", "members": ["user:ops@mlm-sante.example"]}])
    gcs.bucket("exports", labels={"data_class": "administrative"},
               bindings=[{"role": "roles/storage.admin", "members": ["user:ops@mlm-sante.example"]}])
    _, report = scan(cli, tmp_path, "--project", PROJECT)
    assert failing(report)["PHI-IAM-001"] == ["gs://notes/iam-policy"]
    assert counts(report, "PHI-IAM-001")["pass"] == 1


def test_custom_roles_read_when_configured_and_are_errors_when_unknown(
        gcs: Gcs, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    reader = f"projects/{PROJECT}/roles/notesReader"
    mystery = f"projects/{PROJECT}/roles/mystery"
    gcs.bucket("notes", labels={"data_class": "clinical"},
               bindings=[{"role": reader, "members": ["user:a@mlm-sante.example"]},
                         {"role": mystery, "members": ["user:b@mlm-sante.example"]}])
    gcs.bucket("admin", labels={"data_class": "administrative"},
               bindings=[{"role": "roles/storage.objectViewer",
                          "members": ["user:a@mlm-sante.example", "user:b@mlm-sante.example"]}])
    settings = {"roles": {reader: ["storage.objects.get", "storage.objects.list"]}}
    code, report = scan(cli, tmp_path, "--project", PROJECT, settings=settings)
    assert failing(report)["PHI-SEG-002"] == ["user:a@mlm-sante.example"]
    assert ("PHI-SEG-002", "user:b@mlm-sante.example") in statuses(report, "error")
    [error] = report["collection_errors"]
    assert error["resource_id"] == "user:b@mlm-sante.example" and mystery in error["message"]
    assert code == 3


def test_reads_no_selected_policy_needs_are_skipped(gcs: Gcs, cli: Callable[..., CliResult],
                                                    tmp_path: Path) -> None:
    gcs.bucket("notes", labels={"data_class": "clinical"}, encryption={"defaultKmsKeyName": CMEK}, bindings=[])
    gcs.bucket("billing", labels={"data_class": "pii"}, encryption={"defaultKmsKeyName": CMEK}, bindings=[])
    with RequestLog() as log:
        code, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-SEG-001", "--only", "PHI-RES-001")
    # The listings alone (these policies judge databases, tables and volumes too): no IAM policy,
    # no key metadata.
    assert {m for m, _ in log.sent} == {"GET"}
    assert sorted(u.split("?")[0] for _, u in log.sent) == sorted([f"{gcs.api}/b", *EMPTY_STORE_LISTINGS])
    assert failing(report) == {"PHI-SEG-001": ["gs://notes"], "PHI-RES-001": ["gs://billing", "gs://notes"]}
    assert code == 1 and report["collection_errors"] == []


def test_content_sampling_reads_the_objects_of_non_clinical_buckets_only(
        gcs: Gcs, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    note = "Mme Odile Bernier, née le 03/12/1984, séropositive pour le VIH, sous trithérapie."
    upload = gcs.api.replace("/storage/v1", "/upload/storage/v1")
    for bucket, data_class in (("notes", "clinical"), ("billing", "administrative")):
        gcs.bucket(bucket, labels={"data_class": data_class}, bindings=[])
        for key in ("2024/bernier-1.txt", "2024/bernier-2.txt"):
            requests.post(f"{upload}/b/{bucket}/o", params={"uploadType": "media", "name": key},
                          data=note.encode(), timeout=10).raise_for_status()
    with RequestLog() as log:  # turned on by the provider's config section
        code, report = scan(cli, tmp_path, "--project", PROJECT, "--show-passed",
                            settings={"sample_content": True, "content_sample": {"objects": 5}})
    log.assert_read_only()
    objects = [u for _, u in log.sent if "/o?" in u or "/o/" in u]
    assert objects and all("/b/billing/o" in u for u in objects)  # the clinical bucket is never read
    outcomes = {f["resource"]["id"]: f["status"] for f in report["findings"] if f["policy_id"] == "PHI-SEG-004"}
    assert outcomes == {"gs://billing": "fail", "gs://notes": "skip"}
    assert code == 1 and report["collection_errors"] == []
    assert "bernier" not in json.dumps(report).lower()
    _, unsampled = scan(cli, tmp_path, "--project", PROJECT)
    assert "PHI-SEG-004" not in {p["id"] for p in unsampled["policies"]}


def test_the_provider_reports_its_progress(gcs: Gcs, emulator: Emulator,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from phigate.testing import run_context

    gcs.bucket("notes", bindings=[])
    # The emulator named the way gcloud writes it, a bare host:port, is reached over HTTP.
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", emulator.url.removeprefix("http://"))
    [provider] = GcpProvider.configure([], run_context(options={"gcp_projects": [PROJECT]}))
    said: list[str] = []
    provider.watch(said.append)
    kinds = Counter(r.kind for r in provider.collect() if hasattr(r, "kind"))
    assert kinds == {"object_store": 1, "access_policy": 1}
    assert said == [f"gcp {PROJECT}: 1 bucket(s) listed"]


# --- failures: recorded answers ------------------------------------------------------------

def bucket_json(name: str, **extra: Any) -> dict[str, Any]:
    return {"kind": "storage#bucket", "name": name, "location": "EUROPE-WEST9", "locationType": "region",
            "iamConfiguration": {"uniformBucketLevelAccess": {"enabled": True},
                                 "publicAccessPrevention": "enforced"},
            "labels": {"data_class": "clinical"}, **extra}


def error_json(code: int, reason: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": "Permission 'x' denied for caller@example.org",
                      "errors": [{"reason": reason, "domain": "global"}]}}


def list_url(project: str) -> re.Pattern[str]:
    return re.compile(re.escape(f"{RECORDED}/storage/v1/b?") + f".*project={project}(&|$)")


def first_page(request: Any) -> tuple[bool, str]:
    return "pageToken=" not in request.url, "a later page"


def iam_url(name: str) -> re.Pattern[str]:
    return re.compile(re.escape(f"{RECORDED}/storage/v1/b/{name}/iam") + r"(\?|$)")


def test_regional_buckets_over_pages_and_projects_make_one_principal_each(
        recorded: responses.RequestsMock, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    member = "user:dr-a@mlm-sante.example"
    first, second = list_url(PROJECT), list_url("mlm-sante-admin")
    recorded.add(responses.GET, first, json={"items": [bucket_json("notes-a")], "nextPageToken": "p2"},
                 match=[first_page])
    recorded.add(responses.GET, first, json={"items": [bucket_json("notes-b")]},
                 match=[responses.matchers.query_param_matcher({"pageToken": "p2"}, strict_match=False)])
    recorded.add(responses.GET, second, json={"items": [bucket_json("billing", labels={"data_class": "pii"})]})
    for name in ("notes-a", "notes-b", "billing"):
        recorded.add(responses.GET, iam_url(name), json={"version": 3, "bindings": [
            {"role": "roles/storage.objectViewer", "members": [member]}]})
    code, report = scan(cli, tmp_path, "--project", PROJECT, "--project", "mlm-sante-admin",
                        settings=FAST_RETRIES)
    assert [s["scope"] for s in report["scopes"]] == [PROJECT, "mlm-sante-admin"]
    assert failing(report)["PHI-SEG-002"] == [member]
    assert report["summary"]["resources"] == 3 + 3 + 1  # buckets, their policies, one principal
    assert code == 1


def test_a_denied_listing_is_an_error_for_the_project_never_a_pass(
        recorded: responses.RequestsMock, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    recorded.add(responses.GET, list_url(PROJECT), status=403, json=error_json(403, "forbidden"))
    code, report = scan(cli, tmp_path, "--project", PROJECT, settings=FAST_RETRIES)
    assert code == 3
    [error] = report["collection_errors"]
    assert error["permission"] == "storage.buckets.list"
    assert error["message"] == (f"project {PROJECT}: cannot list buckets: permission denied: HTTP 403 "
                                "(forbidden) (needs storage.buckets.list)")
    assert "caller@example.org" not in json.dumps(report)  # server prose is not copied
    for policy in ("PHI-IAM-002", "PHI-ENC-002", "PHI-SEG-002", "PHI-IAM-001"):
        assert counts(report, policy)["error"] >= 1 and counts(report, policy)["pass"] == 0


def test_an_unknown_project_is_an_error(recorded: responses.RequestsMock, cli: Callable[..., CliResult],
                                        tmp_path: Path) -> None:
    recorded.add(responses.GET, list_url("no-such-project"), status=404, json=error_json(404, "notFound"))
    code, report = scan(cli, tmp_path, "--project", "no-such-project", settings=FAST_RETRIES)
    assert code == 3
    [error] = report["collection_errors"]
    assert "not found" in error["message"] and error["scope"] == "no-such-project"
    assert {f["status"] for f in report["findings"]} == {"error"}


def test_transient_failures_are_retried(recorded: responses.RequestsMock, cli: Callable[..., CliResult],
                                        tmp_path: Path) -> None:
    listing = list_url(PROJECT)
    recorded.add(responses.GET, listing, status=503, json=error_json(503, "backendError"))
    recorded.add(responses.GET, listing, status=429, json=error_json(429, "rateLimitExceeded"))
    recorded.add(responses.GET, listing, json={"items": [bucket_json("notes")]})
    recorded.add(responses.GET, iam_url("notes"), status=500, json=error_json(500, "backendError"))
    recorded.add(responses.GET, iam_url("notes"), json={"version": 3, "bindings": []})
    code, report = scan(cli, tmp_path, "--project", PROJECT, settings={**FAST_RETRIES, "retry_deadline": 60})
    assert report["collection_errors"] == []
    assert report["summary"]["resources"] == 2
    assert code == 1  # the clinical bucket has no CMEK: a real failure, seen after the retries
    assert len([c for c in recorded.calls if c.request.url.startswith(f"{RECORDED}/storage/v1/b?")]) == 3


@pytest.mark.parametrize("fault", [
    {"status": 503, "json": error_json(503, "backendError")},
    {"status": 429, "json": error_json(429, "rateLimitExceeded")},
    {"body": requests.exceptions.ConnectionError("Name or service not known")},
    {"body": requests.exceptions.ReadTimeout("read timed out")},
], ids=["503", "429", "dns", "timeout"])
def test_failures_past_the_retry_deadline_are_errors(recorded: responses.RequestsMock,
                                                     cli: Callable[..., CliResult], tmp_path: Path,
                                                     fault: dict[str, Any]) -> None:
    recorded.add(responses.GET, list_url(PROJECT), **fault)
    code, report = scan(cli, tmp_path, "--project", PROJECT, settings=FAST_RETRIES)
    assert code == 3
    [error] = report["collection_errors"]
    assert error["message"].startswith(f"project {PROJECT}: cannot list buckets: gave up after retrying")
    assert report["summary"]["pass"] == 0
    assert len(recorded.calls) >= 2  # retried before giving up


@pytest.mark.parametrize("page", [{"items": {"name": "notes"}}, {"items": ["notes"]}], ids=["mapping", "names"])
def test_a_listing_page_of_another_shape_is_an_error_not_an_empty_project(
        recorded: responses.RequestsMock, cli: Callable[..., CliResult], tmp_path: Path,
        page: dict[str, Any]) -> None:
    recorded.add(responses.GET, list_url(PROJECT), json=page)
    code, report = scan(cli, tmp_path, "--project", PROJECT, settings=FAST_RETRIES)
    assert code == 3
    [error] = report["collection_errors"]
    assert error["message"] == f"project {PROJECT}: cannot list buckets: unexpected answer (not the JSON the API documents)"
    assert report["summary"]["pass"] == 0


def test_a_denied_iam_policy_leaves_that_bucket_without_access_information(
        recorded: responses.RequestsMock, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    member = "serviceAccount:pms@mlm-sante-prod.iam.gserviceaccount.com"
    recorded.add(responses.GET, list_url(PROJECT), json={"items": [
        bucket_json("notes"), bucket_json("billing", labels={"data_class": "administrative"})]})
    recorded.add(responses.GET, iam_url("notes"), status=403, json=error_json(403, "forbidden"))
    recorded.add(responses.GET, iam_url("billing"), json={"version": 1, "bindings": [
        {"role": "roles/storage.objectViewer", "members": [member]}]})
    code, report = scan(cli, tmp_path, "--project", PROJECT, settings=FAST_RETRIES)
    assert code == 3
    errors = {e["resource_id"]: e for e in report["collection_errors"]}
    # The member may be bound on the unread policy too: what it can read is unknown.
    assert set(errors) == {"gs://notes", "gs://notes/iam-policy", member}
    assert {e["permission"] for e in errors.values()} == {"storage.buckets.getIamPolicy"}
    assert all("(needs storage.buckets.getIamPolicy)" in e["message"] for e in errors.values())
    found = statuses(report, "error")
    assert ("PHI-IAM-002", "gs://notes") in found  # public grants unknown
    assert ("PHI-IAM-001", "gs://notes/iam-policy") in found
    assert ("PHI-SEG-002", "gs://notes/iam-policy") in found  # who reads the bucket is unknown
    assert ("PHI-SEG-002", member) in found  # reads administrative data, maybe clinical: never a pass
    assert ("PHI-IAM-002", "gs://billing") not in found and ("PHI-IAM-002", "gs://billing") not in statuses(
        report, "fail")


def test_an_unreadable_key_is_yielded_with_what_its_use_proves(
        recorded: responses.RequestsMock, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    recorded.add(responses.GET, list_url(PROJECT), json={"items": [
        bucket_json("notes", encryption={"defaultKmsKeyName": CMEK})]})
    recorded.add(responses.GET, iam_url("notes"), json={"version": 1, "bindings": []})
    recorded.add(responses.GET, KMS, status=403, json=error_json(403, "forbidden"))
    code, report = scan(cli, tmp_path, "--project", PROJECT, settings=FAST_RETRIES)
    assert code == 3
    [error] = report["collection_errors"]
    assert (error["resource_id"], error["permission"]) == (CMEK, "cloudkms.cryptoKeys.get")
    assert ("PHI-ENC-003", CMEK) in statuses(report, "error")
    assert counts(report, "PHI-SEG-001")["pass"] == 1  # the key itself was seen: encrypts is known


# --- the command line ----------------------------------------------------------------------

def test_the_permissions_document_is_a_custom_role_of_exactly_the_permissions(
        cli: Callable[..., CliResult]) -> None:
    result = cli("providers", "--permissions", "gcp")
    assert result.code == 0
    role = yaml.safe_load(result.out)
    assert role["includedPermissions"] == list(GcpProvider.permissions)
    assert {"title", "description", "stage"} <= set(role)
    assert not [p for p in role["includedPermissions"] if p.startswith("storage.objects.")]
    assert {"resourcemanager.projects.getIamPolicy", "resourcemanager.folders.getIamPolicy",
            "resourcemanager.organizations.getIamPolicy", "iam.serviceAccounts.getIamPolicy",
            "iam.roles.get", "iam.denypolicies.list", "iam.denypolicies.get"} <= set(role["includedPermissions"])
    assert not [p for p in role["includedPermissions"] if p.endswith(".setIamPolicy")]
    sampling = yaml.safe_load(cli("providers", "--permissions", "gcp", "--sample-content").out)
    assert sampling["includedPermissions"] == ["storage.objects.get", "storage.objects.list"]


@pytest.mark.parametrize(("args", "settings", "message"), [
    ((), None, "no project to audit"),
    (("--project", "Not_A_Project"), None, "is not a Google Cloud project id"),
    (("--project", PROJECT, "--gcp-credentials", "/nonexistent/key.json"), None, "does not exist"),
    (("--project", PROJECT), {"regions": ["eu"]}, "unknown setting(s) regions"),
    (("--project", PROJECT), {"roles": {"notARole": []}}, "is not a role name"),
    (("--project", PROJECT), {"workers": 0}, "workers must be a number"),
])
def test_bad_input_exits_2_with_one_line(cli: Callable[..., CliResult], tmp_path: Path, recorded: Any, *,
                                         args: tuple[str, ...], settings: dict[str, Any] | None,
                                         message: str) -> None:
    extra: list[str] = []
    if settings is not None:
        config = tmp_path / "phigate.yaml"
        config.write_text(yaml.safe_dump({"version": 1, "providers": {"gcp": settings}}))
        extra = ["--config", str(config)]
    result = cli("scan", "--provider", "gcp", *args, *extra)
    assert result.code == 2
    assert message in result.err and "Traceback" not in result.err
    assert len(result.err.strip().splitlines()) == 1


def test_a_broken_key_file_and_missing_credentials_are_input_errors(
        cli: Callable[..., CliResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    broken = tmp_path / "key.json"
    broken.write_text('{"type": "service_account"}')
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    result = cli("scan", "--provider", "gcp", "--project", PROJECT, "--gcp-credentials", str(broken))
    assert result.code == 2 and "not a usable service-account key file" in result.err
    monkeypatch.delenv("GOOGLE_APPLICATION_CREDENTIALS", raising=False)
    monkeypatch.setenv("CLOUDSDK_CONFIG", str(tmp_path / "no-gcloud"))
    monkeypatch.setenv("NO_GCE_CHECK", "True")
    result = cli("scan", "--provider", "gcp", "--project", PROJECT)
    assert result.code == 2 and "no Application Default Credentials" in result.err


def test_a_service_account_key_authenticates_every_request(
        cli: Callable[..., CliResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    private = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    key_file = tmp_path / "auditor.json"
    key_file.write_text(json.dumps({
        "type": "service_account", "project_id": PROJECT, "private_key_id": "1",
        "private_key": private.decode(), "client_email": f"auditor@{PROJECT}.iam.gserviceaccount.com",
        "client_id": "1", "token_uri": "https://oauth2.googleapis.com/token"}))
    monkeypatch.delenv("STORAGE_EMULATOR_HOST", raising=False)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as recorded:
        Cloud().register(recorded)
        recorded.add(responses.POST, "https://oauth2.googleapis.com/token",
                     json={"access_token": "token-1", "expires_in": 3600, "token_type": "Bearer"})
        recorded.add(responses.GET, re.compile(r"https://storage\.googleapis\.com/storage/v1/b\?"),
                     json={"items": [bucket_json("notes", labels={"data_class": "public"})]})
        recorded.add(responses.GET, "https://storage.googleapis.com/storage/v1/b/notes/iam",
                     json={"version": 1, "bindings": []})
        code, report = scan(cli, tmp_path, "--project", PROJECT, "--gcp-credentials", str(key_file))
        api_calls = [c.request for c in recorded.calls if "storage.googleapis.com" in c.request.url]
        cloud_calls = [c.request for c in recorded.calls
                       if "oauth2" not in c.request.url and "storage.googleapis.com" not in c.request.url]
    assert code == 0 and report["summary"]["resources"] == 2
    assert [r.headers["Authorization"] for r in api_calls] == ["Bearer token-1"] * 3  # + managed folders
    # Resource Manager and IAM are read on the same authorized session.
    # So are the other stores' listings and the deny policies (IAM v2).
    assert len(cloud_calls) == 4 + len(EMPTY_STORE_LISTINGS)
    assert {r.headers["Authorization"] for r in cloud_calls} == {"Bearer token-1"}
    # Both were sent by google-cloud-storage's client, which names itself in every request.
    assert all("gcloud-python/" in r.headers["User-Agent"] for r in api_calls)
    assert "token-1" not in json.dumps(report)


# --- the access graph: grants above buckets, service accounts, groups (recorded IAM) --------

DOMAIN = "mlm-sante.example"
ANALYST = f"user:analyst@{DOMAIN}"
ETL = f"etl@{PROJECT}.iam.gserviceaccount.com"
FOLDER, ORG = "folders/612030981234", "organizations/433637338589"


#: IAM alone decides who reads the bucket (fine-grained buckets' object ACLs are never read).
UNIFORM = {"iamConfiguration": {"uniformBucketLevelAccess": {"enabled": True}}}


def two_classes(gcs: Gcs, *, notes: list[dict[str, Any]] | None = None,
                billing: list[dict[str, Any]] | None = None) -> None:
    """A clinical and an administrative bucket on the emulator with uniform bucket-level access,
    with their bucket bindings."""
    gcs.bucket("notes", labels={"data_class": "clinical"}, bindings=notes or [], **UNIFORM)
    gcs.bucket("billing", labels={"data_class": "administrative"}, bindings=billing or [], **UNIFORM)


def passes(report: dict[str, Any], policy_id: str, resource_id: str) -> bool:
    """The JSON report lists failures and errors: a principal evaluated and listed in neither passed."""
    found = {(f["policy_id"], f["resource"]["id"]) for f in report["findings"]}
    return (policy_id, resource_id) not in found and counts(report, policy_id)["pass"] > 0


def finding(report: dict[str, Any], policy_id: str, resource_id: str) -> list[dict[str, Any]]:
    """The failures and errors of one policy for one resource (the JSON report lists no pass)."""
    return [f for f in report["findings"] if (f["policy_id"], f["resource"]["id"]) == (policy_id, resource_id)]


def attributes(snapshot: dict[str, Any], member: str) -> dict[str, Any]:
    record = snapshot["by_id"][member]
    assert record["kind"] == "principal"
    return dict(record["attributes"])


def test_a_role_on_the_project_reads_every_bucket_of_it_through_a_wildcard(
        gcs: Gcs, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    two_classes(gcs)
    gcs.cloud.policies[f"projects/{PROJECT}"] = gcp_cloud.policy(
        {"role": "roles/storage.objectViewer", "members": [ANALYST]},
        {"role": "roles/storage.objectCreator", "members": [f"user:uploader@{DOMAIN}"]},
        {"role": "roles/viewer", "members": [f"user:auditor@{DOMAIN}"]})
    snapshot = collect(cli, tmp_path, "--project", PROJECT)
    analyst = attributes(snapshot, ANALYST)
    assert analyst["can_read"] == analyst["can_read_via_wildcard"] == ["gs://billing", "gs://notes"]
    assert analyst["can_read_via"] == {"gs://billing": f"roles/storage.objectViewer on project {PROJECT}",
                                       "gs://notes": f"roles/storage.objectViewer on project {PROJECT}"}
    assert analyst["access_unseen"] == [] and analyst["can_become"] == []
    for harmless in (f"user:uploader@{DOMAIN}", f"user:auditor@{DOMAIN}"):  # neither reads an object
        assert attributes(snapshot, harmless)["can_read"] == []
    code, report = scan(cli, tmp_path, "--project", PROJECT)
    assert failing(report)["PHI-SEG-002"] == [ANALYST]
    assert failing(report)["PHI-IAM-004"] == [ANALYST]  # clinical data reached by a project-wide grant
    assert passes(report, "PHI-SEG-002", f"user:uploader@{DOMAIN}")
    assert code == 1


def test_a_grant_on_the_bucket_is_preferred_and_not_a_wildcard(
        gcs: Gcs, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    two_classes(gcs, notes=[{"role": "roles/storage.objectViewer", "members": [ANALYST]}])
    gcs.cloud.policies[f"projects/{PROJECT}"] = gcp_cloud.policy(
        {"role": "roles/storage.objectViewer", "members": [ANALYST],
         "condition": {"title": "until 2027", "description": "audit",
                       "expression": 'request.time < timestamp("2027-01-01T00:00:00Z")'}})
    analyst = attributes(collect(cli, tmp_path, "--project", PROJECT), ANALYST)
    assert analyst["can_read"] == ["gs://billing", "gs://notes"]
    assert analyst["can_read_via_wildcard"] == ["gs://billing"]
    assert analyst["can_read_via"] == {
        "gs://billing": f"roles/storage.objectViewer on project {PROJECT} (if until 2027)",
        "gs://notes": "roles/storage.objectViewer on the bucket"}
    assert analyst["undecided_conditions"] == [f"projects/{PROJECT} roles/storage.objectViewer: until 2027"]


def test_folder_and_organisation_grants_reach_buckets_below_and_projects_not_audited(
        gcs: Gcs, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    two_classes(gcs)
    gcs.cloud.ancestry[PROJECT] = [f"projects/{PROJECT}", FOLDER, ORG]
    gcs.cloud.policies[FOLDER] = gcp_cloud.policy({"role": "roles/storage.objectViewer", "members": [ANALYST]})
    gcs.cloud.policies[ORG] = gcp_cloud.policy({"role": "roles/owner", "members": [f"user:root@{DOMAIN}"]},
                                     {"role": "roles/browser", "members": [f"user:browser@{DOMAIN}"]})
    gcs.cloud.roles["roles/browser"] = ["resourcemanager.folders.get", "resourcemanager.projects.get"]
    snapshot = collect(cli, tmp_path, "--project", PROJECT)
    analyst = attributes(snapshot, ANALYST)
    assert analyst["can_read_via"]["gs://notes"] == "roles/storage.objectViewer on folder 612030981234"
    assert analyst["can_read_via_wildcard"] == ["gs://billing", "gs://notes"]
    assert analyst["access_unseen"] == [f"gcp {FOLDER}: projects under it that were not audited "
                                        "(reached by roles/storage.objectViewer)"]
    root = attributes(snapshot, f"user:root@{DOMAIN}")
    assert root["can_read_via"]["gs://notes"] == "roles/owner on organization 433637338589"
    assert root["access_unseen"] == [f"gcp {ORG}: projects under it that were not audited (reached by roles/owner)"]
    browser = attributes(snapshot, f"user:browser@{DOMAIN}")  # described by IAM: reads nothing
    assert (browser["can_read"], browser["access_unseen"]) == ([], [])
    assert snapshot["by_id"][ANALYST]["scope"] == PROJECT
    # What was seen decides: the analyst reads both classes here, whatever the other projects hold.
    _, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-SEG-002")
    assert [f["status"] for f in finding(report, "PHI-SEG-002", ANALYST)] == ["fail"]


def test_roles_outside_the_table_are_read_from_iam_and_an_unreadable_one_is_undecided(
        gcs: Gcs, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    reader, secret = f"projects/{PROJECT}/roles/notesReader", "organizations/433637338589/roles/secret"
    two_classes(gcs, billing=[{"role": "roles/storage.objectViewer", "members": [f"user:c@{DOMAIN}"]}])
    gcs.cloud.roles[reader] = ["storage.objects.get", "storage.objects.list"]
    gcs.cloud.roles[secret] = 403
    gcs.cloud.policies[f"projects/{PROJECT}"] = gcp_cloud.policy(
        {"role": reader, "members": [f"user:a@{DOMAIN}"]},
        {"role": "roles/pubsub.viewer", "members": [f"user:b@{DOMAIN}"]},
        {"role": secret, "members": [f"user:c@{DOMAIN}"]})
    snapshot = collect(cli, tmp_path, "--project", PROJECT)
    assert attributes(snapshot, f"user:a@{DOMAIN}")["can_read"] == ["gs://billing", "gs://notes"]
    assert attributes(snapshot, f"user:b@{DOMAIN}")["can_read"] == []
    c = attributes(snapshot, f"user:c@{DOMAIN}")
    assert c["can_read"] == ["gs://billing"]  # and maybe the clinical bucket through the unread role
    assert c["access_unseen"] == [f"role {secret} (not read: permission denied: HTTP 403 (needs iam.roles.get))"]
    code, report = scan(cli, tmp_path, "--project", PROJECT)
    assert failing(report)["PHI-SEG-002"] == [f"user:a@{DOMAIN}"]  # the custom role IAM described
    assert ("PHI-SEG-002", f"user:c@{DOMAIN}") in statuses(report, "error")
    assert passes(report, "PHI-SEG-002", f"user:b@{DOMAIN}")
    [error] = report["collection_errors"]
    assert (error["resource_id"], error["permission"]) == (f"user:c@{DOMAIN}", "iam.roles.get")
    assert code == 3


def test_who_can_act_as_a_service_account_can_become_it(
        gcs: Gcs, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    robot, idle = f"serviceAccount:{ETL}", f"serviceAccount:idle@{PROJECT}.iam.gserviceaccount.com"
    two_classes(gcs, notes=[{"role": "roles/storage.objectViewer", "members": [robot]}],
                billing=[{"role": "roles/storage.objectViewer", "members": [f"user:dev@{DOMAIN}"]}])
    gcs.cloud.accounts[PROJECT] = [ETL, idle.removeprefix("serviceAccount:")]
    gcs.cloud.account_policies[ETL] = gcp_cloud.policy(
        {"role": "roles/iam.serviceAccountTokenCreator", "members": [f"user:dev@{DOMAIN}"]},
        {"role": "roles/iam.workloadIdentityUser",
         "members": [f"serviceAccount:{PROJECT}.svc.id.goog[clinic/etl]"]})
    gcs.cloud.policies[f"projects/{PROJECT}"] = gcp_cloud.policy(
        {"role": "roles/iam.serviceAccountUser", "members": [f"group:deployers@{DOMAIN}"]})
    snapshot = collect(cli, tmp_path, "--project", PROJECT)
    dev = attributes(snapshot, f"user:dev@{DOMAIN}")
    assert dev["can_read"] == ["gs://billing"] and dev["can_become"] == [robot]
    assert dev["can_become_via"] == {robot: "roles/iam.serviceAccountTokenCreator on the service account: "
                                            "iam.serviceAccounts.getAccessToken"}
    workload = attributes(snapshot, f"serviceAccount:{PROJECT}.svc.id.goog[clinic/etl]")
    assert workload["can_become"] == [robot]
    deployers = attributes(snapshot, f"group:deployers@{DOMAIN}")
    assert deployers["can_become"] == [robot, idle]  # actAs on the project: every account of it
    assert deployers["can_become_via"][robot] == (f"roles/iam.serviceAccountUser on project {PROJECT}: "
                                                  "iam.serviceAccounts.actAs")
    # A listed account bound nowhere is a principal too (a target of edges), reading nothing.
    assert attributes(snapshot, idle)["can_read"] == []
    assert attributes(snapshot, robot)["can_become"] == []
    # The engine closes the graph: the developer reads clinical notes as the ETL account.
    code, report = scan(cli, tmp_path, "--project", PROJECT)
    [dev] = finding(report, "PHI-SEG-002", f"user:dev@{DOMAIN}")
    assert dev["status"] == "fail"
    assert ("(roles/iam.serviceAccountTokenCreator on the service account: iam.serviceAccounts.getAccessToken) "
            "etl") in json.dumps(dev)
    assert finding(report, "PHI-SEG-002", robot) == []  # the account itself reads one class
    # The idle account may be in the deployers' group, which can act as the ETL account: undecided;
    # the group can act as the idle account, so the engine carries the gap to it too.
    undecided = {f["resource"]["id"] for f in report["findings"]
                 if f["policy_id"] == "PHI-SEG-002" and f["status"] == "error"}
    assert undecided == {idle, f"group:deployers@{DOMAIN}"}
    assert code == 3


def test_project_role_holders_become_the_convenience_members_bucket_policies_bind(
        gcs: Gcs, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    viewers = f"projectViewer:{PROJECT}"
    two_classes(gcs, notes=[{"role": "roles/storage.legacyObjectReader", "members": [viewers]}])
    gcs.cloud.policies[f"projects/{PROJECT}"] = gcp_cloud.policy(
        {"role": "roles/viewer", "members": [f"group:support@{DOMAIN}"]},
        {"role": "roles/storage.objectCreator", "members": [f"user:uploader@{DOMAIN}"]})
    snapshot = collect(cli, tmp_path, "--project", PROJECT)
    support = attributes(snapshot, f"group:support@{DOMAIN}")
    assert support["can_read"] == [] and support["can_become"] == [viewers]
    assert support["can_become_via"] == {viewers: f"roles/viewer on project {PROJECT} "
                                                  f"(convenience member {viewers})"}
    assert attributes(snapshot, viewers)["can_read"] == ["gs://notes"]
    assert attributes(snapshot, f"user:uploader@{DOMAIN}")["can_become"] == []
    _, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-SEG-002")
    assert passes(report, "PHI-SEG-002", f"group:support@{DOMAIN}")  # clinical notes only
    gcs.bucket("billing-2", labels={"data_class": "administrative"},
               bindings=[{"role": "roles/storage.objectViewer", "members": [f"group:support@{DOMAIN}"]}])
    code, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-SEG-002")
    [support_finding] = finding(report, "PHI-SEG-002", f"group:support@{DOMAIN}")
    assert support_finding["status"] == "fail"
    # The uploader may be in the support group (no directory export): undecided, and exit 3.
    assert [f["status"] for f in finding(report, "PHI-SEG-002", f"user:uploader@{DOMAIN}")] == ["error"]
    assert code == 3


def test_without_a_directory_a_group_that_may_hold_someone_makes_their_segmentation_undecided(
        gcs: Gcs, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    clinicians, alice, bob = f"group:clinicians@{DOMAIN}", f"user:alice@{DOMAIN}", f"user:bob@{DOMAIN}"
    gcs.bucket("notes", labels={"data_class": "clinical"},
               bindings=[{"role": "roles/storage.objectViewer", "members": [clinicians, bob]}], **UNIFORM)
    gcs.bucket("notes-archive", labels={"data_class": "clinical"},
               bindings=[{"role": "roles/storage.objectViewer", "members": [clinicians]}], **UNIFORM)
    gcs.bucket("billing", labels={"data_class": "administrative"},
               bindings=[{"role": "roles/storage.objectViewer", "members": [alice]}], **UNIFORM)
    snapshot = collect(cli, tmp_path, "--project", PROJECT)
    # Alice reads administrative data and may be a clinician: undecided, and said why.
    assert attributes(snapshot, alice)["access_unseen"] == [
        f"{clinicians}: membership not known, and it reaches data this principal does not otherwise "
        "reach (give a directory export with --gcp-groups FILE)"]
    # Bob already reads clinical data: whether he is a clinician changes nothing. Decided.
    assert attributes(snapshot, bob)["access_unseen"] == []
    assert attributes(snapshot, clinicians)["access_unseen"] == []
    code, report = scan(cli, tmp_path, "--project", PROJECT)
    [undecided] = finding(report, "PHI-SEG-002", alice)
    assert undecided["status"] == "error" and "--gcp-groups" in undecided["message"]
    assert passes(report, "PHI-SEG-002", bob)
    assert code == 3


def test_a_group_whose_role_is_unknown_leaves_whoever_may_be_in_it_undecided(
        gcs: Gcs, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    # The group reads nothing that was seen, but its custom role is described nowhere: it may
    # read the clinical notes, so Alice, who reads billing files, may read them as a member.
    clinicians, alice = f"group:clinicians@{DOMAIN}", f"user:alice@{DOMAIN}"
    mystery = f"projects/{PROJECT}/roles/mystery"
    two_classes(gcs, notes=[{"role": mystery, "members": [clinicians]}],
                billing=[{"role": "roles/storage.objectViewer", "members": [alice]}])
    snapshot = collect(cli, tmp_path, "--project", PROJECT)
    assert attributes(snapshot, alice)["access_unseen"] == [
        f"{clinicians}: membership not known, and what it reaches is not all seen "
        "(give a directory export with --gcp-groups FILE)"]
    code, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-SEG-002")
    assert [f["status"] for f in finding(report, "PHI-SEG-002", alice)] == ["error"]
    assert code == 3
    # With the export, Alice is known not to be a clinician: decided.
    export = tmp_path / "groups.csv"
    export.write_text(f"group,member\n{clinicians},\n")
    code, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-SEG-002", "--gcp-groups", str(export))
    assert passes(report, "PHI-SEG-002", alice)


def test_a_user_is_in_the_domain_of_its_address_and_may_be_in_another(
        gcs: Gcs, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    domain, staff, guest = f"domain:{DOMAIN}", f"user:staff@{DOMAIN}", "user:guest@partner.example"
    two_classes(gcs, notes=[{"role": "roles/storage.objectViewer", "members": [domain]}],
                billing=[{"role": "roles/storage.objectViewer", "members": [staff, guest]}])
    snapshot = collect(cli, tmp_path, "--project", PROJECT)
    staff_attributes = attributes(snapshot, staff)
    assert staff_attributes["can_become_via"] == {domain: f"in {domain} (its e-mail address)"}
    assert staff_attributes["member_of"] == [domain] and staff_attributes["access_unseen"] == []
    assert len(attributes(snapshot, guest)["access_unseen"]) == 1  # a secondary domain's user may be in it
    assert attributes(snapshot, domain)["can_read"] == ["gs://notes"]
    code, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-SEG-002")
    assert [f["status"] for f in finding(report, "PHI-SEG-002", staff)] == ["fail"]  # billing, and notes as staff
    assert [f["status"] for f in finding(report, "PHI-SEG-002", guest)] == ["error"]
    assert code == 3  # incomplete evidence outranks the failure


def test_a_directory_export_joins_memberships_and_decides_them(
        gcs: Gcs, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    clinicians, nested = f"group:clinicians@{DOMAIN}", f"group:night-shift@{DOMAIN}"
    alice, carol = f"user:alice@{DOMAIN}", f"user:carol@{DOMAIN}"
    two_classes(gcs, notes=[{"role": "roles/storage.objectViewer", "members": [clinicians]}],
                billing=[{"role": "roles/storage.objectViewer", "members": [alice, carol]}])
    export = tmp_path / "groups.json"
    export.write_text(json.dumps({clinicians: [alice, nested], nested: []}))
    snapshot = collect(cli, tmp_path, "--project", PROJECT, "--gcp-groups", str(export))
    assert attributes(snapshot, alice)["can_become_via"] == {clinicians: f"member of {clinicians} (directory export)"}
    assert attributes(snapshot, alice)["member_of"] == [clinicians]
    assert attributes(snapshot, nested)["can_become"] == [clinicians]  # nested: the engine closes the chain
    assert attributes(snapshot, alice)["access_unseen"] == []
    carol_attributes = attributes(snapshot, carol)  # not in the listed group: decided, not a member
    assert (carol_attributes["can_become"], carol_attributes["access_unseen"]) == ([], [])
    # The same memberships as CSV, from the config.
    csv_export = tmp_path / "groups.csv"
    csv_export.write_text(f"group,member\n{clinicians},{alice}\n{clinicians},{nested}\n{nested},\n")
    code, report = scan(cli, tmp_path, "--project", PROJECT, settings={"groups": str(csv_export)})
    assert passes(report, "PHI-SEG-002", carol)
    # Alice reads billing files herself and clinical notes as a clinician: the engine joins them.
    [alice_finding] = [f for f in report["findings"] if (f["policy_id"], f["resource"]["id"]) == ("PHI-SEG-002", alice)]
    assert alice_finding["status"] == "fail"
    assert f"(member of {clinicians} (directory export))" in json.dumps(alice_finding)
    assert code == 1


@pytest.mark.parametrize(("content", "message"), [
    ('{"group:a@x.fr": "user:b@x.fr"}', "its members must be a list"),
    ('{"user:a@x.fr": []}', "is not a group:, domain: or principalSet:// member"),
    ("group,member\ngroup:a@x.fr,bob\n", "groups.csv:2: member: 'bob' is not a member string"),
    ("member,group\n", "groups.csv:1: a CSV directory export starts with the header 'group,member'"),
    ('{"group:a@x.fr": [}', "groups.csv:1:19: not JSON"),
], ids=["members-not-a-list", "not-a-container", "bad-member", "bad-header", "bad-json"])
def test_a_bad_directory_export_exits_2_naming_file_and_line(
        cli: Callable[..., CliResult], tmp_path: Path, recorded: Any, content: str, message: str) -> None:
    export = tmp_path / "groups.csv"
    export.write_text(content)
    result = cli("scan", "--provider", "gcp", "--project", PROJECT, "--gcp-groups", str(export))
    assert result.code == 2 and message in result.err and "Traceback" not in result.err


@pytest.mark.parametrize("content", [
    "\ufeffgroup,member\r\ngroup:a@x.fr,user:b@x.fr\r\ngroup:a@x.fr,group:c@x.fr\r\n",
    '\ufeff{"group:a@x.fr": ["user:b@x.fr", "group:c@x.fr"]}\r\n',
], ids=["csv", "json"])
def test_a_directory_export_saved_by_a_spreadsheet_reads_like_any_other(tmp_path: Path, content: str) -> None:
    # Spreadsheets and Windows tools write a byte-order mark and CRLF line ends.
    export = tmp_path / "groups.csv"
    export.write_bytes(content.encode())
    assert load_directory(export).members == {"group:a@x.fr": frozenset({"user:b@x.fr", "group:c@x.fr"})}


@pytest.mark.parametrize("content", [
    f'{{"group:clinicians@{DOMAIN}": ["user:alice@{DOMAIN}"], "group:clinicians@{DOMAIN}": []}}',
    f"group,member\ngroup:Clinicians@{DOMAIN},user:alice@{DOMAIN}\ngroup:clinicians@{DOMAIN},\n",
], ids=["json-key-twice", "csv-two-spellings"])
def test_a_group_listed_twice_keeps_every_member_listed(
        gcs: Gcs, cli: Callable[..., CliResult], tmp_path: Path, content: str) -> None:
    clinicians, alice = f"group:clinicians@{DOMAIN}", f"user:alice@{DOMAIN}"
    two_classes(gcs, notes=[{"role": "roles/storage.objectViewer", "members": [clinicians]}],
                billing=[{"role": "roles/storage.objectViewer", "members": [alice]}])
    export = tmp_path / "groups.txt"
    export.write_text(content)
    snapshot = collect(cli, tmp_path, "--project", PROJECT, "--gcp-groups", str(export))
    assert attributes(snapshot, alice)["can_become"] == [clinicians]


@pytest.mark.parametrize(("target", "permission", "scope"), [
    ("policies", "resourcemanager.projects.getIamPolicy", f"projects/{PROJECT}"),
    ("ancestry", "resourcemanager.projects.get", f"project {PROJECT}"),
    ("accounts", "iam.serviceAccounts.list", f"project {PROJECT}"),
    ("folder", "resourcemanager.folders.getIamPolicy", FOLDER),
], ids=["project-policy", "ancestry", "service-accounts", "folder-policy"])
def test_an_unread_policy_above_the_buckets_is_an_error_never_a_pass(
        recorded: responses.RequestsMock, cloud: Cloud, cli: Callable[..., CliResult], tmp_path: Path, *,
        target: str, permission: str, scope: str) -> None:
    recorded.add(responses.GET, list_url(PROJECT), json={"items": [
        bucket_json("notes"), bucket_json("billing", labels={"data_class": "administrative"})]})
    recorded.add(responses.GET, iam_url("notes"), json={"version": 1, "bindings": []})
    recorded.add(responses.GET, iam_url("billing"), json={"version": 1, "bindings": [
        {"role": "roles/storage.objectViewer", "members": [ANALYST]}]})
    cloud.ancestry[PROJECT] = [f"projects/{PROJECT}", FOLDER]
    if target == "policies":
        cloud.policies[f"projects/{PROJECT}"] = 403
    elif target == "ancestry":
        cloud.ancestry[PROJECT] = 403
    elif target == "accounts":
        cloud.accounts[PROJECT] = 403
    else:
        cloud.policies[FOLDER] = 403
    code, report = scan(cli, tmp_path, "--project", PROJECT, settings=FAST_RETRIES)
    assert code == 3
    [error] = report["collection_errors"]
    assert error["permission"] == permission and error["message"].startswith(scope)
    assert "caller@example.org" not in json.dumps(report)
    # The analyst reads administrative data, and maybe clinical data through the unread policy.
    [undecided] = finding(report, "PHI-SEG-002", ANALYST)
    gap = "gcp " + error["message"].split(";")[0]  # the unread policy, named in access_unseen
    assert undecided["status"] == "error" and gap in undecided["message"]
    assert counts(report, "PHI-SEG-002")["pass"] == 0


def test_the_graph_reads_page_through_service_accounts_and_send_only_reads(
        recorded: responses.RequestsMock, cloud: Cloud, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    emails = [f"sa-{i}@{PROJECT}.iam.gserviceaccount.com" for i in range(5)]
    cloud.accounts[PROJECT], cloud.page_size = emails, 2
    cloud.account_policies[emails[4]] = gcp_cloud.policy({"role": "roles/iam.serviceAccountKeyAdmin",
                                                "members": [ANALYST]})
    recorded.add(responses.GET, list_url(PROJECT), json={"items": [bucket_json("notes")]})
    recorded.add(responses.GET, iam_url("notes"), json={"version": 1, "bindings": []})
    with RequestLog() as log:
        provider_records = list(GcpProvider(GcpSettings(projects=(PROJECT,), **FAST_RETRIES), None).collect())
    log.assert_read_only()
    posts = sorted(urlsplit(u).path for m, u in log.sent if m == "POST")
    assert len(posts) == 1 + 1 + len(emails)  # ancestry, project policy, one policy per account
    principals = {r.id: r for r in provider_records if getattr(r, "kind", None) == "principal"}
    assert set(principals) == {ANALYST, *(f"serviceAccount:{e}" for e in emails)}
    assert principals[ANALYST].attributes["can_become_via"] == {
        f"serviceAccount:{emails[4]}": "roles/iam.serviceAccountKeyAdmin on the service account: "
                                       "iam.serviceAccountKeys.create"}


def test_projects_left_out_by_project_are_read_as_context(
        recorded: responses.RequestsMock, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    from phigate.api import Context
    from phigate.testing import run_context

    admin = "mlm-sante-admin"
    recorded.add(responses.GET, list_url(PROJECT), json={"items": [bucket_json("notes")]})
    recorded.add(responses.GET, list_url(admin), json={"items": [
        bucket_json("billing", labels={"data_class": "administrative"})]})
    recorded.add(responses.GET, iam_url("notes"), json={"version": 1, "bindings": [
        {"role": "roles/storage.objectViewer", "members": [ANALYST]}]})
    recorded.add(responses.GET, iam_url("billing"), json={"version": 1, "bindings": [
        {"role": "roles/storage.objectViewer", "members": [ANALYST, f"user:clerk@{DOMAIN}"]}]})
    context = run_context(options={"gcp_projects": [PROJECT]},
                            settings={"projects": [PROJECT, admin], **FAST_RETRIES})
    [provider] = GcpProvider.configure([], context)
    assert [s.scope for s in provider.scopes()] == [PROJECT]  # reported: the narrowed project only
    records = list(provider.collect())
    context = {r.resource.id for r in records if isinstance(r, Context)}
    reported = {r.id for r in records if isinstance(r, Resource)}
    assert context == {"gs://billing", "gs://billing/iam-policy", f"user:clerk@{DOMAIN}"}
    assert reported == {"gs://notes", "gs://notes/iam-policy", ANALYST}
    # The analyst, reported, reads both: the administrative bucket was reasoned about.
    analyst = next(r for r in records if isinstance(r, Resource) and r.id == ANALYST)
    assert analyst.attributes["can_read"] == ["gs://billing", "gs://notes"] and analyst.scope == PROJECT
    # Through the command line: only the narrowed project is reported, the analyst fails on both.
    code, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-SEG-002", "--only", "PHI-ENC-002",
                        settings={"projects": [PROJECT, admin], **FAST_RETRIES})
    assert failing(report) == {"PHI-SEG-002": [ANALYST], "PHI-ENC-002": ["gs://notes"]}
    assert not [f for f in report["findings"] if f["resource"]["id"] in context]
    assert code == 1
    # A snapshot keeps them apart, and scanning it later reasons the same way.
    config = tmp_path / "phigate.yaml"  # written by scan() above
    snapshot = collect(cli, tmp_path, "--project", PROJECT, "--config", str(config))
    assert {r["id"] for r in snapshot["context"]} == context
    assert set(snapshot["by_id"]) == reported
    rescan = tmp_path / "rescan.json"
    assert cli("scan", str(tmp_path / "snapshot.json"), "--only", "PHI-SEG-002", "--format",
               f"json={rescan}", "-q").code == 1
    assert failing(json.loads(rescan.read_text())) == {"PHI-SEG-002": [ANALYST]}


# --- public access prevention set above the buckets ---------------------------------------

@pytest.mark.parametrize(("prevention", "blocked"), [(True, True), (False, False), (403, False)])
def test_public_access_prevention_inherited_from_an_enforcing_organisation_policy_blocks(
        gcs: Gcs, cli: Callable[..., CliResult], tmp_path: Path, prevention: bool | int, blocked: bool) -> None:
    # A bucket's iamConfiguration.publicAccessPrevention "inherited" follows the organisation
    # policy constraint storage.publicAccessPrevention in effect on its project
    # (https://cloud.google.com/storage/docs/public-access-prevention); one that cannot be read
    # leaves the bucket's own setting: a failure, never a pass.
    pap = {"uniformBucketLevelAccess": {"enabled": True}}
    gcs.bucket("notes", labels={"data_class": "clinical"}, bindings=[],
               iamConfiguration={**pap, "publicAccessPrevention": "inherited"})
    gcs.bucket("archive", labels={"data_class": "clinical"}, bindings=[],
               iamConfiguration={**pap, "publicAccessPrevention": "enforced"})
    gcs.cloud.prevention[PROJECT] = prevention
    with RequestLog() as log:
        code, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-IAM-002", settings=FAST_RETRIES)
    log.assert_read_only()
    assert failing(report) == ({} if blocked else {"PHI-IAM-002": ["gs://notes"]})
    assert code == (0 if blocked else 1)


# --- fine-grained buckets: object ACLs are not read ----------------------------------------

def acl_gap(bucket: str) -> str:
    return (f"{bucket}: fine-grained access control: object ACLs, which are not read, may grant anyone "
            "read of its objects (turn on uniform bucket-level access so object ACLs no longer grant access)")


def test_a_member_without_a_grant_on_a_fine_grained_clinical_bucket_is_not_a_segmentation_pass(
        gcs: Gcs, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    # Without uniform bucket-level access an object's ACL may grant any member read
    # (https://cloud.google.com/storage/docs/access-control/lists); object ACLs are not read.
    clinician, billing = f"user:clinician@{DOMAIN}", f"user:billing@{DOMAIN}"
    gcs.bucket("notes", labels={"data_class": "clinical"},
               bindings=[{"role": "roles/storage.objectViewer", "members": [clinician]}],
               iamConfiguration={"uniformBucketLevelAccess": {"enabled": False},
                                 "publicAccessPrevention": "enforced"})
    gcs.bucket("billing", labels={"data_class": "administrative"}, bindings=[
        {"role": "roles/storage.objectViewer", "members": [billing, "allUsers"]}], **UNIFORM)
    gcs.bucket("scratch", bindings=[])  # fine-grained, unclassified: nobody's verdict depends on it
    snapshot = collect(cli, tmp_path, "--project", PROJECT)
    assert attributes(snapshot, billing)["access_unseen"] == [acl_gap("gs://notes")]
    assert attributes(snapshot, clinician)["access_unseen"] == []  # already reads clinical data
    assert attributes(snapshot, "allUsers")["access_unseen"] == []  # public access prevention enforced
    code, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-SEG-002")
    [undecided] = finding(report, "PHI-SEG-002", billing)
    assert undecided["status"] == "error" and "uniform bucket-level access" in undecided["message"]
    assert passes(report, "PHI-SEG-002", clinician) and passes(report, "PHI-SEG-002", "allUsers")
    assert code == 3


def test_a_fine_grained_administrative_bucket_leaves_readers_of_clinical_data_undecided(
        gcs: Gcs, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    clinician, billing = f"user:clinician@{DOMAIN}", f"user:billing@{DOMAIN}"
    gcs.bucket("notes", labels={"data_class": "clinical"},
               bindings=[{"role": "roles/storage.objectViewer", "members": [clinician]}], **UNIFORM)
    gcs.bucket("billing", labels={"data_class": "administrative"},
               bindings=[{"role": "roles/storage.objectViewer", "members": [billing, "allUsers"]}])
    snapshot = collect(cli, tmp_path, "--project", PROJECT)
    # An ACL granting the clinician administrative data would fail segmentation; the public, not
    # protected by public access prevention here, reads administrative data already.
    assert attributes(snapshot, clinician)["access_unseen"] == [acl_gap("gs://billing")]
    assert attributes(snapshot, billing)["access_unseen"] == []
    assert attributes(snapshot, "allUsers")["access_unseen"] == []
    assert attributes(snapshot, clinician)["access_unseen_about"] == {acl_gap("gs://billing"): "gs://billing"}
    code, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-SEG-002")
    assert [f["status"] for f in finding(report, "PHI-SEG-002", clinician)] == ["error"]
    assert passes(report, "PHI-SEG-002", billing)
    assert code == 3
    # Whoever reads the administrative bucket, no wildcard grant reaches clinical data through it.
    _, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-IAM-004")
    assert passes(report, "PHI-IAM-004", clinician)


# --- managed folders: grants on a prefix of a bucket ------------------------------------------

def test_a_grant_on_a_managed_folder_reads_the_bucket_and_can_make_it_public(
        gcs: Gcs, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    secretary, uploader = f"user:secretary@{DOMAIN}", f"user:scanner@{DOMAIN}"
    gcs.bucket("notes", labels={"data_class": "clinical"}, bindings=[], **UNIFORM)
    gcs.bucket("billing", labels={"data_class": "administrative"}, bindings=[
        {"role": "roles/storage.objectViewer", "members": [secretary, uploader]}], **UNIFORM)
    # Fine-grained: no folders. Public access prevention keeps its object ACLs from the public.
    gcs.bucket("legacy", labels={"data_class": "administrative"}, bindings=[],
               iamConfiguration={"publicAccessPrevention": "enforced"})
    gcs.cloud.folders["notes"] = {
        "patients/dupont/": gcp_cloud.policy({"role": "roles/storage.objectViewer", "members": [secretary]},
                                             {"role": "roles/storage.objectCreator", "members": [uploader]}),
        "leaflets/": gcp_cloud.policy({"role": "roles/storage.objectViewer", "members": ["allUsers"]})}
    with RequestLog() as log:
        snapshot = collect(cli, tmp_path, "--project", PROJECT)
    assert not [u for _, u in log.sent if "/b/legacy/managedFolders" in u]
    assert any(u.endswith("/b/notes/managedFolders/patients%2Fdupont%2F/iam?optionsRequestedPolicyVersion=3&"
                          "prettyPrint=false") for _, u in log.sent)
    log.assert_read_only()
    assert attributes(snapshot, secretary)["can_read_via"] == {
        "gs://billing": "roles/storage.objectViewer on the bucket",
        "gs://notes": "roles/storage.objectViewer on managed folder patients/dupont/ of the bucket"}
    assert attributes(snapshot, uploader)["can_read"] == ["gs://billing"]  # creates, never reads
    assert snapshot["by_id"]["gs://notes"]["attributes"]["public_access"]["grants"] == ["allUsers"]
    code, report = scan(cli, tmp_path, "--project", PROJECT)
    assert failing(report)["PHI-SEG-002"] == [secretary]
    assert "gs://notes" in failing(report)["PHI-IAM-002"]  # public through a folder
    assert code == 1


def test_unreadable_managed_folders_leave_the_bucket_and_its_readers_undecided(
        gcs: Gcs, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    gcs.bucket("notes", labels={"data_class": "clinical"}, bindings=[],
               iamConfiguration={"uniformBucketLevelAccess": {"enabled": True}, "publicAccessPrevention": "enforced"})
    gcs.bucket("billing", labels={"data_class": "administrative"},
               bindings=[{"role": "roles/storage.objectViewer", "members": [ANALYST]}], **UNIFORM)
    gcs.cloud.folders["notes"] = 403
    code, report = scan(cli, tmp_path, "--project", PROJECT, settings=FAST_RETRIES)
    assert code == 3
    errors = {e["resource_id"]: e for e in report["collection_errors"]}
    assert errors["gs://notes"]["permission"] == "storage.managedFolders.list"
    assert "managed folders" in errors["gs://notes"]["message"]
    assert ("PHI-IAM-002", "gs://notes") in statuses(report, "error")  # blocked, but grants unknown
    assert ("PHI-SEG-002", ANALYST) in statuses(report, "error")  # may read notes through a folder


def test_a_service_account_of_a_project_not_read_may_be_acted_as_by_anyone(
        gcs: Gcs, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    foreign = "serviceAccount:export@partner-lab.iam.gserviceaccount.com"
    agent = "serviceAccount:service-1234@gcp-sa-dataflow.iam.gserviceaccount.com"
    clerk = f"user:clerk@{DOMAIN}"
    two_classes(gcs, notes=[{"role": "roles/storage.objectViewer", "members": [foreign, agent]}],
                billing=[{"role": "roles/storage.objectViewer", "members": [clerk]}])
    snapshot = collect(cli, tmp_path, "--project", PROJECT)
    # Its policy lives in partner-lab, which this run did not read: anyone may hold a token
    # creator grant on it there, the clerk included.
    assert attributes(snapshot, clerk)["access_unseen"] == [
        f"{foreign}: who can act as it is not known (its project was not read), and it reaches data "
        "this principal does not otherwise reach"]
    # A Google-managed service agent: no customer grant lets anyone act as it.
    assert not [u for u in attributes(snapshot, clerk)["access_unseen"] if agent in u]
    code, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-SEG-002")
    assert [f["status"] for f in finding(report, "PHI-SEG-002", clerk)] == ["error"]
    assert code == 3


def test_a_service_account_of_a_context_project_has_a_known_policy(
        recorded: responses.RequestsMock, cloud: Cloud, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    foreign, clerk = "export@partner-lab.iam.gserviceaccount.com", f"user:clerk@{DOMAIN}"
    recorded.add(responses.GET, list_url(PROJECT), json={"items": [
        bucket_json("notes"), bucket_json("billing", labels={"data_class": "administrative"})]})
    recorded.add(responses.GET, list_url("partner-lab"), json={})
    recorded.add(responses.GET, iam_url("notes"), json={"version": 1, "bindings": [
        {"role": "roles/storage.objectViewer", "members": [f"serviceAccount:{foreign}"]}]})
    recorded.add(responses.GET, iam_url("billing"), json={"version": 1, "bindings": [
        {"role": "roles/storage.objectViewer", "members": [clerk]}]})
    cloud.accounts["partner-lab"] = [foreign]  # read as context: nobody may act as it
    code, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-SEG-002",
                        settings={"projects": [PROJECT, "partner-lab"], **FAST_RETRIES})
    assert passes(report, "PHI-SEG-002", clerk) and code == 0
    cloud.account_policies[foreign] = gcp_cloud.policy(
        {"role": "roles/iam.serviceAccountTokenCreator", "members": [clerk]})
    code, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-SEG-002",
                        settings={"projects": [PROJECT, "partner-lab"], **FAST_RETRIES})
    assert [f["status"] for f in finding(report, "PHI-SEG-002", clerk)] == ["fail"] and code == 1


def test_an_export_spelling_addresses_otherwise_still_names_the_same_people(
        gcs: Gcs, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    clinicians, alice = f"group:clinicians@{DOMAIN}", f"user:alice@{DOMAIN}"
    two_classes(gcs, notes=[{"role": "roles/storage.objectViewer", "members": [clinicians]}],
                billing=[{"role": "roles/storage.objectViewer", "members": [alice]}])
    export = tmp_path / "groups.csv"
    export.write_text(f"group,member\ngroup:Clinicians@{DOMAIN.upper()},user:Alice@{DOMAIN}\n")
    snapshot = collect(cli, tmp_path, "--project", PROJECT, "--gcp-groups", str(export))
    assert attributes(snapshot, alice)["can_become"] == [clinicians]
    assert f"user:Alice@{DOMAIN}" not in snapshot["by_id"]


@pytest.mark.parametrize("binding", [
    {"role": "roles/storage.objectViewer", "members": f"user:analyst@{DOMAIN}"},
    {"members": [ANALYST]},
], ids=["members-a-string", "no-role"])
def test_a_policy_of_another_shape_is_an_error_not_a_smaller_grant(
        recorded: responses.RequestsMock, cloud: Cloud, cli: Callable[..., CliResult], tmp_path: Path,
        binding: dict[str, Any]) -> None:
    recorded.add(responses.GET, list_url(PROJECT), json={"items": [bucket_json("notes")]})
    recorded.add(responses.GET, iam_url("notes"), json={"version": 1, "bindings": []})
    cloud.policies[f"projects/{PROJECT}"] = {"version": 1, "etag": "BwYRh8pQ3xA=", "bindings": [binding]}
    code, report = scan(cli, tmp_path, "--project", PROJECT, settings=FAST_RETRIES)
    [error] = report["collection_errors"]
    assert error["message"].startswith(f"projects/{PROJECT}: cannot read the IAM policy: unexpected answer")
    assert code == 3
