"""A nightly audit: collect and evaluate as ``scan`` does, record the run in a history store,
then say what changed (drift), write the HTML report and notify.

The order is what keeps the history honest. Nothing touches the store while collecting: the
run is written in one transaction at the end, so an audit stopped half-way (SIGTERM from a
scheduler, Ctrl-C, a crash) leaves the previous runs as they were and no partial run. Retention,
the report and notifications come after the run is safely recorded; none of them can lose it.
"""

from __future__ import annotations

import datetime as dt
import gzip
import json
import signal
import tempfile
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, cast

from phigate.api import Provider, Record, Scope
from phigate.config import Config
from phigate.files import atomic_write
from phigate.gate import gate
from phigate.history import Drift, HistoryStore, RunSummary, StoreError, compare, run_record, series_of
from phigate.model import Policy, Severity
from phigate.notify import NotifyError, Webhook, payload, post, should_notify
from phigate.problems import ProblemsError
from phigate.reporters.html import AuditContext, TrendPoint, render_html
from phigate.result import Framework
from phigate.run import Progress, RunResult, scan
from phigate.snapshot import END_KEY, header, record_to_json
from phigate.waivers import WaiverFile

#: Runs of the series drawn in the report's trend chart.
TREND_RUNS = 30


@dataclass(frozen=True, slots=True)
class AuditSettings:
    fail_on: Severity = Severity.INFO
    #: The series the run belongs to (default: derived from the scopes it covers).
    series: str | None = None
    #: Delete runs older than this after recording (the latest of each series is kept).
    keep: dt.timedelta | None = None
    keep_snapshot: bool = False
    html: Path | None = None
    webhooks: Sequence[Webhook] = ()
    show_passed: bool = False


@dataclass(frozen=True, slots=True)
class AuditOutcome:
    run: RunSummary
    drift: Drift | None
    pruned: int = 0
    notified: int = 0
    #: What went wrong after the run was recorded (a report not written, a notification not
    #: delivered): reported, without changing the exit code or losing the run.
    warnings: Sequence[str] = field(default_factory=tuple)


@contextmanager
def snapshot_spool(keep: bool) -> Iterator[Path | None]:
    """A private temporary file for the snapshot the audit keeps, removed afterwards."""
    if not keep:
        yield None
        return
    with tempfile.TemporaryDirectory(prefix="phigate-audit-") as folder:
        yield Path(folder) / "snapshot.jsonl.gz"


def evaluate(providers: Sequence[Provider], policies: Sequence[Policy], config: Config, *,
             settings: AuditSettings, frameworks: Mapping[str, Framework],
             waivers: WaiverFile | None = None, progress: Progress | None = None,
             snapshot: Path | None = None) -> RunResult:
    """Collect and evaluate; SIGTERM ends it as Ctrl-C does (KeyboardInterrupt, nothing kept)."""
    with _terminate_as_interrupt():
        if snapshot is None:
            return gate(scan(providers, policies, config, keep_passed=settings.show_passed,
                             progress=progress, frameworks=frameworks), waivers=waivers)
        with gzip.open(snapshot, "wt", encoding="utf-8") as sink:
            # Kept snapshots end with their record count, as `phigate collect` writes them: one
            # exported later and cut short reads as incomplete evidence, never a smaller estate.
            sink.write(json.dumps({**header([s for p in providers for s in p.scopes()]), "end_line": True},
                                  sort_keys=True) + "\n")
            taps = [_Tap(p, sink) for p in providers]
            result = gate(scan([cast(Provider, t) for t in taps], policies, config,
                               keep_passed=settings.show_passed, progress=progress,
                               frameworks=frameworks), waivers=waivers)
            sink.write(json.dumps({END_KEY: {"records": sum(t.written for t in taps)}}) + "\n")
            return result


def record(store: HistoryStore, result: RunResult, *, exit_code: int, settings: AuditSettings,
           snapshot: Path | None = None) -> AuditOutcome:
    """Record the run (one transaction), then compare with the previous run of its series,
    apply retention, write the report and notify. A StoreError says whether the run was
    recorded; problems with the report or a notification are returned as warnings."""
    series = settings.series or series_of(result.scopes)
    try:
        run_id = store.record(run_record(result, series=series, exit_code=exit_code, snapshot=snapshot))
    except StoreError as exc:
        raise StoreError(exc.location, f"the run was not recorded: {exc.reason}") from None
    try:
        current = store.load(run_id)
        previous = store.previous(run_id)
        drift = compare(store.load(previous.id), current) if previous is not None else None
        pruned = store.prune(dt.datetime.now(dt.UTC) - settings.keep) if settings.keep else 0
        recent = store.runs(series, limit=TREND_RUNS) if settings.html is not None else []
    except StoreError as exc:
        raise StoreError(exc.location, f"run {run_id} was recorded, then: {exc.reason}") from None
    warnings: list[str] = []
    if settings.html is not None:
        trend = [TrendPoint(r.id, r.started, r.summary.get("fail", 0), r.summary.get("error", 0))
                 for r in reversed(recent)]
        since = {f.fingerprint: f.failing_since for f in current.findings if f.failing_since}
        try:
            write_html(settings.html, result, AuditContext(run_id, series, trend, drift, since))
        except OSError as exc:
            warnings.append(f"the HTML report was not written to {settings.html}: {exc.strerror or exc}")
        except ProblemsError as exc:  # a symbolic link at the target
            warnings.append(f"the HTML report was not written: {exc}")
    notified = 0
    if settings.webhooks and should_notify(exit_code, drift):
        body = payload(result, run_id=run_id, series=series, exit_code=exit_code, drift=drift)
        for webhook in settings.webhooks:
            try:
                post(webhook, body)
                notified += 1
            except NotifyError as exc:
                warnings.append(str(exc))
    return AuditOutcome(current.run, drift, pruned, notified, tuple(warnings))


def write_html(path: Path, result: RunResult, audit: AuditContext | None) -> None:
    """Written beside the target, then renamed: never a half-written report under its name."""
    with atomic_write(path, keep_mode=True) as out:  # created 0600, never through a link
        render_html(result, out, audit)


@contextmanager
def _terminate_as_interrupt() -> Iterator[None]:
    """A scheduler stops a job with SIGTERM: end collection the way Ctrl-C does, so the CLI
    says so and exits 3, with nothing recorded. Signals can only be handled in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class _Tap:
    """A provider whose records are also written, as snapshot lines, to the kept snapshot."""

    def __init__(self, provider: Provider, sink: IO[str]) -> None:
        self._provider = provider
        self._sink = sink
        self.written = 0

    def scopes(self) -> list[Scope]:
        return self._provider.scopes()

    def collect(self) -> Iterator[Record]:
        for record in self._provider.collect():
            line = record_to_json(record)
            self._sink.write(json.dumps(line, sort_keys=True, ensure_ascii=False, default=str) + "\n")
            self.written += 1
            yield record

    def __getattr__(self, name: str) -> Any:
        # restrict() and watch() reach the provider itself, when it defines them.
        return getattr(self._provider, name)


__all__ = ["AuditOutcome", "AuditSettings", "evaluate", "record", "snapshot_spool", "write_html"]
