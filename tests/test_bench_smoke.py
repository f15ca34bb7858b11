"""The benchmarks that need no peer tool run end to end at a small size, so they never rot."""

from __future__ import annotations

import json
import subprocess
import sys

from .conftest import ROOT


def run(*args: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, *args, "--json"], cwd=ROOT, capture_output=True,
                          text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return dict(json.loads(done.stdout))


def test_the_engine_benchmark_agrees_with_its_floor_at_a_small_size() -> None:
    figures = run("bench/engine.py", "--resources", "3000", "--skip-rego", "--seed", "11")
    engine, floor = figures["engine"], figures["floor"]
    assert isinstance(engine, dict) and engine["resources"] > 3000
    assert isinstance(floor, dict) and floor["disagreements"] == {}
    assert len(floor["agree"]) >= 19 and all(floor["agree"].values())


def test_the_access_graph_benchmark_runs_and_its_closure_reaches_through_edges() -> None:
    figures = run("bench/access_graph.py", "--accounts", "4", "--buckets", "80", "--roles", "24",
                  "--steps", "1,2")
    closure = figures["closure"]
    assert isinstance(closure, list) and [row["factor"] for row in closure] == [1, 2]
    graph, direct = figures["graph"], figures["direct"]
    assert isinstance(graph, dict) and isinstance(direct, dict)
    assert graph["failures"] >= direct["failures"]
