"""Snapshot and image block public access in a Terraform plan (the clinic plan, with them added as
``terraform show -json`` writes them): read into the region's settings, as the live reader does."""

from __future__ import annotations

import json
from pathlib import Path

from phigate.api import Unknown

from .test_terraform_provider import PLAN, collect
from .test_terraform_sign_in import _add

SETTINGS = "aws_ebs_encryption_by_default.this"


def _plan(tmp_path: Path, *, encryption_default: bool = True, snapshot_state: str | None = "block-all-sharing",
          image_unknown: bool = False) -> Path:
    plan = json.loads(PLAN.read_text())
    if encryption_default:
        _add(plan, "aws_ebs_encryption_by_default", "this", {"enabled": True}, actions=["create"])
    if snapshot_state is not None:
        _add(plan, "aws_ebs_snapshot_block_public_access", "this", {"state": snapshot_state}, actions=["create"])
    _add(plan, "aws_ec2_image_block_public_access", "this", {} if image_unknown else {"state": "block-new-sharing"},
         actions=["create"], unknown={"state": True} if image_unknown else None)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    return path


def test_block_public_access_joins_the_regions_settings(tmp_path: Path) -> None:
    resources, errors, provider = collect(_plan(tmp_path))
    assert errors == []
    settings = resources[SETTINGS]
    assert settings.attributes == {"ebs_encryption_by_default": True, "snapshot_public_sharing": "blocked",
                                   "image_public_sharing": "new_blocked"}
    assert "aws_ebs_snapshot_block_public_access.this" not in resources  # part of the settings
    assert not any("region setting" in notice for notice in provider.notices())


def test_a_state_known_only_after_apply_or_not_known_to_phigate_is_undecided(tmp_path: Path) -> None:
    resources, _, _ = collect(_plan(tmp_path, snapshot_state="block-everything", image_unknown=True))
    settings = resources[SETTINGS].attributes
    assert "snapshot_public_sharing" not in settings
    assert isinstance(settings["image_public_sharing"], Unknown)


def test_block_public_access_where_the_plan_does_not_declare_encryption_by_default_is_a_notice(
        tmp_path: Path) -> None:
    resources, errors, provider = collect(_plan(tmp_path, encryption_default=False))
    assert errors == []
    # Settings of their own would leave encryption by default undecided: listed, not evaluated.
    assert not any(r.kind == "region_settings" for r in resources.values())
    [notice] = [n for n in provider.notices() if "region setting" in n]
    assert "aws_ebs_snapshot_block_public_access.this" in notice
    assert "aws_ec2_image_block_public_access.this" in notice
