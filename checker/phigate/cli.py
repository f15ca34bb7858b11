"""Command line: thin — parse, run, report, exit code.

Exit codes: 0 clean; 1 failures at or above ``--fail-on``; 2 invalid input or usage;
3 evidence incomplete (something could not be seen or evaluated; wins over 1).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from phigate import __version__, executors, terminal
from phigate.api import InputError
from phigate.config import Config, load_config
from phigate.files import write_whole
from phigate.frameworks import load_frameworks
from phigate.load import bundled_pack, load_policies
from phigate.model import Severity
from phigate.problems import Problem, ProblemsError
from phigate.registry import PROVIDERS, REPORTERS, MissingPlugin, load, names
from phigate.safetext import visible
from phigate.selection import check_controls, claimant, for_frameworks, policies_for, providers_for

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INCOMPLETE = 0, 1, 2, 3
SEVERITIES = [s.label for s in sorted(Severity, reverse=True)]


class UsageError(Exception):
    """Bad options or arguments: exit 2 with a message, no traceback."""


#: Each provider's own command-line options and the extra that installs it: a provider whose
#: extra is missing registers no option, so its options are recognised here to say what to install.
PROVIDER_OPTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "aws": ("aws", ("--account", "--aws-max-attempts", "--aws-profile", "--aws-workers", "--external-id",
                    "--org-role", "--region")),
    "gcp": ("gcp", ("--gcp-credentials", "--gcp-groups", "--project")),
    "postgres": ("postgres", ("--dsn", "--pg-database", "--pg-sslmode", "--pg-sslrootcert")),
    "s3-inventory": ("aws,scale", ("--head-sample", "--head-sample-size", "--inventory",
                                   "--inventory-first-keys", "--inventory-memory", "--inventory-threads",
                                   "--metadata-table")),
    "terraform": ("terraform", ("--changed-only", "--tf-dir")),
}


def _missing_extra(argv: Sequence[str]) -> str | None:
    """Words for an option of a provider whose extra is not installed, if one is given."""
    given = {token.split("=", 1)[0] for token in argv if token.startswith("--")}
    for name, (extra, options) in PROVIDER_OPTIONS.items():
        asked = sorted(given.intersection(options))
        if not asked:
            continue
        try:
            load(PROVIDERS, name)
        except MissingPlugin:
            return f"{', '.join(asked)} belongs to the {name} provider: install phigate[{extra}] to use it"
    return None


@terminal.guarded  # no line of output can start a CI workflow command
def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    missing = _missing_extra(list(sys.argv[1:] if argv is None else argv))
    if missing is not None:
        print(f"error: {missing}", file=sys.stderr)
        return EXIT_USAGE
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except ProblemsError as exc:
        for problem in exc.problems:
            print(f"error: {visible(str(problem))}", file=sys.stderr)
        print(f"{len(exc.problems)} problem(s); nothing was evaluated.", file=sys.stderr)
        return EXIT_USAGE
    except (UsageError, InputError, MissingPlugin) as exc:
        print(f"error: {visible(str(exc))}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # e.g. piped into `head`: the reader left, nothing more to say
        terminal.drop_stdout()
        return EXIT_INCOMPLETE
    except KeyboardInterrupt:
        print("interrupted: evidence incomplete", file=sys.stderr)
        return EXIT_INCOMPLETE
    except Exception as exc:  # never a bare traceback, and never a pass
        if os.environ.get("PHIGATE_DEBUG"):
            raise
        print(f"internal error ({type(exc).__name__}): evidence incomplete; "
              "set PHIGATE_DEBUG=1 for details", file=sys.stderr)
        return EXIT_INCOMPLETE


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


def build_parser() -> argparse.ArgumentParser:
    parser = terminal.ArgumentParser(
        prog="phigate", description="Compliance policy-as-code for health data.")
    parser.add_argument("--version", action="version", version=f"phigate {__version__}")
    sub: Any = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    scan = sub.add_parser("scan", help="evaluate policies against snapshots, plans or live estates")
    _add_collection_options(scan)
    executors.add_arguments(scan)
    _add_policy_options(scan)
    scan.add_argument("--fail-on", choices=SEVERITIES, default=None,
                      help="lowest severity whose failures make the exit code 1 (default: info)")
    scan.add_argument("--format", action="append", default=None, metavar="FORMAT[=FILE]",
                      help=f"{', '.join(names(REPORTERS))} (text is the default); repeatable; "
                           "=FILE writes to a file")
    scan.add_argument("--framework", action="append", default=[], metavar="KEY",
                      help="evaluate only the policies mapped to this framework (repeatable; "
                           "see `phigate controls`)")
    scan.add_argument("--show-passed", action="store_true", help="list passing findings too")
    scan.add_argument("--waivers", type=Path, metavar="FILE", help="waiver file (default: the config's)")
    scan.add_argument("--baseline", type=Path, metavar="REPORT.json",
                      help="an earlier JSON report: only failures new since it make the exit code 1")
    _add_output_options(scan)
    scan.set_defaults(handler=_cmd_scan)

    collect = sub.add_parser("collect", help="write a snapshot from any provider")
    _add_collection_options(collect)
    collect.add_argument("-o", "--output", required=True, type=Path,
                         help="snapshot file (.jsonl streams; .json writes one document)")
    collect.add_argument("-q", "--quiet", action="store_true")
    collect.set_defaults(handler=_cmd_collect)

    validate = sub.add_parser("validate", help="check policies, snapshots or a config file")
    validate.add_argument("paths", nargs="+", type=Path, metavar="PATH")
    validate.add_argument("--config", type=Path, help="validate this config file too")
    validate.set_defaults(handler=_cmd_validate)

    from phigate.cli_catalogue import add_catalogue_commands  # schema, policies, explain, … (imports this)
    add_catalogue_commands(sub)

    test = sub.add_parser("test", help="run the fixtures of policy folders")
    test.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    test.add_argument("--config", type=Path)
    test.set_defaults(handler=_cmd_test)
    from phigate.cli_audit import add_audit_commands  # audit, history, diff (imports this module)
    add_audit_commands(sub)
    from phigate.cli_suppliers import add_supplier_commands  # keygen, attest, verify, portfolio
    add_supplier_commands(sub)
    return parser




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


def _add_collection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("targets", nargs="*", metavar="TARGET",
                        help="snapshot file or folder, or a Terraform plan JSON (by content)")
    parser.add_argument("--provider", action="append", default=[], metavar="NAME",
                        help="a live provider to collect from (repeatable)")
    parser.add_argument("--config", type=Path, help="config file (default: ./phigate.yaml if present)")
    for name in names(PROVIDERS):
        try:
            provider = load(PROVIDERS, name)
        except MissingPlugin:
            continue  # its options appear once its extra is installed
        group = parser.add_argument_group(f"{name} provider")
        provider.add_arguments(group)


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
    return outputs


def _cmd_scan(args: argparse.Namespace) -> int:
    from phigate.baseline import load_baseline
    from phigate.run import scan
    from phigate.waivers import load_waivers

    config = config_of(args)
    frameworks = load_frameworks()
    policies = for_frameworks(policies_for(args, config), args.framework, frameworks)
    outputs = _outputs(args.format)
    providers = executors.arrange(providers_for(args, config), args)
    fail_on = Severity.parse(args.fail_on or config.fail_on or "info")
    waiver_file: Path | None = args.waivers or config.waivers
    waivers = load_waivers(waiver_file) if waiver_file is not None else None
    baseline = load_baseline(args.baseline) if args.baseline is not None else None
    with terminal.progress(args.quiet) as progress:
        for provider in providers:
            watch = getattr(provider, "watch", None)
            if progress is not None and callable(watch):
                watch(progress.say)  # live providers report their calls while collecting
        result = scan(providers, policies, config, keep_passed=args.show_passed, progress=progress,
                      frameworks=frameworks, waivers=waivers, baseline=baseline)
    for name, file in outputs:
        reporter = reporter_for(name, args)
        if file is None:
            reporter.render(result, sys.stdout, color=color_for(args))
        else:
            write_whole(file, partial(reporter.render, result, color=False))
    return result.exit_code(fail_on)




def _cmd_collect(args: argparse.Namespace) -> int:
    from phigate.api import CollectionError
    from phigate.snapshot import write_document, write_jsonl

    config = config_of(args)
    providers = providers_for(args, config)
    scopes = [s for p in providers for s in p.scopes()]
    errors = 0

    def records() -> Any:
        nonlocal errors
        for provider in providers:
            for record in provider.collect():
                errors += isinstance(record, CollectionError)
                yield record

    writer = write_jsonl if args.output.suffix in (".jsonl", ".ndjson") else write_document
    count = write_whole(args.output, lambda out: writer(records(), scopes, out), keep_mode=False)  # 0600
    if not args.quiet:
        print(f"wrote {count} records to {args.output} ({errors} collection errors)", file=sys.stderr)
    return EXIT_INCOMPLETE if errors else EXIT_OK


def _cmd_validate(args: argparse.Namespace) -> int:
    """Policies are compiled; snapshots and plans are read through their provider, in full."""
    config = config_of(args) if args.config else Config()
    problems: list[Problem] = []
    policy_paths: list[Path] = []
    checked: list[str] = []
    for path in args.paths:
        owner = claimant(str(path))
        if owner is None:
            policy_paths.append(path)
            continue
        namespace = argparse.Namespace(targets=[str(path)])
        try:
            for provider in load(PROVIDERS, owner).configure([str(path)], namespace, {}):
                count = sum(1 for _ in provider.collect())
                checked.append(f"{path}: {count} records")
        except ProblemsError as exc:
            problems.extend(exc.problems)
    if policy_paths:
        try:
            loaded = load_policies(policy_paths, config)
            check_controls(loaded)
            checked.append(f"{len(loaded)} policies")
        except ProblemsError as exc:
            problems.extend(exc.problems)
    if problems:
        raise ProblemsError(problems)
    print(f"valid: {'; '.join(checked)}")
    return EXIT_OK














def _cmd_test(args: argparse.Namespace) -> int:
    """Run policy fixtures, like `opa test`: exit 0 when every case holds, 1 otherwise."""
    from phigate.fixtures import load_fixtures, run_fixtures

    paths = args.paths or [bundled_pack()]
    config = config_of(args)
    results = run_fixtures(load_fixtures(paths), load_policies(paths, config), config)
    if not results:
        raise UsageError("no fixtures found (NAME.test.yaml beside NAME.yaml)")
    failed = [r for r in results if not r.passed]
    for result in failed:
        print(f"FAIL {visible(str(result))}")
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    return EXIT_FAIL if failed else EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
