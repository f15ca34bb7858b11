"""The SQLite history store: one file, WAL journal, a busy timeout for concurrent audits.

WAL lets ``phigate history`` read while an audit writes; ``BEGIN IMMEDIATE`` takes the write
lock at the start of a write transaction, so two audits recording at once queue (up to the busy
timeout) instead of failing half-way. The file is created readable by its owner only: findings
name resources and, with ``--keep-snapshot``, the store holds what the providers read.
"""

from __future__ import annotations

import datetime as dt
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from phigate.history.sql import Dialect, SqlStore, Transaction
from phigate.history.store import StoreError

#: How long a writer waits for another writer before giving up (an audit records in well
#: under a second, so this only runs out when something holds the lock abnormally).
BUSY_TIMEOUT_SECONDS = 60.0


def _encode_time(moment: dt.datetime) -> str:
    # Fixed width and UTC, so that text order is time order.
    return moment.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _decode_time(value: object) -> dt.datetime:
    return dt.datetime.fromisoformat(str(value))


SQLITE = Dialect("sqlite", "?", "?", _encode_time, _decode_time)


class SqliteStore(SqlStore):
    dialect = SQLITE

    def __init__(self, path: Path) -> None:
        self.path = path
        self.location = str(path)
        #: One connection per thread for the store's life: opening one per transaction cost a
        #: WAL checkpoint with its fsyncs at every close, and a SQLite connection may be used
        #: only by the thread that opened it (nor carried across a fork: the pid is kept too).
        self._local = threading.local()

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[Transaction]:
        connection = self._shared()
        try:
            connection.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            yield Transaction(connection, self.dialect)
            connection.execute("COMMIT")
        except sqlite3.Error as exc:
            _rollback(connection)
            raise StoreError(self.location, str(exc)) from None
        except BaseException:
            _rollback(connection)
            raise

    def _shared(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is not None and getattr(self._local, "pid", None) != os.getpid():
            connection = None  # inherited through a fork: the parent's, never to be used here
        elif connection is not None and not self.path.exists():
            self.close()  # the file was removed: start a new one rather than write into the void
            connection = None
        if connection is None:
            connection = self._connect()
            self._local.connection, self._local.pid = connection, os.getpid()
        return connection

    def close(self) -> None:
        """Close this thread's connection (another thread's closes when that thread ends)."""
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is not None:
            with suppress(sqlite3.Error):
                connection.close()
            self._local.connection = None

    def _connect(self) -> sqlite3.Connection:
        if not self.path.exists():
            try:
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
            except OSError as exc:
                raise StoreError(self.location, exc.strerror or str(exc)) from None
        try:
            connection = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        except sqlite3.Error as exc:
            raise StoreError(self.location, str(exc)) from None
        try:
            connection.execute("PRAGMA foreign_keys = ON")  # per connection: the cascades need it
            # In WAL mode NORMAL never corrupts the store; a power cut may lose the last commit
            # (the next audit records again) instead of paying an fsync per recorded report.
            connection.execute("PRAGMA synchronous = NORMAL")
            if connection.execute("PRAGMA journal_mode").fetchone() != ("wal",):
                connection.execute("PRAGMA journal_mode = WAL")  # persistent: set once per file
        except sqlite3.Error as exc:
            connection.close()
            if "not a database" in str(exc):
                raise StoreError(self.location, "not a SQLite database") from None
            raise StoreError(self.location, str(exc)) from None
        return connection

    def _tables(self, tx: Transaction) -> set[str]:
        return {name for (name,) in tx.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _rollback(connection: sqlite3.Connection) -> None:
    # Best effort: the connection is closed next, and SQLite discards what was not committed.
    if connection.in_transaction:
        with suppress(sqlite3.Error):
            connection.execute("ROLLBACK")


__all__ = ["BUSY_TIMEOUT_SECONDS", "SqliteStore"]
