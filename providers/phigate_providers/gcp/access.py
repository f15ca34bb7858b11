"""What a role allows: roles → permissions → "reads objects", "can become a service account".

A member bound on a bucket can read its objects when its role holds ``storage.objects.get``,
or holds ``storage.buckets.setIamPolicy`` (it can grant itself that read at any moment, so the
access is effective); bound on a project, folder or organisation, the same permissions reach
every bucket below, and so does ``resourcemanager.*.setIamPolicy`` there. Predefined roles
are described below from Google's published role definitions; other roles are read from IAM
(``roles.get``) by the live provider or described in ``providers.gcp.roles``. A role described
nowhere cannot be judged: never assumed harmless (see :mod:`phigate_providers.gcp.graph`).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from phigate_providers.gcp.graph import Principals

PROVIDER = "gcp"
OBJECTS_ALL = frozenset({"storage.objects.get", "storage.objects.list", "storage.objects.create",
                         "storage.objects.delete", "storage.objects.update",
                         "storage.objects.getIamPolicy", "storage.objects.setIamPolicy"})
BUCKETS_ALL = frozenset({"storage.buckets.get", "storage.buckets.list", "storage.buckets.create",
                         "storage.buckets.delete", "storage.buckets.update",
                         "storage.buckets.getIamPolicy", "storage.buckets.setIamPolicy"})
STORES_READ = frozenset({"bigquery.tables.getData", "cloudsql.instances.export", "compute.disks.use",
                         "compute.snapshots.useReadOnly", "compute.images.useReadOnly",
                         "healthcare.fhirResources.get",
                         "healthcare.dicomStores.dicomWebRead", "healthcare.hl7V2Messages.get"})
BIGQUERY_READ = frozenset({"bigquery.datasets.get", "bigquery.tables.get", "bigquery.tables.getData",
                           "bigquery.tables.list", "bigquery.tables.export"})
BIGQUERY_WRITE = frozenset({"bigquery.tables.create", "bigquery.tables.update", "bigquery.tables.updateData",
                            "bigquery.tables.delete"})
#: What Viewer reads of the stores beyond Cloud Storage and BigQuery (IAM's roles/viewer).
VIEWER_READS = frozenset({"cloudsql.instances.export", "cloudsql.backupRuns.export",
                          "compute.disks.useReadOnly", "compute.disks.createSnapshot",
                          "compute.snapshots.useReadOnly", "compute.images.useReadOnly",
                          "healthcare.fhirResources.get",
                          "healthcare.fhirStores.export", "healthcare.fhirStores.searchResources",
                          "healthcare.dicomStores.dicomWebRead", "healthcare.dicomStores.export",
                          "healthcare.hl7V2Messages.get", "healthcare.hl7V2Messages.list",
                          "healthcare.hl7V2Stores.export"})
#: The storage permissions of predefined roles that can be bound on a bucket. Only whether
#: they read objects matters here; the sets follow Google's role reference
#: (https://cloud.google.com/storage/docs/access-control/iam-roles): objectViewer holds
#: storage.objects.get; legacyBucketReader lists objects but never gets one.
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
    # Basic roles (granted on projects, folders, organisations only). Cloud Storage's role
    # reference (https://cloud.google.com/storage/docs/access-control/iam-roles, "Basic roles")
    # gives Viewer "list buckets … view bucket metadata when listing": no storage.objects.get,
    # so Viewer reads no object by its own permissions (only through the projectViewer
    # convenience member that default bucket policies bind to legacy reader roles: an edge of
    # the access graph), and BigQuery's basic-role page gives it no table data either (only
    # through the projectReaders access entry). But IAM's definition of Viewer
    # (https://cloud.google.com/iam/docs/roles-permissions/basic, roles/viewer) holds the reads
    # of the other stores: Cloud SQL exports, disks and snapshots used read-only or
    # snapshotted, and Healthcare API records and exports. Owner holds
    # resourcemanager.projects.setIamPolicy (it can grant itself anything) and Editor holds
    # iam.serviceAccounts.actAs and iam.serviceAccountKeys.create (it runs code as, or mints
    # keys for, the project's service accounts) and controls buckets:
    # both counted as reading every object, and as able to become every service account.
    # Editor and Owner also read the data of the other stores phigate reads (BigQuery table data,
    # Cloud SQL exports, disks, Healthcare API records), abridged here to one read each.
    "roles/viewer": frozenset({"storage.buckets.list", "resourcemanager.projects.get", *VIEWER_READS}),
    "roles/editor": OBJECTS_ALL | BUCKETS_ALL | STORES_READ | frozenset({"iam.serviceAccounts.actAs",
                                                                         "iam.serviceAccountKeys.create"}),
    "roles/owner": OBJECTS_ALL | BUCKETS_ALL | STORES_READ | frozenset({"iam.serviceAccounts.actAs",
                                                                        "iam.serviceAccountKeys.create",
                                                                        "resourcemanager.projects.setIamPolicy"}),
    # BigQuery's dataset roles, which every dataset's access entries name (READER, WRITER, OWNER:
    # https://cloud.google.com/bigquery/docs/access-control#bigquery-roles), abridged.
    "roles/bigquery.metadataViewer": frozenset({"bigquery.datasets.get", "bigquery.tables.get",
                                                "bigquery.tables.list"}),
    "roles/bigquery.dataViewer": BIGQUERY_READ,
    "roles/bigquery.dataEditor": BIGQUERY_READ | BIGQUERY_WRITE,
    "roles/bigquery.dataOwner": BIGQUERY_READ | BIGQUERY_WRITE | frozenset({
        "bigquery.tables.setIamPolicy", "bigquery.datasets.update", "bigquery.datasets.delete",
        "bigquery.datasets.setIamPolicy"}),
    "roles/bigquery.admin": frozenset({"bigquery.*"}),
    # Roles that reach a service account's access (IAM's role reference,
    # https://cloud.google.com/iam/docs/roles-permissions/iam, abridged to what matters here).
    "roles/iam.serviceAccountTokenCreator": frozenset({
        "iam.serviceAccounts.getAccessToken", "iam.serviceAccounts.getOpenIdToken",
        "iam.serviceAccounts.implicitDelegation", "iam.serviceAccounts.signBlob",
        "iam.serviceAccounts.signJwt"}),
    "roles/iam.serviceAccountUser": frozenset({"iam.serviceAccounts.actAs", "iam.serviceAccounts.get",
                                               "iam.serviceAccounts.list"}),
    "roles/iam.workloadIdentityUser": frozenset({"iam.serviceAccounts.getAccessToken",
                                                 "iam.serviceAccounts.getOpenIdToken"}),
    "roles/iam.serviceAccountKeyAdmin": frozenset({"iam.serviceAccountKeys.create",
                                                   "iam.serviceAccountKeys.delete",
                                                   "iam.serviceAccountKeys.get",
                                                   "iam.serviceAccountKeys.list"}),
    "roles/iam.serviceAccountAdmin": frozenset({"iam.serviceAccounts.get", "iam.serviceAccounts.list",
                                                "iam.serviceAccounts.getIamPolicy",
                                                "iam.serviceAccounts.setIamPolicy"}),
}
#: Rewriting the policy of a project, folder or organisation: any grant below, to oneself.
HIERARCHY_ESCALATION = ("resourcemanager.projects.setIamPolicy", "resourcemanager.folders.setIamPolicy",
                        "resourcemanager.organizations.setIamPolicy")
#: Holding any of these on a store, or above it, means reading its data, now or after one change
#: it may make itself: the data itself, an export or copy of it, a database user made or reset,
#: a disk attached or snapshotted, or the store's own access policy rewritten (BigQuery
#: datasets keep theirs in the dataset, rewritten by ``datasets.update``). By the service
#: holding the store; each role is still judged by the permissions IAM lists for it.
READ_BY_SERVICE: Mapping[str, tuple[str, ...]] = {
    "storage": ("storage.objects.get", "storage.buckets.setIamPolicy"),
    "bigquery": ("bigquery.tables.getData", "bigquery.tables.export", "bigquery.tables.setIamPolicy",
                 "bigquery.datasets.update", "bigquery.datasets.setIamPolicy"),
    "sql": ("cloudsql.instances.export", "cloudsql.instances.clone", "cloudsql.users.create",
            "cloudsql.users.update"),
    "healthcare": ("healthcare.fhirResources.get", "healthcare.dicomStores.dicomWebRead",
                   "healthcare.hl7V2Messages.get", "healthcare.fhirStores.export",
                   "healthcare.dicomStores.export", "healthcare.datasets.deidentify",
                   "healthcare.fhirStores.setIamPolicy", "healthcare.dicomStores.setIamPolicy",
                   "healthcare.hl7V2Stores.setIamPolicy", "healthcare.datasets.setIamPolicy"),
    "compute": ("compute.disks.use", "compute.disks.useReadOnly", "compute.disks.createSnapshot",
                "compute.disks.setIamPolicy", "compute.snapshots.useReadOnly",
                "compute.snapshots.setIamPolicy", "compute.images.useReadOnly",
                "compute.images.setIamPolicy"),
}
#: Holding any of these on a bucket, or above it, means reading its objects.
READ_EFFECTIVE = (*READ_BY_SERVICE["storage"], *HIERARCHY_ESCALATION)
#: Holding any of these on a service account, or above it, means obtaining its access: a token
#: or a signed assertion as it, code run as it (actAs), a key for it, or a rewrite of its policy.
BECOME_EFFECTIVE = ("iam.serviceAccounts.getAccessToken", "iam.serviceAccounts.actAs",
                    "iam.serviceAccountKeys.create", "iam.serviceAccounts.signJwt",
                    "iam.serviceAccounts.signBlob", "iam.serviceAccounts.implicitDelegation",
                    "iam.serviceAccounts.setIamPolicy", "resourcemanager.projects.setIamPolicy",
                    "resourcemanager.folders.setIamPolicy", "resourcemanager.organizations.setIamPolicy")
PUBLIC_MEMBERS = frozenset({"allUsers", "allAuthenticatedUsers"})
#: The service whose permissions read a store, by the start of its type.
SERVICE_OF_TYPE = (("gcp.storage.", "storage"), ("gcp.bigquery.", "bigquery"), ("gcp.sql.", "sql"),
                   ("gcp.compute.", "compute"), ("gcp.healthcare.", "healthcare"))


class RoleBook:
    """Which roles read objects: the built-in table, completed or overridden by the config."""

    def __init__(self, custom: Mapping[str, frozenset[str]]) -> None:
        self._roles = {**PREDEFINED_ROLES, **custom}

    def knows(self, role: str) -> bool:
        return role in self._roles

    def learn(self, role: str, permissions: frozenset[str]) -> None:
        """A role's permissions as IAM described them (``roles.get``); the config still wins."""
        self._roles.setdefault(role, permissions)

    def reads(self, role: str) -> bool | None:
        """True when the role reads objects, False when it does not, None when unknown."""
        return None if role not in self._roles else self.reading(role) is not None

    def reading(self, role: str, service: str = "storage") -> str | None:
        """The permission by which a known role reads the data of a ``service``'s store, if any."""
        return _held(self._roles.get(role, frozenset()), (*READ_BY_SERVICE[service], *HIERARCHY_ESCALATION))

    def reading_any(self, role: str) -> str | None:
        """The permission by which a known role reads the data of some store, if any."""
        return next(filter(None, (self.reading(role, service) for service in READ_BY_SERVICE)), None)

    def becoming(self, role: str) -> str | None:
        """The permission by which a known role obtains a service account's access, if any."""
        return _held(self._roles.get(role, frozenset()), BECOME_EFFECTIVE)

    def to_deny(self, role: str, service: str | None) -> frozenset[str]:
        """What a deny policy must take away for a known role to no longer read a ``service``'s
        data (None: to no longer become a service account): the direct ways it holds; every
        direct way when it can rewrite an access policy, since it could grant itself any of them
        (a deny still stops a permission however it is granted). Empty: it neither reads nor
        becomes."""
        wanted = READ_BY_SERVICE[service] + HIERARCHY_ESCALATION if service is not None else BECOME_EFFECTIVE
        permissions = self._roles.get(role, frozenset())
        held = {p for p in wanted if _held(permissions, (p,))}
        direct = frozenset(p for p in wanted if not _rewrites(p))
        return direct if any(_rewrites(p) for p in held) else frozenset(held)


def _rewrites(permission: str) -> bool:
    """A permission that rewrites who may access (an IAM policy, a BigQuery dataset's entries)."""
    return permission.endswith(".setIamPolicy") or permission == "bigquery.datasets.update"


def _held(permissions: frozenset[str], wanted: tuple[str, ...]) -> str | None:
    """The first of ``wanted`` that ``permissions`` (possibly with wildcards) hold."""
    for needed in wanted:
        if any(fnmatch.fnmatchcase(needed, held) for held in permissions):
            return needed
    return None


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


def __getattr__(name: str) -> Any:
    """``Principals`` lives in :mod:`phigate_providers.gcp.graph`, which builds on this module;
    it is still importable from here, as the Terraform plan reader does."""
    if name == "Principals":
        from phigate_providers.gcp.graph import Principals

        return Principals
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["BECOME_EFFECTIVE", "PUBLIC_MEMBERS", "READ_BY_SERVICE", "READ_EFFECTIVE", "SERVICE_OF_TYPE",
           "Binding", "Principals", "RoleBook", "classify_member", "public_members"]
