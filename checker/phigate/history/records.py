"""What the history keeps of one audit: a run, its policies, findings and collection errors.

Records hold what reports hold (never raw resource data): ids, names, statuses, messages and
evidence (attribute paths and observed values). ``run_record`` turns a scan's result into one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from phigate.api import CollectionError, Scope
from phigate.frameworks import CONTROL_STATES, compliance
from phigate.model import Finding, Status
from phigate.result import RunResult, evidence_to_json, summary_to_json


@dataclass(frozen=True, slots=True)
class StoredFinding:
    """One finding as recorded: ``fingerprint`` is ``Finding.fingerprint`` (policy, provider,
    scope, resource), the key drift is computed on."""

    fingerprint: str
    policy_id: str
    title: str
    severity: str
    status: str
    resource_id: str
    resource_name: str | None
    resource_type: str
    resource_kind: str
    provider: str
    scope: str
    region: str | None
    data_class: str | None
    message: str
    evidence: Sequence[Mapping[str, Any]] = ()
    controls: Mapping[str, Sequence[str]] = field(default_factory=dict)
    waiver: Mapping[str, Any] | None = None
    #: When a failure started failing: the start of the unbroken series of runs (of the same
    #: series) in which it failed. Set by the store when the run is recorded.
    failing_since: dt.datetime | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.fingerprint, "policy_id": self.policy_id, "title": self.title,
            "severity": self.severity, "status": self.status,
            "resource": {"id": self.resource_id, "name": self.resource_name, "type": self.resource_type,
                         "kind": self.resource_kind, "provider": self.provider, "scope": self.scope,
                         "region": self.region, "data_class": self.data_class},
            "message": self.message, "evidence": list(self.evidence),
            **({"failing_since": _iso(self.failing_since)} if self.failing_since else {}),
        }


@dataclass(frozen=True, slots=True)
class StoredError:
    """A collection error as recorded (what could not be read, and the permission missing)."""

    provider: str
    scope: str
    region: str | None
    resource_id: str | None
    permission: str | None
    kinds: tuple[str, ...]
    types: tuple[str, ...]
    message: str

    @property
    def key(self) -> tuple[Any, ...]:
        """What makes two runs' errors "the same error" for drift."""
        return (self.provider, self.scope, self.region, self.resource_id, self.permission,
                self.kinds, self.types, self.message)

    def to_json(self) -> dict[str, Any]:
        return {"provider": self.provider, "scope": self.scope, "region": self.region,
                "resource_id": self.resource_id, "permission": self.permission,
                "kinds": list(self.kinds), "types": list(self.types), "message": self.message}


@dataclass(frozen=True, slots=True)
class PolicyRecord:
    """A policy evaluated in the run, with its outcome counts (overall and per provider)."""

    policy_id: str
    title: str
    severity: str
    counts: Mapping[str, int]
    provider_counts: Mapping[str, Mapping[str, int]]

    def decided(self, provider: str) -> bool:
        """Whether the policy passed or failed somewhere on this provider's resources: only
        then can a failure that is no longer reported count as resolved."""
        counts = self.provider_counts.get(provider, {})
        return bool(counts.get(Status.PASS.value) or counts.get(Status.FAIL.value)
                    or counts.get(Status.WAIVED.value))


@dataclass(frozen=True, slots=True)
class RunFacts:
    """What a run is, as recorded and as listed back: what it covered, when, with what, and
    how it ended."""

    series: str
    scopes: Sequence[Mapping[str, Any]]
    started: dt.datetime
    finished: dt.datetime
    tool_version: str
    packs: Sequence[Mapping[str, Any]]
    #: Outcome counts by status, resources seen, policies, collection errors.
    summary: Mapping[str, int]
    #: Per framework: key, title and how many controls are in each state.
    compliance: Sequence[Mapping[str, Any]]
    exit_code: int


