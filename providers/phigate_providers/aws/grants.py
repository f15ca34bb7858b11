"""Grants: policy statements as they bear on a set of stores, and the tallies access is decided from.

The working parts of :class:`~phigate_providers.aws.access.AccessAnalyzer`, kept apart so that the
analyser reads as AWS's evaluation logic: a :class:`Grant` is one statement (or one group of its
resource patterns) with the stores it reaches and its condition verdict; a :class:`Tally` sums
grants per read action; :class:`Evidence` is everything that bears on one identity. Policy
variables in Resource elements are resolved here (:func:`resource_groups`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from phigate_providers.aws.arn import glob_contains, globs_intersect
from phigate_providers.aws.conditions import (
    ConditionVerdict,
    Outcome,
    Requester,
    depends_on_principal,
    evaluate_conditions,
)
from phigate_providers.aws.policydoc import PolicyDocument, Statement
from phigate_providers.aws.reach import Reach

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
APPLIES = ConditionVerdict(Outcome.APPLIES)


@dataclass(frozen=True, slots=True)
class Grant:
    """One statement as it applies to the stores: what a tally needs, and what notes need."""

    effect: str
    actions: frozenset[str]  # lower-cased read actions the statement covers
    reach: Reach
    verdict: ConditionVerdict
    policy: str  # for notes: which policy
    statement: str  # for notes: which statement
    patterns: tuple[str, ...] | None  # the resource patterns as matched (variables resolved)
    negated: bool = False  # patterns come from NotResource
    bounded: bool = False  # a resource policy grant naming a role: the boundary limits it
    limits_only: bool = False  # from a permissions boundary: its Allows grant nothing alone
    delegated: bool = False  # a resource policy Allow to the own account's root (delegates to IAM)

    @property
    def undecided(self) -> bool:
        return self.verdict.outcome is Outcome.UNDECIDED


Indices = set[int] | frozenset[int]


@dataclass(slots=True)
class Tally:
    """Per read action, the store indices allowed / denied by a set of grants.

    A set is the first grant's own (frozen) reach until a second grant adds to it: a grant
    reaching thousands of stores (``Resource: *``) is not copied once per action.
    """

    allow_sure: dict[str, Indices]
    allow_maybe: dict[str, Indices]
    named: dict[str, Indices]
    deny_sure: dict[str, Indices]
    deny_maybe: dict[str, Indices]
    deny_part: dict[str, Indices]  # unconditional Denies touching part of a store's content

    @classmethod
    def empty(cls, actions: Iterable[str]) -> Tally:
        names = tuple(actions)

        def per_action() -> dict[str, Indices]:
            return dict.fromkeys(names, _NONE)

        return cls(per_action(), per_action(), per_action(), per_action(), per_action(), per_action())

    def add(self, grant: Grant) -> None:
        reach = grant.reach
        for action in grant.actions:
            if grant.effect == "Allow":
                _join(self.allow_maybe, action, reach.touches)
                if not grant.undecided:
                    _join(self.allow_sure, action, reach.touches)
                _join(self.named, action, reach.named)
            elif grant.undecided:
                _join(self.deny_maybe, action, reach.covers)
            else:
                _join(self.deny_sure, action, reach.covers)
                _join(self.deny_part, action, reach.touches - reach.covers)


_NONE: frozenset[int] = frozenset()


def _join(sets: dict[str, Indices], action: str, more: frozenset[int]) -> None:
    if not more:
        return
    current = sets[action]
    if not current:
        sets[action] = more  # borrowed: copied before it is ever changed
    elif isinstance(current, frozenset):
        sets[action] = set(current) | more
    else:
        current |= more


@dataclass(slots=True)
class Evidence:
    """What bears on one identity: tallies per source, and the grants for notes."""

    identity: Tally
    boundary: Tally | None
    free: Tally  # resource policy grants a permissions boundary does not limit
    bounded: Tally  # resource policy grants to a role, which its boundary limits
    everyone: Tally  # resource policy grants and denies for everyone (shared by all identities)
    grants: GrantsByStore
    #: Allows of the own account's root on stores whose resource policy must allow (trusts).
    delegated: tuple[Tally, ...] = ()

    @property
    def tallies(self) -> list[Tally]:
        found = [self.identity, self.free, self.bounded, self.everyone]
        return found if self.boundary is None else [*found, self.boundary]


class GrantsByStore:
    """The grants that bear on one store, found on demand: identity grants are shared by many
    stores, resource policy grants belong to one."""

    def __init__(
        self,
        identity_grants: list[Grant],
        resource_grants: list[tuple[int, Grant]],
        everyone_by_store: Mapping[int, list[Grant]],
    ) -> None:
        self._identity = identity_grants
        self._everyone = everyone_by_store
        self._resource: dict[int, list[Grant]] = {}
        for index, grant in resource_grants:
            self._resource.setdefault(index, []).append(grant)

    def get(self, index: int) -> list[Grant]:
        found = [g for g in self._identity if index in g.reach.touches or index in g.reach.covers]
        return found + self._resource.get(index, []) + self._everyone.get(index, [])


class StatementCache:
    """What a statement says of the read actions in question, cached across identities: the actions
    it covers, and the verdict of conditions that do not depend on the principal."""

    def __init__(self, actions: tuple[str, ...]) -> None:
        self._actions = actions
        self._action_cache: dict[tuple[tuple[str, ...] | None, tuple[str, ...] | None], frozenset[str]] = {}
        self._verdict_cache: dict[Statement, ConditionVerdict] = {}

    def verdict(self, statement: Statement, requester: Requester | None) -> ConditionVerdict:
        """The statement's conditions decided for ``requester`` (None: a requester not known)."""
        if not statement.conditions:
            return APPLIES
        if depends_on_principal(statement.conditions):
            return evaluate_conditions(statement, requester)
        verdict = self._verdict_cache.get(statement)
        if verdict is None:
            verdict = self._verdict_cache[statement] = evaluate_conditions(statement, None)
        return verdict

    def covered_actions(self, statement: Statement) -> frozenset[str]:
        """The lower-cased read actions the statement's Action or NotAction element applies to."""
        key = (statement.actions, statement.not_actions)
        covered = self._action_cache.get(key)
        if covered is None:
            covered = frozenset(a for a in self._actions if statement.covers_action(a))
            self._action_cache[key] = covered
        return covered


