"""The history store's schema, as numbered forward migrations.

The ``schema_version`` table lists the migrations applied. Opening a store applies the missing
ones, all in one transaction under the store's write lock (so two audits opening a new store
at once create it once); a store written by a newer phigate is refused rather than misread.
Migrations are only ever appended: a released one is never edited.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from phigate.api import InputError


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str
    #: DDL with ``{id}``, ``{time}``, ``{json}`` and ``{blob}`` standing for the dialect's types.
    statements: tuple[str, ...]


#: Column types per dialect.
TYPES: Mapping[str, Mapping[str, str]] = {
    "sqlite": {"id": "INTEGER PRIMARY KEY AUTOINCREMENT", "time": "TEXT", "json": "TEXT",
               "blob": "BLOB"},
    "postgresql": {"id": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "time": "TIMESTAMPTZ",
                   "json": "JSONB", "blob": "BYTEA"},
}

VERSION_TABLE = (
    "CREATE TABLE IF NOT EXISTS schema_version ("
    " version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied {time} NOT NULL)"
)

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "runs, their policies, findings and collection errors", (
        "CREATE TABLE runs ("
        " id {id}, series TEXT NOT NULL, scopes {json} NOT NULL,"
        " started {time} NOT NULL, finished {time} NOT NULL, recorded {time} NOT NULL,"
        " tool_version TEXT NOT NULL, packs {json} NOT NULL, summary {json} NOT NULL,"
        " compliance {json} NOT NULL, exit_code INTEGER NOT NULL)",
        "CREATE INDEX runs_by_series ON runs (series, id)",
        "CREATE INDEX runs_by_start ON runs (started)",
        "CREATE TABLE run_policies ("
        " run_id BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,"
        " policy_id TEXT NOT NULL, title TEXT NOT NULL, severity TEXT NOT NULL,"
        " counts {json} NOT NULL, provider_counts {json} NOT NULL, PRIMARY KEY (run_id, policy_id))",
        "CREATE TABLE findings ("
        " run_id BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,"
        " fingerprint TEXT NOT NULL, policy_id TEXT NOT NULL, title TEXT NOT NULL,"
        " severity TEXT NOT NULL, status TEXT NOT NULL, resource_id TEXT NOT NULL,"
        " resource_name TEXT, resource_type TEXT NOT NULL, resource_kind TEXT NOT NULL,"
        " provider TEXT NOT NULL, scope TEXT NOT NULL, region TEXT, data_class TEXT,"
        " message TEXT NOT NULL, evidence {json} NOT NULL, controls {json} NOT NULL,"
        " waiver {json}, failing_since {time})",
        "CREATE INDEX findings_by_run ON findings (run_id, status)",
        "CREATE TABLE collection_errors ("
        " run_id BIGINT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,"
        " provider TEXT NOT NULL, scope TEXT NOT NULL, region TEXT, resource_id TEXT,"
        " permission TEXT, kinds {json} NOT NULL, types {json} NOT NULL, message TEXT NOT NULL)",
        "CREATE INDEX collection_errors_by_run ON collection_errors (run_id)",
    )),
    Migration(2, "the snapshot a run evaluated, kept on request; findings by fingerprint", (
        "CREATE TABLE snapshots ("
        " run_id BIGINT PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,"
        " encoding TEXT NOT NULL, content {blob} NOT NULL)",
        "CREATE INDEX findings_by_fingerprint ON findings (fingerprint)",
    )),
    Migration(3, "suppliers' evidence: imported attestations and direct audits", (
        "CREATE TABLE supplier_evidence ("
        " id {id}, supplier TEXT NOT NULL, digest TEXT NOT NULL, source TEXT NOT NULL,"
        " keyid TEXT, started {time} NOT NULL, finished {time} NOT NULL, recorded {time} NOT NULL,"
        " tool_version TEXT NOT NULL, packs {json} NOT NULL, scopes {json} NOT NULL,"
        " summary {json} NOT NULL, failures {json} NOT NULL, compliance {json} NOT NULL,"
        " policies {json} NOT NULL, evidence_complete INTEGER NOT NULL,"
        " report {blob} NOT NULL, envelope {blob})",
        "CREATE UNIQUE INDEX supplier_evidence_once ON supplier_evidence (supplier, digest)",
        "CREATE INDEX supplier_evidence_by_time ON supplier_evidence (supplier, finished)",
    )),
)

LATEST = MIGRATIONS[-1].version


def statements(migration: Migration, dialect: str) -> list[str]:
    return [s.format_map(TYPES[dialect]) for s in migration.statements]


def version_table(dialect: str) -> str:
    return VERSION_TABLE.format_map(TYPES[dialect])


def pending(current: int, location: str, upto: int = LATEST) -> list[Migration]:
    """The migrations a store at ``current`` needs; a newer store is an input error."""
    if current > LATEST:
        raise InputError(f"history store {location} has schema version {current}, newer than this "
                         f"phigate knows ({LATEST}); upgrade phigate")
    return [m for m in MIGRATIONS if current < m.version <= upto]


__all__ = ["LATEST", "MIGRATIONS", "Migration", "pending", "statements", "version_table"]
