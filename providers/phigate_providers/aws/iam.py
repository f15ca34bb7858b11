"""IAM: users, groups, roles and their policies, from one paginated authorization dump.

``GetAccountAuthorizationDetails`` returns every identity with its inline and attached policies
and every managed policy's default version in a few pages, instead of several calls per
identity. Identity policies of groups are flattened into their users for access analysis.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from phigate.api import Resource
from phigate_providers.aws.access import (
    Identity,
    PolicyDocument,
    PolicySyntaxError,
    analyse_trust,
    is_full_admin,
    normalised_statements,
    parse_policy,
)
from phigate_providers.aws.calls import whole_pages
from phigate_providers.aws.context import Account, jsonable, tag_map

POLICY_TYPES = ("aws.iam.policy", "aws.iam.inline_policy")
PRINCIPAL_TYPES = ("aws.iam.user", "aws.iam.group", "aws.iam.role")
_IDENTITY_FILTERS = ["User", "Role", "Group", "LocalManagedPolicy"]


@dataclass
class Principal:
    """An identity before its effective access is known."""

    arn: str
    name: str
    principal_type: str  # user | group | role
    tags: dict[str, str]
    member_of: list[str]
    policies: list[PolicyDocument]
    boundary: PolicyDocument | None
    trust: PolicyDocument | None
    raw: dict[str, Any]
    unreadable: list[str] = field(default_factory=list)  # policy documents that did not parse
    #: How a user signs in (console password, MFA, access keys), when read (:mod:`.credentials`).
    sign_in: dict[str, Any] = field(default_factory=dict)

    def identity(self, account_id: str) -> Identity:
        return Identity(
            arn=self.arn, account=account_id, policies=tuple(self.policies), boundary=self.boundary
        )


@dataclass
class IamFacts:
    principals: list[Principal]
    policy_resources: list[Resource]
    #: Instance profile ARN → the ARN of the role it holds (EC2 instances name their profile).
    instance_profiles: dict[str, str] = field(default_factory=dict)


def collect(account: Account) -> IamFacts:
    """Read the account's IAM. Raises ApiFailure when the dump cannot be read."""
    client = account.client("iam")
    details: dict[str, list[dict[str, Any]]] = {
        "UserDetailList": [],
        "GroupDetailList": [],
        "RoleDetailList": [],
        "Policies": [],
    }
    for page in _pages(client, _IDENTITY_FILTERS):
        for key, items in details.items():
            items.extend(page.get(key, []))
    managed = {p["Arn"]: p for p in details["Policies"]}
    attached = {
        a["PolicyArn"]
        for kind in ("UserDetailList", "GroupDetailList", "RoleDetailList")
        for item in details[kind]
        for a in item.get("AttachedManagedPolicies", [])
    }
    attached |= {
        item["PermissionsBoundary"]["PermissionsBoundaryArn"]
        for kind in ("UserDetailList", "RoleDetailList")
        for item in details[kind]
        if item.get("PermissionsBoundary")
    }
    if attached - managed.keys():
        # AWS-managed policies in use: their documents come with a second, filtered dump.
        for page in _pages(client, ["AWSManagedPolicy"]):
            for policy in page.get("Policies", []):
                if policy["Arn"] in attached:
                    managed[policy["Arn"]] = policy
    return _build(account, details, managed)


def _pages(client: Any, filters: list[str]) -> Iterator[dict[str, Any]]:
    return whole_pages(client, "GetAccountAuthorizationDetails", Filter=filters)


def _document(raw: Any, name: str) -> PolicyDocument:
    return parse_policy(raw, name=name)  # parse_policy decodes URL-encoded documents itself


def _build(
    account: Account, details: dict[str, list[dict[str, Any]]], managed: dict[str, dict[str, Any]]
) -> IamFacts:
    documents: dict[str, PolicyDocument | None] = {}
    policy_resources: list[Resource] = []
    attached_to: dict[str, list[str]] = {}
    group_arns = {g["GroupName"]: g["Arn"] for g in details["GroupDetailList"]}
    for kind in ("UserDetailList", "GroupDetailList", "RoleDetailList"):
        for item in details[kind]:
            for a in item.get("AttachedManagedPolicies", []):
                attached_to.setdefault(a["PolicyArn"], []).append(item["Arn"])
    for arn, policy in managed.items():
        version = next((v for v in policy.get("PolicyVersionList", []) if v.get("IsDefaultVersion")), None)
        try:
            document = _document(version["Document"], arn) if version else None
        except PolicySyntaxError:
            document = None
        documents[arn] = document
        policy_resources.append(
            _policy_resource(
                account,
                arn,
                policy.get("PolicyName") or arn.rsplit("/", 1)[-1],
                document,
                attached=sorted(attached_to.get(arn, [])),
                rtype="aws.iam.policy",
                raw=jsonable({k: v for k, v in policy.items() if k != "PolicyVersionList"}),
            )
        )
    principals: list[Principal] = []
    group_policies: dict[str, list[PolicyDocument]] = {}
    group_unreadable: dict[str, list[str]] = {}
    for kind, type_name, inline_key in (
        ("GroupDetailList", "group", "GroupPolicyList"),
        ("UserDetailList", "user", "UserPolicyList"),
        ("RoleDetailList", "role", "RolePolicyList"),
    ):
        for item in details[kind]:
            principal = _principal(
                account, item, type_name, inline_key, documents=documents, policy_resources=policy_resources
            )
            if type_name == "group":
                group_policies[principal.arn] = list(principal.policies)
                group_unreadable[principal.arn] = list(principal.unreadable)
            if type_name == "user":
                principal.member_of = sorted(
                    group_arns[g] for g in item.get("GroupList", []) if g in group_arns
                )
                for group in principal.member_of:
                    principal.policies.extend(group_policies.get(group, []))
                    principal.unreadable.extend(group_unreadable.get(group, []))
            principals.append(principal)
    profiles = {
        str(profile["Arn"]): str(role["Arn"])
        for role in details["RoleDetailList"]
        for profile in role.get("InstanceProfileList", ())
        if profile.get("Arn")
    }
    return IamFacts(principals, policy_resources, profiles)


