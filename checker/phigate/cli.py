"""Command line: thin — parse, run, report, exit code.

Exit codes: 0 clean; 1 failures at or above ``--fail-on``; 2 invalid input or usage;
3 evidence incomplete (something could not be seen or evaluated; wins over 1).
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from phigate import __version__, executors, terminal
from phigate.api import KINDS, InputError
from phigate.config import Config, load_config
from phigate.frameworks import control_views, load_frameworks
from phigate.load import bundled_pack, load_policies
from phigate.model import Severity
from phigate.problems import Problem, ProblemsError
from phigate.registry import PROVIDERS, REPORTERS, MissingPlugin, load, names
from phigate.schema_files import DOCUMENTS, document_schema, kind_schema
from phigate.selection import check_controls, claimant, for_frameworks, policies_for, providers_for

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_INCOMPLETE = 0, 1, 2, 3
SEVERITIES = [s.label for s in sorted(Severity, reverse=True)]


class UsageError(Exception):
    """Bad options or arguments: exit 2 with a message, no traceback."""


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    config_file = getattr(args, "config", None)
    if isinstance(config_file, Path) and args.command in _CONFIG_COMMANDS:
        _warn_config(config_file)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except ProblemsError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        print(f"{len(exc.problems)} problem(s); nothing was evaluated.", file=sys.stderr)
        return EXIT_USAGE
    except (UsageError, InputError, MissingPlugin) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except BrokenPipeError:  # e.g. piped into `head`: the reader left, nothing more to say
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
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


#: Commands whose --config is a phigate.yaml (portfolio's is a portfolio).
_CONFIG_COMMANDS = frozenset({"scan", "collect", "validate", "policies", "controls", "test", "audit"})


def _warn_config(path: Path) -> None:
    """Warnings of a config file that loads: said once, before the command runs (a file that
    does not load is reported by the command itself)."""
    try:
        warnings = load_config(path).warnings
    except (ProblemsError, InputError, OSError):
        return
    for warning in warnings:
        print(f"warning: {warning}", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="phigate", description="Compliance policy-as-code for health data.")
    parser.add_argument("--version", action="version", version=f"phigate {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    scan = sub.add_parser("scan", help="evaluate policies against snapshots, plans or live estates")
    _add_collection_options(scan)
    executors.add_arguments(scan)
    _add_policy_options(scan)
    scan.add_argument("--fail-on", choices=SEVERITIES, default=None,
                      help="lowest severity whose failures make the exit code 1 (default: info)")
    scan.add_argument("--format", action="append", default=None, metavar="FORMAT[=FILE]",
                      help="text (default) or json; repeatable; =FILE writes to a file")
    scan.add_argument("--framework", action="append", default=[], metavar="KEY",
                      help="evaluate only the policies mapped to this framework (repeatable; "
                           "see `phigate controls`)")
    scan.add_argument("--show-passed", action="store_true", help="list passing findings too")
    scan.add_argument("--waivers", type=Path, metavar="FILE", help="waiver file (default: the config's)")
    scan.add_argument("--baseline", type=Path, metavar="REPORT.json",
                      help="an earlier JSON report: only failures new since it make the exit code 1")
    scan.add_argument("-q", "--quiet", action="store_true", help="no progress, no text summary")
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

    _add_catalogue_commands(sub)

    test = sub.add_parser("test", help="run the fixtures of policy folders")
    test.add_argument("paths", nargs="*", type=Path, metavar="PATH")
    test.add_argument("--config", type=Path)
    test.set_defaults(handler=_cmd_test)
    from phigate.cli_audit import add_audit_commands  # audit, history, diff (imports this module)
    add_audit_commands(sub)
    from phigate.cli_suppliers import add_supplier_commands  # keygen, attest, verify, portfolio
    add_supplier_commands(sub)
    return parser


def _add_catalogue_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """What phigate knows: schemas, policies, providers and controls."""
    schema = sub.add_parser("schema", help="print a JSON Schema")
    schema.add_argument("name", nargs="?", default="policy",
                        choices=[*DOCUMENTS, *KINDS], metavar="NAME",
                        help=f"one of: {', '.join([*DOCUMENTS, *KINDS])}")
    schema.set_defaults(handler=_cmd_schema)

    policies = sub.add_parser("policies", help="list the selected policies")
    _add_policy_options(policies)
    policies.add_argument("--format", choices=["table", "json"], default="table")
    policies.set_defaults(handler=_cmd_policies)

    explain = sub.add_parser("explain", help="a policy in words: why, what to do, its controls and cases")
    explain.add_argument("policy_id", metavar="POLICY-ID")
    _add_policy_options(explain)
    explain.set_defaults(handler=_cmd_explain)

    providers = sub.add_parser("providers", help="installed providers and their read permissions")
    providers.add_argument("--permissions", metavar="NAME", help="print one provider's permissions")
    providers.add_argument("--sample-content", action="store_true",
                           help="with --permissions: add the reads content sampling needs")
    providers.add_argument("--format", choices=["table", "json"], default="table")
    providers.set_defaults(handler=_cmd_providers)

    controls = sub.add_parser("controls", help="the mapping matrix: controls and their policies")
    controls.add_argument("framework", nargs="?", metavar="FRAMEWORK",
                          help="one framework key (default: every framework)")
    _add_policy_options(controls)
    controls.add_argument("--format", choices=["table", "json"], default="table")
    controls.set_defaults(handler=_cmd_controls)


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

    config = load_config(args.config)
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
        reporter = load(REPORTERS, name)()
        if file is None:
            if not (args.quiet and name == "text"):
                reporter.render(result, sys.stdout, color=terminal.use_color(sys.stdout))
        else:
            with file.open("w", encoding="utf-8") as out:
                reporter.render(result, out, color=False)
    return result.exit_code(fail_on)


def _cmd_controls(args: argparse.Namespace) -> int:
    """Every control of each framework with the policies mapped to it (not covered: none)."""
    frameworks = load_frameworks()
    policies = policies_for(args, load_config(args.config))
    keys = [args.framework] if args.framework else sorted(frameworks)
    if args.framework and args.framework not in frameworks:
        raise UsageError(f"unknown framework '{args.framework}' (known: {', '.join(frameworks)})")
    rows = [{"framework": key, "control": view.id, "title": view.title,
             "policies": list(view.policies)}
            for key in keys for view in control_views(frameworks[key], policies, {})]
    if args.format == "json":
        json.dump(rows, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return EXIT_OK
    for row in rows:
        mapped = ", ".join(row["policies"]) or "(not covered)"
        print(f"{row['framework']:<16} {row['control']:<18} {mapped:<40} {row['title']}")
    return EXIT_OK


def _cmd_collect(args: argparse.Namespace) -> int:
    from phigate.api import CollectionError
    from phigate.snapshot import write_document, write_jsonl

    config = load_config(args.config)
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
    partial = args.output.with_name(args.output.name + ".partial")
    with partial.open("w", encoding="utf-8") as out:
        count = writer(records(), scopes, out)
    partial.replace(args.output)  # never leave a truncated snapshot under the real name
    if not args.quiet:
        print(f"wrote {count} records to {args.output} ({errors} collection errors)", file=sys.stderr)
    return EXIT_INCOMPLETE if errors else EXIT_OK


def _cmd_validate(args: argparse.Namespace) -> int:
    """Policies are compiled; snapshots and plans are read through their provider, in full."""
    config = load_config(args.config) if args.config else Config()
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


def _cmd_schema(args: argparse.Namespace) -> int:
    schema = kind_schema(args.name) if args.name in KINDS else document_schema(args.name)
    json.dump(schema, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return EXIT_OK


def _cmd_policies(args: argparse.Namespace) -> int:
    policies = policies_for(args, load_config(args.config), listing=True)
    rows: list[dict[str, Any]] = [
        {"id": p.id, "title": p.title, "severity": p.severity.label, "kinds": sorted(p.kinds),
             "types": list(p.types), "controls": {k: list(v) for k, v in p.controls.items()},
             "opt_in": p.opt_in, "rationale": p.rationale, "remediation": dict(p.remediation),
             "params": dict(p.params)}
            for p in policies]
    if args.format == "json":
        json.dump(rows, sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return EXIT_OK
    from rich.console import Console
    from rich.table import Table

    table = Table(header_style="bold")
    for column in ("id", "severity", "opt-in", "kinds", "title", "controls"):
        table.add_column(column, overflow="fold")
    for row in rows:
        controls = "; ".join(f"{k}: {', '.join(v)}" for k, v in row["controls"].items())
        table.add_row(row["id"], row["severity"], "opt-in" if row["opt_in"] else "",
                      ", ".join(row["kinds"] or row["types"]), row["title"], controls)
    color = terminal.use_color(sys.stdout)
    Console(file=sys.stdout, force_terminal=color, width=None if color else 200).print(table)
    return EXIT_OK


def _cmd_explain(args: argparse.Namespace) -> int:
    from phigate.fixtures import fixture_files, load_fixtures

    config = load_config(args.config)
    args.only, args.skip = [], []
    policies = {p.id: p for p in policies_for(args, config, listing=True)}
    policy = policies.get(args.policy_id) or policies.get(args.policy_id.upper())
    if policy is None:
        import difflib

        close = difflib.get_close_matches(args.policy_id.upper(), list(policies), n=1)
        hint = f" (did you mean {close[0]}?)" if close else ""
        raise UsageError(f"no policy '{args.policy_id}'{hint}; `phigate policies` lists them")
    lines = [f"{policy.id} ({policy.severity.label}): {policy.title}", ""]
    if policy.rationale:
        lines += ["Why:", *_wrapped(policy.rationale), ""]
    if policy.remediation:
        lines.append("What to do:")
        lines += [f"  {provider}: {text}" for provider, text in policy.remediation.items()]
        lines.append("")
    applies = ", ".join(sorted(policy.kinds)) or ", ".join(policy.types) or "every resource"
    lines.append(f"Applies to: {applies}" + (" (opt-in)" if policy.opt_in else ""))
    if policy.params:
        lines.append("Parameters (phigate.yaml: policies: {ID: {params: …}}):")
        lines += [f"  {name} = {json.dumps(value, ensure_ascii=False)}"
                  for name, value in policy.params.items()]
    if policy.controls:
        lines.append("Controls:")
        lines += [f"  {key}: {', '.join(ids)}" for key, ids in policy.controls.items()]
    folders = list(args.policies or [bundled_pack()])
    cases = [c for fixture in load_fixtures(fixture_files(folders)) if fixture.policy_id == policy.id
             for c in fixture.cases]
    if cases:
        lines.append("Cases (phigate test):")
        lines += [f"  - {c.name}" for c in cases]
    lines.append(f"Defined in {policy.source}")
    print("\n".join(lines))
    return EXIT_OK


def _wrapped(text: str) -> list[str]:
    import textwrap

    return textwrap.wrap(" ".join(text.split()), width=96, initial_indent="  ", subsequent_indent="  ")


def _cmd_providers(args: argparse.Namespace) -> int:
    rows = []
    for name in names(PROVIDERS):
        if args.permissions and name != args.permissions:
            continue
        try:
            provider = load(PROVIDERS, name)
            rows.append({"name": name, "description": provider.description,
                         "permissions": list(provider.permissions), "installed": True})
        except MissingPlugin as exc:
            rows.append({"name": name, "description": str(exc), "permissions": [], "installed": False})
    if args.permissions and not rows:
        raise UsageError(f"no provider named '{args.permissions}' (installed: {', '.join(names(PROVIDERS))})")
    if args.format == "json":
        json.dump(rows, sys.stdout, indent=2)
        sys.stdout.write("\n")
    elif args.permissions:
        print(_permissions_text(args.permissions, rows[0], sampling=args.sample_content))
    else:
        for row in rows:
            print(f"{row['name']}: {row['description']}")
            for permission in row["permissions"]:
                print(f"    {permission}")
    return EXIT_OK


def _permissions_text(name: str, row: dict[str, Any], *, sampling: bool = False) -> str:
    """A provider's ready-to-apply grant (an IAM policy, SQL …) when it has one, else the list;
    with ``sampling``, what content sampling reads too (a document taking ``sample_content``)."""
    document = getattr(load(PROVIDERS, name), "permissions_document", None) if row["installed"] else None
    if sampling:
        if not callable(document) or "sample_content" not in inspect.signature(document).parameters:
            raise UsageError(f"provider '{name}' does not sample content")
        return str(document(sample_content=True))
    if callable(document):
        return str(document())
    return "\n".join(row["permissions"])


def _cmd_test(args: argparse.Namespace) -> int:
    """Run policy fixtures, like `opa test`: exit 0 when every case holds, 1 otherwise."""
    from phigate.fixtures import load_fixtures, run_fixtures

    paths = args.paths or [bundled_pack()]
    config = load_config(args.config)
    results = run_fixtures(load_fixtures(paths), load_policies(paths, config), config)
    if not results:
        raise UsageError("no fixtures found (NAME.test.yaml beside NAME.yaml)")
    failed = [r for r in results if not r.passed]
    for result in failed:
        print(f"FAIL {result}")
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    return EXIT_FAIL if failed else EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
