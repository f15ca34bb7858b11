"""Opening a history store from ``--store PATH_OR_URL``: SQLite in a file by default,
PostgreSQL when given a ``postgresql://`` URL."""

from __future__ import annotations

import re
from pathlib import Path

from phigate.api import InputError
from phigate.history.postgres import PostgresStore
from phigate.history.sqlite import SqliteStore
from phigate.history.store import HistoryStore, StoreError

POSTGRES_SCHEMES = ("postgresql://", "postgres://")
_URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
#: A libpq ``key=value`` connection string (``host=db dbname=audit password=…``): it would
#: otherwise be taken for a SQLite file name and create a file named after the password.
_KEY_VALUE = re.compile(r"(?:^|\s)[A-Za-z_]+\s*=")


def open_store(location: str, *, create: bool) -> HistoryStore:
    """Open (and bring up to date) the store at ``location``: a file path (SQLite; created
    when ``create``) or a ``postgresql://`` URL. Problems are input errors (exit 2)."""
    store: HistoryStore
    if _KEY_VALUE.search(location) and not location.startswith(POSTGRES_SCHEMES):
        # Not quoted back: such a string usually holds a password.
        raise InputError("--store looks like a key=value connection string, which phigate does not "
                         "take (it may hold a password and cannot be told from a file name): give a "
                         "postgresql://HOST/DATABASE URL (the password in PGPASSWORD or ~/.pgpass), "
                         "or a SQLite file path (write ./NAME for a file whose name holds '=')")
    if location.startswith(POSTGRES_SCHEMES):
        store = PostgresStore(location)
    elif location.startswith("sqlite://"):
        store = _sqlite(Path(location.removeprefix("sqlite://")), create)
    elif _URL.match(location):
        scheme = location.split("://", 1)[0]
        raise InputError(f"unsupported history store '{scheme}://…' (give a file path for SQLite "
                         "or a postgresql:// URL)")
    else:
        store = _sqlite(Path(location), create)
    try:
        store.migrate()
    except StoreError as exc:
        raise InputError(f"cannot open history store {exc}") from None
    return store


def _sqlite(path: Path, create: bool) -> HistoryStore:
    if path.is_dir():
        raise InputError(f"history store {path} is a folder; give a file path")
    if not path.exists():
        if not create:
            raise InputError(f"no history store at {path} (an audit creates it)")
        if not path.parent.is_dir():
            raise InputError(f"cannot create history store {path}: no folder {path.parent}")
    return SqliteStore(path)


__all__ = ["POSTGRES_SCHEMES", "open_store"]
