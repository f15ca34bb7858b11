"""The ``s3-inventory`` provider (``phigate[scale]``): object-level encryption from S3 Inventory
reports, aggregated with DuckDB. The provider class is loaded on first use: the command line
reads its options (``SPEC``) alone."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from phigate_providers.s3_inventory.spec import SPEC

if TYPE_CHECKING:
    from phigate_providers.s3_inventory.provider import S3InventoryProvider

__all__ = ["SPEC", "S3InventoryProvider"]


def __getattr__(name: str) -> Any:
    if name == "S3InventoryProvider":
        from phigate_providers.s3_inventory.provider import S3InventoryProvider

        return S3InventoryProvider
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
