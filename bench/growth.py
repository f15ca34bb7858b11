"""How a scan grows with the estate: 1x to 10x the resources (and the objects), time and memory.

Resources: the seeded JSON Lines estates of ``bench/engine.py`` (same generator, same seed,
reused from ``bench/out/``) at each size, scanned with the bundled pack along the path
``phigate scan`` takes (snapshot provider streamed into the evaluator), each size in a fresh
subprocess. Objects: S3 Inventory reports of ``bench/inventory_scale.py`` at each size, counted
by the s3-inventory provider with PHI-ENC-005.

Growth is at most linear when the time per resource (and the memory above the interpreter's
baseline per resource) does not rise with the size: the script prints both per step and the
ratio of the largest size to the smallest.

usage: python bench/growth.py [--base 100000] [--steps 1,2,5,10] [--seed 7]
                              [--objects-base 1580000] [--skip-objects] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from _measure import in_child, peak_mb

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
for _src in ("checker", "providers"):
    if str(ROOT / _src) not in sys.path:
        sys.path.insert(0, str(ROOT / _src))
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))


def measure_resources(snapshot: Path) -> dict[str, Any]:
    from phigate.config import Config
    from phigate.load import bundled_pack, load_policies
    from phigate.run import scan
    from phigate_providers.snapshot import SnapshotProvider

    policies = load_policies([bundled_pack()])
    rss0 = peak_mb()
    w0, c0 = time.perf_counter(), time.process_time()
    result = scan([SnapshotProvider([snapshot])], policies, Config())
    return {"wall_s": time.perf_counter() - w0, "cpu_s": time.process_time() - c0,
            "baseline_rss_mb": rss0, "peak_rss_mb": peak_mb(),
            "resources": result.resources_seen, "findings": len(result.findings)}


def measure_objects(root: Path) -> dict[str, Any]:
    from inventory_scale import measure_phigate

    rss0 = peak_mb()
    w0, c0 = time.perf_counter(), time.process_time()
    found = measure_phigate(root, 2)
    return {"wall_s": time.perf_counter() - w0, "cpu_s": time.process_time() - c0,
            "baseline_rss_mb": rss0, "peak_rss_mb": peak_mb(),
            "objects": found["objects"]["count"]}


def _series(rows: list[dict[str, Any]], unit: str) -> dict[str, Any]:
    for row in rows:
        row["us_per_item"] = row["wall_s"] / row[unit] * 1e6
        row["cpu_us_per_item"] = row["cpu_s"] / row[unit] * 1e6
        row["bytes_per_item"] = (row["peak_rss_mb"] - row["baseline_rss_mb"]) * 2**20 / row[unit]
    first, last = rows[0], rows[-1]
    return {"steps": rows,
            "size_ratio": last[unit] / first[unit],
            "cpu_ratio": last["cpu_s"] / first["cpu_s"],
            "memory_ratio": (last["peak_rss_mb"] - last["baseline_rss_mb"])
                            / max(first["peak_rss_mb"] - first["baseline_rss_mb"], 1e-9)}


def run(args: argparse.Namespace) -> dict[str, Any]:
    from engine import OUT, write_snapshot
    from inventory_scale import write_inventory

    steps = [int(s) for s in args.steps.split(",")]
    report: dict[str, Any] = {"seed": args.seed, "steps": steps}
    rows = []
    for step in steps:
        n = args.base * step
        snapshot = write_snapshot(n, args.seed, OUT / f"estate-{n}-s{args.seed}.jsonl")
        rows.append({"step": step, **in_child(__file__, "resources", ["--path", str(snapshot)])})
    report["resources"] = _series(rows, "resources")
    if not args.skip_objects:
        rows = []
        for step in steps:
            root = write_inventory(args.objects_base * step, max(1, step * 16 // steps[-1]), "Parquet")
            rows.append({"step": step, **in_child(__file__, "objects", ["--path", str(root)])})
        report["objects"] = _series(rows, "objects")
    return report


def _print(report: dict[str, Any]) -> None:
    for name, unit in (("resources", "resources"), ("objects", "objects")):
        if name not in report:
            continue
        series = report[name]
        print(f"{name}: {'step':>4} {unit:>11} {'wall':>8} {'cpu':>8} {'peak':>8} {'cpu µs/item':>12} "
              f"{'bytes/item':>11}")
        for row in series["steps"]:
            print(f"{'':{len(name) + 1}} {row['step']:>4}x {row[unit]:>11,} {row['wall_s']:>7.1f}s "
                  f"{row['cpu_s']:>7.1f}s {row['peak_rss_mb']:>6.0f}MB {row['cpu_us_per_item']:>12.2f} "
                  f"{row['bytes_per_item']:>11.0f}")
        print(f"{'':{len(name) + 1}} {series['size_ratio']:.0f}x the size: "
              f"{series['cpu_ratio']:.2f}x the CPU, "
              f"{series['memory_ratio']:.2f}x the memory above the interpreter")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", type=int, default=100_000)
    parser.add_argument("--steps", default="1,2,5,10")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--objects-base", type=int, default=1_580_000)
    parser.add_argument("--skip-objects", action="store_true")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--measure", choices=["resources", "objects"], help=argparse.SUPPRESS)
    parser.add_argument("--path", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        work = measure_resources if args.measure == "resources" else measure_objects
        print(json.dumps(work(args.path), default=str))
        return 0
    report = run(args)
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        _print(report)
    series = [report[k] for k in ("resources", "objects") if k in report]
    # At most linear: 10x the size may not cost more than 10x (a fifth of slack for a shared machine).
    return 0 if all(s["cpu_ratio"] <= s["size_ratio"] * 1.2 for s in series) else 1


if __name__ == "__main__":
    sys.exit(main())
