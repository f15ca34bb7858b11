"""FSx backups read live from the moto server (which lists them in AWS's shape:
``tests/moto_main.py``): volumes encrypted under their file system's key, classed as the file
system (or, for a copy, the backup) they copy, never public, read by whoever may restore or copy
them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from phigate.api import CollectionError, Resource
from phigate.cli import main
from phigate_providers.aws.provider import AwsProvider, Settings
from tests.aws_server import ACCOUNT, REGION, _Body, inject_faults, moto_answer, refusing, role_allowed

OTHER = "eu-west-1"
CLINICAL = [{"Key": "data_class", "Value": "clinical"}]
LUSTRE = {"FileSystemType": "LUSTRE", "StorageCapacity": 1200, "SubnetIds": ["subnet-0a1b2c3d4e5f6"]}


def collect(*regions: str) -> tuple[dict[str, Resource], list[CollectionError]]:
    records = list(AwsProvider(Settings(regions=regions or (REGION,))).collect())
    found = {r.id: r for r in records if isinstance(r, Resource)}
    return found, [r for r in records if isinstance(r, CollectionError)]


def backup_arn(backup_id: str, region: str = REGION) -> str:
    return f"arn:aws:fsx:{region}:{ACCOUNT}:backup/{backup_id}"


def drives(aws: Callable[..., Any]) -> tuple[str, str, str]:
    """A clinical file system under a customer key and an untagged one under the AWS-managed key,
    each backed up untagged. Returns the key and the two backup ids."""
    key = str(aws("kms").create_key()["KeyMetadata"]["Arn"])
    fsx = aws("fsx")
    records = fsx.create_file_system(KmsKeyId=key, Tags=CLINICAL, **LUSTRE)["FileSystem"]["FileSystemId"]
    scratch = fsx.create_file_system(**LUSTRE)["FileSystem"]["FileSystemId"]
    return (key, fsx.create_backup(FileSystemId=records)["Backup"]["BackupId"],
            fsx.create_backup(FileSystemId=scratch)["Backup"]["BackupId"])


def test_fsx_backups_are_volumes_under_their_file_systems_key_and_class(aws: Callable[..., Any]) -> None:
    key, records_id, scratch_id = drives(aws)
    found, errors = collect()
    assert errors == []
    records, scratch = found[backup_arn(records_id)], found[backup_arn(scratch_id)]
    assert (records.kind, records.type, records.region) == ("volume", "aws.fsx.backup", REGION)
    assert records.attributes["encryption"] == {"at_rest": True, "algorithm": "aws:kms", "key": key,
                                                "key_manager": "customer"}
    # No key named: the AWS-managed aws/fsx key, as for file systems.
    assert scratch.attributes["encryption"]["key_manager"] == "provider"
    assert records.attributes["public_access"] == {"blocked": True, "grants": []}
    assert records.tags["data_class"] == "clinical" and "data_class" not in scratch.tags
    assert records.raw["source"].startswith(f"arn:aws:fsx:{REGION}:{ACCOUNT}:file-system/")


def test_store_policies_judge_fsx_backups(aws: Callable[..., Any], tmp_path: Path) -> None:
    _, records_id, scratch_id = drives(aws)
    out = tmp_path / "report.json"
    main(["scan", "--provider", "aws", "--region", REGION, "--quiet", "--show-passed", "--format", f"json={out}"])
    findings = {(f["policy_id"], f["resource"]["id"]): f["status"] for f in json.loads(out.read_text())["findings"]}
    assert findings[("PHI-ENC-002", backup_arn(records_id))] == "pass"
    assert findings[("PHI-CLASS-001", backup_arn(records_id))] == "pass"
    assert findings[("PHI-CLASS-001", backup_arn(scratch_id))] == "fail"
    assert findings[("PHI-IAM-002", backup_arn(records_id))] == "pass"


def test_a_copy_is_classed_as_the_backup_it_copies_and_aws_backups_are_left_to_their_vault(
        aws: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    _, records_id, _ = drives(aws)
    fsx = aws("fsx", OTHER)
    drive = fsx.create_file_system(**LUSTRE)["FileSystem"]["FileSystemId"]
    copy_id = fsx.create_backup(FileSystemId=drive)["Backup"]["BackupId"]
    vaulted_id = fsx.create_backup(FileSystemId=drive)["Backup"]["BackupId"]

    def replaying(service: str, region: str, operation: str, request: Any) -> AWSResponse | None:
        """Answered as AWS lists a copy (``SourceBackupId``, ``SourceBackupRegion``) and a backup
        AWS Backup took (``Type: AWS_BACKUP``)."""
        if (service, region, operation) != ("fsx", OTHER, "DescribeBackups"):
            return None
        answer = json.loads(moto_answer(request))
        for backup in answer["Backups"]:
            if backup["BackupId"] == copy_id:
                backup.update({"SourceBackupId": records_id, "SourceBackupRegion": REGION})
            if backup["BackupId"] == vaulted_id:
                backup["Type"] = "AWS_BACKUP"
        return AWSResponse("https://replayed", 200, {"Content-Type": "application/x-amz-json-1.1"},
                           _Body(json.dumps(answer).encode()))

    inject_faults(monkeypatch, replaying)
    found, _ = collect(REGION, OTHER)
    copy = found[backup_arn(copy_id, OTHER)]
    assert copy.raw["source"] == backup_arn(records_id)
    assert copy.tags["data_class"] == "clinical"
    assert backup_arn(vaulted_id, OTHER) not in found


def test_backups_not_listed_are_an_error_on_their_kind_and_type(
        aws: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    drives(aws)
    inject_faults(monkeypatch, refusing("DescribeBackups", "AccessDeniedException", 400, json_protocol=True,
                                        service="fsx"))
    found, errors = collect()
    [error] = [e for e in errors if e.message.startswith(f"FSx backups in {REGION}")]
    assert (error.kinds, error.types, error.permission) == (("volume",), ("aws.fsx.backup",), "fsx:DescribeBackups")
    assert not any(r.type == "aws.fsx.backup" for r in found.values())


def test_restoring_or_copying_a_backup_reads_it(aws: Callable[..., Any]) -> None:
    _, records_id, scratch_id = drives(aws)
    restorer = role_allowed(aws("iam"), "restorer", "fsx:CreateFileSystemFromBackup")
    found, _ = collect()
    assert set(found[restorer].attributes["can_read"]) == {backup_arn(records_id), backup_arn(scratch_id)}
