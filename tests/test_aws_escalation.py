"""The AWS access graph, pure: the read-action table (indexes, streams, IAM database logins, policy
rewrites), role chaining and IAM escalation edges, foreign KMS keys. Hand-written policies and
recorded response shapes; no AWS calls."""

from __future__ import annotations

from typing import Any

import pytest

from phigate_providers.aws.access import AccessAnalyzer, Identity, Store, parse_policy
from phigate_providers.aws.account_run import Needs
from phigate_providers.aws.escalation import EscalationGraph, ManagedPolicy, Member
from phigate_providers.aws.kms import KeyDirectory, KeyFacts
from phigate_providers.aws.read_actions import bucket_facets, database_facets, table_facets
from phigate_providers.aws.runners import RUN_COMMAND, UPDATE_CODE, Runner

A = "111111111111"
B = "222222222222"
OPS = f"arn:aws:iam::{A}:user/ops"
DEV = f"arn:aws:iam::{A}:user/dev"
ETL = f"arn:aws:iam::{A}:role/etl"
RUNNER = f"arn:aws:iam::{A}:role/runner"
ADMINS = f"arn:aws:iam::{A}:group/admins"
TEAM = f"arn:aws:iam::{A}:group/team"
SHARED = f"arn:aws:iam::{A}:policy/shared"
REMOTE = f"arn:aws:iam::{B}:role/remote"
NOTES = "arn:aws:s3:::exemplum-notes"
TABLE = f"arn:aws:dynamodb:eu-west-3:{A}:table/consultations"
DB = f"arn:aws:rds:eu-west-3:{A}:db:dossiers"


def doc(*statements: dict[str, Any], name: str = "policy") -> Any:
    return parse_policy({"Version": "2012-10-17", "Statement": list(statements)}, name=name)


def allow(action: Any, resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any, resource: Any = "*") -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource}


def trusting(principal: Any, action: str = "sts:AssumeRole", **extra: Any) -> Any:
    return doc({"Effect": "Allow", "Principal": principal, "Action": action, **extra}, name="trust")


def identity(arn: str, *statements: dict[str, Any], boundary: Any = None, account: str = A) -> Identity:
    policies = (doc(*statements, name=f"policy of {arn}"),) if statements else ()
    return Identity(arn, account, policies, boundary)


def user(arn: str, *statements: dict[str, Any], groups: tuple[str, ...] = (), boundary: Any = None,
         account: str = A) -> Member:
    return Member(arn, "user", account, identity(arn, *statements, boundary=boundary, account=account), groups)


def role(arn: str, trust: Any, *statements: dict[str, Any], account: str = A) -> Member:
    return Member(arn, "role", account, identity(arn, *statements, account=account), (), trust)


def group(arn: str) -> Member:
    return Member(arn, "group", A, identity(arn), ())


ACCOUNT_ROOT = trusting({"AWS": f"arn:aws:iam::{A}:root"})
LAMBDA = trusting({"Service": "lambda.amazonaws.com"})


def become(member: Member, *others: Member, policies: tuple[ManagedPolicy, ...] = (),
           reads: AccessAnalyzer | None = None) -> dict[str, str]:
    return EscalationGraph([member, *others], list(policies)).edges(member, reads).can_become


# --- read actions per store type ----------------------------------------------------------------

def reads(who: Identity, *stores: Store) -> dict[str, str]:
    return AccessAnalyzer(list(stores)).read_access(who).can_read_via


BUCKET = Store.of(NOTES, bucket_facets(NOTES), A)
DYNAMO = Store.of(TABLE, table_facets(TABLE), A)


@pytest.mark.parametrize(("statement", "expected"), [
    (allow("s3:GetObject", f"{NOTES}/*"), {NOTES: "s3:GetObject"}),
    (allow(["s3:GetObjectVersion", "s3:PutBucketPolicy"], [f"{NOTES}/2024/*", NOTES]),
     {NOTES: "s3:GetObjectVersion"}),
    (allow("s3:PutBucketPolicy", NOTES), {NOTES: "s3:PutBucketPolicy (can grant itself read)"}),
    (allow("s3:PutObjectAcl", f"{NOTES}/*"), {NOTES: "s3:PutObjectAcl (can grant itself read through object ACLs)"}),
    (allow("s3:PutBucketAcl", NOTES), {}),
    (allow("s3:PutBucketPolicy", f"{NOTES}/*"), {}),
    (allow("dynamodb:Query", f"{TABLE}/index/*"), {TABLE: "dynamodb:Query"}),
    (allow("dynamodb:GetRecords", f"{TABLE}/stream/2026-01-01T00:00:00.000"), {TABLE: "dynamodb:GetRecords"}),
    (allow("dynamodb:ExportTableToPointInTime", TABLE), {TABLE: "dynamodb:ExportTableToPointInTime"}),
    (allow("dynamodb:PutResourcePolicy", TABLE), {TABLE: "dynamodb:PutResourcePolicy (can grant itself read)"}),
    (allow("dynamodb:GetItem", f"{TABLE}/index/*"), {}),
    (allow("dynamodb:Query", f"{TABLE}-archive/index/*"), {}),
    (allow(["kms:PutKeyPolicy", "kms:CreateGrant", "kms:Decrypt"]), {}),
])
def test_every_way_into_a_store_reads_it_and_says_how(statement: dict[str, Any], expected: dict[str, str]) -> None:
    assert reads(identity(OPS, statement), BUCKET, DYNAMO) == expected


