"""Collection fanned out over a Dask cluster: one task per provider slice, records merged in order.

Every slice is submitted at once; the results are taken slice by slice, in the order a local
run would read them, so the evaluator sees the same stream and decides the same findings. A task
that raises is retried (``retries``); a task whose worker dies is re-run elsewhere by the
scheduler (``distributed.scheduler.allowed-failures`` times). A slice that still fails yields a
:class:`CollectionError` for each of its scopes, about every kind: its policies are ``error``,
never missing and never ``pass``. A slice's own input problems (a broken snapshot) stop the run
as they would locally (exit 2). A :class:`~phigate.executors.slicing.Joined` provider's slices also send
back facts; once all of them are in, the provider joins them here (and is told which slices were
lost). Dask is imported when a collection starts, never before.
"""

from __future__ import annotations

import contextlib
import logging
import os
import uuid
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, ClassVar

from phigate.api import (
    CollectionError,
    InputError,
    Provider,
    Record,
    Resource,
    Restrictable,
    RestrictableByClass,
    Scope,
)
from phigate.code_providers import CodeProvider
from phigate.executors.slicing import Joined, slices_of
from phigate.problems import Problem, ProblemsError

#: Attempts after a task raised (a lost worker is handled by the scheduler's own count).
RETRIES = 2
CONNECT_TIMEOUT = "20s"
#: The longest wait for one slice, in seconds, from the moment the client asks for its records:
#: a slice that takes longer (a hung call, a worker that never answers) is lost, an error for
#: what it covers, rather than a run that never ends.
SLICE_TIMEOUT = 3600.0

#: What a task returns: records, or the input problems it met (rebuilt into exceptions here:
#: exceptions with their own constructors do not survive pickling whole).
SliceResult = tuple[str, Any]


def collect_slice(part: Provider) -> SliceResult:
    """Run on a worker: every record of one slice (with its facts, for a joined provider), or its
    input problems."""
    try:
        collect_part = getattr(part, "collect_part", None)
        if callable(collect_part):
            return "joined", collect_part()
        return "records", list(part.collect())
    except ProblemsError as exc:
        return "problems", list(exc.problems)
    except InputError as exc:
        return "input", (exc.message, exc.location)


class ClusterCollection(CodeProvider):
    """Stands in for the run's providers and collects their slices on a cluster."""

    name: ClassVar[str] = "dask"
    description: ClassVar[str] = "the run's providers, collected slice by slice on a Dask cluster"
    permissions: ClassVar[tuple[str, ...]] = ()
    made_by: ClassVar[str] = "--executor dask"

    def __init__(self, providers: Sequence[Provider], *, scheduler: str | None = None,
                 workers: int | None = None, processes: bool = True, retries: int = RETRIES,
                 timeout: float = SLICE_TIMEOUT) -> None:
        self.providers = list(providers)
        self.timeout = timeout
        self.scheduler = scheduler
        self.workers = workers
        self.processes = processes
        self.retries = retries

    def scopes(self) -> list[Scope]:
        return [scope for provider in self.providers for scope in provider.scopes()]

    def restrict(self, fields: Mapping[str, frozenset[str]]) -> None:
        """Passed on before slicing, so every slice reads only what the run's policies need."""
        for provider in self.providers:
            if isinstance(provider, Restrictable):
                provider.restrict(fields)

    def restrict_classes(self, classes: Mapping[str, Mapping[str, frozenset[str]]]) -> None:
        """Passed on before slicing too (see :class:`phigate.api.RestrictableByClass`)."""
        for provider in self.providers:
            if isinstance(provider, RestrictableByClass):
                provider.restrict_classes(classes)

    def collect(self) -> Iterator[Record]:
        plan = [(provider, slices_of(provider)) for provider in self.providers]
        run = uuid.uuid4().hex[:8]
        with self._client() as client:
            submitted = [
                (provider, [(part, self._submit(client, part, f"phigate-{run}-{p}-{i}"))
                            for i, part in enumerate(parts)])
                for p, (provider, parts) in enumerate(plan)]
            try:
                for provider, futures in submitted:
                    seen: set[str] | None = set() if len(futures) > 1 else None
                    joined = _Join(provider) if isinstance(provider, Joined) else None
                    for number, (part, future) in enumerate(futures, start=1):
                        yield from _gathered(provider, part, future, f"{number}/{len(futures)}", seen,
                                              joined=joined, timeout=self.timeout)
                    if joined is not None:
                        yield from joined.records()
            finally:
                client.cancel([f for _, futures in submitted for _, f in futures if f is not None])

    def _submit(self, client: Any, part: Provider, key: str) -> Any:
        """The slice's task; None for a slice that cannot travel (it holds a connection, a
        lock …): that one is collected here, in the client, when its turn comes."""
        import cloudpickle  # type: ignore[import-untyped]

        try:
            cloudpickle.dumps(part)
        except Exception:
            return None
        return client.submit(collect_slice, part, key=key, retries=self.retries, pure=False)

    @contextlib.contextmanager
    def _client(self) -> Iterator[Any]:
        from dask.distributed import Client, LocalCluster

        with _quiet_cluster_logs():
            if self.scheduler is not None:
                try:
                    client = Client(self.scheduler, timeout=CONNECT_TIMEOUT)  # type: ignore[no-untyped-call]
                except (OSError, TimeoutError) as exc:
                    raise InputError(f"cannot reach the Dask scheduler at {self.scheduler} "
                                     f"({type(exc).__name__})") from None
                with client:
                    yield client
                return
            workers = self.workers or os.cpu_count() or 1
            with (LocalCluster(n_workers=workers, threads_per_worker=1,  # type: ignore[no-untyped-call]
                               processes=self.processes, dashboard_address=":0") as cluster,
                  Client(cluster) as client):  # type: ignore[no-untyped-call]
                yield client


