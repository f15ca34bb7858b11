"""Report formats: one module per format, registered under the ``phigate.reporters`` group."""

from __future__ import annotations

from typing import IO, ClassVar, Protocol, runtime_checkable

from phigate.result import RunResult


@runtime_checkable
class Reporter(Protocol):
    """What a ``phigate.reporters`` entry point gives: a class made with no argument. The
    registry checks it when it loads (:func:`phigate.api.reporter_problems`); one that does not
    honour this is refused as a broken plugin (exit 2) before the scan."""

    name: ClassVar[str]

    def render(self, result: RunResult, out: IO[str], *, color: bool) -> None:
        """Write the report for ``result``."""