def _principal(
    account: Account,
    item: dict[str, Any],
    type_name: str,
    inline_key: str,
    *,
    documents: dict[str, PolicyDocument | None],
    policy_resources: list[Resource],
) -> Principal:
    arn = str(item["Arn"])
    unreadable: list[str] = []
    policies: list[PolicyDocument] = []
    for a in item.get("AttachedManagedPolicies", []):
        document = documents.get(a["PolicyArn"])
        if document is None:
            unreadable.append(a["PolicyArn"])
        else:
            policies.append(document)
    for inline in item.get(inline_key, []):
        inline_id = f"{arn}#inline/{inline['PolicyName']}"
        try:
            document = _document(inline["PolicyDocument"], inline_id)
        except PolicySyntaxError:
            unreadable.append(inline_id)
            continue
        policies.append(document)
        policy_resources.append(
            _policy_resource(
                account,
                inline_id,
                inline["PolicyName"],
                document,
                attached=[arn],
                rtype="aws.iam.inline_policy",
                raw={"PolicyName": inline["PolicyName"]},
            )
        )
    boundary = None
    if item.get("PermissionsBoundary"):
        boundary_arn = item["PermissionsBoundary"]["PermissionsBoundaryArn"]
        boundary = documents.get(boundary_arn)
        if boundary is None:
            unreadable.append(boundary_arn)
    trust = None
    if type_name == "role":
        try:
            trust = _document(
                item.get("AssumeRolePolicyDocument") or {"Statement": []}, f"{arn} trust policy"
            )
        except PolicySyntaxError:
            unreadable.append(f"{arn}#trust")
    raw = {
        k: jsonable(v)
        for k, v in item.items()
        if k in ("Path", "CreateDate", "RoleLastUsed", "AssumeRolePolicyDocument", "GroupList")
    }
    return Principal(
        arn,
        str(item.get("UserName") or item.get("GroupName") or item.get("RoleName")),
        type_name,
        tag_map(item.get("Tags")),
        [],
        policies,
        boundary,
        trust,
        raw,
        unreadable,
    )


def _policy_resource(
    account: Account,
    policy_id: str,
    name: str,
    document: PolicyDocument | None,
    *,
    attached: list[str],
    rtype: str,
    raw: dict[str, Any],
) -> Resource:
    attributes: dict[str, Any] = {"attached_to": attached}
    if document is not None:
        attributes["statements"] = normalised_statements(document)
        attributes["full_admin"] = is_full_admin(document)
    return account.resource(
        policy_id, rtype, "access_policy", region=None, name=name, attributes=attributes, raw=raw
    )


def principal_resource(account: Account, principal: Principal, access: dict[str, Any] | None) -> Resource:
    """The principal, with its effective read access when it is known (``access``)."""
    attributes: dict[str, Any] = {
        "principal_type": principal.principal_type,
        "member_of": principal.member_of,
        "login": principal.principal_type != "group",
    }
    attributes.update(principal.sign_in)
    if access is not None:
        attributes.update(access)
    if principal.principal_type == "role" and principal.trust is not None:
        trust = analyse_trust(principal.trust, account.account_id)
        attributes.update(
            {
                "third_party": trust.third_party,
                "trusted_accounts": list(trust.trusted_accounts),
                "external_id_required": trust.external_id_required,
            }
        )
    else:
        attributes.update({"third_party": False, "trusted_accounts": [], "external_id_required": None})
    return account.resource(
        principal.arn,
        f"aws.iam.{principal.principal_type}",
        "principal",
        region=None,
        name=principal.name,
        attributes=attributes,
        tags=principal.tags,
        raw=principal.raw,
    )


__all__ = ["IamFacts", "Principal", "collect", "principal_resource"]
