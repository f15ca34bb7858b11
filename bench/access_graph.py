"""The access graph's cost: a segmentation scan with assume/escalation edges beside the same scan
without them, and the closure's growth from 1x to 10x the estate.

The estate is generated (seeded): ``--accounts`` accounts, ``--buckets`` buckets and ``--roles``
roles at 1x, each role reading a few buckets of its own account directly (some across accounts)
and able to become a few other roles (same account, other accounts, some cycles), as the role
chaining of a real organisation looks. Each measurement runs in a fresh interpreter:

* ``scan-graph``: the segmentation policies (PHI-SEG-002, PHI-IAM-004, PHI-IAM-005) over the
  estate with its edges, through ``phigate.run.scan`` (wall, CPU seconds, peak RSS);
* ``scan-direct``: the same estate with every ``can_become`` removed (what phigate judged before
  the graph), for the ratio;
* ``closure``: the closure alone at 1x, 2x, 5x and 10x (edges, seconds, seconds per thousand
  edges): growth is at most linear when the time per edge does not rise with the size.

usage: python bench/access_graph.py [--accounts 50] [--buckets 2000] [--roles 200] [--seed 7]
                                    [--steps 1,2,5,10] [--json]
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _src in ("checker", "providers", "bench"):
    if str(ROOT / _src) not in sys.path:
        sys.path.insert(0, str(ROOT / _src))

from _measure import in_child, peak_mb  # noqa: E402

POLICIES = ["PHI-SEG-002", "PHI-IAM-004", "PHI-IAM-005"]
CLASSES = ["clinical", "administrative", "public", "administrative", "unclassified"]


def estate(accounts: int, buckets: int, roles: int, seed: int, edges: bool) -> list[Any]:
    from phigate.api import Resource

    rng = random.Random(seed)
    account_ids = [f"{100000000000 + i:012d}" for i in range(accounts)]
    stores = []
    for i in range(buckets):
        account = account_ids[i % accounts]
        arn = f"arn:aws:s3:::bench-{account}-{i}"
        stores.append((arn, account))
    role_ids = [f"arn:aws:iam::{account_ids[i % accounts]}:role/r{i}" for i in range(roles)]
    records: list[Any] = [
        Resource(arn, "aws.s3.bucket", "object_store", "aws", account, "eu-west-3", arn[13:],
                 {"data_class": rng.choice(CLASSES)})
        for arn, account in stores]
    for i, role in enumerate(role_ids):
        account = account_ids[i % accounts]
        own = [arn for arn, a in stores if a == account]
        reads = rng.sample(own, min(len(own), rng.randint(1, 4)))
        if rng.random() < 0.1:  # a cross-account grant
            reads.append(rng.choice(stores)[0])
        attributes: dict[str, Any] = {
            "principal_type": "role", "can_read": sorted(set(reads)),
            "can_read_via_wildcard": sorted(set(reads))[:1] if rng.random() < 0.2 else [],
            "third_party": rng.random() < 0.05, "external_id_required": True}
        if edges:
            # Chains within an account, a hub account whose roles reach into the others (the
            # management account of an organisation), and a few edges back (cycles).
            targets = []
            if i + accounts < roles and rng.random() < 0.5:
                targets.append(role_ids[i + accounts])
            if rng.random() < 0.1:
                targets.append(role_ids[rng.randrange(0, roles, accounts)])
            if i % accounts == 0 and rng.random() < 0.3:
                targets.append(rng.choice(role_ids))
            if i >= accounts and rng.random() < 0.05:
                targets.append(role_ids[i - accounts])
            attributes["can_become"] = sorted({t for t in targets if t != role})
            attributes["can_become_via"] = dict.fromkeys(attributes["can_become"], "sts:AssumeRole")
        records.append(Resource(role, "aws.iam.role", "principal", "aws", account, None,
                                f"r{i}", attributes=attributes))
    return records


def measure_scan(args: argparse.Namespace, edges: bool) -> dict[str, Any]:
    import resource as rusage

    from phigate.config import Config
    from phigate.load import bundled_pack, load_policies
    from phigate.run import scan
    from phigate.selection import select_policies
    from phigate.testing import RecordsProvider

    records = estate(args.accounts, args.buckets, args.roles, args.seed, edges)
    config = Config()
    policies = select_policies(load_policies([bundled_pack()], config), POLICIES, allow_empty=True)
    start, cpu = time.perf_counter(), rusage.getrusage(rusage.RUSAGE_SELF)
    result = scan([RecordsProvider(records)], policies, config)
    end = rusage.getrusage(rusage.RUSAGE_SELF)
    failures = sum(1 for f in result.findings if f.status.value == "fail")
    return {"wall_s": round(time.perf_counter() - start, 3),
            "cpu_s": round(end.ru_utime + end.ru_stime - cpu.ru_utime - cpu.ru_stime, 3),
            "peak_mb": round(peak_mb(), 1), "failures": failures, "resources": len(records)}


def measure_closure(args: argparse.Namespace, factor: int) -> dict[str, Any]:
    from phigate.access_graph import AccessGraph

    records = estate(args.accounts * factor, args.buckets * factor, args.roles * factor,
                     args.seed, True)
    principals = [r for r in records if r.kind == "principal"]
    edges = sum(len(r.attributes.get("can_become", ())) + len(r.attributes["can_read"])
                for r in principals)
    gc.disable()  # as during a scan (the evaluator pauses the collector)
    seconds, reached = float("inf"), 0
    for _ in range(7):  # best of seven: the machine is shared, noise only adds time
        graph = AccessGraph()
        for record in principals:
            graph.add(record)
        start = time.perf_counter()
        reached = sum(len(reach.reads) for p in principals if (reach := graph.reach(p.id)) is not None)
        seconds = min(seconds, time.perf_counter() - start)
    return {"factor": factor, "principals": len(principals), "edges": edges, "reached": reached,
            "us_per_reached": round(seconds / max(reached, 1) * 1e6, 3),
            "closure_s": round(seconds, 4), "us_per_edge": round(seconds / edges * 1e6, 2)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--buckets", type=int, default=2000)
    parser.add_argument("--roles", type=int, default=200)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--steps", default="1,2,5,10")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        kind, _, factor = args.measure.partition(":")
        found = (measure_closure(args, int(factor)) if kind == "closure"
                 else measure_scan(args, kind == "scan-graph"))
        print(json.dumps(found))
        return 0
    sizes = ["--accounts", str(args.accounts), "--buckets", str(args.buckets),
             "--roles", str(args.roles), "--seed", str(args.seed)]
    results: dict[str, Any] = {
        "graph": in_child(__file__, "scan-graph", sizes),
        "direct": in_child(__file__, "scan-direct", sizes),
        "closure": [in_child(__file__, f"closure:{f}", sizes) for f in map(int, args.steps.split(","))],
    }
    if args.json:
        print(json.dumps(results, indent=2))
        return 0
    graph, direct = results["graph"], results["direct"]
    print(f"estate: {args.accounts} accounts, {args.buckets} buckets, {args.roles} roles "
          f"({graph['resources']} resources), seed {args.seed}")
    print(f"{'':14}{'wall s':>9}{'CPU s':>9}{'peak MB':>9}{'failures':>10}")
    for name, row in (("with graph", graph), ("direct only", direct)):
        print(f"{name:14}{row['wall_s']:>9}{row['cpu_s']:>9}{row['peak_mb']:>9}{row['failures']:>10}")
    print(f"graph / direct CPU: {graph['cpu_s'] / max(direct['cpu_s'], 1e-9):.2f}x")
    print(f"{'size':>6}{'principals':>12}{'edges':>9}{'reached':>10}{'closure s':>11}{'µs/edge':>9}")
    for row in results["closure"]:
        print(f"{row['factor']:>5}x{row['principals']:>12}{row['edges']:>9}{row['reached']:>10}"
              f"{row['closure_s']:>11}{row['us_per_edge']:>9}")
    first, last = results["closure"][0], results["closure"][-1]
    print(f"time per edge, largest / smallest: {last['us_per_edge'] / max(first['us_per_edge'], 1e-9):.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
