"""One self-contained HTML report: compliance per framework, findings to search and filter,
per-policy detail and, for audits, the trend over recent runs and what changed since the last.

Nothing is fetched (a Content-Security-Policy pins the one style sheet and the one script by
hash and allows no other source). Everything from the estate is escaped with ``html.escape``;
the page's data is embedded as JSON inside ``<script type="application/json">`` with ``<``,
``>`` and ``&`` written as ``\\u`` escapes (so no ``</script>`` can close it), and the script
only ever writes with ``textContent``. Rows are rendered here, so the report reads (and prints)
without JavaScript; the script only filters them.
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

from phigate import wording as words
from phigate.api import CollectionError
from phigate.frameworks import CONTROL_STATES
from phigate.history.drift import Drift
from phigate.history.records import StoredFinding
from phigate.model import Finding, Policy, Severity, Status
from phigate.run import RunResult

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
    policy = ("default-src 'none'; base-uri 'none'; form-action 'none'; img-src data:; "
              f"style-src {_digest(css)}; script-src {_digest(script)}")
    out.write("".join([
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n",
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{escape(policy)}\">\n",
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n",
        f"<title>{escape(title)} {escape(result.started.strftime('%Y-%m-%d %H:%M'))} UTC</title>\n",
        f"<style>{css}</style>\n</head>\n<body>\n",
        _header(result, audit, title),
        "<main>\n", _summary(result), _compliance(result),
        _trend(audit) if audit is not None else "",
        _changes(audit) if audit is not None else "",
        _findings(shown, len(findings), audit),
        _policies(result.policies, findings), _collection_errors(result.collection_errors),
        "</main>\n",
        f"<footer><p>phigate {escape(result.tool_version)}"
        f"{''.join(f' · pack {escape(p.name)} {escape(p.version or p.sha256[:12])}' for p in result.packs)}"
        "</p></footer>\n",
        "<script type=\"application/json\" id=\"phigate-data\">",
        embed_json(_data(result, shown, audit)), "</script>\n",
        f"<script>{script}</script>\n</body>\n</html>\n",
    ]))


#: Characters no HTML document may hold (C0 controls but tab, newline, carriage return; DEL; C1).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def escape(text: str) -> str:
    """``html.escape``, and control characters from the estate shown as their code point
    (``\\x1b``), never written raw: they are invalid in HTML and could drive a terminal."""
    return html.escape(_CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text))


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


def _header(result: RunResult, audit: AuditContext | None, title: str) -> str:
    totals = result.totals()
    unseen = totals[Status.ERROR] + len(result.collection_errors)
    if unseen:
        verdict, css = (f"Evidence incomplete: {totals[Status.ERROR]} outcome(s) not evaluated, "
                        f"{len(result.collection_errors)} collection error(s), "
                        f"{totals[Status.FAIL]} failure(s)"), "incomplete"
    elif totals[Status.FAIL]:
        verdict, css = f"{totals[Status.FAIL]} failure(s)", "fail"
    else:
        verdict, css = "No failures", "pass"
    scopes = ", ".join(f"{s.provider}:{s.scope}" for s in result.scopes) or "none"
    run = (f"run {audit.run_id} of series <code>{escape(audit.series)}</code> · "
           if audit is not None else "")
    links = [("summary", "Summary"), ("compliance", "Compliance")]
    if audit is not None:
        links += [("trend", "Trend"), ("changes", "Changes")]
    links += [("findings", "Findings"), ("policies", "Policies"), ("errors", "Collection errors")]
    return (f"<header>\n<h1>{escape(title)}</h1>\n<p class=\"meta\">{run}started "
            f"{escape(_when(result.started))} · scopes: {escape(scopes)}</p>\n"
            f"<p class=\"verdict verdict-{css}\" id=\"verdict\">{escape(verdict)}</p>\n<nav>"
            + "".join(f"<a href=\"#{key}\">{label}</a>" for key, label in links)
            + "</nav>\n</header>\n")


def _summary(result: RunResult) -> str:
    totals = result.totals()
    items = [("resources", result.resources_seen), ("policies", len(result.policies)),
             ("failed", totals[Status.FAIL]), ("not evaluated", totals[Status.ERROR]),
             ("collection errors", len(result.collection_errors)), ("passed", totals[Status.PASS]),
             ("waived", totals[Status.WAIVED]), ("not applicable", totals[Status.SKIP])]
    return ("<section id=\"summary\">\n<h2>Summary</h2>\n<ul class=\"counts\">"
            + "".join(f"<li><b>{n}</b>{escape(label)}</li>" for label, n in items)
            + "</ul>\n</section>\n")


def _compliance(result: RunResult) -> str:
    cards = []
    for framework, views in result.compliance():
        states = Counter(v.status for v in views)
        covered = len(views) - states["not_covered"]
        catalogue = len(framework.controls) or len(views)
        # A fraction, never a bare percentage: 1 of 1 covered control is not "100 %".
        share = f"{states['satisfied']} of {covered}" if covered else "—"
        counts = " · ".join(f"{states[s]} {_STATE_LABELS[s]}" for s in CONTROL_STATES)
        failed = [v.id for v in views if v.status == "failed"]
        thin = " card-thin" if covered * 2 < catalogue else ""
        cards.append(
            f"<div class=\"card{thin}\" data-framework=\"{escape(framework.key)}\">"
            f"<div>{escape(framework.title)} <span class=\"note\">{escape(framework.version)}</span></div>"
            f"<div class=\"big\">{share}</div>"
            f"<meter min=\"0\" max=\"{max(covered, 1)}\" value=\"{states['satisfied']}\"></meter>"
            f"<div class=\"note\">covered controls satisfied; {covered} of {catalogue} controls of the "
            f"catalogue covered by a policy<br>{escape(counts)}</div>"
            + (f"<div class=\"note\">failed: {escape(', '.join(failed))}</div>" if failed else "")
            + "</div>")
    body = ("<div class=\"cards\">" + "".join(cards) + "</div>" if cards
            else "<p class=\"note\">No selected policy maps to a framework.</p>")
    return f"<section id=\"compliance\">\n<h2>Compliance by framework</h2>\n{body}\n</section>\n"


def _trend(audit: AuditContext) -> str:
    points = list(audit.trend)
    if not points:
        return ""
    width, height, left, right, top, bottom = 760, 220, 44, 16, 14, 34
    top_value = max(max(p.failed, p.errors) for p in points) or 1
    span = max(len(points) - 1, 1)

    def x(i: int) -> float:
        return left + (width - left - right) * (i / span if len(points) > 1 else 0.5)

    def y(value: int) -> float:
        return top + (height - top - bottom) * (1 - value / top_value)

    parts = [f"<svg class=\"trend\" viewBox=\"0 0 {width} {height}\" role=\"img\" "
             "aria-label=\"failures and errors per run\" xmlns=\"http://www.w3.org/2000/svg\">",
             f"<line class=\"axis\" x1=\"{left}\" y1=\"{y(0):.1f}\" x2=\"{width - right}\" "
             f"y2=\"{y(0):.1f}\"/>",
             f"<line class=\"axis\" x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{y(0):.1f}\"/>",
             f"<text x=\"{left - 6}\" y=\"{y(0) + 4:.1f}\" text-anchor=\"end\">0</text>",
             f"<text x=\"{left - 6}\" y=\"{top + 4}\" text-anchor=\"end\">{top_value}</text>"]
    for name, attr in (("fail", "failed"), ("error", "errors")):
        coords = " ".join(f"{x(i):.1f},{y(getattr(p, attr)):.1f}" for i, p in enumerate(points))
        parts.append(f"<polyline class=\"line-{name}\" points=\"{coords}\"/>")
        for i, p in enumerate(points):
            tip = f"run {p.run_id}, {_when(p.started)}: {p.failed} failure(s), {p.errors} error(s)"
            parts.append(f"<circle class=\"dot-{name}\" cx=\"{x(i):.1f}\" cy=\"{y(getattr(p, attr)):.1f}\" "
                         f"r=\"3\"><title>{escape(tip)}</title></circle>")
    for i in sorted({0, len(points) - 1}):
        anchor = "start" if i == 0 and len(points) > 1 else "end" if i else "middle"
        parts.append(f"<text x=\"{x(i):.1f}\" y=\"{height - 12}\" text-anchor=\"{anchor}\">"
                     f"{escape(points[i].started.strftime('%Y-%m-%d %H:%M'))}</text>")
    parts.append("</svg>")
    rows = "".join(f"<tr><td>{p.run_id}</td><td>{escape(_when(p.started))}</td><td>{p.failed}</td>"
                   f"<td>{p.errors}</td></tr>" for p in reversed(points))
    return ("<section id=\"trend\">\n<h2>Trend</h2>\n<p><span class=\"legend-fail\">failures</span> and "
            f"<span class=\"legend-error\">errors</span> over the last {len(points)} run(s)</p>\n"
            + "".join(parts) + "\n<details class=\"no-print\"><summary>as a table</summary><table>"
            "<thead><tr><th>run</th><th>started</th><th>failures</th><th>errors</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></details>\n</section>\n")


def _changes(audit: AuditContext) -> str:
    drift = audit.drift
    if drift is None:
        return ("<section id=\"changes\">\n<h2>Changes</h2>\n<p class=\"changes-none\">First audit of "
                "this series: nothing to compare with yet.</p>\n</section>\n")
    parts = [f"<section id=\"changes\">\n<h2>Changes since run {drift.before.id} "
             f"({escape(_when(drift.before.started))})</h2>\n<p>{escape(drift.headline())}</p>\n"]
    for key, label, found in (("new", "New failures", drift.new), ("resolved", "Resolved", drift.resolved),
                              ("new-errors", "New errors", drift.new_errors),
                              ("still-failing", "Still failing", drift.still_failing)):
        parts.append(f"<div id=\"changes-{key}\">\n<h3>{label} ({len(found)})</h3>\n")
        parts.append(_stored_table(found, since=key == "still-failing") if found
                     else "<p class=\"changes-none\">none</p>\n")
        parts.append("</div>\n")
    for key, label, ids in (("policies-added", "Policies added", drift.policies_added),
                            ("policies-removed", "Policies removed", drift.policies_removed)):
        if ids:
            parts.append(f"<div id=\"changes-{key}\"><h3>{label}</h3><p>"
                         + ", ".join(f"<code>{escape(i)}</code>" for i in ids) + "</p></div>\n")
    if drift.new_collection_errors:
        parts.append(f"<p>{len(drift.new_collection_errors)} new collection error(s): see "
                     "<a href=\"#errors\">Collection errors</a>.</p>\n")
    parts.append("</section>\n")
    return "".join(parts)


def _stored_table(findings: Sequence[StoredFinding], since: bool) -> str:
    head = "<th>severity</th><th>policy</th><th>resource</th><th>message</th>"
    rows = []
    for f in findings:
        cells = (f"<td class=\"severity severity-{escape(f.severity)}\">{escape(f.severity)}</td>"
                 f"<td><a href=\"#policy-{escape(f.policy_id)}\">{escape(f.policy_id)}</a></td>"
                 f"<td>{_resource(f.resource_name, f.resource_id)}</td><td>{escape(f.message)}</td>")
        if since:
            cells += f"<td>{escape(_when(f.failing_since)) if f.failing_since else ''}</td>"
        rows.append(f"<tr data-fingerprint=\"{escape(f.fingerprint)}\">{cells}</tr>")
    return (f"<table><thead><tr>{head}{'<th>failing since</th>' if since else ''}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>\n")


def _findings(findings: Sequence[Finding], total: int, audit: AuditContext | None) -> str:
    filters = [("status", "status", sorted({f.status.value for f in findings})),
               ("severity", "severity", _by_severity({f.severity.label for f in findings})),
               ("policy", "policy", sorted({f.policy_id for f in findings})),
               ("provider", "provider", sorted({f.resource.provider for f in findings})),
               ("data-class", "data class", sorted({f.resource.data_class or "" for f in findings}))]
    selects = "".join(
        f"<label>{escape(label)} <select data-filter=\"{key}\"><option value=\"\">all</option>"
        + "".join(f"<option value=\"{escape(v)}\">{escape(v or '(none)')}</option>" for v in values)
        + "</select></label>" for key, label, values in filters)
    since = audit.failing_since if audit is not None else {}
    rows = [_row(index, f, since.get(f.fingerprint) if f.status is Status.FAIL else None, audit is not None)
            for index, f in enumerate(findings[:RENDERED_ROWS])]
    capped = (f"<p class=\"note\">The page holds the {len(findings)} most severe of {total} findings; "
              "the JSON report lists them all.</p>\n" if total > len(findings) else "")
    more = len(findings) - len(rows)
    return ("<section id=\"findings\">\n<h2>Findings</h2>\n" + _groups(findings)
            + "<div class=\"filters\"><input id=\"filter-text\" type=\"search\" "
            "placeholder=\"search policy, resource, message…\" aria-label=\"search findings\">"
            f"{selects}<span class=\"note\"><span id=\"findings-shown\">{len(rows)}</span> shown of "
            f"<span id=\"findings-total\">{len(findings)}</span></span></div>\n{capped}"
            "<table id=\"findings-table\"><thead><tr><th>status</th><th>severity</th><th>policy</th>"
            "<th>resource</th><th>provider / scope</th><th>data class</th><th>message</th>"
            + ("<th>failing since</th>" if audit is not None else "")
            + f"</tr></thead>\n<tbody>\n{chr(10).join(rows)}\n</tbody></table>\n"
            + (f"<p class=\"note no-print\" id=\"findings-more-note\">{more} more in the policies below "
               "and, with scripts on, here: "
               "<button type=\"button\" id=\"findings-more\">show more</button></p>\n" if more > 0 else "")
            + "</section>\n")


def _row(index: int, f: Finding, started: dt.datetime | None, audit: bool) -> str:
    r = f.resource
    return (f"<tr data-index=\"{index}\" data-fingerprint=\"{f.fingerprint}\" "
            f"data-status=\"{f.status.value}\" "
            f"data-severity=\"{f.severity.label}\" data-policy=\"{escape(f.policy_id)}\" "
            f"data-provider=\"{escape(r.provider)}\" data-data-class=\"{escape(r.data_class or '')}\">"
            f"<td class=\"status status-{f.status.value}\">{f.status.value}</td>"
            f"<td class=\"severity severity-{f.severity.label}\">{f.severity.label}</td>"
            f"<td><a href=\"#policy-{escape(f.policy_id)}\">{escape(f.policy_id)}</a></td>"
            f"<td>{_resource(r.name, r.id)}</td><td>{escape(r.provider)}<br><span class=\"note\">"
            f"{escape(r.scope)}</span></td><td>{escape(r.data_class or '')}</td>"
            f"<td>{escape(f.message)}</td>"
            + (f"<td>{escape(_when(started)) if started else ''}</td>" if audit else "")
            + "</tr>")


def _groups(findings: Sequence[Finding]) -> str:
    """Findings grouped by policy, with their counts: the page's overview at any scale."""
    by_policy: dict[str, Counter[str]] = {}
    titles: dict[str, tuple[str, Severity]] = {}
    for f in findings:
        by_policy.setdefault(f.policy_id, Counter())[f.status.value] += 1
        titles[f.policy_id] = (f.title, f.severity)
    if not by_policy:
        return ""
    order = sorted(by_policy, key=lambda pid: (-titles[pid][1], pid))
    rows = "".join(
        f"<tr data-group=\"{escape(pid)}\"><td class=\"severity severity-{titles[pid][1].label}\">"
        f"{titles[pid][1].label}</td><td><a href=\"#policy-{escape(pid)}\">{escape(pid)}</a></td>"
        f"<td>{escape(titles[pid][0])}</td><td>{by_policy[pid]['fail']}</td>"
        f"<td>{by_policy[pid]['error']}</td><td>{by_policy[pid]['waived']}</td></tr>"
        for pid in order)
    return ("<table id=\"findings-by-policy\"><thead><tr><th>severity</th><th>policy</th><th>title</th>"
            "<th>failed</th><th>not evaluated</th><th>waived</th></tr></thead>"
            f"<tbody>{rows}</tbody></table>\n")


