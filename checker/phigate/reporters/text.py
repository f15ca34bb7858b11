"""Human output: a findings table and a summary; colour only on a terminal.

Every value from the estate or an input file is shown through ``safetext.visible`` (control
characters and line breaks as code points), and the whole rendering through ``safetext.guard``:
however a long value is wrapped, no line of the report can start a CI workflow command.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, ClassVar

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from phigate import wording as words
from phigate.baseline import BaselineComparison
from phigate.frameworks import CONTROL_STATES, compliance
from phigate.model import Finding, Policy, Severity, Status
from phigate.result import RunResult
from phigate.safetext import guard, visible
from phigate.waivers import Waiver, WaiverOutcome

_STATUS_STYLE = {Status.FAIL: "bold red", Status.ERROR: "bold magenta", Status.PASS: "green",
                 Status.WAIVED: "cyan", Status.SKIP: "dim"}
#: Resolved baseline failures listed one by one; beyond that, counted (the JSON report has all).
MAX_RESOLVED_LINES = 20
_SEVERITY_STYLE = {Severity.CRITICAL: "bold red", Severity.HIGH: "red", Severity.MEDIUM: "yellow",
                   Severity.LOW: "blue", Severity.INFO: "dim"}


@dataclass(frozen=True)
class TextOptions:
    """How the text report is laid out (``scan`` options)."""

    #: One line a finding instead of a table.
    compact: bool = False
    #: ``policy`` or ``resource``: findings under a heading per policy or per resource.
    group_by: str | None = None
    #: A "fix:" line under each finding: the policy's remediation for the resource's provider.
    explain: bool = False
    #: Failures only, and the summary line: what a quick look needs.
    quiet: bool = False
    #: Frameworks asked for (``--framework``): shown even where nothing was decided.
    frameworks: tuple[str, ...] = ()


class TextReporter:
    name: ClassVar[str] = "text"

    def __init__(self, options: TextOptions | None = None) -> None:
        self.options = options or TextOptions()

    def render(self, result: RunResult, out: IO[str], *, color: bool) -> None:
        buffer = io.StringIO()
        width = None if color else 160  # a terminal's own width (or COLUMNS)
        console = Console(file=buffer, force_terminal=color, no_color=not color, highlight=False,
                          width=width, soft_wrap=False)
        self._render(result, console)
        out.write(guard(buffer.getvalue()))

    def _render(self, result: RunResult, console: Console) -> None:
        options = self.options
        shown = [f for f in result.findings if f.status is not Status.PASS
                 and (not options.quiet or f.status is Status.FAIL)]
        remedies = {p.id: p for p in result.policies}
        if shown and (options.compact or options.group_by):
            _print_lines(console, result, shown, remedies, options)
        elif shown:
            console.print(_table(result, shown, remedies, options))
        if options.quiet:
            _print_summary(console, result)
            return
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
        _print_summary(console, result)
        if result.baseline is not None:
            b = result.baseline
            console.print(f"Baseline {escape(_printable(b.file))}: {len(b.new)} new failures, "
                          f"{len(b.unchanged)} unchanged (not gating), {len(b.resolved)} resolved, "
                          f"{len(b.not_evaluated)} not evaluated by this run", soft_wrap=True)
        for framework, views in compliance(result):
            states = {s: sum(1 for v in views if v.status == s) for s in CONTROL_STATES}
            if framework.key not in options.frameworks and not (states["satisfied"] or states["failed"]):
                continue  # a framework the scan decided nothing about says nothing
            console.print(f"{escape(_printable(framework.title))}: {states['satisfied']} controls satisfied, "
                          f"{states['failed']} failed, {states['not_evaluated']} not evaluated, "
                          f"{states['not_covered']} not covered")
        if result.evidence.gaps:
            console.print("[magenta]Evidence is incomplete:[/] errors are never counted as passes.")


def _table(result: RunResult, shown: list[Finding], remedies: Mapping[str, Policy],
           options: TextOptions) -> Table:
    table = Table(show_lines=False, header_style="bold", expand=False)
    table.add_column("status")
    table.add_column("severity")
    table.add_column("policy")
    table.add_column("resource", overflow="fold")
    table.add_column("message", overflow="fold")
    for f, policies in _collapsed(sorted(shown, key=lambda f: (-f.severity, f.policy_id, f.resource.id))):
        message = _printable(_message(f))
        if options.explain and len(policies) == 1:
            message += f"\nfix: {_printable(_remedy(f, remedies))}"
        table.add_row(
            Text(_status_label(f, result.baseline), style=_STATUS_STYLE[f.status]),
            Text(f.severity.label, style=_SEVERITY_STYLE[f.severity]),
            Text(_printable(words.items(policies))),
            Text(_printable(f.resource.address or f.resource.name or f.resource.id)),
            Text(message),
        )
    return table


def _collapsed(findings: list[Finding]) -> list[tuple[Finding, list[str]]]:
    """One row per error that many policies share (a server that could not be reached errs every
    policy over it, with one message): the policies listed together, the most severe first."""
    rows: list[tuple[Finding, list[str]]] = []
    shared: dict[tuple[str, str], list[str]] = {}
    for f in findings:
        if f.status is Status.ERROR and f.waiver is None:
            key = (f.resource.id, f.message)
            if key in shared:
                shared[key].append(f.policy_id)
                continue
            shared[key] = [f.policy_id]
            rows.append((f, shared[key]))
        else:
            rows.append((f, [f.policy_id]))
    return rows


def _print_summary(console: Console, result: RunResult) -> None:
    totals = result.totals()
    console.print(f"{result.resources_seen} resources, {len(result.policies)} policies: "
                  f"{totals[Status.FAIL]} failed, {totals[Status.ERROR]} error, "
                  f"{totals[Status.PASS]} passed, {totals[Status.WAIVED]} waived, "
                  f"{totals[Status.SKIP]} not applicable")


def _print_lines(console: Console, result: RunResult, shown: list[Finding],
                 remedies: Mapping[str, Policy], options: TextOptions) -> None:
    """One line a finding (``--compact``), under a heading per policy or resource (``--group-by``)."""
    def key(f: Finding) -> str:
        if options.group_by == "resource":
            return f.resource.address or f.resource.name or f.resource.id
        return f.policy_id if options.group_by == "policy" else ""

    groups: dict[str, list[Finding]] = {}
    for f in sorted(shown, key=lambda f: (-f.severity, f.policy_id, f.resource.id)):
        groups.setdefault(key(f), []).append(f)
    for heading, found in sorted(groups.items(), key=lambda kv: (-max(f.severity for f in kv[1]), kv[0])):
        if heading:
            title = f" {found[0].title}" if options.group_by == "policy" else ""
            console.print(Text(f"{_printable(heading)}{_printable(title)} ({len(found)})", style="bold"))
        for f in found:
            where = f.resource.address or f.resource.name or f.resource.id
            what = f.policy_id if options.group_by == "resource" else where
            line = Text("  " if heading else "")
            line.append(_status_label(f, result.baseline), style=_STATUS_STYLE[f.status])
            line.append(f" {f.severity.label} ", style=_SEVERITY_STYLE[f.severity])
            line.append(f"{_printable(what if options.group_by else f'{f.policy_id} {where}')}: "
                        f"{_printable(_message(f))}")
            console.print(line, soft_wrap=True)
            if options.explain:
                console.print(Text(f"{'    ' if heading else '  '}fix: {_printable(_remedy(f, remedies))}"),
                              soft_wrap=True)


def _remedy(finding: Finding, remedies: Mapping[str, Policy]) -> str:
    policy = remedies.get(finding.policy_id)
    return policy.remedy(finding.resource.provider) if policy is not None else ""


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
