"""API calls with one error model: what could not be read becomes an :class:`ApiFailure`.

botocore already retries (adaptive mode, see :mod:`.session`); what is left after its retries —
access denied, throttling past the limit, timeouts, an unreachable or unsupported endpoint — is
raised as :class:`ApiFailure` naming the IAM action that was refused, so collectors can turn it
into a :class:`~phigate.api.CollectionError` at the right grain (one resource, or a whole list).
Error codes that mean "this setting is absent" are answers, not failures.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any

from botocore import xform_name
from botocore.exceptions import BotoCoreError, ClientError

from phigate.safetext import without_userinfo

#: Error codes that say the account or principal lacks the right to make the call.
DENIED_CODES = frozenset(
    {
        "AccessDenied",
        "AccessDeniedException",
        "UnauthorizedOperation",
        "AuthorizationError",
        "UnauthorizedAccess",
        "AllAccessDisabled",
        "InvalidClientTokenId",
        "ExpiredToken",
        "SignatureDoesNotMatch",
        "AuthFailure",
        "UnrecognizedClientException",
    }
)
THROTTLE_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "SlowDown",
        "ProvisionedThroughputExceededException",
        "RequestThrottled",
    }
)


class ApiFailure(Exception):
    """A read that failed after retries. ``permission`` is the IAM action it needed."""

    def __init__(self, service: str, operation: str, reason: str, code: str = "") -> None:
        # The operations table is built from the service registry, whose collectors call here.
        from phigate_providers.aws.operations import permission

        self.service = service
        self.operation = operation
        self.permission = permission(service, operation)
        self.code = code
        self.denied = code in DENIED_CODES
        super().__init__(reason)

    def describe(self, what: str) -> str:
        """One line for the report: what could not be read, why, and the action needed."""
        if self.denied:
            return f"{what}: access denied to {self.permission}"
        return f"{what}: {self.operation} failed ({self}); needs {self.permission}"


def _client_name(client: Any) -> str:
    return str(client.meta.service_model.service_name)


def _failure(client: Any, operation: str, exc: Exception) -> ApiFailure:
    service = _client_name(client)
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        code = str(error.get("Code", ""))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in THROTTLE_CODES:
            reason = f"throttled past retries ({code})"
        elif code in DENIED_CODES:
            reason = f"access denied ({code})"
        else:
            reason = f"{code or 'error'} (HTTP {status})"
        return ApiFailure(service, operation, reason, code)
    # Connection errors, timeouts, missing credentials, unknown endpoints: the message is
    # botocore's own and names no secret once the endpoint URL's user-info is taken out.
    first_line = without_userinfo(str(exc).splitlines()[0])
    return ApiFailure(service, operation, f"{type(exc).__name__}: {first_line}")


def call(client: Any, operation: str, absent: Collection[str] = (), **params: Any) -> dict[str, Any] | None:
    """Call ``operation`` (its Python name is derived); ``None`` when the error code is in
    ``absent`` (e.g. ``NoSuchBucketPolicy``: the setting does not exist)."""
    method = getattr(client, xform_name(operation))
    try:
        response: dict[str, Any] = method(**params)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in absent:
            return None
        raise _failure(client, operation, exc) from None
    except BotoCoreError as exc:
        raise _failure(client, operation, exc) from None
    return response


def whole_pages(client: Any, operation: str, **params: Any) -> Iterator[dict[str, Any]]:
    """Every page of a paginated operation."""
    paginator = client.get_paginator(xform_name(operation))
    try:
        yield from paginator.paginate(**params)
    except (ClientError, BotoCoreError) as exc:
        raise _failure(client, operation, exc) from None


def pages(client: Any, operation: str, key: str, **params: Any) -> Iterator[Any]:
    """Every item under ``key`` across all pages of a paginated operation."""
    for page in whole_pages(client, operation, **params):
        yield from page.get(key, ())


def token_pages(client: Any, operation: str, key: str) -> Iterator[Any]:
    """Every item under ``key`` of an operation paged by ``NextToken`` that the SDK has no
    paginator for. A token handed back twice would page forever: a failure, not an end."""
    token: str | None = None
    seen: set[str] = set()
    while True:
        page = call(client, operation, **({"NextToken": token} if token else {})) or {}
        yield from page.get(key) or ()
        token = page.get("NextToken")
        if not token:
            return
        if token in seen:
            raise ApiFailure(_client_name(client), operation, "the listing repeats a page token")
        seen.add(token)


__all__ = ["ApiFailure", "call", "pages", "token_pages", "whole_pages"]
