"""EFS replication in a Terraform plan (``aws_efs_replication_configuration``): the destination
file system it creates in another region is a volume classed as its source, as live."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .conftest import CliResult
from .test_terraform_aws_backup import CLINICAL, block, plan_file, ref
from .test_terraform_provider import collect, outcomes

KEY = block("aws_kms_key.dr", {"description": "disaster recovery", "enable_key_rotation": True})


def _plan(tmp_path: Path) -> Path:
    return plan_file(
        tmp_path, KEY,
        block("aws_efs_file_system.records", {"encrypted": True, "tags": CLINICAL, "tags_all": CLINICAL}),
        block("aws_efs_replication_configuration.dr", {"destination": [{"region": "eu-central-1"}]},
              expressions={"source_file_system_id": ref("aws_efs_file_system.records", "id")}),
        block("aws_efs_replication_configuration.keyed", {"destination": [{"region": "eu-west-1"}]},
              expressions={"source_file_system_id": ref("aws_efs_file_system.records", "id"),
                           "destination": [{"region": {"constant_value": "eu-west-1"},
                                            "kms_key_id": ref("aws_kms_key.dr")}]}),
        block("aws_efs_replication_configuration.existing", {"destination": [
            {"region": "eu-west-1", "file_system_id": "fs-0123456789abcdef0"}]},
              expressions={"source_file_system_id": ref("aws_efs_file_system.records", "id"),
                           "destination": [{"region": {"constant_value": "eu-west-1"},
                                            "file_system_id": {"constant_value": "fs-0123456789abcdef0"}}]}),
    )


def test_a_replications_destination_is_a_file_system_in_its_region_classed_as_its_source(tmp_path: Path) -> None:
    found, errors, _ = collect(_plan(tmp_path))
    assert errors == []
    dr, keyed = found["aws_efs_replication_configuration.dr"], found["aws_efs_replication_configuration.keyed"]
    assert (dr.kind, dr.type, dr.region, keyed.region) == ("volume", "aws.efs.file_system", "eu-central-1",
                                                            "eu-west-1")
    assert dr.attributes["encryption"] == {"at_rest": True, "algorithm": "aws:kms", "key": None,
                                           "key_manager": "provider"}  # aws/elasticfilesystem
    assert keyed.attributes["encryption"]["key"] == found["aws_kms_key.dr"].id
    assert dr.tags["data_class"] == "clinical" and dr.raw["source"] == "aws_efs_file_system.records"
    # Into an existing file system: no store of its own.
    assert "aws_efs_replication_configuration.existing" not in found


def test_store_policies_judge_a_planned_replications_destination(tmp_path: Path,
                                                                 cli: Callable[..., CliResult]) -> None:
    found = {(p, a): s for s, p, a in outcomes(cli("scan", str(_plan(tmp_path)), "--format", "json"))}
    assert found[("PHI-ENC-002", "aws_efs_replication_configuration.dr")] == "fail"  # clinical, AWS-managed key
    assert ("PHI-ENC-002", "aws_efs_replication_configuration.keyed") not in found
