"""The history store, on a real SQLite file and a real PostgreSQL server: runs read back as
written, failures keep their start date, drift says only what it can know, retention keeps each
series' latest run, migrations move forward, concurrent writers and a write that dies half-way
leave the store whole."""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import itertools
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

import psycopg
import pytest

from phigate.api import InputError
from phigate.config import Config
from phigate.frameworks import load_frameworks
from phigate.history import RunRecord, StoredFinding, compare, open_store, run_record
from phigate.history.migrations import LATEST
from phigate.history.postgres import PostgresStore
from phigate.history.sqlite import SqliteStore
from phigate.load import load_policies
from phigate.model import Severity
from phigate.run import RunResult, scan
from phigate_providers.snapshot import SnapshotProvider

from .conftest import DATA, pg_database, resource, store_location
from .pg_server import Cluster

POLICIES = load_policies([DATA / "policies"], Config())
FRAMEWORKS = load_frameworks()
WriteSnapshot = Callable[..., Path]


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return store_location(request, tmp_path, "history")


def query(location: str, sql: str) -> list[tuple[Any, ...]]:
    """Raw SQL on the store's database, to look under the store's own API."""
    if location.startswith("postgresql://"):
        with psycopg.connect(location, autocommit=True) as connection:
            cursor = connection.execute(sql.encode())
            return cursor.fetchall() if cursor.description else []
    with closing(sqlite3.connect(location)) as connection:
        rows = connection.execute(sql).fetchall()
        connection.commit()
        return rows


def bucket(rid: str, versioning: bool | None) -> dict[str, Any]:
    """A clinical bucket for T-VERSIONING: fails when unversioned, errs when not seen (None)."""
    attributes = {} if versioning is None else {"versioning": versioning}
    return resource(rid, "object_store", tags={"data_class": "clinical"}, attributes=attributes)


def evaluate(write_snapshot: WriteSnapshot, estate: dict[str, bool | None],
             errors: list[dict[str, Any]] | None = None, only: Sequence[str] = ()) -> RunResult:
    path = write_snapshot([bucket(rid, v) for rid, v in estate.items()], errors)
    policies = [p for p in POLICIES if not only or p.id in only]
    return scan([SnapshotProvider([path])], policies, Config(), frameworks=FRAMEWORKS)


def record(store: Any, result: RunResult, series: str = "estate") -> int:
    return int(store.record(run_record(result, series=series,
                                       exit_code=result.exit_code(Severity.INFO))))


def failing(findings: Sequence[StoredFinding]) -> set[str]:
    return {f.resource_id for f in findings}


def test_a_run_reads_back_as_written(location: str, write_snapshot: WriteSnapshot) -> None:
    denied = {"provider": "test", "scope": "acct", "message": "AccessDenied: GetBucketVersioning",
              "kinds": ["object_store"], "resource_id": "b1", "permission": "s3:GetBucketVersioning"}
    result = evaluate(write_snapshot, {"b0": False, "b1": None, "b2": True}, errors=[denied])
    store = open_store(location, create=True)
    run_id = record(store, result)
    stored = store.load(run_id)

    assert stored.run.series == "estate" and stored.run.exit_code == 3
    assert stored.run.started == result.started and stored.run.finished == result.finished
    assert stored.run.summary["fail"] == 1 and stored.run.summary["error"] == 1
    assert stored.run.summary["collection_errors"] == 1 and stored.run.summary["resources"] == 3
    assert [s["provider"] for s in stored.run.scopes] == ["snapshot"]
    assert {c["framework"] for c in stored.run.compliance} == {"gdpr", "hipaa"}
    assert {p.policy_id for p in stored.policies} == {"T-VERSIONING", "T-SEGMENTATION"}
    assert {(f.fingerprint, f.status) for f in stored.findings} == {
        (f.fingerprint, f.status.value) for f in result.findings}
    fail = next(f for f in stored.findings if f.status == "fail")
    assert fail.resource_id == "b0" and fail.data_class == "clinical" and fail.severity == "medium"
    assert fail.evidence == [{"path": "versioning", "op": "eq", "expected": True, "observed": False,
                              "outcome": "false"}]
    assert fail.controls == {"hipaa": ["164.312(c)(1)"]}
    assert fail.failing_since == result.started
    assert [(e.resource_id, e.permission, e.kinds) for e in stored.errors] == [
        ("b1", "s3:GetBucketVersioning", ("object_store",))]
    assert [r.id for r in store.runs()] == [run_id]


def test_a_failure_is_dated_from_the_first_run_of_its_unbroken_streak(
        location: str, write_snapshot: WriteSnapshot) -> None:
    store = open_store(location, create=True)
    first = evaluate(write_snapshot, {"b0": False})
    record(store, first)
    record(store, evaluate(write_snapshot, {"b0": True}), series="another estate")  # not this series
    second = store.load(record(store, evaluate(write_snapshot, {"b0": False})))
    assert [f.failing_since for f in second.findings] == [first.started]
    record(store, evaluate(write_snapshot, {"b0": True}))  # fixed for a night: the streak ends
    again = evaluate(write_snapshot, {"b0": False})
    fourth = store.load(record(store, again))
    assert [f.failing_since for f in fourth.findings] == [again.started]


