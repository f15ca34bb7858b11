"""SARIF 2.1.0 for code scanning: one run, one rule per policy, one result per failure.

What code scanning needs and how phigate's outcomes map onto SARIF:

- ``fail`` is a result of kind ``fail`` at its rule's level (critical/high → error,
  medium → warning, low/info → note); ``waived`` is the same result carrying a suppression
  with the waiver's reason, so it stays visible but closed.
- ``error`` (could not evaluate) is never a pass and never a failure: it is a result of kind
  ``review`` (SARIF's "a human must look") whose level is ``none`` as the standard requires,
  with its message prefixed "not evaluated:" and the property ``phigate-status: error``. The
  run's invocation is then ``executionSuccessful: false``, and every collection error is a tool
  execution notification.
- Resources carry no source position yet. Code scanning refuses results without a physical
  location, so each result points at the scanned file when the run read exactly one (a
  snapshot or a plan), else at the pseudo-path ``phigate``; the resource itself is a logical
  location (its id and type).
- ``partialFingerprints["phigate/v1"]`` is the finding's stable id (policy, provider, scope,
  resource), the same as the JSON report's finding ``id``, so an alert follows its resource
  across commits.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any, ClassVar
from urllib.parse import quote

from phigate.api import CollectionError, Scope
from phigate.model import Finding, Policy, Severity, Status
from phigate.result import RunResult
from phigate.safetext import visible

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
INFORMATION_URI = "https://phigate.dev"
FINGERPRINT_KEY = "phigate/v1"
#: Where results point when the run did not read exactly one file.
PSEUDO_PATH = "phigate"
#: Providers whose scope is the path of the file they read.
FILE_PROVIDERS = frozenset({"snapshot", "terraform"})

LEVELS = {Severity.CRITICAL: "error", Severity.HIGH: "error", Severity.MEDIUM: "warning",
          Severity.LOW: "note", Severity.INFO: "note"}
#: Code scanning ranks alerts by this score: over 9.0 critical, 7.0 to 8.9 high, 4.0 to 6.9 medium,
#: below that low (it has no rank under low, so info shares it).
SECURITY_SEVERITY = {Severity.CRITICAL: "9.5", Severity.HIGH: "8.0", Severity.MEDIUM: "5.5",
                     Severity.LOW: "3.0", Severity.INFO: "1.0"}
NO_WAIVER_REASON = "waived by a phigate waiver"


class SarifReporter:
    name: ClassVar[str] = "sarif"

    def render(self, result: RunResult, out: IO[str], *, color: bool) -> None:
        json.dump(sarif_log(result), out, indent=2, ensure_ascii=False, default=str)
        out.write("\n")


def sarif_log(result: RunResult) -> dict[str, Any]:
    rule_index = {p.id: i for i, p in enumerate(result.policies)}
    artifact = artifact_uri(result.scopes)
    totals = result.totals()
    complete = result.evidence.complete
    run: dict[str, Any] = {
        "tool": {"driver": {
            "name": "phigate",
            "version": result.tool_version,
            "semanticVersion": result.tool_version,
            "informationUri": INFORMATION_URI,
            "rules": [_rule(p) for p in result.policies],
        }},
        "invocations": [_invocation(result, complete, totals[Status.ERROR])],
        "results": [_result(f, rule_index.get(f.policy_id), artifact, result)
                    for f in result.findings
                    if f.status in (Status.FAIL, Status.ERROR, Status.WAIVED)],
        "properties": {
            "evidence-complete": complete,
            "summary": {"resources": result.resources_seen,
                        **{status.value: totals[status] for status in Status},
                        "collection_errors": len(result.collection_errors)},
        },
    }
    return {"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}


def _physical(file: str | None, line: int | None, artifact: str) -> dict[str, Any]:
    """Where the resource is declared (a Terraform file and line) when the source said so,
    else the scanned file."""
    if file is None:
        return {"artifactLocation": {"uri": artifact}}
    location: dict[str, Any] = {"artifactLocation": {"uri": _relative_uri(Path(file))}}
    if line is not None and line >= 1:
        location["region"] = {"startLine": line}
    return location


def _relative_uri(path: Path) -> str:
    absolute = path.resolve()
    try:
        return quote(absolute.relative_to(Path.cwd().resolve()).as_posix())
    except ValueError:
        return absolute.as_uri()


def artifact_uri(scopes: Sequence[Scope]) -> str:
    """The scanned file, relative to the working directory when inside it (code scanning
    resolves relative paths against the repository root), when the run read exactly one file;
    else the pseudo-path, since findings do not say which of several files they came from."""
    if len(scopes) != 1 or scopes[0].provider not in FILE_PROVIDERS:
        return PSEUDO_PATH
    path = Path(scopes[0].scope)
    if not path.is_file():
        return PSEUDO_PATH  # a folder of snapshots: its findings name no single file
    return _relative_uri(path)


def _rule(policy: Policy) -> dict[str, Any]:
    tags = [f"{framework}/{control}" for framework, controls in sorted(policy.controls.items())
            for control in controls]
    return {
        "id": policy.id,
        "name": _pascal_case(policy.title) or policy.id,
        "shortDescription": {"text": policy.title},
        "fullDescription": {"text": policy.rationale.strip() or policy.title},
        "help": _help(policy),
        "defaultConfiguration": {"level": LEVELS[policy.severity]},
        "properties": {
            "tags": list(dict.fromkeys([*tags, "security"])),
            "security-severity": SECURITY_SEVERITY[policy.severity],
            "phigate-severity": policy.severity.label,
        },
    }


def _help(policy: Policy) -> dict[str, str]:
    """Remediation per provider (the generic advice last), then the controls it serves."""
    steps = sorted(policy.remediation.items(), key=lambda kv: (kv[0] == "default", kv[0]))
    controls = "; ".join(f"{k} {', '.join(v)}" for k, v in sorted(policy.controls.items()))
    text = ["Remediation:", *(f"- {provider}: {advice.strip()}" for provider, advice in steps)]
    markdown = ["**Remediation**", "", *(f"- **{provider}**: {advice.strip()}"
                                         for provider, advice in steps)]
    if not steps:
        text.append("- see the policy's rationale")
        markdown.append("- see the policy's rationale")
    if controls:
        text += ["", f"Controls: {controls}"]
        markdown += ["", f"**Controls**: {controls}"]
    return {"text": "\n".join(text), "markdown": "\n".join(markdown)}


def _pascal_case(title: str) -> str:
    words = "".join(ch if ch.isalnum() else " " for ch in title).split()
    return "".join(w[:1].upper() + w[1:] for w in words)


def _result(finding: Finding, rule_index: int | None, artifact: str,
            run: RunResult) -> dict[str, Any]:
    resource = finding.resource
    shown = resource.address or resource.name
    label = resource.id if not shown or shown == resource.id else f"{shown} ({resource.id})"
    entry: dict[str, Any] = {"ruleId": finding.policy_id}
    if rule_index is not None:
        entry["ruleIndex"] = rule_index
    if finding.status is Status.ERROR:
        entry["kind"] = "review"
        entry["level"] = "none"
        entry["message"] = {"text": visible(f"not evaluated: {label}: {finding.message}")}
    else:
        entry["level"] = LEVELS[finding.severity]
        # An error a waiver accepted is still evidence not seen: said so, not passed off as a failure.
        waived_error = finding.waiver is not None and finding.waiver.status is Status.ERROR
        entry["message"] = {"text": visible(f"{'not evaluated (error waived): ' if waived_error else ''}"
                                            f"{label}: {finding.message}")}
    entry["locations"] = [{
        "physicalLocation": _physical(resource.file, resource.line, artifact),
        "logicalLocations": [_logical(resource.id, resource.type, resource.address or resource.name)],
    }]
    entry["partialFingerprints"] = {FINGERPRINT_KEY: finding.fingerprint}
    if finding.status is Status.WAIVED:
        entry["suppressions"] = [_suppression(finding)]
    if run.baseline is not None and finding.status is Status.FAIL:
        entry["baselineState"] = run.baseline.state(finding) or "new"
    entry["properties"] = {
        "phigate-status": finding.status.value,
        "phigate-severity": finding.severity.label,
        "resource": {"id": resource.id, "type": resource.type, "kind": resource.kind,
                     "provider": resource.provider, "scope": resource.scope,
                     "region": resource.region, "data_class": resource.data_class,
                     **({"address": resource.address} if resource.address is not None else {})},
        "evidence": [{"path": o.path, "op": o.op, "expected": o.expected,
                      "observed": o.observed, "outcome": o.outcome} for o in finding.evidence],
    }
    return entry


def _logical(resource_id: str, resource_type: str, name: str | None) -> dict[str, str]:
    logical = {"fullyQualifiedName": resource_id, "kind": resource_type}
    if name:
        logical["name"] = name
    return logical


def _suppression(finding: Finding) -> dict[str, Any]:
    waiver = finding.waiver
    if waiver is None:
        return {"kind": "external", "status": "accepted", "justification": NO_WAIVER_REASON}
    return {"kind": "external", "status": "accepted", "justification": waiver.reason,
            "properties": {"owner": waiver.owner, "expires": waiver.expires.isoformat(),
                           "source": waiver.source}}


def _invocation(result: RunResult, complete: bool, not_evaluated: int) -> dict[str, Any]:
    notifications = [_notification(e) for e in result.collection_errors]
    if not_evaluated:
        notifications.append({
            "level": "warning",
            "descriptor": {"id": "phigate/not-evaluated"},
            "message": {"text": f"evidence incomplete: {not_evaluated} outcome(s) could not be "
                                "evaluated; they are results of kind 'review', never passes"},
        })
    invocation: dict[str, Any] = {
        "executionSuccessful": complete,
        "startTimeUtc": _utc(result.started),
        "endTimeUtc": _utc(result.finished or result.started),
    }
    if notifications:
        invocation["toolExecutionNotifications"] = notifications
    return invocation


def _notification(error: CollectionError) -> dict[str, Any]:
    notification: dict[str, Any] = {
        "level": "error",
        "descriptor": {"id": "phigate/collection-error"},
        "message": {"text": visible(f"could not collect: {error.message}")},
        "properties": {"provider": error.provider, "scope": error.scope, "region": error.region,
                       "kinds": list(error.kinds), "types": list(error.types),
                       "resource_id": error.resource_id, "permission": error.permission},
    }
    if error.resource_id:
        notification["locations"] = [{"logicalLocations": [
            _logical(error.resource_id, error.types[0] if len(error.types) == 1 else "resource",
                     None)]}]
    return notification


def _utc(moment: dt.datetime) -> str:
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


__all__ = ["SarifReporter", "artifact_uri", "sarif_log"]

