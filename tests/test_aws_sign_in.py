"""How AWS identities sign in, against a real moto server: console passwords, MFA devices,
access keys and the root user, judged by the authentication policies (PHI-AUTH-*)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from phigate.cli import main
from phigate_providers.keyprint import key_hash
from tests.aws_server import ACCOUNT, REGION, inject_faults, refusing

CLINICAL = "signin-clinical-notes"
ADMIN = "signin-admin-exports"
ROOT = f"arn:aws:iam::{ACCOUNT}:root"
AUTH = ("PHI-AUTH-001", "PHI-AUTH-002", "PHI-AUTH-004")


def _arn(user: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:user/{user}"


def _scan(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    out = tmp_path / "report.json"
    only = [a for policy in AUTH for a in ("--only", policy)]
    code = main(["scan", "--provider", "aws", "--region", REGION, "--quiet", "--show-passed",
                 "--format", f"json={out}", *only, *args])
    return code, json.loads(out.read_text())


def _outcomes(report: dict[str, Any], policy: str) -> dict[str, str]:
    return {f["resource"]["id"]: f["status"] for f in report["findings"] if f["policy_id"] == policy}


def _bucket(aws: Callable[..., Any], name: str, data_class: str) -> None:
    s3 = aws("s3")
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": "data_class", "Value": data_class}]})


def _user(aws: Callable[..., Any], name: str, *, reads: str | None = None, password: bool = False,
          mfa: bool = False, keys: int = 0, assumes: str | None = None) -> None:
    iam = aws("iam")
    iam.create_user(UserName=name)
    statements: list[dict[str, Any]] = []
    if reads:
        statements.append({"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{reads}/*"})
    if assumes:
        statements.append({"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": assumes})
    if statements:
        iam.put_user_policy(UserName=name, PolicyName="access", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": statements}))
    if password:
        iam.create_login_profile(UserName=name, Password="Correct-Horse-Battery-9")
    if mfa:
        serial = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]["SerialNumber"]
        iam.enable_mfa_device(UserName=name, SerialNumber=serial, AuthenticationCode1="123456",
                              AuthenticationCode2="654321")
    for _ in range(keys):
        iam.create_access_key(UserName=name)


def _clinical_role(aws: Callable[..., Any]) -> str:
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                      "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}}]}
    iam = aws("iam")
    arn = str(iam.create_role(RoleName="signin-clinical-reader",
                              AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"])
    iam.put_role_policy(RoleName="signin-clinical-reader", PolicyName="read", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{CLINICAL}/*"}]}))
    return arn


@pytest.fixture
def estate(aws: Callable[..., Any]) -> Callable[..., Any]:
    """A clinical and an administrative bucket, a role reading the clinical one, and users:
    console users with and without MFA, key-only users reading clinical data directly or
    through the role, and a console user reading administrative data only."""
    _bucket(aws, CLINICAL, "clinical")
    _bucket(aws, ADMIN, "administrative")
    role = _clinical_role(aws)
    _user(aws, "dr-martin", reads=CLINICAL, password=True)
    _user(aws, "dr-leroy", reads=CLINICAL, password=True, mfa=True)
    _user(aws, "etl-batch", reads=CLINICAL, keys=1)
    _user(aws, "ops-oncall", assumes=role, password=True, keys=2)
    _user(aws, "billing", reads=ADMIN, password=True, keys=1)
    return aws


def test_console_users_reading_clinical_data_without_mfa_fail(estate: Any, tmp_path: Path) -> None:
    code, report = _scan(tmp_path)
    mfa = _outcomes(report, "PHI-AUTH-001")
    assert {arn for arn, status in mfa.items() if status == "fail"} == {_arn("dr-martin"), _arn("ops-oncall")}
    assert {arn for arn, status in mfa.items() if status == "pass"} == {
        _arn("dr-leroy"), _arn("etl-batch"), _arn("billing")}
    assert report["collection_errors"] == []
    assert code == 1
    through_role = next(f for f in report["findings"]
                        if f["policy_id"] == "PHI-AUTH-001" and f["resource"]["id"] == _arn("ops-oncall"))
    assert "sts:AssumeRole" in through_role["message"] and CLINICAL in through_role["message"]


def test_the_root_user_without_mfa_fails_where_the_account_holds_clinical_data(
    estate: Any, tmp_path: Path
) -> None:
    """moto reports the root user without MFA (no API turns it on), as a new account is."""
    _, report = _scan(tmp_path)
    assert _outcomes(report, "PHI-AUTH-004") == {ROOT: "fail"}
    finding = next(f for f in report["findings"] if f["policy_id"] == "PHI-AUTH-004")
    assert CLINICAL in finding["message"] and "MFA on: false" in finding["message"]


def test_an_account_without_clinical_data_passes_whatever_its_root_user(
    aws: Callable[..., Any], tmp_path: Path
) -> None:
    _bucket(aws, ADMIN, "administrative")
    code, report = _scan(tmp_path)
    assert _outcomes(report, "PHI-AUTH-004") == {ROOT: "pass"}
    assert code == 0


def test_keys_older_than_the_rotation_period_fail_on_clinical_readers_only(
    estate: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ages are counted at collection: the run is dated 120 days after the keys were made."""
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=120)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(later.timestamp())))
    _, report = _scan(tmp_path)
    keys = _outcomes(report, "PHI-AUTH-002")
    assert {arn for arn, status in keys.items() if status == "fail"} == {_arn("etl-batch"), _arn("ops-oncall")}
    assert keys[_arn("billing")] == "pass"  # an old key, on administrative data only
    assert keys[_arn("dr-martin")] == "pass"  # no key at all


