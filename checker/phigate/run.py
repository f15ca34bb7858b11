"""One scan: collect from providers, evaluate, keep what the reports need."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace

from phigate import __version__
from phigate.access_graph import EDGE_FIELDS, REACH_FIELDS
from phigate.api import (
    CollectionError,
    Context,
    Provider,
    Record,
    Resource,
    Restrictable,
    Scope,
    WithNotices,
)
from phigate.baseline import Baseline, BaselineComparison, compare
from phigate.clock import report_time
from phigate.config import Config
from phigate.evaluate import Evaluator, InventoryIndex
from phigate.explain import explain
from phigate.frameworks import ControlView, Framework, control_views
from phigate.identity import PLAN_PROVIDER, key_of
from phigate.load import PackInfo, pack_info
from phigate.model import Finding, Policy, Severity, Status
from phigate.safetext import without_userinfo
from phigate.waivers import WaiverFile, WaiverOutcome, apply_waivers, is_waived_error


@dataclass
class RunResult:
    """Everything a report needs. Passing and skipped outcomes are counted, not kept, unless
    ``keep_passed`` asks for them (the estate may hold millions of resources)."""

    policies: Sequence[Policy]
    scopes: list[Scope]
    started: dt.datetime
    finished: dt.datetime | None = None
    findings: list[Finding] = field(default_factory=list)
    collection_errors: list[CollectionError] = field(default_factory=list)
    #: What providers read but did not evaluate (e.g. plan resources of unmapped types):
    #: information for the report, never an error.
    notices: list[str] = field(default_factory=list)
    counts: dict[str, dict[Status, int]] = field(default_factory=dict)
    #: The same counts split by provider, for frameworks about one provider's resources.
    counts_by_provider: dict[str, dict[str, dict[Status, int]]] = field(default_factory=dict)
    resources_seen: int = 0
    tool_version: str = __version__
    packs: list[PackInfo] = field(default_factory=list)
    #: Catalogues of the frameworks the policies map to, for per-control views.
    frameworks: Mapping[str, Framework] = field(default_factory=dict)
    #: What the waivers did (applied, expired, unused), when a waiver file was given.
    waivers: WaiverOutcome | None = None
    #: Failures split into new and unchanged against a baseline report, when one was given.
    baseline: BaselineComparison | None = None

    def compliance(self) -> list[tuple[Framework, list[ControlView]]]:
        """Per framework the policies map to: each control judged from this run's outcomes."""
        used = sorted({k for p in self.policies for k in p.controls if k in self.frameworks})
        views = []
        for key in used:
            framework = self.frameworks[key]
            counts = framework.counts(self.counts_by_provider) if framework.providers else self.counts
            views.append((framework, control_views(framework, self.policies, _unwaived(counts))))
        return views

    def totals(self) -> Counter[Status]:
        total: Counter[Status] = Counter()
        for per_policy in self.counts.values():
            total.update(per_policy)
        return total

    def evidence_complete(self) -> bool:
        """Whether everything was seen and evaluated: no error, no collection error, and no
        error accepted by a waiver (accepted for the gate, still not seen)."""
        return not (self.totals()[Status.ERROR] or self.collection_errors
                    or any(is_waived_error(f) for f in self.findings))

    def gating(self, finding: Finding, fail_on: Severity) -> bool:
        """Whether this finding makes the exit code 1: a failure at or above ``fail_on`` that
        is not already in the baseline (waived findings are not failures)."""
        return (finding.status is Status.FAIL and finding.severity >= fail_on
                and (self.baseline is None or finding.fingerprint not in self.baseline.unchanged))

    def exit_code(self, fail_on: Severity) -> int:
        """0 clean; 1 gating failures (see ``gating``); 3 evidence incomplete (wins over 1,
        whatever the waivers and the baseline say)."""
        totals = self.totals()
        if totals[Status.ERROR] or self.collection_errors:
            return 3
        if any(self.gating(f, fail_on) for f in self.findings):
            return 1
        return 0


def _unwaived(counts: Mapping[str, Mapping[Status, int]]) -> dict[str, dict[Status, int]]:
    """Counts with waived outcomes judged as failures: a waiver accepts a risk for the gate,
    it does not make the control satisfied."""
    return {pid: {**c, Status.FAIL: c.get(Status.FAIL, 0) + c.get(Status.WAIVED, 0)}
            for pid, c in counts.items()}


