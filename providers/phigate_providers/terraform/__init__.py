"""The terraform provider: Terraform plans judged by the same policies as the live estate.

The provider class is loaded on first use: the command line reads its options (``SPEC``) alone.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from phigate_providers.terraform.spec import SPEC

if TYPE_CHECKING:
    from phigate_providers.terraform.provider import TerraformProvider

__all__ = ["SPEC", "TerraformProvider"]


def __getattr__(name: str) -> Any:
    if name == "TerraformProvider":
        from phigate_providers.terraform.provider import TerraformProvider

        return TerraformProvider
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
