"""How planned IAM users sign in: login profiles and access keys of a Terraform plan (the
clinic plan, with users added as `terraform show -json` writes them)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from phigate.api import Unknown
from phigate_providers.keyprint import key_hash

from .test_terraform_provider import PLAN, Cli, collect

READ_NOTES = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::exemplum-notes/*"}]})
OLD_KEY = "AKIAEXEMPLUMOLDKEY01"


def _add(plan: dict[str, Any], rtype: str, name: str, values: dict[str, Any], *, actions: list[str],
         unknown: dict[str, Any] | None = None, references: dict[str, str] | None = None) -> None:
    address = f"{rtype}.{name}"
    plan["planned_values"]["root_module"]["resources"].append(
        {"address": address, "mode": "managed", "type": rtype, "name": name, "provider_name": "hashicorp/aws",
         "schema_version": 0, "values": values, "sensitive_values": {}})
    plan["resource_changes"].append(
        {"address": address, "mode": "managed", "type": rtype, "name": name, "provider_name": "hashicorp/aws",
         "change": {"actions": actions, "before": None if actions == ["create"] else values, "after": values,
                    "after_unknown": unknown or {}, "before_sensitive": False, "after_sensitive": {}}})
    expressions: dict[str, Any] = {k: {"constant_value": v} for k, v in values.items() if k != "id"}
    for attribute, target in (references or {}).items():
        expressions[attribute] = {"references": [f"{target}.name", target]}
    plan["configuration"]["root_module"]["resources"].append(
        {"address": address, "mode": "managed", "type": rtype, "name": name, "provider_config_key": "aws",
         "expressions": expressions, "schema_version": 0})


def _user(plan: dict[str, Any], name: str, *, profile: bool = False, key_created: str | None = None,
          new_key: bool = False) -> None:
    _add(plan, "aws_iam_user", name, {"name": name, "path": "/", "arn": f"arn:aws:iam::111122223333:user/{name}",
                                      "tags": {}, "tags_all": {}}, actions=["no-op"])
    _add(plan, "aws_iam_user_policy", f"{name}_read", {"name": "read-notes", "policy": READ_NOTES},
         actions=["create"], unknown={"id": True}, references={"user": f"aws_iam_user.{name}"})
    if profile:
        _add(plan, "aws_iam_user_login_profile", name, {"password_reset_required": True},
             actions=["create"], unknown={"id": True, "password": True, "user": True},
             references={"user": f"aws_iam_user.{name}"})
    if key_created:
        _add(plan, "aws_iam_access_key", f"{name}_old", {"user": name, "status": "Active", "id": OLD_KEY,
                                                         "create_date": key_created}, actions=["no-op"])
    if new_key:
        _add(plan, "aws_iam_access_key", f"{name}_new", {"status": "Active"}, actions=["create"],
             unknown={"id": True, "create_date": True, "user": True, "secret": True},
             references={"user": f"aws_iam_user.{name}"})


def _plan(tmp_path: Path) -> Path:
    plan = json.loads(PLAN.read_text())
    _user(plan, "dr-martin", profile=True)
    long_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(days=400)).strftime("%Y-%m-%dT%H:%M:%SZ")
    _user(plan, "lab-sync", key_created=long_ago, new_key=True)
    _user(plan, "importer", new_key=True)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    return path


def test_login_profiles_and_access_keys_are_the_users_sign_in(tmp_path: Path) -> None:
    resources, _, provider = collect(_plan(tmp_path))
    martin = resources["aws_iam_user.dr-martin"].attributes
    assert martin["can_read"] == ["arn:aws:s3:::exemplum-notes"]
    assert (martin["console_access"], martin["access_keys"]) == (True, [])
    assert "mfa" not in martin  # no resource assigns an MFA device: not decidable from a plan
    lab = resources["aws_iam_user.lab-sync"].attributes
    assert lab["console_access"] is False
    assert [(k["active"], k["age_days"]) for k in lab["access_keys"]] == [(True, 400), (True, 0)]
    assert lab["access_keys"][0]["id_hash"] == key_hash(OLD_KEY)
    assert not [n for n in provider.notices() if "aws_iam_user_login_profile" in n or "aws_iam_access_key" in n]


def test_the_policies_decide_what_the_plan_shows(tmp_path: Path, cli: Cli) -> None:
    result = cli("scan", str(_plan(tmp_path)), "--only", "PHI-AUTH-001", "--only", "PHI-AUTH-002",
                 "--show-passed", "--format", "json")
    found = {(f["policy_id"], f["resource"]["name"]): f["status"] for f in result.json()["findings"]}
    # A planned console password on a clinical reader, and no way to know its MFA: undecided.
    assert found[("PHI-AUTH-001", "aws_iam_user.dr-martin")] == "error"
    assert found[("PHI-AUTH-001", "aws_iam_user.lab-sync")] == "pass"
    assert found[("PHI-AUTH-002", "aws_iam_user.lab-sync")] == "fail"  # a key kept for 400 days
    assert found[("PHI-AUTH-002", "aws_iam_user.importer")] == "pass"  # made by this apply
    assert result.code == 3


def test_a_key_whose_date_the_plan_cannot_tell_is_unknown(tmp_path: Path) -> None:
    plan = json.loads(PLAN.read_text())
    _user(plan, "ops")
    _add(plan, "aws_iam_access_key", "ops", {"user": "ops", "status": "Active", "id": OLD_KEY},
         actions=["update"], unknown={"create_date": True})
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    resources, _, _ = collect(path)
    assert isinstance(resources["aws_iam_user.ops"].attributes["access_keys"], Unknown)


FORCE_MFA = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Deny", "NotAction": ["iam:CreateVirtualMFADevice", "iam:EnableMFADevice", "sts:GetSessionToken"],
    "Resource": "*", "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}]}


def test_a_planned_deny_without_mfa_decides_what_a_password_or_a_key_alone_reads(tmp_path: Path, cli: Cli) -> None:
    """The plan's own force-MFA policy: a console password alone reads nothing clinical, whatever
    the user's MFA device (which no plan shows), and neither does an old key on its own."""
    plan = json.loads(PLAN.read_text())
    long_ago = (dt.datetime.now(dt.UTC) - dt.timedelta(days=400)).strftime("%Y-%m-%dT%H:%M:%SZ")
    _user(plan, "dr-martin", profile=True)
    _user(plan, "lab-sync", key_created=long_ago)
    for name in ("dr-martin", "lab-sync"):
        _add(plan, "aws_iam_user_policy", f"{name}_mfa", {"name": "force-mfa", "policy": json.dumps(FORCE_MFA)},
             actions=["create"], unknown={"id": True}, references={"user": f"aws_iam_user.{name}"})
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    resources, _, _ = collect(path)
    martin = resources["aws_iam_user.dr-martin"].attributes
    assert martin["can_read"] == ["arn:aws:s3:::exemplum-notes"] and martin["can_read_without_mfa"] == []
    result = cli("scan", str(path), "--only", "PHI-AUTH-001", "--only", "PHI-AUTH-002",
                 "--show-passed", "--format", "json")
    found = {(f["policy_id"], f["resource"]["name"]): f["status"] for f in result.json()["findings"]}
    assert found[("PHI-AUTH-001", "aws_iam_user.dr-martin")] == "pass"
    assert found[("PHI-AUTH-002", "aws_iam_user.lab-sync")] == "pass"