def test_object_acls_are_no_way_in_where_the_bucket_disables_them() -> None:
    writer = identity(OPS, allow(["s3:PutObject", "s3:PutObjectAcl"], f"{NOTES}/*"))
    enforced = Store.of(NOTES, bucket_facets(NOTES, object_acls=False), A)
    assert reads(writer, enforced) == {}
    assert reads(writer, BUCKET) == {NOTES: "s3:PutObjectAcl (can grant itself read through object ACLs)"}


def test_a_deny_on_the_table_leaves_its_indexes_readable_and_a_deny_on_all_of_it_does_not() -> None:
    query = allow("dynamodb:Query", [TABLE, f"{TABLE}/index/*"])
    assert reads(identity(OPS, query, deny("dynamodb:*", TABLE)), DYNAMO) == {TABLE: "dynamodb:Query"}
    assert reads(identity(OPS, query, deny("dynamodb:*", f"{TABLE}*")), DYNAMO) == {}


def test_a_bucket_policy_letting_a_principal_rewrite_it_is_a_read_path() -> None:
    policy = doc({"Effect": "Allow", "Principal": {"AWS": OPS}, "Action": "s3:PutBucketPolicy", "Resource": NOTES})
    store = Store.of(NOTES, bucket_facets(NOTES), A, policy)
    assert reads(identity(OPS), store) == {NOTES: "s3:PutBucketPolicy (can grant itself read)"}


@pytest.mark.parametrize(("iam_auth", "data_api", "statement", "readable"), [
    (True, False, allow("rds-db:connect", f"arn:aws:rds-db:eu-west-3:{A}:dbuser:db-ABC123/*"), True),
    (True, False, allow("rds-db:connect", f"arn:aws:rds-db:eu-west-3:{A}:dbuser:db-ABC123/app"), True),
    (True, False, allow("rds-db:connect", f"arn:aws:rds-db:eu-west-3:{A}:dbuser:db-OTHER/*"), False),
    (False, False, allow("rds-db:connect"), False),  # IAM authentication off: no login through IAM
    (False, True, allow("rds-data:ExecuteStatement", DB), True),
    (False, False, allow("rds-data:ExecuteStatement", DB), False),
])
def test_iam_database_logins_and_the_data_api_read_a_database_only_where_they_are_on(
        iam_auth: bool, data_api: bool, statement: dict[str, Any], readable: bool) -> None:
    facets = database_facets(DB, resource_id="db-ABC123", iam_auth=iam_auth, data_api=data_api)
    stores = [Store.of(DB, facets, A)] if facets else []
    assert (DB in reads(identity(OPS, statement), *stores)) is readable


def test_a_run_judging_reads_lists_every_kind_of_store_a_principal_may_read() -> None:
    needs = Needs.from_fields({"principal": frozenset({"can_read"})})
    assert needs.kinds is not None and {"object_store", "table", "database"} <= needs.kinds


# --- role chaining ------------------------------------------------------------------------------

def test_assume_role_needs_the_identity_policy_when_the_trust_names_the_account() -> None:
    etl = role(ETL, ACCOUNT_ROOT)
    assert become(user(OPS, allow("sts:AssumeRole", ETL)), etl) == {ETL: "sts:AssumeRole"}
    assert become(user(OPS, allow("sts:AssumeRole", f"arn:aws:iam::{A}:role/e*")), etl) == {ETL: "sts:AssumeRole"}
    assert become(user(OPS), etl) == {}
    assert become(user(OPS, allow("sts:AssumeRole", ETL), deny("sts:*", ETL)), etl) == {}
    assert become(user(OPS, {"Effect": "Allow", "Action": "sts:AssumeRole", "NotResource": ETL}), etl) == {}


