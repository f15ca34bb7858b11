"""IAM policies, roles and users as ``access_policy`` and ``principal`` resources, with effective
read access computed as the AWS provider computes it (:mod:`phigate_providers.aws.access`), over
the buckets and tables of the plan.

A principal's policies are those the plan gives it: inline (``aws_iam_role_policy``, the role's
``inline_policy`` blocks), attached (``*_policy_attachment``, ``managed_policy_arns``). A policy
the plan attaches but does not show (an AWS-managed one other than the few whose documents are
fixed and listed below, or one known only after apply) makes that principal's access unknown,
as do group memberships (group policies are not mapped) and buckets or bucket policies known only
after apply. Access granted outside the plan (attachments made elsewhere) is not the plan's:
the live audit sees it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from phigate.api import Resource, Unknown
from phigate_providers.aws.access import (
    AccessAnalyzer,
    Identity,
    PolicyDocument,
    PolicySyntaxError,
    Store,
    analyse_trust,
    is_full_admin,
    normalised_statements,
    parse_policy,
)
from phigate_providers.aws.escalation import EscalationGraph, ManagedPolicy, Member
from phigate_providers.aws.read_actions import DYNAMODB_READ, S3_READ, Facet, facets_of
from phigate_providers.aws.signing import signed_reach
from phigate_providers.terraform import sign_in
from phigate_providers.terraform.context import Context
from phigate_providers.terraform.plan import PlannedResource
from phigate_providers.terraform.values import after_apply, expression, is_unknown, trace, value

#: AWS-managed policies whose documents are short and fixed.
AWS_MANAGED: dict[str, dict[str, Any]] = {
    "arn:aws:iam::aws:policy/AdministratorAccess": {
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
    "arn:aws:iam::aws:policy/AmazonS3FullAccess": {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["s3:*", "s3-object-lambda:*"], "Resource": "*"}]},
    "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess": {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["s3:Get*", "s3:List*", "s3-object-lambda:Get*",
                                                     "s3-object-lambda:List*"], "Resource": "*"}]},
    # Service roles' policies, each at the version AWS's managed policy reference gives (none
    # changed since 2017): common in public configurations, and one of them reads every bucket.
    "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole": {  # v1
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["logs:CreateLogGroup", "logs:CreateLogStream",
                                                     "logs:PutLogEvents"], "Resource": "*"}]},
    "arn:aws:iam::aws:policy/service-role/AWSLambdaRole": {  # v1
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["lambda:InvokeFunction"], "Resource": ["*"]}]},
    "arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole": {  # v1
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "EnableCreationAndManagementOfRDSCloudwatchLogGroups", "Effect": "Allow",
             "Action": ["logs:CreateLogGroup", "logs:PutRetentionPolicy"],
             "Resource": ["arn:aws:logs:*:*:log-group:RDS*"]},
            {"Sid": "EnableCreationAndManagementOfRDSCloudwatchLogStreams", "Effect": "Allow",
             "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams",
                        "logs:GetLogEvents"],
             "Resource": ["arn:aws:logs:*:*:log-group:RDS*:log-stream:*"]}]},
    "arn:aws:iam::aws:policy/service-role/AmazonEC2RoleforAWSCodeDeploy": {  # v2
        "Version": "2012-10-17",
        "Statement": [{"Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:ListBucket"], "Effect": "Allow",
                       "Resource": "*"}]},
    "arn:aws:iam::aws:policy/AmazonSSMReadOnlyAccess": {  # v1
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["ssm:Describe*", "ssm:Get*", "ssm:List*"],
                       "Resource": "*"}]},
}
PRINCIPALS = {"aws_iam_role": "role", "aws_iam_user": "user"}
INLINE = {"aws_iam_role_policy": "role", "aws_iam_user_policy": "user"}
ATTACHMENTS = {"aws_iam_role_policy_attachment": "role", "aws_iam_user_policy_attachment": "user"}
MEMBERSHIPS = ("aws_iam_user_group_membership", "aws_iam_group_membership")
PLACEHOLDER_ACCOUNT = "000000000000"
_ACCOUNTS = re.compile(r"(?<![0-9])[0-9]{12}(?![0-9])")


@dataclass
class Holder:
    """A planned role or user and what the plan gives it."""

    planned: PlannedResource
    principal_type: str
    arn: str
    policies: list[PolicyDocument] = field(default_factory=list)
    unseen: list[str] = field(default_factory=list)  # why its access cannot be known
    sources: list[PlannedResource] = field(default_factory=list)
    #: Where each of its policies sits (see :attr:`~phigate_providers.aws.escalation.Member.placed`).
    placed: dict[str, str] = field(default_factory=dict)


@dataclass
class PolicyEntry:
    """A policy resource of the plan (or a fixed AWS-managed one) and who it is attached to."""

    rid: str
    name: str
    document: PolicyDocument | Unknown | None
    sources: list[PlannedResource]
    rtype: str
    attached_to: list[str] = field(default_factory=list)


def account_of(context: Context) -> str | None:
    """The AWS account of the plan, when the known ARNs of its resources name exactly one."""
    found: set[str] = set()
    for resource in context.plan.resources:
        arn = resource.values.get("arn")
        if isinstance(arn, str) and arn.startswith("arn:") and arn.count(":") >= 5:
            owner = arn.split(":")[4]
            if owner.isdigit() and len(owner) == 12:
                found.add(owner)
    return found.pop() if len(found) == 1 else None


@dataclass(frozen=True)
class StoreFacts:
    """A store of the plan as access analysis needs it: the ARN its content is read
    through (``*/`` patterns allowed) and its resource policy (Unknown: known after apply)."""

    rid: str
    content_arn: Any
    read_actions: frozenset[str]
    policy: PolicyDocument | Unknown | None
    address: str
    #: Its ways in, where its content ARN alone does not tell them (a snapshot).
    facets: tuple[Facet, ...] | None = None
    #: Why IAM alone does not decide who reads it (an EFS file system without a policy).
    unseen: str | None = None


def collect(context: Context, facts: list[StoreFacts]) -> None:
    account = account_of(context) or PLACEHOLDER_ACCOUNT
    stores: list[Store] = []
    unknown_stores: list[str] = []
    for fact in facts:
        if fact.unseen is not None:
            unknown_stores.append(f"{fact.address}: {fact.unseen}")
        elif not isinstance(fact.content_arn, str):
            unknown_stores.append(f"{fact.address}: name known only after apply")
        elif isinstance(fact.policy, Unknown):
            unknown_stores.append(f"{fact.address}: resource policy known only after apply")
        else:
            facets = fact.facets or facets_of(fact.content_arn)
            stores.append(Store.of(fact.rid, facets, account, fact.policy))
    holders = _holders(context, account)
    policies = _policies(context)
    _inline(context, holders, policies)
    _attachments(context, holders, policies)
    for membership in (m for t in MEMBERSHIPS for m in context.plan.by_type.get(t, ())):
        attribute = "user" if membership.type == MEMBERSHIPS[0] else "users"
        for holder in holders.values():
            if holder.principal_type == "user" and _names(context, membership, holder, attribute):
                holder.unseen.append(f"group membership {membership.address} (group policies are not mapped)")
                holder.sources.append(membership)
    _same_names(holders)
    for entry in policies.values():
        _emit_policy(context, entry)
    problems: list[str] = []
    if account == PLACEHOLDER_ACCOUNT and any(_needs_account(s.resource_policy) for s in stores):
        problems.append("the plan's AWS account is not known, so resource policies naming principals "
                        "cannot be matched")
    analyzer = AccessAnalyzer(stores) if not problems else None
    graph = _graph(context, holders, policies, account)
    ids = {holder.arn: context.id_of(holder.planned) for holder in holders.values()}
    for holder in holders.values():
        _emit_principal(context, holder, account, analyzer, problems=problems, unseen_stores=unknown_stores,
                        graph=(graph, ids))


def _needs_account(policy: PolicyDocument | None) -> bool:
    """A resource policy that names accounts (a principal ARN, a condition value, NotPrincipal)
    cannot be matched to the plan's principals while the plan's account is not known. One naming
    none (a grant to everyone, SNS's default policy written with the plan's own account) reads the
    same in every account."""
    if policy is None:
        return False
    for statement in policy.statements:
        principals = statement.principals or {}
        if statement.not_principals is not None or not set(principals) <= {"*", "AWS", "Service"}:
            return True
        named = _ACCOUNTS.findall(json.dumps([principals, statement.conditions], default=str))
        if any(a != PLACEHOLDER_ACCOUNT for a in named):
            return True
    return False


def _holders(context: Context, account: str) -> dict[str, Holder]:
    holders: dict[str, Holder] = {}
    for tf_type, principal_type in PRINCIPALS.items():
        for planned in context.plan.by_type.get(tf_type, ()):
            arn = value(planned, ("arn",))
            if not isinstance(arn, str) or not arn:
                name = value(planned, ("name",))
                path = value(planned, ("path",))
                label = name if isinstance(name, str) else planned.address
                prefix = path if isinstance(path, str) else "/"
                arn = f"arn:aws:iam::{account}:{principal_type}{prefix}{label}"
            holders[planned.address] = Holder(planned, principal_type, arn, sources=[planned])
    return holders


def _same_names(holders: dict[str, Holder]) -> None:
    """Principals of the plan that would be the same role or user (one name, one account: a
    ``for_each`` over a literal name, a module called twice): IAM refuses the second at apply,
    or they live in accounts the plan does not tell apart. Which one exists, with which policies,
    cannot be known, unless they are given the same policies (whichever exists reads the same):
    otherwise each one's access is unknown, never the access of the other."""
    by_arn: dict[str, list[Holder]] = {}
    for holder in holders.values():
        by_arn.setdefault(holder.arn, []).append(holder)
    for arn, same in by_arn.items():
        if len(same) < 2 or all(h.policies == same[0].policies and not h.unseen for h in same):
            continue
        addresses = ", ".join(h.planned.address for h in same)
        for holder in same:
            holder.unseen.append(f"{addresses} are all {arn}: IAM names are unique in an account, so "
                                 "the apply fails on all but one (or they are in accounts the plan does "
                                 "not tell apart); give each its own name")


