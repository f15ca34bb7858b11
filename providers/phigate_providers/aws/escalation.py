"""Which principals an identity can become: role chaining and IAM privilege escalation.

The edges of the access graph between AWS principals (``can_become`` / ``can_become_via``), after
the catalogue NCC Group's Principal Mapper implements. Each edge needs the identity side (the
identity's policies allow the action on the target's ARN, with Denies, NotResource, conditions and
permissions boundaries decided as for reads) and, for ``sts:AssumeRole``, the role's trust policy
(analysed as the role's resource policy: naming the identity grants within the account, naming
the account root delegates to IAM, across accounts both sides must allow). The identity side is
evaluated by the same :class:`~phigate_providers.aws.access.AccessAnalyzer` as reads, over
*targets*: every role, user, group and customer managed policy of the run, each with the actions
that lead to it, so a grant naming one target is a look-up and only wildcards reach many.

Edges (target ≠ the identity):

- ``sts:AssumeRole`` on a role its trust allows the identity → the role;
- ``iam:CreateAccessKey`` / ``iam:CreateLoginProfile`` / ``iam:UpdateLoginProfile`` on a user →
  the user (its credentials);
- ``iam:UpdateAssumeRolePolicy`` on a role → the role (its trust rewritten to let the identity in);
- ``iam:PutUserPolicy`` / ``iam:AttachUserPolicy`` on a user, ``iam:PutRolePolicy`` /
  ``iam:AttachRolePolicy`` on a role, ``iam:PutGroupPolicy`` / ``iam:AttachGroupPolicy`` on a group
  → that principal (its permissions are the identity's to write);
- ``iam:AddUserToGroup`` on a group (users) → the group (member, inherits); a group's own edges
  are those its policies give its members, so joining it hands them over;
- ``iam:CreatePolicyVersion`` / ``iam:SetDefaultPolicyVersion`` on a customer managed policy →
  every principal it is attached to;
- ``iam:PassRole`` on a role whose trust allows a service, together with the actions that make
  that service run code as the role (:data:`PASS_ROLE`) on any resource → the role.

Self-escalation: the same IAM actions on the identity itself (its own user or role, a group it is
in, a policy attached to it or to its groups) let it grant itself anything. It is then analysed
as if it had ``Allow * on *`` (its Denies and permissions boundary kept, unless it may also delete
or replace its boundary): every store and principal that reaches is added, saying how.

A Deny binds only while its policy stays. An identity that can take away a policy holding a Deny
of its own (delete or replace an inline policy of itself or of its group, detach a managed one
from itself or its group, leave the group, give a customer managed policy a new version) is
analysed without that policy, from wherever it is attached to it: the reads and principals the
Deny kept from it are added, saying how. Removing it removes its Allows too, which are kept: an
over-approximation.

- ``lambda:UpdateFunctionCode`` on a function → its execution role; ``ssm:SendCommand`` /
  ``ssm:StartSession`` on an instance with an instance profile → the profile's role
  (:mod:`~phigate_providers.aws.runners`); where they could not be listed, an identity allowed
  those actions gets the gap in ``access_unseen``.

Not modelled (documented in docs/access-graph.md): organisation SCPs, session policies.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from phigate_providers.aws import runners as runners_module
from phigate_providers.aws.access import (
    Access,
    AccessAnalyzer,
    Identity,
    PolicyDocument,
    Store,
    is_full_admin,
    parse_policy,
)
from phigate_providers.aws.arn import has_wildcard
from phigate_providers.aws.conditions import Mfa
from phigate_providers.aws.read_actions import Facet
from phigate_providers.aws.runners import Runner
from phigate_providers.aws.trust import trusted_services

ASSUME = "sts:AssumeRole"
USER_CREDENTIALS = ("iam:CreateAccessKey", "iam:CreateLoginProfile", "iam:UpdateLoginProfile")
USER_POLICY = ("iam:PutUserPolicy", "iam:AttachUserPolicy")
ROLE_POLICY = ("iam:PutRolePolicy", "iam:AttachRolePolicy")
GROUP_POLICY = ("iam:PutGroupPolicy", "iam:AttachGroupPolicy")
JOIN_GROUP = "iam:AddUserToGroup"
TRUST = "iam:UpdateAssumeRolePolicy"
POLICY_VERSION = ("iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion")
PASS = "iam:PassRole"
UNBOUND = ("iam:DeleteUserPermissionsBoundary", "iam:PutUserPermissionsBoundary",
           "iam:DeleteRolePermissionsBoundary", "iam:PutRolePermissionsBoundary")
#: What takes a policy away from a principal, by where the policy is: inline (deleted, or replaced
#: by a policy of the same name), attached (detached), or in a group (the member leaves).
DROP_INLINE = {"user": ("iam:DeleteUserPolicy", "iam:PutUserPolicy"),
               "role": ("iam:DeleteRolePolicy", "iam:PutRolePolicy"),
               "group": ("iam:DeleteGroupPolicy", "iam:PutGroupPolicy", "iam:RemoveUserFromGroup")}
DETACH = {"user": ("iam:DetachUserPolicy",), "role": ("iam:DetachRolePolicy",),
          "group": ("iam:DetachGroupPolicy", "iam:RemoveUserFromGroup")}

#: Service principal → the sets of actions (any one set, all its actions) that run code as a
#: role passed to the service.
PASS_ROLE: Mapping[str, tuple[tuple[str, ...], ...]] = {
    "lambda.amazonaws.com": (
        ("lambda:CreateFunction", "lambda:InvokeFunction"),
        ("lambda:CreateFunction", "lambda:CreateEventSourceMapping"),
    ),
    "ec2.amazonaws.com": (("ec2:RunInstances",),),
    "cloudformation.amazonaws.com": (("cloudformation:CreateStack",),),
    "glue.amazonaws.com": (("glue:CreateDevEndpoint",), ("glue:CreateJob", "glue:StartJobRun")),
    "codebuild.amazonaws.com": (("codebuild:CreateProject", "codebuild:StartBuild"),),
    "sagemaker.amazonaws.com": (
        ("sagemaker:CreateNotebookInstance",),
        ("sagemaker:CreateTrainingJob",),
        ("sagemaker:CreateProcessingJob",),
    ),
    "ecs-tasks.amazonaws.com": (("ecs:RegisterTaskDefinition", "ecs:RunTask"),),
    "datapipeline.amazonaws.com": (("datapipeline:CreatePipeline", "datapipeline:PutPipelineDefinition"),),
}
_SERVICE_ACTIONS = frozenset(a for sets in PASS_ROLE.values() for actions in sets for a in actions)
_ADMIN = parse_policy(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
    name="policy it can grant itself",
)


@dataclass(frozen=True)
class Member:
    """A principal of the run as the graph sees it."""

    arn: str
    kind: str  # user | group | role
    account: str
    identity: Identity | None  # None: its policies could not all be read (no edges from it)
    member_of: tuple[str, ...] = ()
    trust: PolicyDocument | None = None  # roles
    #: Where each of its policies sits, by the document's name, when the name does not say it
    #: (a plan names documents by address): ``ARN#inline/NAME`` or a managed policy's ARN.
    placed: Mapping[str, str] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class ManagedPolicy:
    """A managed policy and the principals it is attached to; ``changeable``: a customer managed
    policy, which may be given a new version (AWS managed ones cannot)."""

    arn: str
    account: str
    attached_to: tuple[str, ...]
    changeable: bool = True


@dataclass
class Edges:
    """What escalation adds to one principal."""

    can_become: dict[str, str] = field(default_factory=dict)  # target → how
    can_read_via: dict[str, str] = field(default_factory=dict)  # stores read only by self-escalation
    undecided_conditions: list[str] = field(default_factory=list)
    access_unseen: list[str] = field(default_factory=list)  # roles of accounts outside the run


class EscalationGraph:
    """The principals of a run (every account), indexed once; :meth:`edges` per identity."""

    def __init__(
        self,
        members: Sequence[Member],
        policies: Sequence[ManagedPolicy],
        accounts: Iterable[str] = (),
        runners: Sequence[Runner] = (),
        gaps: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        """``accounts``: every account of the run (those whose IAM could not be read included);
        roles of other accounts are outside it. ``runners``: functions and instances running as
        a role (the role resolved); ``gaps``: per account, where they could not be listed."""
        self._accounts = frozenset(accounts) | {m.account for m in members}
        self._runners = {r.arn: r for r in runners}
        self._gaps = gaps or {}
        self._members = {m.arn: m for m in members}
        self._policies: dict[str, ManagedPolicy] = {}
        for policy in policies:  # an AWS managed policy comes once per account holding it
            known = self._policies.get(policy.arn)
            self._policies[policy.arn] = policy if known is None else dataclasses.replace(
                known, attached_to=(*known.attached_to, *policy.attached_to))
        self._services: dict[str, frozenset[str]] = {}
        targets: list[Store] = []
        for member in members:
            targets.append(self._target(member))
            if member.trust is not None:
                self._services[member.arn] = trusted_services(member.trust)
        for policy in policies:
            if policy.changeable:
                facet = Facet(policy.arn, frozenset(POLICY_VERSION))
                targets.append(Store.of(policy.arn, (facet,), policy.account))
        for runner in self._runners.values():
            facet = Facet(runner.arn, frozenset(runner.actions))
            targets.append(Store.of(runner.arn, (facet,), runner.account))
        for account in sorted({m.account for m in members}):
            # Service actions are asked of any resource: one target matching every ARN per account.
            anywhere = Facet("*", _SERVICE_ACTIONS | frozenset(runners_module.ACTIONS))
            targets.append(Store.of(_anywhere(account), (anywhere,), account))
        self._analyzer = AccessAnalyzer(targets)

    def _target(self, member: Member) -> Store:
        if member.kind == "role":
            facets = [
                Facet(member.arn, frozenset({ASSUME}), policy_required=True),
                Facet(member.arn, frozenset({TRUST, PASS, *ROLE_POLICY, *UNBOUND[2:], *DROP_INLINE["role"],
                                             *DETACH["role"]}), False),
            ]
            return Store.of(member.arn, facets, member.account, member.trust)
        if member.kind == "user":
            actions = frozenset({*USER_CREDENTIALS, *USER_POLICY, *UNBOUND[:2], *DROP_INLINE["user"],
                                 *DETACH["user"]})
        else:
            actions = frozenset({*GROUP_POLICY, JOIN_GROUP, *DROP_INLINE["group"], *DETACH["group"]})
        return Store.of(member.arn, (Facet(member.arn, actions),), member.account)

    def reads_mfa(self, member: Member) -> bool:
        """Some statement bearing on ``member``'s edges (its policies, a trust) reads MFA."""
        return member.identity is not None and self._analyzer.reads_mfa(member.identity)

    def may_create_own_keys(self, member: Member, mfa: Mfa | None) -> bool:
        """``member`` (a user) may create access keys for itself, with requests signed ``mfa``."""
        if member.identity is None or member.kind != "user":
            return False
        allowed = self._analyzer.read_access(member.identity, mfa=mfa)
        return "iam:CreateAccessKey" in allowed.actions_on(member.arn)

    def edges(
        self, member: Member, reads: AccessAnalyzer | None, already: Iterable[str] | None = None,
        mfa: Mfa | None = None,
    ) -> Edges:
        """The principals ``member`` can become and how; with ``reads`` (the run's stores), the
        stores it can read only by granting itself read (self-escalation), beside those it
        reads ``already`` (computed when not given). With ``mfa``, for requests signed that way."""
        found = Edges()
        identity = member.identity
        if identity is None:
            return found
        # A group makes no request of its own, but whoever joins it acts with its policies: its
        # edges are what it hands its members (a trust names users and roles, never a group).
        allowed = self._analyzer.read_access(identity, mfa=mfa)
        actions = _by_target(allowed)
        self._become(member, actions, found.can_become, prefix="")
        escalation = self._self_escalation(member, actions)
        if escalation and _full_admin(identity) and (identity.boundary is None or not escalation[1]):
            escalation = None  # already allowed everything: granting itself more changes nothing
        dropped = self._removable_denies(member, identity, actions)
        if escalation is not None or dropped:
            how, unbound = escalation or ("", False)
            removal = " + ".join(sorted({h for h in dropped.values() if h != how}))
            granted = Identity(
                identity.arn,
                identity.account,
                (*(p for p in identity.policies if p.name not in dropped), *([_ADMIN] if escalation else [])),
                None if unbound else identity.boundary,
            )
            done = (f"{how} (can grant itself anything)" if escalation else
                    f"{removal} (can remove a Deny of its own)")
            if escalation and removal:
                done = f"{how} + {removal} (can grant itself anything, and remove a Deny of its own)"
            self._become(member, _by_target(self._analyzer.read_access(granted, mfa=mfa)), found.can_become,
                         prefix=f"{done}, then ")
            if reads is not None:
                before = set(reads.read_access(identity, how=False, mfa=mfa).can_read
                             if already is None else already)
                for store in reads.read_access(granted, how=False, mfa=mfa).can_read:
                    if store not in before:
                        found.can_read_via[store] = done.replace("anything", "read", 1)
        found.undecided_conditions = [
            note for note in allowed.undecided_conditions if note.split(": ", 1)[0] in found.can_become
        ]
        self._outside(identity, found)
        gaps = self._gaps.get(member.account, ())
        if gaps and set(actions.get(_anywhere(member.account), ())) & set(runners_module.ACTIONS):
            found.access_unseen.extend(gaps)
        return found

    def _outside(self, identity: Identity, found: Edges) -> None:
        """Roles of accounts outside the run that an Allow of ``sts:AssumeRole`` names: their
        trust is unseen, so the edge is kept (a role named whole becomes a target the inventory
        lacks; a pattern of roles, an unseen scope). Denies are not subtracted here (an edge too
        many can only leave the principal undecided). Patterns whose account is a wildcard name
        no account: any account in the world could trust the identity, which no run can see."""
        for document in identity.policies:
            for statement in document.statements:
                if statement.effect != "Allow" or not statement.covers_action(ASSUME):
                    continue
                for pattern in statement.resources or ():
                    account = _role_account(pattern)
                    if account is None or account in self._accounts:
                        continue
                    if has_wildcard(pattern):
                        name = pattern.split(":", 5)[5]
                        note = f"aws account {account}: roles matching {name} (not read in this run)"
                        if note not in found.access_unseen:
                            found.access_unseen.append(note)
                    elif pattern not in found.can_become:
                        how = f"{ASSUME} (a role of account {account}, not read in this run)"
                        found.can_become[pattern] = how

    def _become(self, member: Member, actions: Mapping[str, frozenset[str]], out: dict[str, str],
                prefix: str) -> None:
        anywhere = actions.get(_anywhere(member.account), frozenset())
        for target, allowed in sorted(actions.items()):
            for reached, how in self._leads_to(member, target, allowed, anywhere):
                if reached != member.arn and reached not in out:
                    out[reached] = prefix + how

    def _leads_to(
        self, member: Member, target: str, allowed: frozenset[str], anywhere: frozenset[str]
    ) -> Iterable[tuple[str, str]]:
        """(principal reached, how) for the actions ``member`` may take on ``target``, given the
        service actions it may take on any resource (``anywhere``)."""
        if target in self._runners:
            runner = self._runners[target]
            how = _first(allowed, runner.actions)
            if how:
                yield runner.role, f"{how} on {target}"
            return
        if target in self._policies:
            how = _first(allowed, POLICY_VERSION)
            if how and not self._attached_to_self(member, target):
                yield from ((holder, f"{how} on {target}") for holder in self._policies[target].attached_to)
            return
        other = self._members.get(target)
        if other is None or other.arn == member.arn or other.arn in member.member_of:
            return
        if other.kind == "role":
            how = _first(allowed, (ASSUME, TRUST, *ROLE_POLICY))
            if how is None and PASS in allowed:
                service = self._pass_role(target, anywhere)
                how = f"{PASS} + {service}" if service else None
        elif other.kind == "user":
            how = _first(allowed, (*USER_CREDENTIALS, *USER_POLICY))
        else:
            how = _first(allowed, GROUP_POLICY)
            if how is None and JOIN_GROUP in allowed and member.kind == "user":
                how = f"{JOIN_GROUP} (member, inherits)"
        if how:
            yield target, how

    def _pass_role(self, role: str, anywhere: frozenset[str]) -> str | None:
        """The service actions that run code as ``role``, among those allowed ``anywhere``,
        joined; None when its trust allows no such service or they are not allowed."""
        for service in sorted(self._services.get(role, frozenset())):
            for actions in PASS_ROLE.get(service, ()):
                if all(a in anywhere for a in actions):
                    return " + ".join(actions)
        return None

    def _self_escalation(
        self, member: Member, actions: Mapping[str, frozenset[str]]
    ) -> tuple[str, bool] | None:
        """How ``member`` can grant itself anything (None: it cannot), and whether it can also
        drop its permissions boundary."""
        own = actions.get(member.arn, frozenset())
        unbound = any(a in own for a in UNBOUND)
        mine = {"user": USER_POLICY, "role": ROLE_POLICY, "group": GROUP_POLICY}[member.kind]
        how = _first(own, mine)
        if how:
            return how, unbound
        for group in member.member_of:
            how = _first(actions.get(group, frozenset()), GROUP_POLICY)
            if how:
                return f"{how} on {group}", unbound
        for target, allowed in sorted(actions.items()):
            how = _first(allowed, POLICY_VERSION) if target in self._policies else None
            if how and self._attached_to_self(member, target):
                return f"{how} on {target}", unbound
        return None

    def _removable_denies(self, member: Member, identity: Identity,
                          actions: Mapping[str, frozenset[str]]) -> dict[str, str]:
        """The policies of ``identity`` holding a Deny that ``member`` can take away from itself
        wherever it is attached to it (by name), and how. A policy whose attachments are not known
        (an AWS managed policy the run did not list) is kept."""
        found: dict[str, str] = {}
        holders = (member.arn, *member.member_of)
        for policy in identity.policies:
            name = member.placed.get(policy.name or "", policy.name or "")
            if not any(s.effect == "Deny" for s in policy.statements):
                continue
            owner = next((h for h in holders if name.startswith(f"{h}#inline/")), None)
            if owner is not None:
                how = self._removal(member, owner, actions, DROP_INLINE)
            elif name in self._policies:
                managed = self._policies[name]
                rewritable = actions.get(name, frozenset()) if managed.changeable else frozenset()
                version = _first(rewritable, POLICY_VERSION)
                paths = [self._removal(member, h, actions, DETACH)
                         for h in holders if h in managed.attached_to]
                how = (f"{version} on {name}" if version else
                       " + ".join(sorted({p for p in paths if p})) if paths and all(paths) else None)
            else:
                how = None
            if how:
                found[policy.name or ""] = how
        return found

    def _removal(self, member: Member, holder: str, actions: Mapping[str, frozenset[str]],
                 ways: Mapping[str, tuple[str, ...]]) -> str | None:
        """How ``member`` takes a policy away from ``holder`` (itself or one of its groups)."""
        if holder == member.arn:
            return _first(actions.get(holder, frozenset()), ways[member.kind])
        candidates = ways["group"] if member.kind == "user" else ()
        how = _first(actions.get(holder, frozenset()), candidates)
        return f"{how} on {holder}" if how else None

    def _attached_to_self(self, member: Member, policy: str) -> bool:
        holders = self._policies[policy].attached_to
        return member.arn in holders or any(g in holders for g in member.member_of)


def _role_account(pattern: str) -> str | None:
    """The account a role ARN pattern names literally; None for other ARNs or a wildcard account."""
    parts = pattern.split(":", 5)
    if len(parts) != 6 or parts[2] != "iam" or not parts[5].startswith("role/"):
        return None
    account = parts[4]
    return account if len(account) == 12 and account.isdigit() else None


def _by_target(access: Access) -> dict[str, frozenset[str]]:
    return {target: access.actions_on(target) for target in access.can_read}


def _full_admin(identity: Identity) -> bool:
    """Already allowed everything: granting itself more changes nothing."""
    return any(is_full_admin(p) for p in identity.policies)


def _first(allowed: Iterable[str], candidates: Iterable[str]) -> str | None:
    present = set(allowed)
    return next((c for c in candidates if c in present), None)


def _anywhere(account: str) -> str:
    return f"any resource of account {account}"


__all__ = ["PASS_ROLE", "Edges", "EscalationGraph", "ManagedPolicy", "Member"]
