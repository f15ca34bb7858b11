"""Command line for supplier assurance: keygen, attest, verify, portfolio (import and view).

Exit codes: ``verify`` and ``portfolio import`` give 0 when the evidence verifies (and is
recorded), 1 when it does not (signature, digest, content, replay, older or future report), 2 for
malformed input. ``portfolio`` gives 0 when every supplier is in order, 1 when one has gating
failures or stale evidence, 3 when one's latest evidence is incomplete.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from phigate.model import Severity

if TYPE_CHECKING:
    from phigate.history import HistoryStore
    from phigate.history.evidence import StoredEvidence

EXIT_OK, EXIT_FAIL = 0, 1
SEVERITIES = [s.label for s in sorted(Severity, reverse=True)]
STORE_VARIABLE = "PHIGATE_STORE"


def add_supplier_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keygen = sub.add_parser("keygen", help="write an Ed25519 key pair for signing evidence")
    keygen.add_argument("-o", "--output", required=True, type=Path, metavar="NAME",
                        help="writes NAME.key (private, mode 0600) and NAME.pub")
    keygen.set_defaults(handler=_cmd_keygen)

    attest = sub.add_parser("attest", help="sign a JSON report: an in-toto Statement in a DSSE envelope")
    attest.add_argument("report", type=Path, metavar="REPORT.json")
    attest.add_argument("--key", required=True, type=Path, metavar="NAME.key")
    attest.add_argument("-o", "--output", type=Path, metavar="FILE",
                        help="where to write the attestation (default: REPORT.intoto.json)")
    attest.set_defaults(handler=_cmd_attest)

    verify = sub.add_parser("verify", help="check an attestation against its report and a public key")
    verify.add_argument("attestation", type=Path, metavar="ATTESTATION")
    verify.add_argument("--report", required=True, type=Path, metavar="REPORT.json")
    verify.add_argument("--key", required=True, type=Path, action="append", metavar="NAME.pub",
                        help="a public key whose signature is accepted (repeatable)")
    verify.set_defaults(handler=_cmd_verify)

    portfolio = sub.add_parser("portfolio",
                               help="suppliers' evidence at a glance; `portfolio import` records it")
    _portfolio_options(portfolio)
    portfolio.add_argument("--format", action="append", default=None, metavar="FORMAT[=FILE]",
                           help="text (default), json, html=FILE, or oscal=FILE with --supplier")
    portfolio.add_argument("--fail-on", choices=SEVERITIES, default="info",
                           help="lowest severity whose failures put a supplier in breach (default: info)")
    portfolio.add_argument("--supplier", metavar="NAME", help="only this supplier")
    portfolio.set_defaults(handler=_cmd_portfolio)
    actions = portfolio.add_subparsers(dest="portfolio_command", metavar="ACTION")
    imported = actions.add_parser("import", help="verify a supplier's attestation and record it")
    imported.add_argument("attestation", type=Path, metavar="ATTESTATION")
    imported.add_argument("--report", required=True, type=Path, metavar="REPORT.json")
    imported.add_argument("--supplier", required=True, metavar="NAME")
    _portfolio_options(imported)
    imported.set_defaults(handler=_cmd_import)


def _portfolio_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", default=os.environ.get(STORE_VARIABLE), metavar="PATH_OR_URL",
                        help="SQLite file or postgresql:// URL (default: $PHIGATE_STORE)")
    parser.add_argument("--config", type=Path, default=argparse.SUPPRESS, metavar="PORTFOLIO.yaml",
                        help="the portfolio (default: ./portfolio.yaml)")


def _cmd_keygen(args: argparse.Namespace) -> int:
    from phigate.attest import generate_keys

    private, public = generate_keys(args.output)
    print(f"wrote {private} (private: keep it secret, mode 0600) and {public} (give it to your customers)",
          file=sys.stderr)
    return EXIT_OK


def _cmd_attest(args: argparse.Namespace) -> int:
    from phigate.attest import attest

    envelope = attest(args.report, args.key)
    output = args.output or args.report.with_name(args.report.stem + ".intoto.json")
    _write(output, json.dumps(envelope, indent=2, sort_keys=True) + "\n")
    print(f"wrote {output}", file=sys.stderr)
    return EXIT_OK


def _cmd_verify(args: argparse.Namespace) -> int:
    from phigate.attest import (
        MAX_REPORT_BYTES,
        VerificationFailed,
        load_envelope,
        load_public_key,
        read_bounded,
        verify,
    )

    keys = [load_public_key(k) for k in args.key]
    envelope = load_envelope(args.attestation)
    report = read_bounded(args.report, MAX_REPORT_BYTES, "report")
    try:
        verified = verify(envelope, report, keys, str(args.attestation))
    except VerificationFailed as exc:
        print(f"not verified: {exc}", file=sys.stderr)
        return EXIT_FAIL
    p = verified.predicate
    summary = p.get("summary", {})
    print(f"verified: {args.report} signed by key {verified.keyid[:16]}…; phigate "
          f"{p.get('tool', {}).get('version')}, {p.get('started')} to {p.get('finished')}, "
          f"{summary.get('fail', 0)} failure(s), evidence "
          f"{'complete' if p.get('evidence_complete') else 'incomplete'}")
    return EXIT_OK


def _cmd_import(args: argparse.Namespace) -> int:
    from phigate.attest import VerificationFailed
    from phigate.history import open_store
    from phigate.suppliers.config import load_portfolio
    from phigate.suppliers.evidence import import_attestation

    portfolio = load_portfolio(getattr(args, "config", None))
    store = open_store(_store(args), create=True)
    try:
        record = import_attestation(store, portfolio, args.supplier, attestation=args.attestation,
                                    report_path=args.report, now=dt.datetime.now(dt.UTC))
    except VerificationFailed as exc:
        print(f"refused, nothing recorded: {exc}", file=sys.stderr)
        return EXIT_FAIL
    print(f"recorded evidence of {record.supplier} ending {record.finished.isoformat(timespec='seconds')} "
          f"in {store.location}", file=sys.stderr)
    return EXIT_OK


def _cmd_portfolio(args: argparse.Namespace) -> int:
    from phigate.api import InputError
    from phigate.history import open_store
    from phigate.suppliers.config import load_portfolio
    from phigate.suppliers.render import render_html, render_json, render_text
    from phigate.suppliers.view import portfolio_view

    portfolio = load_portfolio(getattr(args, "config", None))
    if args.supplier is not None:
        portfolio = type(portfolio)((portfolio.supplier(args.supplier),), portfolio.source)
    store = open_store(_store(args), create=False)
    evidence = [e for e in store.evidence() if args.supplier is None or e.supplier == args.supplier]
    view = portfolio_view(portfolio, evidence, dt.datetime.now(dt.UTC), Severity.parse(args.fail_on))
    renderers = {"text": render_text, "json": render_json, "html": render_html}
    for spec in args.format or ["text"]:
        name, _, file = spec.partition("=")
        if name == "oscal":
            if args.supplier is None or not file:
                raise InputError("--format oscal=FILE needs --supplier NAME (its latest evidence)")
            _write_oscal(store, args.supplier, evidence, Path(file))
            continue
        if name not in renderers:
            raise InputError(f"unknown portfolio format '{name}' (text, json, html=FILE, oscal=FILE)")
        if name == "html" and not file:
            raise InputError("--format html needs a file: html=FILE")
        if file:
            with Path(file).open("w", encoding="utf-8") as out:
                renderers[name](view, out)
        else:
            renderers[name](view, sys.stdout)
    return view.exit_code()


def _write_oscal(store: HistoryStore, supplier: str, evidence: list[StoredEvidence], file: Path) -> None:
    from phigate.api import InputError
    from phigate.reporters.oscal import assessment_results

    if not evidence:
        raise InputError(f"no evidence of '{supplier}' in the store: nothing to write as OSCAL")
    report = gzip.decompress(store.evidence_report(evidence[0].id))
    _write(file, json.dumps(assessment_results(json.loads(report)), indent=2, ensure_ascii=False) + "\n")


def _write(path: Path, text: str) -> None:
    from phigate.api import InputError

    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot write ({exc.strerror})") from exc


def _store(args: argparse.Namespace) -> str:
    from phigate.api import InputError

    if not args.store:
        raise InputError("--store is required (a SQLite file or a postgresql:// URL), "
                         f"or set {STORE_VARIABLE}")
    return str(args.store)


__all__ = ["add_supplier_commands"]
