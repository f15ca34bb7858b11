"""The AWS provider's side of the access graph, on the moto server: role chaining, escalation edges,
other read paths, federated trusts and foreign keys, each with an estate that passes and one that
fails. The provider is collected directly and its principals' attributes checked."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from phigate.api import CollectionError, Resource
from phigate.cli import main
from phigate_providers.aws.provider import AwsProvider, Settings
from tests.aws_server import (
    ACCOUNT,
    REGION,
    member_account,
)

NOTES = "arn:aws:s3:::exemplum-notes"
ROOT_TRUST = {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}


def collect(**settings: Any) -> dict[str, Resource]:
    records = list(AwsProvider(Settings(regions=(REGION,), **settings)).collect())
    errors = [r.message for r in records if isinstance(r, CollectionError)]
    assert errors == []
    return {r.id: r for r in records if isinstance(r, Resource)}


def arn(kind: str, name: str, account: str = ACCOUNT) -> str:
    return f"arn:aws:iam::{account}:{kind}/{name}"


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(action: Any, resource: Any = "*") -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource}


def make_role(iam: Any, name: str, principal: Any, *statements: dict[str, Any], **trust: Any) -> str:
    assume = {"Effect": "Allow", "Principal": principal, "Action": trust.pop("action", "sts:AssumeRole"), **trust}
    made = iam.create_role(RoleName=name, AssumeRolePolicyDocument=document(assume))["Role"]["Arn"]
    if statements:
        iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=document(*statements))
    return str(made)


def make_user(iam: Any, name: str, *statements: dict[str, Any]) -> str:
    made = iam.create_user(UserName=name)["User"]["Arn"]
    if statements:
        iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=document(*statements))
    return str(made)


def notes_bucket(aws: Callable[..., Any], policy: dict[str, Any] | None = None) -> None:
    s3 = aws("s3")
    s3.create_bucket(Bucket="exemplum-notes", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_tagging(Bucket="exemplum-notes", Tagging={"TagSet": [{"Key": "data_class", "Value": "clinical"}]})
    if policy is not None:
        s3.put_bucket_policy(Bucket="exemplum-notes", Policy=json.dumps(policy))


def attributes(found: dict[str, Resource], principal: str) -> dict[str, Any]:
    return dict(found[principal].attributes)


# --- role chaining ------------------------------------------------------------------------------

def test_a_user_allowed_to_assume_a_role_trusting_its_account_becomes_it(aws: Callable[..., Any]) -> None:
    notes_bucket(aws)
    iam = aws("iam")
    etl = make_role(iam, "etl", ROOT_TRUST, allow("s3:GetObject", f"{NOTES}/*"))
    ops = make_user(iam, "ops", allow("sts:AssumeRole", etl))
    clerk = make_user(iam, "clerk", allow("s3:ListAllMyBuckets"))
    only_dev = make_role(iam, "dev-only", {"AWS": arn("user", "dev")}, allow("s3:GetObject", f"{NOTES}/*"))
    make_user(iam, "dev")
    wide = make_user(iam, "wide", allow("sts:AssumeRole"))
    found = collect()
    assert attributes(found, ops)["can_become_via"] == {etl: "sts:AssumeRole"}
    assert attributes(found, ops)["can_become"] == [etl]
    assert attributes(found, etl)["can_read_via"] == {NOTES: "s3:GetObject"}
    # Passing: no Allow on sts:AssumeRole, or a trust that names someone else.
    assert attributes(found, clerk)["can_become"] == []
    assert only_dev not in attributes(found, wide)["can_become"]
    assert attributes(found, arn("user", "dev"))["can_become"] == [only_dev]
    assert attributes(found, wide)["can_become"] == [etl]


def test_roles_of_every_account_of_an_organization_scan_are_seen(aws: Callable[..., Any], endpoint: str) -> None:
    member, member_client = member_account(endpoint)
    member_iam = member_client("iam")
    reader = make_role(member_iam, "notes-reader", ROOT_TRUST, allow("s3:GetObject", f"{NOTES}/*"))
    closed = make_role(member_iam, "closed", {"AWS": member}, allow("s3:GetObject", f"{NOTES}/*"))
    iam = aws("iam")
    ops = make_user(iam, "ops", allow("sts:AssumeRole", f"arn:aws:iam::{member}:role/*"),
                    allow("s3:GetObject", "arn:aws:s3:::member-exports/*"))
    clerk = make_user(iam, "clerk", allow("s3:GetObject", "arn:aws:s3:::member-exports/*"))
    # A bucket of the member account granting the management account's user: read across accounts.
    member_s3 = member_client("s3")
    member_s3.create_bucket(Bucket="member-exports", CreateBucketConfiguration={"LocationConstraint": REGION})
    member_s3.put_bucket_policy(Bucket="member-exports", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": ops}, "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::member-exports/*"}]}))
    found = collect(org_role="OrganizationAccountAccessRole", external_id="x-1")
    assert attributes(found, ops)["can_read_via"] == {"arn:aws:s3:::member-exports": "s3:GetObject"}
    assert attributes(found, clerk)["can_read"] == []  # its own Allow alone does not cross accounts
    assert reader.startswith(f"arn:aws:iam::{member}:")
    # The organization's access role trusts the management account too: a real path as well.
    access = arn("role", "OrganizationAccountAccessRole", member)
    assert attributes(found, ops)["can_become_via"] == {reader: "sts:AssumeRole", access: "sts:AssumeRole"}
    assert closed not in attributes(found, ops)["can_become"]
    assert attributes(found, clerk)["can_become"] == []
    assert found[reader].scope == member


# --- escalation ---------------------------------------------------------------------------------

def test_passing_a_role_to_code_it_runs_becomes_the_role(aws: Callable[..., Any]) -> None:
    iam = aws("iam")
    runner = make_role(iam, "runner", {"Service": "lambda.amazonaws.com"}, allow("s3:GetObject", f"{NOTES}/*"))
    deployer = make_user(iam, "deployer", allow("iam:PassRole", runner),
                         allow(["lambda:CreateFunction", "lambda:InvokeFunction"]))
    half = make_user(iam, "half", allow("iam:PassRole", runner), allow("lambda:CreateFunction"))
    found = collect()
    assert attributes(found, deployer)["can_become_via"] == {
        runner: "iam:PassRole + lambda:CreateFunction + lambda:InvokeFunction"}
    assert attributes(found, half)["can_become"] == []


def test_iam_writes_become_other_principals_or_grant_the_writer_everything(aws: Callable[..., Any]) -> None:
    notes_bucket(aws)
    iam = aws("iam")
    analyst = make_user(iam, "analyst", allow("s3:GetObject", f"{NOTES}/*"))
    helpdesk = make_user(iam, "helpdesk", allow("iam:CreateAccessKey", arn("user", "analyst")))
    etl = make_role(iam, "etl", {"Service": "glue.amazonaws.com"})
    trustee = make_user(iam, "trustee", allow("iam:UpdateAssumeRolePolicy", etl))
    selfish = make_user(iam, "selfish", allow("iam:PutUserPolicy", arn("user", "selfish")))
    iam.create_group(GroupName="team")
    iam.put_group_policy(GroupName="team", PolicyName="p",
                         PolicyDocument=document(allow("iam:AttachGroupPolicy", arn("group", "team"))))
    member = make_user(iam, "member")
    iam.add_user_to_group(GroupName="team", UserName="member")
    reader = make_user(iam, "reader", allow("iam:GetUser"))
    found = collect()
    assert attributes(found, helpdesk)["can_become_via"] == {analyst: "iam:CreateAccessKey"}
    assert attributes(found, trustee)["can_become_via"] == {etl: "iam:UpdateAssumeRolePolicy"}
    assert attributes(found, selfish)["can_read_via"] == {NOTES: "iam:PutUserPolicy (can grant itself read)"}
    assert attributes(found, selfish)["can_become_via"][etl] == (
        "iam:PutUserPolicy (can grant itself anything), then iam:UpdateAssumeRolePolicy")
    assert attributes(found, member)["can_read_via"] == {
        NOTES: f"iam:AttachGroupPolicy on {arn('group', 'team')} (can grant itself read)"}
    assert attributes(found, reader)["can_read"] == []
    assert attributes(found, reader)["can_become"] == []


def test_a_principal_that_can_rewrite_a_bucket_policy_reads_the_bucket(aws: Callable[..., Any]) -> None:
    notes_bucket(aws)
    iam = aws("iam")
    rewriter = make_user(iam, "rewriter", allow("s3:PutBucketPolicy", NOTES))
    acl = make_user(iam, "acl", allow("s3:PutBucketAcl", NOTES))
    found = collect()
    assert attributes(found, rewriter)["can_read_via"] == {NOTES: "s3:PutBucketPolicy (can grant itself read)"}
    assert attributes(found, acl)["can_read"] == []


def test_changing_the_code_of_a_function_or_commanding_an_instance_becomes_their_role(
        aws: Callable[..., Any]) -> None:
    import io
    import zipfile

    iam = aws("iam")
    exporter = make_role(iam, "exporter", {"Service": "lambda.amazonaws.com"}, allow("s3:GetObject", f"{NOTES}/*"))
    worker = make_role(iam, "worker", {"Service": "ec2.amazonaws.com"}, allow("s3:GetObject", f"{NOTES}/*"))
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return None\n")
    function = aws("lambda").create_function(FunctionName="export", Runtime="python3.12", Role=exporter,
                                             Handler="index.handler", Code={"ZipFile": code.getvalue()})["FunctionArn"]
    iam.create_instance_profile(InstanceProfileName="worker")
    iam.add_role_to_instance_profile(InstanceProfileName="worker", RoleName="worker")
    instance = aws("ec2").run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1,
                                        IamInstanceProfile={"Name": "worker"})["Instances"][0]["InstanceId"]
    coder = make_user(iam, "coder", allow("lambda:UpdateFunctionCode", function))
    operator = make_user(iam, "operator", allow("ssm:StartSession", f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/*"))
    viewer = make_user(iam, "viewer", allow(["lambda:GetFunction", "ssm:DescribeInstanceInformation"]))
    found = collect()
    assert attributes(found, coder)["can_become_via"] == {exporter: f"lambda:UpdateFunctionCode on {function}"}
    instance_arn = f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/{instance}"
    assert attributes(found, operator)["can_become_via"] == {worker: f"ssm:StartSession on {instance_arn}"}
    assert attributes(found, viewer)["can_become"] == []


def test_object_acl_writes_read_a_bucket_only_where_acls_are_enabled(aws: Callable[..., Any]) -> None:
    s3 = aws("s3")
    for name, ownership in (("acl-enabled", "ObjectWriter"), ("acl-disabled", "BucketOwnerEnforced")):
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls={"Rules": [{"ObjectOwnership": ownership}]})
    uploader = make_user(aws("iam"), "uploader", allow(["s3:PutObject", "s3:PutObjectAcl"], "arn:aws:s3:::acl-*/*"))
    found = collect()
    assert attributes(found, uploader)["can_read_via"] == {
        "arn:aws:s3:::acl-enabled": "s3:PutObjectAcl (can grant itself read through object ACLs)"}


# --- other read paths -----------------------------------------------------------------------------

def test_table_indexes_streams_and_exports_read_the_table(aws: Callable[..., Any]) -> None:
    table = aws("dynamodb").create_table(
        TableName="consultations", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}])["TableDescription"]["TableArn"]
    iam = aws("iam")
    by_index = make_role(iam, "by-index", ROOT_TRUST, allow("dynamodb:Query", f"{table}/index/*"))
    by_stream = make_role(iam, "by-stream", ROOT_TRUST, allow("dynamodb:GetRecords", f"{table}/stream/*"))
    exporter = make_role(iam, "exporter", ROOT_TRUST, allow("dynamodb:ExportTableToPointInTime", table))
    describer = make_role(iam, "describer", ROOT_TRUST, allow("dynamodb:DescribeTable", f"{table}*"))
    found = collect()
    assert attributes(found, by_index)["can_read_via"] == {table: "dynamodb:Query"}
    assert attributes(found, by_stream)["can_read_via"] == {table: "dynamodb:GetRecords"}
    assert attributes(found, exporter)["can_read_via"] == {table: "dynamodb:ExportTableToPointInTime"}
    assert attributes(found, describer)["can_read"] == []


def test_iam_database_logins_read_a_database_with_iam_authentication(aws: Callable[..., Any]) -> None:
    rds = aws("rds")
    common = {"DBInstanceClass": "db.t3.micro", "Engine": "postgres", "MasterUsername": "admin",
              "MasterUserPassword": "x" * 12, "AllocatedStorage": 20}
    iam_db = rds.create_db_instance(DBInstanceIdentifier="dossiers", EnableIAMDatabaseAuthentication=True,
                                    **common)["DBInstance"]
    plain = rds.create_db_instance(DBInstanceIdentifier="billing", **common)["DBInstance"]
    iam = aws("iam")
    connect = make_role(iam, "connect", ROOT_TRUST,
                        allow("rds-db:connect", f"arn:aws:rds-db:{REGION}:{ACCOUNT}:dbuser:*/app"))
    found = collect()
    assert attributes(found, connect)["can_read_via"] == {iam_db["DBInstanceArn"]: "rds-db:connect"}
    assert plain["DBInstanceArn"] not in attributes(found, connect)["can_read"]


# --- trusts and keys ------------------------------------------------------------------------------

def test_a_federated_trust_without_a_subject_condition_is_third_party(aws: Callable[..., Any]) -> None:
    iam = aws("iam")
    provider = iam.create_open_id_connect_provider(
        Url="https://token.actions.githubusercontent.com", ClientIDList=["sts.amazonaws.com"],
        ThumbprintList=["a" * 40])["OpenIDConnectProviderArn"]
    web = "sts:AssumeRoleWithWebIdentity"
    audience = {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}
    loose = make_role(iam, "deploy-loose", {"Federated": provider}, action=web,
                      Condition={"StringEquals": audience})
    strict = make_role(iam, "deploy-strict", {"Federated": provider}, action=web,
                       Condition={"StringEquals": audience,
                                  "StringLike": {"token.actions.githubusercontent.com:sub": "repo:exemplum/*"}})
    found = collect()
    assert {k: attributes(found, loose)[k] for k in ("third_party", "trusted_accounts", "external_id_required")} == {
        "third_party": True, "trusted_accounts": ["token.actions.githubusercontent.com"],
        "external_id_required": False}
    assert attributes(found, strict)["third_party"] is False


def test_a_store_under_another_accounts_key_is_not_under_a_customer_managed_key_of_its_owner(
        aws: Callable[..., Any]) -> None:
    notes_bucket(aws)
    s3 = aws("s3")
    s3.create_bucket(Bucket="exemplum-admin", CreateBucketConfiguration={"LocationConstraint": REGION})
    own_key = aws("kms").create_key()["KeyMetadata"]["Arn"]
    foreign = f"arn:aws:kms:{REGION}:999988887777:key/0b7c-foreign"
    for bucket, key in (("exemplum-notes", foreign), ("exemplum-admin", own_key)):
        s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [
            {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}]})
    found = collect()
    assert found[NOTES].attributes["encryption"]["key_manager"] == "provider"
    assert found["arn:aws:s3:::exemplum-admin"].attributes["encryption"]["key_manager"] == "customer"


# --- through the engine: the closure judges segmentation ------------------------------------------

def scan(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    out = tmp_path / "report.json"
    code = main(["scan", "--provider", "aws", "--region", REGION, "--quiet", "--format", f"json={out}", *args])
    return code, json.loads(out.read_text())


def findings(report: dict[str, Any], policy: str, principal: str) -> list[dict[str, Any]]:
    return [f for f in report["findings"] if f["policy_id"] == policy and f["resource"]["id"] == principal]


def test_a_user_reaching_clinical_and_administrative_data_through_a_role_fails_segmentation(
        aws: Callable[..., Any], tmp_path: Path) -> None:
    notes_bucket(aws)
    s3 = aws("s3")
    s3.create_bucket(Bucket="exemplum-invoices", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_tagging(Bucket="exemplum-invoices",
                          Tagging={"TagSet": [{"Key": "data_class", "Value": "administrative"}]})
    iam = aws("iam")
    etl = make_role(iam, "etl", ROOT_TRUST, allow("s3:GetObject", f"{NOTES}/*"))
    ops = make_user(iam, "ops", allow("sts:AssumeRole", etl),
                    allow("s3:GetObject", "arn:aws:s3:::exemplum-invoices/*"))
    make_user(iam, "clerk", allow("s3:GetObject", "arn:aws:s3:::exemplum-invoices/*"))
    _, report = scan(tmp_path, "--only", "PHI-SEG-002")
    assert report["collection_errors"] == []
    # The clerk and the role each read one class only: they pass (findings list failures).
    assert {(f["resource"]["id"], f["status"]) for f in report["findings"]} == {(ops, "fail")}
    [failed] = findings(report, "PHI-SEG-002", ops)
    assert ("user/ops \u2192 (sts:AssumeRole) role/etl \u2192 s3:GetObject \u2192 exemplum-notes (clinical)"
            in failed["message"])
    assert (report["summary"]["pass"], report["summary"]["error"]) == (2, 0)  # clerk and etl


def test_a_user_that_may_assume_a_role_of_an_account_outside_the_run_is_undecided(
        aws: Callable[..., Any], tmp_path: Path) -> None:
    notes_bucket(aws)
    iam = aws("iam")
    partner = "arn:aws:iam::999988887777:role/partner"
    ops = make_user(iam, "ops", allow("sts:AssumeRole", partner))
    make_user(iam, "clerk", allow("s3:GetObject", f"{NOTES}/*"))
    code, report = scan(tmp_path, "--only", "PHI-SEG-002")
    assert {(f["resource"]["id"], f["status"]) for f in report["findings"]} == {(ops, "error")}
    assert code == 3
