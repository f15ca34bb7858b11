"""The history store in SQL, shared by the SQLite and PostgreSQL stores.

Subclasses provide connections (``_transaction``) and the dialect; everything else (schema
migrations, recording a run, reading runs back, retention) is written once here, in SQL both
databases accept, with ``?`` placeholders the dialect rewrites.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from phigate.api import InputError
from phigate.history import migrations
from phigate.history.evidence import EvidenceRecord, StoredEvidence
from phigate.history.records import (
    PolicyRecord,
    RunRecord,
    RunSummary,
    StoredError,
    StoredFinding,
    StoredRun,
)

_RUN_COLUMNS = ("series", "scopes", "started", "finished", "recorded", "tool_version", "packs",
                "summary", "compliance", "exit_code")
_FINDING_COLUMNS = ("run_id", "fingerprint", "policy_id", "title", "severity", "status", "resource_id",
                    "resource_name", "resource_type", "resource_kind", "provider", "scope", "region",
                    "data_class", "message", "evidence", "controls", "waiver", "failing_since")
_JSON_COLUMNS = frozenset({"scopes", "packs", "summary", "compliance", "evidence", "controls",
                           "waiver", "counts", "provider_counts", "kinds", "types", "failures",
                           "policies"})
_EVIDENCE_COLUMNS = ("supplier", "digest", "source", "keyid", "started", "finished", "recorded",
                     "tool_version", "packs", "scopes", "summary", "failures", "compliance",
                     "policies", "evidence_complete", "report", "envelope")
_TIME_COLUMNS = frozenset({"started", "finished", "recorded", "failing_since"})


@dataclass(frozen=True, slots=True)
class Dialect:
    name: str
    placeholder: str
    json_placeholder: str
    encode_time: Callable[[dt.datetime], Any]
    decode_time: Callable[[Any], dt.datetime]

    def sql(self, text: str) -> str:
        return text.replace("?", self.placeholder)

    def values(self, columns: Sequence[str]) -> str:
        return ", ".join(self.json_placeholder if c in _JSON_COLUMNS else "?" for c in columns)

    def insert(self, table: str, columns: Sequence[str], returning: str = "") -> str:
        tail = f" RETURNING {returning}" if returning else ""
        return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({self.values(columns)}){tail}"


class Transaction:
    """One open transaction on a DB-API connection (sqlite3 or psycopg)."""

    def __init__(self, connection: Any, dialect: Dialect) -> None:
        self._connection = connection  # typed Any: the two drivers share this much of DB-API
        self._dialect = dialect

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cursor = self._connection.cursor()
        cursor.execute(self._dialect.sql(sql), tuple(params))
        return [tuple(row) for row in cursor.fetchall()] if cursor.description is not None else []

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        batch = [tuple(r) for r in rows]
        if batch:
            self._connection.cursor().executemany(self._dialect.sql(sql), batch)


class SqlStore:
    location: str
    dialect: Dialect

    def _transaction(self, write: bool) -> AbstractContextManager[Transaction]:
        """A transaction; ``write`` takes the store's write lock first (one writer at a time)."""
        raise NotImplementedError

    def _tables(self, tx: Transaction) -> set[str]:
        raise NotImplementedError

    # -- schema ---------------------------------------------------------------------------

    def schema_version(self) -> int:
        with self._transaction(write=False) as tx:
            return self._version(tx)

    def migrate(self, upto: int | None = None) -> int:
        target = migrations.LATEST if upto is None else upto
        current = self.schema_version()
        if not migrations.pending(current, self.location, target):
            return current
        with self._transaction(write=True) as tx:  # again under the lock: another may have won
            current = self._version(tx)
            tx.execute(migrations.version_table(self.dialect.name))
            for migration in migrations.pending(current, self.location, target):
                for statement in migrations.statements(migration, self.dialect.name):
                    tx.execute(statement)
                tx.execute("INSERT INTO schema_version (version, description, applied) VALUES (?, ?, ?)",
                           (migration.version, migration.description, self._now()))
                current = migration.version
        return current

    def _version(self, tx: Transaction) -> int:
        tables = self._tables(tx)
        if "schema_version" not in tables:
            if "runs" in tables:
                raise InputError(f"{self.location} holds a 'runs' table but is not a phigate "
                                 "history store (no schema_version)")
            return 0
        rows = tx.execute("SELECT MAX(version) FROM schema_version")
        return int(rows[0][0] or 0)

    # -- writing --------------------------------------------------------------------------

    def record(self, run: RunRecord) -> int:
        d = self.dialect
        snapshot = run.snapshot.read_bytes() if run.snapshot is not None else None
        with self._transaction(write=True) as tx:
            since = self._failing_since(tx, run.series)
            values = (run.series, _dump(run.scopes), d.encode_time(run.started),
                      d.encode_time(run.finished), self._now(), run.tool_version, _dump(run.packs),
                      _dump(run.summary), _dump(run.compliance), run.exit_code)
            run_id = int(tx.execute(d.insert("runs", _RUN_COLUMNS, "id"), values)[0][0])
            tx.executemany(
                d.insert("run_policies", ("run_id", "policy_id", "title", "severity", "counts",
                                          "provider_counts")),
                ((run_id, p.policy_id, p.title, p.severity, _dump(p.counts), _dump(p.provider_counts))
                 for p in run.policies))
            started = d.encode_time(run.started)
            tx.executemany(d.insert("findings", _FINDING_COLUMNS),
                           (self._finding_row(run_id, f, since.get(f.fingerprint, started))
                            for f in run.findings))
            tx.executemany(
                d.insert("collection_errors", ("run_id", "provider", "scope", "region", "resource_id",
                                               "permission", "kinds", "types", "message")),
                ((run_id, e.provider, e.scope, e.region, e.resource_id, e.permission,
                  _dump(list(e.kinds)), _dump(list(e.types)), e.message) for e in run.errors))
            if snapshot is not None:
                tx.execute("INSERT INTO snapshots (run_id, encoding, content) VALUES (?, ?, ?)",
                           (run_id, "jsonl+gzip", snapshot))
        return run_id

    def _failing_since(self, tx: Transaction, series: str) -> dict[str, Any]:
        """For each failure of the series' last run: since when it has been failing."""
        rows = tx.execute("SELECT f.fingerprint, f.failing_since FROM findings f WHERE f.status = 'fail'"
                          " AND f.run_id = (SELECT MAX(id) FROM runs WHERE series = ?)", (series,))
        return {fingerprint: since for fingerprint, since in rows if since is not None}

    @staticmethod
    def _finding_row(run_id: int, f: StoredFinding, since: Any) -> tuple[Any, ...]:
        return (run_id, f.fingerprint, f.policy_id, f.title, f.severity, f.status, f.resource_id,
                f.resource_name, f.resource_type, f.resource_kind, f.provider, f.scope, f.region,
                f.data_class, f.message, _dump(f.evidence), _dump(f.controls),
                None if f.waiver is None else _dump(f.waiver), since if f.status == "fail" else None)

    def prune(self, before: dt.datetime) -> int:
        with self._transaction(write=True) as tx:
            deleted = tx.execute(
                "DELETE FROM runs WHERE started < ?"
                " AND id NOT IN (SELECT MAX(id) FROM runs GROUP BY series) RETURNING id",
                (self.dialect.encode_time(before),))
        return len(deleted)

    def record_evidence(self, evidence: EvidenceRecord, *, newer_only: bool) -> int:
        """Write one supplier's evidence; with ``newer_only``, refuse (``InputError``) a report
        already recorded or not newer than the latest one recorded, under the write lock."""
        d = self.dialect
        with self._transaction(write=True) as tx:
            if tx.execute("SELECT 1 FROM supplier_evidence WHERE supplier = ? AND digest = ?",
                          (evidence.supplier, evidence.digest)):
                raise InputError(f"this report of '{evidence.supplier}' was already imported "
                                 "(a replay): nothing recorded")
            latest = tx.execute("SELECT MAX(finished) FROM supplier_evidence WHERE supplier = ?",
                                (evidence.supplier,))[0][0]
            if newer_only and latest is not None and evidence.finished <= d.decode_time(latest):
                raise InputError(
                    f"this report of '{evidence.supplier}' ends {evidence.finished.isoformat()}, not after "
                    f"the latest recorded ({d.decode_time(latest).isoformat()}): an older or back-dated "
                    "report is never recorded")
            values = (evidence.supplier, evidence.digest, evidence.source, evidence.keyid,
                      d.encode_time(evidence.started), d.encode_time(evidence.finished), self._now(),
                      evidence.tool_version, _dump(evidence.packs), _dump(evidence.scopes),
                      _dump(evidence.summary), _dump(evidence.failures), _dump(evidence.compliance),
                      _dump(evidence.policies), int(evidence.evidence_complete), evidence.report,
                      evidence.envelope)
            return int(tx.execute(d.insert("supplier_evidence", _EVIDENCE_COLUMNS, "id"), values)[0][0])

    def evidence(self, supplier: str | None = None, *,
                 since: dt.datetime | None = None) -> list[StoredEvidence]:
        """Recorded evidence (without the reports), newest first."""
        clauses, params = [], []
        if supplier is not None:
            clauses.append("supplier = ?")
            params.append(supplier)
        if since is not None:
            clauses.append("finished >= ?")
            params.append(self.dialect.encode_time(since))
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        columns = ("id", *(c for c in _EVIDENCE_COLUMNS if c not in ("report", "envelope")))
        with self._transaction(write=False) as tx:
            rows = tx.execute(f"SELECT {', '.join(columns)} FROM supplier_evidence{where}"
                              " ORDER BY finished DESC, id DESC", params)
        found = []
        decode = self.dialect.decode_time
        for row in rows:
            values = dict(zip(columns, row, strict=True))
            for column in _JSON_COLUMNS.intersection(values):
                values[column] = _load(values[column])
            for column in ("started", "finished", "recorded"):
                values[column] = decode(values[column])
            values["evidence_complete"] = bool(values["evidence_complete"])
            found.append(StoredEvidence(**values))
        return found

    def evidence_report(self, evidence_id: int) -> bytes:
        """The gzipped JSON report kept with one piece of evidence."""
        with self._transaction(write=False) as tx:
            rows = tx.execute("SELECT report FROM supplier_evidence WHERE id = ?", (evidence_id,))
        if not rows:
            raise InputError(f"no evidence {evidence_id} in history store {self.location}")
        return bytes(rows[0][0])

    # -- reading --------------------------------------------------------------------------

    _SUMMARY = ("SELECT id, series, scopes, started, finished, tool_version, packs, summary, compliance,"
                " exit_code, EXISTS (SELECT 1 FROM snapshots s WHERE s.run_id = runs.id) FROM runs")

    def runs(self, series: str | None = None, limit: int | None = None) -> list[RunSummary]:
        where, params = ("WHERE series = ?", [series]) if series is not None else ("", [])
        tail = f" LIMIT {int(limit)}" if limit is not None else ""
        with self._transaction(write=False) as tx:
            rows = tx.execute(f"{self._SUMMARY} {where} ORDER BY id DESC{tail}", params)
        return [self._summary(row) for row in rows]

    def get(self, run_id: int) -> RunSummary:
        with self._transaction(write=False) as tx:
            rows = tx.execute(f"{self._SUMMARY} WHERE id = ?", (run_id,))
        if not rows:
            raise InputError(f"no run {run_id} in history store {self.location}")
        return self._summary(rows[0])

    def previous(self, run_id: int) -> RunSummary | None:
        with self._transaction(write=False) as tx:
            rows = tx.execute(f"{self._SUMMARY} WHERE id = (SELECT MAX(id) FROM runs WHERE id < ?"
                              " AND series = (SELECT series FROM runs WHERE id = ?))", (run_id, run_id))
        return self._summary(rows[0]) if rows else None

    def load(self, run_id: int) -> StoredRun:
        summary = self.get(run_id)
        with self._transaction(write=False) as tx:
            policies = tx.execute("SELECT policy_id, title, severity, counts, provider_counts"
                                  " FROM run_policies WHERE run_id = ? ORDER BY policy_id", (run_id,))
            findings = tx.execute(f"SELECT {', '.join(_FINDING_COLUMNS[1:])} FROM findings"
                                  " WHERE run_id = ? ORDER BY policy_id, resource_id, status", (run_id,))
            errors = tx.execute("SELECT provider, scope, region, resource_id, permission, kinds, types,"
                                " message FROM collection_errors WHERE run_id = ?", (run_id,))
        return StoredRun(
            summary,
            [PolicyRecord(pid, title, severity, _load(counts), _load(by_provider))
             for pid, title, severity, counts, by_provider in policies],
            [self._finding(row) for row in findings],
            [StoredError(provider, scope, region, rid, permission, tuple(_load(kinds)),
                         tuple(_load(types)), message)
             for provider, scope, region, rid, permission, kinds, types, message in errors])

    def snapshot(self, run_id: int) -> bytes | None:
        with self._transaction(write=False) as tx:
            rows = tx.execute("SELECT content FROM snapshots WHERE run_id = ?", (run_id,))
        return bytes(rows[0][0]) if rows else None

    def _summary(self, row: tuple[Any, ...]) -> RunSummary:
        (run_id, series, scopes, started, finished, version, packs, summary, compliance, exit_code,
         has_snapshot) = row
        decode = self.dialect.decode_time
        return RunSummary(series, _load(scopes), decode(started), decode(finished), version,
                          _load(packs), _load(summary), _load(compliance), int(exit_code),
                          id=int(run_id), has_snapshot=bool(has_snapshot))

    def _finding(self, row: tuple[Any, ...]) -> StoredFinding:
        values = dict(zip(_FINDING_COLUMNS[1:], row, strict=True))
        for column in _JSON_COLUMNS.intersection(values):
            values[column] = _load(values[column])
        for column in _TIME_COLUMNS.intersection(values):
            if values[column] is not None:
                values[column] = self.dialect.decode_time(values[column])
        return StoredFinding(**values)

    def _now(self) -> Any:
        return self.dialect.encode_time(dt.datetime.now(dt.UTC))


def _dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def _load(value: Any) -> Any:
    """JSON columns: text in SQLite, already decoded by the driver in PostgreSQL (JSONB)."""
    return json.loads(value) if isinstance(value, (str, bytes)) else value


__all__ = ["Dialect", "SqlStore", "Transaction"]
