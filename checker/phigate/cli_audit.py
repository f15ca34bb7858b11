"""The audit commands: ``audit`` (scan and record in a history store), ``history`` (list runs,
apply retention, export a kept snapshot) and ``diff`` (what changed between two runs).

``cli.build_parser`` hands its subparsers to ``add_audit_commands``, with the function that adds
the collection options; collection and policy options are the very ones ``scan`` has (the same
functions add and read them).
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import re
import sys
from collections.abc import Callable, Sequence
from functools import partial, wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any

from phigate import terminal
from phigate.api import Watchable
from phigate.cli_common import (
    EXIT_INCOMPLETE,
    EXIT_OK,
    SEVERITIES,
    UsageError,
    _add_output_options,
    _add_policy_options,
    _outputs,
    add_listing_format,
    color_for,
    config_of,
    reporter_for,
)
from phigate.files import atomic_write, atomic_write_bytes, read_bounded, write_whole
from phigate.frameworks import load_frameworks
from phigate.model import Severity
from phigate.safetext import visible
from phigate.selection import for_frameworks, policies_for, providers_for

if TYPE_CHECKING:  # imported by the handlers: every command builds this parser, few use them
    from phigate.audit import AuditOutcome, AuditSettings
    from phigate.history import Drift, HistoryStore, StoredFinding
    from phigate.result import RunResult

STORE_VARIABLE = "PHIGATE_STORE"
_AGE = re.compile(r"^(\d+)([hdw])$")
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}

Handler = Callable[[argparse.Namespace], int]


def add_audit_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                       add_collection_options: Callable[[argparse.ArgumentParser], None]) -> None:
    """``add_collection_options`` is the one ``scan`` uses (targets, providers and their options)."""
    audit = sub.add_parser("audit", help="scan, record the run in a history store, report what changed")
    add_collection_options(audit)
    _add_policy_options(audit)
    _add_store_option(audit)
    audit.add_argument("--series", metavar="NAME",
                       help="the series this run continues (default: its providers and scopes)")
    audit.add_argument("--html", type=Path, metavar="FILE",
                       help="write the HTML report, with the trend and the changes")
    audit.add_argument("--notify", action="append", default=[], metavar="webhook=URL",
                       help="post a JSON summary when something changed or the evidence is incomplete "
                            "(webhook=env:NAME reads the URL from an environment variable; repeatable)")
    audit.add_argument("--keep", type=_age, metavar="AGE",
                       help="then delete runs older than AGE (48h, 90d, 12w); a series' latest run stays")
    audit.add_argument("--keep-snapshot", action="store_true",
                       help="store what was collected with the run (raw data included: guard the store)")
    audit.add_argument("--fail-on", choices=SEVERITIES, default=None,
                       help="lowest severity whose failures make the exit code 1 (default: info)")
    audit.add_argument("--format", action="append", default=None, metavar="FORMAT[=FILE]",
                       help="report formats, as for scan")
    audit.add_argument("--framework", action="append", default=[], metavar="KEY",
                       help="evaluate only the policies mapped to this framework (repeatable)")
    audit.add_argument("--waivers", type=Path, metavar="FILE", help="waiver file, as for scan")
    audit.add_argument("--show-passed", action="store_true", help="list and record passing findings too")
    _add_output_options(audit)
    audit.add_argument("--attest", type=Path, metavar="KEY",
                       help="sign the JSON report (--format json=FILE) with this key: FILE.intoto.json")
    audit.add_argument("--supplier", metavar="NAME",
                       help="record the run as this supplier's evidence too (phigate portfolio)")
    audit.set_defaults(handler=_store_errors(_cmd_audit))

    history = sub.add_parser("history", help="list the runs of a history store")
    _add_store_option(history)
    history.add_argument("--series", metavar="NAME", help="only this series")
    history.add_argument("--limit", type=_positive, default=20, metavar="N",
                         help="newest N runs (default: 20)")
    add_listing_format(history)
    history.add_argument("--keep", type=_age, metavar="AGE",
                         help="first delete runs older than AGE; a series' latest run stays")
    history.add_argument("--snapshot", type=int, metavar="RUN",
                         help="write the snapshot kept with RUN to --output (JSON Lines)")
    history.add_argument("-o", "--output", type=Path, metavar="FILE")
    history.set_defaults(handler=_store_errors(_cmd_history))

    diff = sub.add_parser("diff", help="what changed between two recorded runs")
    _add_store_option(diff)
    diff.add_argument("runs", nargs="*", type=int, metavar="RUN",
                      help="RUN_A RUN_B, or one run (against the previous of its series), or none "
                           "(the latest run against the previous of its series)")
    add_listing_format(diff)
    diff.set_defaults(handler=_store_errors(_cmd_diff))


def _add_store_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", default=os.environ.get(STORE_VARIABLE), metavar="PATH_OR_URL",
                        help="SQLite file or postgresql:// URL (default: $PHIGATE_STORE)")


def _age(text: str) -> dt.timedelta:
    match = _AGE.match(text.strip())
    if match is None or int(match.group(1)) < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not an age such as 48h, 90d or 12w")
    return dt.timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a positive whole number")
    return int(text)


def _age_text(age: dt.timedelta) -> str:
    hours = int(age.total_seconds()) // 3600
    return f"{hours // 24} day(s)" if hours % 24 == 0 else f"{hours} hour(s)"


def _store_errors(handler: Handler) -> Handler:
    """A store that fails after opening (disk full, server gone) is reported in one line."""
    @wraps(handler)
    def run(args: argparse.Namespace) -> int:
        from phigate.history import StoreError

        try:
            return handler(args)
        except StoreError as exc:
            print(f"error: history store {visible(str(exc))}", file=sys.stderr)
            return EXIT_INCOMPLETE
    return run


def _store(args: argparse.Namespace) -> str:
    if not args.store:
        raise UsageError("--store is required (a SQLite file or a postgresql:// URL), "
                         f"or set {STORE_VARIABLE}")
    return str(args.store)


def _cmd_audit(args: argparse.Namespace) -> int:
    from phigate.audit import AuditSettings, evaluate, record, snapshot_spool
    from phigate.history import StoreError, open_store
    from phigate.notify import NotConfigured, parse_target
    from phigate.waivers import load_waivers

    location = _store(args)
    config = config_of(args)
    frameworks = load_frameworks()
    policies = for_frameworks(policies_for(args, config), args.framework, frameworks)
    outputs = _outputs(args.format)
    json_report = next((file for name, file in outputs if name == "json" and file is not None), None)
    _check_signing(args.attest, json_report)
    webhooks = []
    for spec in args.notify:
        try:
            webhooks.append(parse_target(spec))
        except NotConfigured as exc:  # an undefined CI secret: warn, audit all the same
            print(f"warning: {exc}", file=sys.stderr)
    if args.html is not None and not args.html.parent.is_dir():
        raise UsageError(f"--html {args.html}: no folder {args.html.parent}")
    providers = providers_for(args, config)
    waiver_file = args.waivers or config.waivers
    waivers = load_waivers(waiver_file) if waiver_file is not None else None
    settings = AuditSettings(fail_on=Severity.parse(args.fail_on or config.fail_on or "info"),
                             series=args.series, keep=args.keep, keep_snapshot=args.keep_snapshot,
                             html=args.html, webhooks=webhooks, show_passed=args.show_passed)
    store = open_store(location, create=True)  # before collecting: a wrong store fails fast
    with snapshot_spool(args.keep_snapshot) as spool:
        with terminal.progress(args.quiet) as status:
            for provider in providers:
                if status is not None and isinstance(provider, Watchable):
                    provider.watch(status.say)
            result = evaluate(providers, policies, config, settings=settings, frameworks=frameworks,
                              waivers=waivers, progress=status, snapshot=spool)
        exit_code = result.exit_code(settings.fail_on)
        _render(outputs, result, args)
        try:
            outcome = record(store, result, exit_code=exit_code, settings=settings, snapshot=spool)
            if args.supplier is not None:
                _record_supplier(store, args.supplier, result, json_report)
        except StoreError as exc:
            print(f"error: history store {visible(str(exc))}", file=sys.stderr)
            return EXIT_INCOMPLETE
    if args.attest is not None and json_report is not None:
        from phigate.attest import attest

        attestation = json_report.with_name(json_report.stem + ".intoto.json")
        with atomic_write(attestation, keep_mode=True) as out:  # never through a planted link
            out.write(json.dumps(attest(json_report, args.attest), indent=2, sort_keys=True) + "\n")
        if not args.quiet:
            print(f"signed the report: {attestation}", file=sys.stderr)
    if not args.quiet:
        print("\n".join(_recorded_lines(outcome, store.location, settings)), file=sys.stderr)
    for warning in outcome.warnings:
        print(f"warning: {visible(warning)}", file=sys.stderr)
    return exit_code


def _check_signing(key: Path | None, json_report: Path | None) -> None:
    """``--attest KEY`` needs a JSON report file and a key that signs: known before the run."""
    if key is None:
        return
    if json_report is None:
        raise UsageError("--attest signs the JSON report: add --format json=FILE")
    from phigate.attest import load_signer

    load_signer(key)


def _record_supplier(store: HistoryStore, supplier: str, result: RunResult, report: Path | None) -> None:
    """A direct audit of a supplier: its report lands in the portfolio like imported evidence."""
    from phigate.reporters.json import report_document
    from phigate.suppliers.evidence import evidence_record

    data = (read_bounded(report, "report") if report is not None
            else json.dumps(report_document(result), indent=2, ensure_ascii=False, default=str).encode())
    store.record_evidence(evidence_record(supplier, data, "audit"), newer_only=False)


def _recorded_lines(outcome: AuditOutcome, location: str, settings: AuditSettings) -> list[str]:
    run = outcome.run
    lines = [f"recorded run {run.id} in {location} (series: {_plain(run.series)})",
             (f"since run {outcome.drift.before.id}: {outcome.drift.headline()}"
              if outcome.drift is not None else "first run of this series")]
    if outcome.pruned and settings.keep is not None:
        lines.append(f"retention: deleted {outcome.pruned} run(s) older than {_age_text(settings.keep)}")
    if settings.html is not None and not any("HTML" in w for w in outcome.warnings):
        lines.append(f"wrote {settings.html}")
    if outcome.notified:
        lines.append(f"notified {outcome.notified} webhook(s)")
    return lines


def _render(outputs: list[tuple[str, Path | None]], result: RunResult, args: argparse.Namespace) -> None:
    for name, file in outputs:
        reporter = reporter_for(name, args)
        if file is None:
            reporter.render(result, sys.stdout, color=color_for(args))
        else:
            write_whole(file, partial(reporter.render, result, color=False))


def _cmd_history(args: argparse.Namespace) -> int:
    from phigate.history import open_store

    store = open_store(_store(args), create=False)
    if args.keep is not None:
        pruned = store.prune(dt.datetime.now(dt.UTC) - args.keep)
        print(f"retention: deleted {pruned} run(s) older than {_age_text(args.keep)}", file=sys.stderr)
    if args.snapshot is not None:
        return _export_snapshot(store.location, args.snapshot, store.snapshot(store.get(args.snapshot).id),
                                args.output)
    runs = store.runs(args.series, limit=args.limit)
    if args.format == "json":
        json.dump([r.to_json() for r in runs], sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
        return EXIT_OK
    if not runs:
        print(f"no runs recorded in {store.location}", file=sys.stderr)
        return EXIT_OK
    print(f"{'run':>5}  {'started':<20} {'exit':>4} {'fail':>5} {'error':>5} {'pass':>6}  series")
    for r in runs:
        s = r.summary
        print(f"{r.id:>5}  {_when(r.started):<20} {r.exit_code:>4} {s.get('fail', 0):>5} "
              f"{s.get('error', 0) + s.get('collection_errors', 0):>5} {s.get('pass', 0):>6}  "
              f"{_plain(r.series)}{'  [snapshot]' if r.has_snapshot else ''}")
    return EXIT_OK


def _export_snapshot(location: str, run_id: int, data: bytes | None, output: Path | None) -> int:
    if output is None:
        raise UsageError("--snapshot RUN needs -o FILE")
    if data is None:
        raise UsageError(f"run {run_id} in {location} kept no snapshot (audit with --keep-snapshot)")
    try:
        with atomic_write_bytes(output) as out:  # raw estate data: 0600, never through a link
            out.write(gzip.decompress(data))
    except OSError as exc:
        raise UsageError(f"cannot write {output}: {exc.strerror or exc}") from None
    print(f"wrote the snapshot of run {run_id} to {output}", file=sys.stderr)
    return EXIT_OK


def _cmd_diff(args: argparse.Namespace) -> int:
    from phigate.history import compare, open_store

    store = open_store(_store(args), create=False)
    ids: list[int] = args.runs
    if len(ids) > 2:
        raise UsageError("diff takes at most two runs: RUN_A RUN_B")
    if len(ids) == 2:
        before, after = ids
    else:
        if ids:
            after = store.get(ids[0]).id
        else:
            latest = store.runs(limit=1)
            if not latest:
                raise UsageError(f"no runs recorded in {store.location}")
            after = latest[0].id
        previous = store.previous(after)
        if previous is None:
            raise UsageError(f"run {after} is the first of its series: nothing to compare it with")
        before = previous.id
    drift = compare(store.load(before), store.load(after))
    if drift.before.series != drift.after.series:
        print(f"note: runs {before} and {after} belong to different series", file=sys.stderr)
    if args.format == "json":
        json.dump(drift.to_json(), sys.stdout, indent=2, ensure_ascii=False)
        sys.stdout.write("\n")
    else:
        print("\n".join(_diff_lines(drift)))
    return EXIT_OK


def _diff_lines(drift: Drift) -> list[str]:
    a, b = drift.before, drift.after
    lines = [f"run {a.id} ({_when(a.started)}) -> run {b.id} ({_when(b.started)}), "
             f"series {_plain(b.series)}", drift.headline()]
    sections: list[tuple[str, Sequence[StoredFinding]]] = [
        ("new failures", drift.new), ("resolved", drift.resolved), ("new errors", drift.new_errors),
        ("still failing", drift.still_failing)]
    for title, found in sections:
        if found:
            lines.append(f"{title}:")
            lines += [_finding_line(f, since=title == "still failing") for f in found]
    for error in drift.new_collection_errors:
        lines.append(f"new collection error: {_plain(error.provider)}:{_plain(error.scope)} "
                     f"{_plain(error.resource_id or '(whole scope)')}: {_plain(error.message)}")
    for title, ids in (("policies added", drift.policies_added),
                       ("policies removed", drift.policies_removed)):
        if ids:
            lines.append(f"{title}: {', '.join(ids)}")
    return lines


def _finding_line(f: StoredFinding, since: bool) -> str:
    name = f.resource_name if f.resource_name and f.resource_name != f.resource_id else ""
    tail = f"  (since {_when(f.failing_since)})" if since and f.failing_since else ""
    return (f"  {f.severity:<8} {f.policy_id:<14} {_plain(f.resource_id)}"
            f"{f' ({_plain(name)})' if name else ''}: {_plain(f.message)}{tail}")


def _plain(text: Any) -> str:
    """Estate-provided text for a terminal: control characters shown as code points."""
    return visible(str(text))


def _when(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


__all__ = ["add_audit_commands"]