def _document(text: Any, name: str) -> PolicyDocument | Unknown:
    if is_unknown(text):
        return text
    if text is None or (isinstance(text, str) and not text.strip()):
        # IAM accepts no empty document: the plan's values were blanked or cut, not a policy
        # granting nothing.
        return Unknown(f"{name}: the policy document is empty")
    try:
        return parse_policy(text if isinstance(text, str) else json.dumps(text), name=name)
    except PolicySyntaxError as exc:
        return Unknown(f"{name}: policy does not parse ({exc})")


def _policies(context: Context) -> dict[str, PolicyEntry]:
    found: dict[str, PolicyEntry] = {}
    for planned in context.plan.by_type.get("aws_iam_policy", ()):
        found[planned.address] = PolicyEntry(context.id_of(planned), planned.address,
                                             _document(value(planned, ("policy",)), planned.address),
                                             [planned], "aws.iam.policy")
    return found


def _names(context: Context, planned: PlannedResource, holder: Holder, attribute: str = "user") -> bool:
    """``planned`` names ``holder`` in ``attribute`` (a reference or the principal's name; a list
    attribute such as ``users`` or ``roles`` may name several)."""
    expr = expression(planned, (attribute,))
    traced = trace(context.plan, planned, expr, frozenset(PRINCIPALS))
    if traced.resource is not None:
        return traced.resource.address == holder.planned.address
    named = value(planned, (attribute,))
    name = value(holder.planned, ("name",))
    if isinstance(named, list):
        if expr is not None and expr.get("references"):
            referenced = {r.split(".")[1] for r in expr["references"] if r.split(".")[0] in PRINCIPALS}
            if holder.planned.name in referenced and holder.planned.type in {
                    r.split(".")[0] for r in expr["references"]}:
                return True
        return isinstance(name, str) and name in named
    return isinstance(name, str) and named == name


