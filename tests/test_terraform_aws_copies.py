"""Images and Glacier vaults of a Terraform plan (the clinic plan, with them added as
``terraform show -json`` writes them), read as the live reader reads them: images as volumes with
their launch permissions and their disks' encryption and class, vaults as object stores."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from phigate.api import Unknown

from .test_terraform_provider import PLAN, STORES_PLAN, Cli, collect, outcomes, variant_of
from .test_terraform_sign_in import _add

PARTNER = "444455556666"
VAULT_ARN = "arn:aws:glacier:eu-west-3:111122223333:vaults/scans"
PUBLIC_RETRIEVAL = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": "*", "Action": "glacier:InitiateJob", "Resource": VAULT_ARN}]})
KEEP_TEN_YEARS = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Deny", "Principal": "*", "Action": "glacier:DeleteArchive", "Resource": VAULT_ARN,
     "Condition": {"NumericLessThan": {"glacier:ArchiveAgeInDays": "3650"}}}]})


def _configured(plan: dict[str, Any], address: str) -> dict[str, Any]:
    return next(r for r in plan["configuration"]["root_module"]["resources"] if r["address"] == address)


def _trail(plan: dict[str, Any], values: dict[str, Any]) -> None:
    """The plan's trail (multi-region, logging, recording every management event and every
    bucket's object reads) with ``values`` instead (None: unset)."""
    planned = [r["values"] for r in plan["planned_values"]["root_module"]["resources"]
               if r["address"] == "aws_cloudtrail.main"]
    changed = [r["change"]["after"] for r in plan["resource_changes"] if r["address"] == "aws_cloudtrail.main"]
    for found in (*planned, *changed):
        found.update(values)
        for name in [k for k, v in values.items() if v is None]:
            del found[name]


def _plan(tmp_path: Path, trail: dict[str, Any] | None = None) -> Path:
    plan = json.loads(PLAN.read_text())
    if trail is not None:
        _trail(plan, trail)
    new = {"actions": ["create"], "unknown": {"id": True, "arn": True}}
    # A snapshot of the clinical scratch volume, registered as an image made public; a copy of
    # that image under the clinical key, shared with a partner; an image of an instance.
    _add(plan, "aws_ebs_snapshot", "scratch_nightly", {"tags": {}}, **new,
         references={"volume_id": "aws_ebs_volume.scratch"})
    _add(plan, "aws_ami", "pms", {"name": "pms", "tags": {}, "ebs_block_device": [
        {"device_name": "/dev/xvda", "encrypted": False}]}, **new)
    _configured(plan, "aws_ami.pms")["expressions"]["ebs_block_device"] = [
        {"device_name": {"constant_value": "/dev/xvda"},
         "snapshot_id": {"references": ["aws_ebs_snapshot.scratch_nightly.id", "aws_ebs_snapshot.scratch_nightly"]}}]
    _add(plan, "aws_ami_launch_permission", "pms_public", {"group": "all"}, **new,
         references={"image_id": "aws_ami.pms"})
    _add(plan, "aws_ami_copy", "pms_eu", {"name": "pms-eu", "encrypted": True, "tags": {"team": "care"}}, **new,
         references={"source_ami_id": "aws_ami.pms", "kms_key_id": "aws_kms_key.clinical"})
    _add(plan, "aws_ami_launch_permission", "pms_eu_partner", {"account_id": PARTNER}, **new,
         references={"image_id": "aws_ami_copy.pms_eu"})
    _add(plan, "aws_ami_from_instance", "web", {"name": "web", "tags": {"data_class": "administrative"}}, **new)
    _add(plan, "aws_ami_launch_permission", "elsewhere", {"image_id": "ami-0123456789abcdef0",
                                                          "account_id": PARTNER}, **new)
    # A clinical vault open to everyone, locked against deletion; an administrative one.
    _add(plan, "aws_glacier_vault", "scans", {"name": "scans", "access_policy": PUBLIC_RETRIEVAL,
                                              "tags": {"data_class": "clinical"}}, **new)
    _add(plan, "aws_glacier_vault_lock", "scans", {"complete_lock": True, "policy": KEEP_TEN_YEARS}, **new,
         references={"vault_name": "aws_glacier_vault.scans"})
    _add(plan, "aws_glacier_vault", "billing", {"name": "billing", "tags": {"data_class": "administrative"}}, **new)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    return path


