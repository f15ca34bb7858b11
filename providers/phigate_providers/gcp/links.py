"""Stores in the access graph: what a grant on one reaches, and reads through BigQuery's
authorized views and datasets (:class:`phigate_providers.gcp.graph.Principals` uses them)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

#: A principal's edges: target → ((conditional, where the grant sits, wording), wording).
Edges = dict[str, tuple[tuple[int, int, str], str]]


@dataclass(frozen=True)
class Store:
    """Something grants can be made on that holds data (a bucket, dataset, table, instance, disk
    …), or only leads to data (``holds_data`` False: a Healthcare API dataset, a BigQuery view).
    A grant on it reaches it and its ``children`` (a dataset's tables); ``service`` says which
    permissions read it (:data:`phigate_providers.gcp.access.READ_BY_SERVICE`)."""

    project: str
    service: str
    noun: str  # "bucket", "dataset", "table" …: how a grant on it is described
    holds_data: bool = True


@dataclass(frozen=True)
class Link:
    """Whoever reads ``reader`` reads ``source`` too (a BigQuery authorized view or dataset)."""

    reader: str
    source: str
    how: str


def keep(edges: Edges, target: str, rank: tuple[int, int, str], how: str) -> None:
    """Keep the preferred way to reach ``target``: unconditional, then the narrowest grant."""
    current = edges.get(target)
    if current is None or rank < current[0]:
        edges[target] = (rank, how)


def follow_links(reads: Edges, through: Edges, named: set[str],
                 graph: tuple[Sequence[Link], Mapping[str, Sequence[str]], Mapping[str, Store]]) -> None:
    """Reads through authorized views and datasets (``graph``: the links, each store's children,
    every store), to a fixpoint (a view may read another dataset's authorized view). A read
    reached through a wildcard stays one."""
    links, children, where = graph
    changed = True
    while changed:
        changed = False
        for link in links:
            reached = reads.get(link.reader) or through.get(link.reader)
            if reached is None:
                continue
            (conditional, rank, _), how = reached
            for target in (link.source, *children.get(link.source, ())):
                held = where.get(target)
                edges = through if held is not None and not held.holds_data else reads
                via = f"through {link.how} ({how})"
                changed |= target not in edges  # new reach only: the loop ends
                keep(edges, target, (conditional, rank, via), via)
                if link.reader in named:
                    named.add(target)


__all__ = ["Edges", "Link", "Store", "follow_links", "keep"]
