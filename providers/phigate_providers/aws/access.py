"""Static analysis of AWS IAM policies: who can read which data store, who is trusted, what is public.

Nothing here calls AWS: the collector hands over parsed documents and gets back what the
normalised model needs. This module is the provider's one entry point: it also re-exports what
is asked of single documents (parsing, normalised statements and full admin from :mod:`policydoc`,
trust from :mod:`trust`, public grants and the insecure-transport Deny from
:mod:`resource_policy`). The working parts of the analyser live in :mod:`grants` (grants, tallies,
policy variables), :mod:`reach` (which stores a resource pattern reaches) and
:mod:`resource_grants` (resource policies indexed by principal); this module keeps the public
types and the decision itself.

Effective read access (:class:`AccessAnalyzer`) follows AWS's evaluation logic for one read request
on a store's content:

- an explicit Deny (identity policy, permissions boundary or resource policy) beats any Allow;
- within one account, an Allow in an identity policy (and in the permissions boundary, when there
  is one) or an Allow in the store's resource policy naming the identity grants access; across
  accounts both the identity side and the resource policy must allow;
- a resource policy naming the identity's own account root grants nothing by itself (it delegates
  to IAM); naming a role is still limited by the role's permissions boundary, naming a user or a
  role session is not; ``Principal: "*"`` grants every identity;
- where the resource policy must allow even within the account (a role's trust policy for
  ``sts:AssumeRole``, ``Store.policy_required``), naming the identity suffices, and naming its
  account's root lets the identity's own Allow count;
- an Allow reaches a store when its Resource can match *some* ARN of the store's content (a grant
  on ``arn:aws:s3:::notes/public/*`` reads part of the bucket); a Deny removes the store only when
  it covers *all* of it, or all of what the Allows reach;
- conditions on the principal (``aws:PrincipalArn``, ``aws:PrincipalAccount``, ``aws:username``,
  ``aws:PrincipalType``) are decided for the identity; ``aws:SecureTransport`` is the reader's
  choice (a Deny on plain HTTP does not stop reads over TLS); policy variables known for the
  identity (``${aws:username}``) are substituted;
- conditions that cannot be decided statically never deny and always count as possible access;
  both are reported in ``undecided_conditions``, never dropped.

What is not modelled (each would only remove access, never add it, so the analysis errs towards
reporting access): organisation SCPs and RCPs, session policies, object ACLs, KMS key policies.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from typing import Any

from phigate_providers.aws.arn import glob_contains, globs_intersect
from phigate_providers.aws.conditions import ConditionVerdict, Mfa, Outcome, Requester, reads_mfa
from phigate_providers.aws.grants import (
    Evidence,
    Grant,
    GrantsByStore,
    StatementCache,
    Tally,
    deny_covers,
    merge_verdicts,
    policy_label,
    resource_groups,
    statement_label,
)
from phigate_providers.aws.policydoc import (
    PolicyDocument,
    PolicySyntaxError,
    Statement,
    is_full_admin,
    normalised_statements,
    parse_policy,
)
from phigate_providers.aws.reach import NOWHERE, ContentIndex, Reach
from phigate_providers.aws.read_actions import Facet, describe, is_escalation
from phigate_providers.aws.resource_grants import ResourcePolicyIndex
from phigate_providers.aws.resource_policy import denies_insecure_transport, public_grants
from phigate_providers.aws.trust import Trust, analyse_trust


@dataclass(frozen=True)
class Store:
    """A data store whose *content* can be read.

    - ``id``: the phigate resource id (``arn:aws:s3:::notes``, a DynamoDB table ARN, an RDS ARN).
    - ``content_arn``: the ARN a content read is authorised against: ``arn:aws:s3:::notes/*`` for
      S3 objects, the table ARN for DynamoDB. A literal ARN, optionally ending in one ``*``; other
      patterns work but are matched against every grant instead of looked up.
    - ``read_actions``: the actions that read content (``{'s3:GetObject'}``; ``{'dynamodb:GetItem',
      'dynamodb:Query', 'dynamodb:Scan', 'dynamodb:BatchGetItem'}``). The store is readable when
      any one of them is allowed and not denied.
    - ``account``: the owning account id.
    - ``resource_policy``: the store's resource policy (an S3 bucket policy), None when it has none.
    - ``more``: further ways in (:class:`~phigate_providers.aws.read_actions.Facet`): a table's
      indexes and streams, a bucket's policy; each is analysed like ``content_arn`` with its own
      actions, and reading through any of them reads the store.
    """

    id: str
    content_arn: str
    read_actions: frozenset[str]
    account: str
    resource_policy: PolicyDocument | None = None
    more: tuple[Facet, ...] = ()
    #: The resource policy must allow, even within the account (a role's trust policy for
    #: ``sts:AssumeRole``): naming the principal suffices there, naming the account's root
    #: delegates to the identity's policies, which must then allow too.
    policy_required: bool = False

    @classmethod
    def of(
        cls, id: str, facets: Sequence[Facet], account: str, resource_policy: PolicyDocument | None = None
    ) -> Store:
        """A store read through ``facets`` (see :mod:`~phigate_providers.aws.read_actions`)."""
        first, *rest = facets
        policy = resource_policy if first.resource_policy_applies else None
        return cls(id, first.content_arn, first.actions, account, policy, tuple(rest), first.policy_required)

    def facets(self) -> list[Store]:
        """The store once per way in, each with its one content ARN and actions."""
        found = [replace(self, more=())]
        for facet in self.more:
            policy = self.resource_policy if facet.resource_policy_applies else None
            required = facet.policy_required
            found.append(Store(self.id, facet.content_arn, facet.actions, self.account, policy, (), required))
        return found


@dataclass(frozen=True)
class Identity:
    """An IAM user, role or group, with every identity policy that applies to it.

    ``policies`` holds managed and inline policies, those of a user's groups included (the caller
    flattens them). ``boundary`` is the permissions boundary: an action must be allowed by it too.
    """

    arn: str
    account: str
    policies: tuple[PolicyDocument, ...]
    boundary: PolicyDocument | None = None


@dataclass(frozen=True)
class Access:
    """Effective read access of one identity.

    - ``can_read``: ids of the stores it can read (possibly: conditional grants count), sorted.
    - ``can_read_via_wildcard``: the subset reached only through wildcard grants: a Resource of
      ``*`` or a pattern whose wildcard stands for the store's own name, a NotResource, or a
      resource policy granting ``Principal: "*"``.
    - ``undecided_conditions``: one line per store and statement whose conditions could not be
      decided and on which the store's readability depends (``STORE: Allow in POLICY, statement
      SID, depends on KEY, KEY``), sorted.
    - ``allowed``: per action (as stores name it), the readable stores it is allowed on.
    """

    can_read: tuple[str, ...]
    can_read_via_wildcard: tuple[str, ...]
    undecided_conditions: tuple[str, ...]
    allowed: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def actions_on(self, store: str) -> frozenset[str]:
        """The actions allowed on ``store``."""
        return frozenset(a for a, stores in self.allowed.items() if store in stores)

    @functools.cached_property
    def can_read_via(self) -> dict[str, str]:
        """How each store is read: the first read action allowed on it (in name order), else
        the actions that let the principal grant itself read (see :func:`read_actions.describe`).
        Each action's stores are walked once: a principal of ``*`` reads thousands of stores."""
        first: dict[str, str] = {}
        escalations: dict[str, list[str]] = {}
        for action in sorted(self.allowed):
            if is_escalation(action):
                said = describe(action)
                for store in self.allowed[action]:
                    escalations.setdefault(store, []).append(said)
            else:
                for store in self.allowed[action]:
                    first.setdefault(store, action)
        return {store: first.get(store) or "; ".join(escalations.get(store, ())) or "read"
                for store in self.can_read}

    def as_attributes(self) -> dict[str, Any]:
        """The ``principal`` kind's attributes ``can_read``, ``can_read_via_wildcard``,
        ``can_read_via`` and ``undecided_conditions``."""
        return {
            "can_read": list(self.can_read),
            "can_read_via_wildcard": list(self.can_read_via_wildcard),
            "can_read_via": dict(self.can_read_via),  # a copy: the cached one stays as computed
            "undecided_conditions": list(self.undecided_conditions),
        }


class AccessAnalyzer:
    """Effective read access of identities to a fixed set of stores.

    Build it once with every store (resource policies are indexed then); call :meth:`read_access`
    per identity. Stores are indexed by the literal part of their content ARN, so a grant naming a
    store is a dictionary look-up and only wildcard patterns are compared with many stores; the
    reach of each distinct resource element and the actions of each distinct action element are
    cached across identities.
    """

    def __init__(self, stores: Sequence[Store]) -> None:
        ids = [s.id for s in stores]
        if len(set(ids)) != len(ids):
            duplicated = sorted({i for i in ids if ids.count(i) > 1})
            raise ValueError(f"stores given twice: {', '.join(duplicated)}")
        # Each way into a store is analysed as a store of its own; results are merged by id.
        self._stores = tuple(facet for store in stores for facet in store.facets())
        self._spelling = {a.lower(): a for s in self._stores for a in s.read_actions}
        self._ids = [s.id for s in self._stores]
        self._actions = tuple(sorted({a.lower() for s in self._stores for a in s.read_actions}))
        with_action: dict[str, set[int]] = {a: set() for a in self._actions}
        by_account: dict[str, set[int]] = {}
        for index, store in enumerate(self._stores):
            for action in store.read_actions:
                with_action[action.lower()].add(index)
            by_account.setdefault(store.account, set()).add(index)
        self._with_action = {a: frozenset(s) for a, s in with_action.items()}
        self._by_account = {a: frozenset(s) for a, s in by_account.items()}
        self._contents = ContentIndex([s.content_arn for s in self._stores])
        self._policy_required = frozenset(i for i, s in enumerate(self._stores) if s.policy_required)
        self._statements = StatementCache(self._actions)
        self._resources = ResourcePolicyIndex(self._stores, self._actions, self._statements)

    # --- per identity ---------------------------------------------------------------------------

    def read_access(self, identity: Identity, *, how: bool = True, mfa: Mfa | None = None) -> Access:
        """The stores ``identity`` can read, those it reaches only by wildcard, and the conditions
        that could not be decided on the way; with ``how``, the actions allowed on each store
        (``Access.allowed``, for ``can_read_via``). With ``mfa``, for requests signed that way
        (conditions on MFA decided); without, those conditions stay undecided."""
        requester = _requester(identity, mfa)
        evidence = self._gather(identity, requester)
        own = self._by_account.get(identity.account, frozenset())
        readable: dict[str, set[int]] = {}
        sure: dict[str, set[int]] = {}
        named: dict[str, set[int]] = {}
        for action in self._actions:
            readable[action], sure[action], named[action] = self._decide(action, own, evidence)
        for action in self._actions:
            partly_denied = set().union(*(t.deny_part[action] for t in evidence.tallies)) & readable[action]
            for index in partly_denied:
                if self._denied_wherever_allowed(index, action, evidence.grants.get(index)):
                    readable[action].discard(index)
                    sure[action].discard(index)
        can_read: set[int] = set().union(*readable.values())
        certain: set[int] = set().union(*sure.values())
        by_name: set[int] = set().union(*(readable[a] & named[a] for a in self._actions))
        ids = self._stores
        surely = {ids[i].id for i in certain}
        undecided = {i for i in can_read - certain if ids[i].id not in surely}
        notes = self._notes(undecided, readable, evidence.grants)
        found = {ids[i].id for i in can_read}
        ids_of = self._ids
        allowed: dict[str, frozenset[str]] = {}
        for action, indices in readable.items() if how else ():
            if indices:
                allowed[self._spelling[action]] = frozenset(ids_of[i] for i in indices)
        return Access(
            can_read=tuple(sorted(found)),
            can_read_via_wildcard=tuple(sorted(found - {ids[i].id for i in by_name})),
            undecided_conditions=tuple(sorted(notes)),
            allowed=allowed,
        )

    def reads_mfa(self, identity: Identity) -> bool:
        """Some statement bearing on ``identity`` (its policies, its boundary, a resource policy)
        reads an MFA condition key: its reach may differ with and without MFA."""
        return self._resources.reads_mfa or any(
            reads_mfa(statement.conditions)
            for document in (*identity.policies, *((identity.boundary,) if identity.boundary else ()))
            for statement in document.statements
        )

    def _gather(self, identity: Identity, requester: Requester | None) -> Evidence:
        """Every grant that bears on the identity, tallied by source."""
        actions = self._actions
        own_tally = Tally.empty(actions)
        identity_grants: list[Grant] = []
        for number, document in enumerate(identity.policies):
            label = policy_label(document, f"identity policy #{number + 1}")
            for grant in self._document_grants(document, label, requester):
                own_tally.add(grant)
                identity_grants.append(grant)
        boundary: Tally | None = None
        if identity.boundary is not None:
            boundary = Tally.empty(actions)
            label = policy_label(identity.boundary, "permissions boundary")
            for grant in self._document_grants(identity.boundary, label, requester, limits_only=True):
                boundary.add(grant)
                identity_grants.append(grant)
        resource_grants = self._resources.grants_for(identity, requester, own_tally)
        free, bounded, delegated = Tally.empty(actions), Tally.empty(actions), Tally.empty(actions)
        for _, grant in resource_grants:
            (delegated if grant.delegated else bounded if grant.bounded else free).add(grant)
        grants = GrantsByStore(identity_grants, resource_grants, self._resources.by_store)
        shared = self._resources.delegated.get(identity.account)
        delegation = (delegated,) if shared is None else (delegated, shared)
        return Evidence(own_tally, boundary, free, bounded, self._resources.everyone, grants, delegation)

    def _decide(
        self, action: str, own: frozenset[int], evidence: Evidence
    ) -> tuple[set[int], set[int], set[int]]:
        """For one read action: the stores readable, those readable whatever the undecided
        conditions, and those reached by a grant naming them."""
        scope = self._with_action[action]
        identity, boundary, free, bounded, everyone = (
            evidence.identity,
            evidence.boundary,
            evidence.free,
            evidence.bounded,
            evidence.everyone,
        )
        bound_sure: AbstractSet[int] = scope if boundary is None else boundary.allow_sure[action]
        bound_maybe: AbstractSet[int] = scope if boundary is None else boundary.allow_maybe[action]
        own_sure = identity.allow_sure[action] & bound_sure
        own_maybe = identity.allow_maybe[action] & bound_maybe
        within_sure, within_maybe = own_sure, own_maybe
        required = self._policy_required
        if required:
            # Where the resource policy must allow, the identity's own Allow counts within the
            # account only where that policy delegates to it (names the account's root).
            delegated_sure = set().union(*(t.allow_sure[action] for t in evidence.delegated))
            delegated_maybe = set().union(*(t.allow_maybe[action] for t in evidence.delegated))
            within_sure = (own_sure - required) | (own_sure & delegated_sure)
            within_maybe = (own_maybe - required) | (own_maybe & delegated_maybe)
        free_sure = free.allow_sure[action] | everyone.allow_sure[action]
        free_maybe = free.allow_maybe[action] | everyone.allow_maybe[action]
        # Same account: the identity side or the resource policy; across accounts: both.
        same_sure = within_sure | free_sure | (bounded.allow_sure[action] & bound_sure)
        same_maybe = within_maybe | free_maybe | (bounded.allow_maybe[action] & bound_maybe)
        cross_sure = own_sure & (free_sure | bounded.allow_sure[action])
        cross_maybe = own_maybe & (free_maybe | bounded.allow_maybe[action])
        allow_sure = ((same_sure & own) | (cross_sure - own)) & scope
        allow_maybe = ((same_maybe & own) | (cross_maybe - own)) & scope
        deny_sure: set[int] = set().union(*(t.deny_sure[action] for t in evidence.tallies))
        deny_maybe: set[int] = set().union(*(t.deny_maybe[action] for t in evidence.tallies))
        named = identity.named[action] | free.named[action] | bounded.named[action]
        # Tally sets may be frozen (borrowed from a grant's reach): the caller gets its own.
        return set(allow_maybe - deny_sure), set(allow_sure - deny_sure - deny_maybe), set(named)

    def _document_grants(
        self, document: PolicyDocument, label: str, requester: Requester | None, *, limits_only: bool = False
    ) -> Iterable[Grant]:
        for number, statement in enumerate(document.statements):
            verdict = self._statements.verdict(statement, requester)
            if verdict.outcome is Outcome.NEVER:
                continue
            actions = self._statements.covered_actions(statement)
            if not actions:
                continue
            where = statement_label(statement, number)
            for patterns, negated, unresolved in resource_groups(statement, document, requester):
                grant = Grant(
                    effect=statement.effect,
                    actions=actions,
                    reach=NOWHERE,
                    verdict=verdict,
                    policy=label,
                    statement=where,
                    patterns=patterns,
                    negated=negated,
                    limits_only=limits_only,
                )
                yield self._place(grant, unresolved)

    def _place(self, grant: Grant, unresolved: tuple[str, ...]) -> Grant:
        """The identity-side grant with its reach over every store."""
        verdict = grant.verdict
        if unresolved:
            verdict = merge_verdicts(verdict, ConditionVerdict(Outcome.UNDECIDED, unresolved))
        if grant.patterns is None:  # no resource element in an identity policy: not valid IAM; read as '*'
            reach = self._contents.reach(("*",))
        elif grant.negated:
            excluded = self._contents.reach(grant.patterns)
            everything = self._contents.all
            reach = Reach(
                touches=everything - excluded.covers, named=frozenset(), covers=everything - excluded.touches
            )
        else:
            reach = self._contents.reach(grant.patterns)
        if unresolved and grant.effect == "Deny":
            # Where the variable leads is unknown: the Deny never removes access, but it is
            # reported for every store its pattern might cover.
            reach = Reach(touches=reach.touches, named=frozenset(), covers=reach.touches)
        return replace(grant, reach=reach, verdict=verdict)

    # --- partial denies and notes -------------------------------------------------------------------

    def _denied_wherever_allowed(self, index: int, action: str, grants: Iterable[Grant]) -> bool:
        """Every part of the store an Allow reaches is inside an unconditional Deny."""
        content = self._stores[index].content_arn
        regions: list[str] = []
        denies: list[Grant] = []
        for grant in grants:
            if action not in grant.actions or index not in grant.reach.touches:
                continue
            if grant.effect == "Deny":
                if not grant.undecided:
                    denies.append(grant)
            elif grant.limits_only:
                continue
            elif grant.patterns is None or grant.negated:
                regions.append(content)
            else:
                regions.extend(
                    p if glob_contains(content, p) else content
                    for p in grant.patterns
                    if globs_intersect(p, content)
                )
        return bool(regions) and all(any(deny_covers(d, r) for d in denies) for r in regions)

    def _notes(
        self, undecided: set[int], readable: Mapping[str, set[int]], grants: GrantsByStore
    ) -> set[str]:
        notes: set[str] = set()
        for index in undecided:
            store = self._stores[index]
            for grant in grants.get(index):
                if not grant.undecided:
                    continue
                relevant = grant.reach.touches if grant.effect == "Allow" else grant.reach.covers
                if index not in relevant:
                    continue
                if not any(index in readable[a] for a in grant.actions):
                    continue
                keys = ", ".join(grant.verdict.undecided_keys)
                notes.add(
                    f"{store.id}: {grant.effect} in {grant.policy}, {grant.statement}, depends on {keys}"
                )
        return notes


def _requester(identity: Identity, mfa: Mfa | None = None) -> Requester | None:
    resource = identity.arn.split(":", 5)[-1]
    if resource.startswith("user/"):
        return Requester(
            arn=identity.arn,
            account=identity.account,
            principal_type="User",
            username=resource.rsplit("/", 1)[-1],
            mfa=mfa,
        )
    if resource.startswith("role/"):
        return Requester(arn=identity.arn, account=identity.account, principal_type="AssumedRole", mfa=mfa)
    if mfa is not None:
        # A group never makes a request itself: its members do, as users. Conditions on the
        # principal stay undecided; those on MFA are decided for the way its members sign.
        return Requester(arn=identity.arn, account=identity.account, principal_type=None, mfa=mfa)
    return None


__all__ = [
    "Access",
    "AccessAnalyzer",
    "Identity",
    "PolicyDocument",
    "PolicySyntaxError",
    "Statement",
    "Store",
    "Trust",
    "analyse_trust",
    "denies_insecure_transport",
    "is_full_admin",
    "normalised_statements",
    "parse_policy",
    "public_grants",
]
