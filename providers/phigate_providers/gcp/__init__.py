"""Google Cloud Storage provider (``phigate scan --provider gcp --project P``).

The provider class is loaded on first use: the role and member analysis of this package
(``phigate_providers.gcp.access``), which the Terraform plan reader shares, needs no Google SDK.
Without the SDK the provider is reported as needing its extra; its options (``SPEC``) are read
without it, so giving one says what to install.
"""

from __future__ import annotations

import importlib.util
from typing import TYPE_CHECKING, Any

from phigate_providers.gcp.spec import SPEC

if TYPE_CHECKING:
    from phigate_providers.gcp.provider import GcpProvider

__all__ = ["SPEC", "GcpProvider"]

#: What the ``[gcp]`` extra installs.
_SDK = ("google.auth", "google.api_core", "google.cloud.storage", "requests")


def __getattr__(name: str) -> Any:
    if name != "GcpProvider":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    for module in _SDK:
        if importlib.util.find_spec(module.split(".")[0]) is None or importlib.util.find_spec(module) is None:
            raise ImportError(f"{module} is not installed", name=module)
    from phigate_providers.gcp.provider import GcpProvider

    return GcpProvider