def _holder_for(context: Context, holders: dict[str, Holder], planned: PlannedResource,
                kind: str) -> Holder | None:
    for holder in holders.values():
        if holder.principal_type == kind and _names(context, planned, holder, kind):
            return holder
    return None


def _inline(context: Context, holders: dict[str, Holder], policies: dict[str, PolicyEntry]) -> None:
    managed: set[str] = set()  # inline policies their own resources manage
    for tf_type, kind in INLINE.items():
        for planned in context.plan.by_type.get(tf_type, ()):
            holder = _holder_for(context, holders, planned, kind)
            name = value(planned, ("name",))
            owner = context.id_of(holder.planned) if holder is not None else str(value(planned, (kind,)))
            rid = f"{owner}#inline/{name}" if isinstance(name, str) else planned.address
            document = _document(value(planned, ("policy",)), planned.address)
            entry = PolicyEntry(rid, planned.address, document, [planned], "aws.iam.inline_policy",
                                [context.id_of(holder.planned)] if holder else [])
            policies[planned.address] = entry
            managed.add(rid)
            if holder is not None:
                _give(holder, entry, planned)
    for holder in holders.values():
        blocks = value(holder.planned, ("inline_policy",))
        if is_unknown(blocks):
            holder.unseen.append(f"{holder.planned.address}: inline policies known only after apply")
            continue
        for number, block in enumerate(blocks or ()):
            name = block.get("name") if isinstance(block, dict) else None
            if not name and not (isinstance(block, dict) and block.get("policy")):
                continue  # the provider reports an empty block when there is none
            label = f"{holder.planned.address}.inline_policy[{number}]"
            document = _document(value(holder.planned, ("inline_policy", number, "policy")), label)
            owner = context.id_of(holder.planned)
            if f"{owner}#inline/{name}" in managed:
                continue  # the role reads back a policy an aws_iam_role_policy of the plan manages
            entry = PolicyEntry(f"{owner}#inline/{name}", label, document, [holder.planned],
                                "aws.iam.inline_policy", [owner])
            policies[label] = entry
            _give(holder, entry, None)


