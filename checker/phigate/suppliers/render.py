"""The portfolio as text, JSON and a self-contained HTML page (autoescaped templates)."""

from __future__ import annotations

import base64
import hashlib
import json
from importlib import resources
from typing import IO

from phigate import __version__
from phigate.suppliers.view import UNASSESSED, PortfolioView


def render_text(view: PortfolioView, out: IO[str]) -> None:
    out.write(f"Supplier portfolio, {view.generated.isoformat(timespec='seconds')} "
              f"(gate: {view.fail_on.label} and above)\n\n")
    for s in view.suppliers:
        mark = "BREACH" if s.in_breach else "ok"
        if s.latest is None:
            out.write(f"{mark:7}{_clean(s.name)}: no evidence (max age {s.max_age})\n")
            continue
        hours = s.age.total_seconds() / 3600 if s.age is not None else 0.0
        failures = ", ".join(f"{label} {n}" for label, n in s.failures.items()) or "no failures"
        stale = f" STALE (max {s.max_age})" if s.stale else ""
        complete = "complete" if s.evidence_complete else "INCOMPLETE"
        trend = " ".join(str(n) for _, n in s.trend)
        when = s.latest.finished.isoformat(timespec="seconds")
        out.write(f"{mark:7}{_clean(s.name)}: last evidence {when} "
                  f"({hours:.1f} h ago{stale}, {s.latest.source}); {failures}; evidence {complete}; "
                  f"trend {trend}\n")
        failed = [r for r in s.requirements if r.status == "failed"]
        unassessed = [r for r in s.requirements if r.status in UNASSESSED]
        if s.requirements:
            out.write(f"       required: {len(s.requirements) - len(failed) - len(unassessed)} satisfied, "
                      f"{len(failed)} failed, {len(unassessed)} not assessed\n")
        for r in failed + unassessed:
            state = "failed" if r.status == "failed" else "not assessed"
            where = f"{_clean(r.framework or 'policy')} {_clean(r.id)}"
            out.write(f"         {state} {where} {_clean(r.title)}\n")
    if view.most_failed:
        out.write("\nControls most often failed:\n")
        for framework, control, title, who in view.most_failed[:10]:
            out.write(f"  {framework} {_clean(control)} {_clean(title)}: {len(who)} supplier(s) "
                      f"({', '.join(_clean(w) for w in who)})\n")
    breach = view.in_breach
    out.write(f"\n{len(breach)} of {len(view.suppliers)} supplier(s) in breach"
              + (f": {', '.join(breach)}" if breach else "") + "\n")


def render_json(view: PortfolioView, out: IO[str]) -> None:
    json.dump(view.to_json(), out, indent=2, ensure_ascii=False, sort_keys=False)
    out.write("\n")


def render_html(view: PortfolioView, out: IO[str]) -> None:
    import jinja2

    folder = resources.files("phigate.suppliers").joinpath("templates")
    css = folder.joinpath("portfolio.css").read_text("utf-8")
    environment = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                                     keep_trailing_newline=True)
    template = environment.from_string(folder.joinpath("portfolio.html.j2").read_text("utf-8"))
    digest = base64.b64encode(hashlib.sha256(css.encode()).digest()).decode()
    out.write(template.render(
        generated=view.generated.isoformat(timespec="seconds"), fail_on=view.fail_on.label,
        suppliers=view.suppliers, in_breach=view.in_breach, most_failed=view.most_failed,
        css=css, css_digest=digest, version=__version__))


def _clean(text: str) -> str:
    """Text from a report or a config, on one line, without control characters."""
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in str(text))


__all__ = ["render_html", "render_json", "render_text"]
