"""NIST OSCAL Assessment Results (JSON, OSCAL 1.0.6) from a phigate JSON report.

What GRC tools and auditors import: one result per scan, the assessed scopes as inventory items
(the observations' subjects), one observation per failure or error (its message and evidence),
and one finding per control of every mapped framework, ``satisfied`` or ``not-satisfied``, naming
the observations behind it. OSCAL control ids are tokens: a framework's control id (``164.312(a)(1)``)
becomes ``hipaa_164.312_a__1_``, and the original id is kept in the finding's title and props.
Every UUID is derived from the report (UUID 5), so the same report always gives the same document.
"""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Mapping
from typing import IO, Any, ClassVar

from phigate.result import RunResult

OSCAL_VERSION = "1.0.6"
NAMESPACE = "https://phigate.dev/ns/oscal"
_NOT_TOKEN = re.compile(r"[^A-Za-z0-9._-]")
#: Control states of a phigate report, as OSCAL objective states.
_STATE = {"satisfied": ("satisfied", "pass"), "failed": ("not-satisfied", "fail"),
          "not_evaluated": ("not-satisfied", "other"), "not_covered": ("not-satisfied", "other")}


def control_token(framework: str, control: str) -> str:
    """An OSCAL token naming ``framework``'s ``control`` (letters first, no parentheses)."""
    token = _NOT_TOKEN.sub("_", f"{framework}_{control}")
    return token if token[:1].isalpha() or token[:1] == "_" else f"_{token}"


def _prop(name: str, value: Any) -> dict[str, str]:
    return {"name": name, "ns": NAMESPACE, "value": str(value) if str(value) else "-"}


def assessment_results(report: Mapping[str, Any]) -> dict[str, Any]:
    """The OSCAL Assessment Results document of a phigate JSON report (``report_document``)."""
    seed = uuid.UUID(hashlib.sha256(json.dumps(report, sort_keys=True, default=str).encode())
                     .hexdigest()[:32])

    def uid(*parts: object) -> str:
        return str(uuid.uuid5(seed, "/".join(str(p) for p in parts)))

    tool = report.get("tool", {})
    started, finished = str(report["started"]), str(report["finished"])
    scopes = list(report.get("scopes", []))
    items = [{"uuid": uid("scope", i),
              "description": f"{s.get('provider')} {s.get('scope')}"
                             + (f" ({', '.join(s.get('regions', []))})" if s.get("regions") else ""),
              "props": [_prop("provider", s.get("provider", "")), _prop("scope", s.get("scope", ""))]}
             for i, s in enumerate(scopes)]
    scope_uuid = {(s.get("provider"), s.get("scope")): item["uuid"]
                  for s, item in zip(scopes, items, strict=True)}

    observations: list[dict[str, Any]] = []
    by_policy: dict[Any, list[str]] = {}
    for i, finding in enumerate(report.get("findings", [])):
        if finding.get("status") not in ("fail", "error"):
            continue
        resource = finding.get("resource", {})
        subject = scope_uuid.get((resource.get("provider"), resource.get("scope")))
        label = resource.get("name") or resource.get("id")
        observation: dict[str, Any] = {
            "uuid": uid("observation", i, finding.get("id")),
            "title": f"{finding.get('policy_id')} {finding.get('status')}: {label}",
            "description": str(finding.get("message") or finding.get("title") or "-"),
            "props": [_prop("policy", finding.get("policy_id", "")),
                      _prop("status", finding.get("status", "")),
                      _prop("severity", finding.get("severity", "")),
                      _prop("resource", resource.get("id", ""))],
            "methods": ["TEST"],
            "types": ["finding"],
            "collected": finished,
        }
        if subject is not None:
            observation["subjects"] = [{"subject-uuid": subject, "type": "inventory-item"}]
        if finding.get("evidence"):
            evidence = json.dumps(finding["evidence"], ensure_ascii=False)[:4000]
            observation["relevant-evidence"] = [{"description": evidence}]
        observations.append(observation)
        by_policy.setdefault(finding.get("policy_id"), []).append(observation["uuid"])

    findings, reviewed = [], []
    for view in report.get("compliance", []):
        framework = str(view.get("framework"))
        for control in view.get("controls", []):
            token = control_token(framework, str(control.get("id")))
            reviewed.append({"control-id": token})
            state, reason = _STATE.get(str(control.get("status")), ("not-satisfied", "other"))
            related = [u for pid in control.get("policies", []) for u in by_policy.get(pid, [])]
            entry: dict[str, Any] = {
                "uuid": uid("finding", framework, control.get("id")),
                "title": f"{framework} {control.get('id')}: {control.get('title') or ''}".strip(),
                "description": (f"{str(control.get('status')).replace('_', ' ')}, judged by "
                                f"{', '.join(control.get('policies', [])) or 'no policy'}"),
                "props": [_prop("framework", framework), _prop("control", control.get("id", "")),
                          _prop("phigate-status", control.get("status", ""))],
                "target": {"type": "objective-id", "target-id": token,
                           "status": {"state": state, "reason": reason}},
            }
            if related:
                entry["related-observations"] = [{"observation-uuid": u} for u in related]
            findings.append(entry)

    summary = report.get("summary", {})
    result: dict[str, Any] = {
        "uuid": uid("result"),
        "title": "phigate scan",
        "description": (f"{summary.get('resources', 0)} resources, {summary.get('policies', 0)} policies: "
                        f"{summary.get('fail', 0)} failures, {summary.get('error', 0)} errors; evidence "
                        f"{'complete' if summary.get('evidence_complete') else 'incomplete'}"),
        "start": started,
        "end": finished,
        "props": [_prop("evidence-complete", str(bool(summary.get("evidence_complete"))).lower())],
        "reviewed-controls": {"control-selections": [
            {"description": "controls of the frameworks the policies map to",
             **({"include-controls": reviewed} if reviewed else {"include-all": {}})}]},
    }
    if items:
        result["local-definitions"] = {"inventory-items": items}
    if observations:
        result["observations"] = observations
    if findings:
        result["findings"] = findings
    packs = report.get("packs", [])
    return {"assessment-results": {
        "uuid": uid("assessment-results"),
        "metadata": {
            "title": "phigate assessment results",
            "last-modified": finished,
            "version": str(tool.get("version", "")) or "-",
            "oscal-version": OSCAL_VERSION,
            "props": [_prop("tool", tool.get("name", "phigate"))]
            + [_prop("pack", f"{p.get('name')} {p.get('version') or p.get('sha256', '')[:12]}")
               for p in packs],
        },
        "import-ap": {"href": "#phigate-policy-pack"},
        "results": [result],
    }}


class OscalReporter:
    name: ClassVar[str] = "oscal"

    def render(self, result: RunResult, out: IO[str], *, color: bool) -> None:
        from phigate.reporters.json import report_document

        json.dump(assessment_results(report_document(result)), out, indent=2, ensure_ascii=False)
        out.write("\n")


__all__ = ["OSCAL_VERSION", "OscalReporter", "assessment_results", "control_token"]
