"""Property: whatever bytes a reader is given, `phigate scan` exits 0 to 3 with a message, never a
traceback, an internal error, a hang or unbounded memory. Every reader, every report format."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from .harness import TARGETS, fuzz_one, prepare, seeds
from .strategies import hostile

#: Examples per reader: about a tenth of a second each, so the module stays well under a minute.
EXAMPLES = 30

HEADERS: dict[str, tuple[bytes, bytes]] = {
    "policy": (b"id: FUZZ-1\ntitle: t\nseverity: low\nkinds: [object_store]\n", b'"id": "FUZZ-1", '),
    "snapshot": (b"phigate_snapshot: 1\n", b'"phigate_snapshot": 1, '),
    "waivers": (b"waivers: []\n", b'"waivers": [], '),
    "baseline": (b"report_version: 1\n", b'"report_version": 1, '),
    "config": (b"version: 1\n", b'"version": 1, '),
    "terraform": (b"", b'"format_version": "1.2", "planned_values": {}, '),
}
STRATEGIES = {name: hostile(seeds(name), *HEADERS[name]) for name in TARGETS}


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    yield prepare(tmp_path_factory.mktemp("fuzz"))


def test_every_reader_has_seeds() -> None:
    for name in TARGETS:
        assert seeds(name), f"no corpus for {name}"


@pytest.mark.parametrize("name", sorted(TARGETS))
@settings(max_examples=EXAMPLES)
@given(data=st.data())
def test_any_input_exits_0_to_3_with_a_message(name: str, work: Path, data: st.DataObject) -> None:
    target = TARGETS[name]
    if not target.available():
        pytest.skip(f"the {name} provider is not installed")
    fuzz_one(target, data.draw(STRATEGIES[name], label="input"), work)
