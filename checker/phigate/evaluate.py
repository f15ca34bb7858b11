"""Evaluation: (policies, resource stream) → outcomes. Pure and deterministic.

Policies that only read the resource in hand are evaluated as the stream goes by. Policies that
follow references (``can_read`` → the stores' data class) or derived lists (``key.encrypts``)
need the whole inventory: their resources are buffered and evaluated once the stream ends,
against a slim index that keeps only the fields those references read. Memory therefore grows
with what references need, not with the estate.
"""

from __future__ import annotations

import contextlib
import gc
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from operator import itemgetter
from typing import Any, NamedTuple

from phigate.access_graph import REACH_FIELDS, AccessGraph
from phigate.api import COMMON_FIELDS, UNSEEN, CollectionError, Context, Record, Resource, Unknown
from phigate.classify import UNCLASSIFIED, Classifier
from phigate.config import Config
from phigate.getters import MISSING
from phigate.identity import reported_raw
from phigate.model import Inverse, Policy, Status

Test = Callable[[Any, Any], "bool | None"]


class Outcome(NamedTuple):
    """One policy decided on one resource. Cheap to make: findings are built only on demand."""

    policy: Policy
    resource: Resource
    status: Status
    #: Why, when the outcome comes from a collection error rather than from the resource.
    note: str | None = None



#: How an indexed record of one kind is made: the common fields kept (the data class last, as
#: classification gives it), a C-level getter of them, and the attributes read there.
class _Reader(NamedTuple):
    fields: tuple[str, ...]
    read: Callable[[dict[str, Any]], tuple[Any, ...]]
    with_class: bool
    names: tuple[str, ...]
    #: Records by their values, when they name no id and hold no attribute: a million stores
    #: read only for their class then share a handful of dicts instead of one each.
    shared: dict[tuple[Any, ...], dict[str, Any]] | None


#: At most this many distinct shared records a kind (beyond, records are made one by one).
_SHARED_RECORDS = 4096
#: (relation, first attribute of its path, the rest, the lists it derives).
_InverseSpec = tuple[Inverse, str, tuple[str, ...], dict[str, list[str]]]


def _reader(names: set[str]) -> _Reader:
    """The record of a kind references read: ``kind`` and ``provider`` always, ``id`` unless
    records can be shared, then the common fields and attributes read through references.

    Records are shared when they hold no attribute (a derived list, which reads the record's
    id, starts from an attribute), no id, and no open map (tags, raw: not hashable)."""
    attributes = tuple(sorted(names - COMMON_FIELDS))
    own = bool(attributes) or bool(names & {"id", "tags", "raw"})
    common = (*(("id",) if own else ()), "kind", "provider",
              *sorted((names & COMMON_FIELDS) - {"id", "kind", "provider", "data_class"}))
    with_class = "data_class" in names
    read = itemgetter(*common)  # two fields at least: it gives a tuple
    return _Reader((*common, "data_class") if with_class else common, read, with_class,
                   attributes, {} if not own else None)