def test_young_keys_pass_and_a_stricter_maximum_age_fails_them(
    estate: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, report = _scan(tmp_path)
    assert "fail" not in _outcomes(report, "PHI-AUTH-002").values()
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=10)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(later.timestamp())))
    config = tmp_path / "phigate.yaml"
    config.write_text("policies:\n  PHI-AUTH-002:\n    params: {max_age_days: 7}\n")
    _, report = _scan(tmp_path, "--config", str(config))
    assert _outcomes(report, "PHI-AUTH-002")[_arn("etl-batch")] == "fail"


def test_access_keys_are_kept_as_fingerprints_never_their_ids(
    estate: Any, tmp_path: Path
) -> None:
    snapshot = tmp_path / "snap.json"
    assert main(["collect", "--provider", "aws", "--region", REGION, "--quiet", "-o", str(snapshot)]) == 0
    text = snapshot.read_text()
    key_ids = [k["AccessKeyId"] for k in estate("iam").list_access_keys(UserName="etl-batch")["AccessKeyMetadata"]]
    assert key_ids and not [k for k in key_ids if k in text]
    assert key_hash(key_ids[0]) in text
    # The snapshot, scanned later, decides the same.
    code, report = main_scan(tmp_path, str(snapshot))
    assert _outcomes(report, "PHI-AUTH-001")[_arn("dr-martin")] == "fail"
    assert code == 1


def main_scan(tmp_path: Path, target: str) -> tuple[int, dict[str, Any]]:
    out = tmp_path / "from-snapshot.json"
    code = main(["scan", target, "--quiet", "--format", f"json={out}", "--only", "PHI-AUTH-001"])
    return code, json.loads(out.read_text())


