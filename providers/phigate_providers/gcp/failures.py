"""What went wrong with a request, said in one line, without secrets.

Every failed read becomes a :class:`phigate.api.CollectionError`; this module turns the many
shapes a failure takes (an HTTP error, retries given up, a connection or DNS failure, a timeout,
credentials that cannot be refreshed) into a short message, and names the permission when the
answer was a denial. Server messages are not copied: they may quote the caller's identity.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests
from google.api_core import exceptions as api_exceptions
from google.auth import exceptions as auth_exceptions

#: A denial names the missing permission; 401 is about the credentials, not a permission.
DENIED = (403,)


@dataclass(frozen=True)
class Failure:
    """A failed read: what to say, the HTTP status when there was one."""

    reason: str
    status: int | None = None

    def needs(self, permission: str) -> str | None:
        """``permission`` when this failure is its denial, else None."""
        return permission if self.status in DENIED else None

    def described(self, permission: str | None) -> str:
        return f"{self.reason} (needs {permission})" if permission else self.reason


class Incomplete(Exception):
    """An answer that says part of what was asked could not be read (a zone a listing could not
    reach): its words are the provider's own, never the server's prose."""


#: Warnings that hide nothing: a scope of an aggregated listing holding none (Compute Engine),
#: a user's password found in a leak (Cloud SQL's instance listing). Any other warning of a
#: listing may mean part of it is missing (UNREACHABLE, PARTIAL_SUCCESS, REGION_UNREACHABLE,
#: MAX_RESULTS_EXCEEDS_LIMIT …).
QUIET_WARNINGS = frozenset({"NO_RESULTS_ON_PAGE", "COMPROMISED_CREDENTIALS"})


def check_complete(page: Mapping[str, Any]) -> None:
    """Raise :class:`Incomplete` when a listing page says part of it could not be read: locations
    or zones it could not reach (BigQuery's ``unreachable``, Compute Engine's ``unreachables``),
    or a warning (Compute Engine's ``warning``, Cloud SQL's ``warnings``) other than a quiet one."""
    for field in ("unreachable", "unreachables"):
        if page.get(field):
            raise Incomplete("locations or zones the listing could not reach")
    several = page.get("warnings")
    for warning in [page.get("warning"), *(several if isinstance(several, list) else ())]:
        code = warning.get("code") if isinstance(warning, Mapping) else None
        if warning is not None and code not in QUIET_WARNINGS:
            raise Incomplete(f"a listing that warns part of it could not be read ({str(code)[:40]})")


def describe(exc: BaseException) -> Failure:
    if isinstance(exc, Incomplete):
        return Failure(str(exc))
    if isinstance(exc, api_exceptions.RetryError):
        cause = describe(exc.cause) if exc.cause is not None else Failure("no answer")
        return Failure(f"gave up after retrying: {cause.reason}", cause.status)
    if isinstance(exc, api_exceptions.GoogleAPICallError):
        return _http(exc)
    if isinstance(exc, requests.exceptions.Timeout):
        return Failure("timed out")
    if isinstance(exc, requests.exceptions.ConnectionError):
        return Failure("could not connect (DNS, network or endpoint down)")
    if isinstance(exc, auth_exceptions.RefreshError):
        return Failure("credentials could not be refreshed")
    if isinstance(exc, auth_exceptions.TransportError):
        return Failure("could not reach the credentials endpoint")
    if isinstance(exc, ValueError):
        return Failure("unexpected answer (not the JSON the API documents)")
    return Failure(f"unexpected failure ({type(exc).__name__})")


def _http(exc: api_exceptions.GoogleAPICallError) -> Failure:
    status = int(exc.code) if exc.code is not None else None
    meaning = {
        400: "bad request", 401: "credentials rejected", 403: "permission denied",
        404: "not found", 429: "throttled",
    }.get(status or 0, "server error" if status and status >= 500 else "failed")
    reason = _reason(exc)
    detail = f" ({reason})" if reason else ""
    return Failure(f"{meaning}: HTTP {status}{detail}", status)


def _reason(exc: api_exceptions.GoogleAPICallError) -> str | None:
    """Google's short machine reason (``forbidden``, ``accessNotConfigured`` …), never its prose."""
    for error in exc.errors or ():
        if isinstance(error, dict) and isinstance(error.get("reason"), str):
            return str(error["reason"])[:60]
    return exc.reason[:60] if isinstance(exc.reason, str) else None


__all__ = ["QUIET_WARNINGS", "Failure", "Incomplete", "check_complete", "describe"]