def deny_covers(deny: Grant, region: str) -> bool:
    """The unconditional Deny applies to every ARN of ``region`` (a content ARN or a pattern in it)."""
    if deny.patterns is None:
        return True
    if deny.negated:
        return not any(globs_intersect(p, region) for p in deny.patterns)
    return any(glob_contains(p, region) for p in deny.patterns)


def merge_verdicts(first: ConditionVerdict, second: ConditionVerdict) -> ConditionVerdict:
    """Both sets of conditions must hold (neither is NEVER here)."""
    if not first.undecided_keys and not second.undecided_keys:
        return APPLIES
    keys = {*first.undecided_keys, *second.undecided_keys}
    return ConditionVerdict(Outcome.UNDECIDED, tuple(sorted(keys))) if keys else APPLIES


def policy_label(document: PolicyDocument, fallback: str) -> str:
    return f"policy {document.name!r}" if document.name else fallback


def statement_label(statement: Statement, number: int) -> str:
    return f"statement {statement.sid!r}" if statement.sid else f"statement #{number + 1}"


def resource_groups(
    statement: Statement, document: PolicyDocument, requester: Requester | None
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
            known = {
                "aws:username": requester.username,
                "aws:principalaccount": requester.account,
                "aws:principaltype": requester.principal_type,
            }.get(lowered)
            if known:
                return known
        missing.append(f"${{{name}}}")
        return "*"

    return _VARIABLE.sub(value, pattern), missing


__all__ = [
    "APPLIES",
    "Evidence",
    "Grant",
    "GrantsByStore",
    "StatementCache",
    "Tally",
    "deny_covers",
    "merge_verdicts",
    "policy_label",
    "resource_groups",
    "statement_label",
]
