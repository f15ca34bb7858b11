"""What the command line shows on a terminal while it works, and whether it may use colour."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from functools import wraps
from typing import IO, Any, NoReturn, ParamSpec

from phigate.safetext import GuardedStream, visible

P = ParamSpec("P")


@contextmanager
def guarded_output() -> Iterator[None]:
    """Standard output and error through ``GuardedStream`` while the command runs: no line of
    them can start a CI workflow command, whatever the estate or the input files hold."""
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = GuardedStream(out), GuardedStream(err, line_buffered=True)
    try:
        yield
    finally:
        guarded = (sys.stdout, sys.stderr)
        sys.stdout, sys.stderr = out, err
        for stream in guarded:
            if isinstance(stream, GuardedStream):
                try:
                    stream.close_line()
                except BrokenPipeError:  # the reader left before the end: drop the rest quietly
                    _to_devnull(stream.wrapped)
                except (OSError, ValueError):
                    pass


def drop_stdout() -> None:
    """The reader of standard output left (``| head``): what is left to write goes nowhere."""
    _to_devnull(sys.stdout)
    if isinstance(sys.stdout, GuardedStream):
        sys.stdout = sys.stdout.wrapped  # what it holds could not be written either


def _to_devnull(stream: Any) -> None:
    with suppress(OSError, ValueError):
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, stream.fileno())


def guarded(command: Callable[P, int]) -> Callable[P, int]:
    """``command`` run with its output guarded (``guarded_output``)."""
    @wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> int:
        with guarded_output():
            return command(*args, **kwargs)
    return run


class ArgumentParser(argparse.ArgumentParser):
    """argparse quotes the arguments it refuses: shown with control characters escaped."""

    def error(self, message: str) -> NoReturn:
        super().error(visible(message))


def use_color(stream: IO[str]) -> bool:
    return stream.isatty() and "NO_COLOR" not in os.environ


class Status:
    """One status line: resources counted by the run per source, with the number of sources when
    known, and what providers say meanwhile (API calls made)."""

    #: Sources named on the line; the others are counted in the total only.
    SHOWN = 3

    def __init__(self, status: Any) -> None:
        self._status = status
        self._counts = ""
        self._said = ""

    def __call__(self, resources: int, by_source: Mapping[str, int] | None = None,
                 sources: int = 0) -> None:
        line = f"collected {resources:,} resources"
        if by_source:
            latest = list(by_source.items())[-self.SHOWN:]  # the sources being read now
            line += " (" + " · ".join(f"{visible(name)}: {count:,}" for name, count in latest) + ")"
            if sources:
                line += f", {min(len(by_source), sources)} of {sources} sources started"
        self._counts = line
        self._render()

    def say(self, text: str) -> None:
        """A provider's words may quote names from the estate: never markup, never controls."""
        self._said = visible(text)
        self._render()

    def _render(self) -> None:
        from rich.markup import escape

        line = " · ".join(part for part in (self._counts, self._said) if part) or "collecting…"
        self._status.update(escape(line))


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


__all__ = ["ArgumentParser", "Status", "drop_stdout", "guarded", "guarded_output", "progress", "use_color"]