def test_images_carry_their_sharing_their_disks_encryption_and_class(tmp_path: Path) -> None:
    resources, _, provider = collect(_plan(tmp_path))
    pms, copy, web = (resources[a] for a in ("aws_ami.pms", "aws_ami_copy.pms_eu", "aws_ami_from_instance.web"))
    assert (pms.kind, pms.type) == ("volume", "aws.ec2.image")
    assert pms.attributes["public_access"] == {"blocked": False, "grants": ["launchPermission:all"]}
    assert copy.attributes["public_access"] == {"blocked": True, "grants": []}
    assert copy.raw["shared_with"] == [PARTNER]
    # Its disk is the snapshot of the clinical volume: its encryption, its class.
    snapshot = resources["aws_ebs_snapshot.scratch_nightly"]
    assert pms.attributes["encryption"] == snapshot.attributes["encryption"]
    assert pms.tags["data_class"] == "clinical" and pms.raw["source"] == ["aws_ebs_snapshot.scratch_nightly"]
    # The copy names the clinical key, and carries its image's class under its own tags.
    assert copy.attributes["encryption"]["at_rest"] is True
    assert copy.attributes["encryption"]["key_manager"] == "customer"
    assert copy.tags == {"data_class": "clinical", "team": "care"}
    # An image of an instance: its disks are not in the plan.
    assert isinstance(web.attributes["encryption"]["at_rest"], Unknown)
    assert any("aws_ami_launch_permission.elsewhere" in n for n in provider.notices())


def test_vaults_carry_their_policy_lock_and_glaciers_encryption(tmp_path: Path) -> None:
    resources, _, _ = collect(_plan(tmp_path))
    scans, billing = resources["aws_glacier_vault.scans"], resources["aws_glacier_vault.billing"]
    assert (scans.kind, scans.type) == ("object_store", "aws.glacier.vault")
    assert scans.attributes["encryption"] == {"at_rest": True, "algorithm": "AES256", "key": None,
                                              "key_manager": "provider"}
    assert scans.attributes["public_access"] == {"blocked": False, "grants": ["*"]}
    assert billing.attributes["public_access"] == {"blocked": True, "grants": []}
    assert scans.attributes["retention"] == {"enabled": True, "locked": True, "days": None}
    assert billing.attributes["retention"] == {"enabled": False, "locked": False, "days": None}


def test_the_store_policies_judge_planned_images_and_vaults(tmp_path: Path, cli: Cli) -> None:
    result = cli("scan", str(_plan(tmp_path)), "--only", "PHI-IAM-002", "--only", "PHI-ENC-002",
                 "--only", "PHI-INT-001", "--show-passed", "--format", "json")
    found = outcomes(result)
    assert ("fail", "PHI-IAM-002", "aws_ami.pms") in found
    assert ("pass", "PHI-IAM-002", "aws_ami_copy.pms_eu") in found
    assert ("fail", "PHI-IAM-002", "aws_glacier_vault.scans") in found
    assert ("pass", "PHI-IAM-002", "aws_glacier_vault.billing") in found
    assert ("fail", "PHI-ENC-002", "aws_glacier_vault.scans") in found  # no customer key can be named
    assert ("pass", "PHI-ENC-002", "aws_ami_copy.pms_eu") in found
    assert ("pass", "PHI-INT-001", "aws_glacier_vault.scans") in found


# --- whether a vault's retrievals are logged ----------------------------------------------------------

#: Advanced selectors of management events, one excluding Glacier's (as the plan spells them).
MANAGEMENT = {"field": "eventCategory", "equals": ["Management"], "not_equals": None, "starts_with": None}
NOT_GLACIER = {"field": "eventSource", "equals": None, "not_equals": ["glacier.amazonaws.com"], "starts_with": None}


