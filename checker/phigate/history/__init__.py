"""Audit history: runs recorded in a store (SQLite or PostgreSQL), and drift between them."""

from __future__ import annotations

from phigate.history.drift import Drift, compare
from phigate.history.opening import open_store
from phigate.history.records import (
    PolicyRecord,
    RunRecord,
    RunSummary,
    StoredError,
    StoredFinding,
    StoredRun,
    run_record,
    series_of,
)
from phigate.history.store import HistoryStore, StoreError

__all__ = ["Drift", "HistoryStore", "PolicyRecord", "RunRecord", "RunSummary", "StoreError",
           "StoredError", "StoredFinding", "StoredRun", "compare", "open_store", "run_record",
           "series_of"]
