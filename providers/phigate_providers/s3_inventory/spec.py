"""The s3-inventory provider's command line, as data: read without DuckDB or boto3."""

from __future__ import annotations

from phigate.api import Option, ProviderSpec

SPEC = ProviderSpec(extra="aws,scale", takes_targets=True, options=(
    Option("--inventory", "inventory", metavar="PATH|s3://…", repeatable=True,
           help="S3 Inventory reports: a folder, a manifest.json or an s3:// prefix "
                "(repeatable; local folders may also be given as TARGET)"),
    Option("--metadata-table", "metadata_table", metavar="PATH|s3://…", repeatable=True,
           help="an export (Parquet or CSV) of a bucket's S3 Metadata live inventory or journal "
                "table: names each object's KMS key (repeatable)"),
    Option("--head-sample", "head_sample", metavar="BUCKET", repeatable=True,
           help="read the encryption of a sample of BUCKET's objects with HeadObject (can fail a "
                "bucket, never pass it unless it covers every object; repeatable)"),
    Option("--head-sample-size", "head_sample_size", kind="integer", metavar="N",
           help="objects read per sampled bucket (100)"),
    Option("--inventory-first-keys", "inventory_first_keys", kind="integer", metavar="N",
           help="offending object keys shown (masked) per bucket (10; 0 shows none)"),
    Option("--inventory-threads", "inventory_threads", kind="integer", metavar="N",
           help="threads DuckDB may use (default: every core)"),
    Option("--inventory-memory", "inventory_memory", metavar="SIZE",
           help="memory DuckDB may use before spilling to disk (512MB)"),
))

__all__ = ["SPEC"]