def test_a_trust_naming_the_identity_suffices_within_the_account() -> None:
    etl = role(ETL, trusting({"AWS": OPS}))
    assert become(user(OPS), etl) == {ETL: "sts:AssumeRole"}
    assert become(user(DEV, allow("sts:AssumeRole")), etl) == {}


def test_a_permissions_boundary_without_sts_stops_assuming_through_the_account() -> None:
    boundary = doc(allow("s3:*"), name="boundary")
    assert become(user(OPS, allow("sts:AssumeRole"), boundary=boundary), role(ETL, ACCOUNT_ROOT)) == {}


def test_across_accounts_both_the_trust_and_the_identity_policy_must_allow() -> None:
    trusts_a = trusting({"AWS": f"arn:aws:iam::{A}:root"})
    remote = role(REMOTE, trusts_a, account=B)
    assert become(user(OPS, allow("sts:AssumeRole", REMOTE)), remote) == {REMOTE: "sts:AssumeRole"}
    assert become(user(OPS), role(REMOTE, trusting({"AWS": OPS}), account=B)) == {}
    assert become(user(OPS, allow("sts:AssumeRole")), role(REMOTE, trusting({"AWS": B}), account=B)) == {}


def test_a_trust_with_conditions_that_cannot_be_decided_is_an_edge_and_says_so() -> None:
    mfa = trusting({"AWS": f"arn:aws:iam::{A}:root"},
                   Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}})
    graph = EscalationGraph([ops := user(OPS, allow("sts:AssumeRole")), role(ETL, mfa)], [])
    edges = graph.edges(ops, None)
    assert edges.can_become == {ETL: "sts:AssumeRole"}
    assert [n.split(":", 1)[0] for n in edges.undecided_conditions] == ["arn"]
    assert edges.undecided_conditions[0].startswith(f"{ETL}: Allow in policy 'trust'")
    assert "aws:MultiFactorAuthPresent" in edges.undecided_conditions[0]


def test_a_trust_decided_false_for_the_identity_is_no_edge() -> None:
    only_dev = trusting({"AWS": f"arn:aws:iam::{A}:root"}, Condition={"ArnEquals": {"aws:PrincipalArn": DEV}})
    assert become(user(OPS, allow("sts:AssumeRole")), role(ETL, only_dev)) == {}
    assert become(user(DEV, allow("sts:AssumeRole")), role(ETL, only_dev)) == {ETL: "sts:AssumeRole"}


def test_a_service_trust_lets_no_identity_assume_the_role_directly() -> None:
    assert become(user(OPS, allow("sts:AssumeRole")), role(ETL, LAMBDA)) == {}


def test_roles_of_accounts_outside_the_run_are_kept_as_edges_or_unseen_scopes() -> None:
    partner = "arn:aws:iam::999988887777:role/partner"
    ops = user(OPS, allow("sts:AssumeRole", [partner, "arn:aws:iam::999988887777:role/ci-*",
                                             f"arn:aws:iam::{B}:role/x", "arn:aws:iam::*:role/any"]))
    edges = EscalationGraph([ops], [], accounts=[A, B]).edges(ops, None)
    assert edges.can_become == {partner: "sts:AssumeRole (a role of account 999988887777, not read in this run)"}
    assert edges.access_unseen == ["aws account 999988887777: roles matching role/ci-* (not read in this run)"]
    assert EscalationGraph([user(OPS, allow("sts:GetCallerIdentity"))], []).edges(
        user(OPS, allow("sts:GetCallerIdentity")), None).access_unseen == []


# --- escalation ---------------------------------------------------------------------------------

@pytest.mark.parametrize("action", ["iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile",
                                    "iam:PutUserPolicy", "iam:AttachUserPolicy"])
def test_writing_another_users_credentials_or_policies_becomes_that_user(action: str) -> None:
    assert become(user(OPS, allow(action, DEV)), user(DEV)) == {DEV: action}
    assert become(user(OPS, allow(action, OPS)), user(DEV)).get(DEV) in (None, f"{action} (can grant itself "
                                                                             f"anything), then iam:CreateAccessKey")


@pytest.mark.parametrize("action", ["iam:UpdateAssumeRolePolicy", "iam:PutRolePolicy", "iam:AttachRolePolicy"])
def test_rewriting_a_roles_trust_or_policies_becomes_that_role(action: str) -> None:
    assert become(user(OPS, allow(action, ETL)), role(ETL, LAMBDA)) == {ETL: action}