class InventoryIndex:
    """Slim records of the resources references can reach, and derived (inverse) lists.

    Only kinds that some policy reaches through a reference are recorded, and of those only
    the fields read there, in a small dict: a million stores cost a few hundred bytes each.
    """

    def __init__(self, policies: Sequence[Policy]) -> None:
        wanted: dict[str, set[str]] = defaultdict(set)
        for policy in policies:
            for kind, name in policy.remote_fields:
                wanted[kind].add(name)
        self._readers: dict[str, _Reader] = {kind: _reader(names) for kind, names in wanted.items()}
        self._inverse: dict[Inverse, dict[str, list[str]]] = {}
        self._inverse_specs: dict[str, list[_InverseSpec]] = defaultdict(list)
        for inverse in {inv for p in policies for inv in p.inverses}:
            lists = self._inverse.setdefault(inverse, defaultdict(list))
            head, *rest = inverse.of.split(".")
            for kind in inverse.kinds:
                self._inverse_specs[kind].append((inverse, head, tuple(rest), lists))
        #: The records references reach: plain dicts of the fields read there, kept small.
        self._records: dict[str, dict[str, Any]] = {}
        #: The indexed record of a referenced resource, or None when it is not in the
        #: inventory: the dictionary's own lookup, called for every reference followed.
        self.lookup: Callable[[str], dict[str, Any] | None] = self._records.get
        self._incomplete_kinds: set[str] = set()
        #: (relation, provider) → a source resource whose attribute was not read. Scoped by
        #: provider: a PostgreSQL table never names a KMS key, so its gaps do not blind AWS.
        self._unseen_sources: dict[tuple[Inverse, str], str] = {}
        self._sealed = False
        #: Who can read what through whom: built when a policy judges principals' reach.
        self.graph: AccessGraph | None = AccessGraph() if needs_graph(policies) else None

    def add(self, resource: Resource, data_class: str | None = None) -> None:
        """Record ``resource`` (whose class is ``data_class`` when it does not carry one)."""
        kind = resource.kind
        if kind == "principal" and self.graph is not None:
            self.graph.add(resource)
        reader = self._readers.get(kind)
        if reader is not None:
            # A Resource keeps its fields in one dict: read them all in one call.
            values = reader.read(resource.__dict__)
            if reader.with_class:
                values = (*values, resource.data_class if data_class is None else data_class)
            shared = reader.shared
            try:
                record = None if shared is None else shared.get(values)
            except TypeError:  # a provider's field that is not plain text: a record of its own
                record, shared = None, None
            if record is None:
                record = dict(zip(reader.fields, values, strict=True))
                if reader.names:
                    attributes = resource.attributes
                    for name in reader.names:
                        record[name] = attributes.get(name, MISSING)
                elif shared is not None and len(shared) < _SHARED_RECORDS:
                    shared[values] = record
            self._records[resource.id] = record
        specs = self._inverse_specs.get(kind)
        if specs:
            self._add_inverse(resource, specs)

    def _add_inverse(self, resource: Resource, specs: list[_InverseSpec]) -> None:
        attributes = resource.attributes
        for inverse, head, rest, lists in specs:
            value: Any = attributes.get(head, MISSING)
            for part in rest:
                value = value.get(part, MISSING) if type(value) is dict else value
            if type(value) is str:
                lists[value].append(resource.id)
                self._sealed = False
            elif value is MISSING or type(value) is Unknown:
                self._unseen_sources.setdefault((inverse, resource.provider), resource.id)

    def wants(self, kind: str) -> bool:
        """Whether resources of ``kind`` must be recorded (references, derived lists, the
        access graph)."""
        return (kind in self._readers or kind in self._inverse_specs
                or (kind == "principal" and self.graph is not None))

    def with_reach(self, resource: Resource) -> Resource:
        """A principal with its effective ``can_read`` and ``can_read_via_wildcard`` (the
        access graph's closure) in place of the direct ones. An attribute the provider did not
        show stays absent: the closure never invents a list that could decide ``pass``."""
        graph = self.graph
        if graph is None or resource.kind != "principal":
            return resource
        attributes = resource.attributes
        # What it reads without MFA, when the provider does not tell it apart, is what it reads.
        without_mfa = "can_read_without_mfa" in attributes or "can_read" in attributes
        if not graph.has_edges(resource.id):
            if "can_read_without_mfa" in attributes or "can_read" not in attributes:
                return resource
            widened = dict(attributes)
            widened["can_read_without_mfa"] = attributes["can_read"]
            r = resource
            return Resource(r.id, r.type, r.kind, r.provider, r.scope, r.region, r.name, r.tags,
                            r.data_class, widened, r.raw)
        reach = graph.reach(resource.id)
        if reach is None or not REACH_FIELDS.intersection(attributes):
            return resource
        widened = dict(attributes)
        if "can_read" in widened:
            widened["can_read"] = reach.can_read()
        if "can_read_via_wildcard" in widened:
            widened["can_read_via_wildcard"] = reach.can_read_via_wildcard()
        if without_mfa:
            reach_without = graph.reach_without_mfa(resource.id)
            if reach_without is not None:
                widened["can_read_without_mfa"] = reach_without.can_read()
        r = resource
        return Resource(r.id, r.type, r.kind, r.provider, r.scope, r.region, r.name, r.tags,
                        r.data_class, widened, r.raw)

    def unseen_store(self, item: str) -> dict[str, Any] | None:
        """The record of the one store an ``unseen:`` reach concerns, when a provider named it
        (``access_unseen_about``) and the store is classified; None otherwise (anything may be
        reached, so nothing is decided by it). An unclassified store is never taken for what
        its class says: it may hold anything."""
        graph = self.graph
        store = graph.about(item[len(UNSEEN):]) if graph is not None else None
        record = self._records.get(store) if store is not None else None
        if record is None or record.get("data_class") in (None, UNCLASSIFIED):
            return None
        return record

    def mark_incomplete(self, kinds: Iterable[str]) -> None:
        self._incomplete_kinds.update(kinds)

    def inverse(self, relation: Inverse, resource_id: str, provider: str) -> list[str] | Unknown:
        """Ids whose ``relation.of`` holds ``resource_id``; unknown when a source of the same
        provider could not be read."""
        incomplete = self._incomplete_kinds.intersection(relation.kinds)
        if incomplete:
            missing = ", ".join(sorted(incomplete))
            return Unknown(f"inventory incomplete for {missing}: cannot list what refers here")
        unseen = self._unseen_sources.get((relation, provider))
        if unseen is not None:
            return Unknown(f"{relation.of} of '{unseen}' was not seen: cannot list what refers here")
        found = self._inverse.get(relation, {}).get(resource_id)
        if found is None:
            return []
        return found if self._sealed else sorted(found)

    def seal(self) -> None:
        """The stream has ended: sort every derived list once, for stable evidence."""
        for lists in self._inverse.values():
            for ids in lists.values():
                ids.sort()
        self._sealed = True