def _policies(policies: Sequence[Policy], findings: Sequence[Finding]) -> str:
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
        remediation = {k: v for k, v in policy.remediation.items() if k in providers or k == "default"}
        controls = "; ".join(f"{k}: {', '.join(v)}" for k, v in sorted(policy.controls.items()))
        items = "".join(_evidence(f) for f in found[:MAX_POLICY_FINDINGS])
        more = (f"<p class=\"note\">… and {len(found) - MAX_POLICY_FINDINGS} more</p>"
                if len(found) > MAX_POLICY_FINDINGS else "")
        blocks.append(
            f"<details class=\"policy\" id=\"policy-{escape(policy.id)}\"><summary>"
            f"<span class=\"severity severity-{policy.severity.label}\">{policy.severity.label}</span> "
            f"{escape(policy.id)}: {escape(policy.title)} <span class=\"note\">("
            + escape(", ".join(f"{n} {s}" for s, n in sorted(counts.items()))) + ")</span></summary>"
            f"<dl><dt>rationale</dt><dd>{escape(policy.rationale)}</dd>"
            + "".join(f"<dt>remediation ({escape(k)})</dt><dd>{escape(v)}</dd>"
                      for k, v in sorted(remediation.items()))
            + f"<dt>controls</dt><dd>{escape(controls) or 'none'}</dd></dl>"
            f"<h3>Evidence</h3><ul class=\"evidence-list\">{items}</ul>{more}</details>")
    body = "\n".join(blocks) or "<p class=\"note\">No policy failed or erred.</p>"
    return f"<section id=\"policies\">\n<h2>Policies</h2>\n{body}\n</section>\n"


