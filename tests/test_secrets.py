"""Credentials given to phigate never reach a report, a log or a message: user-info in endpoint
URLs is taken out, and a connection string that cannot be told from a file name is refused."""

from __future__ import annotations

import json
import socket
from collections.abc import Callable
from pathlib import Path

import pytest

from .conftest import ROOT, CliResult

EXAMPLE = ROOT / "examples" / "supplier-estate.json"
CANARY = "CANARY-pw-7f3a"
Cli = Callable[..., CliResult]


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def aws_endpoint_with_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://phigate:{CANARY}@127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")


@pytest.mark.usefixtures("aws_endpoint_with_password")
def test_the_password_in_an_endpoint_url_reaches_no_report(cli: Cli, tmp_path: Path) -> None:
    reports = {fmt: tmp_path / f"report.{fmt}" for fmt in ("json", "sarif", "junit", "markdown")}
    result = cli("scan", "--provider", "aws", "--region", "eu-west-3", "--format", "text",
                 *(x for fmt, file in reports.items() for x in ("--format", f"{fmt}={file}")))
    assert result.code == 3  # nothing could be read: incomplete, never a pass
    report = json.loads(reports["json"].read_text())
    assert any("127.0.0.1" in e["message"] for e in report["collection_errors"])  # the host stays
    for text in (result.out, result.err, *(file.read_text() for file in reports.values())):
        assert CANARY not in text


@pytest.mark.usefixtures("aws_endpoint_with_password")
def test_the_password_in_an_endpoint_url_reaches_no_snapshot(cli: Cli, tmp_path: Path) -> None:
    out = tmp_path / "estate.jsonl"
    result = cli("collect", "--provider", "aws", "--region", "eu-west-3", "-o", str(out))
    assert result.code == 3
    assert "127.0.0.1" in out.read_text() and CANARY not in out.read_text() + result.err


@pytest.mark.parametrize("dsn", [f"host=db.internal dbname=audit password={CANARY}",
                                 f"dbname=audit user=phigate password={CANARY}",
                                 f"  password = {CANARY} host=db"])
def test_a_key_value_connection_string_as_store_is_refused(cli: Cli, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch, dsn: str) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("audit", str(EXAMPLE), "--store", dsn)
    assert result.code == 2
    assert "key=value connection string" in result.err and "postgresql://" in result.err
    assert CANARY not in result.err + result.out
    assert list(tmp_path.iterdir()) == []  # no file named after the password


def test_a_file_whose_name_holds_an_equals_sign_is_still_a_store(cli: Cli, tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("audit", str(EXAMPLE), "--store", "./runs=2026.db", "-q")
    assert result.code == 1
    assert (tmp_path / "runs=2026.db").is_file()
