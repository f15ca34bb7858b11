"""Static analysis of AWS IAM policies: who can read which data store, who is trusted, what is public.

Nothing here calls AWS: the collector hands over parsed documents and gets back what the
normalised model needs. This module is the provider's one entry point: it also re-exports what
:mod:`policydoc` offers on single documents (parsing, normalised statements, full admin, trust,
public grants, the insecure-transport Deny).

Effective read access (:class:`AccessAnalyzer`) follows AWS's evaluation logic for one read request
on a store's content:

- an explicit Deny (identity policy, permissions boundary or resource policy) beats any Allow;
- within one account, an Allow in an identity policy (and in the permissions boundary, when there
  is one) or an Allow in the store's resource policy naming the identity grants access; across
  accounts both the identity side and the resource policy must allow;
- a resource policy naming the identity's own account root grants nothing by itself (it delegates
  to IAM); naming a role is still limited by the role's permissions boundary, naming a user or a
  role session is not; ``Principal: "*"`` grants every identity;
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

import json
import re
from bisect import bisect_left
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace

from phigate_providers.aws.arn import (
    glob_contains,
    globs_intersect,
    has_wildcard,
    literal_prefix,
    matches_everything,
)
from phigate_providers.aws.policydoc import (
    ConditionVerdict,
    Outcome,
    PolicyDocument,
    PolicySyntaxError,
    Requester,
    Statement,
    Trust,
    analyse_trust,
    denies_insecure_transport,
    depends_on_principal,
    evaluate_conditions,
    is_full_admin,
    normalised_statements,
    parse_policy,
    principal_key,
    principals_name_everyone,
    public_grants,
)

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_APPLIES = ConditionVerdict(Outcome.APPLIES)


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
    """

    id: str
    content_arn: str
    read_actions: frozenset[str]
    account: str
    resource_policy: PolicyDocument | None = None


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
    """

    can_read: tuple[str, ...]
    can_read_via_wildcard: tuple[str, ...]
    undecided_conditions: tuple[str, ...]

    def as_attributes(self) -> dict[str, list[str]]:
        """The ``principal`` kind's attributes ``can_read``, ``can_read_via_wildcard`` and
        ``undecided_conditions``."""
        return {"can_read": list(self.can_read), "can_read_via_wildcard": list(self.can_read_via_wildcard),
                "undecided_conditions": list(self.undecided_conditions)}


@dataclass(frozen=True, slots=True)
class _Reach:
    """Stores a resource element reaches, by index: ``touches`` some content ARN, ``named`` (the
    pattern lies within the store's content, i.e. names the store), ``covers`` all its content."""

    touches: frozenset[int]
    named: frozenset[int]
    covers: frozenset[int]


_NOWHERE = _Reach(frozenset(), frozenset(), frozenset())


@dataclass(frozen=True, slots=True)
class _Grant:
    """One statement as it applies to the stores: what a tally needs, and what notes need."""

    effect: str
    actions: frozenset[str]            # lower-cased read actions the statement covers
    reach: _Reach
    verdict: ConditionVerdict
    policy: str                        # for notes: which policy
    statement: str                     # for notes: which statement
    patterns: tuple[str, ...] | None   # the resource patterns as matched (variables resolved)
    negated: bool = False              # patterns come from NotResource
    bounded: bool = False              # a resource policy grant naming a role: the boundary limits it
    limits_only: bool = False          # from a permissions boundary: its Allows grant nothing alone

    @property
    def undecided(self) -> bool:
        return self.verdict.outcome is Outcome.UNDECIDED


@dataclass(slots=True)
class _Tally:
    """Per read action, the store indices allowed / denied by a set of grants."""

    allow_sure: dict[str, set[int]]
    allow_maybe: dict[str, set[int]]
    named: dict[str, set[int]]
    deny_sure: dict[str, set[int]]
    deny_maybe: dict[str, set[int]]
    deny_part: dict[str, set[int]]     # unconditional Denies touching part of a store's content

    @classmethod
    def empty(cls, actions: Iterable[str]) -> _Tally:
        names = tuple(actions)

        def per_action() -> dict[str, set[int]]:
            return {a: set() for a in names}
        return cls(per_action(), per_action(), per_action(), per_action(), per_action(), per_action())

    def add(self, grant: _Grant) -> None:
        reach = grant.reach
        for action in grant.actions:
            if grant.effect == "Allow":
                self.allow_maybe[action] |= reach.touches
                if not grant.undecided:
                    self.allow_sure[action] |= reach.touches
                self.named[action] |= reach.named
            elif grant.undecided:
                self.deny_maybe[action] |= reach.covers
            else:
                self.deny_sure[action] |= reach.covers
                self.deny_part[action] |= reach.touches - reach.covers


@dataclass(slots=True)
class _Lazy:
    """A resource policy statement to decide per identity (NotPrincipal, or conditions on the
    principal), with its reach on the store precomputed."""

    statement: Statement
    grant: _Grant    # its verdict holds only what indexing found (unresolved variables)
    signature: str   # the statement without its resources: stores stamped from one template share it


@dataclass(slots=True)
class _ResourceSide:
    """Resource policy statements of every store, arranged for quick per-identity look-up."""

    everyone: _Tally
    by_store: dict[int, list[_Grant]] = field(default_factory=dict)      # everyone-grants, for notes
    by_principal: dict[tuple[str, ...], list[tuple[int, _Grant]]] = field(default_factory=dict)
    lazy: dict[int, list[_Lazy]] = field(default_factory=dict)
    lazy_allow_stores: set[int] = field(default_factory=set)


@dataclass(slots=True)
class _Evidence:
    """What bears on one identity: tallies per source, and the grants for notes."""

    identity: _Tally
    boundary: _Tally | None
    free: _Tally       # resource policy grants a permissions boundary does not limit
    bounded: _Tally    # resource policy grants to a role, which its boundary limits
    everyone: _Tally   # resource policy grants and denies for everyone (shared by all identities)
    grants: _GrantsByStore

    @property
    def tallies(self) -> list[_Tally]:
        found = [self.identity, self.free, self.bounded, self.everyone]
        return found if self.boundary is None else [*found, self.boundary]


class AccessAnalyzer:
    """Effective read access of identities to a fixed set of stores.

    Build it once with every store (resource policies are indexed then); call :meth:`read_access`
    per identity. Stores are indexed by the literal part of their content ARN, so a grant naming a
    store is a dictionary look-up and only wildcard patterns are compared with many stores; the
    reach of each distinct resource element and the actions of each distinct action element are
    cached across identities.
    """

    def __init__(self, stores: Sequence[Store]) -> None:
        self._stores = tuple(stores)
        ids = [s.id for s in self._stores]
        if len(set(ids)) != len(ids):
            duplicated = sorted({i for i in ids if ids.count(i) > 1})
            raise ValueError(f"stores given twice: {', '.join(duplicated)}")
        self._all = frozenset(range(len(self._stores)))
        self._actions = tuple(sorted({a.lower() for s in self._stores for a in s.read_actions}))
        with_action: dict[str, set[int]] = {a: set() for a in self._actions}
        by_account: dict[str, set[int]] = {}
        self._literal: dict[str, list[int]] = {}
        self._prefixed: dict[str, list[int]] = {}
        self._general: list[int] = []
        for index, store in enumerate(self._stores):
            for action in store.read_actions:
                with_action[action.lower()].add(index)
            by_account.setdefault(store.account, set()).add(index)
            content = store.content_arn
            if not has_wildcard(content):
                self._literal.setdefault(content, []).append(index)
            elif content.endswith("*") and not has_wildcard(content[:-1]):
                self._prefixed.setdefault(content[:-1], []).append(index)
            else:
                self._general.append(index)
        self._with_action = {a: frozenset(s) for a, s in with_action.items()}
        self._by_account = {a: frozenset(s) for a, s in by_account.items()}
        self._prefix_lengths = sorted({len(p) for p in self._prefixed})
        general = set(self._general)
        ordered = sorted((s.content_arn, i) for i, s in enumerate(self._stores) if i not in general)
        self._sorted_contents = [c for c, _ in ordered]
        self._sorted_indices = [i for _, i in ordered]
        self._reach_cache: dict[tuple[str, ...], _Reach] = {}
        self._pattern_cache: dict[str, _Reach] = {}
        self._action_cache: dict[tuple[tuple[str, ...] | None, tuple[str, ...] | None], frozenset[str]] = {}
        self._verdict_cache: dict[Statement, ConditionVerdict] = {}
        self._resources = self._index_resource_policies()

    # --- per identity ---------------------------------------------------------------------------

    def read_access(self, identity: Identity) -> Access:
        """The stores ``identity`` can read, those it reaches only by wildcard, and the conditions
        that could not be decided on the way."""
        requester = _requester(identity)
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
        notes = self._notes(can_read - certain, readable, evidence.grants)
        ids = self._stores
        return Access(can_read=tuple(sorted(ids[i].id for i in can_read)),
                      can_read_via_wildcard=tuple(sorted(ids[i].id for i in can_read - by_name)),
                      undecided_conditions=tuple(sorted(notes)))

    def _gather(self, identity: Identity, requester: Requester | None) -> _Evidence:
        """Every grant that bears on the identity, tallied by source."""
        actions = self._actions
        own_tally = _Tally.empty(actions)
        identity_grants: list[_Grant] = []
        for number, document in enumerate(identity.policies):
            label = _policy_label(document, f"identity policy #{number + 1}")
            for grant in self._document_grants(document, label, requester):
                own_tally.add(grant)
                identity_grants.append(grant)
        boundary: _Tally | None = None
        if identity.boundary is not None:
            boundary = _Tally.empty(actions)
            label = _policy_label(identity.boundary, "permissions boundary")
            for grant in self._document_grants(identity.boundary, label, requester, limits_only=True):
                boundary.add(grant)
                identity_grants.append(grant)
        resource_grants = self._resource_grants(identity, requester, own_tally)
        free, bounded = _Tally.empty(actions), _Tally.empty(actions)
        for _, grant in resource_grants:
            (bounded if grant.bounded else free).add(grant)
        grants = _GrantsByStore(identity_grants, resource_grants, self._resources.by_store)
        return _Evidence(own_tally, boundary, free, bounded, self._resources.everyone, grants)

    def _decide(self, action: str, own: frozenset[int],
                evidence: _Evidence) -> tuple[set[int], set[int], set[int]]:
        """For one read action: the stores readable, those readable whatever the undecided
        conditions, and those reached by a grant naming them."""
        scope = self._with_action[action]
        identity, boundary, free, bounded, everyone = (evidence.identity, evidence.boundary, evidence.free,
                                                       evidence.bounded, evidence.everyone)
        bound_sure: AbstractSet[int] = scope if boundary is None else boundary.allow_sure[action]
        bound_maybe: AbstractSet[int] = scope if boundary is None else boundary.allow_maybe[action]
        own_sure = identity.allow_sure[action] & bound_sure
        own_maybe = identity.allow_maybe[action] & bound_maybe
        free_sure = free.allow_sure[action] | everyone.allow_sure[action]
        free_maybe = free.allow_maybe[action] | everyone.allow_maybe[action]
        # Same account: the identity side or the resource policy; across accounts: both.
        same_sure = own_sure | free_sure | (bounded.allow_sure[action] & bound_sure)
        same_maybe = own_maybe | free_maybe | (bounded.allow_maybe[action] & bound_maybe)
        cross_sure = own_sure & (free_sure | bounded.allow_sure[action])
        cross_maybe = own_maybe & (free_maybe | bounded.allow_maybe[action])
        allow_sure = ((same_sure & own) | (cross_sure - own)) & scope
        allow_maybe = ((same_maybe & own) | (cross_maybe - own)) & scope
        deny_sure: set[int] = set().union(*(t.deny_sure[action] for t in evidence.tallies))
        deny_maybe: set[int] = set().union(*(t.deny_maybe[action] for t in evidence.tallies))
        named = identity.named[action] | free.named[action] | bounded.named[action]
        return allow_maybe - deny_sure, allow_sure - deny_sure - deny_maybe, named

    def _document_grants(self, document: PolicyDocument, label: str, requester: Requester | None,
                         *, limits_only: bool = False) -> Iterable[_Grant]:
        for number, statement in enumerate(document.statements):
            verdict = self._verdict(statement, requester)
            if verdict.outcome is Outcome.NEVER:
                continue
            actions = self._covered_actions(statement)
            if not actions:
                continue
            where = _statement_label(statement, number)
            for patterns, negated, unresolved in _resource_groups(statement, document, requester):
                grant = _Grant(effect=statement.effect, actions=actions, reach=_NOWHERE, verdict=verdict,
                               policy=label, statement=where, patterns=patterns, negated=negated,
                               limits_only=limits_only)
                yield self._place(grant, unresolved)

    def _place(self, grant: _Grant, unresolved: tuple[str, ...]) -> _Grant:
        """The identity-side grant with its reach over every store."""
        verdict = grant.verdict
        if unresolved:
            verdict = _merge(verdict, ConditionVerdict(Outcome.UNDECIDED, unresolved))
        if grant.patterns is None:  # no resource element in an identity policy: not valid IAM; read as '*'
            reach = self._reach(("*",))
        elif grant.negated:
            excluded = self._reach(grant.patterns)
            reach = _Reach(touches=self._all - excluded.covers, named=frozenset(),
                           covers=self._all - excluded.touches)
        else:
            reach = self._reach(grant.patterns)
        if unresolved and grant.effect == "Deny":
            # Where the variable leads is unknown: the Deny never removes access, but it is
            # reported for every store its pattern might cover.
            reach = _Reach(touches=reach.touches, named=frozenset(), covers=reach.touches)
        return replace(grant, reach=reach, verdict=verdict)

    def _verdict(self, statement: Statement, requester: Requester | None) -> ConditionVerdict:
        if not statement.conditions:
            return _APPLIES
        if depends_on_principal(statement.conditions):
            return evaluate_conditions(statement, requester)
        verdict = self._verdict_cache.get(statement)
        if verdict is None:
            verdict = self._verdict_cache[statement] = evaluate_conditions(statement, None)
        return verdict

    def _covered_actions(self, statement: Statement) -> frozenset[str]:
        key = (statement.actions, statement.not_actions)
        covered = self._action_cache.get(key)
        if covered is None:
            covered = frozenset(a for a in self._actions if statement.covers_action(a))
            self._action_cache[key] = covered
        return covered

    # --- reach of resource patterns ---------------------------------------------------------------

    def _reach(self, patterns: tuple[str, ...]) -> _Reach:
        reach = self._reach_cache.get(patterns)
        if reach is None:
            parts = [self._pattern_reach(p) for p in patterns]
            if len(parts) == 1:
                reach = parts[0]
            else:
                reach = _Reach(touches=frozenset().union(*(p.touches for p in parts)),
                               named=frozenset().union(*(p.named for p in parts)),
                               covers=frozenset().union(*(p.covers for p in parts)))
            self._reach_cache[patterns] = reach
        return reach

    def _pattern_reach(self, pattern: str) -> _Reach:
        reach = self._pattern_cache.get(pattern)
        if reach is None:
            if matches_everything(pattern):
                reach = _Reach(self._all, frozenset(), self._all)
            else:
                touches: set[int] = set()
                named: set[int] = set()
                covers: set[int] = set()
                self._stores_naming(pattern, touches, named, covers)
                if has_wildcard(pattern):
                    self._stores_by_wildcard(pattern, touches, covers)
                self._stores_of_other_shapes(pattern, touches, named, covers)
                reach = _Reach(frozenset(touches), frozenset(named), frozenset(covers))
            self._pattern_cache[pattern] = reach
        return reach

    def _stores_naming(self, pattern: str, touches: set[int], named: set[int], covers: set[int]) -> None:
        """Stores the pattern names: a literal content ARN equal to it, or a content ``P*`` whose
        ``P`` starts the pattern's literal head (every ARN the pattern matches is then the store's)."""
        head = literal_prefix(pattern)
        for length in self._prefix_lengths:
            if length > len(head):
                break
            for index in self._prefixed.get(head[:length], ()):
                touches.add(index)
                named.add(index)
                if glob_contains(pattern, self._stores[index].content_arn):
                    covers.add(index)
        for index in self._literal.get(pattern, ()):
            touches.add(index)
            named.add(index)
            covers.add(index)

    def _stores_by_wildcard(self, pattern: str, touches: set[int], covers: set[int]) -> None:
        """Stores the pattern reaches through a wildcard standing for (part of) their name: their
        content starts with the pattern's literal head, a contiguous range of the sorted contents."""
        head = literal_prefix(pattern)
        contents, indices = self._sorted_contents, self._sorted_indices
        position = bisect_left(contents, head)
        while position < len(contents) and contents[position].startswith(head):
            index, content = indices[position], contents[position]
            position += 1
            if index not in touches and globs_intersect(pattern, content):
                touches.add(index)
                if glob_contains(pattern, content):
                    covers.add(index)

    def _stores_of_other_shapes(self, pattern: str, touches: set[int], named: set[int],
                                covers: set[int]) -> None:
        """Stores whose content ARN has wildcards elsewhere than at its end: compared one by one."""
        for index in self._general:
            content = self._stores[index].content_arn
            if globs_intersect(pattern, content):
                touches.add(index)
                if glob_contains(content, pattern):
                    named.add(index)
                if glob_contains(pattern, content):
                    covers.add(index)

    # --- resource policies ------------------------------------------------------------------------

    def _index_resource_policies(self) -> _ResourceSide:
        side = _ResourceSide(everyone=_Tally.empty(self._actions))
        for index, store in enumerate(self._stores):
            document = store.resource_policy
            if document is None:
                continue
            label = _policy_label(document, f"resource policy of {store.id}")
            store_actions = frozenset(a.lower() for a in store.read_actions)
            for number, statement in enumerate(document.statements):
                actions = self._covered_actions(statement) & store_actions
                if not actions:
                    continue
                where = _statement_label(statement, number)
                for patterns, negated, unresolved in _resource_groups(statement, document, None):
                    grant = _Grant(effect=statement.effect, actions=actions, reach=_NOWHERE,
                                   verdict=_APPLIES, policy=label, statement=where, patterns=patterns,
                                   negated=negated)
                    placed = self._place_on_store(index, grant, unresolved)
                    if placed is not None:
                        self._file_resource_grant(side, index, statement, placed)
        return side

    def _place_on_store(self, index: int, grant: _Grant, unresolved: tuple[str, ...]) -> _Grant | None:
        """A resource policy grant with its reach on its own store; None when it misses the content."""
        content = self._stores[index].content_arn
        patterns = grant.patterns
        if patterns is None:  # a resource policy statement without Resource: its own resource
            touches = named = covers = True
        elif grant.negated:
            touches = not any(glob_contains(p, content) for p in patterns)
            named = False
            covers = not any(globs_intersect(p, content) for p in patterns)
        else:
            touches = any(globs_intersect(p, content) for p in patterns)
            named = any(glob_contains(content, p) for p in patterns)
            covers = any(glob_contains(p, content) for p in patterns)
        if not touches:
            return None
        verdict = grant.verdict
        if unresolved:
            verdict = ConditionVerdict(Outcome.UNDECIDED, unresolved)
            covers = covers or grant.effect == "Deny"  # reported, never denying
        only = frozenset({index})
        reach = _Reach(only, only if named else frozenset(), only if covers else frozenset())
        return replace(grant, reach=reach, verdict=verdict)

    def _file_resource_grant(self, side: _ResourceSide, index: int, statement: Statement,
                             grant: _Grant) -> None:
        needs_principal = statement.not_principals is not None or depends_on_principal(statement.conditions)
        if needs_principal:
            if statement.not_principals is not None or statement.names_everyone():
                grant = replace(grant, reach=_Reach(grant.reach.touches, frozenset(), grant.reach.covers))
            signature = json.dumps([statement.effect, statement.principals, statement.not_principals,
                                    statement.conditions], sort_keys=True)
            side.lazy.setdefault(index, []).append(_Lazy(statement, grant, signature))
            if statement.effect == "Allow":
                side.lazy_allow_stores.add(index)
            return
        verdict = self._verdict(statement, None)
        if verdict.outcome is Outcome.NEVER:
            return
        grant = replace(grant, verdict=_merge(verdict, grant.verdict))
        if statement.names_everyone():
            # A grant to everyone is a wildcard grant: it names no identity.
            grant = replace(grant, reach=_Reach(grant.reach.touches, frozenset(), grant.reach.covers))
            side.everyone.add(grant)
            side.by_store.setdefault(index, []).append(grant)
            return
        for principal in (statement.principals or {}).get("AWS", ()):
            key = principal_key(principal)
            filed = replace(grant, bounded=True) if key[0] == "role" else grant
            side.by_principal.setdefault(key, []).append((index, filed))

    def _resource_grants(self, identity: Identity, requester: Requester | None,
                         identity_tally: _Tally) -> list[tuple[int, _Grant]]:
        """Resource policy grants that apply to ``identity``, with the store each is on."""
        side = self._resources
        found: list[tuple[int, _Grant]] = []
        seen: set[tuple[int, int]] = set()
        for key in _identity_keys(identity):
            for index, grant in side.by_principal.get(key, ()):
                own_account = self._stores[index].account == identity.account
                if key[0] == "account" and grant.effect == "Allow" and own_account:
                    continue  # the own account's root delegates to IAM: no grant by itself
                if (index, id(grant)) not in seen:
                    seen.add((index, id(grant)))
                    found.append((index, grant))
        if side.lazy:
            candidates = set(side.lazy_allow_stores)
            for action in self._actions:
                candidates |= identity_tally.allow_maybe[action]
                candidates |= side.everyone.allow_maybe[action]
            candidates |= {index for index, _ in found}
            found.extend(self._lazy_grants(identity, requester, candidates & side.lazy.keys()))
        return found

    def _lazy_grants(self, identity: Identity, requester: Requester | None,
                     stores: Iterable[int]) -> Iterable[tuple[int, _Grant]]:
        """The statements needing the principal, decided for ``identity`` on ``stores``; a
        decision is shared by the stores whose statements differ only by their resources."""
        decisions: dict[tuple[str, bool], tuple[ConditionVerdict, bool] | None] = {}
        for index in stores:
            same_account = self._stores[index].account == identity.account
            for lazy in self._resources.lazy[index]:
                signature = (lazy.signature, same_account)
                if signature not in decisions:
                    decisions[signature] = _lazy_decision(lazy.statement, identity, requester, same_account)
                decision = decisions[signature]
                if decision is None:
                    continue
                verdict, bounded = decision
                grant = lazy.grant
                if bounded or verdict.outcome is not Outcome.APPLIES or grant.undecided:
                    grant = replace(grant, verdict=_merge(verdict, grant.verdict), bounded=bounded)
                yield index, grant

    # --- partial denies and notes -------------------------------------------------------------------

    def _denied_wherever_allowed(self, index: int, action: str, grants: Iterable[_Grant]) -> bool:
        """Every part of the store an Allow reaches is inside an unconditional Deny."""
        content = self._stores[index].content_arn
        regions: list[str] = []
        denies: list[_Grant] = []
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
                regions.extend(p if glob_contains(content, p) else content
                               for p in grant.patterns if globs_intersect(p, content))
        return bool(regions) and all(any(_deny_covers(d, r) for d in denies) for r in regions)

    def _notes(self, undecided: set[int], readable: Mapping[str, set[int]],
               grants: _GrantsByStore) -> set[str]:
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
                notes.add(f"{store.id}: {grant.effect} in {grant.policy}, {grant.statement}, "
                          f"depends on {keys}")
        return notes


def _lazy_decision(statement: Statement, identity: Identity, requester: Requester | None,
                   same_account: bool) -> tuple[ConditionVerdict, bool] | None:
    """Whether a resource policy statement needing the principal applies to ``identity``: None
    when it does not, else its verdict and whether the identity's boundary limits it."""
    keys = set(_identity_keys(identity))
    own_account = ("account", identity.account)
    extra: tuple[str, ...] = ()
    bounded = False
    if statement.not_principals is not None:
        listed = {principal_key(p) for p in statement.not_principals.get("AWS", ())}
        everyone_listed = principals_name_everyone(statement.not_principals)
        identity_listed = bool(keys & (listed - {own_account})) or everyone_listed
        account_listed = own_account in listed or everyone_listed
        if statement.effect == "Allow":
            if identity_listed or account_listed:
                return None
        elif identity.boundary is not None:
            pass  # AWS: a Deny with NotPrincipal always denies a principal that has a boundary
        elif identity_listed and account_listed:
            return None
        elif identity_listed:
            # AWS documents that the account must be listed too, else the Deny "may" apply to
            # the whole account: not plain enough to decide either way.
            extra = ("NotPrincipal lists the identity but not its account",)
        # Listing the account alone exempts no one in it: the principal is checked as well.
    elif not statement.names_everyone():
        matched = keys & {principal_key(p) for p in (statement.principals or {}).get("AWS", ())}
        if statement.effect == "Allow" and same_account:
            matched.discard(own_account)  # the own account's root delegates to IAM
        if not matched:
            return None
        bounded = all(key[0] == "role" for key in matched)
    verdict = evaluate_conditions(statement, requester)
    if verdict.outcome is Outcome.NEVER:
        return None
    if extra:
        verdict = _merge(verdict, ConditionVerdict(Outcome.UNDECIDED, extra))
    return verdict, bounded


class _GrantsByStore:
    """The grants that bear on one store, found on demand: identity grants are shared by many
    stores, resource policy grants belong to one."""

    def __init__(self, identity_grants: list[_Grant], resource_grants: list[tuple[int, _Grant]],
                 everyone_by_store: Mapping[int, list[_Grant]]) -> None:
        self._identity = identity_grants
        self._everyone = everyone_by_store
        self._resource: dict[int, list[_Grant]] = {}
        for index, grant in resource_grants:
            self._resource.setdefault(index, []).append(grant)

    def get(self, index: int) -> list[_Grant]:
        found = [g for g in self._identity if index in g.reach.touches or index in g.reach.covers]
        return found + self._resource.get(index, []) + self._everyone.get(index, [])


def _deny_covers(deny: _Grant, region: str) -> bool:
    if deny.patterns is None:
        return True
    if deny.negated:
        return not any(globs_intersect(p, region) for p in deny.patterns)
    return any(glob_contains(p, region) for p in deny.patterns)


def _merge(first: ConditionVerdict, second: ConditionVerdict) -> ConditionVerdict:
    """Both sets of conditions must hold (neither is NEVER here)."""
    if not first.undecided_keys and not second.undecided_keys:
        return _APPLIES
    keys = {*first.undecided_keys, *second.undecided_keys}
    return ConditionVerdict(Outcome.UNDECIDED, tuple(sorted(keys))) if keys else _APPLIES


def _policy_label(document: PolicyDocument, fallback: str) -> str:
    return f"policy {document.name!r}" if document.name else fallback


def _statement_label(statement: Statement, number: int) -> str:
    return f"statement {statement.sid!r}" if statement.sid else f"statement #{number + 1}"


def _resource_groups(statement: Statement, document: PolicyDocument, requester: Requester | None
                     ) -> Iterable[tuple[tuple[str, ...] | None, bool, tuple[str, ...]]]:
    """The statement's resource patterns as (patterns, negated, unresolved variables).

    With policy variables (Version 2012-10-17), the ones known for the requester are substituted;
    a pattern with an unknown one is matched with ``*`` in its place and kept apart, so that only
    its own grant is undecided.
    """
    negated = statement.resources is None and statement.not_resources is not None
    patterns = statement.resources if statement.resources is not None else statement.not_resources
    if patterns is None:
        yield None, False, ()
        return
    if not document.substitutes_variables or not any("${" in p for p in patterns):
        yield patterns, negated, ()
        return
    known: list[str] = []
    unknown: list[str] = []
    variables: set[str] = set()
    for pattern in patterns:
        resolved, missing = _substitute(pattern, requester)
        (unknown if missing else known).append(resolved)
        variables.update(missing)
    if negated and unknown:
        # What a NotResource excludes is unknown: the statement may reach any store (undecided,
        # so an Allow counts as possible access and a Deny is reported, never applied).
        yield ("*",), False, tuple(sorted(variables))
        return
    if known:
        yield tuple(known), negated, ()
    if unknown:
        yield tuple(unknown), negated, tuple(sorted(variables))


def _substitute(pattern: str, requester: Requester | None) -> tuple[str, list[str]]:
    missing: list[str] = []

    def value(match: re.Match[str]) -> str:
        name = match.group(1).split(",", 1)[0].strip()
        lowered = name.lower()
        if lowered == "$":
            return "$"
        if requester is not None:
            known = {"aws:username": requester.username, "aws:principalaccount": requester.account,
                     "aws:principaltype": requester.principal_type}.get(lowered)
            if known:
                return known
        missing.append(f"${{{name}}}")
        return "*"
    return _VARIABLE.sub(value, pattern), missing


def _requester(identity: Identity) -> Requester | None:
    resource = identity.arn.split(":", 5)[-1]
    if resource.startswith("user/"):
        return Requester(arn=identity.arn, account=identity.account, principal_type="User",
                         username=resource.rsplit("/", 1)[-1])
    if resource.startswith("role/"):
        return Requester(arn=identity.arn, account=identity.account, principal_type="AssumedRole")
    return None  # a group never makes a request itself: conditions on the principal stay undecided


def _identity_keys(identity: Identity) -> list[tuple[str, ...]]:
    keys: list[tuple[str, ...]] = [("arn", identity.arn), ("account", identity.account)]
    key = principal_key(identity.arn)
    if key[0] == "role":
        # A role is matched by its ARN (any path) and by the ARN of any of its sessions.
        keys += [key, ("session", key[1], key[2])]
    return keys


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
