"""One self-contained HTML report: compliance per framework, findings to search and filter,
per-policy detail and, for audits, the trend over recent runs and what changed since the last.

The page is a template (``templates/report.html.j2``) that jinja2 renders with autoescaping:
everything from the estate is escaped, and control characters are shown as their code points
(``\\x1b``), never written raw. Nothing is fetched (a Content-Security-Policy pins the one style
sheet and the one script by hash and allows no other source); the page's data is embedded as JSON
inside ``<script type="application/json">`` with ``<``, ``>`` and ``&`` written as ``\\u``
escapes (so no ``</script>`` can close it), and the script only ever writes with
``textContent``. The first rows are rendered here, so the report reads (and prints) without
JavaScript; the script filters and pages through every finding the page holds.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import html
import json
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import IO, Any, ClassVar

import jinja2
from markupsafe import Markup

from phigate import wording as words
from phigate.api import CollectionError
from phigate.frameworks import CONTROL_STATES, compliance
from phigate.history.drift import Drift
from phigate.model import Finding, Policy, Severity, Status
from phigate.result import RunResult

#: Findings embedded in the page (most severe first); the JSON report always has them all.
MAX_ROWS = 20_000
#: Rows written into the findings table; the script shows the rest, page by page, from the data.
RENDERED_ROWS = 200
#: Findings detailed under each policy.
MAX_POLICY_FINDINGS = 50
_STATE_LABELS = {"satisfied": "satisfied", "failed": "failed", "not_evaluated": "not evaluated",
                 "not_covered": "not covered"}


@dataclass(frozen=True, slots=True)
class TrendPoint:
    run_id: int
    started: dt.datetime
    failed: int
    errors: int


@dataclass(frozen=True, slots=True)
class AuditContext:
    """What an audit adds to the report: its run in the history, the trend, the drift."""

    run_id: int
    series: str
    #: Recent runs of the series, oldest first, this one last.
    trend: Sequence[TrendPoint]
    #: Changes since the previous run of the series; None on the series' first run.
    drift: Drift | None
    #: Since when each current failure has been failing, by fingerprint.
    failing_since: Mapping[str, dt.datetime] = field(default_factory=dict)


class HtmlReporter:
    name: ClassVar[str] = "html"

    def render(self, result: RunResult, out: IO[str], *, color: bool) -> None:
        render_html(result, out)


def render_html(result: RunResult, out: IO[str], audit: AuditContext | None = None) -> None:
    css, script = _asset("html_report.css"), _asset("html_report.js")
    findings = sorted(result.findings, key=lambda f: (-f.severity, f.status.value, f.policy_id,
                                                      f.resource.id))
    shown = findings[:MAX_ROWS]
    title = "phigate audit" if audit is not None else "phigate report"
    csp = ("default-src 'none'; base-uri 'none'; form-action 'none'; img-src data:; "
           f"style-src {_digest(css)}; script-src {_digest(script)}")
    since = audit.failing_since if audit is not None else {}
    out.write(_template().render(
        title=title, csp=csp, css=css, script=script, audit=audit,
        started=_when(result.started), started_short=result.started.strftime("%Y-%m-%d %H:%M"),
        scopes=", ".join(f"{s.provider}:{s.scope}" for s in result.scopes) or "none",
        links=_links(audit), **_verdict(result), counts=_counts(result), cards=_cards(result),
        trend=_trend(audit) if audit is not None else None,
        changes=_changes(audit) if audit is not None else None,
        groups=_groups(shown), filters=_filters(shown),
        rows=[_row(f, since.get(f.fingerprint) if f.status is Status.FAIL else None)
              for f in shown[:RENDERED_ROWS]],
        embedded=len(shown), total=len(findings),
        policies=_policies(result.policies, findings), errors=_errors(result.collection_errors),
        version=result.tool_version, packs=[f"{p.name} {p.version or p.sha256[:12]}" for p in result.packs],
        data=embed_json(_data(result, shown, audit))))


#: Characters no HTML document may hold (C0 controls but tab, newline, carriage return; DEL; C1),
#: and the bidirectional overrides that make text read otherwise than it is.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _visible(text: str) -> str:
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def escape(text: str) -> str:
    """``html.escape``, and control characters from the estate shown as their code point
    (``\\x1b``), never written raw: they are invalid in HTML and could drive a terminal."""
    return html.escape(_visible(text))


def _finalize(value: Any) -> Any:
    """Every value the template writes: control characters made visible (escaping follows)."""
    if isinstance(value, Markup):
        return value
    return _visible(value) if isinstance(value, str) else ("" if value is None else value)


@cache
def _template() -> jinja2.Template:
    environment = jinja2.Environment(autoescape=True, finalize=_finalize, undefined=jinja2.StrictUndefined,
                                     trim_blocks=False, keep_trailing_newline=True)
    environment.globals.update(resource=_resource, when=_when)
    text = resources.files("phigate.reporters").joinpath("templates/report.html.j2").read_text("utf-8")
    return environment.from_string(text)


def embed_json(value: Any) -> str:
    """JSON safe inside a ``<script>`` element: no ``<``, ``>`` or ``&`` appears literally."""
    text = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
    text = _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)  # DEL and C1: json.dumps keeps them
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


@cache
def _asset(name: str) -> str:
    return resources.files("phigate.reporters").joinpath(name).read_text("utf-8")


def _digest(text: str) -> str:
    return f"'sha256-{base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()}'"


def _links(audit: AuditContext | None) -> list[tuple[str, str]]:
    links = [("summary", "Summary"), ("compliance", "Compliance")]
    if audit is not None:
        links += [("trend", "Trend"), ("changes", "Changes")]
    return [*links, ("findings", "Findings"), ("policies", "Policies"), ("errors", "Collection errors")]


def _verdict(result: RunResult) -> dict[str, str]:
    totals = result.totals()
    if result.evidence.gaps:
        return {"verdict": (f"Evidence incomplete: {totals[Status.ERROR]} outcome(s) not evaluated, "
                            f"{len(result.collection_errors)} collection error(s), "
                            f"{totals[Status.FAIL]} failure(s)"), "verdict_css": "incomplete"}
    if totals[Status.FAIL]:
        return {"verdict": f"{totals[Status.FAIL]} failure(s)", "verdict_css": "fail"}
    return {"verdict": "No failures", "verdict_css": "pass"}


def _counts(result: RunResult) -> list[tuple[str, int]]:
    totals = result.totals()
    return [("resources", result.resources_seen), ("policies", len(result.policies)),
            ("failed", totals[Status.FAIL]), ("not evaluated", totals[Status.ERROR]),
            ("collection errors", len(result.collection_errors)), ("passed", totals[Status.PASS]),
            ("waived", totals[Status.WAIVED]), ("not applicable", totals[Status.SKIP])]


def _cards(result: RunResult) -> list[dict[str, Any]]:
    cards = []
    for framework, views in compliance(result):
        states = Counter(v.status for v in views)
        covered = len(views) - states["not_covered"]
        catalogue = len(framework.controls) or len(views)
        cards.append({
            "key": framework.key, "title": framework.title, "version": framework.version,
            # A fraction, never a bare percentage: 1 of 1 covered control is not "100 %".
            "share": f"{states['satisfied']} of {covered}" if covered else "—",
            "satisfied": states["satisfied"], "meter_max": max(covered, 1), "covered": covered,
            "catalogue": catalogue, "thin": covered * 2 < catalogue,
            "counts": " · ".join(f"{states[s]} {_STATE_LABELS[s]}" for s in CONTROL_STATES),
            "failed": [v.id for v in views if v.status == "failed"],
        })
    return cards


def _trend(audit: AuditContext) -> dict[str, Any] | None:
    points = list(audit.trend)
    if not points:
        return None
    width, height, left, right, top, bottom = 760, 220, 44, 16, 14, 34
    top_value = max(max(p.failed, p.errors) for p in points) or 1
    span = max(len(points) - 1, 1)

    def x(i: int) -> str:
        return f"{left + (width - left - right) * (i / span if len(points) > 1 else 0.5):.1f}"

    def y(value: int) -> str:
        return f"{top + (height - top - bottom) * (1 - value / top_value):.1f}"

    lines = []
    for name, attr in (("fail", "failed"), ("error", "errors")):
        lines.append({"name": name,
                      "points": " ".join(f"{x(i)},{y(getattr(p, attr))}" for i, p in enumerate(points)),
                      "dots": [{"x": x(i), "y": y(getattr(p, attr)),
                                "tip": f"run {p.run_id}, {_when(p.started)}: {p.failed} failure(s), "
                                       f"{p.errors} error(s)"} for i, p in enumerate(points)]})
    labels = [{"x": x(i), "anchor": "start" if i == 0 and len(points) > 1 else "end" if i else "middle",
               "text": points[i].started.strftime("%Y-%m-%d %H:%M")} for i in sorted({0, len(points) - 1})]
    return {"points": points, "width": width, "height": height, "left": left, "right": width - right,
            "top": top, "zero": y(0), "zero_label": f"{float(y(0)) + 4:.1f}", "top_value": top_value,
            "lines": lines, "labels": labels,
            "rows": [{"run_id": p.run_id, "when": _when(p.started), "failed": p.failed, "errors": p.errors}
                     for p in reversed(points)]}


def _changes(audit: AuditContext) -> dict[str, Any] | None:
    drift = audit.drift
    if drift is None:
        return None
    return {
        "before_id": drift.before.id, "before_when": _when(drift.before.started),
        "headline": drift.headline(),
        "groups": [{"key": key, "label": label, "found": found, "since": key == "still-failing"}
                   for key, label, found in (("new", "New failures", drift.new),
                                             ("resolved", "Resolved", drift.resolved),
                                             ("new-errors", "New errors", drift.new_errors),
                                             ("still-failing", "Still failing", drift.still_failing))],
        "policy_groups": [("policies-added", "Policies added", drift.policies_added),
                          ("policies-removed", "Policies removed", drift.policies_removed)],
        "new_collection_errors": len(drift.new_collection_errors),
    }


def _filters(findings: Sequence[Finding]) -> list[tuple[str, str, list[str]]]:
    return [("status", "status", sorted({f.status.value for f in findings})),
            ("severity", "severity", _by_severity({f.severity.label for f in findings})),
            ("policy", "policy", sorted({f.policy_id for f in findings})),
            ("provider", "provider", sorted({f.resource.provider for f in findings})),
            ("data-class", "data class", sorted({f.resource.data_class or "" for f in findings}))]


def _row(f: Finding, started: dt.datetime | None) -> dict[str, Any]:
    r = f.resource
    return {"fingerprint": f.fingerprint, "status": f.status.value, "severity": f.severity.label,
            "policy": f.policy_id, "provider": r.provider, "scope": r.scope,
            "data_class": r.data_class or "", "name": r.name, "id": r.id, "message": f.message,
            "since": _when(started) if started else ""}


def _groups(findings: Sequence[Finding]) -> list[dict[str, Any]]:
    """Findings grouped by policy, with their counts: the page's overview at any scale."""
    by_policy: dict[str, Counter[str]] = {}
    titles: dict[str, tuple[str, Severity]] = {}
    for f in findings:
        by_policy.setdefault(f.policy_id, Counter())[f.status.value] += 1
        titles[f.policy_id] = (f.title, f.severity)
    return [{"id": pid, "title": titles[pid][0], "severity": titles[pid][1].label,
             "fail": by_policy[pid]["fail"], "error": by_policy[pid]["error"],
             "waived": by_policy[pid]["waived"]}
            for pid in sorted(by_policy, key=lambda pid: (-titles[pid][1], pid))]


