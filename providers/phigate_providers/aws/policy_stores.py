"""Stores whose exposure is a resource policy document (a queue, topic, log group or file system
policy).

Shared by the collectors of those services: the policy read with the store is parsed once for
its public exposure (``public_access``) and kept in ``raw["policy"]``; :func:`store_access`
gives it, with the store's ways in, to the access analysis. A policy that does not parse is the
store's error: ``public_access`` is left out and the store's reach is unseen, never taken for
private.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from phigate.api import Resource
from phigate_providers.aws.calls import ApiFailure
from phigate_providers.aws.context import Account
from phigate_providers.aws.policydoc import PolicyDocument, PolicySyntaxError, parse_policy
from phigate_providers.aws.read_actions import Facet
from phigate_providers.aws.resource_policy import public_grants

#: The kind of the stores read here.
KIND = "stream"


def exposure(account: Account, region: str, *, arn: str, document: str | None, what: str,
             types: tuple[str, ...], service: str, operation: str, kind: str = KIND) -> dict[str, Any] | None:
    """``public_access`` from the store's policy ``document`` (None or empty: it has none), or
    None, its error recorded, when the document does not parse."""
    try:
        grants = list(public_grants(parse_policy(document, name=arn))) if document else []
    except PolicySyntaxError as exc:
        account.failed(ApiFailure(service, operation, str(exc)), f"{what} policy", kinds=(kind,), types=types,
                       region=region, resource_id=arn)
        return None
    return {"blocked": not grants, "grants": grants}


def with_policy(attributes: dict[str, Any], raw: dict[str, Any], exposed: dict[str, Any] | None,
                document: str | None) -> None:
    """Record an exposure read (and the policy it came from) on the store's attributes and raw."""
    if exposed is not None:
        attributes["public_access"] = exposed
        raw["policy"] = document or None


def store_access(facets: Callable[[str], tuple[Facet, ...]]
                 ) -> Callable[[Resource], tuple[tuple[Facet, ...], PolicyDocument | None] | str]:
    """How principals read a store through ``facets(arn)`` and the policy it was read with."""

    def access(resource: Resource) -> tuple[tuple[Facet, ...], PolicyDocument | None] | str:
        if "public_access" not in resource.attributes:
            return "resource policy not read"
        document = resource.raw.get("policy")
        policy = parse_policy(str(document), name=resource.id) if document else None
        return facets(resource.id), policy

    return access


__all__ = ["KIND", "exposure", "store_access", "with_policy"]