def test_a_refused_sign_in_read_is_an_error_for_that_user_never_a_pass(
    estate: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inject_faults(monkeypatch, refusing("ListMFADevices", "AccessDenied", 403, json_protocol=False))
    code, report = _scan(tmp_path)
    mfa = _outcomes(report, "PHI-AUTH-001")
    assert mfa[_arn("dr-leroy")] == "error"  # its MFA device is there, but was not seen
    assert mfa[_arn("dr-martin")] == "error"
    # Decided without MFA: no console password, or no clinical data within reach.
    assert mfa[_arn("etl-batch")] == mfa[_arn("billing")] == "pass"
    assert any("iam:ListMFADevices" in e["message"] and "dr-leroy" in e["message"]
               for e in report["collection_errors"])
    assert code == 3


def test_an_unread_account_summary_leaves_the_root_user_undecided(
    estate: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inject_faults(monkeypatch, refusing("GetAccountSummary", "AccessDenied", 403, json_protocol=False))
    _, report = _scan(tmp_path)
    assert _outcomes(report, "PHI-AUTH-004") == {ROOT: "error"}
    assert any("iam:GetAccountSummary" in e["message"] for e in report["collection_errors"])


def test_sign_in_reads_are_made_only_for_the_policies_that_need_them() -> None:
    from phigate_providers.aws.needs import Needs

    users = Needs.from_fields({"principal": frozenset({"mfa", "console_access", "can_read"})})
    root = Needs.from_fields({"account": frozenset({"root_user", "stores"})})
    neither = Needs.from_fields({"object_store": frozenset({"encryption"}), "account": frozenset({"logging"})})
    assert (users.sign_in, users.root_user) == (True, False)
    assert (root.sign_in, root.root_user) == (False, True)
    assert (neither.sign_in, neither.root_user) == (False, False)
    assert Needs.from_fields(None).sign_in and Needs.from_fields(None).root_user


def test_console_users_without_mfa_who_can_escalate_to_clinical_data_fail(
    aws: Callable[..., Any], tmp_path: Path
) -> None:
    """A user whose Deny of the clinical bucket is an inline policy it may delete, and one who
    may create another clinical reader's access key, both reach clinical data with a password."""
    _bucket(aws, CLINICAL, "clinical")
    _user(aws, "etl-batch", reads=CLINICAL, keys=1)
    iam = aws("iam")
    for name, extra in (("helpdesk", {"Effect": "Allow", "Action": "iam:CreateAccessKey",
                                      "Resource": _arn("etl-batch")}),
                        ("quarantined", {"Effect": "Allow", "Action": "iam:DeleteUserPolicy",
                                         "Resource": _arn("quarantined")}),
                        ("fenced", None)):
        _user(aws, name, reads="*", password=True)
        if extra:
            iam.put_user_policy(UserName=name, PolicyName="self-service", PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [extra]}))
        if name != "helpdesk":
            iam.put_user_policy(UserName=name, PolicyName="no-clinical", PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": [
                    f"arn:aws:s3:::{CLINICAL}", f"arn:aws:s3:::{CLINICAL}/*"]}]}))
    code, report = _scan(tmp_path)
    mfa = _outcomes(report, "PHI-AUTH-001")
    assert mfa[_arn("helpdesk")] == "fail" and mfa[_arn("quarantined")] == "fail"
    assert mfa[_arn("fenced")] == "pass" and code == 1
    removed = next(f for f in report["findings"]
                   if f["policy_id"] == "PHI-AUTH-001" and f["resource"]["id"] == _arn("quarantined"))
    assert "iam:DeleteUserPolicy (can remove a Deny of its own)" in json.dumps(removed["evidence"])


def test_a_console_user_who_can_join_a_group_that_assumes_a_clinical_reader_fails(
    aws: Callable[..., Any], tmp_path: Path
) -> None:
    """Joining a group hands its permissions over: the group may assume the clinical reader."""
    _bucket(aws, CLINICAL, "clinical")
    role = _clinical_role(aws)
    iam = aws("iam")
    iam.create_group(GroupName="night-shift")
    iam.put_group_policy(GroupName="night-shift", PolicyName="assume", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role}]}))
    _user(aws, "newcomer", password=True)
    iam.put_user_policy(UserName="newcomer", PolicyName="join", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:AddUserToGroup",
                                                 "Resource": f"arn:aws:iam::{ACCOUNT}:group/night-shift"}]}))
    code, report = _scan(tmp_path)
    assert _outcomes(report, "PHI-AUTH-001") == {_arn("newcomer"): "fail"}
    assert code == 1


#: The self-service actions AWS's "force MFA" example leaves out of its Deny.
SELF_SERVICE = ["iam:CreateVirtualMFADevice", "iam:EnableMFADevice", "iam:ListMFADevices",
                "iam:ResyncMFADevice", "sts:GetSessionToken"]


def _force_mfa(operator: str, key: str = "aws:MultiFactorAuthPresent", value: Any = "false") -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "DenyWithoutMFA", "Effect": "Deny", "NotAction": SELF_SERVICE, "Resource": "*",
        "Condition": {operator: {key: value}}}]}


