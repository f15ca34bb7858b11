"""The PostgreSQL history store, for teams that keep audits in a shared database.

Writers serialise on a transaction-level advisory lock (so migrations run once and "the
previous run" is well defined); readers never wait. The password is never shown: the store is
named by its URL without it, and driver messages have it masked. libpq's usual sources of a
password (``PGPASSWORD``, ``~/.pgpass``) work, which keeps it off the command line.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from phigate.api import InputError
from phigate.history.sql import Dialect, SqlStore, Transaction
from phigate.history.store import StoreError

#: The advisory lock every writer of a phigate history store takes ("phigate" in ASCII).
WRITE_LOCK = 0x70686967617465
CONNECT_TIMEOUT_SECONDS = 10


def _encode_time(moment: dt.datetime) -> dt.datetime:
    return moment.astimezone(dt.UTC)


def _decode_time(value: Any) -> dt.datetime:
    if isinstance(value, dt.datetime):
        return value.astimezone(dt.UTC)
    return dt.datetime.fromisoformat(str(value))


POSTGRESQL = Dialect("postgresql", "%s", "CAST(%s AS jsonb)", _encode_time, _decode_time)


class PostgresStore(SqlStore):
    dialect = POSTGRESQL

    def __init__(self, url: str) -> None:
        try:
            import psycopg
            from psycopg.conninfo import conninfo_to_dict
        except ImportError:
            raise InputError("a postgresql:// history store needs psycopg: install phigate[postgres]") \
                from None
        self._psycopg = psycopg
        try:
            params = conninfo_to_dict(url)
        except psycopg.Error:
            raise InputError("the history store URL is not a valid postgresql:// URL") from None
        self._url = url
        self._password = str(params.get("password") or "")
        self.location = (f"postgresql://{params.get('user') or ''}{'@' if params.get('user') else ''}"
                         f"{params.get('host') or 'localhost'}:{params.get('port') or 5432}"
                         f"/{params.get('dbname') or ''}")

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[Transaction]:
        psycopg = self._psycopg
        try:
            connection = psycopg.connect(self._url, connect_timeout=CONNECT_TIMEOUT_SECONDS,
                                         application_name="phigate history")
        except psycopg.Error as exc:
            raise StoreError(self.location, self._reason(exc)) from None
        try:
            if write:
                connection.execute("SELECT pg_advisory_xact_lock(%s)", (WRITE_LOCK,))
            yield Transaction(connection, self.dialect)
            connection.commit()
        except psycopg.Error as exc:
            _rollback(connection)
            raise StoreError(self.location, self._reason(exc)) from None
        except BaseException:
            _rollback(connection)
            raise
        finally:
            connection.close()

    def _tables(self, tx: Transaction) -> set[str]:
        rows = tx.execute("SELECT table_name FROM information_schema.tables"
                          " WHERE table_schema = current_schema()")
        return {str(name) for (name,) in rows}

    def _reason(self, exc: Exception) -> str:
        """The driver's first line, with the password masked should it ever appear in it."""
        lines = str(exc).strip().splitlines()
        reason = lines[0] if lines else type(exc).__name__
        return reason.replace(self._password, "***") if self._password else reason


def _rollback(connection: Any) -> None:
    # Best effort: the connection is closed next, and the server discards an open transaction.
    with suppress(Exception):
        connection.rollback()


__all__ = ["PostgresStore"]
