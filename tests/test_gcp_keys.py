"""User-managed keys of Google service accounts that can read clinical data (PHI-AUTH-002):
buckets on the Cloud Storage emulator, the IAM key listing replayed in its recorded shape."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from phigate_providers.keyprint import key_hash

from . import test_gcp_provider as gcp
from .conftest import CliResult
from .test_gcp_provider import DOMAIN, ETL, PROJECT, Gcs, attributes, collect, scan, two_classes

#: The emulator and the buckets-and-recorded-IAM fixtures of the provider's own tests.
emulator, gcs = gcp.emulator, gcp.gcs

POLICY = "PHI-AUTH-002"
ARCHIVER = f"archiver@{PROJECT}.iam.gserviceaccount.com"
BILLING = f"billing@{PROJECT}.iam.gserviceaccount.com"
OLD_KEY_ID = "8f2d6c1e0b7a49d3c5e1f0a2b4d6c8e0a1b3c5d7"


def _days_ago(days: int) -> str:
    return (dt.datetime.now(dt.UTC) - dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _outcome(report: dict[str, Any], member: str) -> str:
    found = [f["status"] for f in report["findings"]
             if f["policy_id"] == POLICY and f["resource"]["id"] == member]
    return found[0] if found else "absent"


@pytest.fixture
def estate(gcs: Gcs) -> Gcs:
    """Three service accounts of the project: the ETL one and an archiver read clinical notes,
    a billing one reads administrative data; each holds one user-managed key."""
    viewer = "roles/storage.objectViewer"
    two_classes(gcs, notes=[{"role": viewer, "members": [f"serviceAccount:{ETL}", f"serviceAccount:{ARCHIVER}"]}],
                billing=[{"role": viewer, "members": [f"serviceAccount:{BILLING}"]}])
    gcs.cloud.accounts[PROJECT] = [ETL, ARCHIVER, BILLING]
    gcs.cloud.keys = {ETL: [(OLD_KEY_ID, _days_ago(200), False)],
                      ARCHIVER: [("0c1d2e3f", _days_ago(400), True), ("4a5b6c7d", _days_ago(12), False)],
                      BILLING: [("9e8d7c6b", _days_ago(500), False)]}
    return gcs


def _scan(cli: Callable[..., CliResult], tmp_path: Path) -> tuple[int, dict[str, Any]]:
    return scan(cli, tmp_path, "--project", PROJECT, "--only", POLICY, "--show-passed")


def test_an_old_user_managed_key_on_a_clinical_reader_fails(
        estate: Gcs, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    code, report = _scan(cli, tmp_path)
    assert _outcome(report, f"serviceAccount:{ETL}") == "fail"
    assert _outcome(report, f"serviceAccount:{ARCHIVER}") == "pass"  # the old key is disabled
    assert _outcome(report, f"serviceAccount:{BILLING}") == "pass"  # administrative data only
    assert report["collection_errors"] == []
    assert code == 1


def test_keys_are_kept_as_fingerprints_with_their_age(
        estate: Gcs, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    snapshot = collect(cli, tmp_path, "--project", PROJECT)
    keys = attributes(snapshot, f"serviceAccount:{ETL}")["access_keys"]
    assert keys == [{"id_hash": key_hash(OLD_KEY_ID), "active": True, "created": _days_ago(200)[:10],
                     "age_days": 200}]
    assert OLD_KEY_ID not in json.dumps(snapshot)
    assert [k["active"] for k in attributes(snapshot, f"serviceAccount:{ARCHIVER}")["access_keys"]] == [
        False, True]


def test_a_refused_key_listing_is_an_error_for_that_account_never_a_pass(
        estate: Gcs, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    estate.cloud.keys[ARCHIVER] = 403
    code, report = _scan(cli, tmp_path)
    assert _outcome(report, f"serviceAccount:{ARCHIVER}") == "error"
    [error] = report["collection_errors"]
    assert (error["resource_id"], error["permission"]) == (f"serviceAccount:{ARCHIVER}",
                                                           "iam.serviceAccountKeys.list")
    assert _outcome(report, f"serviceAccount:{ETL}") == "fail"  # the others are still judged
    assert code == 3  # incomplete evidence wins over the failure


def test_members_other_than_service_accounts_are_not_judged(
        estate: Gcs, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    estate.bucket("scans", labels={"data_class": "clinical"},
                  bindings=[{"role": "roles/storage.objectViewer", "members": [f"user:dr-martin@{DOMAIN}"]}])
    _, report = _scan(cli, tmp_path)
    assert not [f for f in report["findings"] if f["resource"]["id"].startswith("user:")]


def test_an_active_hmac_key_is_a_long_lived_key_of_its_service_account(
        estate: Gcs, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    """A Cloud Storage HMAC key signs requests as its service account from anywhere until it is
    deactivated: the billing account reads nothing clinical, the archiver does."""
    access = "GOOG1EXAMPLEACCESSIDFORTESTS0000000000000000000000000000"
    estate.cloud.keys[ARCHIVER] = []
    estate.cloud.hmac[PROJECT] = [(access, ARCHIVER, _days_ago(300), "ACTIVE"),
                                  ("GOOG1EOLD", ETL, _days_ago(900), "INACTIVE")]
    code, report = scan(cli, tmp_path, "--project", PROJECT, "--only", POLICY, "--only", "PHI-AUTH-005",
                        "--show-passed")
    assert _outcome(report, f"serviceAccount:{ARCHIVER}") == "fail"
    assert access not in json.dumps(report)
    assert report["collection_errors"] == [] and code == 1
    snapshot = collect(cli, tmp_path, "--project", PROJECT)
    assert attributes(snapshot, f"serviceAccount:{ARCHIVER}")["access_keys"] == [
        {"id_hash": key_hash(access), "active": True, "created": _days_ago(300)[:10], "age_days": 300}]


def test_an_unread_hmac_listing_is_an_error_never_a_pass(
        estate: Gcs, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    estate.cloud.hmac[PROJECT] = 403
    code, report = _scan(cli, tmp_path)
    assert _outcome(report, f"serviceAccount:{ARCHIVER}") == "error"
    assert {e["permission"] for e in report["collection_errors"]} == {"storage.hmacKeys.list"}
    assert code == 3
