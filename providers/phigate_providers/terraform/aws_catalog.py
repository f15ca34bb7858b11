"""Athena workgroups of a plan, as the AWS provider normalises them (``aws.athena.workgroup``,
kind ``database``).

A workgroup is a store when its configuration names an output location (or one known only after
apply); without one it stores nothing of its own and is not yielded, as the live reader decides.
``enforce_workgroup_configuration`` defaults to true in the ``hashicorp/aws`` provider: enforced,
the results' encryption is the configuration's (``SSE_KMS`` / ``CSE_KMS`` under ``kms_key_arn``,
``SSE_S3`` or none under S3-managed keys); not enforced, each query may override it and S3's
floor (SSE-S3, the provider's keys) is what holds. Never public (no resource policy); read by
``athena:GetQueryResults`` under identity policies.
"""

from __future__ import annotations

from typing import Any

from phigate.api import Resource, Unknown
from phigate_providers.aws.read_actions import ATHENA_RESULTS_READ, workgroup_facets
from phigate_providers.terraform.context import Context
from phigate_providers.terraform.iam import StoreFacts
from phigate_providers.terraform.keys import KeyBook, encryption
from phigate_providers.terraform.plan import PlannedResource
from phigate_providers.terraform.values import is_unknown, known_bool, value

WORKGROUP = "aws_athena_workgroup"
TYPES = (WORKGROUP,)
RTYPE, KIND = "aws.athena.workgroup", "database"
KMS_OPTIONS = frozenset({"SSE_KMS", "CSE_KMS"})
S3_FLOOR = {"at_rest": True, "algorithm": "AES256", "key": None, "key_manager": "provider"}
_RESULTS = ("configuration", 0, "result_configuration", 0)
_CHOSEN = (*_RESULTS, "encryption_configuration", 0)


def workgroups(context: Context, keys: KeyBook, access: list[StoreFacts]) -> None:
    """Every planned workgroup that stores results, and (into ``access``) how it is read."""
    for planned in context.plan.by_type.get(WORKGROUP, ()):
        if value(planned, (*_RESULTS, "output_location")) is None:
            continue  # no output location: each query names where its results go
        rid = context.id_of(planned)
        tags = context.tags(planned, ("tags_all", "tags"))
        if is_unknown(tags):
            context.tags_unknown(planned, KIND, rid, RTYPE)
            continue
        assert isinstance(tags, dict)
        attributes: dict[str, Any] = {"engine": "athena", "encryption": _encryption(keys, planned),
                                      "public_access": {"blocked": True, "grants": []}}
        resource = Resource(id=rid, type=RTYPE, kind=KIND, provider="aws", scope=context.plan.label,
                            region=context.region(planned), name=planned.address, tags=tags,
                            attributes=attributes, raw=context.raw(planned))
        key = attributes["encryption"].get("key")
        context.add(resource, (planned,), [key] if isinstance(key, str) else [])
        content = rid if rid.startswith("arn:") else _arn(context, planned)
        access.append(StoreFacts(rid, content, ATHENA_RESULTS_READ, None, planned.address,
                                 facets=workgroup_facets(content)))


def _encryption(keys: KeyBook, planned: PlannedResource) -> dict[str, Any]:
    enforced = known_bool(value(planned, ("configuration", 0, "enforce_workgroup_configuration")), True)
    if enforced is False:
        return dict(S3_FLOOR)
    option = value(planned, (*_CHOSEN, "encryption_option"))
    if is_unknown(enforced) or is_unknown(option):
        unknown: Unknown = enforced if is_unknown(enforced) else option
        return {"at_rest": True, "algorithm": unknown, "key": unknown, "key_manager": unknown}
    if option in KMS_OPTIONS:
        return encryption(True, option, keys.choose(planned, (*_CHOSEN, "kms_key_arn")))
    return dict(S3_FLOOR)


def _arn(context: Context, planned: PlannedResource) -> str:
    """The workgroup's ARN before apply: any account's workgroup of its name (more reach, never
    less)."""
    name = value(planned, ("name",))
    return (f"arn:aws:athena:{context.region(planned) or '*'}:*:workgroup/"
            f"{name if isinstance(name, str) and name else '*'}")


__all__ = ["TYPES", "WORKGROUP", "workgroups"]
