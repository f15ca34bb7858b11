"""The run's principals across every account it reads: effective reads and the access graph's edges.

Each account's collection hands its IAM facts and its stores to one :class:`Estate`; principals
are emitted once every account is read, so that an identity's reads and edges are decided over
the stores and roles of *all* accounts of the run (a role of account B trusting account A, a
bucket of B granting a role of A), not of its own only. A single-account run is an estate of one.

What the run could not read stays visible: a principal whose own account's stores were not all
read gets no reads (an error, as before); a principal of another account gets an ``access_unseen``
entry for each account whose stores or IAM were not completely read, since those may grant it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from phigate.api import CollectionError, Record
from phigate_providers.aws import iam
from phigate_providers.aws.access import AccessAnalyzer, Store
from phigate_providers.aws.context import PROVIDER, Account
from phigate_providers.aws.escalation import EscalationGraph, ManagedPolicy, Member
from phigate_providers.aws.runners import Runner


@dataclass
class _AccountFacts:
    account: Account
    iam: iam.IamFacts | None  # None: IAM could not be read (or was not asked for)
    stores: list[Store]
    complete: bool  # every store and its resource policy read
    runners: list[Runner] = field(default_factory=list)
    gaps: list[str] = field(default_factory=list)  # where runners could not be listed


class Estate:
    """Collects every account's facts (:meth:`add`), then emits the principals (:meth:`principals`)."""

    def __init__(self) -> None:
        self._accounts: list[_AccountFacts] = []

    def add(
        self,
        account: Account,
        facts: iam.IamFacts | None,
        stores: list[Store],
        complete: bool,
        runners: tuple[list[Runner], list[str]] = ([], []),
    ) -> None:
        """One account's facts; ``runners``: its functions and instances running as a role, and
        the regions where they could not be listed."""
        self._accounts.append(_AccountFacts(account, facts, stores, complete, *runners))

    def principals(self) -> Iterator[Record]:
        """Every account's principals with their reads and edges, and the errors on the way."""
        if not any(a.iam is not None for a in self._accounts):
            return
        stores = [s for a in self._accounts if a.complete for s in a.stores]
        reads = AccessAnalyzer(stores)
        runners, gaps = self._runners()
        accounts = [a.account.account_id for a in self._accounts]
        graph = EscalationGraph(*self._members(), accounts=accounts, runners=runners, gaps=gaps)
        for facts in self._accounts:
            if facts.iam is None:
                continue
            account = facts.account
            if not facts.complete:
                yield _unknown_access(account)
            unseen = self._unseen(account.account_id)
            known = reads if facts.complete else None
            for principal in facts.iam.principals:
                yield from self._principal(account, principal, known, graph, unseen)

    def _principal(
        self,
        account: Account,
        principal: iam.Principal,
        reads: AccessAnalyzer | None,
        graph: EscalationGraph,
        unseen: list[str],
    ) -> Iterator[Record]:
        if principal.unreadable:
            yield CollectionError(
                PROVIDER,
                f"{principal.arn}: policy documents could not be parsed: {', '.join(principal.unreadable)}",
                scope=account.account_id,
                kinds=("principal",),
                resource_id=principal.arn,
            )
            yield iam.principal_resource(account, principal, None)
            return
        access = reads.read_access(principal.identity(account.account_id)) if reads is not None else None
        edges = graph.edges(_member(account, principal), reads, access.can_read if access else None)
        attributes: dict[str, Any] = {
            "can_become": sorted(edges.can_become),
            "can_become_via": dict(sorted(edges.can_become.items())),
            "access_unseen": [*unseen, *edges.access_unseen],
        }
        if access is not None:
            via = {**access.can_read_via, **edges.can_read_via}
            attributes.update(
                {
                    "can_read": sorted(via),
                    "can_read_via_wildcard": list(access.can_read_via_wildcard),
                    "can_read_via": dict(sorted(via.items())),
                    "undecided_conditions": sorted(
                        {*access.undecided_conditions, *edges.undecided_conditions}
                    ),
                }
            )
        yield iam.principal_resource(account, principal, attributes)

    def _members(self) -> tuple[list[Member], list[ManagedPolicy]]:
        members: list[Member] = []
        policies: list[ManagedPolicy] = []
        for facts in self._accounts:
            if facts.iam is None:
                continue
            account_id = facts.account.account_id
            members += (_member(facts.account, p) for p in facts.iam.principals)
            for resource in facts.iam.policy_resources:
                # Customer managed policies only: AWS-managed ones cannot be changed.
                if resource.type == "aws.iam.policy" and f":{account_id}:" in resource.id:
                    holders = tuple(resource.attributes.get("attached_to", ()))
                    policies.append(ManagedPolicy(resource.id, account_id, holders))
        return members, policies

    def _runners(self) -> tuple[list[Runner], dict[str, list[str]]]:
        """Every runner with its role resolved (an instance's profile through IAM), and the gaps."""
        runners: list[Runner] = []
        gaps: dict[str, list[str]] = {}
        for facts in self._accounts:
            account_id = facts.account.account_id
            gaps[account_id] = list(facts.gaps)
            profiles = facts.iam.instance_profiles if facts.iam is not None else {}
            for runner in facts.runners:
                if not runner.by_profile:
                    runners.append(runner)
                elif runner.role in profiles:
                    runners.append(replace(runner, role=profiles[runner.role], by_profile=False))
                else:
                    gaps[account_id].append(
                        f"aws account {account_id}: {runner.arn} runs as {runner.role} (its role not known)"
                    )
        return runners, gaps

    def _unseen(self, account_id: str) -> list[str]:
        found: list[str] = []
        for facts in self._accounts:
            other = facts.account.account_id
            if other == account_id:
                continue
            if not facts.complete:
                found.append(f"aws account {other}: data stores or their resource policies (not all read)")
            if facts.iam is None:
                found.append(f"aws account {other}: IAM roles and their trust policies (not read)")
        return found


def _member(account: Account, principal: iam.Principal) -> Member:
    identity = None if principal.unreadable else principal.identity(account.account_id)
    return Member(
        principal.arn,
        principal.principal_type,
        account.account_id,
        identity,
        tuple(principal.member_of),
        principal.trust,
    )


def _unknown_access(account: Account) -> CollectionError:
    return CollectionError(
        PROVIDER,
        "effective read access unknown: some data stores or their resource policies "
        "could not be read (see the errors above)",
        scope=account.account_id,
        kinds=("principal",),
        types=iam.PRINCIPAL_TYPES,
    )


__all__ = ["Estate"]
