"""The fuzzing corpus as regression tests: every seed and every input that once broke a reader
(``crash-*``, named after the defect) keeps the contract. A crasher is bad input: it must now be
refused with exit 2 and a located message."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from .harness import CORPUS, TARGETS, fuzz_one, prepare, seeds

CASES = [(name, path) for name in sorted(TARGETS) for path in seeds(name)]


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield prepare(tmp_path_factory.mktemp("corpus"))


def test_every_crasher_sits_in_the_folder_of_a_known_reader() -> None:
    folders = {p.name for p in CORPUS.iterdir() if p.is_dir()}
    assert folders == set(TARGETS)
    assert any(p.name.startswith("crash-") for _, p in CASES)


@pytest.mark.parametrize(("name", "path"), CASES, ids=[f"{n}/{p.name}" for n, p in CASES])
def test_the_corpus_keeps_the_contract(name: str, path: Path, work: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    target = TARGETS[name]
    if not target.available():
        pytest.skip(f"the {name} provider is not installed")
    outcome = fuzz_one(target, path.read_bytes(), work)
    if path.name.startswith("crash-"):
        assert outcome.code == 2, outcome.err
        assert outcome.err.startswith("error: "), outcome.err
    stray = capsys.readouterr()  # nothing may bypass the command's own output streams
    assert stray.out == "" and stray.err == ""


def test_the_time_limit_stops_a_reader_that_spins() -> None:
    from .harness import Hang, time_limit

    with pytest.raises(Hang), time_limit(0.2):
        while True:
            pass