def _policies(policies: Sequence[Policy], findings: Sequence[Finding]) -> list[dict[str, Any]]:
    by_policy: dict[str, list[Finding]] = {}
    for f in findings:
        by_policy.setdefault(f.policy_id, []).append(f)
    blocks = []
    for policy in sorted(policies, key=lambda p: (-p.severity, p.id)):
        found = by_policy.get(policy.id, [])
        if not found:
            continue
        counts = Counter(f.status.value for f in found)
        providers = {f.resource.provider for f in found}
        blocks.append({
            "id": policy.id, "title": policy.title, "severity": policy.severity.label,
            "counts": ", ".join(f"{n} {s}" for s, n in sorted(counts.items())),
            "rationale": policy.rationale,
            "remediation": sorted((k, v) for k, v in policy.remediation.items()
                                  if k in providers or k == "default"),
            "controls": "; ".join(f"{k}: {', '.join(v)}" for k, v in sorted(policy.controls.items())),
            "findings": [{"fingerprint": f.fingerprint, "status": f.status.value, "name": f.resource.name,
                          "id": f.resource.id, "message": f.message,
                          "evidence": [words.observation(o) for o in f.evidence]}
                         for f in found[:MAX_POLICY_FINDINGS]],
            "more": max(len(found) - MAX_POLICY_FINDINGS, 0),
        })
    return blocks


