"""Shared helpers: run the CLI in-process and build small resources and snapshots."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from phigate.cli import main

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
