"""Policy resources joined to the store they apply to (``aws_sqs_queue_policy`` to its queue …).

A policy resource names its store by reference (followed through the configuration) or by a
literal (a queue URL, a topic ARN, a domain name …) matched against the planned stores. One
that names a store outside the plan is listed in the notices. One whose store cannot be told (a
local, a computed expression) may apply to any store of the plan of that type: their policies
are then unknown (never taken for having none).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from phigate.api import Unknown
from phigate_providers.terraform.context import Context
from phigate_providers.terraform.plan import PlannedResource
from phigate_providers.terraform.values import expression, trace, value


@dataclass
class Joins:
    """Per store address, the policy resources applying to it; what could not be joined."""

    by_store: dict[str, list[PlannedResource]] = field(default_factory=dict)
    #: Policy resources naming a store the plan does not hold.
    orphans: list[str] = field(default_factory=list)
    #: Why every store of the type may have a policy the plan does not tie to it.
    undecided: Unknown | None = None

    def of(self, store: PlannedResource) -> list[PlannedResource]:
        return self.by_store.get(store.address, [])


def join(context: Context, policy_type: str, attribute: str, store_types: Iterable[str],
         names: Callable[[PlannedResource, str], bool], *, optional: bool = False) -> Joins:
    """Join every ``policy_type`` resource to the store of ``store_types`` its ``attribute``
    names; ``names(store, literal)`` tells whether a literal names ``store``. With
    ``optional``, a policy resource leaving ``attribute`` unset names no store (it is the
    account's, not one store's)."""
    plan = context.plan
    types = frozenset(store_types)
    stores = [s for t in sorted(types) for s in plan.by_type.get(t, ())]
    joins = Joins()
    for policy in plan.by_type.get(policy_type, ()):
        if optional and value(policy, (attribute,)) is None and attribute not in policy.expressions:
            continue
        traced = trace(plan, policy, expression(policy, (attribute,)), types)
        store = traced.resource
        if store is None:
            literal = traced.constant if traced.has_constant else value(policy, (attribute,))
            if not isinstance(literal, str) or not literal:
                joins.undecided = Unknown(f"{policy.address}: which store its {attribute} names is known "
                                          "only after apply, so any store of the plan may have this policy")
                continue
            found = [s for s in stores if names(s, literal)]
            if len(found) != 1:
                joins.orphans.append(policy.address)
                continue
            store = found[0]
        joins.by_store.setdefault(store.address, []).append(policy)
    return joins


def named_by(*attributes: str, tail: str | None = None) -> Callable[[PlannedResource, str], bool]:
    """A literal names a store when it equals one of its ``attributes``' planned values, or, with
    ``tail``, when it ends with ``tail`` + the store's ``attributes[0]`` (a queue URL, an ARN)."""

    def names(store: PlannedResource, literal: str) -> bool:
        if any(store.values.get(a) == literal for a in attributes):
            return True
        first = store.values.get(attributes[0])
        named = isinstance(first, str) and bool(first)
        return tail is not None and named and literal.endswith(f"{tail}{first}")

    return names


__all__ = ["Joins", "join", "named_by"]
