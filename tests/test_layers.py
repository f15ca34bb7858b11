"""The layers of docs/architecture.md hold, and no module imports itself back.

The import-linter contracts in pyproject.toml say which layer may import which (type-only
imports count: a cycle through annotations is still a knot in the design). The cycle check
below walks every import of every ``phigate`` module, the ones deferred into functions
included, and reports each strongly connected group.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterable, Mapping
from pathlib import Path

import grimp
import pytest

from .conftest import ROOT


def lint_imports(config: Path) -> tuple[int, str]:
    """import-linter's command line on ``config``: its exit code and report."""
    done = subprocess.run(
        [sys.executable, "-c", "from importlinter.cli import lint_imports_command; lint_imports_command()",
         "--config", str(config), "--no-cache"],
        capture_output=True, text=True, timeout=120, cwd=ROOT, check=False,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"})
    return done.returncode, done.stdout + done.stderr


def import_cycles(graph: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """The groups of modules that import one another, directly or not (Tarjan's algorithm,
    iterative: the graph may be deep)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.get(root, ()))))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, successors = work[-1]
            step = next(successors, None)
            if step is not None:
                if step not in index:
                    index[step] = low[step] = len(index)
                    stack.append(step)
                    on_stack.add(step)
                    work.append((step, iter(sorted(graph.get(step, ())))))
                elif step in on_stack:
                    low[node] = min(low[node], index[step])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    cycles.append(sorted(group))
    return cycles


def module_imports(package: str) -> dict[str, set[str]]:
    """Every module of ``package`` and the modules of it that it imports: at the top, under
    ``TYPE_CHECKING`` or inside a function."""
    graph = grimp.build_graph(package, exclude_type_checking_imports=False, cache_dir=None)
    return {module: set(graph.find_modules_directly_imported_by(module)) for module in graph.modules}


def test_phigate_has_no_import_cycle_not_even_a_deferred_one() -> None:
    cycles = import_cycles(module_imports("phigate"))
    assert cycles == [], "modules that import one another: " + "; ".join(" ↔ ".join(c) for c in cycles)


def test_the_cycle_check_finds_a_cycle_hidden_in_a_function(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "knotted"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "low.py").write_text("from knotted.middle import helper\n")
    (package / "middle.py").write_text("def helper():\n    from knotted.high import main\n")
    (package / "high.py").write_text(textwrap.dedent("""\
        from typing import TYPE_CHECKING
        if TYPE_CHECKING:
            from knotted.low import thing
        def main():
            pass
    """))
    (package / "apart.py").write_text("from knotted.low import helper\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        cycles = import_cycles(module_imports("knotted"))
    finally:
        sys.modules.pop("knotted", None)
    assert cycles == [["knotted.high", "knotted.low", "knotted.middle"]]


def test_each_layer_imports_only_those_below_it() -> None:
    code, report = lint_imports(ROOT / "pyproject.toml")
    assert code == 0, report
    assert "Contracts: 2 kept, 0 broken." in report


def test_the_layers_contract_refuses_an_import_from_above(tmp_path: Path) -> None:
    """The same contracts with the scan moved to the lowest layer, below the engine it runs."""
    config = (ROOT / "pyproject.toml").read_text()
    broken = tmp_path / "pyproject.toml"
    broken.write_text(config.replace('"api : model', '"api : model : run', 1)
                      .replace('"run : fixtures', '"fixtures', 1))
    code, report = lint_imports(broken)
    assert code == 1, report
    assert "phigate.run -> phigate.evaluate" in report, report
