"""How each supplier stands, and the portfolio at a glance: pure functions over recorded evidence."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from phigate.history.evidence import StoredEvidence
from phigate.model import Severity
from phigate.suppliers.config import Portfolio, Supplier

#: How many pieces of evidence the trend shows, newest last.
TREND = 7
#: Statuses of a required control or policy that the evidence does not judge.
UNASSESSED = frozenset({"not_assessed", "not_evaluated"})


@dataclass(frozen=True, slots=True)
class Requirement:
    """One control or policy the supplier's contract requires, as its latest evidence judges it."""

    framework: str | None  # None for a policy required by id
    id: str
    title: str
    status: str  # satisfied, failed, not_evaluated, not_covered, not_assessed


@dataclass(frozen=True, slots=True)
class SupplierStatus:
    name: str
    max_age: str
    latest: StoredEvidence | None
    age: dt.timedelta | None
    stale: bool
    failures: Mapping[str, int]
    gating: int
    evidence_complete: bool
    trend: tuple[tuple[str, int], ...]
    requirements: tuple[Requirement, ...]
    evidence_count: int

    @property
    def in_breach(self) -> bool:
        """Stale (or no) evidence, failures at or above the gate, or a required control or
        policy that the latest evidence fails, whatever its severity."""
        return self.stale or self.gating > 0 or any(r.status == "failed" for r in self.requirements)

    @property
    def unassessed(self) -> bool:
        """The latest evidence leaves a required control or policy unjudged: it was not assessed
        (another framework, the policy left out) or not evaluated. Not seen is never in order."""
        return self.latest is not None and any(r.status in UNASSESSED for r in self.requirements)

    def to_json(self) -> dict[str, Any]:
        latest = self.latest
        return {
            "name": self.name, "max_age": self.max_age, "stale": self.stale,
            "last_evidence": None if latest is None else {
                "finished": latest.finished.isoformat(timespec="seconds"),
                "source": latest.source, "digest": latest.digest, "tool_version": latest.tool_version,
                "packs": latest.packs, "scopes": latest.scopes},
            "age_hours": None if self.age is None else round(self.age.total_seconds() / 3600, 1),
            "failures": dict(self.failures), "gating_failures": self.gating,
            "evidence_complete": self.evidence_complete, "in_breach": self.in_breach,
            "trend": [{"finished": t, "failures": n} for t, n in self.trend],
            "requirements": [{"framework": r.framework, "id": r.id, "title": r.title, "status": r.status}
                             for r in self.requirements],
            "evidence_count": self.evidence_count,
        }


@dataclass(frozen=True, slots=True)
class PortfolioView:
    generated: dt.datetime
    fail_on: Severity
    suppliers: tuple[SupplierStatus, ...]
    #: (framework, control id, title) → suppliers whose latest evidence fails it, most first.
    most_failed: tuple[tuple[str, str, str, tuple[str, ...]], ...] = field(default_factory=tuple)

    @property
    def in_breach(self) -> list[str]:
        return [s.name for s in self.suppliers if s.in_breach]

    def exit_code(self) -> int:
        """3 when some supplier's latest evidence is incomplete or leaves a required control or
        policy unjudged (wins, as in a scan); 1 when one has gating failures, failed required
        controls or stale (or no) evidence; else 0."""
        if any(s.latest is not None and (not s.evidence_complete or s.unassessed) for s in self.suppliers):
            return 3
        return 1 if self.in_breach else 0

    def to_json(self) -> dict[str, Any]:
        return {
            "portfolio_version": 1,
            "generated": self.generated.isoformat(timespec="seconds"),
            "fail_on": self.fail_on.label,
            "suppliers": [s.to_json() for s in self.suppliers],
            "in_breach": self.in_breach,
            "most_failed_controls": [{"framework": f, "id": c, "title": t, "suppliers": list(who)}
                                     for f, c, t, who in self.most_failed],
        }


def supplier_status(supplier: Supplier, evidence: Sequence[StoredEvidence], now: dt.datetime,
                    fail_on: Severity) -> SupplierStatus:
    """``evidence`` newest first (as the store returns it)."""
    latest = evidence[0] if evidence else None
    age = now - latest.finished if latest is not None else None
    stale = age is None or age > supplier.max_age
    failures = dict(latest.failures) if latest is not None else {}
    gating = sum(n for label, n in failures.items() if _severity(label) >= fail_on)
    trend = tuple((e.finished.isoformat(timespec="seconds"), sum(e.failures.values()))
                  for e in reversed(evidence[:TREND]))
    return SupplierStatus(
        supplier.name, supplier.max_age_text, latest, age, stale, failures, gating,
        latest.evidence_complete if latest is not None else False, trend,
        tuple(_requirements(supplier, latest)), len(evidence))


def _requirements(supplier: Supplier, latest: StoredEvidence | None) -> list[Requirement]:
    found: list[Requirement] = []
    views = {c.get("framework"): c for c in (latest.compliance if latest is not None else [])
             if isinstance(c, dict)}
    for key in supplier.frameworks:
        view = views.get(key)
        if view is None:
            found.append(Requirement(key, "*", "no control of this framework was assessed", "not_assessed"))
            continue
        for control in view.get("controls", []):
            found.append(Requirement(key, str(control.get("id")), str(control.get("title", "")),
                                     str(control.get("status", "not_evaluated"))))
    for policy_id in supplier.policies:
        counts = latest.policies.get(policy_id) if latest is not None else None
        found.append(Requirement(None, policy_id, "", _policy_state(counts)))
    return found


def _policy_state(counts: Mapping[str, int] | None) -> str:
    if counts is None:
        return "not_assessed"
    if counts.get("fail", 0):
        return "failed"
    if counts.get("error", 0) or not counts.get("pass", 0):
        return "not_evaluated"
    return "satisfied"


def _severity(label: str) -> Severity:
    try:
        return Severity.parse(label)
    except (KeyError, ValueError):
        return max(Severity)  # an unknown severity is never below the gate


def portfolio_view(portfolio: Portfolio, evidence: Sequence[StoredEvidence], now: dt.datetime,
                   fail_on: Severity) -> PortfolioView:
    by_supplier: dict[str, list[StoredEvidence]] = {}
    for item in evidence:
        by_supplier.setdefault(item.supplier, []).append(item)
    statuses = tuple(supplier_status(s, by_supplier.get(s.name, []), now, fail_on)
                     for s in portfolio.suppliers)
    failing: dict[tuple[str, str, str], list[str]] = {}
    for status in statuses:
        for r in status.requirements:
            if r.status == "failed":
                failing.setdefault((r.framework or "policy", r.id, r.title), []).append(status.name)
    ranked = Counter({key: len(who) for key, who in failing.items()})
    most = tuple((f, c, t, tuple(sorted(failing[(f, c, t)])))
                 for (f, c, t), _ in sorted(ranked.items(), key=lambda kv: (-kv[1], kv[0])))
    return PortfolioView(now, fail_on, statuses, most)


__all__ = ["UNASSESSED", "PortfolioView", "Requirement", "SupplierStatus", "portfolio_view",
           "supplier_status"]