class _Join:
    """A joined provider's slices' facts, and the slices lost, until every slice is in."""

    def __init__(self, provider: Joined) -> None:
        self.provider = provider
        self.facts: list[Any] = []
        self.lost: list[Provider] = []

    def records(self) -> Iterator[Record]:
        return self.provider.join(self.facts, self.lost)


def _gathered(provider: Provider, part: Provider, future: Any, label: str,
              seen: set[str] | None, *, joined: _Join | None = None,
              timeout: float = SLICE_TIMEOUT) -> Iterator[Record]:
    """One slice's records; its failure (or no answer within ``timeout`` seconds) as collection
    errors; its input problems raised."""
    try:
        status, value = future.result(timeout=timeout) if future is not None else collect_slice(part)
    except Exception as exc:  # raised past retries, its workers kept dying, or it never answered
        if joined is not None:
            joined.lost.append(part)
        yield from _slice_failed(provider, part, label, exc)
        return
    if status == "problems":
        raise ProblemsError(value)
    if status == "input":
        raise InputError(*value)
    if status == "joined":
        value, facts = value
        if joined is not None:
            joined.facts.append(facts)
    for record in value:
        if seen is not None and type(record) is Resource:
            if record.id in seen:
                raise ProblemsError([Problem(record.provider, 1, 1, f"duplicate resource id "
                                             f"'{record.id}' in two parts of the input")])
            seen.add(record.id)
        yield record


def _slice_failed(provider: Provider, part: Provider, label: str,
                  exc: Exception) -> Iterator[CollectionError]:
    """Every policy is ``error`` for what the slice covers (each of its scopes)."""
    try:
        scopes = [s.scope for s in part.scopes()]
    except Exception:  # describing the slice must not hide its failure
        scopes = []
    name = getattr(provider, "name", type(provider).__name__)
    message = (f"{name} slice {label} could not be collected "
               f"({type(exc).__name__}): its resources were not seen")
    for scope in scopes or [""]:
        yield CollectionError(name, message, scope=scope)


@contextlib.contextmanager
def _quiet_cluster_logs() -> Iterator[None]:
    """A worker restart is reported through the findings, not as log lines on the terminal."""
    loggers = [logging.getLogger(n) for n in ("distributed", "distributed.nanny", "distributed.scheduler")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


__all__ = ["ClusterCollection", "collect_slice"]
