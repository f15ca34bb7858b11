"""Copies whose source may be in another account of the run (a snapshot shared from, or copied
out of, another account of an organization): classed by that source once every account is read.

Each account's run labels its copies with the sources of its own account (:mod:`.copies`). A
copy naming a source of another account (an ARN whose account differs from the copy's; an EBS
snapshot ARN, which names no account) is held until every account of the run is read, then
carries the tags, and when stricter the class, of the sources found in any of them. A source in
no account of the run lends nothing: the copy is classed as before. A run of one account, or a
slice of a distributed run, has no other account to look in: nothing is held there.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from phigate.api import Context, Record, Resource
from phigate_providers.aws import copies

_STORE_KINDS = frozenset({"object_store", "database", "table", "volume", "stream"})


class ForeignSources:
    """Stores seen across the accounts of a run, and the copies waiting for them."""

    def __init__(self, accounts: Iterable[str], classify: copies.Classify | None) -> None:
        self._accounts = frozenset(accounts)
        self._classify = classify
        self._stores: dict[str, Resource] = {}
        self._held: list[Record] = []

    def passing(self, records: Iterable[Record]) -> Iterator[Record]:
        """``records`` of one account, those copies that may have a source in another account
        held back (see :meth:`rest`)."""
        for record in records:
            resource = record.resource if isinstance(record, Context) else record
            if not isinstance(resource, Resource) or resource.kind not in _STORE_KINDS:
                yield record
                continue
            self._stores.setdefault(resource.id, resource)
            if len(self._accounts) > 1 and self._foreign(resource):
                self._held.append(record)
            else:
                yield record

    def rest(self) -> Iterator[Record]:
        """The copies held back, labelled by their sources in every account read."""
        for record in self._held:
            resource = record.resource if isinstance(record, Context) else record
            assert isinstance(resource, Resource)
            found = [self._stores[s] for s in copies.sources_of(resource) if s in self._stores]
            labelled = copies.labelled([*found, resource], self._classify)[-1] if found else resource
            yield Context(labelled) if isinstance(record, Context) else labelled
        self._held = []

    def _foreign(self, resource: Resource) -> bool:
        """Some source the copy names may belong to another account of the run."""
        for source in copies.sources_of(resource):
            parts = source.split(":", 5)
            owner = parts[4] if len(parts) == 6 else ""
            if owner != resource.scope and (not owner or owner in self._accounts):
                return True
        return False


__all__ = ["ForeignSources"]