def test_a_user_granting_itself_a_policy_reads_every_store_of_its_account_and_becomes_its_principals() -> None:
    stores = AccessAnalyzer([BUCKET, DYNAMO])
    ops = user(OPS, allow("iam:PutUserPolicy", OPS))
    graph = EscalationGraph([ops, role(ETL, LAMBDA), user(DEV)], [])
    edges = graph.edges(ops, stores)
    how = "iam:PutUserPolicy (can grant itself read)"
    assert edges.can_read_via == {NOTES: how, TABLE: how}
    assert edges.can_become == {
        DEV: "iam:PutUserPolicy (can grant itself anything), then iam:CreateAccessKey",
        ETL: "iam:PutUserPolicy (can grant itself anything), then iam:UpdateAssumeRolePolicy",
    }


def test_self_escalation_keeps_the_permissions_boundary_unless_it_can_be_removed() -> None:
    boundary = doc(allow(["iam:*"]), name="boundary")
    stores = AccessAnalyzer([BUCKET])
    bounded = user(OPS, allow("iam:PutUserPolicy", OPS), boundary=boundary)
    assert EscalationGraph([bounded], []).edges(bounded, stores).can_read_via == {}
    unbound = user(OPS, allow(["iam:PutUserPolicy", "iam:DeleteUserPermissionsBoundary"], OPS), boundary=boundary)
    assert EscalationGraph([unbound], []).edges(unbound, stores).can_read_via == {
        NOTES: "iam:PutUserPolicy (can grant itself read)"}


def test_group_policies_escalate_members_and_joining_a_group_inherits_it() -> None:
    stores = AccessAnalyzer([BUCKET])
    member = user(OPS, allow("iam:PutGroupPolicy", TEAM), groups=(TEAM,))
    assert EscalationGraph([member, group(TEAM)], []).edges(member, stores).can_read_via == {
        NOTES: f"iam:PutGroupPolicy on {TEAM} (can grant itself read)"}
    assert become(user(OPS, allow("iam:AddUserToGroup", ADMINS)), group(ADMINS)) == {
        ADMINS: "iam:AddUserToGroup (member, inherits)"}
    assert become(user(OPS, allow("iam:AttachGroupPolicy", ADMINS)), group(ADMINS)) == {
        ADMINS: "iam:AttachGroupPolicy"}


def test_a_new_version_of_a_managed_policy_escalates_whoever_holds_it() -> None:
    stores = AccessAnalyzer([BUCKET])
    shared = ManagedPolicy(SHARED, A, (OPS, ETL))
    ops = user(OPS, allow("iam:CreatePolicyVersion", SHARED))
    edges = EscalationGraph([ops, role(ETL, LAMBDA)], [shared]).edges(ops, stores)
    assert edges.can_read_via == {NOTES: f"iam:CreatePolicyVersion on {SHARED} (can grant itself read)"}
    held_by_others = ManagedPolicy(SHARED, A, (ETL, TEAM))
    assert become(user(DEV, allow("iam:SetDefaultPolicyVersion", SHARED)), role(ETL, LAMBDA), group(TEAM),
                  policies=(held_by_others,)) == {ETL: f"iam:SetDefaultPolicyVersion on {SHARED}",
                                                  TEAM: f"iam:SetDefaultPolicyVersion on {SHARED}"}


@pytest.mark.parametrize(("trust", "actions", "expected"), [
    (LAMBDA, ["lambda:CreateFunction", "lambda:InvokeFunction"],
     "iam:PassRole + lambda:CreateFunction + lambda:InvokeFunction"),
    (LAMBDA, ["lambda:CreateFunction", "lambda:CreateEventSourceMapping"],
     "iam:PassRole + lambda:CreateFunction + lambda:CreateEventSourceMapping"),
    (LAMBDA, ["lambda:CreateFunction"], None),
    (LAMBDA, ["ec2:RunInstances"], None),
    (trusting({"Service": "ec2.amazonaws.com"}), ["ec2:RunInstances"], "iam:PassRole + ec2:RunInstances"),
    (trusting({"Service": ["glue.amazonaws.com"]}), ["glue:CreateDevEndpoint"], "iam:PassRole + glue:CreateDevEndpoint"),
    (trusting({"Service": "cloudformation.amazonaws.com"}), ["cloudformation:CreateStack"],
     "iam:PassRole + cloudformation:CreateStack"),
    (trusting({"Service": "codebuild.amazonaws.com"}), ["codebuild:*"],
     "iam:PassRole + codebuild:CreateProject + codebuild:StartBuild"),
    (trusting({"Service": "sagemaker.amazonaws.com"}), ["sagemaker:CreateNotebookInstance"],
     "iam:PassRole + sagemaker:CreateNotebookInstance"),
    (trusting({"Service": "ecs-tasks.amazonaws.com"}), ["ecs:RegisterTaskDefinition", "ecs:RunTask"],
     "iam:PassRole + ecs:RegisterTaskDefinition + ecs:RunTask"),
    (ACCOUNT_ROOT, ["lambda:*"], None),
])
def test_passing_a_role_to_a_service_that_runs_code_becomes_the_role(
        trust: Any, actions: list[str], expected: str | None) -> None:
    ops = user(OPS, allow("iam:PassRole", RUNNER), allow(actions))
    assert become(ops, role(RUNNER, trust)) == ({RUNNER: expected} if expected else {})


