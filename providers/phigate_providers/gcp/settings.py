"""What one GCS audit covers and how it runs, from the command line and ``providers: gcp:``.

Everything is checked here, before any request: a bad project id, an unknown setting or an
unreadable key file is the user's input to fix (:class:`phigate.api.InputError`, exit 2), never
a collection error discovered halfway through a scan.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from phigate.api import InputError
from phigate_providers.gcp.directory import Directory
from phigate_providers.gcp.directory import load as load_directory

#: A project id, optionally behind the legacy ``domain:`` prefix.
PROJECT_ID = re.compile(r"^(?:[a-z0-9][a-z0-9.-]*:)?[a-z][a-z0-9-]{4,28}[a-z0-9]$")
#: A predefined, project-level or organisation-level role name.
ROLE_NAME = re.compile(r"^(?:roles/[A-Za-z0-9_.]+|(?:projects|organizations)/[^/\s]+/roles/[A-Za-z0-9_.]+)$")
#: The services read beside Cloud Storage (phigate_providers.gcp.stores.SERVICES).
SERVICES = ("bigquery", "sql", "compute", "healthcare")
#: What each service's reads need, in the order the permissions document lists them.
PERMISSIONS: Mapping[str, tuple[str, ...]] = {
    "bigquery": ("bigquery.datasets.get", "bigquery.tables.list", "bigquery.tables.get",
                 "bigquery.tables.getIamPolicy"),
    "sql": ("cloudsql.instances.list",),
    "compute": ("compute.disks.list", "compute.disks.getIamPolicy", "compute.snapshots.list",
                "compute.snapshots.getIamPolicy", "compute.images.list", "compute.images.getIamPolicy"),
    "healthcare": ("healthcare.locations.list", "healthcare.datasets.list",
                   "healthcare.datasets.getIamPolicy", "healthcare.fhirStores.list",
                   "healthcare.fhirStores.getIamPolicy",
                   "healthcare.dicomStores.list", "healthcare.dicomStores.getIamPolicy",
                   "healthcare.hl7V2Stores.list", "healthcare.hl7V2Stores.getIamPolicy"),
}
KNOWN_KEYS = frozenset({"projects", "credentials", "roles", "groups", "services", "workers", "timeout",
                        "retry_deadline", "retry_initial_delay",
                        # content sampling (phigate_providers.content.options)
                        "sample_content", "content_sample"})


@dataclass(frozen=True)
class GcpSettings:
    """The projects to audit and the knobs of one run."""

    #: The projects reported on.
    projects: tuple[str, ...]
    credentials_file: Path | None = None
    #: Projects read for the access graph only (the config's projects that ``--project`` left
    #: out): their resources are context, never reported.
    context_projects: tuple[str, ...] = ()
    #: The directory export (``--gcp-groups``): who is in which group.
    groups: Directory | None = None
    #: Custom roles (or overrides of the built-in table): role name → permissions it holds.
    roles: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: The services read beside Cloud Storage; one left out is named as unseen in the access graph.
    services: tuple[str, ...] = SERVICES
    #: Concurrent requests (IAM policies and keys are read in parallel; listing pages are not).
    workers: int = 8
    #: Seconds one request may take.
    timeout: float = 30.0
    #: Seconds a request is retried for (429, 5xx, connection failures) before it is an error.
    retry_deadline: float = 60.0
    #: First back-off delay in seconds; it doubles up to 30 s.
    retry_initial_delay: float = 1.0


def parse(options: Mapping[str, Any], settings: Mapping[str, Any]) -> GcpSettings:
    """Command-line options win over the config file's section. ``--project`` narrows what is
    reported: the config's other projects are still read, as context for the access graph."""
    unknown = sorted(set(settings) - KNOWN_KEYS)
    if unknown:
        raise InputError(f"providers.gcp: unknown setting(s) {', '.join(unknown)} "
                         f"(known: {', '.join(sorted(KNOWN_KEYS))})")
    configured = _string_list(settings.get("projects"), "projects")
    projects = options.get("gcp_projects") or configured
    if not projects:
        raise InputError("gcp: no project to audit; give --project PROJECT (repeatable) or "
                         "providers.gcp.projects in the config")
    for project in [*projects, *configured]:
        if not PROJECT_ID.match(project):
            raise InputError(f"gcp: '{project}' is not a Google Cloud project id")
    context = tuple(dict.fromkeys(p for p in configured if p not in projects))
    groups = options.get("gcp_groups") or settings.get("groups")
    if groups is not None and not isinstance(groups, str | Path):
        raise InputError("providers.gcp.groups must be a file name")
    credentials = options.get("gcp_credentials") or settings.get("credentials")
    if credentials is not None and not isinstance(credentials, str | Path):
        raise InputError("providers.gcp.credentials must be a file name")
    return GcpSettings(
        projects=tuple(dict.fromkeys(projects)),
        credentials_file=Path(credentials) if credentials is not None else None,
        context_projects=context,
        groups=load_directory(Path(groups)) if groups is not None else None,
        roles=_roles(settings.get("roles", {})),
        services=_services(settings.get("services", list(SERVICES))),
        workers=int(_number(settings, "workers", 8, minimum=1, maximum=64)),
        timeout=_number(settings, "timeout", 30.0, minimum=0.1, maximum=600),
        retry_deadline=_number(settings, "retry_deadline", 60.0, minimum=0, maximum=3600),
        retry_initial_delay=_number(settings, "retry_initial_delay", 1.0, minimum=0.001, maximum=60),
    )


def _string_list(value: Any, key: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f"providers.gcp.{key} must be a list of strings")
    return value


def _services(value: Any) -> tuple[str, ...]:
    services = _string_list(value, "services")
    unknown = sorted(set(services) - set(SERVICES))
    if unknown:
        raise InputError(f"providers.gcp.services: unknown service(s) {', '.join(unknown)} "
                         f"(known: {', '.join(SERVICES)})")
    return tuple(s for s in SERVICES if s in services)


def _roles(value: Any) -> dict[str, frozenset[str]]:
    if not isinstance(value, Mapping):
        raise InputError("providers.gcp.roles maps role names to lists of permissions")
    roles: dict[str, frozenset[str]] = {}
    for role, permissions in value.items():
        if not isinstance(role, str) or not ROLE_NAME.match(role):
            raise InputError(f"providers.gcp.roles: '{role}' is not a role name "
                             "(roles/…, projects/P/roles/…, organizations/N/roles/…)")
        roles[role] = frozenset(_string_list(permissions, f"roles.{role}"))
    return roles


def _number(settings: Mapping[str, Any], key: str, default: float, *, minimum: float,
            maximum: float) -> float:
    value = settings.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not minimum <= value <= maximum:
        raise InputError(f"providers.gcp.{key} must be a number from {minimum:g} to {maximum:g}")
    return float(value)


__all__ = ["GcpSettings", "parse"]