@pytest.mark.parametrize(("trail", "logged"), [
    pytest.param(None, True, id="management-and-data-events"),
    pytest.param({"event_selector": None}, True, id="no-selector-cloudtrails-default"),
    pytest.param({"event_selector": [{"read_write_type": "ReadOnly", "include_management_events": True,
                                      "exclude_management_event_sources": ["kms.amazonaws.com"]}]}, True,
                 id="management-reads-another-service-excluded"),
    pytest.param({"event_selector": None, "advanced_event_selector": [{"name": "m", "field_selector": [MANAGEMENT]}]},
                 True, id="advanced-management"),
    pytest.param({"event_selector": [{"read_write_type": "All", "include_management_events": False,
                                      "data_resource": [{"type": "AWS::S3::Object", "values": ["arn:aws:s3"]}]}]},
                 False, id="data-events-only"),
    pytest.param({"event_selector": [{"read_write_type": "WriteOnly", "include_management_events": True}]},
                 False, id="management-writes-only"),
    pytest.param({"event_selector": None, "advanced_event_selector": [
        {"name": "m", "field_selector": [MANAGEMENT, NOT_GLACIER]}]}, False, id="advanced-excluding-glacier"),
    pytest.param({"enable_logging": False}, False, id="not-logging"),
])
def test_a_vaults_retrievals_are_logged_by_a_trail_of_the_plan_recording_glacier_reads(
        tmp_path: Path, trail: dict[str, Any] | None, logged: bool) -> None:
    resources, _, _ = collect(_plan(tmp_path, trail))
    expected: dict[str, Any] = {"access_logs": False, **({"data_events": True} if logged else {})}
    assert resources["aws_glacier_vault.scans"].attributes["logging"] == expected


def test_a_single_region_trail_of_another_region_leaves_a_vaults_logging_unseen(tmp_path: Path) -> None:
    plan = _plan(tmp_path, {"is_multi_region_trail": False})
    resources, _, _ = collect(plan)
    assert resources["aws_glacier_vault.scans"].attributes["logging"] == {"access_logs": False, "data_events": True}
    document = json.loads(plan.read_text())
    elsewhere = [r for r in document["planned_values"]["root_module"]["resources"]
                 if r["address"] == "aws_glacier_vault.scans"]
    for vault in elsewhere:
        vault["values"]["region"] = "eu-west-1"
    plan.write_text(json.dumps(document))
    resources, _, _ = collect(plan)
    assert resources["aws_glacier_vault.scans"].attributes["logging"] == {"access_logs": False}


def test_phi_log_001_passes_a_planned_vault_a_trail_logs_and_leaves_one_it_may_not_undecided(
        tmp_path: Path, cli: Cli) -> None:
    logged = outcomes(cli("scan", str(_plan(tmp_path)), "--only", "PHI-LOG-001", "--show-passed", "--format", "json"))
    assert ("pass", "PHI-LOG-001", "aws_glacier_vault.scans") in logged
    unseen = outcomes(cli("scan", str(_plan(tmp_path, {"enable_logging": False})), "--only", "PHI-LOG-001",
                          "--show-passed", "--format", "json"))
    assert ("error", "PHI-LOG-001", "aws_glacier_vault.scans") in unseen


def test_planned_read_replicas_carry_their_primarys_class(tmp_path: Path, cli: Cli) -> None:
    """A replica of the plan's clinical database (by reference), one of its Aurora cluster (by
    ARN, in another region's plan it would be a literal), each tagged only by team, holds
    clinical rows: clinical, so PHI-ENC-002 judges it (unencrypted here: a failure)."""
    def replicas(plan: dict[str, Any]) -> None:
        new = {"actions": ["create"], "unknown": {"id": True, "arn": True}}
        _add(plan, "aws_db_instance", "replica", {"identifier": "db-ro", "tags": {"team": "care"},
                                                  "storage_encrypted": False}, **new,
             references={"replicate_source_db": "aws_db_instance.db"})
        _add(plan, "aws_rds_cluster", "mirror", {"cluster_identifier": "mirror", "tags": {"team": "care"},
                                                 "replication_source_identifier": "aurora"}, **new)

    path = variant_of(STORES_PLAN, tmp_path, replicas)
    found = collect(path)[0]
    replica, mirror = found["aws_db_instance.replica"], found["aws_rds_cluster.mirror"]
    assert replica.raw["source"] == "aws_db_instance.db" and mirror.raw["source"] == "aws_rds_cluster.aurora"
    assert replica.tags["data_class"] == mirror.tags["data_class"] == "clinical"
    assert replica.tags["team"] == "care"
    assert "source" not in found["aws_db_instance.db"].raw
    result = cli("scan", str(path), "--only", "PHI-ENC-002", "--format", "json")
    assert ("fail", "PHI-ENC-002", "aws_db_instance.replica") in outcomes(result)


