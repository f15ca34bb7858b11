"""Every AWS API operation the provider may call, and the IAM action that authorises it.

This table, gathered from the service registry, is the single source of truth for three things:
the provider's declared ``permissions``, the least-privilege policy document ``phigate providers
--permissions aws`` prints, and the read-only test, which fails on any operation performed that
is not listed here. Only metadata reads appear: nothing here can read an object's content or change anything.
"""

from __future__ import annotations

import json
from typing import Any

from phigate_providers.aws import services

#: (botocore service name, operation name) → IAM action: the core calls and each service's, as
#: the registry (:mod:`.services`) declares them.
OPERATIONS: dict[tuple[str, str], str] = services.operations()

#: Operation name prefixes that only read.
READ_PREFIXES = ("Describe", "Get", "List")


def permission(service: str, operation: str) -> str:
    """The IAM action an operation needs (``service:Operation`` if the table lacks it)."""
    return OPERATIONS.get((service, operation)) or f"{service}:{operation}"


def permissions() -> tuple[str, ...]:
    """Every IAM action the provider may use, sorted."""
    return tuple(sorted({action for action in OPERATIONS.values() if action}))


def policy_document(*extra: dict[str, Any]) -> str:
    """A least-privilege IAM policy granting exactly :func:`permissions`, as JSON; ``extra``
    statements follow (content sampling's object reads, only when it is on)."""
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PhigateReadOnlyAudit",
                "Effect": "Allow",
                "Action": list(permissions()),
                "Resource": "*",
            },
            *extra,
        ],
    }
    return json.dumps(document, indent=2)


def is_read(operation: str) -> bool:
    return operation.startswith(READ_PREFIXES)


__all__ = ["OPERATIONS", "is_read", "permission", "permissions", "policy_document"]
