"""`phigate audit`, `history` and `diff` as a scheduler runs them: two audits of an estate around
a change, on a SQLite file and on a real PostgreSQL server, with a real HTTP server taking the
webhook; concurrent audits; an audit killed half-way; notifications that fail."""

from __future__ import annotations

import gzip
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from phigate import notify
from phigate.notify import NotifyError, Webhook, post

from .conftest import DATA, ROOT, CliResult, resource, store_location
from .local_listener import listening
from .test_html_report import HOSTILE, parse_html

Cli = Callable[..., CliResult]
WriteSnapshot = Callable[..., Path]
POLICY_ARGS = ("--policies", str(DATA / "policies"))
BEFORE = {"b0": False, "b1": True, "b2": False}
AFTER = {"b0": True, "b1": False, "b2": False}  # b0 fixed, b1 broken, b2 still unversioned


@dataclass
class Receiver:
    """What a local webhook endpoint received; ``statuses`` are answered in turn, then 200."""

    url: str = ""
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    default: int = 200


@pytest.fixture
def webhook() -> Iterator[Receiver]:
    receiver = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            receiver.requests.append((self.path, self.headers["Content-Type"], json.loads(body)))
            self.send_response(receiver.statuses.pop(0) if receiver.statuses else receiver.default)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/T0001/SECRET-path"
    yield receiver
    server.shutdown()
    server.server_close()


@pytest.fixture(params=["sqlite", "postgresql"])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    return store_location(request, tmp_path, "audit")