def test_drift_resolves_only_what_the_later_run_could_see(location: str,
                                                          write_snapshot: WriteSnapshot) -> None:
    store = open_store(location, create=True)
    one = record(store, evaluate(write_snapshot, {"b0": False, "b1": False, "b2": False}))
    two = record(store, evaluate(write_snapshot, {"b0": True, "b1": None, "b2": False, "b3": False}))
    drift = compare(store.load(one), store.load(two))
    assert failing(drift.new) == {"b3"}
    assert failing(drift.resolved) == {"b0"}            # b1 is unknown now, not fixed
    assert failing(drift.new_errors) == {"b1"}
    assert failing(drift.still_failing) == {"b2"}
    assert drift.changed and not drift.policies_added and not drift.policies_removed

    three = record(store, evaluate(write_snapshot, {"b2": False}, only=["T-SEGMENTATION"]))
    drift = compare(store.load(two), store.load(three))
    assert drift.policies_removed == ["T-VERSIONING"]
    assert not drift.resolved and not drift.new           # a policy not run resolves nothing
    assert store.previous(three) is not None and store.previous(three).id == two  # type: ignore[union-attr]


def test_retention_keeps_the_latest_run_of_each_series(location: str,
                                                       write_snapshot: WriteSnapshot) -> None:
    store = open_store(location, create=True)
    result = evaluate(write_snapshot, {"b0": False})
    ids = [record(store, result, series) for series in ("a", "a", "b", "a")]
    assert store.prune(dt.datetime.now(dt.UTC) - dt.timedelta(days=90)) == 0
    assert store.prune(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1)) == 2
    assert [r.id for r in store.runs()] == [ids[3], ids[2]]
    with pytest.raises(InputError, match=f"no run {ids[0]}"):
        store.load(ids[0])
    assert query(location, "SELECT COUNT(*) FROM findings WHERE run_id NOT IN (SELECT id FROM runs)") == [(0,)]
    assert query(location, "SELECT COUNT(*) FROM run_policies WHERE run_id NOT IN (SELECT id FROM runs)") == [(0,)]


def test_a_write_that_dies_half_way_leaves_no_trace(location: str, write_snapshot: WriteSnapshot) -> None:
    store = open_store(location, create=True)
    kept = record(store, evaluate(write_snapshot, {"b0": False}))
    good = run_record(evaluate(write_snapshot, {f"b{i}": False for i in range(5)}), series="estate",
                      exit_code=1)

    class DiesAfterTwo(list[StoredFinding]):
        def __iter__(self) -> Iterator[StoredFinding]:
            yield from itertools.islice(list.__iter__(self), 2)
            raise RuntimeError("killed while writing")

    with pytest.raises(RuntimeError, match="killed while writing"):
        store.record(dataclasses.replace(good, findings=DiesAfterTwo(good.findings)))
    assert [r.id for r in store.runs()] == [kept]
    assert query(location, "SELECT COUNT(*) FROM runs") == [(1,)]
    assert query(location, "SELECT COUNT(*) FROM findings") == [(1,)]
    assert query(location, "SELECT COUNT(*) FROM run_policies") == [(2,)]


def test_concurrent_writers_into_a_new_store_all_land_whole(location: str,
                                                            write_snapshot: WriteSnapshot) -> None:
    record_ = run_record(evaluate(write_snapshot, {f"b{i}": i % 2 == 0 for i in range(40)}),
                         series="estate", exit_code=1)
    writers, runs_each = 5, 3
    start_together = threading.Barrier(writers)
    ids: list[int] = []
    problems: list[BaseException] = []

    def write() -> None:
        try:
            start_together.wait(timeout=60)
            store = open_store(location, create=True)  # the schema is created once, by one of them
            for _ in range(runs_each):
                ids.append(store.record(record_))
        except BaseException as exc:
            problems.append(exc)

    _run_together(write, writers)
    assert problems == []
    assert len(set(ids)) == writers * runs_each
    store = open_store(location, create=False)
    assert sorted(r.id for r in store.runs()) == sorted(ids)
    assert query(location, "SELECT version FROM schema_version ORDER BY version") == [
        (v,) for v in range(1, LATEST + 1)]
    assert query(location, "SELECT COUNT(*) FROM findings") == [(20 * writers * runs_each,)]
    first = min(ids)
    since = {f.failing_since for run_id in ids for f in store.load(run_id).findings}
    assert since == {store.get(first).started}  # every later run continues the first one's streak


def test_one_sqlite_store_shared_by_threads_records_every_run(tmp_path: Path,
                                                               write_snapshot: WriteSnapshot) -> None:
    store = open_store(str(tmp_path / "shared.db"), create=True)
    record_ = run_record(evaluate(write_snapshot, {"b0": True, "b1": False}), series="estate", exit_code=1)
    writers, runs_each = 6, 5
    start_together = threading.Barrier(writers)
    ids: list[int] = []
    problems: list[BaseException] = []

    def write() -> None:
        try:
            start_together.wait(timeout=60)
            for _ in range(runs_each):
                ids.append(store.record(record_))
                store.runs()
        except BaseException as exc:
            problems.append(exc)

    _run_together(write, writers)
    assert problems == []
    assert sorted(r.id for r in store.runs()) == sorted(ids)
    assert len(set(ids)) == writers * runs_each


