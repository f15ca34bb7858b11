"""What the command line shows on a terminal while it works, and whether it may use colour."""

from __future__ import annotations

import os
import sys
from typing import IO, Any

from phigate.safetext import visible


def use_color(stream: IO[str]) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ


class Status:
    """One status line: resources counted by the run, and what providers say meanwhile."""

    def __init__(self, status: Any) -> None:
        self._status = status

    def __call__(self, resources: int) -> None:
        self._status.update(f"collected {resources} resources…")

    def say(self, text: str) -> None:
        """A provider's words may quote names from the estate: never markup, never controls."""
        from rich.markup import escape

        self._status.update(escape(visible(text)))


class progress:
    """A progress line on stderr while collecting, only on a terminal."""

    def __init__(self, quiet: bool) -> None:
        self.enabled = not quiet and sys.stderr.isatty()
        self._status: Any = None

    def __enter__(self) -> Status | None:
        if not self.enabled:
            return None
        from rich.console import Console

        self._status = Console(file=sys.stderr).status("collecting…")
        self._status.__enter__()
        return Status(self._status)

    def __exit__(self, *exc: object) -> None:
        if self._status is not None:
            self._status.__exit__(None, None, None)


__all__ = ["Status", "progress", "use_color"]