def _errors(errors: Sequence[CollectionError]) -> list[dict[str, Any]]:
    return [{"provider": e.provider, "scope": e.scope, "region": e.region, "resource_id": e.resource_id,
             "affects": ", ".join([*e.kinds, *e.types]), "permission": e.permission, "message": e.message}
            for e in errors]


def _data(result: RunResult, findings: Sequence[Finding], audit: AuditContext | None) -> dict[str, Any]:
    totals = result.totals()
    data: dict[str, Any] = {
        "tool": {"name": "phigate", "version": result.tool_version},
        "started": result.started.isoformat(timespec="seconds"),
        "summary": {s.value: totals[s] for s in Status} | {"resources": result.resources_seen,
                                                          "collection_errors": len(result.collection_errors)},
        "findings": _compact(findings, audit),
    }
    if audit is not None:
        data["run"] = {"id": audit.run_id, "series": audit.series}
        data["trend"] = [{"run": p.run_id, "started": p.started.isoformat(timespec="seconds"),
                          "fail": p.failed, "error": p.errors} for p in audit.trend]
        if audit.drift is not None:
            drift = audit.drift.to_json()
            data["changes"] = {k: v for k, v in drift.items() if k not in ("from", "to")}
            data["changes"]["previous_run"] = audit.drift.before.id
    return data


