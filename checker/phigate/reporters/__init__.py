"""Report formats: one module per format, registered under the ``phigate.reporters`` group."""

from __future__ import annotations

from typing import IO, ClassVar, Protocol

from phigate.result import RunResult


class Reporter(Protocol):
    name: ClassVar[str]

    def render(self, result: RunResult, out: IO[str], *, color: bool) -> None:
        """Write the report for ``result``."""
