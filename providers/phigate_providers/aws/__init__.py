"""The AWS provider (``phigate[aws]``): live, read-only collection through boto3.

The provider class is loaded on first use (the command line reads the provider's options,
``SPEC``, without it), so that the pure policy analysis of this package,
which the Terraform plan reader shares, needs no boto3: the modules of :data:`SDK_FREE` (policy
documents, grants, conditions, ARNs, trail selectors, what reads each store, who "everyone" is,
copies' labels, escalation and trusts, which statements of a store's policy apply). The plan
reader imports those and no other module of this package; a test holds both to it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from phigate_providers.aws.spec import SPEC

if TYPE_CHECKING:
    from phigate_providers.aws.provider import AwsProvider

#: The modules that import no SDK, shared by the live reader and the Terraform plan reader.
SDK_FREE = (
    "access", "arn", "conditions", "copies", "escalation", "grants", "policydoc", "public", "reach",
    "read_actions", "resource_grants", "resource_policy", "runners", "store_policies", "trail_selectors",
    "transport_rules", "trust",
    "docdb_params",  # DocumentDB's tls parameter
    "glue_catalog",  # the Glue Data Catalog's encrypting modes and class
    "signing",  # what an identity reads by how its requests are signed (MFA or not)
)

__all__ = ["SDK_FREE", "SPEC", "AwsProvider"]


def __getattr__(name: str) -> Any:
    if name == "AwsProvider":
        from phigate_providers.aws.provider import AwsProvider

        return AwsProvider
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
