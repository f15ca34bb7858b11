"""Command line: thin — parse, run, report, exit code.

Exit codes: 0 clean; 1 failures at or above ``--fail-on``; 2 invalid input or usage;
3 evidence incomplete (something could not be seen or evaluated; wins over 1).
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from phigate import __version__, executors, terminal
from phigate.api import InputError, Option, ProviderSpec, Watchable
from phigate.cli_audit import add_audit_commands
from phigate.cli_catalogue import add_catalogue_commands
from phigate.cli_common import (
    EXIT_FAIL,
    EXIT_INCOMPLETE,
    EXIT_OK,
    EXIT_USAGE,
    SEVERITIES,
    UsageError,
    _add_output_options,
    _add_policy_options,
    _outputs,
    color_for,
    config_of,
    reporter_for,
)
from phigate.cli_suppliers import add_supplier_commands
from phigate.config import Config
from phigate.files import write_whole
from phigate.frameworks import load_frameworks
from phigate.load import bundled_pack, load_policies
from phigate.model import Severity
from phigate.problems import Problem, ProblemsError
from phigate.registry import PROVIDERS, REPORTERS, BrokenPlugin, MissingPlugin, load, names, provider_spec
from phigate.safetext import visible
from phigate.selection import (
    check_controls,
    claimant,
    for_frameworks,
    policies_for,
    providers_for,
    run_context,
)


def _missing_extra(argv: Sequence[str]) -> str | None:
    """Words for an option of a provider whose extra is not installed, if one is given: the
    parser knows every provider's options (declared as data), installed extra or not."""
    given = {token.split("=", 1)[0] for token in argv if token.startswith("--")}
    for name in names(PROVIDERS):
        try:
            declared = provider_spec(name)
        except BrokenPlugin:
            continue  # said when the provider is used
        asked = sorted(given.intersection(o.flag for o in declared.options))
        if not asked:
            continue
        try:
            load(PROVIDERS, name)
        except BrokenPlugin:
            continue
        except MissingPlugin:
            if any(_usable_elsewhere(flag, name) for flag in asked):
                continue  # a shared option (--sample-content) another installed provider takes
            return (f"{', '.join(asked)} belongs to the {name} provider: "
                    f"install phigate[{declared.extra or name}] to use it")
    return None


def _usable_elsewhere(flag: str, owner: str) -> bool:
    """Whether an installed provider other than ``owner`` declares ``flag`` too."""
    for name in names(PROVIDERS):
        if name == owner:
            continue
        try:
            if flag in {o.flag for o in provider_spec(name).options}:
                load(PROVIDERS, name)
                return True
        except MissingPlugin:
            continue
    return False


@terminal.guarded  # no line of output can start a CI workflow command
def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    missing = _missing_extra(list(sys.argv[1:] if argv is None else argv))
    if missing is not None:
        print(f"error: {missing}", file=sys.stderr)
        return EXIT_USAGE
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    program = argv is None  # the program itself, not a caller's main([...])
    if program:
        # What the program builds is freed with its process. The cycle collector would walk the
        # heap again and again (after a large AWS scan the SDK's clients alone are a million
        # objects), and the interpreter once more at exit, to free little: it stays off, and
        # what is left is frozen before the exit.
        gc.disable()
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
    finally:
        if program:
            gc.freeze()


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

    add_catalogue_commands(sub)  # schema, policies, explain, …

    test = sub.add_parser("test", help="run the fixtures of policy folders")
    test.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    test.add_argument("--config", type=Path)
    test.set_defaults(handler=_cmd_test)
    add_audit_commands(sub, _add_collection_options)  # audit, history, diff
    add_supplier_commands(sub)  # keygen, attest, verify, portfolio
    return parser




def _add_collection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("targets", nargs="*", metavar="TARGET",
                        help="snapshot file or folder, or a Terraform plan JSON (by content)")
    parser.add_argument("--provider", action="append", default=[], metavar="NAME",
                        help="a live provider to collect from (repeatable)")
    parser.add_argument("--config", type=Path, help="config file (default: ./phigate.yaml if present)")
    declared: dict[str, ProviderSpec] = {}
    for name in names(PROVIDERS):
        try:
            declared[name] = provider_spec(name)  # data: no provider class, no SDK imported
        except BrokenPlugin:
            continue  # refused with its reason when the run uses it
    owners: dict[str, list[str]] = {}
    for name, spec in declared.items():
        for option in spec.options:
            owners.setdefault(option.flag, []).append(name)
    shared: dict[str, Option] = {}
    for name, spec in declared.items():
        own = [o for o in spec.options if len(owners[o.flag]) == 1]
        shared.update((o.flag, o) for o in spec.options if len(owners[o.flag]) > 1)
        if own:
            extra = f" (phigate[{spec.extra}])" if spec.extra else ""
            add_options(parser.add_argument_group(f"{name} provider{extra}"), own)
    by_owners: dict[tuple[str, ...], list[Option]] = {}
    for flag, option in shared.items():  # e.g. content sampling, taken by every live provider
        by_owners.setdefault(tuple(owners[flag]), []).append(option)
    for sharing, options in by_owners.items():
        add_options(parser.add_argument_group(f"{', '.join(sharing)} providers"), options)


def add_options(group: argparse._ArgumentGroup, options: Sequence[Option]) -> None:
    """Declared options as argparse ones: every default None, so a value present is one given."""
    for option in options:
        settings: dict[str, Any] = {"dest": option.dest, "default": None, "help": option.help}
        if option.kind == "flag":
            group.add_argument(option.flag, action="store_true", **settings)
            continue
        settings["action"] = "append" if option.repeatable else "store"
        if option.kind == "integer":
            settings["type"] = int
        elif option.kind == "path":
            settings["type"] = Path
        if option.metavar is not None:
            settings["metavar"] = option.metavar
        if option.choices:
            settings["choices"] = option.choices
        group.add_argument(option.flag, **settings)


def _cmd_scan(args: argparse.Namespace) -> int:
    from phigate.baseline import load_baseline
    from phigate.gate import gate
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
            if progress is not None and isinstance(provider, Watchable):
                provider.watch(progress.say)  # live providers report their calls while collecting
        result = gate(scan(providers, policies, config, keep_passed=args.show_passed, progress=progress,
                           frameworks=frameworks, keep_evaluated=baseline is not None),
                      waivers=waivers, baseline=baseline)
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
        try:
            for provider in load(PROVIDERS, owner).configure([str(path)], run_context(config)):
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
