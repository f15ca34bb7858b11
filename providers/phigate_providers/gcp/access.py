"""Who can read which bucket: roles → permissions, members → principals with ``can_read``.

A member bound on a bucket can read its objects when its role holds ``storage.objects.get``,
or holds ``storage.buckets.setIamPolicy`` (it can grant itself that read at any moment, so the
access is effective). Predefined roles are described below from Google's published role
definitions; custom roles are described in ``providers.gcp.roles``. A role described nowhere
cannot be judged: its members are reported without ``can_read`` and with an error, never
assumed harmless.

Every member becomes ONE principal for the whole run, whatever the buckets and projects that
bind it, so "reads clinical and administrative data" is seen across buckets and projects.
A conditional binding counts as possible access; its condition is listed in
``undecided_conditions`` so that the reader sees why.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from phigate.api import CollectionError, Record, Resource

PROVIDER = "gcp"
OBJECTS_ALL = frozenset({"storage.objects.get", "storage.objects.list", "storage.objects.create",
                         "storage.objects.delete", "storage.objects.update",
                         "storage.objects.getIamPolicy", "storage.objects.setIamPolicy"})
BUCKETS_ALL = frozenset({"storage.buckets.get", "storage.buckets.list", "storage.buckets.create",
                         "storage.buckets.delete", "storage.buckets.update",
                         "storage.buckets.getIamPolicy", "storage.buckets.setIamPolicy"})
#: The storage permissions of predefined roles that can be bound on a bucket. Only whether
#: they read objects matters here; the sets follow Google's role reference.
PREDEFINED_ROLES: Mapping[str, frozenset[str]] = {
    "roles/storage.objectViewer": frozenset({"storage.objects.get", "storage.objects.list"}),
    "roles/storage.objectCreator": frozenset({"storage.objects.create"}),
    "roles/storage.objectUser": OBJECTS_ALL - {"storage.objects.getIamPolicy",
                                               "storage.objects.setIamPolicy"},
    "roles/storage.objectAdmin": OBJECTS_ALL,
    "roles/storage.folderAdmin": OBJECTS_ALL,
    "roles/storage.admin": OBJECTS_ALL | BUCKETS_ALL,
    "roles/storage.bucketViewer": frozenset({"storage.buckets.get", "storage.buckets.list"}),
    "roles/storage.legacyObjectReader": frozenset({"storage.objects.get"}),
    "roles/storage.legacyObjectOwner": frozenset({"storage.objects.get", "storage.objects.update",
                                                  "storage.objects.getIamPolicy",
                                                  "storage.objects.setIamPolicy"}),
    "roles/storage.legacyBucketReader": frozenset({"storage.buckets.get", "storage.objects.list"}),
    "roles/storage.legacyBucketWriter": frozenset({"storage.buckets.get", "storage.objects.list",
                                                   "storage.objects.create", "storage.objects.delete"}),
    "roles/storage.legacyBucketOwner": frozenset({"storage.buckets.get", "storage.buckets.update",
                                                  "storage.buckets.getIamPolicy",
                                                  "storage.buckets.setIamPolicy", "storage.objects.list",
                                                  "storage.objects.create", "storage.objects.delete"}),
    # Basic roles. In Cloud Storage, Viewer lists buckets and reads their metadata only. Owner
    # controls the project's IAM and Editor can act as the project's service accounts, so both
    # reach every object: counted as reading.
    "roles/viewer": frozenset({"storage.buckets.list"}),
    "roles/editor": OBJECTS_ALL | BUCKETS_ALL,
    "roles/owner": OBJECTS_ALL | BUCKETS_ALL,
}
#: Holding any of these on a bucket means reading its objects, now or after one IAM change.
READ_EFFECTIVE = ("storage.objects.get", "storage.buckets.setIamPolicy")
PUBLIC_MEMBERS = frozenset({"allUsers", "allAuthenticatedUsers"})


class RoleBook:
    """Which roles read objects: the built-in table, completed or overridden by the config."""

    def __init__(self, custom: Mapping[str, frozenset[str]]) -> None:
        self._roles = {**PREDEFINED_ROLES, **custom}

    def reads(self, role: str) -> bool | None:
        """True when the role reads objects, False when it does not, None when unknown."""
        permissions = self._roles.get(role)
        if permissions is None:
            return None
        return any(fnmatch.fnmatchcase(needed, held) for held in permissions for needed in READ_EFFECTIVE)


@dataclass(frozen=True)
class Binding:
    """One role binding of a bucket's IAM policy (a role, its members, maybe a condition)."""

    role: str
    members: tuple[str, ...]
    condition: str | None = None  # the condition's title (else its expression) when conditional

    @classmethod
    def from_api(cls, data: Mapping[str, Any]) -> Binding:
        condition = data.get("condition")
        label = None
        if isinstance(condition, Mapping):
            label = str(condition.get("title") or condition.get("expression") or "untitled condition")
        members = tuple(sorted({str(m) for m in data.get("members") or ()}))
        return cls(role=str(data.get("role", "")), members=members, condition=label)


