"""The ``s3-inventory`` provider (``phigate[scale]``): object-level encryption from S3 Inventory
reports, aggregated with DuckDB."""

from phigate_providers.s3_inventory.provider import S3InventoryProvider

__all__ = ["S3InventoryProvider"]