def test_pass_role_needs_the_role_and_the_service_actions_not_denied() -> None:
    runner = role(RUNNER, LAMBDA)
    code = allow(["lambda:CreateFunction", "lambda:InvokeFunction"])
    assert become(user(OPS, allow("iam:PassRole", ETL), code), runner) == {}
    assert become(user(OPS, allow("iam:PassRole"), code, deny("lambda:*")), runner) == {}


FUNCTION = f"arn:aws:lambda:eu-west-3:{A}:function:export"
INSTANCE = f"arn:aws:ec2:eu-west-3:{A}:instance/i-0abc"


@pytest.mark.parametrize(("statement", "expected"), [
    (allow("lambda:UpdateFunctionCode", FUNCTION), {ETL: f"lambda:UpdateFunctionCode on {FUNCTION}"}),
    (allow("ssm:StartSession", f"arn:aws:ec2:*:{A}:instance/*"), {RUNNER: f"ssm:StartSession on {INSTANCE}"}),
    (allow("ssm:SendCommand"), {RUNNER: f"ssm:SendCommand on {INSTANCE}"}),
    # A layer or a wrapper script runs in the function; a pushed SSH key opens a shell on the instance.
    (allow("lambda:UpdateFunctionConfiguration", FUNCTION), {ETL: f"lambda:UpdateFunctionConfiguration on {FUNCTION}"}),
    (allow("ec2-instance-connect:SendSSHPublicKey", INSTANCE),
     {RUNNER: f"ec2-instance-connect:SendSSHPublicKey on {INSTANCE}"}),
    (allow(["lambda:GetFunction", "ssm:DescribeInstanceInformation"]), {}),
    (allow("lambda:UpdateFunctionCode", f"{FUNCTION}-other"), {}),
])
def test_changing_what_a_function_or_instance_runs_becomes_its_role(
        statement: dict[str, Any], expected: dict[str, str]) -> None:
    runners = [Runner(FUNCTION, ETL, UPDATE_CODE, A), Runner(INSTANCE, RUNNER, RUN_COMMAND, A)]
    ops = user(OPS, statement)
    graph = EscalationGraph([ops, role(ETL, LAMBDA), role(RUNNER, trusting({"Service": "ec2.amazonaws.com"}))],
                            [], runners=runners)
    assert graph.edges(ops, None).can_become == expected


def test_where_functions_could_not_be_listed_an_identity_that_may_change_them_is_unseen() -> None:
    gap = f"aws account {A} region eu-west-3: Lambda functions (not read)"
    coder, reader = user(OPS, allow("lambda:UpdateFunctionCode")), user(DEV, allow("s3:GetObject"))
    graph = EscalationGraph([coder, reader], [], gaps={A: [gap]})
    assert graph.edges(coder, None).access_unseen == [gap]
    assert graph.edges(reader, None).access_unseen == []


def test_iam_actions_never_reach_principals_of_another_account() -> None:
    remote_user = Member(f"arn:aws:iam::{B}:user/x", "user", B, identity(f"arn:aws:iam::{B}:user/x", account=B))
    assert become(user(OPS, allow("iam:*")), remote_user) == {}


def test_an_identity_with_unreadable_policies_and_a_group_without_policies_have_no_edges() -> None:
    unknown = Member(OPS, "user", A, None)
    assert EscalationGraph([unknown, role(ETL, trusting("*"))], []).edges(unknown, None).can_become == {}
    assert become(group(ADMINS), role(ETL, ACCOUNT_ROOT)) == {}