@pytest.fixture(autouse=True)
def no_default_store(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PHIGATE_STORE", raising=False)


def estate(write_snapshot: WriteSnapshot, versioning: dict[str, bool]) -> Path:
    """Clinical buckets; T-VERSIONING fails the unversioned ones. b1 has a hostile name."""
    return write_snapshot([resource(rid, "object_store", tags={"data_class": "clinical"},
                                    attributes={"versioning": v}, **({"name": HOSTILE} if rid == "b1" else {}))
                           for rid, v in versioning.items()])


def by_resource(findings: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f["resource"]["id"]: f for f in findings}


def test_two_audits_around_a_change_show_exactly_what_changed(
        cli: Cli, location: str, write_snapshot: WriteSnapshot, webhook: Receiver, tmp_path: Path) -> None:
    snapshot = estate(write_snapshot, BEFORE)
    first = cli("audit", str(snapshot), *POLICY_ARGS, "--store", location, "-q")
    assert first.code == 1, first.err
    estate(write_snapshot, AFTER)
    html = tmp_path / "audit.html"
    second = cli("audit", str(snapshot), *POLICY_ARGS, "--store", location, "--html", str(html),
                 "--notify", f"webhook={webhook.url}", "--format", "json")
    assert second.code == 1, second.err
    assert "since run 1: 1 new failure(s), 1 resolved, 1 still failing" in second.err
    report = by_resource(second.json()["findings"])
    assert set(report) == {"b1", "b2"}

    diff = cli("diff", "--store", location, "--format", "json")
    assert diff.code == 0
    changes = diff.json()
    assert [f["resource"]["id"] for f in changes["new"]] == ["b1"]
    assert [f["resource"]["id"] for f in changes["resolved"]] == ["b0"]
    assert [f["resource"]["id"] for f in changes["still_failing"]] == ["b2"]
    assert changes["still_failing"][0]["failing_since"] == changes["from"]["started"]
    assert changes["new"][0]["id"] == report["b1"]["id"]
    assert (changes["from"]["id"], changes["to"]["id"]) == (1, 2)

    page = parse_html(html.read_text())
    assert page.by_id("changes-new").fingerprints() == {report["b1"]["id"]}
    assert page.by_id("changes-resolved").fingerprints() == {changes["resolved"][0]["id"]}
    assert page.by_id("changes-still-failing").fingerprints() == {report["b2"]["id"]}
    assert HOSTILE in page.by_id("changes-new").text() and len(page.find("script")) == 2
    assert len(page.by_id("trend").find("circle")) == 4  # two runs, failures and errors

    assert len(webhook.requests) == 1
    path, content_type, body = webhook.requests[0]
    assert path == "/hooks/T0001/SECRET-path" and content_type == "application/json"
    assert "1 new failure(s), 1 resolved, 1 still failing" in body["text"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body["text"] and HOSTILE not in body["text"]
    assert [f["resource"] for f in body["changes"]["new"]["findings"]] == ["b1"]
    assert body["changes"]["resolved"]["count"] == 1 and body["run"]["id"] == 2

    third = cli("audit", str(snapshot), *POLICY_ARGS, "--store", location, "--notify",
                f"webhook={webhook.url}", "-q")
    assert third.code == 1
    assert len(webhook.requests) == 1  # nothing changed, nothing incomplete: no notification
    runs = cli("history", "--store", location, "--format", "json").json()
    assert [r["id"] for r in runs] == [3, 2, 1] and {r["exit_code"] for r in runs} == {1}
    assert all(r["summary"]["fail"] == 2 for r in runs)


def test_diff_and_history_read_as_text(cli: Cli, write_snapshot: WriteSnapshot, tmp_path: Path) -> None:
    store = str(tmp_path / "history.db")
    snapshot = estate(write_snapshot, BEFORE)
    cli("audit", str(snapshot), *POLICY_ARGS, "--store", store, "-q")
    lonely = cli("diff", "--store", store)
    assert lonely.code == 2 and "run 1 is the first of its series" in lonely.err
    estate(write_snapshot, AFTER)
    cli("audit", str(snapshot), *POLICY_ARGS, "--store", store, "-q")
    diff = cli("diff", "--store", store, "1", "2")
    lines = diff.out.splitlines()
    assert lines[1] == "1 new failure(s), 1 resolved, 1 still failing"
    assert lines[lines.index("new failures:") + 1].split()[:3] == ["medium", "T-VERSIONING", "b1"]
    assert lines[lines.index("resolved:") + 1].split()[:3] == ["medium", "T-VERSIONING", "b0:"]
    assert "since" in lines[lines.index("still failing:") + 1]
    history = cli("history", "--store", store)
    assert [line.split()[0] for line in history.out.splitlines()[1:]] == ["2", "1"]
    assert cli("diff", "--store", store, "7").code == 2
    # One set of format names for every listing command: text (table is its older name) or json.
    for command in (("history", "--store", store), ("diff", "--store", store, "1", "2"),
                    ("policies", *POLICY_ARGS)):
        text, table = (cli(*command, "--format", name) for name in ("text", "table"))
        assert text.code == table.code == 0 and text.out == table.out, command


def test_a_killed_audit_leaves_the_previous_run_and_no_partial_run(
        cli: Cli, write_snapshot: WriteSnapshot, tmp_path: Path) -> None:
    store = tmp_path / "history.db"
    assert cli("audit", str(estate(write_snapshot, BEFORE)), *POLICY_ARGS, "--store", str(store),
               "-q").code == 1
    with _silent_endpoint() as (endpoint, asked):  # an AWS endpoint that never answers
        env = {**os.environ, "AWS_ENDPOINT_URL": endpoint, "AWS_ACCESS_KEY_ID": "testing",
               "AWS_SECRET_ACCESS_KEY": "testing", "AWS_MAX_ATTEMPTS": "1"}
        audit = subprocess.Popen(
            [sys.executable, "-m", "phigate.cli", "audit", "--provider", "aws", "--region", "eu-west-3",
             *POLICY_ARGS, "--store", str(store), "-q"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        if not asked.wait(30):  # the audit is collecting: its first request is held unanswered
            audit.kill()
            raise AssertionError(f"the audit never started collecting: {audit.communicate()[1]}")
        audit.send_signal(signal.SIGTERM)
        _, err = audit.communicate(timeout=30)
    assert audit.returncode == 3
    assert "interrupted" in err and "Traceback" not in err
    assert [r["id"] for r in cli("history", "--store", str(store), "--format", "json").json()] == [1]
    with closing(sqlite3.connect(store)) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert connection.execute("SELECT COUNT(*) FROM runs").fetchone() == (1,)
        assert connection.execute("SELECT DISTINCT run_id FROM findings").fetchall() == [(1,)]


@contextmanager
def _silent_endpoint() -> Iterator[tuple[str, threading.Event]]:
    """A local endpoint that accepts requests and never answers; the event is set at the first."""
    asked = threading.Event()
    held: list[socket.socket] = []

    def hold(connection: socket.socket) -> None:
        held.append(connection)
        asked.set()

    try:
        with listening(hold) as endpoint:
            yield endpoint, asked
    finally:
        for connection in held:
            connection.close()


def test_concurrent_audit_processes_share_one_store(write_snapshot: WriteSnapshot, tmp_path: Path) -> None:
    store = tmp_path / "history.db"
    snapshot = estate(write_snapshot, BEFORE)
    command = [sys.executable, "-m", "phigate.cli", "audit", str(snapshot), *POLICY_ARGS,
               "--store", str(store), "-q"]
    audits = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
              for _ in range(3)]
    outcomes = [(a.wait(timeout=60), a.communicate()[1]) for a in audits]
    assert [code for code, _ in outcomes] == [1, 1, 1], outcomes
    with closing(sqlite3.connect(store)) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert connection.execute("SELECT id FROM runs ORDER BY id").fetchall() == [(1,), (2,), (3,)]
        assert connection.execute("SELECT run_id, COUNT(*) FROM findings GROUP BY run_id").fetchall() == [
            (1, 2), (2, 2), (3, 2)]


def test_a_failed_notification_is_reported_and_the_run_kept(
        cli: Cli, write_snapshot: WriteSnapshot, webhook: Receiver, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(notify, "BACKOFF_SECONDS", 0.01)
    webhook.default = 500
    store = str(tmp_path / "history.db")
    result = cli("audit", str(estate(write_snapshot, BEFORE)), *POLICY_ARGS, "--store", store,
                 "--notify", f"webhook={webhook.url}", "-q")
    assert result.code == 1  # the audit's verdict, whatever the webhook did
    port = webhook.url.split(":")[2].split("/")[0]
    assert (f"warning: notification to http://127.0.0.1:{port}/… failed: HTTP 500 (after 3 attempts)"
            in result.err)
    assert "SECRET" not in result.err
    assert len(webhook.requests) == 3
    assert [r["id"] for r in cli("history", "--store", store, "--format", "json").json()] == [1]


def test_a_store_that_refuses_the_run_is_an_incomplete_audit_not_a_silent_one(
        cli: Cli, write_snapshot: WriteSnapshot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = tmp_path / "history.db"
    snapshot = str(estate(write_snapshot, BEFORE))
    assert cli("audit", snapshot, *POLICY_ARGS, "--store", str(store), "-q").code == 1
    monkeypatch.setattr("phigate.history.sqlite.BUSY_TIMEOUT_SECONDS", 0.2)
    with closing(sqlite3.connect(store, isolation_level=None)) as other_writer:
        other_writer.execute("BEGIN IMMEDIATE")  # holds the write lock past the busy timeout
        result = cli("audit", snapshot, *POLICY_ARGS, "--store", str(store))
        other_writer.execute("ROLLBACK")
    assert result.code == 3
    assert f"error: history store {store}: the run was not recorded: database is locked" in result.err
    assert "T-VERSIONING" in result.out  # the findings were still reported
    assert [r["id"] for r in cli("history", "--store", str(store), "--format", "json").json()] == [1]


def test_delivery_backs_off_and_stops(webhook: Receiver) -> None:
    waits: list[float] = []
    webhook.statuses = [503, 429]
    post(Webhook(webhook.url), {"text": "x"}, attempts=4, backoff=0.5, sleep=waits.append)
    assert waits == [0.5, 1.0] and len(webhook.requests) == 3
    webhook.statuses = [404]
    with pytest.raises(NotifyError, match=r"HTTP 404 \(after 1 attempt\)"):
        post(Webhook(webhook.url), {"text": "x"}, sleep=waits.append)
    assert waits == [0.5, 1.0]  # a client error is not retried
    closed = Webhook("http://127.0.0.1:9/hook")
    with pytest.raises(NotifyError, match=r"after 3 attempts"):
        post(closed, {"text": "x"}, backoff=0.0, sleep=waits.append)


def test_the_webhook_url_can_come_from_the_environment(
        cli: Cli, write_snapshot: WriteSnapshot, webhook: Receiver, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AUDIT_HOOK", webhook.url)
    result = cli("audit", str(estate(write_snapshot, BEFORE)), *POLICY_ARGS, "--store",
                 str(tmp_path / "h.db"), "--notify", "webhook=env:AUDIT_HOOK", "-q")
    assert result.code == 1 and len(webhook.requests) == 1
    assert webhook.requests[0][2]["first_run"] is True


def test_a_kept_snapshot_replays_to_the_same_findings(cli: Cli, write_snapshot: WriteSnapshot,
                                                      tmp_path: Path) -> None:
    store = str(tmp_path / "history.db")
    audit = cli("audit", str(estate(write_snapshot, BEFORE)), *POLICY_ARGS, "--store", store,
                "--keep-snapshot", "--format", "json")
    assert "[snapshot]" in cli("history", "--store", store).out
    replay_file = tmp_path / "replay.jsonl"
    exported = cli("history", "--store", store, "--snapshot", "1", "-o", str(replay_file))
    assert exported.code == 0 and replay_file.read_text().startswith('{"created"')
    replay = cli("scan", str(replay_file), *POLICY_ARGS, "--format", "json")
    assert replay.code == audit.code == 1
    assert ({f["id"] for f in replay.json()["findings"]} == {f["id"] for f in audit.json()["findings"]})
    assert not list(tmp_path.glob("**/*.jsonl.gz"))  # the spool is gone
    with closing(sqlite3.connect(store)) as connection:
        (blob,) = connection.execute("SELECT content FROM snapshots WHERE run_id = 1").fetchone()
    lines = gzip.decompress(blob).splitlines()
    assert len(lines) == 5 and json.loads(lines[-1]) == {"phigate_snapshot_end": {"records": 3}}  # header, three buckets, end


@pytest.mark.parametrize(("args", "message"), [
    (("--store", "mysql://db/x"), "unsupported history store 'mysql://…'"),
    (("--store", "/no/such/folder/h.db"), "no folder /no/such/folder"),
    ((), "--store is required"),
    (("--store", "{store}", "--notify", "slack=https://example.invalid/x"), "--notify takes webhook=URL"),
    (("--store", "{store}", "--notify", "webhook=file:///etc/passwd"), "a webhook URL starts with https://"),
    (("--store", "{store}", "--notify", "webhook=https://hooks.invalid:99999/T0KEN"), "port is not a number"),
    (("--store", "{store}", "--html", "/no/such/folder/r.html"), "no folder /no/such/folder"),
])
def test_bad_audit_options_are_one_line_errors(cli: Cli, write_snapshot: WriteSnapshot, tmp_path: Path,
                                               args: tuple[str, ...], message: str) -> None:
    store = tmp_path / "h.db"
    result = cli("audit", str(estate(write_snapshot, BEFORE)), *POLICY_ARGS,
                 *(a.replace("{store}", str(store)) for a in args))
    assert result.code == 2 and message in result.err and len(result.err.splitlines()) == 1
    assert not store.exists()  # refused before anything was collected or created


@pytest.mark.parametrize("value", [None, ""])
def test_an_unset_or_empty_webhook_secret_is_a_warning_and_the_audit_runs(
        cli: Cli, write_snapshot: WriteSnapshot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        value: str | None) -> None:
    """What CI passes for a secret that is not defined: the audit is recorded all the same."""
    if value is None:
        monkeypatch.delenv("PHIGATE_HOOK_SECRET", raising=False)
    else:
        monkeypatch.setenv("PHIGATE_HOOK_SECRET", value)
    store = tmp_path / "h.db"
    result = cli("audit", str(estate(write_snapshot, BEFORE)), *POLICY_ARGS, "--store", str(store),
                 "--notify", "webhook=env:PHIGATE_HOOK_SECRET")
    assert result.code != 2 and "PHIGATE_HOOK_SECRET is empty or not set" in result.err
    assert "recorded run 1" in result.err and store.exists()


def test_reading_commands_never_create_a_store(cli: Cli, tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    for command in (("history",), ("diff",)):
        result = cli(*command, "--store", str(missing))
        assert result.code == 2 and "no history store at" in result.err
    assert not missing.exists()
    with pytest.raises(SystemExit) as caught:
        cli("history", "--store", str(missing), "--keep", "90 days")
    assert caught.value.code == 2


def test_the_example_workflow_runs_an_audit_and_keeps_the_report() -> None:
    workflow = (ROOT / ".github" / "workflows" / "nightly-audit.yml").read_text()
    assert "schedule:" in workflow and "cron:" in workflow
    assert "phigate audit" in workflow and "--html" in workflow
    assert "actions/upload-artifact" in workflow
