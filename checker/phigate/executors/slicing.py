"""How a provider splits its work into slices a cluster can collect apart (see
:mod:`phigate.executors`)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

from phigate.api import Provider, Record, Sliceable


@runtime_checkable
class Joined(Protocol):
    """A sliceable provider some of whose records need every slice's facts at once. Each slice's
    ``collect_part() -> (records, facts)`` runs on a worker; :meth:`join` runs in the client."""

    def slices(self) -> Sequence[Provider]:
        """The parts; each has ``collect_part()``."""

    def join(self, facts: Sequence[Any], lost: Sequence[Provider]) -> Iterator[Record]:
        """The records made of every slice's ``facts``; ``lost`` are the slices that could not be
        collected (what they cover is unseen: their records must say so, never pass)."""


def slices_of(provider: Provider) -> list[Provider]:
    """The provider's slices, or the provider itself when it does not split."""
    return list(provider.slices()) if isinstance(provider, Sliceable) else [provider]


__all__ = ["Joined", "Sliceable", "slices_of"]
