"""The JSON report (``phigate schema report``): stable, sorted, no raw resource data."""

from __future__ import annotations

import json
from typing import IO, Any, ClassVar

from phigate.baseline import BaselineComparison, KnownFailure
from phigate.frameworks import CONTROL_STATES, compliance
from phigate.model import Finding, Policy, Status
from phigate.result import RunResult, evidence_to_json, summary_to_json
from phigate.snapshot import error_to_json
from phigate.waivers import Waiver, WaiverOutcome

REPORT_VERSION = 1


def report_document(result: RunResult) -> dict[str, Any]:
    totals = result.totals()
    remedies = {p.id: p for p in result.policies}
    return {
        "report_version": REPORT_VERSION,
        "tool": {"name": "phigate", "version": result.tool_version},
        "packs": [{"name": p.name, "version": p.version, "policies": p.policies, "sha256": p.sha256}
                  for p in result.packs],
        "started": result.started.isoformat(timespec="seconds"),
        "finished": (result.finished or result.started).isoformat(timespec="seconds"),
        "scopes": [{"provider": s.provider, "scope": s.scope, "regions": list(s.regions)}
                   for s in result.scopes],
        "summary": {
            **summary_to_json(result, totals),
            "evidence_complete": result.evidence.complete,
        },
        "policies": [
            {"id": p.id, "title": p.title, "severity": p.severity.label,
             "controls": {k: list(v) for k, v in p.controls.items()},
             "counts": {s.value: result.counts[p.id][s] if p.id in result.counts else 0
                        for s in Status}}
            for p in result.policies
        ],
        "compliance": [
            {"framework": fw.key, "title": fw.title, "version": fw.version,
             "summary": {state: sum(1 for v in views if v.status == state)
                         for state in CONTROL_STATES},
             "controls": [{"id": v.id, "title": v.title, "status": v.status,
                           "policies": list(v.policies)} for v in views]}
            for fw, views in compliance(result)
        ],
        "findings": [finding_to_json(f, result.baseline, remedies.get(f.policy_id))
                     for f in result.findings],
        "collection_errors": [error_to_json(e) for e in result.collection_errors],
        **({"notices": list(result.notices)} if result.notices else {}),
        **({"waivers": waivers_to_json(result.waivers)} if result.waivers is not None else {}),
        **({"baseline": baseline_to_json(result.baseline)} if result.baseline is not None else {}),
    }


def finding_to_json(finding: Finding, baseline: BaselineComparison | None = None,
                    policy: Policy | None = None) -> dict[str, Any]:
    r = finding.resource
    remedy = policy.remedy(r.provider) if policy is not None else ""
    state = baseline.state(finding) if baseline is not None else None
    return {
        "id": finding.fingerprint,
        "policy_id": finding.policy_id,
        "title": finding.title,
        "severity": finding.severity.label,
        "status": finding.status.value,
        "resource": {"id": r.id, "type": r.type, "kind": r.kind, "provider": r.provider,
                     "scope": r.scope, "region": r.region, "name": r.name,
                     "data_class": r.data_class,
                     **({"address": r.address} if r.address is not None else {}),
                     **({"location": {"file": r.file, "line": r.line}} if r.file else {})},
        "message": finding.message,
        **({"remediation": remedy} if remedy else {}),
        "evidence": evidence_to_json(finding),
        "controls": {k: list(v) for k, v in finding.controls.items()},
        **({"waiver": waiver_to_json(finding.waiver)} if finding.waiver is not None else {}),
        **({"baseline": state} if state is not None else {}),
    }


def waiver_to_json(waiver: Waiver) -> dict[str, Any]:
    return {
        "policy": waiver.policy, "resource": waiver.resource,
        **({"scope": waiver.scope} if waiver.scope is not None else {}),
        **({"provider": waiver.provider} if waiver.provider is not None else {}),
        "reason": waiver.reason, "owner": waiver.owner, "expires": waiver.expires.isoformat(),
        "source": waiver.source,
        **({"status": waiver.status.value} if waiver.status is not Status.FAIL else {}),
    }


def waivers_to_json(outcome: WaiverOutcome) -> dict[str, Any]:
    return {
        "file": outcome.file,
        "date": outcome.today.isoformat(),
        "applied": [{**waiver_to_json(u.waiver), "findings": list(u.findings)} for u in outcome.applied],
        "expired": [{**waiver_to_json(u.waiver), "findings": list(u.findings)} for u in outcome.expired],
        "unused": [waiver_to_json(w) for w in outcome.unused],
    }


def baseline_to_json(comparison: BaselineComparison) -> dict[str, Any]:
    return {
        "file": comparison.file,
        "new": sorted(comparison.new),
        "unchanged": sorted(comparison.unchanged),
        "resolved": [_known_to_json(k) for k in comparison.resolved],
        "not_evaluated": [_known_to_json(k) for k in comparison.not_evaluated],
    }


def _known_to_json(known: KnownFailure) -> dict[str, Any]:
    return {"id": known.id, "policy_id": known.policy_id, "severity": known.severity,
            "resource": {"id": known.resource_id, "name": known.resource_name,
                         "provider": known.provider, "scope": known.scope,
                         **({"address": known.address} if known.address is not None else {})},
            "message": known.message}


class JsonReporter:
    name: ClassVar[str] = "json"

    def render(self, result: RunResult, out: IO[str], *, color: bool) -> None:
        json.dump(report_document(result), out, indent=2, ensure_ascii=False, default=str)
        out.write("\n")
