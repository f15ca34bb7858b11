"""Counting a report's objects by encryption, inside DuckDB.

Millions of rows never reach Python: one ``GROUP BY bucket`` aggregates them where they are read
(CSV.gz in parallel across files, Parquet column by column, ORC through an Arrow dataset), and
only a few numbers and the first offending keys per bucket come back. DuckDB's error messages
may quote a row of the report (object keys can name patients), so they never leave this module:
a report that cannot be read is described by the kind of failure only.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: EncryptionStatus values S3 writes. Anything else (empty, new values) is counted apart and
#: never as encrypted.
STATUSES = ("NOT-SSE", "SSE-S3", "SSE-C", "SSE-KMS", "DSSE-KMS")
KMS = ("SSE-KMS", "DSSE-KMS")
#: Columns that may name the KMS key of each object (reports enriched from S3 Metadata tables
#: carry ``kms_key_arn``; a standard S3 Inventory report names none).
KEY_COLUMNS = ("kms_key_arn", "kms_key_id", "sse_kms_key_id")
#: Key ids under this alias are provider-managed (``alias/aws/s3``): the only way a report
#: alone can tell.
AWS_MANAGED_ALIAS = ":alias/aws/"
#: How many offending keys to fetch before dropping repeats (object versions share a key).
VERSIONS_PER_KEY = 4


class UnreadableReport(Exception):
    """The report's data files could not be read or lack a column; the message is safe to show."""


@dataclass(frozen=True, slots=True)
class BucketCounts:
    """One bucket's objects by encryption status. ``aws_managed_kms`` and ``kms_keys`` are
    None when KMS-encrypted objects exist and the report does not name their keys."""

    bucket: str
    count: int
    not_sse: int
    sse_s3: int
    sse_c: int
    sse_kms: int
    dsse_kms: int
    unrecognised: int
    aws_managed_kms: int | None
    kms_keys: tuple[str, ...] | None
    #: The first offending object keys, as written in the report (URL-encoded in CSV).
    first_offending: tuple[str, ...]

    @classmethod
    def empty(cls, bucket: str) -> BucketCounts:
        return cls(bucket, 0, 0, 0, 0, 0, 0, 0, 0, (), ())


@dataclass(frozen=True, slots=True)
class Engine:
    """How much of the machine DuckDB may use."""

    threads: int | None = None
    memory_limit: str = "512MB"


def count_objects(file_format: str, columns: Sequence[str], files: Sequence[Path], first_keys: int,
                  engine: Engine = Engine()) -> dict[str, BucketCounts]:
    """Per bucket, the counts of the objects listed by ``files`` (delete markers excluded)."""
    import duckdb

    if not files:
        return {}
    with connect(engine) as connection:
        try:
            present = _register_source(connection, file_format, columns, [str(f) for f in files])
            return count_source(connection, present, first_keys)
        except duckdb.Error as exc:
            raise UnreadableReport(f"the report's {file_format} data files could not be read "
                                   f"({type(exc).__name__})") from None


@contextmanager
def connect(engine: Engine) -> Iterator[Any]:
    """An in-memory DuckDB connection within the engine's limits, spilling to a folder of its own."""
    import duckdb

    with tempfile.TemporaryDirectory(prefix="phigate-duckdb-") as spill:
        config: dict[str, Any] = {"memory_limit": engine.memory_limit, "temp_directory": spill}
        if engine.threads:
            config["threads"] = engine.threads
        connection = duckdb.connect(":memory:", config=config)
        try:
            yield connection
        finally:
            connection.close()


def count_source(connection: Any, present: set[str], first_keys: int) -> dict[str, BucketCounts]:
    """Per bucket, the counts of the rows of the view ``src`` (which has the columns ``present``).
    DuckDB errors propagate: the caller says which source failed."""
    rows = connection.execute(_query(present, first_keys)).fetchall()
    return {row[0]: _counts(row, first_keys) for row in rows}


