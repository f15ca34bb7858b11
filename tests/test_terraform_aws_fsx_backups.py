"""FSx backups of a Terraform plan (``aws_fsx_backup``), read as the live reader reads them:
volumes encrypted as the file system they back up, classed by it, never public, read by whoever
may restore or copy them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from phigate.api import Unknown

from .conftest import CliResult
from .test_terraform_aws_backup import REGION, block, plan_file, ref
from .test_terraform_aws_fsx import KEY, file_system
from .test_terraform_provider import collect, outcomes


def _plan(tmp_path: Path) -> Path:
    return plan_file(
        tmp_path, KEY,
        file_system("aws_fsx_windows_file_system.scans", key=ref("aws_kms_key.shares")),
        file_system("aws_fsx_lustre_file_system.scratch", deployment_type="PERSISTENT_2"),
        block("aws_fsx_backup.scans", {"tags": {}, "tags_all": {}},
              expressions={"file_system_id": ref("aws_fsx_windows_file_system.scans", "id")}),
        block("aws_fsx_backup.scratch", {"tags": {}, "tags_all": {}},
              expressions={"file_system_id": ref("aws_fsx_lustre_file_system.scratch", "id")}),
        block("aws_fsx_backup.elsewhere", {"file_system_id": "fs-0123456789abcdef0", "tags": {}, "tags_all": {}}),
    )


def test_fsx_backups_are_volumes_encrypted_and_classed_as_their_file_system(tmp_path: Path) -> None:
    found, _, _ = collect(_plan(tmp_path))
    scans, scratch, elsewhere = (found[f"aws_fsx_backup.{n}"] for n in ("scans", "scratch", "elsewhere"))
    assert (scans.kind, scans.type, scans.region) == ("volume", "aws.fsx.backup", REGION)
    assert scans.attributes["encryption"] == {"at_rest": True, "algorithm": "aws:kms",
                                              "key": found["aws_kms_key.shares"].id, "key_manager": "customer"}
    assert scratch.attributes["encryption"]["key_manager"] == "provider"  # the AWS-managed aws/fsx key
    assert elsewhere.attributes["encryption"]["at_rest"] is True
    assert isinstance(elsewhere.attributes["encryption"]["key"], Unknown)
    assert scans.tags["data_class"] == scratch.tags["data_class"] == "clinical"  # their file system's
    assert scans.raw["source"] == "aws_fsx_windows_file_system.scans"
    assert scans.attributes["public_access"] == {"blocked": True, "grants": []}


def test_store_policies_judge_planned_fsx_backups(tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    found = {(p, a): s for s, p, a in outcomes(cli("scan", str(_plan(tmp_path)), "--format", "json"))}
    assert found[("PHI-ENC-002", "aws_fsx_backup.scratch")] == "fail"  # clinical, under aws/fsx
    assert ("PHI-ENC-002", "aws_fsx_backup.scans") not in found  # a customer key: passes
    assert found[("PHI-CLASS-001", "aws_fsx_backup.elsewhere")] == "fail"
