"""The run's principals across every region and account it read: effective reads and the edges.

Each account's collection (:class:`~.account_run.AccountRun`) leaves its stores, identities,
managed policies and runners as :class:`~.access_facts.AccessFacts`; :func:`join` analyses them
together, so a bucket policy in one account granting a role of another counts, a role of account
B trusting account A is an edge, and so does a store outside the reported regions. In a
distributed run each slice (an account) sends its facts back beside its records and the join runs
once, in the client, over all of them: the principals are those a local run yields. A principal
of an account read only as context is yielded as a :class:`~phigate.api.Context` record.

Per principal: ``can_read`` (identity and resource grants, and what it can grant itself),
``can_become`` (role chaining and IAM escalation, :mod:`.escalation`), and ``access_unseen``: what
was not read (a region, an account, its IAM, a store's resource policy, a listing of runners),
since any principal may reach stores there; its segmentation is then undecided unless it already
fails. Each such scope has its own collection error already (where its read failed), so the run's
evidence is incomplete whatever the principals decide.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from phigate.api import Context, Record, Resource
from phigate_providers.aws.access import AccessAnalyzer, Store
from phigate_providers.aws.access_facts import AccessFacts
from phigate_providers.aws.escalation import EscalationGraph, Member
from phigate_providers.aws.signing import signed_reach


@dataclass
class EstateFacts:
    """What one collection (a whole run, or one slice of it) leaves to the join."""

    parts: list[AccessFacts] = field(default_factory=list)
    #: Accounts that could not be read at all (assuming the role failed, or not listed).
    unseen: list[str] = field(default_factory=list)


def join(facts: Iterable[EstateFacts], lost: Iterable[str] = ()) -> Iterator[Record]:
    """Every principal with its reads and edges over every store and principal read; ``lost``
    names scopes of the estate that were not collected at all (a distributed slice that failed)."""
    facts = list(facts)
    parts = [part for fact in facts for part in fact.parts]
    if not any(part.principals for part in parts):
        return
    unseen = sorted({*lost, *(u for f in facts for u in f.unseen), *(u for p in parts for u in p.unseen)})
    stores: dict[str, Store] = {}
    for part in parts:
        for store in part.stores:
            stores.setdefault(store.id, store)
    reads = AccessAnalyzer(list(stores.values()))
    about = {entry: store for part in parts for entry, store in part.about.items()}
    graph = EscalationGraph(
        [member for part in parts for _, member in part.principals],
        [policy for part in parts for policy in part.policies],
        accounts=[part.account_id for part in parts],
        runners=[runner for part in parts for runner in part.runners],
        gaps={part.account_id: part.gaps for part in parts},
    )
    for part in parts:
        for resource, member in part.principals:
            principal = _principal(resource, member, reads, graph, unseen=unseen, about=about)
            yield principal if part.reported else Context(principal)
    yield from outside_accounts(parts)


def outside_accounts(parts: list[AccessFacts]) -> Iterator[Context]:
    """The accounts outside the run that stores are shared with (snapshots), each as a principal
    reading them, in context: in the graph, never reported. Who in that account may use the
    share is not read, so it is named unseen."""
    read = {part.account_id for part in parts}
    shared: dict[str, dict[str, str]] = {}
    for part in parts:
        for account, stores in part.shared.items():
            shared.setdefault(account, {}).update(stores)
    for account, stores in sorted(shared.items()):
        if account in read:
            continue  # its principals are analysed: the sharing is their resource policy grant
        attributes: dict[str, Any] = {
            "principal_type": "account", "login": False, "member_of": [],
            "can_read": sorted(stores), "can_read_via": dict(sorted(stores.items())),
            "can_read_via_wildcard": [], "undecided_conditions": [], "can_become": [], "can_become_via": {},
            "access_unseen": [f"aws account {account} (outside the run: who there may use what is "
                              "shared with it is not read)"],
            "third_party": True, "trusted_accounts": [account], "external_id_required": None,
        }
        yield Context(Resource(f"arn:aws:iam::{account}:root", "aws.iam.account", "principal", "aws",
                               scope=account, name=account, attributes=attributes))


def _principal(
    resource: Resource, member: Member, reads: AccessAnalyzer, graph: EscalationGraph, *,
    unseen: list[str], about: Mapping[str, str],
) -> Resource:
    """The principal's record with its reads and edges (none when it has no identity to analyse),
    with and without MFA where that differs (:mod:`.signing`); its unseen entries that concern
    one store name it (``access_unseen_about``)."""
    if member.identity is None:
        return resource
    reach = signed_reach(member, reads, graph, resource.attributes.get("access_keys"))
    attributes: dict[str, Any] = {**resource.attributes, **reach.attributes()}
    if unseen or reach.access_unseen:
        attributes["access_unseen"] = [*unseen, *reach.access_unseen]
        concerns = {entry: about[entry] for entry in attributes["access_unseen"] if entry in about}
        if concerns:
            attributes["access_unseen_about"] = concerns
    return dataclasses.replace(resource, attributes=attributes)


__all__ = ["EstateFacts", "join"]
