"""One contract for every input phigate reads: whatever the bytes, the command line exits 0 to 3
with a message, never a traceback, never an internal error, within a time limit.

A *target* names a reader (policies, snapshots, waivers, baselines, the config file, Terraform
plans), the file the fuzzed bytes are written to, and the ``phigate`` command that reads it.
Every command goes through :func:`phigate.cli.main` in this process, exactly as a user's would,
and renders every report format, so what a reader lets through is written by every reporter.
The hypothesis tests, the corpus regression tests and the atheris harnesses all use it.
"""

from __future__ import annotations

import contextlib
import io
import json
import resource
import signal
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import FrameType
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).resolve().parent / "corpus"
EXAMPLE = ROOT / "examples" / "supplier-estate.json"
#: Processor time, so that a machine loaded by other work does not fail an input: a typical input
#: takes a tenth of a second, an alias bomb refused at its 200,000th value two.
TIME_LIMIT_SECONDS = 10.0
#: What one input may add to the process's peak memory.
MEMORY_LIMIT_BYTES = 512 * 1024 * 1024
EXIT_CODES = frozenset({0, 1, 2, 3})


class Hang(BaseException):  # not an Exception: `main` must not take it for an internal error
    """An input ran past the time limit."""


@dataclass(frozen=True)
class Outcome:
    code: int
    out: str
    err: str


@dataclass(frozen=True)
class Target:
    """A reader: where the fuzzed bytes go and which command reads them."""

    name: str
    filename: str
    command: Callable[[Path, Path], list[str]]
    #: Whether the target's provider is installed (the Terraform plan reader may not be yet).
    available: Callable[[], bool] = lambda: True


def _reports(work: Path) -> list[str]:
    out = work / "out"
    formats = ["--format", "text", "--format", f"json={out}/r.json", "--format", f"sarif={out}/r.sarif",
               "--format", f"junit={out}/r.xml", "--format", f"markdown={out}/r.md"]
    if "html" in _reporter_names():
        formats += ["--format", f"html={out}/r.html"]
    return formats


@cache
def _reporter_names() -> frozenset[str]:
    from phigate.registry import REPORTERS, names

    return frozenset(names(REPORTERS))


def _terraform_installed() -> bool:
    from phigate.registry import PROVIDERS, MissingPlugin, load

    try:
        load(PROVIDERS, "terraform")
    except MissingPlugin:
        return False
    return True


def _evidence(work: Path) -> str:
    return str(work / "evidence.json")


TARGETS: dict[str, Target] = {t.name: t for t in (
    Target("policy", "policies/fuzzed.yaml",
           lambda file, work: ["scan", _evidence(work), "--policies", str(file.parent), *_reports(work)]),
    Target("snapshot", "snapshot.json",
           lambda file, work: ["scan", str(file), *_reports(work)]),
    Target("waivers", "waivers.yaml",
           lambda file, work: ["scan", _evidence(work), "--waivers", str(file), *_reports(work)]),
    Target("baseline", "baseline.json",
           lambda file, work: ["scan", _evidence(work), "--baseline", str(file), *_reports(work)]),
    Target("config", "phigate.yaml",
           lambda file, work: ["scan", _evidence(work), "--config", str(file), *_reports(work)]),
    Target("terraform", "plan.json",
           lambda file, work: ["scan", str(file), *_reports(work)], _terraform_installed),
)}


def prepare(work: Path) -> Path:
    """A work folder with the fixed evidence the targets scan: two resources of every kind of
    the example estate (every policy of the pack has something to decide)."""
    estate = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    kept: dict[str, int] = {}
    resources = []
    for record in estate["resources"]:
        if kept.get(record["kind"], 0) < 2:
            kept[record["kind"]] = kept.get(record["kind"], 0) + 1
            resources.append(record)
    snapshot = {"phigate_snapshot": 1, "resources": resources, "errors": []}
    (work / "evidence.json").write_text(json.dumps(snapshot, indent=1), encoding="utf-8")
    (work / "policies").mkdir(exist_ok=True)
    (work / "out").mkdir(exist_ok=True)
    return work


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`Hang` in the main thread once the process has used ``seconds`` of processor
    time (readers only compute: they never wait on anything but the input file)."""
    def expire(signum: int, frame: FrameType | None) -> None:
        raise Hang(f"no answer after {seconds} s of processor time")

    previous = signal.signal(signal.SIGPROF, expire)
    signal.setitimer(signal.ITIMER_PROF, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_PROF, 0)
        signal.signal(signal.SIGPROF, previous)


def peak_memory_bytes() -> int:
    """The process's peak resident memory so far (Linux reports kibibytes)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def run(target: Target, data: bytes, work: Path) -> Outcome:
    """Write ``data`` where ``target`` reads it and run its command; stdout and stderr captured."""
    file = work / target.filename
    file.write_bytes(data)
    out, err = io.StringIO(), io.StringIO()
    from phigate.cli import main

    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), time_limit(TIME_LIMIT_SECONDS):
        try:
            code: Any = main(target.command(file, work))
        except SystemExit as exc:  # argparse's own exit: still an exit code
            code = exc.code
    return Outcome(code if isinstance(code, int) else -1, out.getvalue(), err.getvalue())


def check(outcome: Outcome) -> None:
    """The contract: a known exit code, no traceback, no internal error, and a message on exit 2."""
    assert outcome.code in EXIT_CODES, f"exit code {outcome.code}; stderr: {outcome.err[-2000:]}"
    assert "Traceback" not in outcome.err + outcome.out, outcome.err[-4000:]
    assert "internal error" not in outcome.err, outcome.err[-2000:]
    if outcome.code == 2:
        assert outcome.err.strip(), "exit 2 without a message"


def fuzz_one(target: Target, data: bytes, work: Path) -> Outcome:
    """Run one input and check the contract, memory included."""
    before = peak_memory_bytes()
    outcome = run(target, data, work)
    check(outcome)
    grown = peak_memory_bytes() - before
    assert grown < MEMORY_LIMIT_BYTES, f"one input raised peak memory by {grown >> 20} MiB"
    return outcome


def seeds(target: str) -> list[Path]:
    """The target's corpus: valid seeds and every input that once broke the contract."""
    folder = CORPUS / target
    return sorted(p for p in folder.iterdir() if p.is_file()) if folder.is_dir() else []


__all__ = ["CORPUS", "TARGETS", "Hang", "Outcome", "Target", "check", "fuzz_one",
           "prepare", "run", "seeds", "time_limit"]
