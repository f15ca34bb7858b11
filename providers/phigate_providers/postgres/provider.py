"""The PostgreSQL provider: servers, schemas, tables and roles, read from the catalogs.

It never writes: every query runs in a read-only transaction, and the smallest role it needs
(``permissions_document``) holds no table privilege. It reads no table's contents unless content
sampling is on (``--sample-content``): then a few rows of each non-clinical table, which needs
SELECT on those tables (``permissions_document(sample_content=True)``).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Iterator, Mapping
from typing import ClassVar

from phigate.api import Record, Resource, RunContext, Scope
from phigate.classify import Classifier
from phigate.config import Config
from phigate_providers.content.options import ContentOptions
from phigate_providers.postgres import options as opts
from phigate_providers.postgres.permissions import PERMISSIONS, permissions_sql, sampling_sql

if importlib.util.find_spec("psycopg") is None:  # checked without paying for the import
    raise ImportError("the postgres provider needs psycopg", name="psycopg")


class PostgresProvider:
    """One instance per server (connection string)."""

    name: ClassVar[str] = "postgres"
    description: ClassVar[str] = ("PostgreSQL servers: settings, pg_hba rules, schemas, tables, roles "
                                  "(catalogs only, read-only transactions)")
    permissions: ClassVar[tuple[str, ...]] = PERMISSIONS

    def __init__(self, target: opts.ServerTarget,
                 classify: Callable[[Resource], str] | None = None,
                 content: ContentOptions | None = None) -> None:
        self.target = target
        # The engine classifies resources itself; the provider needs the same answer early, to
        # tell whether a non-TLS pg_hba rule admits a database holding clinical tables (and
        # which tables content sampling leaves alone: the clinical ones). Built without a
        # classifier (a test's), the defaults: never a config file the engine was not given.
        self._classify = classify or Classifier(Config()).data_class
        self._content = content or ContentOptions()
        self._fields: Mapping[str, frozenset[str]] | None = None

    def restrict(self, fields: Mapping[str, frozenset[str]]) -> None:
        """Sample tables only when a selected policy reads ``content_sample``; read which roles
        store MD5 password hashes only when one reads ``md5_password_roles``."""
        self._fields = fields

    @classmethod
    def claims(cls, target: str) -> bool:
        return False  # servers are named by --dsn or the config, never by a file

    @classmethod
    def configure(cls, targets: list[str], context: RunContext) -> list[PostgresProvider]:
        servers = opts.targets_from(context.options, context.settings)
        content = ContentOptions.from_options("postgres", context.options, context.settings)
        return [cls(server, context.classify, content) for server in servers]

    @classmethod
    def permissions_document(cls, sample_content: bool = False) -> str:
        """The scanner role; with ``sample_content``, the grants content sampling needs too."""
        return permissions_sql() + (sampling_sql() if sample_content else "")

    def scopes(self) -> list[Scope]:
        return [Scope(self.name, self.target.label)]

    def collect(self) -> Iterator[Record]:
        from phigate_providers.postgres.collect import collect_server  # psycopg, only when scanning

        wanted = self._fields is None or "content_sample" in self._fields.get("table", frozenset())
        sampler = self._content.sampler() if wanted else None  # one key per run
        md5_roles = self._fields is None or "md5_password_roles" in self._fields.get("db_server", frozenset())
        yield from collect_server(self.target, self._classify, sampler, md5_roles=md5_roles)