def _give(holder: Holder, entry: PolicyEntry, source: PlannedResource | None) -> None:
    if isinstance(entry.document, PolicyDocument):
        holder.policies.append(entry.document)
        # Where the policy sits, as the escalation graph names it: a Deny in it binds only while
        # the holder cannot take it away (delete or replace an inline policy, detach a managed one).
        inline = entry.rid.split("#inline/", 1)[1] if "#inline/" in entry.rid else None
        holder.placed[entry.document.name or ""] = (
            f"{holder.arn}#inline/{inline}" if inline is not None else entry.rid)
    else:
        reason = entry.document.reason if isinstance(entry.document, Unknown) else "not in the plan"
        holder.unseen.append(f"policy {entry.name}: {reason}")
    if source is not None:
        holder.sources.append(source)


def _attachments(context: Context, holders: dict[str, Holder], policies: dict[str, PolicyEntry]) -> None:
    plan = context.plan
    pairs: list[tuple[PlannedResource, Holder | None, str]] = []
    for tf_type, kind in ATTACHMENTS.items():
        for planned in plan.by_type.get(tf_type, ()):
            pairs.append((planned, _holder_for(context, holders, planned, kind), "policy_arn"))
    for planned in plan.by_type.get("aws_iam_policy_attachment", ()):
        for holder in holders.values():
            if _names(context, planned, holder, f"{holder.principal_type}s"):
                pairs.append((planned, holder, "policy_arn"))
    for planned, attached, attribute in pairs:
        entry = _attached_policy(context, planned, attribute, policies)
        if attached is None:
            continue
        entry.attached_to.append(context.id_of(attached.planned))
        _give(attached, entry, planned)
    for holder in holders.values():
        arns = value(holder.planned, ("managed_policy_arns",))
        if is_unknown(arns):
            holder.unseen.append(f"{holder.planned.address}: managed_policy_arns known only after apply")
            continue
        for arn in arns or ():
            entry = _policy_by_arn(context, arn, policies)
            entry.attached_to.append(context.id_of(holder.planned))
            _give(holder, entry, None)