def test_among_many_roles_trusting_the_account_each_user_becomes_only_the_one_it_may_assume() -> None:
    roles = [role(f"arn:aws:iam::{A}:role/r{i}", ACCOUNT_ROOT) for i in range(1500)]
    users = [user(f"arn:aws:iam::{A}:user/u{i}", allow("sts:AssumeRole", f"arn:aws:iam::{A}:role/r{i}"))
             for i in range(1500)]
    graph = EscalationGraph([*users, *roles], [])
    found = [graph.edges(u, None).can_become for u in users]
    assert found[7] == {f"arn:aws:iam::{A}:role/r7": "sts:AssumeRole"}
    assert all(len(f) == 1 for f in found)


# --- KMS ----------------------------------------------------------------------------------------

def test_a_key_of_another_account_is_never_the_owners_customer_managed_key() -> None:
    keys = KeyDirectory()
    own = f"arn:aws:kms:eu-west-3:{A}:key/1111"
    keys.add_region("eu-west-3", [KeyFacts(own, "customer", ())])
    assert keys.manager(own, "eu-west-3", A) == "customer"
    assert keys.manager("1111", "eu-west-3", A) == "customer"
    assert keys.manager(f"arn:aws:kms:eu-west-3:{B}:key/2222", "eu-west-3", A) == "provider"
    assert keys.manager(f"arn:aws:kms:eu-west-3:{B}:alias/shared", "eu-west-3", A) == "provider"
    assert keys.manager("alias/aws/s3", "eu-west-3", A) == "provider"
    assert keys.manager("alias/unknown", "eu-west-3", A) is None
    assert keys.manager("arn:aws:kms", "eu-west-3", A) is None  # a truncated ARN: unknown, no crash


# --- the run's estate -----------------------------------------------------------------------------

def _account(account_id: str) -> Any:
    from phigate_providers.aws.context import Account

    return Account(account_id, None, ("eu-west-3",), "eu-west-3")  # type: ignore[arg-type]  # never called


def _principal(arn: str, *statements: dict[str, Any]) -> Any:
    from phigate_providers.aws.iam import Principal

    return Principal(arn, arn.rsplit("/", 1)[-1], "user", {}, [], [doc(*statements)], None, None, {})


def test_an_account_of_the_run_not_completely_read_leaves_every_principal_unseen() -> None:
    from phigate.api import Context, Resource
    from phigate_providers.aws.access_facts import AccessFacts
    from phigate_providers.aws.estate import EstateFacts, join
    from phigate_providers.aws.iam import IamFacts

    ops = _principal(OPS, allow("s3:GetObject"))
    remote = _principal(f"arn:aws:iam::{B}:user/remote", allow("s3:GetObject"))
    own, other = AccessFacts(A, reported=True), AccessFacts(B, reported=False)
    own.stores.append(BUCKET)
    own.add_principals(_account(A), IamFacts([ops], []), access=True)
    other.add_principals(_account(B), IamFacts([remote], []), access=True)
    gap = f"aws account {B} region eu-west-3 S3 bucket hidden (bucket policy not read)"
    other.unseen.append(gap)
    records = list(join([EstateFacts([own, other])]))
    found = {r.id: r.attributes for r in records if isinstance(r, Resource)}
    assert found[OPS]["can_read"] == [NOTES]
    assert found[OPS]["access_unseen"] == [gap]  # a bucket of B may grant it too
    [context] = [r for r in records if isinstance(r, Context)]  # B is read only as context
    assert context.resource.id == remote.arn and context.resource.attributes["access_unseen"] == [gap]


def test_the_join_gives_edges_to_principals_of_pickled_facts_across_accounts() -> None:
    import pickle

    from phigate.api import Resource
    from phigate_providers.aws.access_facts import AccessFacts
    from phigate_providers.aws.estate import EstateFacts, join
    from phigate_providers.aws.iam import IamFacts, Principal

    ops = _principal(OPS, allow("sts:AssumeRole", REMOTE))
    remote = Principal(REMOTE, "remote", "role", {}, [], [doc(allow("s3:GetObject", f"{NOTES}/*"))], None,
                       doc({"Effect": "Allow", "Principal": {"AWS": OPS}, "Action": "sts:AssumeRole"}), {})
    own, other = AccessFacts(A, reported=True), AccessFacts(B, reported=True)
    other.stores.append(Store.of(NOTES, bucket_facets(NOTES), B))  # a bucket of B, its role reads
    own.add_principals(_account(A), IamFacts([ops], []), access=True)
    other.add_principals(_account(B), IamFacts([remote], []), access=True)
    slices = [pickle.loads(pickle.dumps(EstateFacts([part]))) for part in (own, other)]
    found = {r.id: r.attributes for r in join(slices) if isinstance(r, Resource)}
    assert found[OPS]["can_become_via"] == {REMOTE: "sts:AssumeRole"}
    assert found[OPS]["can_read"] == []
    assert found[REMOTE]["can_read"] == [NOTES] and "access_unseen" not in found[REMOTE]


