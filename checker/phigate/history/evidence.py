"""Suppliers' evidence in the history store: one row per report a supplier sent (verified and
imported) or an audit recorded for it, with what the portfolio shows kept beside the report."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True, kw_only=True)
class EvidenceFacts:
    """What the portfolio shows of one report."""

    supplier: str
    #: SHA-256 of the JSON report, hex: replays are refused by it.
    digest: str
    #: ``attestation`` (imported, signature verified) or ``audit`` (a direct audit).
    source: str
    started: dt.datetime
    finished: dt.datetime
    tool_version: str
    packs: list[Any]
    scopes: list[Any]
    summary: dict[str, Any]
    #: Failures by severity label.
    failures: dict[str, int]
    #: The report's per-framework control views and per-policy counts.
    compliance: list[Any]
    policies: dict[str, dict[str, int]]
    evidence_complete: bool
    #: The signer's key id (attestations only).
    keyid: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EvidenceRecord(EvidenceFacts):
    """Evidence to record, with the report itself (gzipped JSON, for OSCAL and re-verification)
    and the envelope it came in."""

    report: bytes = b""
    envelope: bytes | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredEvidence(EvidenceFacts):
    """Recorded evidence, as the store reads it back (without the report)."""

    id: int
    recorded: dt.datetime
    extra: dict[str, Any] = field(default_factory=dict)


__all__ = ["EvidenceFacts", "EvidenceRecord", "StoredEvidence"]