def _attached_policy(context: Context, planned: PlannedResource, attribute: str,
                     policies: dict[str, PolicyEntry]) -> PolicyEntry:
    traced = trace(context.plan, planned, expression(planned, (attribute,)), frozenset({"aws_iam_policy"}))
    if traced.resource is not None:
        entry = policies[traced.resource.address]
        entry.sources.append(planned)
        return entry
    arn = traced.constant if traced.has_constant else value(planned, (attribute,))
    entry = _policy_by_arn(context, arn, policies)
    entry.sources.append(planned)
    return entry


def _policy_by_arn(context: Context, arn: Any, policies: dict[str, PolicyEntry]) -> PolicyEntry:
    if not isinstance(arn, str):
        return PolicyEntry("", "a policy ARN", arn if is_unknown(arn) else after_apply("policy ARN"), [],
                           "aws.iam.policy")
    for entry in policies.values():
        if entry.rid == arn:
            return entry
    if arn in AWS_MANAGED:
        entry = PolicyEntry(arn, arn, parse_policy(AWS_MANAGED[arn], name=arn), [], "aws.iam.policy")
    else:
        entry = PolicyEntry(arn, arn, Unknown(f"{arn} is not in the plan"), [], "aws.iam.policy")
    policies[arn] = entry
    return entry


def _emit_policy(context: Context, entry: PolicyEntry) -> None:
    if not entry.rid or not entry.sources:
        return  # an AWS-managed policy only matters through the principals it is attached to
    attributes: dict[str, Any] = {"attached_to": sorted(set(entry.attached_to)), "target": None}
    if isinstance(entry.document, PolicyDocument):
        attributes["statements"] = normalised_statements(entry.document)
        attributes["full_admin"] = is_full_admin(entry.document)
    elif isinstance(entry.document, Unknown):
        attributes["statements"] = entry.document
        attributes["full_admin"] = entry.document
    first = entry.sources[0]
    resource = Resource(id=entry.rid, type=entry.rtype, kind="access_policy", provider="aws",
                        scope=context.plan.label, region=None, name=first.address, attributes=attributes,
                        raw=context.raw(first, *entry.sources[1:]))
    context.add(resource, entry.sources)


def _graph(context: Context, holders: dict[str, Holder], policies: dict[str, PolicyEntry],
           account: str) -> EscalationGraph:
    """The plan's roles and users as the live provider's escalation graph sees them: role
    chaining (a policy allowing ``sts:AssumeRole`` on a role whose trust lets it in), IAM
    escalation between the principals the plan declares, and the Denies they can take away
    (the managed policies attached to them, which a customer managed one may also be given a
    new version of)."""
    arns = {context.id_of(h.planned): h.arn for h in holders.values()}
    managed = [
        ManagedPolicy(entry.rid, account, tuple(arns[i] for i in entry.attached_to if i in arns),
                      changeable=not entry.rid.startswith("arn:aws:iam::aws:"))
        for entry in policies.values()
        if entry.rtype == "aws.iam.policy" and entry.rid and isinstance(entry.document, PolicyDocument)
    ]
    members: dict[str, Member] = {}
    for holder in holders.values():
        member = _member(holder, account)
        known = members.get(member.arn)
        # One principal in IAM for all the plan's resources of its name: its trust is any of
        # theirs (more principals may become it, never fewer); what it may do is unknown.
        members[member.arn] = member if known is None else Member(
            member.arn, member.kind, account, None, trust=_either(known.trust, member.trust))
    return EscalationGraph(list(members.values()), managed, accounts=[account])