# --- AWS managed policies, as AWS publishes them --------------------------------------------------

#: AmazonS3ReadOnlyAccess (version 3), PowerUserAccess (version 5) and IAMFullAccess (version 2),
#: statement for statement: wildcards in actions, NotAction, Resource "*".
S3_READ_ONLY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Resource": "*", "Action": [
        "s3:Get*", "s3:List*", "s3:Describe*", "s3-object-lambda:Get*", "s3-object-lambda:List*"]}]}
POWER_USER = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "NotAction": ["iam:*", "organizations:*", "account:*"], "Resource": "*"},
    {"Effect": "Allow", "Resource": "*", "Action": [
        "account:GetAccountInformation", "account:GetPrimaryEmail", "account:ListRegions",
        "iam:CreateServiceLinkedRole", "iam:DeleteServiceLinkedRole", "iam:ListRoles",
        "organizations:DescribeOrganization"]}]}
IAM_FULL = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Resource": "*", "Action": [
        "iam:*", "organizations:DescribeAccount", "organizations:DescribeOrganization",
        "organizations:DescribeOrganizationalUnit", "organizations:DescribePolicy",
        "organizations:ListChildren", "organizations:ListParents", "organizations:ListPoliciesForTarget",
        "organizations:ListRoots", "organizations:ListPolicies", "organizations:ListTargetsForPolicy"]}]}


def _holding(document: dict[str, Any], name: str) -> Member:
    return Member(OPS, "user", A, Identity(OPS, A, (parse_policy(document, name=name),), None))


def test_aws_managed_policies_read_and_escalate_as_their_statements_say() -> None:
    database = Store.of(DB, database_facets(DB, resource_id="db-X", iam_auth=False, data_api=True), A)
    stores = AccessAnalyzer([BUCKET, DYNAMO, database])
    others = (role(ETL, ACCOUNT_ROOT), role(RUNNER, LAMBDA), user(DEV))

    def judged(document: dict[str, Any], name: str) -> tuple[dict[str, str], dict[str, str]]:
        member = _holding(document, name)
        edges = EscalationGraph([member, *others], []).edges(member, stores)
        assert member.identity is not None
        return {**stores.read_access(member.identity).can_read_via, **edges.can_read_via}, edges.can_become

    assert judged(S3_READ_ONLY, "AmazonS3ReadOnlyAccess") == ({NOTES: "s3:GetObject"}, {})
    # Everything but IAM: every store, a role trusting the account; no PassRole, so no service role.
    assert judged(POWER_USER, "PowerUserAccess") == (
        {NOTES: "s3:GetObject", TABLE: "dynamodb:BatchGetItem", DB: "rds-data:BatchExecuteStatement"},
        {ETL: "sts:AssumeRole"})
    # No read of its own, but it writes its own policies: every store, every principal.
    how = "iam:PutUserPolicy (can grant itself read)"
    assert judged(IAM_FULL, "IAMFullAccess") == (
        {NOTES: how, TABLE: how, DB: how},
        {ETL: "iam:UpdateAssumeRolePolicy", RUNNER: "iam:UpdateAssumeRolePolicy", DEV: "iam:CreateAccessKey"})


# --- Denies an identity can take away from itself ---------------------------------------------

QUARANTINE = "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3"


def _denied_reader(*statements: dict[str, Any], deny_name: str, groups: tuple[str, ...] = ()) -> Member:
    """A user allowed to read every bucket, denied the clinical one by the policy ``deny_name``."""
    policies = (doc(allow("s3:GetObject"), *statements, name=f"{OPS}#inline/work"),
                doc(deny("s3:*", [NOTES, f"{NOTES}/*"]), name=deny_name))
    return Member(OPS, "user", A, Identity(OPS, A, policies, None), groups)


