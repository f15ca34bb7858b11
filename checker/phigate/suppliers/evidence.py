"""Turning a supplier's report into recorded evidence: verified imports and direct audits."""

from __future__ import annotations

import datetime as dt
import gzip
import hashlib
import json
from collections import Counter
from pathlib import Path

from phigate.api import InputError
from phigate.attest import (
    VerificationFailed,
    load_envelope,
    load_public_key,
    report_document,
    report_time,
    verify,
)
from phigate.files import read_bounded
from phigate.history import HistoryStore
from phigate.history.evidence import EvidenceRecord
from phigate.suppliers.config import Portfolio

#: A report may not end in the future by more than this (clocks differ a little).
CLOCK_SKEW = dt.timedelta(minutes=10)


def evidence_record(supplier: str, report: bytes, source: str, *, keyid: str | None = None,
                    envelope: bytes | None = None) -> EvidenceRecord:
    """What the portfolio keeps of a report: its facts, its failures by severity, its controls."""
    document = report_document(report, "report")
    summary = document["summary"]
    failures = Counter(f.get("severity", "unknown") for f in document.get("findings", [])
                       if isinstance(f, dict) and f.get("status") == "fail")
    policies = {p["id"]: p.get("counts", {}) for p in document.get("policies", [])
                if isinstance(p, dict) and isinstance(p.get("id"), str)}
    return EvidenceRecord(
        supplier=supplier, digest=hashlib.sha256(report).hexdigest(), source=source,
        started=report_time(document["started"], "started"),
        finished=report_time(document["finished"], "finished"),
        tool_version=str(document["tool"].get("version", "")) if isinstance(document["tool"], dict) else "",
        packs=list(document["packs"]), scopes=list(document["scopes"]), summary=dict(summary),
        failures=dict(sorted(failures.items())), compliance=list(document.get("compliance", [])),
        policies=policies, evidence_complete=bool(summary.get("evidence_complete")),
        keyid=keyid, report=gzip.compress(report, compresslevel=1, mtime=0), envelope=envelope)


def import_attestation(store: HistoryStore, portfolio: Portfolio, supplier_name: str, *,
                       attestation: Path, report_path: Path, now: dt.datetime) -> EvidenceRecord:
    """Verify ``attestation`` over ``report_path`` with the supplier's keys and record it.

    Refused, with nothing recorded: a signature that no key of this supplier verifies (another
    supplier's key included), a report that differs from what was signed, a replay of a report
    already imported, one not newer than the latest recorded (back-dated) or ending in the
    future. Malformed input is an ``InputError``; evidence that does not verify,
    ``VerificationFailed``."""
    supplier = portfolio.supplier(supplier_name)
    if not supplier.keys:
        raise InputError(f"{portfolio.source}: supplier '{supplier.name}' has no public key to verify with")
    keys = [load_public_key(k) for k in supplier.keys]
    envelope = load_envelope(attestation)
    report = read_bounded(report_path, "report")
    verified = verify(envelope, report, keys, str(attestation))
    if verified.finished > now + CLOCK_SKEW:
        raise VerificationFailed(f"{attestation}: the report ends {verified.finished.isoformat()}, "
                                 "in the future: nothing recorded")
    record = evidence_record(supplier.name, report, "attestation", keyid=verified.keyid,
                             envelope=json.dumps(envelope, sort_keys=True).encode())
    try:
        store.record_evidence(record, newer_only=True)
    except InputError as exc:  # a replay or an older report: well formed, but refused
        raise VerificationFailed(str(exc)) from exc
    return record


__all__ = ["CLOCK_SKEW", "evidence_record", "import_attestation"]
