"""FSx file systems of a Terraform plan (Lustre, Windows File Server, NetApp ONTAP, OpenZFS), read
with the type, kind and attributes the AWS provider gives the live ones, so the gate and the
audit agree: always encrypted, under the key named or the AWS-managed ``aws/fsx`` key; never
public; classified by their tags or the provider's ``default_tags``.

The plans are written in the shape ``terraform show -json`` gives for the ``hashicorp/aws``
provider 5.x (see :mod:`tests.test_terraform_aws_backup`): ``kms_key_id`` is optional and
computed, known only after apply when the configuration leaves it unset."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from phigate.api import CollectionError, Unknown
from phigate.validation import kind_validator

from .conftest import CliResult
from .test_terraform_aws_backup import CLINICAL, REGION, block, plan_file, ref
from .test_terraform_provider import collect, outcomes

Cli = Callable[..., CliResult]
KEY = block("aws_kms_key.shares", {"description": "shared drives", "enable_key_rotation": True},
            unknown={"key_id": True})
PARTNER_KEY = "arn:aws:kms:eu-west-3:111122223333:key/9d1c"


def file_system(address: str, *, tags: dict[str, str] | None = CLINICAL, key: Any = None,
                **values: Any) -> dict[str, Any]:
    """A new file system: ``key`` a reference (known after apply), a literal ARN, or unset."""
    settings = {"storage_capacity": 1200, **values, **({"tags": tags, "tags_all": tags} if tags is not None else {})}
    unknown = {"kms_key_id": True}
    expressions: dict[str, Any] = {}
    if isinstance(key, dict):
        expressions["kms_key_id"] = key
    elif isinstance(key, str):
        settings["kms_key_id"] = key
        unknown = {}
    return block(address, settings, unknown=unknown, expressions=expressions)


def test_every_fsx_file_system_is_an_encrypted_volume_under_its_key_or_aws_fsx(tmp_path: Path) -> None:
    found, records, _ = collect(plan_file(tmp_path, KEY,
                                         file_system("aws_fsx_lustre_file_system.scratch", deployment_type="SCRATCH_2"),
                                         file_system("aws_fsx_windows_file_system.scans", key=ref("aws_kms_key.shares")),
                                         file_system("aws_fsx_ontap_file_system.exports", key=PARTNER_KEY),
                                         file_system("aws_fsx_openzfs_file_system.home")))
    assert not [r for r in records if isinstance(r, CollectionError)]
    systems = {a: r for a, r in found.items() if a.startswith("aws_fsx_")}
    assert len(systems) == 4
    assert {(r.type, r.kind, r.region) for r in systems.values()} == {("aws.fsx.file_system", "volume", REGION)}
    # No key named: the AWS-managed aws/fsx key (a scratch Lustre: keys FSx manages), as live.
    aws_managed = {"at_rest": True, "algorithm": "aws:kms", "key": None, "key_manager": "provider"}
    assert systems["aws_fsx_lustre_file_system.scratch"].attributes["encryption"] == aws_managed
    assert systems["aws_fsx_openzfs_file_system.home"].attributes["encryption"] == aws_managed
    # The plan's own key, whose ARN is known only after apply, is followed by reference.
    assert systems["aws_fsx_windows_file_system.scans"].attributes["encryption"] == {
        "at_rest": True, "algorithm": "aws:kms", "key": found["aws_kms_key.shares"].id, "key_manager": "customer"}
    # A key of an account the plan does not show as its own is not taken for the data owner's.
    exports = systems["aws_fsx_ontap_file_system.exports"].attributes["encryption"]
    assert exports["key"] == PARTNER_KEY
    assert isinstance(exports["key_manager"], Unknown) and "111122223333" in exports["key_manager"].reason
    for system in systems.values():
        assert system.attributes["public_access"] == {"blocked": True, "grants": []}
        assert system.attributes["size_gb"] == 1200
        assert system.tags == CLINICAL
        if system.name != "aws_fsx_ontap_file_system.exports":  # an Unknown is not in the schema's terms
            assert not list(kind_validator("volume").iter_errors(dict(system.attributes)))


def test_a_capacity_known_only_after_apply_stays_unknown(tmp_path: Path) -> None:
    restored = file_system("aws_fsx_lustre_file_system.restored", backup_id="backup-0a1b")
    del restored["values"]["storage_capacity"], restored["expressions"]["storage_capacity"]
    restored["unknown"]["storage_capacity"] = True
    found, _, _ = collect(plan_file(tmp_path, restored))
    size = found["aws_fsx_lustre_file_system.restored"].attributes["size_gb"]
    assert isinstance(size, Unknown) and "storage_capacity" in size.reason


def test_the_providers_default_tags_classify_a_file_system_and_the_gate_judges_it(
        tmp_path: Path, cli: Cli) -> None:
    untagged = file_system("aws_fsx_windows_file_system.scans", tags=None)
    untagged["values"]["tags"] = {}
    untagged["unknown"]["tags_all"] = True
    path = plan_file(tmp_path, KEY, untagged, file_system("aws_fsx_openzfs_file_system.keyed",
                                                          key=ref("aws_kms_key.shares")))
    plan = json.loads(path.read_text())
    plan["configuration"]["provider_config"]["aws"]["expressions"]["default_tags"] = [
        {"tags": {"constant_value": CLINICAL}}]
    path.write_text(json.dumps(plan))
    found, _, _ = collect(path)
    assert found["aws_fsx_windows_file_system.scans"].tags == CLINICAL
    result = cli("scan", str(path), "--only", "PHI-ENC-001", "--only", "PHI-ENC-002", "--only", "PHI-IAM-002",
                 "--format", "json", "--show-passed")
    judged = {(s, p, a) for s, p, a in outcomes(result) if a.startswith("aws_fsx_")}
    assert ("fail", "PHI-ENC-002", "aws_fsx_windows_file_system.scans") in judged  # the AWS-managed key
    assert ("pass", "PHI-ENC-002", "aws_fsx_openzfs_file_system.keyed") in judged
    assert not [f for f in judged if f[0] != "pass" and f[1] != "PHI-ENC-002"]
    assert result.code == 1


def test_tags_known_only_after_apply_leave_the_class_an_error_not_a_guess(tmp_path: Path) -> None:
    hidden = file_system("aws_fsx_ontap_file_system.share", tags=None)
    hidden["unknown"].update(tags=True, tags_all=True)
    found, errors, _ = collect(plan_file(tmp_path, hidden))
    assert "aws_fsx_ontap_file_system.share" not in found
    assert [(e.types, e.kinds) for e in errors] == [(("aws.fsx.file_system",), ("volume",))]