#: A policy ready to run: the policy, its compiled where/assert, and its tally of outcomes
#: (counts by status, in ``_ORDER``), shared by every plan the policy appears in.
_Compiled = tuple[Policy, Test | None, Test, list[int]]
_ORDER = (Status.PASS, Status.FAIL, Status.ERROR, Status.SKIP, Status.WAIVED)
_PASS, _FAIL, _ERROR, _SKIP = 0, 1, 2, 3
EVERY_STATUS = frozenset(Status)


class _Plan(NamedTuple):
    """What to do with resources of one (kind, type, data class): decide now, skip outright,
    and keep for later."""

    streaming: tuple[_Compiled, ...]
    #: Policies whose ``where`` is plainly false for this data class: tallied, not evaluated.
    skipped: tuple[_Compiled, ...]
    #: Policies that need the whole inventory; their local ``where`` still filters early.
    deferred: tuple[_Compiled, ...]
    #: Whether some deferred policy has such a ``where`` (else every resource is kept as is).
    filters: bool
    #: Attributes a buffered copy keeps, and whether it keeps tags and raw data.
    keep: frozenset[str]
    keep_raw: bool
    keep_tags: bool
    #: Whether the index records resources of this kind (references reach them).
    indexed: bool
    #: Resources of this plan whose skips are not tallied yet (when skips are not reported,
    #: they are counted here and tallied per policy only when tallies are read).
    pending_skips: list[int]


