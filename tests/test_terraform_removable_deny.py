"""A Deny a planned identity can take away from itself binds nothing in the plan either: the
live provider's escalation (delete an inline policy, detach a managed one) over the plan's own
policies and attachments (the clinic plan, with users added as `terraform show -json` writes them)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .test_terraform_provider import PLAN, collect
from .test_terraform_sign_in import _add, _user

NOTES = "arn:aws:s3:::exemplum-notes"
DENY_NOTES = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Deny", "Action": "s3:*", "Resource": [NOTES, f"{NOTES}/*"]}]})


def _allow(action: str, resource: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": action, "Resource": resource}]})


def _arn(name: str) -> str:
    return f"arn:aws:iam::111122223333:user/{name}"


def _inline(plan: dict[str, Any], user: str, name: str, document: str) -> None:
    _add(plan, "aws_iam_user_policy", f"{user}_{name}", {"name": name, "policy": document},
         actions=["create"], unknown={"id": True}, references={"user": f"aws_iam_user.{user}"})


def test_a_deny_the_identity_can_delete_or_detach_does_not_keep_clinical_data_from_it(tmp_path: Path) -> None:
    plan = json.loads(PLAN.read_text())
    for user in ("quarantined", "detachable", "fenced"):
        _user(plan, user)  # reads the clinical notes
    _inline(plan, "quarantined", "no-notes", DENY_NOTES)
    _inline(plan, "quarantined", "self-service", _allow("iam:DeleteUserPolicy", _arn("quarantined")))
    _inline(plan, "fenced", "no-notes", DENY_NOTES)
    _add(plan, "aws_iam_policy", "deny_notes", {"name": "deny-notes", "policy": DENY_NOTES},
         actions=["create"], unknown={"id": True, "arn": True})
    _add(plan, "aws_iam_user_policy_attachment", "detachable_deny", {}, actions=["create"],
         unknown={"id": True}, references={"user": "aws_iam_user.detachable",
                                           "policy_arn": "aws_iam_policy.deny_notes"})
    _inline(plan, "detachable", "self-service", _allow("iam:DetachUserPolicy", _arn("detachable")))
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    resources, _, _ = collect(path)
    quarantined = resources["aws_iam_user.quarantined"].attributes
    assert quarantined["can_read"] == [NOTES]
    assert quarantined["can_read_via"][NOTES] == "iam:DeleteUserPolicy (can remove a Deny of its own)"
    detachable = resources["aws_iam_user.detachable"].attributes
    assert detachable["can_read_via"] == {NOTES: "iam:DetachUserPolicy (can remove a Deny of its own)"}
    assert resources["aws_iam_user.fenced"].attributes["can_read"] == []
