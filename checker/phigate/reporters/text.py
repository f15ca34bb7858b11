"""Human output: a findings table and a summary; colour only on a terminal."""

from __future__ import annotations

from typing import IO, ClassVar

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from phigate.frameworks import CONTROL_STATES
from phigate.model import Severity, Status
from phigate.run import RunResult

_STATUS_STYLE = {Status.FAIL: "bold red", Status.ERROR: "bold magenta", Status.PASS: "green",
                 Status.WAIVED: "cyan", Status.SKIP: "dim"}
_SEVERITY_STYLE = {Severity.CRITICAL: "bold red", Severity.HIGH: "red", Severity.MEDIUM: "yellow",
                   Severity.LOW: "blue", Severity.INFO: "dim"}


class TextReporter:
    name: ClassVar[str] = "text"

    def render(self, result: RunResult, out: IO[str], *, color: bool) -> None:
        console = Console(file=out, force_terminal=color, no_color=not color, highlight=False,
                          width=160 if not color else None, soft_wrap=False)
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
                    Text(f.status.value.upper(), style=_STATUS_STYLE[f.status]),
                    Text(f.severity.label, style=_SEVERITY_STYLE[f.severity]),
                    Text(_printable(f.policy_id)),
                    Text(_printable(f.resource.name or f.resource.id)),
                    Text(_printable(f.message)),
                )
            console.print(table)
        for error in result.collection_errors:
            where = " ".join(x for x in (error.provider, error.scope, error.region or "") if x)
            message = escape(_printable(error.message))
            console.print(f"[magenta]could not collect[/] {escape(_printable(where))}: {message}")
        totals = result.totals()
        summary = (f"{result.resources_seen} resources, {len(result.policies)} policies: "
                   f"{totals[Status.FAIL]} failed, {totals[Status.ERROR]} error, "
                   f"{totals[Status.PASS]} passed, {totals[Status.WAIVED]} waived, "
                   f"{totals[Status.SKIP]} not applicable")
        console.print(summary)
        for framework, views in result.compliance():
            states = {s: sum(1 for v in views if v.status == s) for s in CONTROL_STATES}
            console.print(f"{escape(framework.title)}: {states['satisfied']} controls satisfied, "
                          f"{states['failed']} failed, {states['not_evaluated']} not evaluated, "
                          f"{states['not_covered']} not covered")
        if totals[Status.ERROR] or result.collection_errors:
            console.print("[magenta]Evidence is incomplete:[/] errors are never counted as passes.")


def _printable(text: str) -> str:
    """Control characters from resource names or messages never reach the terminal."""
    return "".join(ch if ch.isprintable() else f"\\x{ord(ch):02x}" for ch in text)
