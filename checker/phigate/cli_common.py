"""Command line: what every command shares (exit codes, the config file, policy and output
options, reporters). :mod:`phigate.cli` and the command modules build on it."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from phigate import terminal
from phigate.config import Config, load_config
from phigate.model import Severity
from phigate.registry import REPORTERS, load, names
from phigate.safetext import visible

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INCOMPLETE = 0, 1, 2, 3
SEVERITIES = [s.label for s in sorted(Severity, reverse=True)]


class UsageError(Exception):
    """Bad options or arguments: exit 2 with a message, no traceback."""


def config_of(args: argparse.Namespace) -> Config:
    """The command's ``phigate.yaml`` (given, or found from the current folder up), loaded once;
    what it does that is allowed but probably not meant is said once, as a warning."""
    loaded: Config | None = getattr(args, "loaded_config", None)
    if loaded is None:
        loaded = load_config(args.config)
        for warning in loaded.warnings:
            print(f"warning: {visible(warning)}", file=sys.stderr)
        args.loaded_config = loaded
    return loaded


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    """How the text report reads (scan and audit share them)."""
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no progress; the text report lists failures only, then the summary")
    parser.add_argument("--compact", action="store_true", help="one line a finding in the text report")
    parser.add_argument("--group-by", choices=["policy", "resource"], default=None,
                        help="findings under a heading per policy or per resource")
    parser.add_argument("--explain", action="store_true",
                        help="a 'fix:' line under each finding: what to do, for its provider")
    parser.add_argument("--no-color", action="store_true", help="no colour (also: NO_COLOR set)")


def reporter_for(name: str, args: argparse.Namespace) -> Any:
    """A reporter by name, the text one with the command's layout options."""
    if name == "text":
        from phigate.reporters.text import TextOptions, TextReporter

        frameworks = tuple(getattr(args, "framework", ()) or ())
        return TextReporter(TextOptions(compact=args.compact, group_by=args.group_by, explain=args.explain,
                                        quiet=args.quiet, frameworks=frameworks))
    return load(REPORTERS, name)()


def color_for(args: argparse.Namespace) -> bool:
    return not getattr(args, "no_color", False) and terminal.use_color(sys.stdout)


def add_listing_format(parser: argparse.ArgumentParser) -> None:
    """``--format text|json`` of the listing commands, one set of names for all of them (``table``
    is the older name of ``text``; ``args.format`` holds ``text`` or ``json``)."""
    parser.add_argument("--format", choices=["text", "json", "table"], default="text",
                        type=lambda v: "text" if v == "table" else v,
                        help="text (default) or json")


def _add_policy_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--policies", action="append", type=Path, default=None, metavar="PATH",
                        help="policy file or folder (repeatable; default: the bundled pack)")
    parser.add_argument("--only", action="append", default=[], metavar="ID",
                        help="evaluate only these policy ids (glob patterns allowed)")
    parser.add_argument("--skip", action="append", default=[], metavar="ID",
                        help="leave these policy ids out (glob patterns allowed)")
    if "--config" not in parser._option_string_actions:
        parser.add_argument("--config", type=Path, help="config file (default: ./phigate.yaml)")


def _outputs(formats: list[str] | None) -> list[tuple[str, Path | None]]:
    outputs: list[tuple[str, Path | None]] = []
    for spec in formats or ["text"]:
        name, _, file = spec.partition("=")
        if name not in names(REPORTERS):
            raise UsageError(f"unknown format '{name}' (known: {', '.join(names(REPORTERS))})")
        outputs.append((name, Path(file) if file else None))
    if sum(1 for _, file in outputs if file is None) > 1:
        raise UsageError("only one --format may go to standard output; give the others =FILE")
    for name, _ in outputs:
        load(REPORTERS, name)  # a broken reporter is refused before the scan, not after it
    return outputs


__all__ = ["EXIT_FAIL", "EXIT_INCOMPLETE", "EXIT_OK", "EXIT_USAGE", "SEVERITIES", "UsageError",
           "_add_output_options", "_add_policy_options", "_outputs", "add_listing_format", "color_for",
           "config_of", "reporter_for"]
