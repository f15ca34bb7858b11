"""The only requests this provider sends: list buckets, read a bucket's IAM policy, read a key.

All three are GETs, sent on google-auth's authorized session: no client library in between, so
no request is made that this module does not show (the storage library, for one, may fetch bucket
metadata in the background for tracing). Each is retried with google-api-core's exponential
back-off on throttling, server errors and connection failures within a bounded deadline, and
bounded per attempt by a timeout. Sessions are per thread: the scan reads IAM policies and keys
from a thread pool.
With ``STORAGE_EMULATOR_HOST`` set, Cloud Storage requests go to that emulator, anonymously.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import google.auth
import requests
from google.api_core import exceptions as api_exceptions
from google.api_core.retry import Retry, if_exception_type
from google.auth import exceptions as auth_exceptions
from google.auth.credentials import AnonymousCredentials, Credentials
from google.auth.transport.requests import AuthorizedSession
from google.oauth2 import service_account

from phigate.api import InputError
from phigate_providers.gcp.settings import GcpSettings

EMULATOR_ENV = "STORAGE_EMULATOR_HOST"
STORAGE_ENDPOINT = "https://storage.googleapis.com/storage/v1"
KMS_ENDPOINT = "https://cloudkms.googleapis.com/v1/"
PAGE_SIZE = 1000
SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
MAX_BACKOFF = 30.0
TRANSIENT = (
    api_exceptions.TooManyRequests, api_exceptions.InternalServerError, api_exceptions.BadGateway,
    api_exceptions.ServiceUnavailable, api_exceptions.GatewayTimeout,
    requests.exceptions.ConnectionError, requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError, auth_exceptions.TransportError,
)


def emulator_host() -> str | None:
    return os.environ.get(EMULATOR_ENV) or None


def load_credentials(settings: GcpSettings) -> Credentials:
    """The key file when one is given, else Application Default Credentials; anonymous for an
    emulator. Unusable credentials are the user's input to fix (InputError)."""
    loaded: Credentials | None = None
    if settings.credentials_file is not None:
        path = settings.credentials_file
        if not path.is_file():
            raise InputError(f"gcp: credentials file {path} does not exist")
        try:  # a service-account key only: a file of another credential type is not run
            loaded = service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
                str(path), scopes=SCOPES)
        except (auth_exceptions.DefaultCredentialsError, ValueError, KeyError, OSError):
            raise InputError(f"gcp: {path} is not a usable service-account key file") from None
    if emulator_host():
        return AnonymousCredentials()  # type: ignore[no-untyped-call]
    if loaded is not None:
        return loaded
    try:
        found, _ = google.auth.default(scopes=SCOPES)
    except auth_exceptions.DefaultCredentialsError:
        raise InputError("gcp: no Application Default Credentials found; run `gcloud auth "
                         "application-default login` or give --gcp-credentials FILE") from None
    return found


class Api:
    """Read-only calls with retries; safe to use from several threads (one session each)."""

    def __init__(self, settings: GcpSettings, credentials: Credentials) -> None:
        self._credentials = credentials
        self._storage = storage_endpoint()
        self._timeout = settings.timeout
        self._retry = Retry(predicate=if_exception_type(*TRANSIENT), initial=settings.retry_initial_delay,
                            maximum=MAX_BACKOFF, multiplier=2.0, timeout=settings.retry_deadline)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._sessions: list[AuthorizedSession] = []  # every session made, closed at the end

    def close(self) -> None:
        with self._lock:
            sessions, self._sessions = self._sessions, []
        for session in sessions:
            session.close()  # type: ignore[no-untyped-call]

    def bucket_pages(self, project: str) -> Iterator[list[dict[str, Any]]]:
        """The project's buckets as ``buckets.list`` describes them, one page at a time."""
        params: dict[str, Any] = {"project": project, "projection": "noAcl", "maxResults": PAGE_SIZE}
        while True:
            body = self._get(f"{self._storage}/b", params)
            items = body.get("items") or []
            yield [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []
            token = body.get("nextPageToken")
            if not token:
                return
            params = {**params, "pageToken": token}

    def iam_policy(self, bucket_name: str) -> dict[str, Any]:
        """The bucket's IAM policy, version 3 (conditional bindings included)."""
        return self._get(f"{self._storage}/b/{quote(bucket_name, safe='')}/iam",
                         {"optionsRequestedPolicyVersion": 3})

    def kms_key(self, name: str) -> dict[str, Any]:
        """A Cloud KMS key's metadata (``cryptoKeys.get``; no key material exists in it)."""
        return self._get(KMS_ENDPOINT + name)

    def _get(self, url: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        session = self._session()

        def get() -> dict[str, Any]:
            response = session.get(url, params=params, timeout=self._timeout)
            if response.status_code >= 400:
                raise api_exceptions.from_http_response(response)  # type: ignore[no-untyped-call]
            body = response.json()
            if not isinstance(body, dict):
                raise ValueError("not a JSON object")
            return body

        result: dict[str, Any] = self._retry(get)()
        return result

    def _session(self) -> AuthorizedSession:
        session: AuthorizedSession | None = getattr(self._local, "session", None)
        if session is None:
            session = AuthorizedSession(self._credentials)  # type: ignore[no-untyped-call]
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session


def storage_endpoint() -> str:
    """The JSON API's base URL: the emulator's when one is named (a bare host means HTTP)."""
    host = emulator_host()
    if host is None:
        return STORAGE_ENDPOINT
    return ("" if "://" in host else "http://") + host.rstrip("/") + "/storage/v1"


__all__ = ["EMULATOR_ENV", "Api", "emulator_host", "load_credentials", "storage_endpoint"]
