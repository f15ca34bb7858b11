"""Reach left unseen by one store, weighed by that store's class, against a real moto server: a
bucket whose policy could not be read leaves undecided only the policies its class can change."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from phigate.cli import main
from tests.aws_server import ACCOUNT, REGION, error_response, inject_faults

UNREAD = "unseen-unread-bucket"


def _bucket(aws: Callable[..., Any], name: str, data_class: str | None) -> None:
    s3 = aws("s3")
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    if data_class:
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": "data_class", "Value": data_class}]})


def _policy_of_one_bucket_refused(service: str, region: str, operation: str, request: Any) -> Any:
    if operation == "GetBucketPolicy" and (f"/{UNREAD}" in request.url or f"//{UNREAD}." in request.url):
        return error_response("AccessDenied", 403, json_protocol=False)
    return None


def _estate(aws: Callable[..., Any], unread_class: str | None) -> None:
    """A clinical bucket, administrative exports read through a wildcard pattern by a role, and
    one more bucket of ``unread_class`` whose bucket policy cannot be read."""
    _bucket(aws, "unseen-clinical-notes", "clinical")
    _bucket(aws, "unseen-admin-exports", "administrative")
    _bucket(aws, UNREAD, unread_class)
    iam = aws("iam")
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                      "Principal": {"Service": "lambda.amazonaws.com"}}]}
    iam.create_role(RoleName="billing-export", AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(RoleName="billing-export", PolicyName="read", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::unseen-admin-*/*"}]}))


def _scan(tmp_path: Path) -> dict[str, str]:
    out = tmp_path / "report.json"
    main(["scan", "--provider", "aws", "--region", REGION, "--quiet", "--show-passed", "--only", "PHI-IAM-004",
          "--format", f"json={out}"])
    report = json.loads(out.read_text())
    return {f["resource"]["id"]: f["status"] for f in report["findings"] if f["policy_id"] == "PHI-IAM-004"}


ROLE = f"arn:aws:iam::{ACCOUNT}:role/billing-export"


@pytest.mark.parametrize(("unread_class", "expected"), [
    ("administrative", "pass"),  # who reads it cannot change whether clinical data is reached
    ("public", "pass"),
    ("clinical", "error"),  # may be reached by anyone: never hidden
    (None, "error"),  # unclassified: it may hold anything
])
def test_a_bucket_whose_policy_is_unread_blinds_only_the_policies_its_class_concerns(
    aws: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    unread_class: str | None, expected: str,
) -> None:
    _estate(aws, unread_class)
    inject_faults(monkeypatch, _policy_of_one_bucket_refused)
    assert _scan(tmp_path)[ROLE] == expected