def raw_store(location: str) -> SqliteStore | PostgresStore:
    return PostgresStore(location) if location.startswith("postgresql://") else SqliteStore(Path(location))


def test_an_older_store_is_migrated_forward_with_its_runs(location: str,
                                                          write_snapshot: WriteSnapshot) -> None:
    old = raw_store(location)
    assert old.migrate(upto=1) == 1
    run_id = old.record(run_record(evaluate(write_snapshot, {"b0": False}), series="estate", exit_code=1))
    store = open_store(location, create=False)
    assert store.schema_version() == LATEST == 3
    assert failing(store.load(run_id).findings) == {"b0"}
    assert store.snapshot(run_id) is None
    assert [row[0] for row in query(location, "SELECT version FROM schema_version ORDER BY version")] == [1, 2, 3]


def test_a_kept_snapshot_is_stored_with_its_run(location: str, write_snapshot: WriteSnapshot,
                                                tmp_path: Path) -> None:
    store = open_store(location, create=True)
    spool = tmp_path / "snapshot.jsonl.gz"
    spool.write_bytes(gzip.compress(b'{"phigate_snapshot": 1}\n' * 1000))
    result = evaluate(write_snapshot, {"b0": False})
    kept = store.record(run_record(result, series="estate", exit_code=1, snapshot=spool))
    plain = store.record(run_record(result, series="estate", exit_code=1))
    assert store.snapshot(kept) == spool.read_bytes() and store.snapshot(plain) is None
    assert [r.has_snapshot for r in store.runs()] == [False, True]
    store.prune(dt.datetime.now(dt.UTC) + dt.timedelta(seconds=1))
    assert query(location, "SELECT COUNT(*) FROM snapshots") == [(0,)]  # gone with its run


def test_a_store_from_a_newer_phigate_is_refused(location: str) -> None:
    open_store(location, create=True)
    query(location, "INSERT INTO schema_version (version, description, applied) "
                    "VALUES (99, 'from the future', '2030-01-01T00:00:00+00:00')")
    with pytest.raises(InputError, match="schema version 99, newer than this phigate knows"):
        open_store(location, create=False)


def test_a_file_that_is_not_a_store_is_refused(tmp_path: Path) -> None:
    junk = tmp_path / "notes.db"
    junk.write_bytes(b"patient notes, not a database" * 100)
    with pytest.raises(InputError, match="not a SQLite database"):
        open_store(str(junk), create=True)
    other = tmp_path / "other.db"
    with closing(sqlite3.connect(other)) as connection:
        connection.execute("CREATE TABLE runs (x)")
    with pytest.raises(InputError, match="not a phigate history store"):
        open_store(str(other), create=True)
    with pytest.raises(InputError, match="no history store at"):
        open_store(str(tmp_path / "missing.db"), create=False)
    assert not (tmp_path / "missing.db").exists()
    with pytest.raises(InputError, match="unsupported history store 'mysql://"):
        open_store("mysql://db/phigate", create=True)


def test_the_sqlite_store_is_private_and_in_wal_mode(tmp_path: Path) -> None:
    path = tmp_path / "history.db"
    open_store(str(path), create=True)
    assert path.stat().st_mode & 0o077 == 0
    assert query(str(path), "PRAGMA journal_mode") == [("wal",)]


def test_the_postgresql_password_never_shows(pg: Cluster) -> None:
    canary = "Canary-pw-7f3a"
    url = f"postgresql://postgres:{canary}@127.0.0.1:{pg.port}/postgres"
    with pytest.raises(InputError) as caught:
        open_store(url, create=True)
    message = str(caught.value)
    assert canary not in message
    assert f"postgresql://postgres@127.0.0.1:{pg.port}/postgres" in message
    assert "password authentication failed" in message
    good = open_store(pg_database(pg, "history"), create=True)
    assert pg.password not in good.location


def test_run_record_keeps_what_reports_keep_and_nothing_raw(write_snapshot: WriteSnapshot) -> None:
    path = write_snapshot([resource("b0", "object_store", tags={"data_class": "clinical"},
                                    attributes={"versioning": False}, raw={"Policy": "CANARY-raw"})])
    result = scan([SnapshotProvider([path])], POLICIES, Config(), frameworks=FRAMEWORKS)
    record_: RunRecord = run_record(result, series="s", exit_code=1)
    assert "CANARY" not in repr(record_)


def _run_together(write: Callable[[], None], writers: int) -> None:
    """``writers`` threads running ``write``, each waited for at most a minute (never forever)."""
    threads = [threading.Thread(target=write) for _ in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
        assert not thread.is_alive(), "a writer still runs after a minute"
