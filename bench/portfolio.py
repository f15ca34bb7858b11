"""Supplier assurance at a customer's scale: import and view ``--suppliers`` x ``--days`` of
signed evidence (100 x 30 by default) in a SQLite history store.

One real JSON report of the bundled example estate is scanned once; each (supplier, day) gets a
copy with its own times (so each is a distinct report, newer than the last), signed with that
supplier's own Ed25519 key. Then, timed: every import (verification of the signature, the digest
and the content, the replay and age checks, the write), and the portfolio view in text, JSON and
HTML over everything recorded.

usage: python bench/portfolio.py [--suppliers 100] [--days 30] [--json]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _src in ("checker", "providers", "bench"):
    if str(ROOT / _src) not in sys.path:
        sys.path.insert(0, str(ROOT / _src))

from _measure import peak_mb  # noqa: E402


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str] | None = None) -> int:  # noqa: PLR0915 - one straight measurement
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--suppliers", type=int, default=100)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)

    from phigate.attest import attest, generate_keys
    from phigate.history import open_store
    from phigate.model import Severity
    from phigate.suppliers.config import load_portfolio
    from phigate.suppliers.evidence import import_attestation
    from phigate.suppliers.render import render_html, render_json, render_text
    from phigate.suppliers.view import portfolio_view

    work = Path(tempfile.mkdtemp(prefix="phigate-portfolio-"))
    base = work / "base.json"
    from phigate.cli import main as phigate_main

    phigate_main(["scan", str(ROOT / "examples" / "supplier-estate.json"), "--quiet",
                  "--format", f"json={base}"])
    report = json.loads(base.read_text())
    keys = work / "keys"
    keys.mkdir()
    lines = ["suppliers:"]
    for s in range(args.suppliers):
        generate_keys(keys / f"s{s}")
        lines.append(f"  - name: supplier-{s:03d}\n    keys: [keys/s{s}.pub]\n    frameworks: [hds-2024]\n"
                     f"    max_age: {1 + s % 3}d")
    (work / "portfolio.yaml").write_text("\n".join(lines) + "\n")
    portfolio = load_portfolio(work / "portfolio.yaml")
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)

    started = time.perf_counter()
    signed: list[tuple[str, Path, Path]] = []
    for day in range(args.days, 0, -1):
        for s in range(args.suppliers):
            when = now - dt.timedelta(days=day - 1, hours=1 + s % 5)
            ended = when + dt.timedelta(minutes=4)
            copy = dict(report, started=when.isoformat(), finished=ended.isoformat())
            path = work / f"s{s}-d{day}.json"
            path.write_text(json.dumps(copy, indent=2))
            attestation = path.with_suffix(".intoto.json")
            attestation.write_text(json.dumps(attest(path, keys / f"s{s}.key")))
            signed.append((f"supplier-{s:03d}", path, attestation))
    prepare_s = time.perf_counter() - started

    store = open_store(str(work / "portfolio.db"), create=True)
    wall, cpu0 = time.perf_counter(), cpu()
    for supplier, path, attestation in signed:
        import_attestation(store, portfolio, supplier, attestation=attestation, report_path=path, now=now)
    import_wall, import_cpu = time.perf_counter() - wall, cpu() - cpu0

    wall, cpu0 = time.perf_counter(), cpu()
    view = portfolio_view(portfolio, store.evidence(), now, Severity.parse("high"))
    sizes: dict[str, int] = {}
    for name, render in (("text", render_text), ("json", render_json), ("html", render_html)):
        out = io.StringIO()
        render(view, out)
        sizes[name] = len(out.getvalue().encode())
    view_wall, view_cpu = time.perf_counter() - wall, cpu() - cpu0

    figures: dict[str, Any] = {
        "suppliers": args.suppliers, "days": args.days, "evidence": len(signed),
        "prepare_s": round(prepare_s, 2),
        "import": {"wall_s": round(import_wall, 2), "cpu_s": round(import_cpu, 2),
                   "ms_per_evidence": round(import_wall / len(signed) * 1000, 2)},
        "portfolio": {"wall_s": round(view_wall, 2), "cpu_s": round(view_cpu, 2), "bytes": sizes},
        "store_mb": round((work / "portfolio.db").stat().st_size / 1e6, 1),
        "peak_mb": round(peak_mb(), 1),
        "in_breach": len(view.in_breach),
    }
    if args.json:
        print(json.dumps(figures, indent=2))
        return 0
    print(f"{args.suppliers} suppliers x {args.days} days = {len(signed)} signed reports "
          f"(prepared and signed in {prepare_s:.1f} s, not timed below)")
    print(f"import: {import_wall:.2f} s wall, {import_cpu:.2f} s CPU, "
          f"{figures['import']['ms_per_evidence']} ms per report (verify, check, record)")
    print(f"portfolio view (text + JSON + HTML): {view_wall:.2f} s wall, {view_cpu:.2f} s CPU; "
          f"HTML {sizes['html'] / 1e3:.0f} kB")
    print(f"store {figures['store_mb']} MB, peak RSS {figures['peak_mb']} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
