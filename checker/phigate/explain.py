"""Findings from outcomes: the message and the evidence, from a second, explaining pass.

Only failures and errors are explained (passes when asked for), so the hot path never builds
messages; where a resource is declared comes from ``raw["location"]``, which slim copies keep.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any

from phigate.identity import scope_and_address
from phigate.model import Finding, Observation, ResourceRef, Status

if TYPE_CHECKING:
    from phigate.evaluate import Outcome


def _source_location(raw: Mapping[str, Any]) -> tuple[str | None, int | None]:
    location = raw.get("location")
    if not isinstance(location, Mapping) or not isinstance(location.get("file"), str):
        return None, None
    line = location.get("line")
    return location["file"], line if isinstance(line, int) and not isinstance(line, bool) else None


def explain(outcome: Outcome, index: Any, plan_scopes: Collection[str] = ()) -> Finding:
    """Build the full finding for an outcome: message and evidence from a second, explaining pass.
    ``plan_scopes``: the run's plan files, whose resources are scoped as ``identity`` says."""
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
    scope, address = scope_and_address(resource, plan_scopes)
    return Finding(
        policy_id=policy.id, title=policy.title, severity=policy.severity, status=status,
        resource=ResourceRef(resource.id, resource.type, resource.kind, resource.provider,
                             scope, resource.region, resource.name, resource.data_class,
                             *_source_location(resource.raw), address),
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


__all__ = ["explain"]