def _evidence(finding: Finding) -> str:
    observations = "".join(
        f"<li>{escape(words.observation(o))}</li>"
        for o in finding.evidence)
    status = finding.status.value
    return (f"<li data-fingerprint=\"{finding.fingerprint}\"><span class=\"status status-{status}\">"
            f"{status}</span> {_resource(finding.resource.name, finding.resource.id)}: "
            f"{escape(finding.message)}<ul class=\"evidence\">{observations}</ul></li>")


def _collection_errors(errors: Sequence[CollectionError]) -> str:
    if not errors:
        return ("<section id=\"errors\">\n<h2>Collection errors</h2>\n<p class=\"note\">None: "
                "everything the policies needed was read.</p>\n</section>\n")
    rows = "".join(
        f"<tr><td>{escape(e.provider)}</td><td>{escape(e.scope)}</td><td>{escape(e.region or '')}</td>"
        f"<td><span class=\"id\">{escape(e.resource_id or '(whole scope)')}</span></td>"
        f"<td>{escape(', '.join([*e.kinds, *e.types]))}</td><td>{escape(e.permission or '')}</td>"
        f"<td>{escape(e.message)}</td></tr>" for e in errors)
    return ("<section id=\"errors\">\n<h2>Collection errors</h2>\n<table><thead><tr><th>provider</th>"
            "<th>scope</th><th>region</th><th>resource</th><th>affects</th><th>permission</th>"
            f"<th>message</th></tr></thead><tbody>{rows}</tbody></table>\n</section>\n")


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


def _resource(name: str | None, rid: str) -> str:
    if name and name != rid:
        return f"{escape(name)}<br><span class=\"id\">{escape(rid)}</span>"
    return f"<span class=\"id\">{escape(rid)}</span>"



def _when(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _by_severity(labels: Iterable[str]) -> list[str]:
    order = [s.label for s in sorted(Severity, reverse=True)]
    return sorted(labels, key=lambda s: order.index(s) if s in order else len(order))


__all__ = ["AuditContext", "HtmlReporter", "TrendPoint", "embed_json", "findings_of", "render_html"]
