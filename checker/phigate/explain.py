"""Findings from outcomes: the message and the evidence, from a second, explaining pass.

Only failures and errors are explained (passes when asked for), so the hot path never builds
messages; where a resource is declared comes from ``raw["location"]``, which slim copies keep.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

from phigate import wording as words
from phigate.access_graph import short_label
from phigate.api import Unknown
from phigate.getters import MISSING, read_local
from phigate.identity import scope_and_address
from phigate.model import Finding, Observation, ResourceRef, Status
from phigate.typecheck import PLACEHOLDER

if TYPE_CHECKING:
    from phigate.classify import Classifier
    from phigate.evaluate import Outcome


def _source_location(raw: Mapping[str, Any]) -> tuple[str | None, int | None]:
    location = raw.get("location")
    if not isinstance(location, Mapping) or not isinstance(location.get("file"), str):
        return None, None
    line = location.get("line")
    return location["file"], line if isinstance(line, int) and not isinstance(line, bool) else None


def explain(outcome: Outcome, index: Any, classifier: Classifier | None = None,
            plan_scopes: Collection[str] = ()) -> Finding:
    """Build the full finding for an outcome: message and evidence from a second, explaining pass
    (with ``classifier``, labels of the resource that disagree are shown too). ``plan_scopes``:
    the run's plan files, whose resources are scoped as :mod:`phigate.identity` says."""
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
                       else _headline(policy.message, resource, observations) if policy.message
                       else _failures(observations))
    conflict = classifier.conflict(resource.tags) if classifier is not None and resource.tags else None
    if conflict is not None and status in (Status.FAIL, Status.ERROR):
        observations.append(Observation("data_class", "classified", None, resource.data_class,
                                        "true", conflict))
        message += f"; {conflict}"
    copied = resource.raw.get("class_from") if status in (Status.FAIL, Status.ERROR) else None
    if isinstance(copied, list) and copied:  # a copy classed by its sources (a provider's lineage)
        why = f"classed {resource.data_class} as what it copies: {', '.join(map(str, copied))}"
        observations.append(Observation("data_class", "copied from", None, resource.data_class, "true", why))
        message += f"; {why}"
    if resource.kind == "principal" and status in (Status.FAIL, Status.ERROR):
        paths = _access_paths(resource.id, observations, index)
        if paths:
            observations.append(Observation("can_read", "path", None, paths, "true",
                                            "how the identity reaches these stores", True))
            if any(" → (" in p for p in paths):
                shown = "; ".join(paths[:_MAX_PATHS])
                more = len(paths) - _MAX_PATHS
                message += f"; reached through {shown}" + (f" and {more} more" if more > 0 else "")
    scope, address = scope_and_address(resource, plan_scopes)
    return Finding(
        policy_id=policy.id, title=policy.title, severity=policy.severity, status=status,
        resource=ResourceRef(resource.id, resource.type, resource.kind, resource.provider,
                             scope, resource.region, resource.name, resource.data_class,
                             *_source_location(resource.raw), address),
        message=message, evidence=tuple(observations), controls=policy.controls,
    )


_MAX_PATHS = 3


def _access_paths(principal: str, observations: list[Observation], index: Any) -> list[str]:
    """The chains by which ``principal`` reaches the stores the evidence names."""
    graph = getattr(index, "graph", None)
    if graph is None:
        return []
    stores = [s for o in observations if o.op in ("some", "every") and isinstance(o.observed, list)
              for s in o.observed if isinstance(s, str)]

    def describe(store: str) -> str:
        record = index.lookup(store)
        data_class = record.get("data_class") if isinstance(record, dict) else None
        label = short_label(store)
        return f"{label} ({data_class})" if isinstance(data_class, str) else label

    found = graph.paths(principal, dict.fromkeys(stores), describe)
    return [found[s] for s in dict.fromkeys(stores) if s in found]


def _headline(template: str, resource: Any, observations: list[Observation]) -> str:
    """The policy's message with its placeholders filled; the failing parts follow in words
    unless a label in the message already names them."""
    labelled = {o.label: o for o in observations if o.label}

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name == "resource":
            return resource.name or words.readable(resource.id)
        if name in labelled:
            hits = labelled[name].observed
            return words.value(hits) if isinstance(hits, list) and hits else "none"
        found = read_local(resource, name)
        unseen = found is MISSING or found is None or type(found) is Unknown
        return "unknown" if unseen else words.value(found)

    headline = PLACEHOLDER.sub(fill, template)
    if any(f"{{{label}}}" in template for label in labelled):
        return headline
    details = _failures(observations)
    return f"{headline}: {details}" if details else headline


def _reasons(observations: list[Observation]) -> str:
    notes = [o.note for o in observations if o.outcome == "error" and o.note]
    return "; ".join(dict.fromkeys(notes)) or "evidence could not be evaluated"


#: Fields a policy branches on (``kind eq object_store`` inside an ``any``): internal to the
#: policy's logic, never what is wrong with the resource.
_BRANCHES = frozenset({"kind", "type", "provider"})


def _failures(observations: list[Observation]) -> str:
    """What weighs against compliance, in words: each failing part with its value and what the
    policy requires of it."""
    against = [o for o in observations if o.against]
    if any(o.path not in _BRANCHES for o in against):
        against = [o for o in against if o.path not in _BRANCHES]
    parts = []
    for o in against:
        if o.op in ("some", "every"):
            hits = o.observed if isinstance(o.observed, list) else []
            parts.append(f"{o.note}: {words.value(hits)}" if hits else o.note)
        elif o.op in ("path", "classified"):
            continue
        else:
            # Against and true: the part held where the policy requires that it does not.
            parts.append(f"{o.path} is {words.value(o.observed)}; it "
                         f"{words.requirement(o.op, o.expected, negated=o.outcome == 'true')}")
    return "; ".join(dict.fromkeys(parts)) or "the policy's condition is not met"


__all__ = ["explain"]
