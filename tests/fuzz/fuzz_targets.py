"""Coverage-guided fuzzing of phigate's readers with atheris (libFuzzer).

    python tests/fuzz/fuzz_targets.py TARGET [libFuzzer options] [CORPUS_DIR ...]

TARGET is one of harness.TARGETS (policy, snapshot, waivers, baseline, config, terraform). Each
input goes through ``phigate scan`` in this process, every report format included, under the
same contract as the hypothesis tests (exit 0 to 3 with a message, no traceback, no internal
error, bounded time and memory). A broken contract is a crash: libFuzzer writes the input to
``-artifact_prefix``; add it to ``tests/fuzz/corpus/TARGET/`` once fixed, as a regression test.
``.ci/fuzz`` runs every target for a bounded time.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import tempfile
from pathlib import Path

import atheris

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

with atheris.instrument_imports(include=["phigate", "phigate_providers"]):

    for optional in ("phigate.reporters.html", "phigate_providers.terraform"):
        # readers and reporters still being written are fuzzed once they exist
        with contextlib.suppress(ImportError):
            importlib.import_module(optional)

from tests.fuzz.harness import TARGETS, fuzz_one, prepare  # noqa: E402
from tests.fuzz.strategies import FRAGMENTS, KEYS  # noqa: E402


def write_dictionary(folder: Path) -> Path:
    """A libFuzzer dictionary: the keys the readers know and the fragments that broke parsers."""
    tokens = [f'"{key}"'.encode() for key in KEYS if key] + [f"{key}:".encode() for key in KEYS if key]
    tokens += [f for f in FRAGMENTS if len(f) <= 64]
    path = folder / "phigate.dict"
    path.write_text("".join(f'"{_escape(token)}"\n' for token in tokens), encoding="ascii")
    return path


def _escape(token: bytes) -> str:
    return "".join(chr(b) if 0x20 <= b < 0x7F and b not in (0x22, 0x5C) else f"\\x{b:02x}" for b in token)


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        sys.exit(f"usage: {sys.argv[0]} {{{','.join(TARGETS)}}} [libFuzzer options] [CORPUS_DIR ...]")
    target = TARGETS[sys.argv[1]]
    if not target.available():
        print(f"{target.name}: provider not installed, nothing to fuzz", file=sys.stderr)
        return
    work = prepare(Path(tempfile.mkdtemp(prefix=f"phigate-fuzz-{target.name}-")))
    argv = [sys.argv[0], *sys.argv[2:]]
    if not any(a.startswith("-dict=") for a in argv):
        argv.insert(1, f"-dict={write_dictionary(work)}")

    def one_input(data: bytes) -> None:
        fuzz_one(target, data, work)

    atheris.Setup(argv, one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
