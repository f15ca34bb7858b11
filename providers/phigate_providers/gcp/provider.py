"""The ``gcp`` provider: the data stores of one or more Google Cloud projects, read-only.

It yields ``object_store`` (each bucket), ``access_policy`` (each bucket's IAM policy),
``database`` (BigQuery datasets, Cloud SQL instances, Healthcare API stores), ``table``
(BigQuery tables), ``db_server`` (Cloud SQL instances' connections), ``volume`` (Compute
Engine disks and snapshots), ``principal`` (each IAM member, once over the whole run, with the
stores it can read) and ``key`` (each Cloud KMS key named as a store's key). The SDK is imported only when a
scan starts, so listing providers or parsing options stays fast.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar

from phigate.api import Record, Resource, RunContext, Scope
from phigate_providers.content.options import ContentOptions
from phigate_providers.gcp import settings as gcp_settings
from phigate_providers.gcp.settings import PERMISSIONS as SERVICE_PERMISSIONS
from phigate_providers.gcp.settings import SERVICES, GcpSettings

ROLE_ID = "phigateStorageAuditor"


class GcpProvider:
    """Google Cloud data stores, per project (``--project``, repeatable)."""

    name: ClassVar[str] = "gcp"
    description: ClassVar[str] = ("Google Cloud Storage, BigQuery, Cloud SQL, Compute Engine disks and "
                                  "Healthcare API stores, their IAM policies and CMEK keys "
                                  "(--project, repeatable)")
    #: Everything it calls. No object is listed or read unless content sampling is on.
    permissions: ClassVar[tuple[str, ...]] = (
        "storage.buckets.list",
        "storage.buckets.getIamPolicy",
        "storage.managedFolders.list",
        "storage.managedFolders.getIamPolicy",
        "cloudkms.cryptoKeys.get",
        # Public access prevention enforced by the organisation policy above a project.
        "orgpolicy.policy.get",
        # The access graph: grants above buckets, service accounts and who can act as them,
        # and the permissions of roles the built-in table does not hold.
        "resourcemanager.projects.get",
        "resourcemanager.projects.getIamPolicy",
        "resourcemanager.folders.getIamPolicy",
        "resourcemanager.organizations.getIamPolicy",
        "iam.serviceAccounts.list",
        "iam.serviceAccounts.getIamPolicy",
        "iam.roles.get",
        # IAM deny policies on projects, folders and organisations (they take grants away).
        "iam.denypolicies.list",
        "iam.denypolicies.get",
        # The stores beyond Cloud Storage.
        *(permission for service in SERVICES for permission in SERVICE_PERMISSIONS[service]),
        # Authentication: the user-managed keys of those service accounts, and their Cloud
        # Storage HMAC keys.
        "iam.serviceAccountKeys.list",
        "storage.hmacKeys.list",
    )

    def __init__(self, settings: GcpSettings, credentials: Any, content: ContentOptions | None = None,
                 classify: Callable[[Resource], str] | None = None) -> None:
        self.settings = settings
        self._credentials = credentials
        #: Content sampling (off unless asked for) and the classification it spares clinical
        #: buckets by: the config's, as the engine will apply it.
        self._content = content or ContentOptions()
        self._classify = classify
        self._fields: Mapping[str, frozenset[str]] | None = None
        self._report: Callable[[str], None] | None = None
        self._notices: list[str] = []

    def restrict(self, fields: Mapping[str, frozenset[str]]) -> None:
        """Skip IAM policies or key metadata when no selected policy reads them."""
        self._fields = fields

    def watch(self, report: Callable[[str], None]) -> None:
        self._report = report

    @classmethod
    def permissions_document(cls, sample_content: bool = False) -> str:
        """A custom role granting exactly ``permissions``, for ``gcloud iam roles create --file``;
        with ``sample_content``, plus the object reads content sampling makes."""
        if sample_content:
            from phigate_providers.gcp.sampling import PERMISSIONS as SAMPLING

            return "\n".join([
                f"# gcloud iam roles create {ROLE_ID}Sampling --project=PROJECT --file=FILE",
                "# then grant it on the non-clinical buckets only (and decrypt on their CMEK keys):",
                "# the audit role itself still reads no object.",
                "title: phigate content sampling",
                "description: Object reads phigate's content sampling (--sample-content) makes.",
                "stage: GA",
                "includedPermissions:",
                *(f"- {permission}" for permission in SAMPLING),
            ])
        lines = [
            f"# gcloud iam roles create {ROLE_ID} --organization=ORGANIZATION_ID --file=FILE",
            "# then grant it on the organisation (folder and organisation policies are read too;",
            "# a project-level custom role cannot hold their permissions).",
            "title: phigate storage auditor",
            "description: Read-only access phigate needs to audit Cloud Storage, BigQuery, Cloud SQL, "
            "Compute Engine disks and Healthcare API stores; no object, row or record reads.",
            "stage: GA",
            "includedPermissions:",
            *(f"- {permission}" for permission in cls.permissions),
        ]
        return "\n".join(lines)

    @classmethod
    def claims(cls, target: str) -> bool:
        return False  # a live provider: no file belongs to it

    @classmethod
    def configure(cls, targets: list[str], context: RunContext) -> list[GcpProvider]:
        from phigate_providers.gcp.api import load_credentials

        parsed = gcp_settings.parse(context.options, context.settings)
        content = ContentOptions.from_options("gcp", context.options, context.settings)
        # Buckets classified as the engine will: clinical buckets are not sampled, and the access
        # graph tells which group memberships could change a principal's classes.
        return [cls(parsed, load_credentials(parsed), content, context.classify)]

    def scopes(self) -> list[Scope]:
        return [Scope(self.name, project) for project in self.settings.projects]

    def collect(self) -> Iterator[Record]:
        from phigate_providers.gcp.api import Api
        from phigate_providers.gcp.collect import Collection, Reads

        reads = Reads.for_fields(self._fields) if self._fields is not None else Reads()
        api = Api(self.settings, self._credentials)
        sampler = self._content.sampler() if reads.content else None  # one key per run
        collection = Collection(self.settings, api, reads, self._report, sampler=sampler,
                                classify=self._classify)
        self._notices = collection.notices  # filled as the collection ends
        yield from collection.records()

    def notices(self) -> list[str]:
        """What was read but could not be used (deny policies that could not be read)."""
        return list(self._notices)


__all__ = ["GcpProvider"]
