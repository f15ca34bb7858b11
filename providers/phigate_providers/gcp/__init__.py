"""Google Cloud Storage provider (``phigate scan --provider gcp --project P``)."""

from __future__ import annotations

import importlib.util

# Without the SDK the provider is reported as needing its extra, and its options stay hidden.
for _module in ("google.auth", "google.api_core", "google.cloud.storage", "requests"):  # the [gcp] extra
    if importlib.util.find_spec(_module) is None:  # pragma: no cover
        raise ImportError(f"{_module} is not installed", name=_module)

from phigate_providers.gcp.provider import GcpProvider  # noqa: E402

__all__ = ["GcpProvider"]
