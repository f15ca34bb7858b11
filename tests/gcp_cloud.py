"""Resource Manager, IAM and Cloud Storage's managed folders as recorded: no emulator serves
them, so their replies are replayed, in the shapes the real APIs return, at their real addresses
(managed folders at whatever storage endpoint is in use, the emulator's included), through
``responses`` (the same ``requests`` transport, session and retries the provider uses).

Shapes recorded from the APIs (ids and e-mail addresses replaced):

- ``projects.getAncestry`` (v1): ``{"ancestor": [{"resourceId": {"type": "project", "id": P}}, …]}``,
  nearest first; a project outside any organisation has itself only.
- ``getIamPolicy`` (v3 projects, folders, organisations; v1 service accounts): ``{"version": 1,
  "etag": "BwYRh8pQ3xA=", "bindings": [{"role": …, "members": […]}]}``; a conditional binding
  carries ``condition: {title, description, expression}`` and the policy ``version: 3``; a
  service account nobody was granted on answers ``{"etag": "ACAB"}`` (no bindings at all).
- ``projects.serviceAccounts.list`` (v1): ``{"accounts": [{name, projectId, uniqueId, email,
  displayName, etag, oauth2ClientId}], "nextPageToken": …}``; a project without accounts
  answers ``{}``.
- ``projects.serviceAccounts.keys.list`` (v1, ``keyTypes=USER_MANAGED``): ``{"keys": [{"name":
  "projects/P/serviceAccounts/E/keys/K", "validAfterTime": "2025-06-01T08:30:00Z", "validBeforeTime":
  "9999-12-31T23:59:59Z", "keyAlgorithm": "KEY_ALG_RSA_2048", "keyOrigin": "GOOGLE_PROVIDED",
  "keyType": "USER_MANAGED"}]}`` (``"disabled": true`` on a disabled key); none answers ``{}``.
- ``roles.get`` (v1): ``{"name", "title", "description", "includedPermissions", "stage", "etag"}``.
- ``projects.getEffectiveOrgPolicy`` (v1, https://cloud.google.com/resource-manager/reference/rest/v1/
  projects/getEffectiveOrgPolicy): ``{"constraint", "booleanPolicy": {"enforced": true}, "updateTime"}``;
  ``"booleanPolicy": {}`` where nothing above the project sets the constraint.
- ``managedFolders.list`` (storage v1): ``{"kind": "storage#managedFolders", "items": [{"kind":
  "storage#managedFolder", "id": "B/F/", "name": "F/", "bucket": B, "metageneration",
  "createTime", "updateTime"}]}``; ``managedFolders.getIamPolicy``: ``{"kind": "storage#policy",
  "resourceId": "projects/_/buckets/B/managedFolders/F/", "version", "etag", "bindings"}``.
- ``projects.hmacKeys.list`` (storage v1, https://cloud.google.com/storage/docs/json_api/v1/projects/hmacKeys):
  ``{"kind": "storage#hmacKeysMetadata", "items": [{"kind": "storage#hmacKeyMetadata", "id": "P/A",
  "selfLink", "accessId": A, "projectId": P, "serviceAccountEmail": E, "state": "ACTIVE" | "INACTIVE",
  "timeCreated", "updated", "etag"}]}``; none answers without ``items``.
- IAM v2 deny policies (https://cloud.google.com/iam/docs/reference/rest/v2/policies/listPolicies
  and ``policies.get``): the listing, ``GET v2/policies/cloudresourcemanager.googleapis.com%2F
  projects%2FP/denypolicies``, answers metadata only (``{"policies": [{"name": "policies/
  cloudresourcemanager.googleapis.com%2Fprojects%2F123456789012/denypolicies/NAME", "uid", "kind":
  "DenyPolicy", "displayName", "etag", "createTime", "updateTime"}]}``, the project by its number;
  ``{}`` when none is attached); ``GET v2/NAME`` adds ``"rules": [{"description", "denyRule":
  {"deniedPrincipals", "exceptionPrincipals", "deniedPermissions", "exceptionPermissions",
  "denialCondition": {"title", "expression"}}}]``.
- Errors: ``{"error": {"code": 403, "message": "…", "status": "PERMISSION_DENIED"}}``.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import responses

from .gcp_stores import Stores

RM = "https://cloudresourcemanager.googleapis.com"
IAM = "https://iam.googleapis.com/v1"
ANCESTRY = re.compile(re.escape(RM) + r"/v1/projects/(?P<project>[^/:]+):getAncestry$")
POLICY = re.compile(re.escape(RM) + r"/v3/(?P<name>(?:projects|folders|organizations)/[^/:]+):getIamPolicy$")
ACCOUNTS = re.compile(re.escape(IAM) + r"/projects/(?P<project>[^/]+)/serviceAccounts(?:\?.*)?$")
ACCOUNT_POLICY = re.compile(re.escape(IAM) + r"/projects/(?P<project>[^/]+)/serviceAccounts/"
                            r"(?P<email>[^/:]+):getIamPolicy(?:\?.*)?$")
ACCOUNT_KEYS = re.compile(re.escape(IAM) + r"/projects/(?P<project>[^/]+)/serviceAccounts/"
                          r"(?P<email>[^/:]+)/keys\?keyTypes=USER_MANAGED$")
ORG_POLICY = re.compile(re.escape(RM) + r"/v1/projects/(?P<project>[^/:]+):getEffectiveOrgPolicy$")
ROLE = re.compile(re.escape(IAM) + r"/(?P<name>(?:roles|(?:projects|organizations)/[^/]+/roles)/[^/?]+)$")
DENY_LIST = re.compile(r"^https://iam\.googleapis\.com/v2/policies/cloudresourcemanager\.googleapis\.com"
                       r"%2F(?P<kind>projects|folders|organizations)%2F(?P<id>[^/%?]+)/denypolicies(?:\?.*)?$")
DENY_GET = re.compile(r"^https://iam\.googleapis\.com/v2/policies/cloudresourcemanager\.googleapis\.com"
                      r"%2F(?P<kind>projects|folders|organizations)%2F(?P<id>[^/%?]+)/denypolicies/(?P<name>[^/?]+)$")
HMAC = re.compile(r"^https?://[^/]+/storage/v1/projects/(?P<project>[^/?]+)/hmacKeys(?:\?.*)?$")
FOLDERS = re.compile(r"^https?://[^/]+/storage/v1/b/(?P<bucket>[^/?]+)/managedFolders"
                     r"(?:/(?P<folder>[^/?]+)/iam)?(?:\?.*)?$")
STATUS = {400: "INVALID_ARGUMENT", 403: "PERMISSION_DENIED", 404: "NOT_FOUND", 429: "RESOURCE_EXHAUSTED",
          500: "INTERNAL", 503: "UNAVAILABLE"}
#: Real permissions of a predefined role outside the built-in table (abridged to what matters).
PUBSUB_VIEWER = ["pubsub.schemas.get", "pubsub.schemas.list", "pubsub.snapshots.get", "pubsub.snapshots.list",
                 "pubsub.subscriptions.get", "pubsub.subscriptions.list", "pubsub.topics.get",
                 "pubsub.topics.list", "resourcemanager.projects.get"]


def error(code: int) -> dict[str, Any]:
    return {"error": {"code": code, "message": "The caller does not have permission (caller@example.org)",
                      "status": STATUS.get(code, "UNKNOWN")}}


def policy(*bindings: dict[str, Any], etag: str = "BwYRh8pQ3xA=") -> dict[str, Any]:
    """A policy as getIamPolicy returns it: version 3 once a binding is conditional."""
    conditional = any("condition" in b for b in bindings)
    reply: dict[str, Any] = {"version": 3 if conditional else 1, "etag": etag}
    if bindings:
        reply["bindings"] = list(bindings)
    return reply


def account(project: str, email: str) -> dict[str, Any]:
    return {"name": f"projects/{project}/serviceAccounts/{email}", "projectId": project,
            "uniqueId": "112233445566778899001", "email": email, "displayName": email.split("@", maxsplit=1)[0],
            "etag": "MDEwMjE5MjA=", "oauth2ClientId": "112233445566778899001"}


@dataclass
class Cloud:
    """What Resource Manager and IAM answer; an int in place of a reply is an HTTP error."""

    ancestry: dict[str, list[str] | int] = field(default_factory=dict)  # default: the project alone
    policies: dict[str, dict[str, Any] | int] = field(default_factory=dict)  # default: no binding
    accounts: dict[str, list[str] | int] = field(default_factory=dict)  # default: none
    account_policies: dict[str, dict[str, Any] | int] = field(default_factory=dict)  # default: ACAB
    roles: dict[str, list[str] | int] = field(default_factory=lambda: {
        "roles/pubsub.viewer": PUBSUB_VIEWER})  # default: 404
    #: User-managed keys per service account e-mail, as (key id, created, disabled); default: none.
    keys: dict[str, list[tuple[str, str, bool]] | int] = field(default_factory=dict)
    #: Cloud Storage HMAC keys per project, as (access id, service account, created, state).
    hmac: dict[str, list[tuple[str, str, str, str]] | int] = field(default_factory=dict)
    #: Managed folders per bucket, each with its policy (an int in place of either: an error).
    folders: dict[str, dict[str, dict[str, Any] | int] | int] = field(default_factory=dict)
    #: Projects whose effective organisation policy enforces public access prevention (set on
    #: the project or above it); the others answer it unset.
    prevention: dict[str, bool | int] = field(default_factory=dict)
    #: Deny rules (``denyRule`` objects) attached to ``projects/P``, ``folders/F`` or
    #: ``organizations/O``, one deny policy each; an int in place: the listing's HTTP error.
    denies: dict[str, list[dict[str, Any]] | int] = field(default_factory=dict)
    #: Project numbers, as deny policies' names spell their projects (default: the id).
    numbers: dict[str, str] = field(default_factory=dict)
    #: Service-account listing page size: several pages when there are more accounts.
    page_size: int = 100
    #: BigQuery, Cloud SQL, Compute Engine and the Healthcare API (by default: nothing in them).
    stores: Stores = field(default_factory=Stores)

    def register(self, mock: responses.RequestsMock) -> None:
        mock.add_callback(responses.POST, ANCESTRY, callback=self._ancestry)
        mock.add_callback(responses.POST, POLICY, callback=self._policy)
        mock.add_callback(responses.GET, ACCOUNTS, callback=self._accounts)
        mock.add_callback(responses.POST, ACCOUNT_POLICY, callback=self._account_policy)
        mock.add_callback(responses.GET, ACCOUNT_KEYS, callback=self._account_keys)
        mock.add_callback(responses.GET, ROLE, callback=self._role)
        mock.add_callback(responses.GET, FOLDERS, callback=self._folders)
        mock.add_callback(responses.POST, ORG_POLICY, callback=self._org_policy)
        mock.add_callback(responses.GET, HMAC, callback=self._hmac)
        mock.add_callback(responses.GET, DENY_LIST, callback=self._deny_list)
        mock.add_callback(responses.GET, DENY_GET, callback=self._deny_get)
        self.stores.register(mock)

    def _org_policy(self, request: Any) -> tuple[int, dict[str, str], str]:
        assert json.loads(request.body or b"{}") == {"constraint": "constraints/storage.publicAccessPrevention"}
        enforced = self.prevention.get(_match(ORG_POLICY, request)["project"], False)
        if isinstance(enforced, int) and not isinstance(enforced, bool):
            return _error(enforced)
        # An unset boolean constraint comes back with an empty booleanPolicy.
        return _ok({"constraint": "constraints/storage.publicAccessPrevention",
                    "booleanPolicy": {"enforced": True} if enforced else {},
                    **({"updateTime": "2025-11-04T10:12:31.204Z"} if enforced else {})})

    def _folders(self, request: Any) -> tuple[int, dict[str, str], str]:
        found = _match(FOLDERS, request)
        bucket, folder = unquote(found["bucket"]), found["folder"]
        folders = self.folders.get(bucket, {})
        if isinstance(folders, int):
            return _error(folders)
        if folder is None:
            reply: dict[str, Any] = {"kind": "storage#managedFolders"}
            if folders:
                reply["items"] = [{"kind": "storage#managedFolder", "id": f"{bucket}/{name}", "name": name,
                                   "bucket": bucket, "metageneration": "1",
                                   "createTime": "2026-03-02T09:14:07.120Z", "updateTime": "2026-03-02T09:14:07.120Z"}
                                  for name in sorted(folders)]
            return _ok(reply)
        name = unquote(folder)
        folder_policy = folders.get(name, 404)
        if isinstance(folder_policy, int):
            return _error(folder_policy)
        return _ok({"kind": "storage#policy", "resourceId": f"projects/_/buckets/{bucket}/managedFolders/{name}",
                    **folder_policy})

    def _ancestry(self, request: Any) -> tuple[int, dict[str, str], str]:
        project = _match(ANCESTRY, request)["project"]
        names = self.ancestry.get(project, [f"projects/{project}"])
        if isinstance(names, int):
            return _error(names)
        kinds = {"projects": "project", "folders": "folder", "organizations": "organization"}
        return _ok({"ancestor": [{"resourceId": {"type": kinds[n.split("/")[0]], "id": n.split("/")[1]}}
                                 for n in names]})

    def _policy(self, request: Any) -> tuple[int, dict[str, str], str]:
        body = json.loads(request.body or b"{}")
        assert body == {"options": {"requestedPolicyVersion": 3}}, body  # conditions are asked for
        reply = self.policies.get(_match(POLICY, request)["name"], policy())
        return _error(reply) if isinstance(reply, int) else _ok(reply)

    def _accounts(self, request: Any) -> tuple[int, dict[str, str], str]:
        project = _match(ACCOUNTS, request)["project"]
        emails = self.accounts.get(project, [])
        if isinstance(emails, int):
            return _error(emails)
        start = int(parse_qs(urlsplit(request.url).query).get("pageToken", ["0"])[0])
        page = emails[start:start + self.page_size]
        reply: dict[str, Any] = {"accounts": [account(project, e) for e in page]} if page else {}
        if start + self.page_size < len(emails):
            reply["nextPageToken"] = str(start + self.page_size)
        return _ok(reply)

    def _account_policy(self, request: Any) -> tuple[int, dict[str, str], str]:
        reply = self.account_policies.get(_match(ACCOUNT_POLICY, request)["email"], {"etag": "ACAB"})
        return _error(reply) if isinstance(reply, int) else _ok(reply)

    def _account_keys(self, request: Any) -> tuple[int, dict[str, str], str]:
        found = _match(ACCOUNT_KEYS, request)
        project, email = found["project"], unquote(found["email"])
        keys = self.keys.get(email, [])
        if isinstance(keys, int):
            return _error(keys)
        listed = [{"name": f"projects/{project}/serviceAccounts/{email}/keys/{key_id}",
                   "validAfterTime": created, "validBeforeTime": "9999-12-31T23:59:59Z",
                   "keyAlgorithm": "KEY_ALG_RSA_2048", "keyOrigin": "GOOGLE_PROVIDED", "keyType": "USER_MANAGED",
                   **({"disabled": True} if disabled else {})}
                  for key_id, created, disabled in keys]
        return _ok({"keys": listed} if listed else {})

    def _hmac(self, request: Any) -> tuple[int, dict[str, str], str]:
        project = _match(HMAC, request)["project"]
        keys = self.hmac.get(project, [])
        if isinstance(keys, int):
            return _error(keys)
        items = [{"kind": "storage#hmacKeyMetadata", "id": f"{project}/{access}",
                  "selfLink": f"https://www.googleapis.com/storage/v1/projects/{project}/hmacKeys/{access}",
                  "accessId": access, "projectId": project, "serviceAccountEmail": email, "state": state,
                  "timeCreated": created, "updated": created, "etag": "MTIzNA=="}
                 for access, email, created, state in keys]
        return _ok({"kind": "storage#hmacKeysMetadata", **({"items": items} if items else {})})

    def _deny_name(self, kind: str, ident: str) -> tuple[str, str]:
        """The attachment point's name as asked, and as deny policies' names spell it."""
        number = self.numbers.get(ident, ident) if kind == "projects" else ident
        return f"{kind}/{ident}", f"policies/cloudresourcemanager.googleapis.com%2F{kind}%2F{number}/denypolicies"

    def _deny_list(self, request: Any) -> tuple[int, dict[str, str], str]:
        found = _match(DENY_LIST, request)
        asked, prefix = self._deny_name(found["kind"], found["id"])
        rules = self.denies.get(asked, [])
        if isinstance(rules, int):
            return _error(rules)
        listed = [_deny_metadata(f"{prefix}/deny-{index}") for index in range(len(rules))]
        return _ok({"policies": listed} if listed else {})

    def _deny_get(self, request: Any) -> tuple[int, dict[str, str], str]:
        found = _match(DENY_GET, request)
        number = found["id"]
        ident = next((p for p, n in self.numbers.items() if n == number), number)
        asked, prefix = self._deny_name(found["kind"], ident)
        rules = self.denies.get(asked, [])
        index = int(found["name"].removeprefix("deny-"))
        assert not isinstance(rules, int) and index < len(rules), request.url
        return _ok({**_deny_metadata(f"{prefix}/{found['name']}"),
                    "rules": [{"description": "recorded", "denyRule": rules[index]}]})

    def _role(self, request: Any) -> tuple[int, dict[str, str], str]:
        name = _match(ROLE, request)["name"]
        permissions = self.roles.get(name, 404)
        if isinstance(permissions, int):
            return _error(permissions)
        return _ok({"name": name, "title": name.rsplit("/", 1)[-1], "description": "recorded",
                    "includedPermissions": permissions, "stage": "GA", "etag": "AA=="})


def _deny_metadata(name: str) -> dict[str, Any]:
    return {"name": name, "uid": "6d4f2a8e-0c1b-4b9e-9d3f-2a7c5e1b8f40", "kind": "DenyPolicy",
            "displayName": "guardrails", "etag": "MTc0NjQ1OTk3Mg==", "createTime": "2026-02-11T09:12:40.118Z",
            "updateTime": "2026-02-11T09:12:40.118Z"}


def _match(pattern: re.Pattern[str], request: Any) -> re.Match[str]:
    found = pattern.match(request.url)
    assert found is not None, request.url
    return found


def _ok(body: dict[str, Any]) -> tuple[int, dict[str, str], str]:
    return 200, {"Content-Type": "application/json"}, json.dumps(body)


def _error(code: int) -> tuple[int, dict[str, str], str]:
    return code, {"Content-Type": "application/json"}, json.dumps(error(code))


__all__ = ["Cloud", "account", "error", "policy"]
