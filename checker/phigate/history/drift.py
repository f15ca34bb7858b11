"""Drift: what changed between two recorded runs of the same estate.

Findings are matched by fingerprint (policy, provider, scope, resource). A failure is *new*
when the earlier run did not have it failing; *resolved* only when the later run could have
seen it fail again and did not: its policy still ran and decided something on that provider's
resources, and the finding is now neither an error (unknown is not fixed) nor waived (accepted
is not fixed). A failure now an error is a *new error*, not a resolution.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from phigate.history.records import RunSummary, StoredError, StoredFinding, StoredRun
from phigate.model import Severity


@dataclass(frozen=True, slots=True)
class Drift:
    before: RunSummary
    after: RunSummary
    new: Sequence[StoredFinding]
    #: The earlier run's findings that no longer fail.
    resolved: Sequence[StoredFinding]
    #: The later run's findings, with ``failing_since``.
    still_failing: Sequence[StoredFinding]
    new_errors: Sequence[StoredFinding]
    new_collection_errors: Sequence[StoredError]
    policies_added: Sequence[str]
    policies_removed: Sequence[str]

    @property
    def changed(self) -> bool:
        return bool(self.new or self.resolved or self.new_errors or self.new_collection_errors
                    or self.policies_added or self.policies_removed)

    def headline(self) -> str:
        parts = [f"{len(self.new)} new failure(s)", f"{len(self.resolved)} resolved",
                 f"{len(self.still_failing)} still failing"]
        errors = len(self.new_errors) + len(self.new_collection_errors)
        if errors:
            parts.append(f"{errors} new error(s)")
        if self.policies_added or self.policies_removed:
            parts.append(f"policies +{len(self.policies_added)}/-{len(self.policies_removed)}")
        return ", ".join(parts)

    def to_json(self) -> dict[str, Any]:
        return {
            "from": self.before.to_json(), "to": self.after.to_json(),
            "new": [f.to_json() for f in self.new],
            "resolved": [f.to_json() for f in self.resolved],
            "still_failing": [f.to_json() for f in self.still_failing],
            "new_errors": [f.to_json() for f in self.new_errors],
            "new_collection_errors": [e.to_json() for e in self.new_collection_errors],
            "policies_added": list(self.policies_added),
            "policies_removed": list(self.policies_removed),
        }


def compare(before: StoredRun, after: StoredRun) -> Drift:
    failing_before = _by_fingerprint(before.findings, "fail")
    failing_after = _by_fingerprint(after.findings, "fail")
    undecided_after = {f.fingerprint for f in after.findings if f.status in ("error", "waived")}
    errors_before = {f.fingerprint for f in before.findings if f.status == "error"}
    policies_after = {p.policy_id: p for p in after.policies}
    policies_before = {p.policy_id for p in before.policies}
    # A listing refused for a whole scope (or provider) names no resource: its resources are
    # absent from the later run, unseen rather than fixed.
    unread_after = {(e.provider, e.scope) for e in after.errors if e.resource_id is None}
    resolved = [
        f for fp, f in failing_before.items()
        if fp not in failing_after and fp not in undecided_after
        and f.policy_id in policies_after and policies_after[f.policy_id].decided(f.provider)
        and (f.provider, f.scope) not in unread_after and (f.provider, "") not in unread_after
    ]
    known_errors = {e.key for e in before.errors}
    return Drift(
        before=before.run, after=after.run,
        new=_ordered(f for fp, f in failing_after.items() if fp not in failing_before),
        resolved=_ordered(resolved),
        still_failing=_ordered(f for fp, f in failing_after.items() if fp in failing_before),
        new_errors=_ordered(f for f in after.findings
                            if f.status == "error" and f.fingerprint not in errors_before),
        new_collection_errors=[e for e in after.errors if e.key not in known_errors],
        policies_added=sorted(policies_after.keys() - policies_before),
        policies_removed=sorted(policies_before - policies_after.keys()),
    )


def _by_fingerprint(findings: Sequence[StoredFinding], status: str) -> dict[str, StoredFinding]:
    return {f.fingerprint: f for f in findings if f.status == status}


_SEVERITY_ORDER = {s.label: -int(s) for s in Severity}


def _ordered(findings: Any) -> list[StoredFinding]:
    """Most severe first, then by policy and resource: the order a reader triages in."""
    return sorted(findings, key=lambda f: (_SEVERITY_ORDER.get(f.severity, 1), f.policy_id, f.resource_id))


__all__ = ["Drift", "compare"]