def fields_needed(policies: Iterable[Policy]) -> dict[str, frozenset[str]] | None:
    """Per kind, the top-level attributes some policy reads (on the resource itself, through a
    reference, or to derive an inverse list); None when a policy applies to every kind.

    Providers that define ``restrict(fields)`` may skip API calls for attributes no selected
    policy reads. Skipping is safe by construction: a policy that reads an attribute the
    provider did not collect decides ``error``, never ``pass``.
    """
    needed: dict[str, set[str]] = {}
    for policy in policies:
        if not policy.kinds:
            return None
        for kind in policy.kinds:
            needed.setdefault(kind, set()).update(policy.local_fields)
        for kind, name in policy.remote_fields:
            needed.setdefault(kind, set()).add(name)
        for inverse in policy.inverses:
            for kind in inverse.kinds:
                needed.setdefault(kind, set()).add(inverse.of.split(".", 1)[0])
    principal = needed.get("principal")
    if principal is not None and REACH_FIELDS & principal:
        principal.update(EDGE_FIELDS)  # reach through other identities needs their edges
    return {kind: frozenset(names) for kind, names in needed.items()}


def scan(providers: Sequence[Provider], policies: Sequence[Policy], config: Config, *,
         keep_passed: bool = False,
         progress: Callable[[int], None] | None = None,
         frameworks: Mapping[str, Framework] | None = None,
         waivers: WaiverFile | None = None,
         baseline: Baseline | None = None) -> RunResult:
    """Collect from every provider and evaluate, then apply the waivers (judged against
    today's date, UTC) and compare with the baseline. Provider input errors propagate
    (exit 2). The run's times are ``SOURCE_DATE_EPOCH`` when it is set (see ``report_time``)."""
    evaluator = Evaluator(policies, config)
    index = InventoryIndex(evaluator.policies)
    needed = fields_needed(evaluator.policies)
    for provider in providers:
        if needed is not None and isinstance(provider, Restrictable):
            provider.restrict(needed)
    result = RunResult(policies=evaluator.policies,
                       scopes=[s for p in providers for s in p.scopes()],
                       started=report_time(), packs=pack_info(policies),
                       frameworks=frameworks or {})
    plan_scopes = frozenset(s.scope for s in result.scopes if s.provider == PLAN_PROVIDER)
    # Against a baseline, what was evaluated tells a resolved failure from one not looked at.
    evaluated: set[str] | None = set() if baseline is not None else None
    records = _counted(_chain(providers, result), result, progress,
                       evaluated, plan_scopes)
    emit = frozenset(Status) if keep_passed else frozenset({Status.FAIL, Status.ERROR, Status.WAIVED})
    for outcome in evaluator.run(records, index, emit):
        result.findings.append(explain(outcome, index, evaluator.classifier, plan_scopes))
    result.counts = evaluator.tallies()
    result.counts_by_provider = evaluator.tallies_by_provider()
    result.findings.sort(key=Finding.sort_key)
    # Providers that read in parallel yield their errors in any order; reports list them sorted.
    result.collection_errors.sort(key=_error_key)
    if waivers is not None:
        # The real date even when SOURCE_DATE_EPOCH is set: an old epoch must never bring an
        # expired waiver back to life.
        result.waivers = apply_waivers(result, waivers, dt.datetime.now(dt.UTC).date())
    if baseline is not None:
        result.baseline = compare(result, baseline, evaluated)
    result.finished = report_time()
    return result


def _error_key(error: CollectionError) -> tuple[str, ...]:
    return (error.provider, error.scope, error.region or "", error.resource_id or "",
            ",".join(error.kinds), ",".join(error.types), error.permission or "", error.message)


def _chain(providers: Sequence[Provider], result: RunResult) -> Iterator[Record]:
    for provider in providers:
        for collected in provider.collect():
            record = collected
            if isinstance(record, CollectionError):  # a library's words may quote an endpoint URL
                record = replace(record, message=without_userinfo(record.message))
                result.collection_errors.append(record)
            yield record
        if isinstance(provider, WithNotices):
            result.notices.extend(without_userinfo(notice) for notice in provider.notices())


def _counted(records: Iterable[Record], result: RunResult,
             progress: Callable[[int], None] | None,
             evaluated: set[str] | None = None,
             plan_scopes: frozenset[str] = frozenset()) -> Iterator[Record]:
    for record in records:
        if evaluated is not None and isinstance(record, Resource):
            evaluated.add(key_of(record, plan_scopes))
        if not isinstance(record, CollectionError | Context):
            result.resources_seen += 1
            if progress is not None and result.resources_seen % 1000 == 0:
                progress(result.resources_seen)
        yield record


__all__ = ["RunResult", "fields_needed", "report_time", "scan"]
