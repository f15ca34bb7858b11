"""One scan: collect from providers, evaluate, explain. The gate (waivers, baseline) comes after,
in :mod:`phigate.gate`, over the result this returns."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace

from phigate.access_graph import EDGE_FIELDS, REACH_FIELDS
from phigate.api import (
    CollectionError,
    Context,
    Provider,
    Record,
    Resource,
    Restrictable,
    RestrictableByClass,
    WithNotices,
)
from phigate.clock import report_time
from phigate.config import Config
from phigate.evaluate import Evaluator, InventoryIndex
from phigate.explain import explain
from phigate.identity import PLAN_PROVIDER, key_of
from phigate.load import pack_info
from phigate.model import Finding, Policy, Status
from phigate.result import Framework, RunResult
from phigate.safetext import without_userinfo


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


def classes_needing(policies: Iterable[Policy],
                    classes: frozenset[str]) -> dict[str, dict[str, frozenset[str]]]:
    """Per kind, the attributes of :func:`fields_needed` that only some data classes need, each
    with those classes (out of ``classes``, every class the run's classifier gives): the classes
    for which the ``where`` of some policy reading it can hold. An attribute some policy reads
    whatever the class (no ``where`` on the class, read through a reference, derived into an
    inverse list, a principal's edges) is left out: needed everywhere.
    """
    everywhere: set[tuple[str, str]] = set()
    some: dict[tuple[str, str], set[str]] = {}
    reach = False
    for policy in policies:
        if not policy.kinds:
            return {}
        for kind in policy.kinds:
            holds = {c for c in classes if _may_apply(policy, kind, c)}
            for name in policy.local_fields:
                if holds == classes:
                    everywhere.add((kind, name))
                else:
                    some.setdefault((kind, name), set()).update(holds)
            reach = reach or (kind == "principal" and bool(REACH_FIELDS & policy.local_fields))
        everywhere.update(policy.remote_fields)
        everywhere.update((kind, inverse.of.split(".", 1)[0]) for inverse in policy.inverses
                          for kind in inverse.kinds)
    if reach:  # reach through other identities needs their edges, whatever their class
        everywhere.update(("principal", name) for name in EDGE_FIELDS)
    found: dict[str, dict[str, frozenset[str]]] = {}
    for (kind, name), holds in some.items():
        if (kind, name) not in everywhere and holds != classes:
            found.setdefault(kind, {})[name] = frozenset(holds)
    return found


def _may_apply(policy: Policy, kind: str, data_class: str) -> bool:
    """Whether ``policy``'s ``where`` can hold for a resource of this kind and class."""
    return policy.where is None or policy.where.fold({"kind": kind, "data_class": data_class}) is not False


#: Told while collecting: resources so far, the count per source (``aws 111122223333``,
#: ``postgres postgres://pg-01:5432``) and how many sources the run will read (0: not known).
Progress = Callable[[int, Mapping[str, int], int], None]


def scan(providers: Sequence[Provider], policies: Sequence[Policy], config: Config, *,
         keep_passed: bool = False,
         progress: Progress | None = None,
         frameworks: Mapping[str, Framework] | None = None,
         keep_evaluated: bool = False) -> RunResult:
    """Collect from every provider, evaluate and explain. Provider input errors propagate
    (exit 2). ``keep_evaluated`` keeps the key of every resource evaluated (what a baseline
    needs to tell a resolved failure from one not looked at). The run's times are
    ``SOURCE_DATE_EPOCH`` when it is set (see ``report_time``)."""
    evaluator = Evaluator(policies, config)
    index = InventoryIndex(evaluator.policies)
    needed = fields_needed(evaluator.policies)
    by_class = classes_needing(evaluator.policies, evaluator.classifier.classes) if needed is not None else {}
    for provider in providers:
        if needed is not None and isinstance(provider, Restrictable):
            provider.restrict(needed)
            if isinstance(provider, RestrictableByClass):
                provider.restrict_classes(by_class)
    scopes = [s for p in providers for s in p.scopes()]
    started = report_time()
    plan_scopes = frozenset(s.scope for s in scopes if s.provider == PLAN_PROVIDER)
    seen = _Seen(progress, set() if keep_evaluated else None, plan_scopes,
                 sources=len({_source(s.provider, s.scope) for s in scopes}))
    records = seen.count(_chain(providers, seen))
    emit = frozenset(Status) if keep_passed else frozenset({Status.FAIL, Status.ERROR, Status.WAIVED})
    findings = [explain(outcome, index, evaluator.classifier, plan_scopes)
                for outcome in evaluator.run(records, index, emit)]
    findings.sort(key=Finding.sort_key)
    # Providers that read in parallel yield their errors in any order; reports list them sorted.
    seen.errors.sort(key=_error_key)
    return RunResult(policies=evaluator.policies, scopes=scopes, started=started,
                     finished=report_time(), findings=tuple(findings),
                     collection_errors=tuple(seen.errors), notices=tuple(seen.notices),
                     counts=evaluator.tallies(), counts_by_provider=evaluator.tallies_by_provider(),
                     resources_seen=seen.resources, packs=tuple(pack_info(policies)),
                     frameworks=frameworks or {},
                     evaluated=frozenset(seen.evaluated) if seen.evaluated is not None else None)


def _error_key(error: CollectionError) -> tuple[str, ...]:
    return (error.provider, error.scope, error.region or "", error.resource_id or "",
            ",".join(error.kinds), ",".join(error.types), error.permission or "", error.message)


@dataclass
class _Seen:
    """What the stream showed on its way to the evaluator, for the result built at the end."""

    progress: Progress | None
    #: Keys of the resources evaluated, when asked for.
    evaluated: set[str] | None
    plan_scopes: frozenset[str]
    #: How many sources (provider and scope) the providers said they will read.
    sources: int = 0
    resources: int = 0
    #: Resources per (provider, scope): labelled only when progress is told, not per record.
    by_source: dict[tuple[str, str], int] = field(default_factory=dict)
    errors: list[CollectionError] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)

    def count(self, records: Iterable[Record]) -> Iterator[Record]:
        evaluated, progress, plan_scopes = self.evaluated, self.progress, self.plan_scopes
        for record in records:
            if evaluated is not None and isinstance(record, Resource):
                evaluated.add(key_of(record, plan_scopes))
            if not isinstance(record, CollectionError | Context):
                self.resources += 1
                if progress is not None:
                    source = (record.provider, record.scope)
                    count = self.by_source[source] = self.by_source.get(source, 0) + 1
                    if count == 1 or self.resources % 1000 == 0:  # a new source, or every 1,000
                        progress(self.resources, {_source(*s): n for s, n in self.by_source.items()},
                                 self.sources)
            yield record


def _source(provider: str, scope: str) -> str:
    return f"{provider} {scope}" if scope else provider


def _chain(providers: Sequence[Provider], seen: _Seen) -> Iterator[Record]:
    for provider in providers:
        for collected in provider.collect():
            record = collected
            if isinstance(record, CollectionError):  # a library's words may quote an endpoint URL
                record = replace(record, message=without_userinfo(record.message))
                seen.errors.append(record)
            yield record
        if isinstance(provider, WithNotices):
            seen.notices.extend(without_userinfo(notice) for notice in provider.notices())


__all__ = ["Progress", "RunResult", "fields_needed", "report_time", "scan"]
