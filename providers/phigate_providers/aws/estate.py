"""Principals' effective read access over every store a run read: every region, every account.

Each account's collection (:class:`~.account_run.AccountRun`) leaves its stores and identities as
:class:`~.account_run.AccessFacts`; :func:`join` analyses them together, so a bucket policy in one
account granting a role of another counts, and so does a store outside the reported regions. In
a distributed run each slice (an account) sends its facts back beside its records and the join
runs once, in the client, over all of them: the principals are those a local run yields.

What was not read (a region, an account, a store's resource policy) is named in every analysed
principal's ``access_unseen``: any principal may reach stores there, so its segmentation is
undecided unless it already fails. Each such scope has its own collection error already (where
its read failed), so the run's evidence is incomplete whatever the principals decide.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from phigate.api import Context, Record
from phigate_providers.aws.access import AccessAnalyzer, Store
from phigate_providers.aws.access_facts import AccessFacts


@dataclass
class EstateFacts:
    """What one collection (a whole run, or one slice of it) leaves to the join."""

    parts: list[AccessFacts] = field(default_factory=list)
    #: Accounts that could not be read at all (assuming the role failed, or not listed).
    unseen: list[str] = field(default_factory=list)


def join(facts: Iterable[EstateFacts], lost: Iterable[str] = ()) -> Iterator[Record]:
    """Every principal with its effective access over every store read; ``lost`` names scopes
    of the estate that were not collected at all (a distributed slice that failed)."""
    facts = list(facts)
    parts = [part for fact in facts for part in fact.parts]
    unseen = sorted({*lost, *(u for f in facts for u in f.unseen), *(u for p in parts for u in p.unseen)})
    stores: dict[str, Store] = {}
    for part in parts:
        for store in part.stores:
            stores.setdefault(store.id, store)
    analyzer = AccessAnalyzer(list(stores.values()))
    for part in parts:
        for resource, identity in part.principals:
            attributes = dict(resource.attributes)
            if identity is not None:
                attributes.update(analyzer.read_access(identity).as_attributes())
                if unseen:
                    attributes["access_unseen"] = list(unseen)
            principal = dataclasses.replace(resource, attributes=attributes)
            yield principal if part.reported else Context(principal)


__all__ = ["EstateFacts", "join"]
