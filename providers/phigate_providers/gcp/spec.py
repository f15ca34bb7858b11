"""The gcp provider's command line, as data: read without importing the Google SDK."""

from __future__ import annotations

from phigate.api import Option, ProviderSpec
from phigate_providers.content.options import OPTIONS as SAMPLING

SPEC = ProviderSpec(extra="gcp", options=(
    Option("--project", "gcp_projects", metavar="PROJECT", repeatable=True,
           help="Google Cloud project whose buckets are audited (repeatable; default: "
                "providers.gcp.projects in the config)"),
    Option("--gcp-credentials", "gcp_credentials", kind="path", metavar="FILE",
           help="service-account key file (default: Application Default Credentials)"),
    Option("--gcp-groups", "gcp_groups", kind="path", metavar="FILE",
           help="directory export of group memberships, JSON {group: [members]} or CSV "
                "group,member (default: providers.gcp.groups; without it, access through "
                "groups and domains is left undecided where it matters)"),
    *SAMPLING,
))

__all__ = ["SPEC"]
