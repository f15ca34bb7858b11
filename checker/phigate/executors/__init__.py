"""Where collection runs: in this process (the default), or fanned out over a Dask cluster.

``local`` leaves providers as they are: each collects with its own bounded pools. ``dask``
replaces them with one collection that sends every *slice* of every provider to the cluster as
its own task (an AWS account, a snapshot file, an inventory report) and streams the slices'
records back, in slice order, to the one evaluator of the run. Evaluation stays in this process
because policies follow references across slices (a principal in one account reads buckets of
another; a key's ``encrypts`` list gathers stores from everywhere): the merged stream is the
stream a local run would see, so the findings are the same.

A provider opts in to slicing with ``slices() -> list[provider]``: parts that are picklable,
that each collect on their own, and whose records together, in order, are the provider's. A
provider without ``slices`` is one slice. Some records need every slice at once (principals'
access across accounts: one account's bucket policy grants another's role): such a provider is
:class:`Joined`, its slices send back facts beside their records and the provider joins them in
the client once every slice is in. Dask is imported only when ``--executor dask`` asks for it.
"""

from __future__ import annotations

import argparse
import importlib.util
import re
from collections.abc import Iterator, Sequence
from typing import Any, Protocol, runtime_checkable

from phigate.api import InputError, Provider, Record, Sliceable

EXECUTORS = ("local", "dask")
_ADDRESS = re.compile(r"^(tcp|tls|ucx|ws|wss|inproc)://\S+$")


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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("execution")
    group.add_argument("--executor", choices=EXECUTORS, default="local",
                       help="local (default): collect in this process; dask: one task per account, "
                            "project, file or report on a Dask cluster")
    group.add_argument("--scheduler", metavar="URL",
                       help="with --executor dask: the scheduler (tcp://host:8786); default: a local "
                            "cluster on this machine")
    group.add_argument("--dask-workers", type=int, metavar="N",
                       help="with --executor dask and no --scheduler: local workers (one per core)")


def arrange(providers: Sequence[Provider], options: argparse.Namespace) -> list[Provider]:
    """The providers a scan collects from: as given, or wrapped to collect on a Dask cluster."""
    executor = getattr(options, "executor", "local") or "local"
    scheduler = getattr(options, "scheduler", None)
    workers = getattr(options, "dask_workers", None)
    if executor == "local":
        if scheduler or workers is not None:
            raise InputError("--scheduler and --dask-workers need --executor dask")
        return list(providers)
    if scheduler is not None and not _ADDRESS.match(scheduler):
        raise InputError(f"--scheduler {scheduler!r} is not a scheduler address (tcp://host:8786)")
    if scheduler is not None and workers is not None:
        raise InputError("--dask-workers sizes a local cluster; a --scheduler brings its own workers")
    if workers is not None and not 1 <= workers <= 256:
        raise InputError(f"--dask-workers must be from 1 to 256, not {workers}")
    if importlib.util.find_spec("distributed") is None:
        raise InputError("--executor dask needs dask[distributed]: install phigate[scale]")
    from phigate.executors.cluster import ClusterCollection

    return [ClusterCollection(providers, scheduler=scheduler, workers=workers)]


__all__ = ["EXECUTORS", "Joined", "Sliceable", "add_arguments", "arrange", "slices_of"]