@dataclass(frozen=True, slots=True, kw_only=True)
class RunSummary(RunFacts):
    """One recorded run, without its findings: what ``phigate history`` lists."""

    id: int
    has_snapshot: bool = False

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "series": self.series, "scopes": list(self.scopes),
                "started": _iso(self.started), "finished": _iso(self.finished),
                "tool_version": self.tool_version, "packs": list(self.packs),
                "summary": dict(self.summary), "compliance": list(self.compliance),
                "exit_code": self.exit_code, "snapshot": self.has_snapshot}


@dataclass(frozen=True, slots=True)
class RunRecord(RunFacts):
    """A run to record (its id is given by the store)."""

    policies: Sequence[PolicyRecord]
    findings: Sequence[StoredFinding]
    errors: Sequence[StoredError]
    #: A gzipped JSON Lines snapshot of what was evaluated, when the audit keeps it.
    snapshot: Path | None = None


@dataclass(frozen=True, slots=True)
class StoredRun:
    run: RunSummary
    policies: Sequence[PolicyRecord]
    findings: Sequence[StoredFinding]
    errors: Sequence[StoredError]


def series_of(scopes: Sequence[Scope]) -> str:
    """The default series of an audit: what it covers (providers and scopes, not regions),
    so that tomorrow's audit of the same estate compares with today's."""
    names = sorted({f"{s.provider}:{s.scope}" for s in scopes})
    text = ", ".join(names)
    if len(text) <= 120:
        return text
    digest = hashlib.sha256("\n".join(names).encode()).hexdigest()[:12]
    return f"{names[0]} and {len(names) - 1} more ({digest})"


def run_record(result: RunResult, *, series: str, exit_code: int,
               snapshot: Path | None = None) -> RunRecord:
    summary = summary_to_json(result)
    controls = [
        {"framework": fw.key, "title": fw.title, "version": fw.version,
         **{state: sum(1 for v in views if v.status == state) for state in CONTROL_STATES}}
        for fw, views in compliance(result)
    ]
    policies = [
        PolicyRecord(p.id, p.title, p.severity.label,
                     {s.value: n for s, n in result.counts.get(p.id, {}).items() if n},
                     {provider: {s.value: n for s, n in counts.items() if n}
                      for provider, counts in result.counts_by_provider.get(p.id, {}).items()})
        for p in result.policies
    ]
    return RunRecord(
        series=series,
        scopes=[{"provider": s.provider, "scope": s.scope, "regions": list(s.regions)}
                for s in result.scopes],
        started=result.started, finished=result.finished or result.started,
        tool_version=result.tool_version,
        packs=[{"name": p.name, "version": p.version, "policies": p.policies, "sha256": p.sha256}
               for p in result.packs],
        summary=summary, compliance=controls, exit_code=exit_code, policies=policies,
        findings=[stored_finding(f) for f in result.findings],
        errors=[stored_error(e) for e in result.collection_errors], snapshot=snapshot)


def stored_finding(finding: Finding) -> StoredFinding:
    r = finding.resource
    waiver = finding.waiver
    return StoredFinding(
        fingerprint=finding.fingerprint, policy_id=finding.policy_id, title=finding.title,
        severity=finding.severity.label, status=finding.status.value, resource_id=r.id,
        resource_name=r.name, resource_type=r.type, resource_kind=r.kind, provider=r.provider,
        scope=r.scope, region=r.region, data_class=r.data_class, message=finding.message,
        evidence=evidence_to_json(finding),
        controls={k: list(v) for k, v in finding.controls.items()},
        waiver=None if waiver is None else {
            "reason": waiver.reason, "owner": waiver.owner, "expires": waiver.expires.isoformat(),
            "source": waiver.source})


def stored_error(error: CollectionError) -> StoredError:
    return StoredError(error.provider, error.scope, error.region, error.resource_id, error.permission,
                       tuple(error.kinds), tuple(error.types), error.message)


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat(timespec="seconds")


__all__ = ["PolicyRecord", "RunFacts", "RunRecord", "RunSummary", "StoredError", "StoredFinding", "StoredRun",
           "run_record", "series_of", "stored_error", "stored_finding"]
