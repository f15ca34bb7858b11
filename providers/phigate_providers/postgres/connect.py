"""Read-only connections: every query runs in a READ ONLY transaction under a statement timeout.

The connection is made read-only twice over: ``default_transaction_read_only`` for anything run
outside our transactions, and ``BEGIN READ ONLY`` for each query. A query the server refuses
becomes :class:`Unreadable` (a one-line message and the privilege that would allow it), never
a traceback.
"""

from __future__ import annotations

import re
from typing import Any

import psycopg
from psycopg import errors

from phigate_providers.postgres.messages import Redactor, one_line
from phigate_providers.postgres.options import ServerTarget, server_id

APPLICATION_NAME = "phigate"
LOCK_TIMEOUT_MS = 5000


class Unreadable(Exception):
    """What the server would not show; ``permission`` names what would have allowed it."""

    def __init__(self, message: str, permission: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.permission = permission


class Connection:
    """One connection to one database of a server."""

    def __init__(self, conn: psycopg.Connection[tuple[Any, ...]], redact: Redactor) -> None:
        self._conn = conn
        self._redact = redact

    @property
    def host(self) -> str:
        """The host actually reached (a Unix socket directory counts as localhost)."""
        host = self._conn.info.host
        return "localhost" if not host or host.startswith("/") else host.lower()

    @property
    def server_id(self) -> str:
        """``postgres://HOST:PORT`` of the server actually reached."""
        return server_id(self.host, self._conn.info.port)

    @property
    def database(self) -> str:
        return self._conn.info.dbname

    @property
    def version_num(self) -> int:
        return self._conn.info.server_version

    def rows(self, sql: str, params: tuple[Any, ...] = (), *, what: str) -> list[tuple[Any, ...]]:
        """All rows of one catalog query, in its own read-only transaction."""
        try:
            with self._conn.transaction():
                return self._conn.execute(sql, params or None).fetchall()
        except errors.InsufficientPrivilege as exc:
            raise Unreadable(f"cannot read {what}: {one_line(str(exc), self._redact)}",
                             permission=_denied_object(str(exc))) from None
        except psycopg.Error as exc:
            raise Unreadable(f"cannot read {what}: {one_line(str(exc), self._redact)}") from None

    def close(self) -> None:
        self._conn.close()


def open_connection(target: ServerTarget, dbname: str | None = None) -> Connection:
    """Connect to ``dbname`` (default: the connection string's own) and make it read-only."""
    redact = Redactor(target.secrets)
    params: dict[str, Any] = {"application_name": APPLICATION_NAME, **target.connect_params}
    if dbname is not None:
        params["dbname"] = dbname
    try:
        conn = psycopg.connect(target.dsn, autocommit=True, **params)
    except psycopg.Error as exc:
        message = one_line(str(exc), redact)
        raise Unreadable(f"cannot connect: {message}", permission=_connect_permission(message)) from None
    try:
        conn.execute("SELECT set_config('default_transaction_read_only', 'on', false), "
                     "set_config('statement_timeout', %s, false), set_config('lock_timeout', %s, false)",
                     (f"{target.statement_timeout * 1000}", f"{LOCK_TIMEOUT_MS}"))
        conn.read_only = True  # every transaction psycopg opens starts as BEGIN READ ONLY
    except psycopg.Error as exc:
        conn.close()
        raise Unreadable(f"cannot prepare a read-only connection: {one_line(str(exc), redact)}") from None
    return Connection(conn, redact)


def _connect_permission(message: str) -> str | None:
    database = re.search(r'permission denied for database "([^"]+)"', message)
    if database:
        return f"CONNECT on database {database.group(1)}"
    if "is not permitted to log in" in message:
        return "LOGIN"
    return None


def _denied_object(message: str) -> str:
    found = re.search(r"permission denied for (\w+) ([^\s]+)", message)
    return f"SELECT on {found.group(2)}" if found else "SELECT on the system catalogs"
