"""AWS IAM policy analysis, pure: parsing, wildcard ARNs, effective read access, trust, public
grants and the insecure-transport Deny. Hand-written policies; no AWS calls."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import pytest

from phigate_providers.aws.access import (
    Access,
    AccessAnalyzer,
    Identity,
    PolicySyntaxError,
    Store,
    analyse_trust,
    denies_insecure_transport,
    is_full_admin,
    normalised_statements,
    parse_policy,
    public_grants,
)
from phigate_providers.aws.arn import action_matches, glob_contains, globs_intersect
from phigate_providers.aws.conditions import Outcome, Requester, evaluate_conditions

ACCOUNT = "111111111111"
OTHER = "222222222222"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/app"
USER = f"arn:aws:iam::{ACCOUNT}:user/alice"
S3_READ = frozenset({"s3:GetObject"})
DYNAMO_READ = frozenset({"dynamodb:GetItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:BatchGetItem"})
TABLE = f"arn:aws:dynamodb:eu-west-3:{ACCOUNT}:table/patients"


def policy(*statements: dict[str, Any], name: str | None = None) -> Any:
    return parse_policy({"Version": "2012-10-17", "Statement": list(statements)}, name=name)


def allow(action: Any = "s3:GetObject", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action: Any = "s3:GetObject", resource: Any = "*", **extra: Any) -> dict[str, Any]:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def bucket(name: str, *statements: dict[str, Any], account: str = ACCOUNT) -> Store:
    resource_policy = policy(*statements, name=f"bucket policy of {name}") if statements else None
    return Store(id=f"arn:aws:s3:::{name}", content_arn=f"arn:aws:s3:::{name}/*", read_actions=S3_READ,
                 account=account, resource_policy=resource_policy)


def who(*statements: dict[str, Any], arn: str = ROLE, boundary: Any = None, account: str = ACCOUNT) -> Identity:
    return Identity(arn=arn, account=account, policies=(policy(*statements, name="app-policy"),),
                    boundary=boundary)


ESTATE = [bucket("notes-clinical"), bucket("notes-admin"), bucket("mlm-clinical"), bucket("mlm-admin")]


def access(identity: Identity, stores: list[Store] | None = None) -> Access:
    return AccessAnalyzer(ESTATE if stores is None else stores).read_access(identity)


def names(ids: tuple[str, ...]) -> list[str]:
    return [i.removeprefix("arn:aws:s3:::") for i in ids]


# --- parsing -------------------------------------------------------------------------------------

SIMPLE = {"Version": "2012-10-17",
          "Statement": [{"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject",
                         "Resource": "arn:aws:s3:::notes/*"}]}


@pytest.mark.parametrize("document", [SIMPLE, json.dumps(SIMPLE), quote(json.dumps(SIMPLE)),
                                      "  " + json.dumps(SIMPLE, indent=2)])
def test_decoded_json_and_url_encoded_documents_parse_alike(document: Any) -> None:
    parsed = parse_policy(document)
    assert parsed.version == "2012-10-17"
    (statement,) = parsed.statements
    assert (statement.sid, statement.effect, statement.actions, statement.resources) == (
        "Read", "Allow", ("s3:GetObject",), ("arn:aws:s3:::notes/*",))
    assert statement.not_actions is None and statement.conditional is False


def test_tolerated_shapes_single_statement_star_principal_no_version() -> None:
    parsed = parse_policy({"Statement": {"Effect": "Deny", "Principal": "*", "NotAction": "s3:Get*",
                                         "NotResource": ["arn:aws:s3:::a/*", "arn:aws:s3:::b/*"]}})
    (statement,) = parsed.statements
    assert parsed.version is None
    assert statement.principals == {"*": ("*",)} and statement.names_everyone()
    assert statement.not_actions == ("s3:Get*",) and statement.actions is None
    assert statement.not_resources == ("arn:aws:s3:::a/*", "arn:aws:s3:::b/*")
    aws_star = parse_policy({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "*"}]})
    assert aws_star.statements[0].principals == {"AWS": ("*",)} and aws_star.statements[0].names_everyone()
    assert parse_policy("{}").statements == () and parse_policy({}).statements == ()


@pytest.mark.parametrize(("document", "message"), [
    ("{not json", "not valid JSON"),
    ("%7Bbroken", "not valid JSON"),
    ("[1, 2]", "must be a JSON object"),
    ({"Version": "2012-10-17"}, "has no Statement"),
    ({"Version": "2020-01-01", "Statement": []}, "Version must be one of"),
    ({"Statement": [], "Extra": 1}, "unknown top-level element(s) 'Extra'"),
    ({"Statement": "Allow"}, "Statement must be an object or a list"),
    ({"Statement": [{"Effect": "allow", "Action": "*"}]}, "Statement[0]: Effect must be 'Allow' or 'Deny'"),
    ({"Statement": [{"Sid": "X", "Effect": "Allow", "Resource": "*"}]},
     "Statement[0] (Sid 'X'): has neither Action nor NotAction"),
    ({"Statement": [{"Effect": "Allow", "Action": "*", "NotAction": "s3:*"}]}, "has both Action and NotAction"),
    ({"Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*", "NotResource": "x"}]},
     "has both Resource and NotResource"),
    ({"Statement": [{"Effect": "Allow", "Actions": "*"}]}, "unknown element(s) 'Actions'"),
    ({"Statement": [{"Effect": "Allow", "Action": ["s3:GetObject", 3]}]},
     "Action must be a string or a list of strings"),
    ({"Statement": [{"Effect": "Allow", "Action": "*", "Principal": "someone"}]}, "Principal must be '*'"),
    ({"Statement": [{"Effect": "Allow", "Action": "*", "Condition": {"Bool": "x"}}]},
     "Condition.Bool must be a non-empty object"),
    ({"Statement": [{"Effect": "Allow", "Action": "*", "Condition": {"StringEquals": {"k": None}}}]},
     "Condition.StringEquals.k must be a value"),
    ({"Statement": [None]}, "Statement[0]: a statement must be an object"),
])
def test_malformed_documents_are_refused_with_a_message_naming_the_fault(document: Any, message: str) -> None:
    with pytest.raises(PolicySyntaxError) as caught:
        parse_policy(document, name="read-notes")
    assert message in str(caught.value)
    assert "policy 'read-notes'" in str(caught.value)
    assert isinstance(caught.value, ValueError)


def test_normalised_statements_keep_only_the_elements_present() -> None:
    parsed = policy(allow(["s3:GetObject", "s3:ListBucket"], "arn:aws:s3:::notes/*"),
                    {"Effect": "Deny", "NotAction": "iam:*", "NotResource": "arn:aws:s3:::x",
                     "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}}})
    assert normalised_statements(parsed) == [
        {"effect": "Allow", "actions": ["s3:GetObject", "s3:ListBucket"], "resources": ["arn:aws:s3:::notes/*"],
         "conditional": False},
        {"effect": "Deny", "not_actions": ["iam:*"], "not_resources": ["arn:aws:s3:::x"], "conditional": True},
    ]


@pytest.mark.parametrize(("statement", "expected"), [
    (allow("*", "*"), True),
    (allow("*:*", ["arn:aws:s3:::x", "*"]), True),
    (allow("*", "arn:*"), True),
    ({"Effect": "Allow", "NotAction": [], "Resource": "*"}, True),
    ({"Effect": "Allow", "Action": "*", "NotResource": []}, True),
    ({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}, False),  # PowerUser, not admin
    (allow("s3:*", "*"), False),
    (allow("*", "arn:aws:s3:::*"), False),
    (allow("*", "*", Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}}), False),
    (deny("*", "*"), False),
])
def test_full_admin_is_an_unconditional_allow_of_everything_on_everything(statement: dict[str, Any],
                                                                          expected: bool) -> None:
    assert is_full_admin(policy(statement)) is expected


# --- wildcard patterns ---------------------------------------------------------------------------

@pytest.mark.parametrize(("pattern", "content", "expected"), [
    ("arn:aws:s3:::notes/*", "arn:aws:s3:::notes/*", True),
    ("arn:aws:s3:::notes", "arn:aws:s3:::notes/*", False),         # the bucket, not its objects
    ("arn:aws:s3:::mlm-*/*", "arn:aws:s3:::mlm-clinical/*", True),
    ("arn:aws:s3:::notes/public/*", "arn:aws:s3:::notes/*", True),  # part of the bucket
    ("arn:aws:s3:::notes/report.pdf", "arn:aws:s3:::notes/*", True),
    ("arn:aws:s3:::note?/*", "arn:aws:s3:::notes/*", True),
    ("arn:aws:s3:::note?", "arn:aws:s3:::notes/*", False),        # no '*': too short for an object
    ("arn:aws:s3:::notes*", "arn:aws:s3:::notes/*", True),          # '*' crosses '/'
    ("arn:aws:s3:::Notes/*", "arn:aws:s3:::notes/*", False),        # ARNs are case-sensitive
    ("arn:aws:s3:::*-admin/*", "arn:aws:s3:::mlm-clinical/*", True),  # key 'x-admin/y' of mlm-clinical
    ("arn:aws:s3:::*-admin", "arn:aws:s3:::mlm-clinical/*", True),     # the object 'x-admin'
    ("arn:aws:s3:::notes-*", "arn:aws:s3:::mlm-clinical/*", False),
    ("arn:aws:s3:::*/secret", "arn:aws:s3:::notes/*", True),
    ("arn:aws:dynamodb:*:*:table/pat*", TABLE, True),
    ("arn:aws:dynamodb:*:*:table/pat*/index/*", TABLE, False),
    ("a*c?e", "ab*e", True),                                        # general glob against glob
    ("a*x", "b*", False),
    ("?*z", "*y", False),
])
def test_resource_patterns_intersect_a_stores_content(pattern: str, content: str, expected: bool) -> None:
    assert globs_intersect(pattern, content) is expected
    assert globs_intersect(content, pattern) is expected


@pytest.mark.parametrize(("outer", "inner", "expected"), [
    ("*", "arn:aws:s3:::notes/*", True),
    ("arn:aws:s3:::*", "arn:aws:s3:::notes/*", True),
    ("arn:aws:s3:::notes/*", "arn:aws:s3:::notes/*", True),
    ("arn:aws:s3:::notes/*", "arn:aws:s3:::notes/x/*", True),
    ("arn:aws:s3:::notes/x/*", "arn:aws:s3:::notes/*", False),
    ("arn:aws:s3:::notes", "arn:aws:s3:::notes/*", False),
    ("arn:aws:s3:::n*s/*", "arn:aws:s3:::notes/*", True),
    ("*?", "arn:aws:s3:::notes/*", True),
])
def test_containment_decides_whether_a_deny_covers_a_whole_store(outer: str, inner: str, expected: bool) -> None:
    assert glob_contains(outer, inner) is expected


def test_action_patterns_ignore_case() -> None:
    assert action_matches("S3:get*", "s3:GetObject")
    assert action_matches("*", "dynamodb:Scan")
    assert not action_matches("s3:Get*", "s3:PutObject")


# --- conditions decided statically --------------------------------------------------------------

ROLE_REQUESTER = Requester(arn=ROLE, account=ACCOUNT, principal_type="AssumedRole")
USER_REQUESTER = Requester(arn=USER, account=ACCOUNT, principal_type="User", username="alice")


@pytest.mark.parametrize(("effect", "condition", "requester", "outcome"), [
    ("Allow", {"StringEquals": {"aws:PrincipalAccount": ACCOUNT}}, ROLE_REQUESTER, Outcome.APPLIES),
    ("Allow", {"StringEquals": {"aws:PrincipalAccount": OTHER}}, ROLE_REQUESTER, Outcome.NEVER),
    ("Allow", {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/app"}}, ROLE_REQUESTER, Outcome.APPLIES),
    ("Allow", {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}}, USER_REQUESTER, Outcome.NEVER),
    ("Allow", {"StringEqualsIgnoreCase": {"aws:username": "ALICE"}}, USER_REQUESTER, Outcome.APPLIES),
    # aws:username is absent from a role's requests: positive operators fail, negated ones hold.
    ("Allow", {"StringEquals": {"aws:username": "alice"}}, ROLE_REQUESTER, Outcome.NEVER),
    ("Deny", {"StringNotEquals": {"aws:username": "alice"}}, ROLE_REQUESTER, Outcome.APPLIES),
    ("Allow", {"StringEqualsIfExists": {"aws:username": "bob"}}, ROLE_REQUESTER, Outcome.APPLIES),
    ("Allow", {"StringEquals": {"aws:PrincipalAccount": ACCOUNT}}, None, Outcome.UNDECIDED),
    ("Allow", {"Bool": {"aws:SecureTransport": "true"}}, None, Outcome.APPLIES),
    ("Deny", {"Bool": {"aws:SecureTransport": "false"}, "IpAddress": {"aws:SourceIp": "1.2.3.4/32"}}, None,
     Outcome.NEVER),
    ("Allow", {"ForAnyValue:StringEquals": {"aws:PrincipalAccount": ACCOUNT}}, ROLE_REQUESTER, Outcome.UNDECIDED),
    ("Allow", {"IpAddress": {"aws:SourceIp": "1.2.3.4/32"}}, ROLE_REQUESTER, Outcome.UNDECIDED),
])
def test_conditions_are_decided_when_they_depend_only_on_the_principal_or_the_transport(
        effect: str, condition: dict[str, Any], requester: Requester | None, outcome: Outcome) -> None:
    (statement,) = policy({"Effect": effect, "Action": "*", "Resource": "*", "Condition": condition}).statements
    assert evaluate_conditions(statement, requester).outcome is outcome


# --- effective read access ---------------------------------------------------------------------

def test_a_grant_naming_a_bucket_reads_it_and_is_not_a_wildcard_grant() -> None:
    result = access(who(allow("s3:GetObject", "arn:aws:s3:::notes-clinical/*")))
    assert names(result.can_read) == ["notes-clinical"]
    assert result.can_read_via_wildcard == () and result.undecided_conditions == ()


def test_the_bucket_arn_alone_does_not_read_objects() -> None:
    result = access(who(allow(["s3:GetObject", "s3:ListBucket"], "arn:aws:s3:::notes-clinical")))
    assert result.can_read == ()


def test_a_grant_on_part_of_a_bucket_reads_it() -> None:
    result = access(who(allow("s3:GetObject", "arn:aws:s3:::notes-clinical/2024/*")))
    assert names(result.can_read) == ["notes-clinical"] and result.can_read_via_wildcard == ()


def test_wildcard_arns_reach_clinical_buckets_and_are_reported_as_such() -> None:
    result = access(who(allow("s3:Get*", "arn:aws:s3:::notes-*/*")))
    assert names(result.can_read) == ["notes-admin", "notes-clinical"]
    assert names(result.can_read_via_wildcard) == ["notes-admin", "notes-clinical"]
    # '*' crosses '/': this pattern matches the object 'x-clinical/y' of every bucket.
    suffix = access(who(allow("s3:Get*", "arn:aws:s3:::*-clinical/*")))
    assert len(suffix.can_read) == 4 and suffix.can_read_via_wildcard == suffix.can_read
    prefixed = access(who(allow("s3:GetObject", "arn:aws:s3:::mlm-*/*"),
                          allow("s3:GetObject", "arn:aws:s3:::mlm-admin/*")))
    assert names(prefixed.can_read) == ["mlm-admin", "mlm-clinical"]
    assert names(prefixed.can_read_via_wildcard) == ["mlm-clinical"]  # mlm-admin is also named


def test_star_star_reads_everything_through_a_wildcard() -> None:
    result = access(who(allow("*", "*")))
    assert len(result.can_read) == 4 and result.can_read_via_wildcard == result.can_read


def test_actions_that_do_not_read_content_grant_nothing() -> None:
    assert access(who(allow(["s3:PutObject", "s3:ListBucket", "s3:GetBucketPolicy"], "*"))).can_read == ()


def test_an_identity_deny_beats_an_allow_of_its_own_and_of_the_bucket_policy() -> None:
    stores = [bucket("notes-clinical", allow(Principal={"AWS": ROLE}, resource="arn:aws:s3:::notes-clinical/*")),
              bucket("notes-admin")]
    assert names(access(who(allow("s3:GetObject", "*")), stores).can_read) == ["notes-admin", "notes-clinical"]
    assert names(access(who(deny("s3:*", "arn:aws:s3:::notes-clinical/*")), stores).can_read) == []
    assert names(access(who(allow("*", "*"), deny("s3:Get*", "arn:aws:s3:::notes-*")), stores).can_read) == []


def test_a_bucket_policy_deny_beats_an_identity_allow() -> None:
    stores = [bucket("notes-clinical", deny("s3:*", "arn:aws:s3:::notes-clinical/*", Principal="*")),
              bucket("notes-admin")]
    assert names(access(who(allow("*", "*")), stores).can_read) == ["notes-admin"]


def test_a_deny_on_part_of_a_bucket_leaves_the_rest_readable_unless_it_covers_every_allowed_part() -> None:
    result = access(who(allow("s3:GetObject", "arn:aws:s3:::notes-clinical/*"),
                        deny("s3:GetObject", "arn:aws:s3:::notes-clinical/restricted/*")))
    assert names(result.can_read) == ["notes-clinical"]
    covered = access(who(allow("s3:GetObject", "arn:aws:s3:::notes-clinical/restricted/2024/*"),
                         deny("s3:GetObject", "arn:aws:s3:::notes-clinical/restricted/*")))
    assert covered.can_read == ()
    # A boundary allowing everything grants nothing itself: the denied part is still all there is.
    bounded = access(who(allow("s3:GetObject", "arn:aws:s3:::notes-clinical/restricted/2024/*"),
                         deny("s3:GetObject", "arn:aws:s3:::notes-clinical/restricted/*"),
                         boundary=policy(allow("*", "*"))))
    assert bounded.can_read == ()


def test_not_action_allows_everything_but_what_it_lists() -> None:
    assert len(access(who({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})).can_read) == 4
    assert access(who({"Effect": "Allow", "NotAction": "s3:Get*", "Resource": "*"})).can_read == ()
    # A Deny of everything but GetObject does not stop reading.
    result = access(who(allow("s3:GetObject", "*"), {"Effect": "Deny", "NotAction": "s3:GetObject", "Resource": "*"}))
    assert len(result.can_read) == 4


def test_not_resource_allows_and_denies_everything_but_what_it_lists() -> None:
    allowed = access(who({"Effect": "Allow", "Action": "s3:GetObject", "NotResource": "arn:aws:s3:::notes-*"}))
    assert names(allowed.can_read) == ["mlm-admin", "mlm-clinical"]
    assert allowed.can_read_via_wildcard == allowed.can_read
    denied = access(who(allow("s3:GetObject", "*"),
                        {"Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::mlm-admin/*"}))
    assert names(denied.can_read) == ["mlm-admin"]
    # A NotResource excluding only part of a bucket does not deny the bucket.
    partial = access(who(allow("s3:GetObject", "*"),
                         {"Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::mlm-admin/public/*"}))
    assert names(partial.can_read) == ["mlm-admin"]


def test_policies_of_groups_flattened_into_a_user_combine_and_any_deny_wins() -> None:
    from_group = policy(allow("s3:GetObject", "arn:aws:s3:::notes-*/*"), name="group clinicians")
    own = policy(deny("s3:GetObject", "arn:aws:s3:::notes-admin/*"), name="user alice")
    other_group = policy(allow("s3:GetObject", "arn:aws:s3:::mlm-admin/*"), name="group billing")
    user = Identity(arn=USER, account=ACCOUNT, policies=(from_group, own, other_group))
    result = access(user)
    assert names(result.can_read) == ["mlm-admin", "notes-clinical"]
    assert names(result.can_read_via_wildcard) == ["notes-clinical"]


def test_a_conditional_allow_counts_as_access_and_is_reported() -> None:
    result = access(who(allow("s3:GetObject", "arn:aws:s3:::notes-clinical/*", Sid="FromVpn",
                              Condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}})))
    assert names(result.can_read) == ["notes-clinical"]
    assert result.undecided_conditions == (
        "arn:aws:s3:::notes-clinical: Allow in policy 'app-policy', statement 'FromVpn', depends on aws:SourceIp",)


def test_a_conditional_deny_does_not_deny_but_is_reported() -> None:
    stores = [bucket("notes-clinical", deny("s3:*", "arn:aws:s3:::notes-clinical/*", Principal="*",
                                            Condition={"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}))]
    result = access(who(allow("s3:GetObject", "*")), stores)
    assert names(result.can_read) == ["notes-clinical"]
    assert result.undecided_conditions == ("arn:aws:s3:::notes-clinical: Deny in policy 'bucket policy of "
                                           "notes-clinical', statement #1, depends on aws:SourceVpce",)


def test_an_unconditional_grant_makes_other_conditions_irrelevant() -> None:
    result = access(who(allow("s3:GetObject", "arn:aws:s3:::notes-clinical/*"),
                        allow("s3:GetObject", "*", Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}})))
    assert len(result.can_read) == 4
    assert all(not note.startswith("arn:aws:s3:::notes-clinical:") for note in result.undecided_conditions)
    assert len(result.undecided_conditions) == 3


def test_insecure_transport_denies_never_block_reads_over_tls() -> None:
    tls = deny("s3:*", ["arn:aws:s3:::notes-clinical", "arn:aws:s3:::notes-clinical/*"], Principal="*",
               Condition={"Bool": {"aws:SecureTransport": "false"}})
    result = access(who(allow("s3:GetObject", "*")), [bucket("notes-clinical", tls)])
    assert names(result.can_read) == ["notes-clinical"] and result.undecided_conditions == ()


def test_conditions_on_the_principal_are_decided() -> None:
    only_readers = deny("s3:*", "arn:aws:s3:::notes-clinical/*", Principal="*",
                        Condition={"ArnNotLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/reader-*"}})
    stores = [bucket("notes-clinical", only_readers)]
    reader = who(allow("s3:GetObject", "*"), arn=f"arn:aws:iam::{ACCOUNT}:role/reader-1")
    assert names(access(reader, stores).can_read) == ["notes-clinical"]
    assert access(reader, stores).undecided_conditions == ()
    assert access(who(allow("s3:GetObject", "*")), stores).can_read == ()


def test_a_permissions_boundary_limits_identity_grants() -> None:
    boundary = policy(allow("s3:GetObject", "arn:aws:s3:::notes-*"), name="boundary")
    result = access(who(allow("s3:GetObject", "*"), boundary=boundary))
    assert names(result.can_read) == ["notes-admin", "notes-clinical"]
    boundary_denies = policy(allow("*", "*"), deny("s3:*", "arn:aws:s3:::mlm-*"))
    assert names(access(who(allow("s3:GetObject", "*"), boundary=boundary_denies)).can_read) == [
        "notes-admin", "notes-clinical"]
    assert access(who(allow("s3:GetObject", "*"), boundary=policy(allow("ec2:*", "*")))).can_read == ()


def test_a_bucket_policy_naming_a_user_passes_its_boundary_but_naming_a_role_does_not() -> None:
    boundary = policy(allow("ec2:*", "*"))
    for arn, readable in ((USER, True), (ROLE, False)):
        stores = [bucket("notes-clinical", allow(Principal={"AWS": arn}, resource="arn:aws:s3:::notes-clinical/*"))]
        result = access(Identity(arn=arn, account=ACCOUNT, policies=(), boundary=boundary), stores)
        assert bool(result.can_read) is readable, arn


def test_bucket_policies_grant_to_named_identities_and_everyone_but_not_to_the_own_account_root() -> None:
    def stores(principal: Any) -> list[Store]:
        return [bucket("notes-clinical", allow(Principal=principal, resource="arn:aws:s3:::notes-clinical/*"))]
    no_policy = Identity(arn=ROLE, account=ACCOUNT, policies=())
    assert names(access(no_policy, stores({"AWS": ROLE})).can_read) == ["notes-clinical"]
    assert access(no_policy, stores({"AWS": ROLE})).can_read_via_wildcard == ()
    assert names(access(no_policy, stores({"AWS": f"arn:aws:sts::{ACCOUNT}:assumed-role/app/s1"})).can_read) == [
        "notes-clinical"]
    assert access(no_policy, stores({"AWS": f"arn:aws:iam::{ACCOUNT}:root"})).can_read == ()
    assert access(no_policy, stores({"AWS": ACCOUNT})).can_read == ()
    assert access(no_policy, stores({"AWS": f"arn:aws:iam::{ACCOUNT}:role/other"})).can_read == ()
    assert access(no_policy, stores({"Service": "logging.s3.amazonaws.com"})).can_read == ()
    public = access(no_policy, stores("*"))
    assert names(public.can_read) == ["notes-clinical"] and public.can_read == public.can_read_via_wildcard


def test_cross_account_reads_need_both_the_identity_policy_and_the_bucket_policy() -> None:
    foreign = [bucket("partner-data", account=OTHER)]
    reader = who(allow("s3:GetObject", "arn:aws:s3:::partner-data/*"))
    assert access(reader, foreign).can_read == ()
    granted = [bucket("partner-data", allow(Principal={"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                                            resource="arn:aws:s3:::partner-data/*"), account=OTHER)]
    assert names(access(reader, granted).can_read) == ["partner-data"]
    assert access(Identity(arn=ROLE, account=ACCOUNT, policies=()), granted).can_read == ()


def test_not_principal_denies_all_but_the_listed_identity_and_account() -> None:
    def stores(*listed: str) -> list[Store]:
        return [bucket("notes-clinical", {"Effect": "Deny", "NotPrincipal": {"AWS": list(listed)},
                                          "Action": "s3:*", "Resource": "arn:aws:s3:::notes-clinical/*"})]
    reader = who(allow("s3:GetObject", "*"))
    root = f"arn:aws:iam::{ACCOUNT}:root"
    assert names(access(reader, stores(ROLE, root)).can_read) == ["notes-clinical"]
    assert access(reader, stores(f"arn:aws:iam::{ACCOUNT}:role/other", root)).can_read == ()
    only_role = access(reader, stores(ROLE))
    assert names(only_role.can_read) == ["notes-clinical"]
    assert "NotPrincipal lists the identity but not its account" in only_role.undecided_conditions[0]
    assert access(reader, stores(root)).can_read == ()  # the account alone exempts no one
    bounded = who(allow("s3:GetObject", "*"), boundary=policy(allow("*", "*")))
    assert access(bounded, stores(ROLE, root)).can_read == ()  # AWS: always denied with a boundary


def test_any_one_read_action_suffices_for_tables() -> None:
    table = Store(id=TABLE, content_arn=TABLE, read_actions=DYNAMO_READ, account=ACCOUNT)
    stores = [table, bucket("notes-clinical")]
    scan_only = access(who(allow("dynamodb:*", TABLE), deny(["dynamodb:GetItem", "dynamodb:Query"], TABLE)), stores)
    assert scan_only.can_read == (TABLE,)
    assert access(who(allow("dynamodb:*", TABLE), deny("dynamodb:*", "*")), stores).can_read == ()
    by_wildcard = access(who(allow("dynamodb:Query", "arn:aws:dynamodb:*:*:table/*")), stores)
    assert by_wildcard.can_read == by_wildcard.can_read_via_wildcard == (TABLE,)
    assert access(who(allow("dynamodb:Query", f"{TABLE}/index/*")), stores).can_read == ()


def test_policy_variables_are_resolved_for_users_and_reported_when_unknown() -> None:
    stores = [bucket("home-alice"), bucket("home-bob")]
    user = Identity(arn=USER, account=ACCOUNT,
                    policies=(policy(allow("s3:GetObject", "arn:aws:s3:::home-${aws:username}/*")),))
    assert names(access(user, stores).can_read) == ["home-alice"]
    tagged = access(who(allow("s3:GetObject", "arn:aws:s3:::home-${aws:PrincipalTag/team}/*")), stores)
    assert names(tagged.can_read) == ["home-alice", "home-bob"]
    assert all("${aws:PrincipalTag/team}" in note for note in tagged.undecided_conditions)
    assert len(tagged.undecided_conditions) == 2
    # Without Version 2012-10-17 there are no variables: the text is literal and matches nothing.
    literal = Identity(arn=USER, account=ACCOUNT, policies=(parse_policy(
        {"Statement": [allow("s3:GetObject", "arn:aws:s3:::home-${aws:username}/*")]}),))
    assert access(literal, stores).can_read == ()


def test_a_deny_whose_resources_hold_an_unknown_variable_is_reported_not_applied() -> None:
    stores = [bucket("home-alice")]
    result = access(who(allow("s3:GetObject", "*"),
                        {"Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::${aws:PrincipalTag/home}/*"}),
                    stores)
    assert names(result.can_read) == ["home-alice"]
    assert result.undecided_conditions == (
        "arn:aws:s3:::home-alice: Deny in policy 'app-policy', statement #2, depends on ${aws:PrincipalTag/home}",)


def test_a_conditional_boundary_makes_access_undecided() -> None:
    boundary = policy(allow("s3:*", "*", Sid="OfficeHours",
                            Condition={"DateGreaterThan": {"aws:CurrentTime": "2024-01-01T00:00:00Z"}}),
                      name="boundary")
    result = access(who(allow("s3:GetObject", "arn:aws:s3:::notes-admin/*"), boundary=boundary))
    assert names(result.can_read) == ["notes-admin"]
    assert result.undecided_conditions == ("arn:aws:s3:::notes-admin: Allow in policy 'boundary', "
                                           "statement 'OfficeHours', depends on aws:CurrentTime",)


def test_a_bucket_policy_grant_to_everyone_narrowed_to_an_account_is_decided_per_identity() -> None:
    stores = [bucket("shared", allow(Principal="*", resource="arn:aws:s3:::shared/*",
                                     Condition={"StringEquals": {"aws:PrincipalAccount": ACCOUNT}}))]
    mine = access(Identity(arn=ROLE, account=ACCOUNT, policies=()), stores)
    assert names(mine.can_read) == ["shared"] and mine.undecided_conditions == ()
    other = Identity(arn=f"arn:aws:iam::{OTHER}:role/x", account=OTHER, policies=(policy(allow("s3:*", "*")),))
    assert access(other, stores).can_read == ()


def test_a_bucket_policy_deny_on_part_of_the_bucket_leaves_the_rest_readable() -> None:
    stores = [bucket("notes-clinical", deny("s3:GetObject", "arn:aws:s3:::notes-clinical/hiv/*", Principal="*"))]
    assert names(access(who(allow("s3:GetObject", "*")), stores).can_read) == ["notes-clinical"]
    only_that_part = who(allow("s3:GetObject", "arn:aws:s3:::notes-clinical/hiv/2024/*"))
    assert access(only_that_part, stores).can_read == ()


def test_analyzer_refuses_duplicate_store_ids_and_handles_an_empty_estate() -> None:
    with pytest.raises(ValueError, match="stores given twice"):
        AccessAnalyzer([bucket("a"), bucket("a")])
    assert AccessAnalyzer([]).read_access(who(allow("*", "*"))) == Access((), (), ())


def test_results_are_stable_across_identities_sharing_cached_patterns() -> None:
    analyzer = AccessAnalyzer(ESTATE)
    first = analyzer.read_access(who(allow("s3:GetObject", "arn:aws:s3:::mlm-*/*")))
    analyzer.read_access(who(allow("*", "*"), deny("s3:*", "arn:aws:s3:::mlm-*/*")))
    assert analyzer.read_access(who(allow("s3:GetObject", "arn:aws:s3:::mlm-*/*"))) == first
    assert first.as_attributes() == {"can_read": ["arn:aws:s3:::mlm-admin", "arn:aws:s3:::mlm-clinical"],
                                     "can_read_via_wildcard": ["arn:aws:s3:::mlm-admin",
                                                               "arn:aws:s3:::mlm-clinical"],
                                     "can_read_via": {"arn:aws:s3:::mlm-admin": "s3:GetObject",
                                                      "arn:aws:s3:::mlm-clinical": "s3:GetObject"},
                                     "undecided_conditions": []}


# --- trust policies ------------------------------------------------------------------------------

def trust(*statements: dict[str, Any]) -> Any:
    return policy(*statements)


def assume(principal: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole", **extra}


EXTERNAL_ID = {"StringEquals": {"sts:ExternalId": "supplier-7f3a"}}


@pytest.mark.parametrize(("document", "third_party", "accounts", "external_id"), [
    (trust(assume({"Service": "ec2.amazonaws.com"})), False, (), None),
    (trust(assume({"AWS": f"arn:aws:iam::{ACCOUNT}:root"})), False, (), None),
    (trust(assume({"AWS": f"arn:aws:iam::{OTHER}:root"})), True, (OTHER,), False),
    (trust(assume({"AWS": OTHER})), True, (OTHER,), False),
    (trust(assume({"AWS": f"arn:aws:iam::{OTHER}:role/deployer"}, Condition=EXTERNAL_ID)), True, (OTHER,), True),
    (trust(assume({"AWS": f"arn:aws:iam::{OTHER}:root"},
                  Condition={"StringLike": {"sts:ExternalId": "supplier-*"}})), True, (OTHER,), True),
    (trust(assume({"AWS": f"arn:aws:iam::{OTHER}:root"},
                  Condition={"StringLike": {"sts:ExternalId": "*"}})), True, (OTHER,), False),
    (trust(assume({"AWS": f"arn:aws:iam::{OTHER}:root"},
                  Condition={"StringEqualsIfExists": {"sts:ExternalId": "x"}})), True, (OTHER,), False),
    (trust(assume({"AWS": f"arn:aws:iam::{OTHER}:root"}, Condition=EXTERNAL_ID),
           assume({"AWS": "333333333333"})), True, (OTHER, "333333333333"), False),
    (trust(assume("*")), True, ("*",), False),
    (trust(assume({"AWS": "*"}, Condition={"StringEquals": {"aws:PrincipalAccount": ACCOUNT}})), False, (), None),
    (trust(assume({"Federated": f"arn:aws:iam::{ACCOUNT}:saml-provider/AWSSSO_0a1b_DO_NOT_DELETE"})),
     False, (), None),
    (trust({"Effect": "Deny", "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"}, "Action": "sts:AssumeRole"}),
     False, (), None),
])
def test_trust_policies(document: Any, third_party: bool, accounts: tuple[str, ...], external_id: bool | None) -> None:
    result = analyse_trust(document, ACCOUNT)
    assert (result.third_party, result.trusted_accounts, result.external_id_required) == (
        third_party, tuple(sorted(accounts)), external_id)


GITHUB = f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"
SAML = f"arn:aws:iam::{ACCOUNT}:saml-provider/corp"
GITLAB = f"arn:aws:iam::{ACCOUNT}:oidc-provider/gitlab.com"
TERRAFORM = f"arn:aws:iam::{ACCOUNT}:oidc-provider/app.terraform.io"


def federated(provider: str, condition: dict[str, Any] | None = None, action: str = "sts:AssumeRoleWithWebIdentity"
              ) -> Any:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"Federated": provider}, "Action": action}
    if condition:
        statement["Condition"] = condition
    return trust(statement)


AUD = {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}}


@pytest.mark.parametrize(("document", "third_party", "accounts"), [
    # Any repository of any owner on GitHub may assume it: third party, and no external id can help.
    (federated(GITHUB), True, ("token.actions.githubusercontent.com",)),
    (federated(GITHUB, AUD), True, ("token.actions.githubusercontent.com",)),
    (federated(GITHUB, {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:*"}}),
     True, ("token.actions.githubusercontent.com",)),
    (federated(GITHUB, {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:*/notes:*"}}),
     True, ("token.actions.githubusercontent.com",)),
    (federated(GITHUB, {"StringLikeIfExists": {"token.actions.githubusercontent.com:sub": "repo:exemplum/*"}}),
     True, ("token.actions.githubusercontent.com",)),
    # The subject names the owner: constrained to the organisation's own repositories.
    (federated(GITHUB, {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:exemplum/*"}}),
     False, ()),
    (federated(GITHUB, {"StringEquals": {"token.actions.githubusercontent.com:sub":
                                         "repo:exemplum/notes:ref:refs/heads/main",
                                         "token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}}),
     False, ()),
    # SAML: the audience names the sign-in endpoint, not who signs in.
    (federated(SAML, action="sts:AssumeRoleWithSAML"), True, ("saml-provider/corp",)),
    (federated(SAML, {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}},
               "sts:AssumeRoleWithSAML"), True, ("saml-provider/corp",)),
    (federated(SAML, {"StringEquals": {"SAML:sub": "ops@exemplum.fr"}}, "sts:AssumeRoleWithSAML"), False, ()),
    (federated("cognito-identity.amazonaws.com",
               {"StringEquals": {"cognito-identity.amazonaws.com:aud": "eu-west-3:8f1c"}}), False, ()),
    # Other issuers: a wildcard in the subject's first value lets any of their tenants in.
    (federated(GITLAB, {"StringLike": {"gitlab.com:sub": "project_path:*"}}), True, ("gitlab.com",)),
    (federated(GITLAB, {"StringLike": {"gitlab.com:sub": "project_path:exemplum*"}}), True, ("gitlab.com",)),
    (federated(GITLAB, {"StringLike": {"gitlab.com:sub": "project_path:exemplum/*:ref_type:branch:ref:main"}}),
     False, ()),
    (federated(TERRAFORM, {"StringLike": {"app.terraform.io:sub": "organization:*:project:*:workspace:*"}}),
     True, ("app.terraform.io",)),
    (federated(TERRAFORM, {"StringLike": {"app.terraform.io:sub": "organization:exemplum:project:*"}}),
     False, ()),
])
def test_federated_trusts_are_third_party_unless_a_condition_names_the_subject(
        document: Any, third_party: bool, accounts: tuple[str, ...]) -> None:
    result = analyse_trust(document, ACCOUNT)
    assert (result.third_party, result.trusted_accounts) == (third_party, accounts)
    assert result.external_id_required is (False if third_party else None)


# --- public grants -----------------------------------------------------------------------------------

def read_by(principal: Any, **extra: Any) -> dict[str, Any]:
    return allow("s3:GetObject", "arn:aws:s3:::site/*", Principal=principal, **extra)


@pytest.mark.parametrize(("statement", "expected"), [
    (read_by("*"), ("*",)),
    (read_by({"AWS": "*"}), ("*",)),
    (read_by({"AWS": ["*", ROLE]}), ("*",)),
    (read_by("*", Condition={"StringEquals": {"aws:SourceVpce": "vpce-1a2b"}}), ()),
    (read_by("*", Condition={"StringEquals": {"aws:PrincipalOrgID": "o-abc"}}), ()),
    (read_by("*", Condition={"ArnLike": {"aws:SourceArn": "arn:aws:cloudfront::1:distribution/E1"}}), ()),
    (read_by("*", Condition={"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}), ()),
    (read_by("*", Condition={"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}), ("*",)),
    (read_by("*", Condition={"StringNotEquals": {"aws:SourceVpce": "vpce-1a2b"}}), ("*",)),
    (read_by("*", Condition={"StringLike": {"aws:SourceAccount": "*"}}), ("*",)),
    (read_by("*", Condition={"StringEqualsIfExists": {"aws:SourceAccount": ACCOUNT}}), ("*",)),
    (read_by("*", Condition={"Bool": {"aws:SecureTransport": "true"}}), ("*",)),
    (read_by({"AWS": ROLE}), ()),
    (read_by({"Service": "cloudtrail.amazonaws.com"}), ()),
    (deny("s3:*", "*", Principal="*"), ()),
])
def test_public_grants(statement: dict[str, Any], expected: tuple[str, ...]) -> None:
    assert public_grants(policy(statement)) == expected


def test_no_policy_grants_nothing_publicly() -> None:
    assert public_grants(None) == ()


# --- insecure transport ----------------------------------------------------------------------------

def tls_deny(**changes: Any) -> dict[str, Any]:
    statement = {"Sid": "DenyHttp", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                 "Resource": ["arn:aws:s3:::notes", "arn:aws:s3:::notes/*"],
                 "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    statement.update(changes)
    return statement


@pytest.mark.parametrize(("statement", "expected"), [
    (tls_deny(), True),
    (tls_deny(Condition={"Bool": {"aws:SecureTransport": False}}), True),
    (tls_deny(Condition={"Bool": {"aws:securetransport": ["false"]}}), True),
    (tls_deny(Principal={"AWS": "*"}, Resource="arn:aws:s3:::notes*"), True),
    (tls_deny(Resource="*"), True),
    (tls_deny(Action=["s3:GetObject", "s3:PutObject"]), True),
    (tls_deny(Condition={"Bool": {"aws:SecureTransport": "true"}}), False),
    (tls_deny(Effect="Allow"), False),
    (tls_deny(Resource=["arn:aws:s3:::other", "arn:aws:s3:::other/*"]), False),
    (tls_deny(Resource="arn:aws:s3:::notes"), False),           # objects not covered
    (tls_deny(Resource="arn:aws:s3:::notes/*"), False),         # the bucket itself not covered
    (tls_deny(Action="s3:GetObject"), False),                   # uploads over HTTP still allowed
    (tls_deny(Principal={"AWS": ROLE}), False),
    (tls_deny(Condition={"Bool": {"aws:SecureTransport": "false"},
                         "StringEquals": {"aws:SourceVpce": "vpce-1"}}), False),
    (tls_deny(Condition={"NumericLessThan": {"s3:TlsVersion": "1.2"}}), False),
])
def test_denies_insecure_transport(statement: dict[str, Any], expected: bool) -> None:
    assert denies_insecure_transport(policy(statement), "notes") is expected


def test_no_policy_does_not_deny_insecure_transport() -> None:
    assert denies_insecure_transport(None, "notes") is False
