"""Command line: what phigate knows (schemas, policies and their explanation, providers and
their permissions, controls). Parsed by :mod:`phigate.cli`; its option helpers are
:mod:`phigate.cli_common`'s."""

from __future__ import annotations

import argparse
import inspect
import json
import sys
from typing import Any

from phigate import terminal
from phigate.api import KINDS, WithPermissionsDocument
from phigate.cli_common import EXIT_OK, UsageError, _add_policy_options, add_listing_format, config_of
from phigate.frameworks import control_views, load_frameworks
from phigate.load import bundled_pack
from phigate.registry import PROVIDERS, MissingPlugin, load, names
from phigate.safetext import visible
from phigate.schema_files import DOCUMENTS, document_schema, kind_schema
from phigate.selection import policies_for


def add_catalogue_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """What phigate knows: schemas, policies, providers and controls."""
    schema = sub.add_parser("schema", help="print a JSON Schema")
    schema.add_argument("name", nargs="?", default="policy",
                        choices=[*DOCUMENTS, *KINDS], metavar="NAME",
                        help=f"one of: {', '.join([*DOCUMENTS, *KINDS])}")
    schema.set_defaults(handler=_cmd_schema)

    policies = sub.add_parser("policies", help="list the selected policies")
    _add_policy_options(policies)
    add_listing_format(policies)
    policies.set_defaults(handler=_cmd_policies)

    explain = sub.add_parser("explain", help="a policy in words: why, what to do, its controls and cases")
    explain.add_argument("policy_id", metavar="POLICY-ID")
    _add_policy_options(explain)
    explain.set_defaults(handler=_cmd_explain)

    providers = sub.add_parser("providers", help="installed providers and their read permissions")
    providers.add_argument("--permissions", metavar="NAME", help="print one provider's permissions")
    providers.add_argument("--sample-content", action="store_true",
                           help="with --permissions: add the reads content sampling needs")
    add_listing_format(providers)
    providers.set_defaults(handler=_cmd_providers)

    controls = sub.add_parser("controls", help="the mapping matrix: controls and their policies")
    controls.add_argument("framework", nargs="?", metavar="FRAMEWORK",
                          help="one framework key (default: every framework)")
    _add_policy_options(controls)
    add_listing_format(controls)
    controls.set_defaults(handler=_cmd_controls)


def _cmd_controls(args: argparse.Namespace) -> int:
    """Every control of each framework with the policies mapped to it (not covered: none)."""
    frameworks = load_frameworks()
    policies = policies_for(args, config_of(args))
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
        print(visible(f"{row['framework']:<16} {row['control']:<18} {mapped:<40} {row['title']}"))
    return EXIT_OK


def _cmd_schema(args: argparse.Namespace) -> int:
    schema = kind_schema(args.name) if args.name in KINDS else document_schema(args.name)
    json.dump(schema, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
    return EXIT_OK


def _cmd_policies(args: argparse.Namespace) -> int:
    policies = policies_for(args, config_of(args), listing=True)
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
        table.add_row(*map(visible, (row["id"], row["severity"], "opt-in" if row["opt_in"] else "",
                                     ", ".join(row["kinds"] or row["types"]), row["title"], controls)))
    color = terminal.use_color(sys.stdout)
    Console(file=sys.stdout, force_terminal=color, width=None if color else 200).print(table)
    return EXIT_OK


def _cmd_explain(args: argparse.Namespace) -> int:
    from phigate.fixtures import fixture_files, load_fixtures

    config = config_of(args)
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
    provider = load(PROVIDERS, name) if row["installed"] else None
    document = provider.permissions_document if isinstance(provider, WithPermissionsDocument) else None
    if sampling:
        if document is None or "sample_content" not in inspect.signature(document).parameters:
            raise UsageError(f"provider '{name}' does not sample content")
        return str(document(sample_content=True))  # type: ignore[call-arg]
    if document is not None:
        return str(document())
    return "\n".join(row["permissions"])


__all__ = ["add_catalogue_commands"]
