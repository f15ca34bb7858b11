"""The PostgreSQL provider: servers, schemas, tables and roles, read from the catalogs.

It never reads a table's contents and never writes: every query runs in a read-only
transaction, and the smallest role it needs (``permissions_document``) holds no table privilege.
"""

from __future__ import annotations

import argparse
import importlib.util
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar

from phigate.api import Record, Resource, Scope
from phigate.classify import Classifier
from phigate.config import load_config
from phigate_providers.postgres import options as opts
from phigate_providers.postgres.permissions import PERMISSIONS, permissions_sql

if importlib.util.find_spec("psycopg") is None:  # checked without paying for the import
    raise ImportError("the postgres provider needs psycopg", name="psycopg")


class PostgresProvider:
    """One instance per server (connection string)."""

    name: ClassVar[str] = "postgres"
    description: ClassVar[str] = ("PostgreSQL servers: settings, pg_hba rules, schemas, tables, roles "
                                  "(catalogs only, read-only transactions)")
    permissions: ClassVar[tuple[str, ...]] = PERMISSIONS

    def __init__(self, target: opts.ServerTarget,
                 classify: Callable[[Resource], str] | None = None) -> None:
        self.target = target
        # The engine classifies resources itself; the provider needs the same answer early, to
        # tell whether a non-TLS pg_hba rule admits a database holding clinical tables.
        self._classify = classify or Classifier(load_config(None)).data_class

    @classmethod
    def add_arguments(cls, parser: argparse._ArgumentGroup) -> None:
        opts.add_arguments(parser)

    @classmethod
    def claims(cls, target: str) -> bool:
        return False  # servers are named by --dsn or the config, never by a file

    @classmethod
    def configure(cls, targets: list[str], options: argparse.Namespace,
                  settings: Mapping[str, Any]) -> list[PostgresProvider]:
        classify = Classifier(load_config(getattr(options, "config", None))).data_class
        return [cls(target, classify) for target in opts.targets_from(options, settings)]

    @classmethod
    def permissions_document(cls) -> str:
        return permissions_sql()

    def scopes(self) -> list[Scope]:
        return [Scope(self.name, self.target.label)]

    def collect(self) -> Iterator[Record]:
        from phigate_providers.postgres.collect import collect_server  # psycopg, only when scanning

        yield from collect_server(self.target, self._classify)