def _either(first: PolicyDocument | None, second: PolicyDocument | None) -> PolicyDocument | None:
    """A trust policy letting in whoever either of two trust policies lets in (their Allow
    statements: a Deny of one does not bind the other)."""
    if first is None or second is None:
        return first or second
    allows = tuple(s for s in (*first.statements, *second.statements) if s.effect == "Allow")
    return PolicyDocument(allows, first.version, name=first.name)


def _member(holder: Holder, account: str) -> Member:
    trust: PolicyDocument | None = None
    if holder.principal_type == "role":
        document = _document(value(holder.planned, ("assume_role_policy",)), "trust policy")
        trust = document if isinstance(document, PolicyDocument) else None
    identity = (None if holder.unseen
                else Identity(arn=holder.arn, account=account, policies=tuple(holder.policies)))
    return Member(holder.arn, holder.principal_type, account, identity, trust=trust, placed=holder.placed)


def _emit_principal(context: Context, holder: Holder, account: str, analyzer: AccessAnalyzer | None,
                    *, problems: list[str], unseen_stores: list[str],
                    graph: tuple[EscalationGraph, dict[str, str]]) -> None:
    planned = holder.planned
    rid = context.id_of(planned)
    tags = context.tags(planned, ("tags_all", "tags"))
    rtype = f"aws.iam.{holder.principal_type}"
    if is_unknown(tags):
        context.tags_unknown(planned, "principal", rid, rtype)
        return
    assert isinstance(tags, dict)
    attributes: dict[str, Any] = {"principal_type": holder.principal_type, "member_of": [], "login": True}
    if holder.principal_type == "user":
        found, sources = sign_in.user_attributes(context.plan.by_type, lambda p: _names(context, p, holder))
        attributes.update(found)
        holder.sources.extend(sources)
    reasons = holder.unseen + problems
    depends: list[str] = []
    if reasons or analyzer is None:
        unknown = Unknown("; ".join(reasons) or "access analysis unavailable")
        attributes.update(can_read=unknown, can_read_via_wildcard=unknown, undecided_conditions=unknown)
    else:
        escalation, ids = graph
        reach = signed_reach(_member(holder, account), analyzer, escalation, attributes.get("access_keys"))
        attributes.update(reach.attributes(ids))
        depends = list(attributes["can_read"])
        unseen = [f"{context.plan.label}: {s}" for s in unseen_stores] + list(reach.access_unseen)
        if unseen:
            # Stores whose name or policy is known only after apply are left out of the analysis
            # (a policy not seen may deny): what they give is unseen, the rest is exact.
            attributes["access_unseen"] = unseen
    attributes.update(_trust(planned, holder, account))
    resource = Resource(id=rid, type=rtype, kind="principal", provider="aws", scope=context.plan.label,
                        region=None, name=planned.address, tags=tags, attributes=attributes,
                        raw=context.raw(planned, *holder.sources[1:]))
    context.add(resource, holder.sources, depends)


def _trust(planned: PlannedResource, holder: Holder, account: str) -> dict[str, Any]:
    if holder.principal_type != "role":
        return {"third_party": False, "trusted_accounts": [], "external_id_required": None}
    document = _document(value(planned, ("assume_role_policy",)), f"{planned.address} trust policy")
    if isinstance(document, Unknown):
        return {"third_party": document, "trusted_accounts": document, "external_id_required": document}
    trust = analyse_trust(document, account)
    return {"third_party": trust.third_party, "trusted_accounts": list(trust.trusted_accounts),
            "external_id_required": trust.external_id_required}


__all__ = ["AWS_MANAGED", "DYNAMODB_READ", "S3_READ", "StoreFacts", "account_of", "collect"]