def _register_source(connection: Any, file_format: str, columns: Sequence[str], files: list[str]) -> set[str]:
    """Make the view ``src`` over the data files; return the columns it has."""
    if file_format == "CSV":
        spec = ", ".join(f"'{_identifier(c)}': 'VARCHAR'" for c in columns)
        connection.execute(
            "CREATE VIEW src AS SELECT * FROM read_csv($files, header = false, auto_detect = false, "
            f"columns = {{{spec}}}, delim = ',', quote = '\"', escape = '\"', "
            "compression = 'auto')".replace("$files", _string_list(files)))
    elif file_format == "Parquet":
        connection.execute(f"CREATE VIEW src AS SELECT * FROM read_parquet({_string_list(files)}, "
                           "union_by_name = true)")
    else:
        try:
            import pyarrow.dataset as arrow_dataset  # type: ignore[import-untyped]
        except ImportError:
            raise UnreadableReport("ORC reports are read through pyarrow, which is not installed") from None
        connection.register("src", arrow_dataset.dataset(files, format="orc"))
    found = {str(row[0]).lower() for row in connection.execute("DESCRIBE src").fetchall()}
    for needed in ("bucket", "key", "encryption_status"):
        if needed not in found:
            what = "EncryptionStatus" if needed == "encryption_status" else needed
            raise UnreadableReport(f"the report has no {what} column (enable the {what} field "
                                   "in the inventory configuration)")
    return found


def _query(present: set[str], first_keys: int) -> str:
    status = "upper(trim(CAST(encryption_status AS VARCHAR)))"
    marker = ("lower(CAST(is_delete_marker AS VARCHAR)) IS DISTINCT FROM 'true'"
              if "is_delete_marker" in present else "true")
    key_column = next((c for c in KEY_COLUMNS if c in present), None)
    kms_id = f"nullif(trim(CAST({key_column} AS VARCHAR)), '')" if key_column else "NULL"
    known = _string_tuple(STATUSES)
    kms = _string_tuple(KMS)
    aws_managed = f"(s IN {kms} AND contains(k, '{AWS_MANAGED_ALIAS}'))"
    offending = f"(s NOT IN {known} OR s IS NULL OR s IN ('NOT-SSE', 'SSE-S3', 'SSE-C') OR {aws_managed})"
    fetch = max(1, first_keys * VERSIONS_PER_KEY)
    return f"""
        WITH rows AS (
            SELECT CAST(bucket AS VARCHAR) AS b, CAST(key AS VARCHAR) AS o, {status} AS s, {kms_id} AS k
            FROM src WHERE {marker}
        )
        SELECT b,
            count(*),
            count(*) FILTER (WHERE s = 'NOT-SSE'),
            count(*) FILTER (WHERE s = 'SSE-S3'),
            count(*) FILTER (WHERE s = 'SSE-C'),
            count(*) FILTER (WHERE s = 'SSE-KMS'),
            count(*) FILTER (WHERE s = 'DSSE-KMS'),
            count(*) FILTER (WHERE s NOT IN {known} OR s IS NULL),
            count(*) FILTER (WHERE {aws_managed}),
            count(*) FILTER (WHERE s IN {kms} AND k IS NULL),
            list(DISTINCT k) FILTER (WHERE s IN {kms} AND k IS NOT NULL
                                     AND NOT contains(k, '{AWS_MANAGED_ALIAS}')),
            min(o, {fetch}) FILTER (WHERE {offending})
        FROM rows GROUP BY b
    """


def _counts(row: tuple[Any, ...], first_keys: int) -> BucketCounts:
    (bucket, count, not_sse, sse_s3, sse_c, sse_kms, dsse_kms, unrecognised,
     aws_managed, unnamed, keys, first) = row
    named = unnamed == 0
    offending = tuple(dict.fromkeys(first or ()))[:first_keys] if first_keys else ()
    return BucketCounts(
        bucket=bucket, count=count, not_sse=not_sse, sse_s3=sse_s3, sse_c=sse_c, sse_kms=sse_kms,
        dsse_kms=dsse_kms, unrecognised=unrecognised,
        aws_managed_kms=aws_managed if named or aws_managed else None,
        kms_keys=tuple(sorted(keys or ())) if named else None,
        first_offending=offending)


def _identifier(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise UnreadableReport("the report's fileSchema names a column phigate cannot read")
    return name


def _string_list(values: Sequence[str]) -> str:
    return "[" + ", ".join(_literal(v) for v in values) + "]"


def _string_tuple(values: Sequence[str]) -> str:
    return "(" + ", ".join(_literal(v) for v in values) + ")"


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


__all__ = ["BucketCounts", "Engine", "UnreadableReport", "connect", "count_objects", "count_source"]
