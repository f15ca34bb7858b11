"""Reading the settings of the AWS stores whose exposure is a resource policy (queues, topics, log
groups, streams, file systems, search domains, warehouses) from a plan, strictly.

A setting of the wrong type (``encrypted = "yes"``, a policy that is a number, a block that is a
string) is never read as its default nor as truthy: it is :class:`~phigate.api.Unknown`, its
reason naming the resource address and the attribute, so every policy reading it is ``error``.
A value known only after apply stays Unknown; an unset one takes the default given (the
provider's documented one, or the create-time default :mod:`.defaults` filled in).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from phigate.api import Resource, Unknown
from phigate_providers.aws.policydoc import PolicyDocument, PolicySyntaxError, parse_policy
from phigate_providers.aws.read_actions import Facet
from phigate_providers.aws.resource_policy import public_grants
from phigate_providers.terraform.iam import StoreFacts
from phigate_providers.terraform.plan import PlannedResource
from phigate_providers.terraform.values import Path, is_unknown, value


def _where(planned: PlannedResource, path: Path) -> str:
    return f"{planned.address}.{'.'.join(str(p) for p in path)}"


def wrong_type(planned: PlannedResource, path: Path, expected: str, found: Any) -> Unknown:
    return Unknown(f"{_where(planned, path)}: expected {expected}, found {type(found).__name__} "
                   f"{json.dumps(found, default=str)[:60]}")


def flag(planned: PlannedResource, path: Path, default: bool) -> bool | Unknown:
    """A boolean setting: True or False, ``default`` when unset, Unknown otherwise."""
    found = value(planned, path)
    if found is None:
        return default
    if is_unknown(found) or isinstance(found, bool):
        return found
    return wrong_type(planned, path, "true or false", found)


def text(planned: PlannedResource, path: Path) -> str | Unknown | None:
    """A string setting ('' is unset: None)."""
    found = value(planned, path)
    if found is None or found == "":
        return None
    if is_unknown(found) or isinstance(found, str):
        return found
    return wrong_type(planned, path, "a string", found)


def number(planned: PlannedResource, path: Path, default: int | None) -> int | Unknown | None:
    found = value(planned, path)
    if found is None:
        return default
    if is_unknown(found) or (isinstance(found, int) and not isinstance(found, bool)):
        return found
    return wrong_type(planned, path, "a whole number", found)


def block(planned: PlannedResource, name: str) -> Mapping[str, Any] | Unknown | None:
    """The first (only) block ``name``: None when there is none."""
    found = value(planned, (name,))
    if found is None or found == []:
        return None
    if is_unknown(found):
        return found
    if not isinstance(found, list) or not isinstance(found[0], Mapping):
        return wrong_type(planned, (name,), "a block", found)
    return found[0]


def document(planned: PlannedResource, path: Path) -> PolicyDocument | Unknown | None:
    """The policy document at ``path`` (None: no policy; Unknown: known after apply, or not a
    policy, the reason naming the attribute and what is wrong)."""
    found = text(planned, path)
    if found is None or isinstance(found, Unknown):
        return found
    try:
        return parse_policy(found, name=_where(planned, path))
    except PolicySyntaxError as exc:
        return Unknown(f"{_where(planned, path)}: the policy does not parse ({exc})")


def combined(documents: Sequence[PolicyDocument | Unknown | None]) -> PolicyDocument | Unknown | None:
    """Several policies that all apply to one store, as one (Unknown when one is)."""
    for found in documents:
        if is_unknown(found):
            return found
    known = [d for d in documents if isinstance(d, PolicyDocument)]
    if len(known) <= 1:
        return known[0] if known else None
    return PolicyDocument(statements=tuple(s for d in known for s in d.statements), version=known[0].version,
                          name=known[0].name)


def exposure(policy: PolicyDocument | Unknown | None) -> dict[str, Any]:
    """``public_access`` from a store's policy, as the live reader gives it."""
    if isinstance(policy, Unknown):
        return {"blocked": policy, "grants": policy}
    grants = list(public_grants(policy))
    return {"blocked": not grants, "grants": grants}


def undecided(reason: Unknown) -> dict[str, Any]:
    """An ``encryption`` the plan does not tell."""
    return {"at_rest": reason, "algorithm": reason, "key": reason, "key_manager": reason}


def facts_of(resource: Resource, planned: PlannedResource, arn: Any, policy: PolicyDocument | Unknown | None,
             facets: Callable[[str], tuple[Facet, ...]], *, unseen: str | None = None) -> StoreFacts:
    """The store as the access analysis reads it: through ``facets(arn)``, under ``policy``
    (unseen, with why, when the policy is not known)."""
    ways = facets(arn) if isinstance(arn, str) else None
    if unseen is None and is_unknown(policy):
        unseen = policy.reason
    known = policy if isinstance(policy, PolicyDocument) else None
    return StoreFacts(resource.id, arn, frozenset(), known, planned.address, facets=ways, unseen=unseen)


__all__ = ["block", "combined", "document", "exposure", "facts_of", "flag", "number", "text", "undecided",
           "wrong_type"]
