"""The only requests this provider sends: list buckets, read a bucket's IAM policy, read a key;
for the access graph, read a project's ancestry, the IAM policies of projects, folders,
organisations and service accounts, the project's service accounts, and role definitions; for
authentication policies, the user-managed keys of those service accounts.

Cloud Storage is read through google-cloud-storage's client: ``list_buckets`` page by page, and
``get_iam_policy`` (policy version 3, so conditional bindings come back) on a bucket object made
from its name, which sends nothing by itself: the listing already returned the bucket's metadata.
Cloud KMS has no client library among the dependencies: its ``cryptoKeys.get`` goes through the
authorized session of the same storage client. All three are GETs, bounded per attempt by
``timeout`` and retried with the storage library's retry policy (408, 429, 500, 502, 503, 504,
connection failures, timeouts) with exponential back-off until ``retry_deadline``.

Resource Manager and IAM have no client library among the dependencies either: they go through
the same session. Their ``getIamPolicy`` and ``getAncestry`` methods are POSTs by the APIs'
design, yet read-only (they change nothing, need only ``…getIamPolicy``/``…get`` permissions);
every other request is a GET.

Each thread has its own client, and so its own connection pool: the scan reads IAM policies and
keys from a thread pool of up to 64 workers, more than one client's pool (10 connections) holds.
BigQuery, Cloud SQL, Compute Engine and the Healthcare API are read the same way, through their
REST APIs on that session (:mod:`phigate_providers.gcp.stores`): their client libraries would
add several packages (and gRPC) for a handful of GETs, which the session already sends with the
same credentials, timeouts, retries and failure reports. BigQuery's ``tables.getIamPolicy`` is
a read-only POST like the others; Compute Engine's and the Healthcare API's are GETs.

With ``STORAGE_EMULATOR_HOST`` set, the client sends Cloud Storage requests to that emulator,
anonymously.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import quote

import google.auth
from google.api_core import exceptions as api_exceptions
from google.auth import exceptions as auth_exceptions
from google.auth.credentials import AnonymousCredentials, Credentials
from google.cloud import storage
from google.cloud.storage.retry import DEFAULT_RETRY
from google.oauth2 import service_account

from phigate.api import InputError
from phigate_providers.gcp.failures import check_complete
from phigate_providers.gcp.settings import GcpSettings

EMULATOR_ENV = "STORAGE_EMULATOR_HOST"
KMS_ENDPOINT = "https://cloudkms.googleapis.com/v1/"
RESOURCE_MANAGER = "https://cloudresourcemanager.googleapis.com/"
IAM_ENDPOINT = "https://iam.googleapis.com/v1/"
IAM_V2 = "https://iam.googleapis.com/v2/"
#: The read-only POST methods (``…:getIamPolicy``, ``…:getAncestry``, ``…:getEffectiveOrgPolicy``).
READ_METHODS = (":getIamPolicy", ":getAncestry", ":getEffectiveOrgPolicy")
#: The organisation policy constraint that enforces public access prevention on every bucket below.
PUBLIC_ACCESS_PREVENTION = "constraints/storage.publicAccessPrevention"
PAGE_SIZE = 1000
SCOPES = ["https://www.googleapis.com/auth/cloud-platform"]
MAX_BACKOFF = 30.0
IAM_POLICY_VERSION = 3


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


def storage_client(credentials: Credentials) -> Any:
    """A google-cloud-storage client bound to no default project: every call names its project."""
    host = emulator_host()
    options = {"api_endpoint": emulator_url(host)} if host else None
    client = storage.Client(project=None, credentials=credentials, client_options=options)
    # From 3.11 the library fetches each bucket's metadata in a background thread the first time
    # a bucket method runs (to label tracing spans). That GET needs storage.buckets.get, which the
    # audit role does not grant: it would be denied and land in the audited project's audit logs,
    # outside this scan's timeout and retries. The listing already returned the metadata, so the
    # fetch is switched off for this client only (the library's environment switch,
    # DISABLE_GCS_PYTHON_CLIENT_OTEL_BUCKET_METADATA, would change the whole process).
    client._bucket_metadata_cache = None
    return client


class Api:
    """Read-only calls with retries; safe to use from several threads (one client each)."""

    def __init__(self, settings: GcpSettings, credentials: Credentials) -> None:
        self._credentials = credentials
        self._timeout = settings.timeout
        self._retry = DEFAULT_RETRY.with_timeout(settings.retry_deadline).with_delay(
            initial=settings.retry_initial_delay, maximum=MAX_BACKOFF, multiplier=2.0)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._clients: list[Any] = []  # every client made, closed at the end

    def close(self) -> None:
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            client.close()

    def bucket_pages(self, project: str) -> Iterator[list[dict[str, Any]]]:
        """The project's buckets as ``buckets.list`` describes them, one page at a time."""
        listing = self._client().list_buckets(project=project, page_size=PAGE_SIZE, retry=self._retry,
                                              timeout=self._timeout)
        for page in listing.pages:
            # The page's JSON, as the API wrote it: the normaliser reads the documented fields.
            # A page holds no ``items`` when the project has no bucket; any other shape would hide
            # buckets, so it fails the listing (ValueError: "unexpected answer") rather than skip them.
            raw = page.raw_page
            items = raw.get("items", []) if isinstance(raw, Mapping) else None
            if not isinstance(items, list) or not all(isinstance(item, Mapping) for item in items):
                raise ValueError("a bucket listing page is not the JSON the API documents")
            yield [dict(item) for item in items]

    def iam_policy(self, bucket_name: str) -> dict[str, Any]:
        """The bucket's IAM policy, version 3 (conditional bindings included), as JSON."""
        policy = self._client().bucket(bucket_name).get_iam_policy(
            requested_policy_version=IAM_POLICY_VERSION, retry=self._retry, timeout=self._timeout)
        return {"version": policy.version, "bindings": [_binding_json(b) for b in policy.bindings]}

    def managed_folders(self, bucket_name: str) -> list[tuple[str, dict[str, Any]]]:
        """Each managed folder of the bucket (``managedFolders.list``, every page) with its own IAM
        policy (``managedFolders.getIamPolicy``, version 3): grants on objects under a prefix,
        which the bucket's policy does not show. The storage library has no method for them:
        they are sent through its JSON connection, with its headers, retries and errors."""
        connection = self._client()._connection
        path = f"/b/{quote(bucket_name, safe='')}/managedFolders"

        def get(at: str, query: dict[str, Any]) -> dict[str, Any]:
            body = connection.api_request(method="GET", path=at, query_params=query, timeout=self._timeout,
                                          retry=self._retry)
            if not isinstance(body, dict):
                raise ValueError("not a JSON object")
            return body

        def page(token: str | None) -> dict[str, Any]:
            return get(path, {"pageSize": PAGE_SIZE, **({"pageToken": token} if token else {})})
        folders = _paged(page, "items", "name", "managed folder")
        return [(name, self._policy(get(f"{path}/{quote(name, safe='')}/iam",
                                        {"optionsRequestedPolicyVersion": IAM_POLICY_VERSION})))
                for name in folders]

    def kms_key(self, name: str) -> dict[str, Any]:
        """A Cloud KMS key's metadata (``cryptoKeys.get``; no key material exists in it)."""
        return self._json(KMS_ENDPOINT + name)

    def ancestry(self, project: str) -> list[str]:
        """The project and its ancestors, nearest first: ``projects/P``, ``folders/F`` …,
        ``organizations/O`` (``projects.getAncestry``, needs resourcemanager.projects.get)."""
        body = self._json(f"{RESOURCE_MANAGER}v1/projects/{project}:getAncestry", post={})
        ancestors = body.get("ancestor")
        names: list[str] = []
        kinds = {"project": "projects", "folder": "folders", "organization": "organizations"}
        for entry in ancestors if isinstance(ancestors, list) else ():
            resource = entry.get("resourceId") if isinstance(entry, Mapping) else None
            kind = kinds.get(str(resource.get("type"))) if isinstance(resource, Mapping) else None
            ident = resource.get("id") if isinstance(resource, Mapping) else None
            if kind is None or not isinstance(ident, str) or not ident:
                raise ValueError("an ancestor of another shape")
            names.append(f"{kind}/{ident}")
        if not names or names[0] != f"projects/{project}":
            raise ValueError("an ancestry that does not start with the project")
        return names

    def public_access_prevention(self, project: str) -> bool:
        """Whether the organisation policy in effect on the project (set there or on a folder or
        the organisation above it) enforces public access prevention on its buckets
        (``projects.getEffectiveOrgPolicy``, needs orgpolicy.policy.get)."""
        body = self._json(f"{RESOURCE_MANAGER}v1/projects/{project}:getEffectiveOrgPolicy",
                          post={"constraint": PUBLIC_ACCESS_PREVENTION})
        boolean = body.get("booleanPolicy", {})
        if not isinstance(boolean, Mapping):
            raise ValueError("an organisation policy of another shape")
        return boolean.get("enforced") is True

    def resource_policy(self, name: str) -> dict[str, Any]:
        """The IAM policy (version 3) of ``projects/P``, ``folders/F`` or ``organizations/O``."""
        return self._policy(self._json(f"{RESOURCE_MANAGER}v3/{name}:getIamPolicy",
                                       post={"options": {"requestedPolicyVersion": IAM_POLICY_VERSION}}))

    def deny_policies(self, name: str) -> list[dict[str, Any]]:
        """The IAM deny policies attached to ``projects/P``, ``folders/F`` or ``organizations/O``,
        each with its rules: ``policies.listPolicies`` answers their metadata only, so each is
        read with ``policies.get`` (needs iam.denypolicies.list and iam.denypolicies.get)."""
        attachment = quote(f"cloudresourcemanager.googleapis.com/{name}", safe="")
        listed = self.items(f"{IAM_V2}policies/{attachment}/denypolicies", "policies")
        names = [item.get("name") for item in listed]
        if not all(isinstance(n, str) and n.startswith("policies/") for n in names):
            raise ValueError("a deny policy without its name")
        return [self._json(IAM_V2 + str(n)) for n in names]

    def service_accounts(self, project: str) -> list[str]:
        """The e-mail addresses of the project's service accounts, every page."""
        def page(token: str | None) -> dict[str, Any]:
            query = f"?pageSize=100&pageToken={quote(token, safe='')}" if token else "?pageSize=100"
            return self._json(f"{IAM_ENDPOINT}projects/{project}/serviceAccounts{query}")
        return _paged(page, "accounts", "email", "service account")

    def service_account_policy(self, project: str, email: str) -> dict[str, Any]:
        """Who may act as, or mint tokens for, a service account (its own IAM policy)."""
        return self._policy(self._json(
            f"{IAM_ENDPOINT}projects/{project}/serviceAccounts/{email}:getIamPolicy"
            f"?options.requestedPolicyVersion={IAM_POLICY_VERSION}", post={}))

    def service_account_keys(self, project: str, email: str) -> list[dict[str, Any]]:
        """The user-managed keys of a service account (one page: the method does not page)."""
        listed = self._json(f"{IAM_ENDPOINT}projects/{project}/serviceAccounts/{email}/keys"
                            "?keyTypes=USER_MANAGED").get("keys", [])
        if not isinstance(listed, list) or not all(isinstance(k, Mapping) for k in listed):
            raise ValueError("a key listing of another shape")
        return [dict(k) for k in listed]

    def hmac_keys(self, project: str) -> list[dict[str, Any]]:
        """The project's Cloud Storage HMAC keys (``projects.hmacKeys.list``, every page; deleted
        ones are left out by the API): each names the service account it signs in as. The
        storage library's own method is used, with the client's retries."""
        listing = self._client().list_hmac_keys(project_id=project, max_results=PAGE_SIZE, retry=self._retry,
                                                timeout=self._timeout)
        found = [getattr(key, "_properties", None) for key in listing]
        if not all(isinstance(item, Mapping) for item in found):
            raise ValueError("an HMAC key listing of another shape")
        return [dict(item) for item in found if item is not None]

    def role(self, name: str) -> frozenset[str]:
        """The permissions of a role: ``roles/X`` (predefined), ``projects/P/roles/X`` or
        ``organizations/O/roles/X`` (custom; needs iam.roles.get)."""
        permissions = self._json(IAM_ENDPOINT + name).get("includedPermissions", [])
        if not isinstance(permissions, list) or not all(isinstance(p, str) for p in permissions):
            raise ValueError("a role of another shape")
        return frozenset(permissions)

    def get(self, url: str) -> dict[str, Any]:
        """One GET of a Google REST API answering a JSON object."""
        return self._json(url)

    def read_post(self, url: str, body: dict[str, Any]) -> dict[str, Any]:
        """One of the read-only POST methods (``…:getIamPolicy``), answering a JSON object."""
        if not url.split("?", 1)[0].endswith(READ_METHODS):
            raise ValueError("only read-only methods are posted")
        return self._json(url, post=body)

    def iam(self, url: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """An IAM policy read by GET (``body`` None) or by the read-only POST, checked for shape."""
        return self._policy(self._json(url) if body is None else self.read_post(url, body))

    def items(self, url: str, key: str, size: str = "pageSize") -> list[dict[str, Any]]:
        """Every page's ``key`` list of a Google REST listing (``size`` names the page size
        parameter: ``pageSize``, or ``maxResults`` in older APIs). A page of another shape, or an
        item that is not an object, raises: it could hide resources."""
        found: list[dict[str, Any]] = []
        token: str | None = None
        joiner = "&" if "?" in url else "?"
        while True:
            query = f"{joiner}{size}={PAGE_SIZE if size == 'pageSize' else 500}"
            if token:
                query += f"&pageToken={quote(token, safe='')}"
            body = self._json(url + query)
            check_complete(body)  # a location, zone or region it could not reach: never skipped
            listed = body.get(key, [])
            if not isinstance(listed, list) or not all(isinstance(item, Mapping) for item in listed):
                raise ValueError(f"a {key} page of another shape")
            found.extend(dict(item) for item in listed)
            token = body.get("nextPageToken") or None
            if token is None:
                return found

    def _json(self, url: str, post: dict[str, Any] | None = None) -> dict[str, Any]:
        """One JSON request on the storage client's authorized session, with the same retries."""
        session = self._client()._http  # the storage client's authorized session

        def send() -> dict[str, Any]:
            if post is None:
                response = session.get(url, timeout=self._timeout)
            else:
                response = session.post(url, json=post, timeout=self._timeout)
            if response.status_code >= 400:
                raise api_exceptions.from_http_response(response)  # type: ignore[no-untyped-call]
            body = response.json()
            if not isinstance(body, dict):
                raise ValueError("not a JSON object")
            return body

        result: dict[str, Any] = self._retry(send)()
        return result

    @staticmethod
    def _policy(body: Mapping[str, Any]) -> dict[str, Any]:
        bindings = body.get("bindings", [])
        if not isinstance(bindings, list) or not all(_documented_binding(b) for b in bindings):
            raise ValueError("a policy of another shape")
        return {"version": body.get("version"), "etag": body.get("etag"),
                "bindings": [dict(b) for b in bindings]}

    def storage(self) -> Any:
        """This thread's google-cloud-storage client (content sampling lists and reads objects
        through it, only when it is on)."""
        return self._client()

    def _client(self) -> Any:
        client = getattr(self._local, "client", None)
        if client is None:
            client = storage_client(self._credentials)
            self._local.client = client
            with self._lock:
                self._clients.append(client)
        return client


def _documented_binding(binding: Any) -> bool:
    """A binding as the APIs document it: a role and a list of member strings (a string in place
    of the list would otherwise be read letter by letter)."""
    if not isinstance(binding, Mapping) or not isinstance(binding.get("role"), str):
        return False
    members = binding.get("members", [])
    return isinstance(members, list) and all(isinstance(m, str) for m in members)


def _binding_json(binding: Mapping[str, Any]) -> dict[str, Any]:
    """A binding as the API wrote it, but for its members: the library made them a set."""
    return {**binding, "members": sorted(str(m) for m in binding.get("members") or ())}


def emulator_url(host: str) -> str:
    """The emulator's base URL (a bare ``host:port`` means HTTP), as the client's endpoint."""
    return ("" if "://" in host else "http://") + host.rstrip("/")




def _paged(page: Callable[[str | None], dict[str, Any]], items: str, field: str, what: str) -> list[str]:
    """Every page's ``items[].field`` (a page of another shape, or an item without it, raises)."""
    found: list[str] = []
    token: str | None = None
    while True:
        body = page(token)
        listed = body.get(items, [])
        if not isinstance(listed, list):
            raise ValueError(f"a {what} page of another shape")
        for item in listed:
            value = item.get(field) if isinstance(item, Mapping) else None
            if not isinstance(value, str) or not value:
                raise ValueError(f"a {what} without its {field}")
            found.append(value)
        token = body.get("nextPageToken") or None
        if token is None:
            return found

__all__ = ["EMULATOR_ENV", "READ_METHODS", "Api", "emulator_host", "emulator_url", "load_credentials",
           "storage_client"]
