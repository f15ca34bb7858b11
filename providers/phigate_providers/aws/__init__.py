"""The AWS provider (``phigate[aws]``): live, read-only collection through boto3.

The provider class is loaded on first use, so that the pure policy analysis of this package
(``phigate_providers.aws.access``), which the Terraform plan reader shares, needs no boto3, and
the command line reads the provider's options (``SPEC``) without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from phigate_providers.aws.spec import SPEC

if TYPE_CHECKING:
    from phigate_providers.aws.provider import AwsProvider

__all__ = ["SPEC", "AwsProvider"]


def __getattr__(name: str) -> Any:
    if name == "AwsProvider":
        from phigate_providers.aws.provider import AwsProvider

        return AwsProvider
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
