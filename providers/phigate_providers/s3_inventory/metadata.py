"""S3 Metadata tables, exported: every object's encryption status and the KMS key that encrypts it.

S3 Metadata keeps two Apache Iceberg tables per bucket in an S3 table bucket: the *live inventory
table* (one row per object and version, backfilled with every object when it is created, then
kept up to date) and the *journal table* (one row per change from the day the configuration
was created, records expiring after the days it keeps). Unlike an S3 Inventory report, both name
the KMS key of each object (``kms_key_arn``), so an SSE-KMS object can be told customer-keyed or
not. Schemas: https://docs.aws.amazon.com/AmazonS3/latest/userguide/metadata-tables-inventory-schema.html
and https://docs.aws.amazon.com/AmazonS3/latest/userguide/metadata-tables-schema.html

What is read is an *export* of a table (Athena ``UNLOAD``/CTAS to Parquet, a query's CSV result,
or any Parquet or CSV copy of ``SELECT *``), never the table's own folder: an Iceberg folder holds
the rows of past snapshots and delete files that remove rows, which only the table's metadata
(Avro manifests) can sort out. Rows are folded to the newest record of each object version
(``sequence_number`` orders them), deleted versions and delete markers removed; the live
inventory table has one row per version already. Both are counted by the same query as
inventory reports.

The live inventory table lists every object: its counts are the bucket's. The journal lists only
objects written or changed since the configuration was created: a lower bound, which can show
a bucket fails but never that it passes.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from phigate.api import InputError
from phigate_providers.s3_inventory import remote
from phigate_providers.s3_inventory.aggregate import (
    BucketCounts,
    Engine,
    UnreadableReport,
    connect,
    count_source,
)

INVENTORY = "inventory"
JOURNAL = "journal"
#: The live inventory table's columns. The journal has them all, and ``JOURNAL_ONLY`` besides:
#: an export is told to be the live inventory table by having every one of these and none of
#: those, so a journal exported whole can never be taken for the complete table.
INVENTORY_COLUMNS = ("bucket", "key", "sequence_number", "version_id", "is_delete_marker", "size",
                     "last_modified_date", "e_tag", "storage_class", "is_multipart", "encryption_status",
                     "is_bucket_key_enabled", "kms_key_arn", "checksum_algorithm", "object_tags",
                     "user_metadata")
JOURNAL_ONLY = ("record_type", "record_timestamp", "requester", "source_ip_address", "request_id")
#: The column that dates each table's newest row.
DATED_BY = {INVENTORY: "last_modified_date", JOURNAL: "record_timestamp"}
PARQUET_MAGIC = b"PAR1"
ICEBERG = ("an Apache Iceberg table folder: its data files keep rows of past snapshots and rows that "
           "delete files remove, so reading them directly would count objects that are gone. Export "
           "the table instead (Athena: UNLOAD (SELECT * FROM \"b_BUCKET\".\"inventory\") TO "
           "'s3://…/' WITH (format = 'PARQUET')) and name that export")
#: Files an export folder may hold beside its data: Spark and Athena bookkeeping.
_BOOKKEEPING = (".crc", ".metadata", "-manifest.csv", ".json")


@dataclass(frozen=True, slots=True)
class Export:
    """An export of one metadata table: its data files, all of one format. ``target`` is what
    the user named (a path or an ``s3://`` prefix, read when collected); ``root`` is where the
    files are, which names them in messages."""

    target: str
    format: str
    files: tuple[Path, ...]
    root: Path

    @classmethod
    def remote(cls, uri: str) -> Export:
        """An export under an ``s3://`` prefix, not yet listed."""
        return cls(uri, "", (), Path())


@dataclass(frozen=True, slots=True)
class TableCounts:
    """What an export shows: which table it is, how recent its newest row, counts per bucket."""

    table: str
    newest: dt.datetime | None
    buckets: dict[str, BucketCounts]


def find(target: Path, named: str | None = None) -> Export:
    """The export at ``target`` (a file, or a folder of files); InputError when it is none.
    ``named`` is what the user named, when the files were fetched from there."""
    shown = named or str(target)
    if not target.exists():
        raise InputError(f"s3-inventory: {target}: no such file or folder")
    inside = sorted(p for p in target.rglob("*") if p.is_file()) if target.is_dir() else []
    if _is_iceberg_table([p.relative_to(target).as_posix() for p in inside]):
        raise InputError(ICEBERG, shown)
    files = [target] if target.is_file() else [p for p in inside
                                               if not _bookkeeping(p.relative_to(target).as_posix())]
    if not files:
        raise InputError("no data files of an S3 Metadata table export", shown)
    csv = [p for p in files if p.name.lower().endswith((".csv", ".csv.gz"))]
    if len(csv) == len(files):
        return Export(shown, "CSV", tuple(files), target)
    if csv:
        raise InputError(f"{_relative(csv[0], target)} is CSV and other files are not: an export "
                         "of an S3 Metadata table holds files of one format", shown)
    if not any(_parquet(p) for p in files):
        raise InputError("no Parquet or CSV (.csv, .csv.gz) file: not an export of an S3 Metadata "
                         "table", shown)
    # Every other file is taken as Parquet (Athena names them without a suffix): one that is
    # not whole is named when it cannot be read.
    return Export(shown, "Parquet", tuple(files), target)


def fetch(uri: str, folder: Path, profile: str | None = None) -> Export:
    """The export under an ``s3://`` prefix (Athena's UNLOAD writes there), downloaded to
    ``folder`` with the sizes the listing gave checked; RemoteFailure when S3 refuses, InputError
    as ``find``. Only the export's bucket is read, never an audited one."""
    client = remote.s3_client(profile)
    where = remote.Location.parse(uri)
    prefix = where.key if not where.key or where.key.endswith("/") else where.key + "/"

    def listing() -> list[tuple[str, int]]:
        found: list[tuple[str, int]] = []
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=where.bucket, Prefix=prefix):
            found.extend((str(item["Key"]), int(item["Size"])) for item in page.get("Contents", ()))
        return found

    listed = [(key[len(prefix):], key, size)
              for key, size in remote.call(client, "ListBucket", f"s3://{where.bucket}/{prefix}", listing)
              if not key.endswith("/")]
    if _is_iceberg_table([relative for relative, _, _ in listed]):
        raise InputError(ICEBERG, uri)
    for relative, key, size in listed:
        parts = PurePosixPath(relative).parts
        if relative.startswith("/") or any(p in (".", "..") for p in parts):
            # A key is any string: one that would leave the folder is never written.
            raise remote.RemoteFailure("an object under the prefix has a key that is not a plain "
                                       "relative path: the export cannot be read whole")
        if _bookkeeping(relative):
            continue
        path = folder.joinpath(*parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        remote.call(client, "GetObject", f"s3://{where.bucket}/{key}",
                    lambda k=key, p=path: client.download_file(where.bucket, k, str(p)))
        if path.stat().st_size != size:
            raise remote.RemoteFailure(f"{relative} is {path.stat().st_size} bytes, S3 lists {size}: "
                                       "the export is incomplete")
    return find(folder, uri)


def count(export: Export, first_keys: int, engine: Engine) -> TableCounts:
    """Fold and count the export; UnreadableReport (its message safe to show) when it cannot be
    read whole."""
    import duckdb

    with connect(engine) as connection:
        try:
            _register(connection, export.format, [str(f) for f in export.files])
            present = {str(row[0]).lower(): str(row[1]).upper()
                       for row in connection.execute("DESCRIBE raw").fetchall()}
        except duckdb.Error:
            raise UnreadableReport(_unreadable(export, engine)) from None
        table = _table(present)
        try:
            damaged, newest = connection.execute(_checks(table, present)).fetchone()
            if damaged:
                raise UnreadableReport(
                    f"{damaged} rows have no bucket, key, sequence_number or record_type, which the "
                    "table always fills: the export is damaged")
            if table == JOURNAL:
                connection.execute(_fold(present))
                columns = {"bucket", "key", "encryption_status", "kms_key_arn"}
            else:
                # One row per object version already: every row is counted as it stands (a stale
                # duplicate could only add an offender, never hide one), delete markers excluded.
                connection.execute("CREATE OR REPLACE VIEW src AS SELECT * FROM raw")
                columns = set(present)
            buckets = count_source(connection, columns, first_keys)
        except duckdb.Error:
            raise UnreadableReport(_unreadable(export, engine)) from None
    when = dt.datetime.fromtimestamp(newest / 1000, dt.UTC) if isinstance(newest, int) else None
    return TableCounts(table, when, buckets)


def _table(present: dict[str, str]) -> str:
    """Which table the export is, from its columns; UnreadableReport when it is not every column
    of either (a partial export could be a journal without the columns that say so)."""
    needed: tuple[str, ...]
    if any(c in present for c in JOURNAL_ONLY):
        needed, table = ("bucket", "key", "sequence_number", "record_type", "version_id",
                         "is_delete_marker", "encryption_status", "kms_key_arn"), JOURNAL
    else:
        needed, table = INVENTORY_COLUMNS, INVENTORY
    missing = [c for c in needed if c not in present]
    if missing:
        what = "journal" if table == JOURNAL else "live inventory"
        raise UnreadableReport(
            f"the export has no {', '.join(missing)} column: it is not every column of an S3 Metadata "
            f"{what} table (export it with SELECT *)")
    return table


def _register(connection: Any, file_format: str, files: list[str]) -> None:
    """The view ``raw`` over the files, columns by name whatever their order in each file."""
    listed = "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"
    if file_format == "Parquet":
        connection.execute(f"CREATE OR REPLACE VIEW raw AS SELECT * FROM read_parquet({listed}, "
                           "union_by_name = true)")
    else:
        connection.execute(f"CREATE OR REPLACE VIEW raw AS SELECT * FROM read_csv({listed}, "
                           "header = true, all_varchar = true, delim = ',', quote = '\"', "
                           "escape = '\"', union_by_name = true, compression = 'auto')")


def _checks(table: str, present: dict[str, str]) -> str:
    """Rows missing what the table always fills, and the newest row's time (ms since the epoch,
    a time without zone taken as UTC)."""
    column = DATED_BY[table]
    if column not in present:
        newest = "NULL"
    elif present[column] == "VARCHAR":
        newest = f"epoch_ms(max(TRY_CAST({column} AS TIMESTAMP)))"
    else:
        newest = f"epoch_ms(max({column}))"
    # Without its type, a journal record could be a deletion: the fold would have to guess.
    typed = " OR record_type IS NULL" if table == JOURNAL else ""
    return ("SELECT count(*) FILTER (WHERE bucket IS NULL OR key IS NULL OR sequence_number IS NULL "
            f"OR CAST(sequence_number AS VARCHAR) = ''{typed}), " + newest + " FROM raw")


def _fold(present: dict[str, str]) -> str:
    """The view ``src``: one row per object version still in the bucket, with the encryption its
    newest record gives.

    Whether a version exists is decided by its newest record (a ``DELETE``, or a delete marker,
    removes it). Its encryption comes from its newest record that states one: a metadata change
    never re-encrypts an object, and a record whose metadata S3 could no longer read states none.
    A version no record gives an encryption status is counted unrecognised, never encrypted.
    """
    kind = "upper(CAST(record_type AS VARCHAR))" if "record_type" in present else "'CREATE'"
    marker = ("lower(CAST(is_delete_marker AS VARCHAR)) = 'true'" if "is_delete_marker" in present
              else "false")
    # The null version (written before versioning, or while it is suspended) is NULL in some
    # records and the string 'null' in others (S3's API spells it so): one version either way.
    version = ("coalesce(nullif(CAST(version_id AS VARCHAR), 'null'), '')" if "version_id" in present
               else "''")
    return f"""
        CREATE OR REPLACE VIEW src AS
        WITH records AS (
            SELECT CAST(bucket AS VARCHAR) AS b, CAST(key AS VARCHAR) AS o, {version} AS v,
                CAST(sequence_number AS VARCHAR) AS n, {kind} AS t, {marker} AS m,
                nullif(trim(CAST(encryption_status AS VARCHAR)), '') AS e,
                nullif(trim(CAST(kms_key_arn AS VARCHAR)), '') AS k
            FROM raw
        ), versions AS (
            SELECT b, o, arg_max(t, n) AS t, arg_max_null(m, n) AS m,
                arg_max({{'e': e, 'k': k}}, n) FILTER (WHERE t <> 'DELETE' AND e IS NOT NULL) AS sse
            FROM records GROUP BY b, o, v
        )
        SELECT b AS bucket, o AS key, sse.e AS encryption_status, sse.k AS kms_key_arn
        FROM versions WHERE t <> 'DELETE' AND m IS NOT TRUE
    """


def _unreadable(export: Export, engine: Engine) -> str:
    """Which file could not be read, found by reading each alone; DuckDB's own message may quote
    a row (an object key), so only the file's name and the kind of failure are told."""
    import duckdb

    for path in export.files:
        with connect(engine) as connection:
            try:
                _register(connection, export.format, [str(path)])
                columns = [str(r[0]) for r in connection.execute("DESCRIBE raw").fetchall()]
                probes = ", ".join(f"max(length(CAST(\"{c}\" AS VARCHAR)))" for c in columns
                                   if c.replace("_", "").isalnum())
                connection.execute(f"SELECT count(*), {probes or 'NULL'} FROM raw").fetchall()
            except duckdb.Error as exc:
                return (f"the {export.format} file {_relative(path, export.root)} could not be read "
                        f"({type(exc).__name__}): the export is incomplete")
    return (f"the export's {export.format} files could not be read together (their columns "
            "disagree): the export is incomplete")


def _is_iceberg_table(relative: list[str]) -> bool:
    """Whether files (relative paths) are an Iceberg table's: its ``metadata/`` folder holds
    ``*.metadata.json`` and Avro manifests."""
    return any(PurePosixPath(r).parent.name == "metadata" and r.endswith((".metadata.json", ".avro"))
               for r in relative)


def _bookkeeping(relative: str) -> bool:
    parts = PurePosixPath(relative).parts
    return any(p.startswith((".", "_")) for p in parts) or relative.endswith(_BOOKKEEPING)


def _parquet(path: Path) -> bool:
    if path.suffix == ".parquet":
        return True
    try:
        with path.open("rb") as stream:
            return stream.read(4) == PARQUET_MAGIC
    except OSError:
        return False


def _relative(path: Path, target: Path) -> str:
    return str(path.relative_to(target)) if target.is_dir() else path.name


__all__ = ["INVENTORY", "INVENTORY_COLUMNS", "JOURNAL", "JOURNAL_ONLY", "Export", "TableCounts", "count",
           "find"]
