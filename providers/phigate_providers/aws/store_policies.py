"""What of a store's resource policy applies, for the stores whose policy is not theirs alone (a
log group under the account's CloudWatch Logs policies) or not all of it reaches everyone (an EFS
file system policy's statements that hold only through a mount target).

Pure functions of the documents, shared by the live readers and the Terraform plan reader, which
must not need an SDK.
"""

from __future__ import annotations

import json
from typing import Any

from phigate_providers.aws.arn import globs_intersect

#: Why the readers of a file system without a policy are not computed.
NO_POLICY = "no file system policy: any NFS client reaching a mount target mounts it"


def covering(statements: list[dict[str, Any]], group_arn: str) -> list[dict[str, Any]]:
    """The statements that may apply to the group (its ARN, with or without ``:*``): the
    account's policies name the groups they cover; the group's own name it."""
    def covers(statement: dict[str, Any]) -> bool:
        resources = statement.get("Resource")
        if resources is None:
            return True  # NotResource, or none: left to the analysis, counted here
        patterns = resources if isinstance(resources, list) else [resources]
        return any(globs_intersect(str(p), arn) for p in patterns for arn in (group_arn, f"{group_arn}:*"))

    return [s for s in statements if covers(s)]


def beyond_mount_targets(document: str | None) -> str | None:
    """The policy without the statements that hold only through a mount target: those need the
    VPC's network first, so they expose nothing to everyone. Unparseable text is kept as is (its
    error is reported)."""
    if not document:
        return document
    try:
        data = json.loads(document)
        statements = data["Statement"]
    except (ValueError, KeyError, TypeError):
        return document
    if not isinstance(statements, list):
        statements = [statements]
    kept = [s for s in statements if not (isinstance(s, dict) and _via_mount_target(s))]
    return json.dumps({**data, "Statement": kept})


def _via_mount_target(statement: dict[str, Any]) -> bool:
    block = (statement.get("Condition") or {}).get("Bool") or {}
    key = "elasticfilesystem:accessedviamounttarget"
    value = next((v for k, v in block.items() if k.lower() == key), None)
    values = value if isinstance(value, list) else [value]
    return bool(values) and all(str(v).lower() == "true" for v in values)


__all__ = ["NO_POLICY", "beyond_mount_targets", "covering"]
