"""The history store contract (``history.opening`` opens one from ``--store PATH_OR_URL``).

A store keeps audit runs: SQLite in a file by default, PostgreSQL when given a
``postgresql://`` URL. A run is written in one transaction, so an audit killed before or while
recording leaves the store as it was; concurrent audits are serialised by the store's write lock.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from phigate.history.evidence import EvidenceRecord, StoredEvidence
from phigate.history.records import RunRecord, RunSummary, StoredRun


class StoreError(Exception):
    """The store could not be read or written (the database said why; no secret in it)."""

    def __init__(self, location: str, reason: str) -> None:
        super().__init__(f"{location}: {reason}")
        self.location = location
        self.reason = reason


class HistoryStore(Protocol):
    #: Where the store is, for messages (a URL without its password).
    location: str

    def migrate(self, upto: int | None = None) -> int:
        """Apply the missing schema migrations (up to ``upto``); returns the schema version."""

    def schema_version(self) -> int: ...

    def record(self, run: RunRecord) -> int:
        """Write the whole run in one transaction; returns its id."""

    def runs(self, series: str | None = None, limit: int | None = None) -> list[RunSummary]:
        """Recorded runs, newest first."""

    def get(self, run_id: int) -> RunSummary:
        """One run; an unknown id is an input error."""

    def previous(self, run_id: int) -> RunSummary | None:
        """The run of the same series recorded just before ``run_id``."""

    def load(self, run_id: int) -> StoredRun:
        """A run with its policies, findings and collection errors."""

    def snapshot(self, run_id: int) -> bytes | None:
        """The gzipped JSON Lines snapshot kept with the run, if it was kept."""

    def record_evidence(self, evidence: EvidenceRecord, *, newer_only: bool) -> int:
        """Write a supplier's evidence in one transaction; a replayed report (same digest), or
        with ``newer_only`` one not newer than the latest recorded, is refused."""

    def evidence(self, supplier: str | None = None, *,
                 since: dt.datetime | None = None) -> list[StoredEvidence]:
        """Recorded evidence, newest first."""

    def evidence_report(self, evidence_id: int) -> bytes:
        """The gzipped JSON report of one piece of evidence."""

    def prune(self, before: dt.datetime) -> int:
        """Delete runs started before ``before``, except the latest run of each series (so the
        next audit still has something to compare with); returns how many were deleted."""


__all__ = ["HistoryStore", "StoreError"]