@pytest.mark.parametrize(("operator", "value", "console", "keys"), [
    # A console session without MFA carries the key, false; a request signed with long-lived
    # keys carries none (AWS's IAM User Guide, aws:MultiFactorAuthPresent).
    ("BoolIfExists", "false", "pass", "pass"),  # denies both
    ("BoolIfExists", "False", "pass", "pass"),
    ("Bool", "false", "pass", "fail"),  # the keys' requests lack the key: not denied
    ("Bool", False, "pass", "fail"),
    ("Null", "true", "fail", "fail"),  # denies the keys' own requests, not a session without MFA
    ("ForAnyValue:StringEqualsIfExists", "false", "pass", "pass"),
    ("ForAnyValue:StringEquals", "false", "pass", "fail"),
])
def test_a_deny_without_mfa_decides_what_a_password_or_a_key_alone_reads(
    aws: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    operator: str, value: Any, console: str, keys: str,
) -> None:
    """A console user without an MFA device (PHI-AUTH-001) and a user with an old key
    (PHI-AUTH-002), each reading clinical data under a Deny that requires MFA."""
    later = dt.datetime.now(dt.UTC) + dt.timedelta(days=120)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", str(int(later.timestamp())))
    _bucket(aws, CLINICAL, "clinical")
    _user(aws, "dr-martin", reads=CLINICAL, password=True)
    _user(aws, "etl-batch", reads=CLINICAL, keys=1)
    iam = aws("iam")
    for user in ("dr-martin", "etl-batch"):
        iam.put_user_policy(UserName=user, PolicyName="force-mfa",
                            PolicyDocument=json.dumps(_force_mfa(operator, value=value)))
    _, report = _scan(tmp_path)
    assert _outcomes(report, "PHI-AUTH-001")[_arn("dr-martin")] == console
    assert _outcomes(report, "PHI-AUTH-002")[_arn("etl-batch")] == keys


def test_a_deny_without_mfa_on_a_group_or_the_bucket_keeps_clinical_data_from_a_password(
    aws: Callable[..., Any], tmp_path: Path
) -> None:
    """The Deny binds wherever it is: on the user's group, or in the bucket's policy; the
    role assumed without MFA reads nothing clinical either, so assuming it gives nothing."""
    _bucket(aws, CLINICAL, "clinical")
    role = _clinical_role(aws)
    iam = aws("iam")
    iam.create_group(GroupName="clinicians")
    iam.put_group_policy(GroupName="clinicians", PolicyName="force-mfa",
                         PolicyDocument=json.dumps(_force_mfa("BoolIfExists")))
    _user(aws, "dr-martin", reads=CLINICAL, password=True)
    iam.add_user_to_group(GroupName="clinicians", UserName="dr-martin")
    _user(aws, "ops-oncall", assumes=role, password=True)
    aws("s3").put_bucket_policy(Bucket=CLINICAL, Policy=json.dumps({
        "Version": "2012-10-17", "Statement": [{
            "Effect": "Deny", "Principal": "*", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::{CLINICAL}/*",
            "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}]}))
    _, report = _scan(tmp_path)
    mfa = _outcomes(report, "PHI-AUTH-001")
    assert mfa == {_arn("dr-martin"): "pass", _arn("ops-oncall"): "pass"}
    assert report["collection_errors"] == []


def test_a_role_that_requires_mfa_is_not_reached_without_it(aws: Callable[..., Any], tmp_path: Path) -> None:
    """A user that may assume the clinical reader only with MFA (its own Allow says so) reaches
    clinical data only with MFA; one whose Allow does not say so fails."""
    _bucket(aws, CLINICAL, "clinical")
    role = _clinical_role(aws)
    iam = aws("iam")
    for user, condition in (("careful", {"Bool": {"aws:MultiFactorAuthPresent": "true"}}),
                            ("hasty", None)):
        _user(aws, user, password=True)
        statement: dict[str, Any] = {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role}
        if condition:
            statement["Condition"] = condition
        iam.put_user_policy(UserName=user, PolicyName="assume", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [statement]}))
    code, report = _scan(tmp_path)
    assert _outcomes(report, "PHI-AUTH-001") == {_arn("careful"): "pass", _arn("hasty"): "fail"}
    assert code == 1
