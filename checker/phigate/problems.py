"""Located problems in user input: ``FILE:LINE:COL: message (pointer)``.

Loading never stops at the first problem: every problem of a run is collected and reported
together, then the CLI exits 2.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """One problem, located as precisely as the input allows (lines and columns are 1-based)."""

    file: str
    line: int
    column: int
    message: str
    pointer: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.column}"
        return f"{where}: {self.message} ({self.pointer})" if self.pointer else f"{where}: {self.message}"


class ProblemsError(Exception):
    """Raised with every problem found, once loading of a whole input set is over."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems = sorted(set(problems))
        super().__init__("\n".join(str(p) for p in self.problems))


def json_pointer(parts: Iterable[object]) -> str:
    """RFC 6901 pointer for a path of keys and indexes."""
    out = []
    for part in parts:
        text = str(part).replace("~", "~0").replace("/", "~1")
        out.append(text)
    return "/" + "/".join(out) if out else ""