FINDING_COLUMNS = ("id", "policy_id", "status", "severity", "resource_id", "resource_name", "provider",
                   "scope", "data_class", "message", "failing_since")
#: Columns whose values repeat: written once in a table, referred to by position.
_INTERNED = ("policy_id", "provider", "scope", "data_class")


def _compact(findings: Sequence[Finding], audit: AuditContext | None) -> dict[str, Any]:
    """Findings as rows of a table, repeated values interned: a tenth of the objects' size."""
    tables: dict[str, dict[str, int]] = {name: {} for name in _INTERNED}

    def intern(name: str, value: str) -> int:
        return tables[name].setdefault(value, len(tables[name]))

    since = audit.failing_since if audit is not None else {}
    rows = []
    for f in findings:
        r, started = f.resource, since.get(f.fingerprint) if f.status is Status.FAIL else None
        rows.append([f.fingerprint, intern("policy_id", f.policy_id), f.status.value, f.severity.label,
                     r.id, r.name if r.name != r.id else None, intern("provider", r.provider),
                     intern("scope", r.scope), intern("data_class", r.data_class or ""), f.message,
                     _when(started) if started else None])
    return {"columns": list(FINDING_COLUMNS), "tables": {k: list(v) for k, v in tables.items()},
            "rows": rows}


def findings_of(data: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The findings of an embedded data block as objects (the inverse of the compact form)."""
    block = data["findings"]
    columns, tables = block["columns"], block["tables"]
    found = []
    for row in block["rows"]:
        item = dict(zip(columns, row, strict=True))
        for name in _INTERNED:
            item[name] = tables[name][item[name]]
        found.append(item)
    return found


def _resource(name: str | None, rid: str) -> Markup:
    if name and name != rid:
        return Markup("{}<br><span class=\"id\">{}</span>").format(_visible(name), _visible(rid))
    return Markup("<span class=\"id\">{}</span>").format(_visible(rid))


def _when(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _by_severity(labels: Iterable[str]) -> list[str]:
    order = [s.label for s in sorted(Severity, reverse=True)]
    return sorted(labels, key=lambda s: order.index(s) if s in order else len(order))


__all__ = ["AuditContext", "HtmlReporter", "TrendPoint", "embed_json", "findings_of", "render_html"]
