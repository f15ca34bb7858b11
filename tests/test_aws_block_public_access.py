"""Block public access for EBS snapshots and EC2 images, read live from the moto server (which
answers these account settings as AWS does: ``tests/moto_main.py``): the region's settings, and
whether a snapshot shared with every account is public."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from phigate_providers.aws import ebs_snapshots
from tests.aws_server import ACCOUNT, REGION, inject_faults, refusing, statuses
from tests.aws_server import collect_region as collect
from tests.aws_server import scan_region as scan

CLINICAL = [{"Key": "data_class", "Value": "clinical"}]
SETTINGS = f"arn:aws:ec2:{REGION}:{ACCOUNT}:region-settings"


def snapshot_arn(snapshot_id: str) -> str:
    return f"arn:aws:ec2:{REGION}::snapshot/{snapshot_id}"


def snapshots(aws: Callable[..., Any]) -> tuple[str, str]:
    """A clinical volume snapshotted twice: one shared with every account, one kept."""
    ec2 = aws("ec2")
    volume = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=8, Encrypted=True,
                               TagSpecifications=[{"ResourceType": "volume", "Tags": CLINICAL}])["VolumeId"]
    public = ec2.create_snapshot(VolumeId=volume)["SnapshotId"]
    kept = ec2.create_snapshot(VolumeId=volume)["SnapshotId"]
    ec2.modify_snapshot_attribute(SnapshotId=public, Attribute="createVolumePermission",
                                  OperationType="add", GroupNames=["all"])
    return public, kept


def test_a_region_reports_whether_snapshots_and_images_may_be_shared_with_everyone(
        aws: Callable[..., Any]) -> None:
    found, errors = collect()
    assert errors == []
    assert found[SETTINGS].attributes == {"ebs_encryption_by_default": False,
                                          "snapshot_public_sharing": "allowed", "image_public_sharing": "allowed"}
    aws("ec2").enable_snapshot_block_public_access(State="block-new-sharing")
    aws("ec2").enable_image_block_public_access(ImageBlockPublicAccessState="block-new-sharing")
    found, _ = collect()
    assert found[SETTINGS].attributes["snapshot_public_sharing"] == "new_blocked"
    assert found[SETTINGS].attributes["image_public_sharing"] == "new_blocked"
    aws("ec2").enable_snapshot_block_public_access(State="block-all-sharing")
    found, _ = collect()
    assert found[SETTINGS].attributes["snapshot_public_sharing"] == "blocked"
    assert found[SETTINGS].raw["State"] == "block-all-sharing"


@pytest.mark.parametrize("operation", ["GetSnapshotBlockPublicAccessState", "GetImageBlockPublicAccessState"])
def test_a_sharing_setting_not_read_is_left_out_and_named_the_others_kept(
        aws: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, operation: str) -> None:
    inject_faults(monkeypatch, refusing(operation, "UnauthorizedOperation", 403, json_protocol=False))
    found, errors = collect()
    settings = found[SETTINGS].attributes
    left_out = "snapshot_public_sharing" if operation.startswith("GetSnapshot") else "image_public_sharing"
    assert left_out not in settings and settings["ebs_encryption_by_default"] is False
    assert len(settings) == 2  # the other sharing setting is read all the same
    [error] = [e for e in errors if e.resource_id == SETTINGS]
    assert error.permission == f"ec2:{operation}" and error.kinds == ("region_settings",)


def test_a_snapshot_shared_with_everyone_is_private_while_the_region_blocks_all_public_sharing(
        aws: Callable[..., Any], tmp_path: Path) -> None:
    public_id, kept_id = snapshots(aws)
    aws("ec2").enable_snapshot_block_public_access(State="block-all-sharing")
    found, errors = collect()
    assert errors == []
    public = found[snapshot_arn(public_id)]
    assert public.attributes["public_access"] == {"blocked": True, "grants": []}
    # AWS keeps the permission and stops honouring it: both are shown.
    assert (public.raw["shared_with"], public.raw["block_public_access"]) == (["all"], "block-all-sharing")
    _, report = scan(tmp_path)
    exposure = statuses(report, "PHI-IAM-002")
    assert exposure[snapshot_arn(public_id)] == exposure[snapshot_arn(kept_id)] == "pass"
    # Nor does any account outside read it through the share.
    facets, policy = ebs_snapshots.store_access(public)  # type: ignore[misc]
    assert facets and policy is None


def test_a_snapshot_shared_with_everyone_before_new_sharing_was_blocked_stays_public(
        aws: Callable[..., Any], tmp_path: Path) -> None:
    public_id, _ = snapshots(aws)
    aws("ec2").enable_snapshot_block_public_access(State="block-new-sharing")
    found, _ = collect()
    assert found[snapshot_arn(public_id)].attributes["public_access"] == {
        "blocked": False, "grants": ["createVolumePermission:all"]}
    _, report = scan(tmp_path)
    assert statuses(report, "PHI-IAM-002")[snapshot_arn(public_id)] == "fail"


def test_block_public_access_not_read_leaves_undecided_only_the_snapshots_shared_with_everyone(
        aws: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    public_id, kept_id = snapshots(aws)
    inject_faults(monkeypatch, refusing("GetSnapshotBlockPublicAccessState", "UnauthorizedOperation", 403,
                                        json_protocol=False))
    found, errors = collect()
    public, kept = found[snapshot_arn(public_id)], found[snapshot_arn(kept_id)]
    assert "public_access" not in public.attributes
    assert kept.attributes["public_access"] == {"blocked": True, "grants": []}
    [error] = [e for e in errors if e.resource_id == public.id]
    assert error.permission == "ec2:GetSnapshotBlockPublicAccessState" and error.types == ("aws.ec2.snapshot",)
    assert isinstance(ebs_snapshots.store_access(public), str)  # its readers are unseen
    code, report = scan(tmp_path)
    assert code == 3
    exposure = statuses(report, "PHI-IAM-002")
    assert (exposure[public.id], exposure[kept.id]) == ("error", "pass")


def test_the_snapshot_setting_is_asked_only_where_a_snapshot_is_shared_with_everyone(
        aws: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    ec2 = aws("ec2")
    ec2.create_snapshot(VolumeId=ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=1)["VolumeId"])
    asked: list[str] = []

    def counting(service: str, region: str, operation: str, request: Any) -> None:
        if operation == "GetSnapshotBlockPublicAccessState":
            asked.append(region)

    inject_faults(monkeypatch, counting)
    collect()
    assert asked == [REGION]  # by the region's settings, never by the snapshots
    asked.clear()
    snapshots(aws)
    collect()
    assert asked == [REGION, REGION]  # the settings', and once for the region's snapshots
