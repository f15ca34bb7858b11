"""A compact Markdown summary for CI step summaries and pull-request comments.

A verdict line, a table of counts, the failures grouped by policy (the first few of each, then
"… and K more"), what could not be evaluated or collected listed apart from the failures, and
one line per framework. Everything that comes from the scanned estate (resource ids, messages)
is escaped: it can hold pipes, backticks, newlines or markup that must not break the table or
inject formatting into a comment.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import IO, ClassVar

from phigate.api import CollectionError
from phigate.frameworks import CONTROL_STATES, compliance
from phigate.model import Finding, Status
from phigate.result import RunResult
from phigate.safetext import markdown_words

#: Failures listed per policy before "… and K more".
PER_POLICY = 5
#: Errors (not evaluated) and collection errors listed before "… and K more".
MAX_ERRORS = 10
#: Longer messages are cut: the full text is in the JSON and SARIF reports.
MAX_MESSAGE = 200

VERDICT_PASS, VERDICT_FAIL, VERDICT_INCOMPLETE = "✅", "❌", "⚠️"
#: Characters that mean something inline to Markdown, to HTML or to a table cell. Escaped text
#: never starts a line, so block markers (``#``, ``-``, ``1.``) need no escape; with brackets
#: escaped, ``(`` and ``!`` cannot form a link or an image.
_SPECIAL = frozenset("\\`*_[]<>|~&")


class MarkdownReporter:
    name: ClassVar[str] = "markdown"

    def render(self, result: RunResult, out: IO[str], *, color: bool) -> None:
        out.write("\n".join(markdown_lines(result)))
        out.write("\n")


def markdown_lines(result: RunResult) -> list[str]:
    totals = result.totals()
    lines = [f"## phigate: {verdict(result)}", "",
             "| resources | policies | failed | not evaluated | collection errors | passed "
             "| waived | not applicable |",
             "|---:|---:|---:|---:|---:|---:|---:|---:|",
             f"| {result.resources_seen} | {len(result.policies)} | {totals[Status.FAIL]} "
             f"| {totals[Status.ERROR]} | {len(result.collection_errors)} | {totals[Status.PASS]} "
             f"| {totals[Status.WAIVED]} | {totals[Status.SKIP]} |"]
    lines += _failures(result)
    lines += _not_evaluated([f for f in result.findings if f.status is Status.ERROR])
    lines += _not_collected(result.collection_errors)
    lines += _waivers(result)
    lines += _compliance(result)
    lines += ["", f"<sub>phigate {escape(result.tool_version)}</sub>"]
    return lines


def verdict(result: RunResult) -> str:
    """Incomplete evidence wins, as in the exit code: a clean-looking run that could not see
    everything is not a pass. Every failure counts here whatever ``--fail-on`` says (the
    reporter is not told the threshold); waived failures do not."""
    totals = result.totals()
    failed = totals[Status.FAIL]
    if result.evidence.gaps:
        also = f"; {failed} failure(s)" if failed else ""
        return (f"{VERDICT_INCOMPLETE} evidence incomplete: {totals[Status.ERROR]} outcome(s) not "
                f"evaluated, {len(result.collection_errors)} collection error(s){also}")
    if failed and result.baseline is not None:
        # Against a baseline only new failures gate, as in the exit code.
        new, known = len(result.baseline.new), len(result.baseline.unchanged)
        if new:
            return f"{VERDICT_FAIL} {new} new failure(s), {known} already in the baseline"
        return f"{VERDICT_PASS} no new failures ({known} already in the baseline)"
    if failed:
        return f"{VERDICT_FAIL} {failed} failure(s)"
    return f"{VERDICT_PASS} no failures"


def _failures(result: RunResult) -> list[str]:
    failed = [f for f in result.findings if f.status is Status.FAIL]
    if not failed:
        return []
    policies = {p.id: p for p in result.policies}
    by_policy: dict[str, list[Finding]] = {}
    for finding in failed:
        by_policy.setdefault(finding.policy_id, []).append(finding)
    order = sorted(by_policy, key=lambda pid: (-by_policy[pid][0].severity, pid))
    lines = ["", "### Failures"]
    for pid in order:
        findings = by_policy[pid]
        first = findings[0]
        policy = policies.get(pid)
        title = policy.title if policy is not None else first.title
        lines += ["", f"**{escape(pid)}** · {first.severity.label} · {escape(title)} · "
                      f"{len(findings)} failed", "",
                  "| resource | message |", "|---|---|"]
        for finding in findings[:PER_POLICY]:
            marker = _baseline_marker(result, finding)
            lines.append(f"| {code(shown(finding))}{marker} | {escape(_cut(finding.message))} |")
        lines += _more(len(findings) - PER_POLICY)
    return lines


def shown(finding: Finding) -> str:
    """How a resource is named: a planned one by its Terraform address, as in the code."""
    return finding.resource.address or finding.resource.id


def _baseline_marker(result: RunResult, finding: Finding) -> str:
    if result.baseline is None:
        return ""
    return " (new)" if result.baseline.state(finding) == "new" else ""


def _not_evaluated(errors: list[Finding]) -> list[str]:
    if not errors:
        return []
    lines = ["", f"### {VERDICT_INCOMPLETE} Not evaluated (never counted as passed)", "",
             "| policy | resource | reason |", "|---|---|---|"]
    for finding in errors[:MAX_ERRORS]:
        lines.append(f"| {escape(finding.policy_id)} | {code(shown(finding))} "
                     f"| {escape(_cut(finding.message))} |")
    return lines + _more(len(errors) - MAX_ERRORS)


def _not_collected(errors: Sequence[CollectionError]) -> list[str]:
    if not errors:
        return []
    lines = ["", f"### {VERDICT_INCOMPLETE} Could not collect", "",
             "| where | what | permission | message |", "|---|---|---|---|"]
    for error in errors[:MAX_ERRORS]:
        where = " ".join(x for x in (error.provider, error.scope, error.region or "") if x)
        what = error.resource_id or ", ".join([*error.kinds, *error.types]) or "everything"
        permission = code(error.permission) if error.permission else ""
        lines.append(f"| {escape(where)} | {code(what)} | {permission} "
                     f"| {escape(_cut(error.message))} |")
    return lines + _more(len(errors) - MAX_ERRORS)


def _waivers(result: RunResult) -> list[str]:
    outcome = result.waivers
    if outcome is None:
        return []
    return ["", f"Waivers: {len(outcome.applied)} applied, {len(outcome.expired)} expired, "
                f"{len(outcome.unused)} unused."]


def _compliance(result: RunResult) -> list[str]:
    views = compliance(result)
    if not views:
        return []
    lines = ["", "### Controls", "", "| framework | satisfied | failed | not evaluated | not covered |",
             "|---|---:|---:|---:|---:|"]
    for framework, controls in views:
        states = {s: sum(1 for c in controls if c.status == s) for s in CONTROL_STATES}
        lines.append(f"| {escape(framework.title)} | {states['satisfied']} | {states['failed']} "
                     f"| {states['not_evaluated']} | {states['not_covered']} |")
    return lines


def _more(hidden: int) -> list[str]:
    return [f"| … and {hidden} more | |"] if hidden > 0 else []


def _cut(text: str) -> str:
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE - 1] + "…"


def _visible(text: str) -> str:
    """Line breaks and control characters as visible escapes: one cell stays one line."""
    named = {"\n": "\\n", "\r": "\\r", "\t": " "}
    return "".join(named.get(ch) or (ch if ch.isprintable() else f"\\x{ord(ch):02x}")
                   for ch in text)


def escape(text: str) -> str:
    """Plain text, safe in a paragraph or a table cell: every Markdown, HTML and table
    character is backslash-escaped (CommonMark lets any ASCII punctuation be escaped); words
    GitHub would make a mention or a link (``@team``, ``www.``, ``https://``) are code spans."""
    return "".join(code(part) if live else "".join(f"\\{ch}" if ch in _SPECIAL else ch
                                                   for ch in _visible(part))
                   for part, live in markdown_words(text))


def code(text: str) -> str:
    """An inline code span that holds any text inside a table cell: the fence is longer than
    any run of backticks in the text, and pipes are escaped (tables split cells on a pipe even
    inside code; the table parser removes the backslash)."""
    text = _visible(text).replace("|", "\\|")
    longest = max((len(run) for run in _backtick_runs(text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip(" ") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _backtick_runs(text: str) -> Iterable[str]:
    run = ""
    for ch in text:
        if ch == "`":
            run += ch
        elif run:
            yield run
            run = ""
    if run:
        yield run


__all__ = ["MarkdownReporter", "code", "escape", "markdown_lines", "verdict"]