@pytest.mark.parametrize(("statement", "deny_name", "how"), [
    (allow("iam:DeleteUserPolicy", OPS), f"{OPS}#inline/no-clinical", "iam:DeleteUserPolicy"),
    (allow("iam:PutUserPolicy", OPS), f"{OPS}#inline/no-clinical", "iam:PutUserPolicy"),  # same name: replaced
    (allow("iam:DetachUserPolicy", OPS), QUARANTINE, "iam:DetachUserPolicy"),
    (allow("iam:CreatePolicyVersion", SHARED), SHARED, f"iam:CreatePolicyVersion on {SHARED}"),
    (allow("iam:DeleteGroupPolicy", TEAM), f"{TEAM}#inline/no-clinical", f"iam:DeleteGroupPolicy on {TEAM}"),
    (allow("iam:RemoveUserFromGroup", TEAM), f"{TEAM}#inline/no-clinical", f"iam:RemoveUserFromGroup on {TEAM}"),
    (allow("iam:DetachGroupPolicy", TEAM), QUARANTINE, f"iam:DetachGroupPolicy on {TEAM}"),
])
def test_an_identity_that_can_remove_a_deny_of_its_own_reads_what_the_deny_kept_from_it(
        statement: dict[str, Any], deny_name: str, how: str) -> None:
    """A Deny binds only as long as its policy stays: deleting or replacing an inline policy,
    detaching a managed one, rewriting it, or leaving the group that holds it, removes it."""
    holder = TEAM if deny_name.startswith(TEAM) or "Group" in how else OPS
    policies = [ManagedPolicy(SHARED, A, (OPS,)), ManagedPolicy(QUARANTINE, "aws", (holder,), changeable=False)]
    ops = _denied_reader(statement, deny_name=deny_name, groups=(TEAM,))
    edges = EscalationGraph([ops, group(TEAM)], policies).edges(ops, AccessAnalyzer([BUCKET]))
    assert NOTES in edges.can_read_via and edges.can_read_via[NOTES].startswith(how), edges.can_read_via


def test_a_deny_the_identity_cannot_remove_everywhere_it_is_attached_still_binds() -> None:
    both = ManagedPolicy(QUARANTINE, "aws", (OPS, TEAM), changeable=False)
    ops = _denied_reader(allow("iam:DetachUserPolicy", OPS), deny_name=QUARANTINE, groups=(TEAM,))
    assert EscalationGraph([ops, group(TEAM)], [both]).edges(ops, AccessAnalyzer([BUCKET])).can_read_via == {}
    other = _denied_reader(allow("iam:DeleteUserPolicy", DEV), deny_name=f"{OPS}#inline/no-clinical")
    assert EscalationGraph([other, user(DEV)], []).edges(other, AccessAnalyzer([BUCKET])).can_read_via == {}
    # An AWS managed policy cannot be given a new version.
    ops = _denied_reader(allow("iam:CreatePolicyVersion", QUARANTINE), deny_name=QUARANTINE)
    held = ManagedPolicy(QUARANTINE, "aws", (OPS,), changeable=False)
    assert EscalationGraph([ops], [held]).edges(ops, AccessAnalyzer([BUCKET])).can_read_via == {}


def test_an_administrator_denied_clinical_data_reads_it_by_deleting_the_deny() -> None:
    admin = _denied_reader(allow("*"), deny_name=f"{OPS}#inline/no-clinical")
    edges = EscalationGraph([admin], []).edges(admin, AccessAnalyzer([BUCKET]))
    assert edges.can_read_via == {NOTES: "iam:DeleteUserPolicy (can remove a Deny of its own)"}


def test_a_group_has_the_edges_its_policies_give_its_members_so_joining_it_gives_them_too() -> None:
    """Joining a group hands its members the group's permissions: roles they may then assume,
    users whose keys they may then create, and what the group could grant itself."""
    reader = role(ETL, ACCOUNT_ROOT, allow("s3:GetObject", f"{NOTES}/*"))
    team = Member(TEAM, "group", A, identity(TEAM, allow("sts:AssumeRole", ETL), allow("iam:CreateAccessKey", DEV)))
    joiner = user(OPS, allow("iam:AddUserToGroup", TEAM))
    graph = EscalationGraph([joiner, team, reader, user(DEV)], [])
    assert become(joiner, team, reader, user(DEV)) == {TEAM: "iam:AddUserToGroup (member, inherits)"}
    assert graph.edges(team, AccessAnalyzer([BUCKET])).can_become == {
        ETL: "sts:AssumeRole", DEV: "iam:CreateAccessKey"}
    # A trust naming one user lets no group in; a group that may rewrite its own policy can grant
    # itself anything, so its members can.
    named = role(RUNNER, trusting({"AWS": OPS}))
    assert RUNNER not in EscalationGraph([team, named], []).edges(team, None).can_become
    writer = Member(TEAM, "group", A, identity(TEAM, allow("iam:PutGroupPolicy", TEAM)))
    assert EscalationGraph([writer], []).edges(writer, AccessAnalyzer([BUCKET])).can_read_via == {
        NOTES: "iam:PutGroupPolicy (can grant itself read)"}
