"""Images and Glacier vaults of a Terraform plan (the clinic plan, with them added as
``terraform show -json`` writes them), read as the live reader reads them: images as volumes with
their launch permissions and their disks' encryption and class, vaults as object stores."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from phigate.api import Unknown

from .test_terraform_provider import PLAN, Cli, collect, outcomes
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


def _plan(tmp_path: Path) -> Path:
    plan = json.loads(PLAN.read_text())
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
