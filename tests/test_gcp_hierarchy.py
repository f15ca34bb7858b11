"""What a project inherits from above it: public grants on the project, its folders and its
organisation, and IAM deny policies attached there. Buckets on the Cloud Storage emulator;
Resource Manager, IAM (v1 and v2) and BigQuery replayed in their recorded shapes
(``tests/gcp_cloud.py``, ``tests/gcp_stores.py``)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import gcp_cloud
from . import test_gcp_provider as gcp
from .conftest import CliResult
from .test_gcp_provider import (
    ANALYST,
    DOMAIN,
    ETL,
    FOLDER,
    ORG,
    PROJECT,
    UNIFORM,
    Gcs,
    attributes,
    collect,
    finding,
    scan,
    two_classes,
)

#: The emulator and the buckets-and-recorded-IAM fixtures of the provider's own tests.
emulator, gcs = gcp.emulator, gcp.gcs

ENFORCED = {"iamConfiguration": {"uniformBucketLevelAccess": {"enabled": True},
                                 "publicAccessPrevention": "enforced"}}
DATASET = f"//bigquery.googleapis.com/projects/{PROJECT}/datasets/ehr"
READ_OBJECTS = "storage.googleapis.com/objects.get"


def _estate(state: Gcs) -> None:
    """A clinical bucket following the organisation's prevention setting, an administrative one
    enforcing it, a clinical BigQuery dataset; the project under a folder under an organisation."""
    state.bucket("notes", labels={"data_class": "clinical"}, **UNIFORM)
    state.bucket("billing", labels={"data_class": "administrative"}, **ENFORCED)
    state.cloud.stores.dataset(PROJECT, "ehr", labels={"data_class": "clinical"}, access=[])
    state.cloud.ancestry[PROJECT] = [f"projects/{PROJECT}", FOLDER, ORG]


def _public(snapshot: dict[str, Any], store: str) -> dict[str, Any]:
    return dict(snapshot["by_id"][store]["attributes"]["public_access"])


def test_public_grants_on_a_folder_or_the_organisation_reach_the_stores_their_role_reads(
        gcs: Gcs, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    _estate(gcs)
    gcs.cloud.policies[FOLDER] = gcp_cloud.policy({"role": "roles/storage.objectViewer", "members": ["allUsers"]})
    gcs.cloud.policies[ORG] = gcp_cloud.policy(
        {"role": "roles/bigquery.dataViewer", "members": ["allAuthenticatedUsers"]},
        {"role": "roles/browser", "members": ["allUsers"]})  # reads no data
    gcs.cloud.roles["roles/browser"] = ["resourcemanager.folders.get", "resourcemanager.projects.get"]
    snapshot = collect(cli, tmp_path, "--project", PROJECT)
    assert _public(snapshot, "gs://notes") == {"blocked": False, "grants": ["allUsers"]}
    # Public access prevention stops the public however they are granted.
    assert _public(snapshot, "gs://billing") == {"blocked": True, "grants": []}
    assert _public(snapshot, DATASET) == {"blocked": False, "grants": ["allAuthenticatedUsers"]}
    code, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-IAM-002")
    failed = {f["resource"]["id"] for f in report["findings"] if f["status"] == "fail"}
    assert failed == {"gs://notes", DATASET}
    assert code == 1


def test_a_policy_above_that_cannot_be_read_leaves_public_exposure_unknown_unless_decided(
        gcs: Gcs, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    _estate(gcs)
    gcs.cloud.policies[FOLDER] = 403
    snapshot = collect(cli, tmp_path, "--project", PROJECT)
    assert _public(snapshot, "gs://notes") == {"blocked": False}  # grants unknown
    assert _public(snapshot, "gs://billing") == {"blocked": True, "grants": []}  # decided: enforced
    assert "public_access" not in snapshot["by_id"][DATASET]["attributes"]
    code, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-IAM-002")
    assert [f["status"] for f in finding(report, "PHI-IAM-002", DATASET)] == ["error"]
    # The bucket fails on what was seen (its prevention follows an organisation that does not enforce it).
    assert [f["status"] for f in finding(report, "PHI-IAM-002", "gs://notes")] == ["fail"]
    assert finding(report, "PHI-IAM-002", "gs://billing") == []
    errors = {e["resource_id"]: e for e in report["collection_errors"]}
    assert errors[DATASET]["permission"] == "resourcemanager.folders.getIamPolicy"
    assert errors[DATASET]["message"].startswith(f"{DATASET}: public grants unknown: {FOLDER}: cannot read "
                                                 "the IAM policy: permission denied: HTTP 403")
    assert "gs://billing" not in errors
    assert code == 3


def test_a_deny_policy_for_everyone_takes_a_public_grant_away_unless_conditional(
        gcs: Gcs, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    _estate(gcs)
    gcs.cloud.policies[FOLDER] = gcp_cloud.policy(
        {"role": "roles/storage.objectViewer", "members": ["allUsers"]},
        {"role": "roles/bigquery.dataViewer", "members": ["allUsers"]})
    gcs.cloud.denies[ORG] = [
        {"deniedPrincipals": ["principalSet://goog/public:all"], "deniedPermissions": [READ_OBJECTS],
         "exceptionPrincipals": ["principalSet://goog/group/break-glass@mlm-sante.example"]},
        {"deniedPrincipals": ["principalSet://goog/public:all"],
         "deniedPermissions": ["bigquery.googleapis.com/tables.*"],
         "denialCondition": {"title": "tagged restricted",
                             "expression": "resource.matchTag('433637338589/sensitivity', 'restricted')"}}]
    snapshot = collect(cli, tmp_path, "--project", PROJECT)
    # Whoever the break-glass group holds, it cannot hold everyone: the public is denied.
    assert _public(snapshot, "gs://notes") == {"blocked": False, "grants": []}
    # A deny under a condition on tags (not read) may not apply: the grant stays counted.
    assert _public(snapshot, DATASET) == {"blocked": False, "grants": ["allUsers"]}


def test_deny_policies_take_reads_and_impersonation_away_in_the_access_graph(
        gcs: Gcs, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    robot, dev, contractor = f"serviceAccount:{ETL}", f"user:dev@{DOMAIN}", f"user:temp@{DOMAIN}"
    two_classes(gcs, notes=[{"role": "roles/storage.objectViewer", "members": [robot]}])
    gcs.cloud.ancestry[PROJECT] = [f"projects/{PROJECT}", FOLDER, ORG]
    gcs.cloud.accounts[PROJECT] = [ETL]
    # Grants on the folder: an analyst reads every bucket below, developers mint the ETL
    # account's tokens, contractors read objects too.
    gcs.cloud.policies[FOLDER] = gcp_cloud.policy(
        {"role": "roles/storage.objectViewer", "members": [ANALYST, f"group:contractors@{DOMAIN}"]},
        {"role": "roles/iam.serviceAccountTokenCreator", "members": [dev, f"user:ops@{DOMAIN}"]})
    gcs.cloud.denies[f"projects/{PROJECT}"] = [
        {"deniedPrincipals": [f"principal://goog/subject/{dev.removeprefix('user:')}"],
         "deniedPermissions": ["iam.googleapis.com/serviceAccounts.*"]},
        # Contractors are denied, but the on-call group is excepted, and who is in it is known
        # only from a directory export.
        {"deniedPrincipals": [f"principalSet://goog/group/contractors@{DOMAIN}"],
         "exceptionPrincipals": [f"principalSet://goog/group/oncall@{DOMAIN}"],
         "deniedPermissions": [READ_OBJECTS]}]
    gcs.cloud.denies[FOLDER] = [
        # On the folder: in every project below, those not audited too.
        {"deniedPrincipals": [f"principal://goog/subject/{ANALYST.removeprefix('user:')}"],
         "deniedPermissions": [READ_OBJECTS]},
        # Only the token, not what else the role gives (signing as the account): still counted.
        {"deniedPrincipals": [f"principal://goog/subject/ops@{DOMAIN}"],
         "deniedPermissions": ["iam.googleapis.com/serviceAccounts.getAccessToken"]}]
    snapshot = collect(cli, tmp_path, "--project", PROJECT)
    analyst = attributes(snapshot, ANALYST)
    assert analyst["can_read"] == []
    assert not any("not audited" in gap for gap in analyst["access_unseen"])  # denied there too
    assert attributes(snapshot, dev)["can_become"] == []
    assert attributes(snapshot, f"user:ops@{DOMAIN}")["can_become"] == [robot]
    assert attributes(snapshot, f"group:contractors@{DOMAIN}")["can_read"] == ["gs://billing", "gs://notes"]
    groups = tmp_path / "groups.json"
    groups.write_text(json.dumps({f"group:contractors@{DOMAIN}": [contractor],
                                  f"group:oncall@{DOMAIN}": [f"user:oncall@{DOMAIN}"]}))
    listed = collect(cli, tmp_path, "--project", PROJECT, "--gcp-groups", str(groups))
    # The group's own grant is denied to each of its members, none of whom is on call.
    assert attributes(listed, contractor)["can_read"] == []
    assert attributes(listed, ANALYST)["access_unseen"] == []  # not a contractor
    _, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-SEG-002", "--gcp-groups", str(groups))
    assert finding(report, "PHI-SEG-002", ANALYST) == []
    # Ops reads clinical notes as the account, and may read more in the projects not audited.
    [ops] = finding(report, "PHI-SEG-002", f"user:ops@{DOMAIN}")
    assert ops["status"] == "error"


def test_deny_policies_that_cannot_be_read_take_nothing_away_and_say_so(
        gcs: Gcs, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    _estate(gcs)
    gcs.cloud.policies[FOLDER] = gcp_cloud.policy({"role": "roles/storage.objectViewer", "members": ["allUsers"]})
    gcs.cloud.denies[ORG] = 403
    snapshot = collect(cli, tmp_path, "--project", PROJECT)
    assert _public(snapshot, "gs://notes")["grants"] == ["allUsers"]
    code, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-IAM-002")
    assert report["notices"] == [f"gcp {ORG}: cannot read its IAM deny policies: permission denied: HTTP 403 "
                                 "(needs iam.denypolicies.list); what they deny is counted as granted"]
    assert report["collection_errors"] == []
    assert code == 1


def test_creating_keys_for_a_clinical_service_account_from_the_organisation_reaches_its_data(
        gcs: Gcs, cli: Callable[..., CliResult], tmp_path: Path) -> None:
    robot, minter = f"serviceAccount:{ETL}", f"user:minter@{DOMAIN}"
    key_maker = "organizations/433637338589/roles/keyMaker"
    two_classes(gcs, notes=[{"role": "roles/storage.objectViewer", "members": [robot]}],
                billing=[{"role": "roles/storage.objectViewer", "members": [minter]}])
    gcs.cloud.ancestry[PROJECT] = [f"projects/{PROJECT}", FOLDER, ORG]
    gcs.cloud.accounts[PROJECT] = [ETL]
    gcs.cloud.roles[key_maker] = ["iam.serviceAccountKeys.create", "iam.serviceAccounts.list"]
    gcs.cloud.policies[ORG] = gcp_cloud.policy({"role": key_maker, "members": [minter]})
    minted = attributes(collect(cli, tmp_path, "--project", PROJECT), minter)
    assert minted["can_become"] == [robot]
    assert minted["can_become_via"] == {robot: f"{key_maker} on organization 433637338589: "
                                               "iam.serviceAccountKeys.create"}
    _, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-SEG-002")
    [found] = finding(report, "PHI-SEG-002", minter)  # billing, and clinical notes as the account
    assert found["status"] == "fail"
    # A deny on key creation where the role is granted takes the path away (projects not audited too).
    gcs.cloud.denies[ORG] = [{"deniedPrincipals": [f"principal://goog/subject/minter@{DOMAIN}"],
                              "deniedPermissions": ["iam.googleapis.com/serviceAccountKeys.create"]}]
    denied = attributes(collect(cli, tmp_path, "--project", PROJECT), minter)
    assert denied["can_become"] == [] and denied["access_unseen"] == []
    _, report = scan(cli, tmp_path, "--project", PROJECT, "--only", "PHI-SEG-002")
    assert finding(report, "PHI-SEG-002", minter) == []