def public_members(bindings: Iterable[Binding]) -> list[str]:
    """Members standing for everyone, bound to any role (conditionally or not)."""
    return sorted({m for b in bindings for m in b.members if m in PUBLIC_MEMBERS})


@dataclass
class _Member:
    projects: set[str] = field(default_factory=set)
    can_read: set[str] = field(default_factory=set)
    undecided: set[str] = field(default_factory=set)
    unknown_roles: set[str] = field(default_factory=set)


class Principals:
    """Accumulates every member's access over the run; yields them once everything is read."""

    def __init__(self, roles: RoleBook) -> None:
        self._roles = roles
        self._members: dict[str, _Member] = {}
        #: Why some bucket's bindings are unknown (a listing cut short, an unread IAM policy):
        #: any member may be bound there, so no member's ``can_read`` is complete.
        self._unknown: list[tuple[str, str | None]] = []

    def unknown(self, reason: str, permission: str | None) -> None:
        """Some bucket's bindings could not be read: ``can_read`` is left out for every member."""
        self._unknown.append((reason, permission))

    def add(self, project: str, bucket_id: str, bindings: Iterable[Binding]) -> None:
        for binding in bindings:
            reads = self._roles.reads(binding.role)
            for member in binding.members:
                entry = self._members.setdefault(member, _Member())
                entry.projects.add(project)
                if reads is None:
                    entry.unknown_roles.add(binding.role)
                elif reads:
                    entry.can_read.add(bucket_id)
                    if binding.condition is not None:
                        entry.undecided.add(f"{bucket_id} {binding.role}: {binding.condition}")

    def records(self) -> Iterator[Record]:
        for member in sorted(self._members):
            entry = self._members[member]
            principal_type, rtype, name = classify_member(member)
            scope = min(entry.projects)
            attributes: dict[str, Any] = {
                "principal_type": principal_type,
                "login": member != "allUsers" and not member.startswith("deleted:"),
                "member_of": [],
                "undecided_conditions": sorted(entry.undecided),
                # Bucket bindings grant no cross-account trust to assume: the AWS-style trust
                # attributes have nothing to report.
                "third_party": False,
                "trusted_accounts": [],
                "external_id_required": None,
            }
            if not entry.unknown_roles and not self._unknown:
                attributes["can_read"] = sorted(entry.can_read)
                attributes["can_read_via_wildcard"] = []  # bucket bindings name their bucket
            yield Resource(id=member, type=rtype, kind="principal", provider=PROVIDER, scope=scope,
                           name=name, attributes=attributes)
            if self._unknown:
                reason, permission = self._unknown[0]
                yield CollectionError(
                    provider=PROVIDER, scope=scope, kinds=("principal",), types=(rtype,), resource_id=member,
                    permission=permission, message=f"{member}: what it can read is unknown: {reason}")
            if entry.unknown_roles:
                roles = ", ".join(sorted(entry.unknown_roles))
                yield CollectionError(
                    provider=PROVIDER, scope=scope, kinds=("principal",), types=(rtype,), resource_id=member,
                    message=f"{member}: cannot tell what role(s) {roles} allow; list their permissions "
                            "under providers.gcp.roles in the config")


def classify_member(member: str) -> tuple[str, str, str]:
    """(principal_type, resource type, display name) of an IAM member string."""
    prefix, _, rest = member.partition(":")
    if member in PUBLIC_MEMBERS:
        return "public", "gcp.iam.member", member
    if prefix == "serviceAccount":
        return "service_account", "gcp.iam.service_account", rest.split("@", 1)[0]
    kinds = {"user": "user", "group": "group", "domain": "domain", "projectOwner": "project_role",
             "projectEditor": "project_role", "projectViewer": "project_role", "deleted": "deleted"}
    if prefix in kinds:
        return kinds[prefix], "gcp.iam.member", rest if prefix in ("user", "group", "domain") else member
    if member.startswith(("principal://", "principalSet://")):
        return "federated", "gcp.iam.member", member
    return "member", "gcp.iam.member", member


__all__ = ["PUBLIC_MEMBERS", "Binding", "Principals", "RoleBook", "classify_member", "public_members"]
