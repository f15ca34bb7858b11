"""A run's result: immutable values the engine builds, the gate derives and the reporters read.

The engine (``run.scan``) builds a :class:`RunResult`; the gate (``waivers``, ``baseline``) never
changes one, it returns a new one. Whether the evidence is complete is decided here once
(:class:`Completeness`), and every report format and the exit code read that answer.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from phigate import __version__
from phigate.api import CollectionError, Scope
from phigate.identity import resource_key
from phigate.model import Finding, Policy, Severity, Status, Waiver, is_waived_error

#: Per policy id, how many outcomes of each status.
Counts = Mapping[str, Mapping[Status, int]]
#: Per policy id, per provider, how many outcomes of each status.
CountsByProvider = Mapping[str, Mapping[str, Mapping[Status, int]]]


@dataclass(frozen=True, slots=True)
class PackInfo:
    """Which policies a report was made with: bundled packs by version, any folder by digest."""

    name: str
    version: str | None
    policies: int
    sha256: str


@dataclass(frozen=True, slots=True)
class Framework:
    """A control catalogue (``phigate.frameworks`` loads them and judges controls)."""

    key: str
    title: str
    version: str
    #: control id → one-line paraphrase, in catalogue order
    controls: Mapping[str, str]
    #: Providers the framework covers (empty: all); its views count only their outcomes.
    providers: tuple[str, ...] = ()

    def counts(self, by_provider: CountsByProvider) -> dict[str, dict[Status, int]]:
        """Per policy, the outcomes on resources of the providers this framework covers."""
        totals: dict[str, dict[Status, int]] = {}
        for pid, providers in by_provider.items():
            total = totals.setdefault(pid, {})
            for provider, counts in providers.items():
                if self.providers and provider not in self.providers:
                    continue
                for status, n in counts.items():
                    total[status] = total.get(status, 0) + n
        return totals


@dataclass(frozen=True, slots=True)
class WaiverUse:
    """A waiver and the findings (fingerprints) it covered, or would have covered."""

    waiver: Waiver
    findings: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class WaiverOutcome:
    """What the waivers of one file did in one run."""

    file: str
    #: The date expiry was judged against (the run's start, UTC).
    today: dt.date
    #: Unexpired waivers that turned at least one failure (or error) into ``waived``.
    applied: tuple[WaiverUse, ...] = ()
    #: Waivers past their date; ``findings`` lists the outcomes they no longer cover.
    expired: tuple[WaiverUse, ...] = ()
    #: Unexpired waivers that matched nothing (fixed, renamed, or mistyped).
    unused: tuple[Waiver, ...] = ()


@dataclass(frozen=True, slots=True)
class KnownFailure:
    """A failure recorded in the baseline: enough to list it once it is resolved."""

    id: str
    policy_id: str
    severity: str
    resource_id: str
    resource_name: str | None
    provider: str
    scope: str
    message: str
    #: The Terraform address of a planned resource (reports of earlier versions have none).
    address: str | None = None

    @property
    def resource_key(self) -> str:
        return resource_key(self.provider, self.scope, self.resource_id, self.address)


@dataclass(frozen=True, slots=True)
class BaselineComparison:
    """This run's failures against the baseline's."""

    file: str
    #: Ids of failures the baseline did not have: these gate.
    new: frozenset[str]
    #: Ids of failures the baseline already had: reported, not gating.
    unchanged: frozenset[str]
    #: Baseline failures that this run evaluated and no longer found failing.
    resolved: tuple[KnownFailure, ...]
    #: Baseline failures neither failing nor decided by this run: their resource was not
    #: evaluated (left out by --changed-only, a policy not selected, a scope not read).
    not_evaluated: tuple[KnownFailure, ...] = ()

    def state(self, finding: Finding) -> str | None:
        """``new`` or ``unchanged`` for a failure; None for any other status."""
        if finding.status is not Status.FAIL:
            return None
        return "unchanged" if finding.fingerprint in self.unchanged else "new"


@dataclass(frozen=True, slots=True)
class Completeness:
    """What a run did not see, counted once for every report and the exit code."""

    #: Outcomes that could not be evaluated, no waiver accepting them.
    not_evaluated: int
    #: What providers could not read (never waivable).
    collection_errors: int
    #: Outcomes that could not be evaluated and that a waiver accepted for the gate.
    waived_errors: int

    @property
    def gaps(self) -> bool:
        """Unseen evidence nobody accepted: the exit code is 3 and reports say so first."""
        return bool(self.not_evaluated or self.collection_errors)

    @property
    def complete(self) -> bool:
        """Everything was seen and evaluated: no gap, and no error a waiver accepted (accepted
        for the gate, still not seen)."""
        return not (self.gaps or self.waived_errors)


@dataclass(frozen=True)
class RunResult:
    """Everything a report needs. Passing and skipped outcomes are counted, not kept, unless
    the scan was asked to keep them (the estate may hold millions of resources).

    Immutable: the gate returns a new result (``dataclasses.replace``) rather than editing one.
    """

    policies: Sequence[Policy]
    scopes: Sequence[Scope]
    started: dt.datetime
    finished: dt.datetime | None = None
    findings: Sequence[Finding] = ()
    collection_errors: Sequence[CollectionError] = ()
    #: What providers read but did not evaluate (e.g. plan resources of unmapped types):
    #: information for the report, never an error.
    notices: Sequence[str] = ()
    counts: Counts = field(default_factory=dict)
    #: The same counts split by provider, for frameworks about one provider's resources.
    counts_by_provider: CountsByProvider = field(default_factory=dict)
    resources_seen: int = 0
    tool_version: str = __version__
    packs: Sequence[PackInfo] = ()
    #: Catalogues of the frameworks the policies map to, for per-control views.
    frameworks: Mapping[str, Framework] = field(default_factory=dict)
    #: What the waivers did (applied, expired, unused), when a waiver file was given.
    waivers: WaiverOutcome | None = None
    #: Failures split into new and unchanged against a baseline report, when one was given.
    baseline: BaselineComparison | None = None
    #: Keys (``identity.key_of``) of every resource evaluated, when the scan was asked to keep
    #: them: what tells a resolved baseline failure from one not looked at.
    evaluated: frozenset[str] | None = field(default=None, repr=False, compare=False)

    def totals(self) -> Counter[Status]:
        total: Counter[Status] = Counter()
        for per_policy in self.counts.values():
            total.update(per_policy)
        return total

    @property
    def evidence(self) -> Completeness:
        """What the run did not see: the one answer reports and the exit code share."""
        return Completeness(not_evaluated=self.totals()[Status.ERROR],
                            collection_errors=len(self.collection_errors),
                            waived_errors=sum(1 for f in self.findings if is_waived_error(f)))

    def gating(self, finding: Finding, fail_on: Severity) -> bool:
        """Whether this finding makes the exit code 1: a failure at or above ``fail_on`` that
        is not already in the baseline (waived findings are not failures)."""
        return (finding.status is Status.FAIL and finding.severity >= fail_on
                and (self.baseline is None or finding.fingerprint not in self.baseline.unchanged))

    def exit_code(self, fail_on: Severity) -> int:
        """0 clean; 1 gating failures (see ``gating``); 3 evidence incomplete (wins over 1,
        whatever the waivers and the baseline say)."""
        if self.evidence.gaps:
            return 3
        if any(self.gating(f, fail_on) for f in self.findings):
            return 1
        return 0


def summary_to_json(result: RunResult, totals: Mapping[Status, int] | None = None) -> dict[str, Any]:
    """What was read and how it was judged, in numbers: the JSON report's, history's, pytest's."""
    totals = result.totals() if totals is None else totals
    return {"resources": result.resources_seen, "policies": len(result.policies),
            **{status.value: totals[status] for status in Status},
            "collection_errors": len(result.collection_errors)}


def evidence_to_json(finding: Finding) -> list[dict[str, Any]]:
    """A finding's observations as plain data: the JSON report's and history's."""
    return [{"path": o.path, "op": o.op, "expected": o.expected, "observed": o.observed,
             "outcome": o.outcome, **({"note": o.note} if o.note else {})}
            for o in finding.evidence]


__all__ = ["BaselineComparison", "Completeness", "Counts", "CountsByProvider", "Framework",
           "KnownFailure", "PackInfo", "RunResult", "WaiverOutcome", "WaiverUse", "evidence_to_json",
           "summary_to_json"]