class Evaluator:
    """Evaluates compiled policies over a stream of records.

    Every decision is tallied per policy (``tallies``); ``run`` yields as outcomes only the
    statuses asked for, so a scan of millions of passing resources keeps counts, not objects.
    """

    def __init__(self, policies: Sequence[Policy], config: Config | None = None) -> None:
        self.policies = tuple(sorted(policies, key=lambda p: p.id))
        self._classifier = Classifier(config or Config())
        self._plans: dict[tuple[str, str, str | None, str], _Plan] = {}
        self._compiled = {p.id: (p, p.where.test if p.where is not None else None, p.check.test,
                                 [0] * len(_ORDER)) for p in self.policies}
        #: Counts by (policy id, provider): plans are per provider, so tallying per provider
        #: costs nothing on the hot path.
        self._tallies: dict[tuple[str, str], list[int]] = {}

    @property
    def classifier(self) -> Classifier:
        return self._classifier

    def _tally(self, policy_id: str, provider: str) -> list[int]:
        return self._tallies.setdefault((policy_id, provider), [0] * len(_ORDER))

    def _settle_skips(self) -> None:
        for plan in self._plans.values():
            pending = plan.pending_skips[0]
            if pending:
                for _, _, _, tally in plan.skipped:
                    tally[_SKIP] += pending
                plan.pending_skips[0] = 0

    def tallies(self) -> dict[str, dict[Status, int]]:
        """Outcomes so far, by policy id and status (every policy listed, zeros included)."""
        self._settle_skips()
        totals = {pid: [0] * len(_ORDER) for pid in self._compiled}
        for (pid, _), counts in self._tallies.items():
            totals[pid] = [a + b for a, b in zip(totals[pid], counts, strict=True)]
        return {pid: dict(zip(_ORDER, counts, strict=True)) for pid, counts in totals.items()}

    def tallies_by_provider(self) -> dict[str, dict[str, dict[Status, int]]]:
        """Outcomes so far, by policy id, provider and status (providers with outcomes only)."""
        self._settle_skips()
        found: dict[str, dict[str, dict[Status, int]]] = {pid: {} for pid in self._compiled}
        for (pid, provider), counts in self._tallies.items():
            found[pid][provider] = dict(zip(_ORDER, counts, strict=True))
        return found

    def _plan(self, kind: str, rtype: str, data_class: str | None, provider: str,
              index: InventoryIndex) -> _Plan:
        """How to decide resources with these fields: each policy's conditions folded over
        them (a ``where`` that cannot hold skips the policy outright)."""
        known = {"kind": kind, "type": rtype, "data_class": data_class, "provider": provider}
        streaming: list[_Compiled] = []
        skipped: list[_Compiled] = []
        deferred: list[_Compiled] = []
        for p in self.policies:
            if (p.kinds and kind not in p.kinds) or not p.applies_to_type(rtype):
                continue
            tally = self._tally(p.id, provider)
            where = p.where.fold(known) if p.where is not None else True
            if where is False:
                skipped.append((p, None, _constant(True), tally))  # tallied as skips, never run
                continue
            check = p.check.fold(known)
            compiled = (p, None if where is True else where.test,
                        _constant(check) if isinstance(check, bool) else check.test, tally)
            # A principal's reach is known only once every principal has been seen.
            waits = p.needs_index or (kind == "principal" and bool(REACH_FIELDS & p.local_fields))
            (deferred if waits else streaming).append(compiled)
        fields = frozenset(f for c in deferred for f in c[0].local_fields)
        if "can_read_without_mfa" in fields:
            fields |= {"can_read"}  # what it stands for when a provider does not tell them apart
        filters = any(where is not None and not p.where_needs_index for p, where, _, _ in deferred)
        plan = _Plan(tuple(streaming), tuple(skipped), tuple(deferred), filters, fields - COMMON_FIELDS,
                     "raw" in fields, "tags" in fields, index.wants(kind), [0])
        self._plans[(kind, rtype, data_class, provider)] = plan
        return plan

    def run(self, records: Iterable[Record], index: InventoryIndex | None = None,
            emit: frozenset[Status] = EVERY_STATUS) -> Iterator[Outcome]:
        """Decide every (applicable policy, resource), streaming where it can; yield the
        outcomes whose status is in ``emit``."""
        with _fewer_collections():
            yield from self._run(records, index or InventoryIndex(self.policies), emit)

    def _run(self, records: Iterable[Record], index: InventoryIndex,
             emit: frozenset[Status]) -> Iterator[Outcome]:
        classify, plans = self._classifier.data_class, self._plans
        wanted = tuple(status in emit for status in _ORDER)
        buffered: list[tuple[Resource, tuple[_Compiled, ...]]] = []
        unread: list[CollectionError] = []  # about one resource: decided once the stream ends
        seen: set[str] = set()
        for record in records:
            if type(record) is CollectionError or type(record) is Context:
                yield from self._aside(record, index, seen, unread, wanted)
                continue
            resource: Resource = record  # type: ignore[assignment]
            seen.add(resource.id)
            # The data class is part of the plan: the plan's conditions have it folded in, so
            # the resource itself is copied with its class only where one is kept or reported.
            data_class = resource.data_class or classify(resource)
            key = (resource.kind, resource.type, data_class, resource.provider)
            plan = plans.get(key) or self._plan(*key, index)
            if plan.indexed:
                index.add(resource, data_class)
            decided = _decide(resource, plan.streaming, index, wanted, data_class)
            if decided:
                yield from decided
            if plan.skipped:
                if wanted[_SKIP]:
                    yield from _skip(resource, plan.skipped, data_class)
                else:
                    plan.pending_skips[0] += 1
            if plan.deferred:
                decided = _defer(resource, plan, index, buffered, wanted, data_class)
                if decided:
                    yield from decided
        yield from self._after_stream(index, buffered, unread, seen, wanted)

    def _after_stream(self, index: InventoryIndex,
                      buffered: list[tuple[Resource, tuple[_Compiled, ...]]],
                      unread: list[CollectionError], seen: set[str],
                      wanted: tuple[bool, ...]) -> Iterator[Outcome]:
        """Once the stream has ended: what errors left unseen, then the buffered resources."""
        for error in unread:
            # A resource yielded with what could be read speaks for itself: policies needing
            # the unread attributes are errors already. One never yielded is wholly unseen.
            if error.resource_id not in seen:
                yield from self._unseen(error, index, wanted)
        index.seal()
        reach = index.with_reach if index.graph is not None else None
        for resource, deferred in buffered:
            shown = resource if reach is None or resource.kind != "principal" else reach(resource)
            decided = _decide(shown, deferred, index, wanted)
            if decided:
                yield from decided

    def _aside(self, record: CollectionError | Context, index: InventoryIndex,
               seen: set[str], unread: list[CollectionError],
               wanted: tuple[bool, ...]) -> Iterator[Outcome]:
        """A record that is not a resource to decide: an error (about one resource: judged
        once the stream ends), or context."""
        if isinstance(record, Context):
            self._context(record.resource, index, seen)
        elif record.resource_id is not None:
            unread.append(record)
        else:
            yield from self._unseen(record, index, wanted)

    def _context(self, resource: Resource, index: InventoryIndex, seen: set[str]) -> None:
        """A resource outside the reported scope: indexed for references and the access graph,
        never decided."""
        seen.add(resource.id)
        if index.wants(resource.kind):
            index.add(resource, resource.data_class or self._classifier.data_class(resource))

    def _unseen(self, error: CollectionError, index: InventoryIndex,
                wanted: tuple[bool, ...]) -> Iterator[Outcome]:
        """What a collection error left unseen: its kinds are incomplete in the index, and
        every policy over them is ``error`` for the resource or scope it names."""
        index.mark_incomplete(error.kinds or {k for p in self.policies for k in p.kinds})
        placeholder = Resource(
            id=error.resource_id or ":".join(x for x in (error.provider, error.scope, error.region) if x),
            type=error.types[0] if len(error.types) == 1 else f"{error.provider}.unread",
            kind=error.kinds[0] if len(error.kinds) == 1 else "unread",
            provider=error.provider, scope=error.scope, region=error.region,
            data_class="unclassified",
        )
        for policy in self.policies:
            kinds_hit = not error.kinds or bool(policy.kinds.intersection(error.kinds)) or not policy.kinds
            types_hit = not error.types or any(policy.applies_to_type(t) for t in error.types)
            if kinds_hit and types_hit:
                self._tally(policy.id, error.provider)[_ERROR] += 1
                if wanted[_ERROR]:
                    yield Outcome(policy, placeholder, Status.ERROR, error.message)


