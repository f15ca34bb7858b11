"""Human output: a findings table and a summary; colour only on a terminal.

Every value from the estate or an input file is shown through ``safetext.visible`` (control
characters and line breaks as code points), and the whole rendering through ``safetext.guard``:
however a long value is wrapped, no line of the report can start a CI workflow command.
"""

from __future__ import annotations

import io
from typing import IO, ClassVar

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from phigate.baseline import BaselineComparison
from phigate.frameworks import CONTROL_STATES
from phigate.model import Finding, Severity, Status
from phigate.run import RunResult
from phigate.safetext import guard, visible
from phigate.waivers import Waiver, WaiverOutcome

_STATUS_STYLE = {Status.FAIL: "bold red", Status.ERROR: "bold magenta", Status.PASS: "green",
                 Status.WAIVED: "cyan", Status.SKIP: "dim"}
#: Resolved baseline failures listed one by one; beyond that, counted (the JSON report has all).
MAX_RESOLVED_LINES = 20
_SEVERITY_STYLE = {Severity.CRITICAL: "bold red", Severity.HIGH: "red", Severity.MEDIUM: "yellow",
                   Severity.LOW: "blue", Severity.INFO: "dim"}


class TextReporter:
    name: ClassVar[str] = "text"

    def render(self, result: RunResult, out: IO[str], *, color: bool) -> None:
        buffer = io.StringIO()
        width = None if color else 160  # a terminal's own width (or COLUMNS)
        console = Console(file=buffer, force_terminal=color, no_color=not color, highlight=False,
                          width=width, soft_wrap=False)
        self._render(result, console)
        out.write(guard(buffer.getvalue()))

    def _render(self, result: RunResult, console: Console) -> None:
        shown = [f for f in result.findings if f.status is not Status.PASS]
        if shown:
            table = Table(show_lines=False, header_style="bold", expand=False)
            table.add_column("status")
            table.add_column("severity")
            table.add_column("policy")
            table.add_column("resource", overflow="fold")
            table.add_column("message", overflow="fold")
            for f in sorted(shown, key=lambda f: (-f.severity, f.policy_id, f.resource.id)):
                table.add_row(
                    Text(_status_label(f, result.baseline), style=_STATUS_STYLE[f.status]),
                    Text(f.severity.label, style=_SEVERITY_STYLE[f.severity]),
                    Text(_printable(f.policy_id)),
                    Text(_printable(f.resource.address or f.resource.name or f.resource.id)),
                    Text(_printable(_message(f))),
                )
            console.print(table)
        if result.waivers is not None:
            _print_waivers(console, result.waivers)
        if result.baseline is not None:
            _print_resolved(console, result.baseline)
        for error in result.collection_errors:
            where = " ".join(x for x in (error.provider, error.scope, error.region or "") if x)
            message = escape(_printable(error.message))
            console.print(f"[magenta]could not collect[/] {escape(_printable(where))}: {message}")
        for notice in result.notices:
            console.print(f"[dim]note:[/] {escape(_printable(notice))}")
        totals = result.totals()
        summary = (f"{result.resources_seen} resources, {len(result.policies)} policies: "
                   f"{totals[Status.FAIL]} failed, {totals[Status.ERROR]} error, "
                   f"{totals[Status.PASS]} passed, {totals[Status.WAIVED]} waived, "
                   f"{totals[Status.SKIP]} not applicable")
        console.print(summary)
        if result.baseline is not None:
            b = result.baseline
            console.print(f"Baseline {escape(_printable(b.file))}: {len(b.new)} new failures, "
                          f"{len(b.unchanged)} unchanged (not gating), {len(b.resolved)} resolved, "
                          f"{len(b.not_evaluated)} not evaluated by this run", soft_wrap=True)
        for framework, views in result.compliance():
            states = {s: sum(1 for v in views if v.status == s) for s in CONTROL_STATES}
            console.print(f"{escape(_printable(framework.title))}: {states['satisfied']} controls satisfied, "
                          f"{states['failed']} failed, {states['not_evaluated']} not evaluated, "
                          f"{states['not_covered']} not covered")
        if totals[Status.ERROR] or result.collection_errors:
            console.print("[magenta]Evidence is incomplete:[/] errors are never counted as passes.")


def _status_label(finding: Finding, baseline: BaselineComparison | None) -> str:
    state = baseline.state(finding) if baseline is not None else None
    if finding.waiver is not None and finding.waiver.status is Status.ERROR:
        state = "error"  # evidence not seen, accepted by a waiver: still not a pass
    label = finding.status.value.upper()
    return f"{label} ({state})" if state else label


def _message(finding: Finding) -> str:
    if finding.waiver is None:
        return finding.message
    return (f"waived {finding.waiver.covers}: {finding.waiver} [{finding.waiver.source}]; "
            f"{finding.message}")


def _print_waivers(console: Console, outcome: WaiverOutcome) -> None:
    for use in outcome.expired:
        covered = (f": {len(use.findings)} failures no longer waived" if use.findings
                   else ", matching no failure")
        console.print(f"[yellow]expired waiver[/] {_waiver_line(use.waiver)} "
                      f"expired {use.waiver.expires.isoformat()}{covered}", soft_wrap=True)
    for waiver in outcome.unused:
        console.print(f"[yellow]unused waiver[/] {_waiver_line(waiver)} matched no failure",
                      soft_wrap=True)


def _waiver_line(waiver: Waiver) -> str:
    where = "".join(f" {k} {v}" for k, v in (("scope", waiver.scope), ("provider", waiver.provider)) if v)
    text = f"{waiver.source}: {waiver.policy} on {waiver.resource}{where} (owner: {waiver.owner})"
    return escape(_printable(text))


def _print_resolved(console: Console, baseline: BaselineComparison) -> None:
    for known in baseline.resolved[:MAX_RESOLVED_LINES]:
        text = f"{known.policy_id} on {known.resource_name or known.resource_id}"
        console.print(f"[green]resolved since the baseline[/] {escape(_printable(text))}",
                      soft_wrap=True)
    if len(baseline.resolved) > MAX_RESOLVED_LINES:
        console.print(f"… and {len(baseline.resolved) - MAX_RESOLVED_LINES} more resolved "
                      "(the JSON report lists them all)")


def _printable(text: str) -> str:
    """Control characters from resource names or messages never reach the terminal."""
    return visible(text)
