"""Time budgets for content sampling, and the worker processes that parse sampled objects.

A sampled object is chosen by whoever can write to the store, and document parsers have
pathological inputs: a 13 KB PDF can cost minutes of processor time, a 5 KB spreadsheet naming
its last cell ``XFD20000`` a quarter of a minute. So parsing runs in a worker process, given at
most ``object_seconds`` of wall time per object; past it the worker is killed (and replaced on
the next object) and the object is *not scanned*, with that reason. A worker also has an
address-space limit, so an object that expands in memory ends its worker, not the run.

Budgets are wall time, since the run waits on it: per object (parsing), per store (listing,
reads and parsing) and per sampler, i.e. per provider and run. An object left out because a
budget ran out is counted under its reason; a store none of whose chosen objects could be
scanned is a collection error (never a clean sample).
"""

from __future__ import annotations

import atexit
import multiprocessing
import threading
import time
import weakref
from contextlib import suppress
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from phigate_providers.content import extract

if TYPE_CHECKING:
    from phigate_providers.content.detect import Scan

#: Reasons an object chosen for the sample was not scanned (keys of ``not_scanned``).
OBJECT_TIME = "parsing took longer than the per-object time budget"
STORE_TIME = "the store's time budget was spent"
RUN_TIME = "the run's time budget was spent"
WORKER_FAILED = "the parser's process ended (out of memory or crashed)"
#: Address space of a worker process: an object expanding past it ends the worker only.
WORKER_MEMORY_BYTES = 2 * 1024 * 1024 * 1024
_START_SECONDS = 60.0  # starting a worker (importing the parsers) is not the object's time


class OverBudget(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Clock:
    """A deadline that starts when first asked about (a budget of None never runs out)."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self._deadline: float | None = None
        self._lock = threading.Lock()

    def remaining(self) -> float:
        if self.seconds is None:
            return float("inf")
        with self._lock:
            if self._deadline is None:
                self._deadline = time.monotonic() + self.seconds
            return self._deadline - time.monotonic()


def _serve(connection: Connection, memory: int) -> None:  # pragma: no cover - runs in the worker
    """The worker: parse and scan what it is sent; answer with the result or the reason none
    came. Its detector (the bundled lexicon) is built before its first answer."""
    with suppress(ImportError, ValueError, OSError):
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    from phigate_providers.content.detect import Detector, Scan

    detector = Detector()
    while True:
        try:
            request = connection.recv()
        except (EOFError, OSError):
            return
        if request is None:
            return
        answer: tuple[str, Any]
        try:
            if request == "ping":
                answer = ("ok", None)
            elif request[0] == "units":  # rows, each a unit: detection only
                answer = ("ok", detector.scan_units(request[1]))
            else:
                _, name, data, complete, scan = request
                text = extract.extract(name, data, complete)
                found = (detector.scan(text.records) if text.records else Scan.empty()) if scan else None
                answer = ("ok", (text, found))
        except extract.Unreadable as exc:
            answer = ("unreadable", exc.reason)
        except (MemoryError, RecursionError):
            answer = ("unreadable", extract.CORRUPT)
        connection.send(answer)


class _Worker:
    def __init__(self, memory: int) -> None:
        context = multiprocessing.get_context("spawn")  # no fork of a threaded process
        self._connection, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(child, memory), daemon=True,
                                        name="phigate-content-parser")
        self._process.start()
        child.close()
        # Started and its modules imported before any object's time is counted.
        self._ask("ping", _START_SECONDS, WORKER_FAILED)

    def ask(self, request: Any, seconds: float) -> Any:
        kind, value = self._ask(request, seconds, OBJECT_TIME)
        if kind == "unreadable":
            raise extract.Unreadable(str(value))
        return value

    def _ask(self, request: Any, seconds: float, late: str) -> tuple[str, Any]:
        try:
            self._connection.send(request)
            if not self._connection.poll(max(seconds, 0.0)):
                self.kill()
                raise OverBudget(late)
            kind, value = self._connection.recv()
        except (EOFError, OSError):
            self.kill()
            raise OverBudget(WORKER_FAILED) from None
        return str(kind), value

    @property
    def alive(self) -> bool:
        return self._process.is_alive()

    def kill(self) -> None:
        if self._process.is_alive():
            self._process.kill()
        self._process.join(5)
        self._connection.close()

    def close(self) -> None:
        if self._process.is_alive():
            with suppress(OSError):
                self._connection.send(None)
            self._process.join(2)
        self.kill()


class ParserPool:
    """Worker processes lent to the threads that sample, started when first needed."""

    def __init__(self, memory: int = WORKER_MEMORY_BYTES) -> None:
        self._memory = memory
        self._idle: list[_Worker] = []
        self._all: weakref.WeakSet[_Worker] = weakref.WeakSet()
        self._lock = threading.Lock()
        atexit.register(self.close)

    def parse(self, name: str, data: bytes, complete: bool, seconds: float,
              scan: bool = True) -> tuple[extract.Extracted, Scan | None]:
        """Records of an object and, with ``scan``, what the bundled detector found in them,
        within ``seconds``; raises Unreadable or OverBudget."""
        text, found = self._call(("object", name, data, complete, scan), seconds)
        if not isinstance(text, extract.Extracted):
            raise OverBudget(WORKER_FAILED)
        return text, found

    def scan_units(self, units: list[list[str]], seconds: float) -> list[Scan]:
        """What the bundled detector found in each unit (rows), within ``seconds``."""
        found = self._call(("units", units), seconds)
        if not isinstance(found, list) or len(found) != len(units):
            raise OverBudget(WORKER_FAILED)
        return found

    def _call(self, request: Any, seconds: float) -> Any:
        with self._lock:
            worker = self._idle.pop() if self._idle else None
        if worker is None or not worker.alive:
            worker = _Worker(self._memory)
            with self._lock:
                self._all.add(worker)
        try:
            return worker.ask(request, seconds)
        finally:
            if worker.alive:  # a worker killed over its budget is not lent again
                with self._lock:
                    self._idle.append(worker)

    def close(self) -> None:
        with self._lock:
            workers = list(self._all)
            self._idle.clear()
        for worker in workers:
            worker.close()


__all__ = ["OBJECT_TIME", "RUN_TIME", "STORE_TIME", "WORKER_FAILED", "Clock", "OverBudget", "ParserPool"]