@contextlib.contextmanager
def _fewer_collections() -> Iterator[None]:
    """Pause the cycle collector while the scan runs.

    Parsed records, the index and buffered resources hold no reference cycles (reference
    counting frees them), yet the collector rescans them again and again as they age, the whole
    heap at each full collection: a third of a large scan's CPU. Cycles made meanwhile (an
    exception's traceback, say) are collected when the scan ends, in one full collection: left
    to the resumed collector, every object the scan made would be scanned three times over as it
    aged through the generations, while findings are explained and reports written.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.collect()
            gc.enable()


def needs_graph(policies: Iterable[Policy]) -> bool:
    """Whether some policy judges what principals can read (directly or through a reference)."""
    return any(("principal" in p.kinds and REACH_FIELDS.intersection(p.local_fields))
               or any(k == "principal" and n in REACH_FIELDS for k, n in p.remote_fields)
               for p in policies)


def _constant(value: bool) -> Test:
    return lambda subject, index: value


def _decide(resource: Resource, compiled: tuple[_Compiled, ...], index: Any,
            wanted: tuple[bool, ...], data_class: str | None = None) -> list[Outcome] | None:
    """Decide ``resource`` for each policy; tally every outcome, return the wanted ones (about
    the resource with its ``data_class``).

    The hot path: a plain function returning ``None`` when nothing is wanted, because a
    generator per resource would cost more than most decisions.
    """
    out: list[Outcome] | None = None
    shown = resource  # what outcomes carry: the resource with its class, copied once if needed
    for policy, where, check, tally in compiled:
        if where is not None:
            applies = where(resource, index)
            if applies is not True:
                code = _SKIP if applies is False else _ERROR
                tally[code] += 1
                if wanted[code]:
                    if out is None:
                        out, shown = [], _classified(resource, data_class)
                    out.append(Outcome(policy, shown, _ORDER[code]))
                continue
        result = check(resource, index)
        code = _PASS if result is True else _FAIL if result is False else _ERROR
        tally[code] += 1
        if wanted[code]:
            if out is None:
                out, shown = [], _classified(resource, data_class)
            out.append(Outcome(policy, shown, _ORDER[code]))
    return out


def _skip(resource: Resource, skipped: tuple[_Compiled, ...], data_class: str) -> list[Outcome]:
    """Tally and report the skips of policies known not to apply to ``resource``."""
    shown = _classified(resource, data_class)
    for _, _, _, tally in skipped:
        tally[_SKIP] += 1
    return [Outcome(policy, shown, Status.SKIP) for policy, _, _, _ in skipped]


def _classified(resource: Resource, data_class: str | None) -> Resource:
    if data_class is None or resource.data_class == data_class:
        return resource
    return resource.with_data_class(data_class)


def _defer(resource: Resource, plan: _Plan, index: Any,  # noqa: PLR0917
           buffered: list[tuple[Resource, tuple[_Compiled, ...]]],
           wanted: tuple[bool, ...], data_class: str) -> list[Outcome] | None:
    """Keep a slim copy for the policies that need the whole inventory, unless their own
    local ``where`` already says they do not apply; return the wanted skips."""
    if not plan.filters:
        buffered.append((_slim(resource, plan, data_class), plan.deferred))
        return None
    kept: list[_Compiled] = []
    out: list[Outcome] | None = None
    for compiled in plan.deferred:
        policy, where, check, tally = compiled
        if where is None or policy.where_needs_index:
            kept.append(compiled)
            continue
        applies = where(resource, index)
        if applies is True:  # decided now: no second look at the end
            kept.append((policy, None, check, tally))
        elif applies is None:  # decided again at the end, to report why
            kept.append(compiled)
        else:
            tally[_SKIP] += 1
            if wanted[_SKIP]:
                out = out or []
                out.append(Outcome(policy, _classified(resource, data_class), Status.SKIP))
    if kept:
        buffered.append((_slim(resource, plan, data_class), tuple(kept)))
    return out


def _slim(r: Resource, plan: _Plan, data_class: str) -> Resource:
    """The copy kept until the stream ends: only what the deferred policies read."""
    attributes = r.attributes
    kept = {}
    for name in plan.keep:  # a loop, not a comprehension: no frame made per resource
        if name in attributes:
            kept[name] = attributes[name]
    # The fields copied whole (one C-level copy), then the slimmed ones replaced: cheaper than
    # eleven arguments to the constructor.
    fields = dict(r.__dict__)
    fields["attributes"], fields["data_class"] = kept, data_class
    if not plan.keep_tags:
        fields["tags"] = {}
    if not plan.keep_raw:
        fields["raw"] = reported_raw(r.raw)
    slim: Resource = object.__new__(Resource)
    object.__setattr__(slim, "__dict__", fields)
    return slim


__all__ = ["Evaluator", "InventoryIndex", "Outcome", "needs_graph"]
