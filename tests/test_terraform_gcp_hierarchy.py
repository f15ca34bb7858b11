"""Grants of a plan on folders and organisations, and its IAM deny policies, as the gcp provider
reads them live: public grants above make the plan's stores public, other grants reach every
store of the plan, and a deny policy attached where a grant sits takes it away."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from phigate.api import Unknown

from .conftest import CliResult
from .test_terraform_gcp_stores import PROJECT, block, bucket, collect, dataset, plan_file
from .test_terraform_provider import outcomes

Cli = Callable[..., CliResult]
FOLDER = "folders/612030981234"
DATASET = f"//bigquery.googleapis.com/projects/{PROJECT}/datasets/clinical_dw"


def folder_member(name: str, role: str, member: str) -> dict[str, Any]:
    return block(f"google_folder_iam_member.{name}", {"folder": FOLDER, "role": role, "member": member,
                                                      "condition": []}, {"etag": True})


def org_member(name: str, role: str, member: str) -> dict[str, Any]:
    return block(f"google_organization_iam_member.{name}", {"org_id": "433637338589", "role": role,
                                                            "member": member, "condition": []}, {"etag": True})


def deny(name: str, parent: str, *rules: dict[str, Any]) -> dict[str, Any]:
    """A ``google_iam_deny_policy`` (its ``parent`` URL-encoded, as the provider's documentation
    writes it), each rule a ``deny_rule`` block."""
    encoded = "cloudresourcemanager.googleapis.com%2F" + parent.replace("/", "%2F")
    blocks = [{"description": "guardrail", "deny_rule": [{
        "denied_principals": [], "exception_principals": [], "denied_permissions": [],
        "exception_permissions": [], "denial_condition": [], **rule}]} for rule in rules]
    return block(f"google_iam_deny_policy.{name}", {"parent": encoded, "name": name,
                                                    "display_name": name, "rules": blocks}, {"etag": True})


def test_public_grants_on_a_folder_make_the_plans_stores_public_unless_denied_there(
        tmp_path: Path, cli: Cli) -> None:
    stores = (bucket("notes", labels={"data_class": "clinical"}, uniform=True),
              bucket("billing", labels={"data_class": "administrative"}, uniform=True, prevention="enforced"),
              dataset("clinical", "clinical_dw", labels={"data_class": "clinical"},
                      access=[{"role": "OWNER", "special_group": "projectOwners"}]))
    public = (folder_member("public", "roles/storage.objectViewer", "allUsers"),
              org_member("signed_in", "roles/bigquery.dataViewer", "allAuthenticatedUsers"))
    found, _, _ = collect(plan_file(tmp_path, *stores, *public))
    assert found["google_storage_bucket.notes"].attributes["public_access"] == {"blocked": False,
                                                                                "grants": ["allUsers"]}
    assert found["google_storage_bucket.billing"].attributes["public_access"]["grants"] == []  # enforced
    assert found["google_bigquery_dataset.clinical"].attributes["public_access"] == {
        "blocked": False, "grants": ["allAuthenticatedUsers"]}
    result = cli("scan", str(plan_file(tmp_path, *stores, *public)), "--only", "PHI-IAM-002", "--format", "json")
    assert {name for status, _, name in outcomes(result) if status == "fail"} == {
        "google_storage_bucket.notes", "google_bigquery_dataset.clinical"}
    # Denied to everyone where it is granted: the folder's grant no longer opens the bucket.
    guard = deny("guardrails", FOLDER, {"denied_principals": ["principalSet://goog/public:all"],
                                        "denied_permissions": ["storage.googleapis.com/objects.get"]})
    found, _, _ = collect(plan_file(tmp_path, *stores, *public, guard))
    assert found["google_storage_bucket.notes"].attributes["public_access"]["grants"] == []
    # Attached elsewhere (the plan does not say whether its stores are below): nothing taken away.
    elsewhere = deny("elsewhere", "folders/9", {"denied_principals": ["principalSet://goog/public:all"],
                                                "denied_permissions": ["storage.googleapis.com/objects.get"]})
    found, _, _ = collect(plan_file(tmp_path, *stores, *public, elsewhere))
    assert found["google_storage_bucket.notes"].attributes["public_access"]["grants"] == ["allUsers"]


def test_folder_and_organisation_grants_reach_the_plans_stores_and_a_deny_there_takes_them_away(
        tmp_path: Path, cli: Cli) -> None:
    stores = (bucket("notes", labels={"data_class": "clinical"}, uniform=True),
              bucket("billing", labels={"data_class": "administrative"}, uniform=True))
    grants = (folder_member("analyst", "roles/storage.objectViewer", "user:analyst@exemplum.fr"),
              org_member("auditor", "roles/storage.objectViewer", "user:auditor@exemplum.fr"))
    found, _, _ = collect(plan_file(tmp_path, *stores, *grants))
    analyst = found["analyst@exemplum.fr"].attributes
    assert analyst["can_read_via"]["gs://exemplum-notes"] == "roles/storage.objectViewer on folder 612030981234"
    assert analyst["can_read_via_wildcard"] == ["gs://exemplum-billing", "gs://exemplum-notes"]
    # As live: a grant on a folder reaches projects the plan does not hold.
    assert analyst["access_unseen"] == [f"gcp {FOLDER}: projects under it that were not audited "
                                        "(reached by roles/storage.objectViewer)"]
    result = cli("scan", str(plan_file(tmp_path, *stores, *grants)), "--only", "PHI-SEG-002", "--format", "json")
    assert ("fail", "PHI-SEG-002", "analyst@exemplum.fr") in outcomes(result)
    guard = deny("guardrails", FOLDER, {"denied_principals": ["principal://goog/subject/analyst@exemplum.fr"],
                                        "denied_permissions": ["storage.googleapis.com/objects.*"]})
    found, _, _ = collect(plan_file(tmp_path, *stores, *grants, guard))
    assert found["analyst@exemplum.fr"].attributes["can_read"] == []
    assert found["auditor@exemplum.fr"].attributes["can_read"] == ["gs://exemplum-billing", "gs://exemplum-notes"]


def test_a_folder_grant_known_only_after_apply_leaves_reach_and_public_exposure_unknown(tmp_path: Path) -> None:
    later = block("google_folder_iam_member.later", {"folder": FOLDER, "role": "roles/storage.objectViewer"},
                  {"etag": True, "member": True})
    found, _, _ = collect(plan_file(tmp_path, bucket("notes", labels={"data_class": "clinical"}, uniform=True),
                                    later))
    grants = found["google_storage_bucket.notes"].attributes["public_access"]["grants"]
    assert isinstance(grants, Unknown) and "google_folder_iam_member.later" in grants.reason
