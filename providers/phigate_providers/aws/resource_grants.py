"""Resource policies of every store, indexed once so that each identity's grants are quick to find.

Part of :class:`~phigate_providers.aws.access.AccessAnalyzer`: a resource policy belongs to one store,
so its statements are placed on that store when the analyser is built and filed by the principal
they name. A statement that needs the principal to be decided (a NotPrincipal, or conditions on
``aws:PrincipalArn`` …) is deferred and decided per identity, once for every store stamped from the
same template. AWS's rules on principals live here: the own account's root delegates to IAM and
grants nothing by itself; a grant naming a role is limited by the role's permissions boundary.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from phigate_providers.aws.arn import glob_contains, globs_intersect
from phigate_providers.aws.conditions import (
    ConditionVerdict,
    Outcome,
    Requester,
    depends_on_principal,
    evaluate_conditions,
    reads_mfa,
)
from phigate_providers.aws.grants import (
    APPLIES,
    Grant,
    StatementCache,
    Tally,
    merge_verdicts,
    policy_label,
    resource_groups,
    statement_label,
)
from phigate_providers.aws.policydoc import Statement, principal_key, principals_name_everyone
from phigate_providers.aws.reach import NOWHERE, Reach

if TYPE_CHECKING:  # the analyser's public inputs; access imports this module
    from phigate_providers.aws.access import Identity, Store


@dataclass(slots=True)
class _DeferredStatement:
    """A resource policy statement to decide per identity (NotPrincipal, or conditions on the
    principal), with its reach on the store precomputed."""

    statement: Statement
    grant: Grant  # its verdict holds only what indexing found (unresolved variables)
    signature: str  # the statement without its resources: stores stamped from one template share it


class ResourcePolicyIndex:
    """Resource policy statements of every store, arranged for quick per-identity look-up.

    ``everyone`` tallies the grants and denies for everyone (shared by all identities);
    ``delegated`` tallies, per account, the Allows to that account's root on its own stores whose
    resource policy must allow (shared by the account's identities); ``by_store`` keeps both
    kinds of grants per store, for notes.
    """

    def __init__(self, stores: Sequence[Store], actions: tuple[str, ...], statements: StatementCache) -> None:
        self._stores = stores
        self._statements = statements
        self._actions = actions
        self.everyone = Tally.empty(actions)
        self.delegated: dict[str, Tally] = {}
        self.by_store: dict[int, list[Grant]] = {}
        self._by_principal: dict[tuple[str, ...], list[tuple[int, Grant]]] = {}
        self._deferred: dict[int, list[_DeferredStatement]] = {}
        self._deferred_allow_stores: set[int] = set()
        #: Some statement reads an MFA condition key (reach then differs with and without MFA).
        self.reads_mfa = False
        self._index()

    def _index(self) -> None:
        """Places every resource policy statement on its own store and files it for look-up."""
        for index, store in enumerate(self._stores):
            document = store.resource_policy
            if document is None:
                continue
            label = policy_label(document, f"resource policy of {store.id}")
            store_actions = frozenset(a.lower() for a in store.read_actions)
            for number, statement in enumerate(document.statements):
                actions = self._statements.covered_actions(statement) & store_actions
                if not actions:
                    continue
                where = statement_label(statement, number)
                for patterns, negated, unresolved in resource_groups(statement, document, None):
                    grant = Grant(
                        effect=statement.effect,
                        actions=actions,
                        reach=NOWHERE,
                        verdict=APPLIES,
                        policy=label,
                        statement=where,
                        patterns=patterns,
                        negated=negated,
                    )
                    placed = self._place_on_store(index, grant, unresolved)
                    if placed is not None:
                        self._file(index, statement, placed)

    def _place_on_store(self, index: int, grant: Grant, unresolved: tuple[str, ...]) -> Grant | None:
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
        reach = Reach(only, only if named else frozenset(), only if covers else frozenset())
        return replace(grant, reach=reach, verdict=verdict)

    def _file(self, index: int, statement: Statement, grant: Grant) -> None:
        """Files the grant where per-identity look-up finds it: by principal, for everyone, or
        deferred when it needs the principal."""
        needs_principal = statement.not_principals is not None or depends_on_principal(statement.conditions)
        self.reads_mfa = self.reads_mfa or reads_mfa(statement.conditions)
        if needs_principal:
            if statement.not_principals is not None or statement.names_everyone():
                grant = replace(grant, reach=Reach(grant.reach.touches, frozenset(), grant.reach.covers))
            signature = json.dumps(
                [statement.effect, statement.principals, statement.not_principals, statement.conditions],
                sort_keys=True,
            )
            self._deferred.setdefault(index, []).append(_DeferredStatement(statement, grant, signature))
            if statement.effect == "Allow":
                self._deferred_allow_stores.add(index)
            return
        verdict = self._statements.verdict(statement, None)
        if verdict.outcome is Outcome.NEVER:
            return
        grant = replace(grant, verdict=merge_verdicts(verdict, grant.verdict))
        if statement.names_everyone():
            # A grant to everyone is a wildcard grant: it names no identity.
            grant = replace(grant, reach=Reach(grant.reach.touches, frozenset(), grant.reach.covers))
            self.everyone.add(grant)
            self.by_store.setdefault(index, []).append(grant)
            return
        store = self._stores[index]
        for principal in (statement.principals or {}).get("AWS", ()):
            key = principal_key(principal)
            if key == ("account", store.account) and grant.effect == "Allow":
                # The own account's root delegates to IAM: no grant by itself, but where the
                # resource policy must allow (a trust), it lets the identity's Allow count.
                if store.policy_required:
                    delegated = replace(grant, delegated=True)
                    self.delegated.setdefault(store.account, Tally.empty(self._actions)).add(delegated)
                    self.by_store.setdefault(index, []).append(delegated)
                continue
            filed = replace(grant, bounded=True) if key[0] == "role" else grant
            self._by_principal.setdefault(key, []).append((index, filed))

    def grants_for(
        self, identity: Identity, requester: Requester | None, identity_tally: Tally
    ) -> list[tuple[int, Grant]]:
        """Resource policy grants that apply to ``identity``, with the store each is on.

        ``identity_tally`` (the identity's own grants) narrows the stores on which deferred
        statements are decided to those the identity might read anyway.
        """
        found: list[tuple[int, Grant]] = []
        seen: set[tuple[int, int]] = set()
        for key in _identity_keys(identity):
            for index, grant in self._by_principal.get(key, ()):
                if (index, id(grant)) not in seen:
                    seen.add((index, id(grant)))
                    found.append((index, grant))
        if self._deferred:
            candidates = set(self._deferred_allow_stores)
            for action in self._actions:
                candidates |= identity_tally.allow_maybe[action]
                candidates |= self.everyone.allow_maybe[action]
            candidates |= {index for index, _ in found}
            found.extend(self._deferred_grants(identity, requester, candidates & self._deferred.keys()))
        return found

    def _deferred_grants(
        self, identity: Identity, requester: Requester | None, stores: Iterable[int]
    ) -> Iterable[tuple[int, Grant]]:
        """The statements needing the principal, decided for ``identity`` on ``stores``; a
        decision is shared by the stores whose statements differ only by their resources."""
        decisions: dict[tuple[str, bool, bool], tuple[ConditionVerdict, bool, bool] | None] = {}
        for index in stores:
            same_account = self._stores[index].account == identity.account
            for deferred in self._deferred[index]:
                required = self._stores[index].policy_required
                key = (deferred.signature, same_account, required)
                if key not in decisions:
                    decisions[key] = _deferred_decision(
                        deferred.statement, identity, requester, same_account, required
                    )
                decision = decisions[key]
                if decision is None:
                    continue
                verdict, bounded, delegated = decision
                grant = deferred.grant
                if bounded or delegated or verdict.outcome is not Outcome.APPLIES or grant.undecided:
                    verdict = merge_verdicts(verdict, grant.verdict)
                    grant = replace(grant, verdict=verdict, bounded=bounded, delegated=delegated)
                yield index, grant


def _deferred_decision(
    statement: Statement, identity: Identity, requester: Requester | None, same_account: bool, required: bool
) -> tuple[ConditionVerdict, bool, bool] | None:
    """Whether a resource policy statement needing the principal applies to ``identity``: None
    when it does not, else its verdict, whether the identity's boundary limits it, and whether
    it only delegates to the identity's policies (the own account's root, where the resource
    policy must allow)."""
    keys = set(_identity_keys(identity))
    own_account = ("account", identity.account)
    extra: tuple[str, ...] = ()
    bounded = delegated = False
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
        if statement.effect == "Allow" and same_account and own_account in matched:
            matched.discard(own_account)  # the own account's root delegates to IAM
            delegated = required and not matched
            if delegated:
                matched = {own_account}
        if not matched:
            return None
        bounded = not delegated and all(key[0] == "role" for key in matched)
    verdict = evaluate_conditions(statement, requester)
    if verdict.outcome is Outcome.NEVER:
        return None
    if extra:
        verdict = merge_verdicts(verdict, ConditionVerdict(Outcome.UNDECIDED, extra))
    return verdict, bounded, delegated


def _identity_keys(identity: Identity) -> list[tuple[str, ...]]:
    """The keys (see :func:`principal_key`) under which a resource policy may name ``identity``."""
    keys: list[tuple[str, ...]] = [("arn", identity.arn), ("account", identity.account)]
    key = principal_key(identity.arn)
    if key[0] == "role":
        # A role is matched by its ARN (any path) and by the ARN of any of its sessions.
        keys += [key, ("session", key[1], key[2])]
    return keys


__all__ = ["ResourcePolicyIndex"]
