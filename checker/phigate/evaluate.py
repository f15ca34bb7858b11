"""Evaluation: (policies, resource stream) → outcomes. Pure and deterministic.

Policies that only read the resource in hand are evaluated as the stream goes by. Policies that
follow references (``can_read`` → the stores' data class) or derived lists (``key.encrypts``)
need the whole inventory: their resources are buffered and evaluated once the stream ends,
against a slim index that keeps only the fields those references read. Memory therefore grows
with what references need, not with the estate.
"""

from __future__ import annotations

import dataclasses
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, NamedTuple

from phigate.api import CollectionError, Record, Resource, Unknown
from phigate.classify import Classifier
from phigate.conditions import MISSING, describe_unseen
from phigate.config import Config
from phigate.model import Finding, Observation, Policy, ResourceRef, Status
from phigate.paths import Inverse

Test = Callable[[Any, Any], "bool | None"]


class Outcome(NamedTuple):
    """One policy decided on one resource. Cheap to make: findings are built only on demand."""

    policy: Policy
    resource: Resource
    status: Status
    #: Why, when the outcome comes from a collection error rather than from the resource.
    note: str | None = None


class InventoryIndex:
    """Slim records of every resource (only the fields references read) and inverse lists."""

    def __init__(self, policies: Sequence[Policy]) -> None:
        self._fields: dict[str, tuple[str, ...]] = {}
        wanted: dict[str, set[str]] = defaultdict(set)
        for policy in policies:
            for kind, name in policy.remote_fields:
                wanted[kind].add(name)
        self._fields = {kind: tuple(sorted(names)) for kind, names in wanted.items()}
        self._inverse_specs: dict[str, list[tuple[Inverse, tuple[str, ...]]]] = defaultdict(list)
        for inverse in {inv for p in policies for inv in p.inverses}:
            for kind in inverse.kinds:
                self._inverse_specs[kind].append((inverse, tuple(inverse.of.split("."))))
        self._records: dict[str, dict[str, Any]] = {}
        self._inverse: dict[Inverse, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
        self._incomplete_kinds: set[str] = set()
        #: (relation, provider) → a source resource whose attribute was not read. Scoped by
        #: provider: a PostgreSQL table never names a KMS key, so its gaps do not blind AWS.
        self._unseen_sources: dict[tuple[Inverse, str], str] = {}
        self.active = bool(self._fields or self._inverse_specs)

    def add(self, resource: Resource) -> None:
        fields = self._fields.get(resource.kind)
        record: dict[str, Any] = {"id": resource.id, "kind": resource.kind,
                                  "provider": resource.provider}
        if fields:
            attributes = resource.attributes
            for name in fields:
                record[name] = (getattr(resource, name) if name in _COMMON
                                else attributes.get(name, MISSING))
        self._records[resource.id] = record
        for inverse, path in self._inverse_specs.get(resource.kind, ()):
            value: Any = resource.attributes
            for part in path:
                value = value.get(part, MISSING) if isinstance(value, dict) else value
            if isinstance(value, str):
                self._inverse[inverse][value].append(resource.id)
            elif value is MISSING or isinstance(value, Unknown):
                self._unseen_sources.setdefault((inverse, resource.provider), resource.id)

    def mark_incomplete(self, kinds: Iterable[str]) -> None:
        self._incomplete_kinds.update(kinds)

    def lookup(self, resource_id: str) -> dict[str, Any] | None:
        return self._records.get(resource_id)

    def inverse(self, of: str, kinds: tuple[str, ...], resource_id: str,
                provider: str) -> list[str] | Unknown:
        """Ids whose ``of`` holds ``resource_id``; unknown when a source of the same provider
        could not be read."""
        if self._incomplete_kinds.intersection(kinds):
            missing = ", ".join(sorted(self._incomplete_kinds.intersection(kinds)))
            return Unknown(f"inventory incomplete for {missing}: cannot list what refers here")
        relation = Inverse(of, kinds)
        unseen = self._unseen_sources.get((relation, provider))
        if unseen is not None:
            return Unknown(f"{of} of '{unseen}' was not seen: cannot list what refers here")
        return sorted(self._inverse[relation].get(resource_id, ()))


_COMMON = frozenset({"id", "type", "kind", "provider", "scope", "region", "name", "tags",
                     "data_class", "raw"})

_Compiled = tuple[Policy, Test | None, Test]


class Evaluator:
    """Evaluates compiled policies over a stream of records."""

    def __init__(self, policies: Sequence[Policy], config: Config | None = None) -> None:
        self.policies = tuple(sorted(policies, key=lambda p: p.id))
        self._classifier = Classifier(config or Config())
        self._by_type: dict[tuple[str, str], tuple[tuple[_Compiled, ...], tuple[_Compiled, ...]]] = {}

    def _applicable(self, kind: str, rtype: str) -> tuple[tuple[_Compiled, ...], tuple[_Compiled, ...]]:
        key = (kind, rtype)
        found = self._by_type.get(key)
        if found is None:
            streaming: list[_Compiled] = []
            deferred: list[_Compiled] = []
            for p in self.policies:
                if (not p.kinds or kind in p.kinds) and p.applies_to_type(rtype):
                    entry = (p, p.where.test if p.where is not None else None, p.check.test)
                    (deferred if p.needs_index else streaming).append(entry)
            found = self._by_type[key] = (tuple(streaming), tuple(deferred))
        return found

    def run(self, records: Iterable[Record], index: InventoryIndex | None = None) -> Iterator[Outcome]:
        """Yield one outcome per (applicable policy, resource), streaming where it can."""
        index = index or InventoryIndex(self.policies)
        classify = self._classifier.data_class
        buffered: list[tuple[Resource, tuple[_Compiled, ...]]] = []
        unread: list[CollectionError] = []  # about one resource: decided once the stream ends
        seen: set[str] = set()
        replace = dataclasses.replace
        for record in records:
            if type(record) is CollectionError:
                if record.resource_id is not None:
                    unread.append(record)
                    continue
                index.mark_incomplete(record.kinds or {k for p in self.policies for k in p.kinds})
                yield from self._collection_error(record)
                continue
            resource: Resource = record  # type: ignore[assignment]
            seen.add(resource.id)
            if resource.data_class is None:
                resource = replace(resource, data_class=classify(resource))
            if index.active:
                index.add(resource)
            streaming, deferred = self._applicable(resource.kind, resource.type)
            if streaming:
                yield from _decide(resource, streaming, index)
            if deferred:
                buffered.append((resource, deferred))
        for error in unread:
            # A resource yielded with what could be read speaks for itself: policies needing
            # the unread attributes are errors already. One never yielded is wholly unseen.
            if error.resource_id not in seen:
                index.mark_incomplete(error.kinds or {k for p in self.policies for k in p.kinds})
                yield from self._collection_error(error)
        for resource, deferred in buffered:
            yield from _decide(resource, deferred, index)

    def _collection_error(self, error: CollectionError) -> Iterator[Outcome]:
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
                yield Outcome(policy, placeholder, Status.ERROR, error.message)


_PASS, _FAIL, _ERROR, _SKIP = Status.PASS, Status.FAIL, Status.ERROR, Status.SKIP


def _decide(resource: Resource, compiled: tuple[_Compiled, ...], index: Any) -> Iterator[Outcome]:
    for policy, where, check in compiled:
        if where is not None:
            applies = where(resource, index)
            if applies is not True:
                yield Outcome(policy, resource, _SKIP if applies is False else _ERROR)
                continue
        result = check(resource, index)
        yield Outcome(policy, resource, _PASS if result is True else _FAIL if result is False else _ERROR)


def explain(outcome: Outcome, index: Any) -> Finding:
    """Build the full finding for an outcome: message and evidence from a second, explaining pass."""
    policy, resource, status = outcome.policy, outcome.resource, outcome.status
    observations: list[Observation] = []
    if outcome.note is not None:
        message = outcome.note
    elif status in (Status.PASS, Status.SKIP):
        message = "compliant" if status is Status.PASS else "not applicable"
    else:
        where_result = (policy.where.explain(resource, index, True, observations)
                        if policy.where is not None else True)
        if where_result is None:
            message = "cannot tell whether the policy applies: " + _reasons(observations)
        else:
            observations.clear()
            policy.check.explain(resource, index, True, observations)
            message = (_reasons(observations) if status is Status.ERROR
                       else _failures(observations))
    return Finding(
        policy_id=policy.id, title=policy.title, severity=policy.severity, status=status,
        resource=ResourceRef(resource.id, resource.type, resource.kind, resource.provider,
                             resource.scope, resource.region, resource.name, resource.data_class),
        message=message, evidence=tuple(observations), controls=policy.controls,
    )


def _reasons(observations: list[Observation]) -> str:
    notes = [o.note for o in observations if o.outcome == "error" and o.note]
    return "; ".join(dict.fromkeys(notes)) or "evidence could not be evaluated"


def _failures(observations: list[Observation]) -> str:
    parts = []
    for o in observations:
        if not o.against:
            continue
        if o.op in ("some", "every"):
            parts.append(f"{o.note}: {_show(o.observed)}" if o.observed else o.note)
        else:
            parts.append(f"{o.path} is {_show(o.observed)} (expected {o.op} {_show(o.expected)})")
    return "; ".join(dict.fromkeys(parts)) or "condition not met"


def _show(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)


__all__ = ["Evaluator", "InventoryIndex", "Outcome", "describe_unseen", "explain"]