def test_a_planned_bucket_an_rds_export_lands_in_carries_the_exported_databases_class(
        tmp_path: Path, cli: Cli) -> None:
    """Exports of the clinical database's snapshot into the untagged logs bucket (by reference)
    and the administrative legacy bucket (by name): both hold clinical rows. An export to a
    bucket outside the plan classes nothing of it."""
    def exports(plan: dict[str, Any]) -> None:
        new = {"actions": ["create"], "unknown": {"id": True}}
        _add(plan, "aws_rds_export_task", "to_logs", {"export_task_identifier": "to-logs"}, **new,
             references={"source_arn": "aws_db_snapshot.snap", "s3_bucket_name": "aws_s3_bucket.logs"})
        _add(plan, "aws_rds_export_task", "to_legacy", {"export_task_identifier": "to-legacy",
                                                        "s3_bucket_name": "clinic-legacy-example"}, **new,
             references={"source_arn": "aws_db_snapshot.snap"})
        _add(plan, "aws_rds_export_task", "elsewhere", {"export_task_identifier": "elsewhere",
                                                        "s3_bucket_name": "not-in-this-plan"}, **new,
             references={"source_arn": "aws_db_snapshot.snap"})

    path = variant_of(STORES_PLAN, tmp_path, exports)
    found = collect(path)[0]
    logs, legacy = found["aws_s3_bucket.logs"], found["aws_s3_bucket.legacy"]
    assert logs.tags["data_class"] == "clinical" and logs.raw["source"] == ["aws_db_snapshot.snap"]
    assert legacy.tags["data_class"] == "clinical,administrative"
    assert "source" not in found["aws_s3_bucket.notes"].raw
    result = cli("scan", str(path), "--only", "PHI-CLASS-001", "--format", "json")
    assert ("fail", "PHI-CLASS-001", "aws_s3_bucket.logs") not in outcomes(result)


def test_a_planned_bucket_a_table_is_exported_to_carries_the_tables_class(tmp_path: Path) -> None:
    def export(plan: dict[str, Any]) -> None:
        _add(plan, "aws_dynamodb_table_export", "t", {"export_format": "DYNAMODB_JSON"}, actions=["create"],
             unknown={"id": True}, references={"table_arn": "aws_dynamodb_table.t", "s3_bucket": "aws_s3_bucket.logs"})

    logs = collect(variant_of(STORES_PLAN, tmp_path, export))[0]["aws_s3_bucket.logs"]
    assert logs.tags["data_class"] == "clinical" and logs.raw["source"] == ["aws_dynamodb_table.t"]


def test_a_planned_global_tables_replicas_are_tables_of_their_regions_judged_for_residency(
        tmp_path: Path, cli: Cli) -> None:
    """The clinical table replicated to us-east-1 (tags not propagated, as by default): the copy
    lives outside the EEA, and PHI-RES-001 fails it rather than seeing the Paris table only."""
    def replicated(plan: dict[str, Any]) -> None:
        for found in (*[r["values"] for r in plan["planned_values"]["root_module"]["resources"]
                        if r["address"] == "aws_dynamodb_table.t"],
                      *[r["change"]["after"] for r in plan["resource_changes"] if r["address"] == "aws_dynamodb_table.t"]):
            found["replica"] = [{"region_name": "us-east-1", "propagate_tags": False}]

    path = variant_of(STORES_PLAN, tmp_path, replicated)
    found = collect(path)[0]
    replica = found["aws_dynamodb_table.t replica us-east-1"]
    assert (replica.region, replica.tags["data_class"], replica.raw["source"]) == (
        "us-east-1", "clinical", "aws_dynamodb_table.t")
    assert replica.attributes["encryption"]["key_manager"] == "provider"
    result = cli("scan", str(path), "--only", "PHI-RES-001", "--format", "json")
    assert ("fail", "PHI-RES-001", "aws_dynamodb_table.t replica us-east-1") in outcomes(result)
    assert ("fail", "PHI-RES-001", "aws_dynamodb_table.t") not in outcomes(result)
