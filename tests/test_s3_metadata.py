"""S3 Metadata tables (exports of the live inventory and journal tables) through the s3-inventory
provider: Parquet and CSV files written here with the columns and types AWS documents
(metadata-tables-inventory-schema.html, metadata-tables-schema.html), row by row, so every
count is known; then PHI-ENC-005 end to end through ``phigate scan``."""

from __future__ import annotations

import csv
import datetime as dt
import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from phigate.api import CollectionError, InputError, Resource
from phigate.testing import run_context
from phigate_providers.s3_inventory import S3InventoryProvider
from phigate_providers.s3_inventory.masking import mask
from tests.aws_server import REGION, client

CUSTOMER_KEY = "arn:aws:kms:eu-west-3:111122223333:key/c69ebf48-8dc1-42d7-8f5a-0a5b6c7d8e10"
#: The ARN S3 records for objects under the AWS-managed ``aws/s3`` key: a key id, not the alias.
AWS_MANAGED_KEY = "arn:aws:kms:eu-west-3:111122223333:key/0f1e2d3c-4b5a-6978-8a9b-aws0managed0"
SECRET = "2019/dupont jean né 1961 séropositif.pdf"
T0 = dt.datetime(2025, 11, 20, 8, 0, 0)

_TAGS = pa.map_(pa.string(), pa.string())
#: The live inventory table's columns, in the documented order and types.
INVENTORY_COLUMNS: list[tuple[str, pa.DataType]] = [
    ("bucket", pa.string()), ("key", pa.string()), ("sequence_number", pa.string()),
    ("version_id", pa.string()), ("is_delete_marker", pa.bool_()), ("size", pa.int64()),
    ("last_modified_date", pa.timestamp("us")), ("e_tag", pa.string()), ("storage_class", pa.string()),
    ("is_multipart", pa.bool_()), ("encryption_status", pa.string()), ("is_bucket_key_enabled", pa.bool_()),
    ("kms_key_arn", pa.string()), ("checksum_algorithm", pa.string()), ("object_tags", _TAGS),
    ("user_metadata", _TAGS)]
#: The journal table adds what each record is, when, and who asked.
JOURNAL_COLUMNS: list[tuple[str, pa.DataType]] = [
    *INVENTORY_COLUMNS[:3], ("record_type", pa.string()), ("record_timestamp", pa.timestamp("us")),
    *INVENTORY_COLUMNS[3:], ("requester", pa.string()), ("source_ip_address", pa.string()),
    ("request_id", pa.string())]


class Rows:
    """Records of one bucket, numbered in the order they happen (``sequence_number`` grows)."""

    def __init__(self, bucket: str) -> None:
        self.bucket = bucket
        self.records: list[dict[str, Any]] = []

    def add(self, key: str, status: str | None, kms: str | None = None, *, record_type: str = "CREATE",
            version: str | None = None, marker: bool | None = None) -> Rows:
        n = len(self.records)
        when = T0 + dt.timedelta(minutes=n)
        deleting = record_type == "DELETE"
        self.records.append({
            "bucket": self.bucket, "key": key,
            # A hex ordinal of fixed width, as S3 writes them: larger is newer for a bucket and key.
            "sequence_number": f"80e737d8b4d82f776a{n:046x}", "record_type": record_type,
            "record_timestamp": when, "version_id": version,
            "is_delete_marker": marker if marker is not None else (None if deleting else False),
            "size": None if deleting else 100 + n, "last_modified_date": None if deleting else when,
            "e_tag": None if deleting else f"{n:032x}", "storage_class": None if deleting else "STANDARD",
            "is_multipart": None if deleting else False, "encryption_status": None if deleting else status,
            "is_bucket_key_enabled": None if deleting else kms is not None,
            "kms_key_arn": None if deleting else kms, "checksum_algorithm": None if deleting else "CRC64NVME",
            "object_tags": None if deleting else [], "user_metadata": None if deleting else [("owner", "x")],
            "requester": "111122223333", "source_ip_address": "192.0.2.1", "request_id": f"R{n:015d}"})
        return self

    def objects(self, spec: dict[str, int], *, prefix: str = "notes", kms: str | None = None) -> Rows:
        for status, count in spec.items():
            for n in range(count):
                self.add(f"{prefix}/{status.lower()}-{n:04d}", status,
                         kms if status in ("SSE-KMS", "DSSE-KMS") else None)
        return self


def write_export(folder: Path, rows: list[dict[str, Any]], *, table: str = "inventory", files: int = 2,
                 file_format: str = "Parquet", suffix: str = "") -> Path:
    """An export of a table as Athena's UNLOAD writes it: several files, rows in no order."""
    columns = INVENTORY_COLUMNS if table == "inventory" else JOURNAL_COLUMNS
    schema = pa.schema(columns)
    folder.mkdir(parents=True, exist_ok=True)
    chunks = [rows[::-1][i::files] for i in range(files)]
    for number, chunk in enumerate(chunks):
        picked = [{name: row.get(name) for name, _ in columns} for row in chunk]
        if file_format == "Parquet":
            pq.write_table(pa.Table.from_pylist(picked, schema=schema),
                           folder / f"20251120_080000_00000_{number:05d}{suffix}")
        else:
            with (folder / f"part-{number}.csv").open("w", newline="") as stream:
                writer = csv.writer(stream, quoting=csv.QUOTE_ALL)
                writer.writerow([name for name, _ in columns])
                for row in picked:
                    writer.writerow([_csv_value(row[name]) for name, _ in columns])
    return folder


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ", timespec="milliseconds")
    if isinstance(value, list):
        return "{" + ", ".join(f"{k}={v}" for k, v in value) + "}"
    return str(value)


def provider(*tables: Path | str, first_keys: int | None = None) -> S3InventoryProvider:
    options = {"metadata_table": [str(t) for t in tables], "inventory_first_keys": first_keys}
    (made,) = S3InventoryProvider.configure([], run_context(options=options))
    return made


def collected(*tables: Path | str) -> tuple[dict[str, Resource], list[CollectionError]]:
    resources, errors = {}, []
    for record in provider(*tables).collect():
        if isinstance(record, CollectionError):
            errors.append(record)
        else:
            assert isinstance(record, Resource)
            resources[record.id] = record
    return resources, errors


# --- the live inventory table ------------------------------------------------------------------


@pytest.mark.parametrize("file_format", ["Parquet", "CSV"])
def test_the_live_inventory_table_names_the_key_of_every_object(tmp_path: Path, file_format: str) -> None:
    rows = (Rows("exemplum-notes").objects({"SSE-KMS": 5}, kms=CUSTOMER_KEY)
            .objects({"SSE-KMS": 2}, prefix="old", kms=AWS_MANAGED_KEY)
            .objects({"SSE-S3": 1, "DSSE-KMS": 1}, prefix="x", kms=CUSTOMER_KEY)
            .add("y/deleted", None, marker=True, version="v9"))  # a delete marker: not an object
    write_export(tmp_path / "export", rows.records, file_format=file_format, files=3)
    resources, errors = collected(tmp_path / "export")
    assert errors == []
    (found,) = resources.values()
    assert found.id == "s3-inventory:exemplum-notes/metadata-inventory"
    assert found.attributes["store"] == "arn:aws:s3:::exemplum-notes"
    assert found.attributes["report"] == {
        "configuration": "metadata-inventory", "format": file_format, "files": 3,
        "source": "s3-metadata-inventory", "complete": True, "date": "2025-11-20T08:09:00Z"}
    objects = found.attributes["objects"]
    assert objects == {"count": 9, "not_sse": 0, "sse_s3": 1, "sse_c": 0, "sse_kms": 7, "dsse_kms": 1,
                       "unrecognised": 0, "aws_managed_kms": 0,
                       "kms_keys": sorted([CUSTOMER_KEY, AWS_MANAGED_KEY]),
                       "first_offending_keys": [mask("x/sse-s3-0000")]}


def test_an_object_whose_status_the_table_does_not_state_is_never_counted_encrypted(tmp_path: Path) -> None:
    rows = Rows("exemplum-notes").objects({"SSE-KMS": 2}, kms=CUSTOMER_KEY).add(SECRET, None)
    write_export(tmp_path / "export", rows.records)
    resources, _ = collected(tmp_path / "export")
    objects = resources["s3-inventory:exemplum-notes/metadata-inventory"].attributes["objects"]
    assert objects["unrecognised"] == 1 and objects["first_offending_keys"] == [mask(SECRET)]


def test_kms_objects_without_a_key_arn_leave_the_keys_unknown(tmp_path: Path) -> None:
    rows = Rows("exemplum-notes").objects({"SSE-KMS": 2}, kms=CUSTOMER_KEY).add("a/b", "SSE-KMS", None)
    write_export(tmp_path / "export", rows.records)
    resources, errors = collected(tmp_path / "export")
    objects = resources["s3-inventory:exemplum-notes/metadata-inventory"].attributes["objects"]
    assert "kms_keys" not in objects and "aws_managed_kms" not in objects
    (error,) = errors
    assert error.resource_id == "s3-inventory:exemplum-notes/metadata-inventory"
    assert "3 KMS-encrypted objects have no kms_key_arn" in error.message


# --- the journal -------------------------------------------------------------------------------


def test_the_journal_is_folded_to_the_newest_record_of_each_object_version(tmp_path: Path) -> None:
    rows = (Rows("exemplum-lab")
            # Rewritten in place under the customer key: only the newest write counts.
            .add("a/rewritten", "SSE-S3").add("a/rewritten", "SSE-KMS", CUSTOMER_KEY)
            # Written then deleted (no versioning): gone.
            .add("a/gone", "SSE-S3").add("a/gone", None, record_type="DELETE")
            # Versioned: a delete marker hides v1, which still holds data (noncurrent).
            .add("b/hidden", "SSE-S3", version="v1").add("b/hidden", None, record_type="DELETE",
                                                           version="v2", marker=True)
            # Versioned: v3 deleted for good, v4 stays.
            .add("b/kept", "SSE-S3", version="v3").add("b/kept", "SSE-KMS", CUSTOMER_KEY, version="v4")
            .add("b/kept", None, record_type="DELETE", version="v3")
            # Versioning suspended: a delete marker replaces the null version, however it is spelt.
            .add("b/null", "SSE-S3").add("b/null", None, record_type="DELETE", version="null", marker=True)
            # A tag change whose record S3 could not fill does not undo the encryption.
            .add("c/tagged", "SSE-KMS", CUSTOMER_KEY).add("c/tagged", None, record_type="UPDATE_METADATA"))
    write_export(tmp_path / "journal", rows.records, table="journal", files=4)
    resources, errors = collected(tmp_path / "journal")
    found = resources["s3-inventory:exemplum-lab/metadata-journal"]
    assert found.attributes["report"]["source"] == "s3-metadata-journal"
    assert found.attributes["report"]["complete"] is False
    assert found.attributes["report"]["date"] == "2025-11-20T08:12:00Z"
    # A lower bound: counts seen at zero are left out, never claimed.
    assert found.attributes["objects"] == {"count": 4, "sse_s3": 1, "sse_kms": 3, "kms_keys": [CUSTOMER_KEY],
                                           "first_offending_keys": [mask("b/hidden")]}
    (error,) = errors
    assert error.resource_id == found.id and "objects it does not list were not seen" in error.message


# --- PHI-ENC-005 end to end --------------------------------------------------------------------


def test_phi_enc_005_passes_only_what_the_live_inventory_table_proves(
        tmp_path: Path, cli: Callable[..., Any], write_snapshot: Callable[..., Path]) -> None:
    exports = tmp_path / "exports"
    write_export(exports / "notes", Rows("exemplum-notes").objects({"SSE-KMS": 6}, kms=CUSTOMER_KEY).records)
    write_export(exports / "lab", Rows("exemplum-lab").objects({"SSE-KMS": 6}, kms=CUSTOMER_KEY)
                 .add(SECRET, "SSE-S3").records)
    write_export(exports / "scans", Rows("exemplum-scans").objects({"SSE-KMS": 3}, kms=CUSTOMER_KEY)
                 .add("old/x", "SSE-KMS", AWS_MANAGED_KEY).records)
    write_export(exports / "journal-ok", Rows("exemplum-imaging").objects({"SSE-KMS": 2}, kms=CUSTOMER_KEY)
                 .records, table="journal")
    write_export(exports / "journal-bad", Rows("exemplum-archive").objects({"SSE-KMS": 2}, kms=CUSTOMER_KEY)
                 .add("x/y", "SSE-S3").records, table="journal")
    live = write_snapshot([
        {"id": CUSTOMER_KEY, "type": "aws.kms.key", "kind": "key", "provider": "aws",
         "attributes": {"manager": "customer"}},
        {"id": AWS_MANAGED_KEY, "type": "aws.kms.key", "kind": "key", "provider": "aws",
         "attributes": {"manager": "provider", "aliases": ["alias/aws/s3"]}}])
    config = tmp_path / "phigate.yaml"
    config.write_text("version: 1\nclassification:\n  names:\n"
                      "    - {pattern: '^exemplum-', data_class: clinical, kinds: [object_inventory]}\n")
    out = tmp_path / "report.json"
    tables = [a for name in ("notes", "lab", "scans", "journal-ok", "journal-bad")
              for a in ("--metadata-table", str(exports / name))]
    result = cli("scan", str(live), "--provider", "s3-inventory", "--provider", "snapshot", *tables,
                 "--only", "PHI-ENC-005", "--config", str(config), "--quiet", "--format", f"json={out}",
                 "--show-passed")
    report = json.loads(out.read_text())
    outcomes = {f["resource"]["id"]: f["status"] for f in report["findings"]}
    assert outcomes == {"s3-inventory:exemplum-notes/metadata-inventory": "pass",
                        "s3-inventory:exemplum-lab/metadata-inventory": "fail",
                        "s3-inventory:exemplum-scans/metadata-inventory": "fail",
                        "s3-inventory:exemplum-imaging/metadata-journal": "error",
                        "s3-inventory:exemplum-archive/metadata-journal": "fail"}, result
    assert result.code == 3  # the journal's bucket is undecided: the evidence is incomplete
    (lab,) = [f for f in report["findings"] if f["resource"]["id"].endswith("exemplum-lab/metadata-inventory")]
    evidence = {e["path"]: e["observed"] for e in lab["evidence"]}
    assert evidence["objects.sse_s3"] == 1 and evidence["objects"]["first_offending_keys"] == [mask(SECRET)]
    assert "dupont" not in out.read_text() and "séropositif" not in out.read_text()


# --- what cannot be read ------------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["truncated", "garbled"])
def test_a_damaged_file_is_an_error_naming_it_never_a_pass(
        tmp_path: Path, damage: str, cli: Callable[..., Any], write_snapshot: Callable[..., Path]) -> None:
    export = write_export(tmp_path / "export", Rows("exemplum-notes").objects({"SSE-KMS": 8}, kms=CUSTOMER_KEY)
                          .records, files=3)
    victim = sorted(export.iterdir())[1]
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) // 2] if damage == "truncated" else bytes(reversed(data)))
    resources, errors = collected(export)
    assert resources == {}
    (error,) = errors
    assert error.resource_id is None and error.scope == str(export) and error.kinds == ("object_inventory",)
    assert f"file {victim.name} could not be read" in error.message
    live = write_snapshot([{"id": CUSTOMER_KEY, "type": "aws.kms.key", "kind": "key", "provider": "aws",
                            "attributes": {"manager": "customer"}}])
    config = tmp_path / "phigate.yaml"
    config.write_text("version: 1\nclassification:\n  names:\n    - {pattern: '^exemplum-', data_class: clinical}\n")
    out = tmp_path / "report.json"
    result = cli("scan", str(live), "--provider", "s3-inventory", "--provider", "snapshot",
                 "--metadata-table", str(export), "--only", "PHI-ENC-005", "--config", str(config),
                 "--quiet", "--format", f"json={out}", "--show-passed")
    report = json.loads(out.read_text())
    assert result.code == 3
    assert [f["status"] for f in report["findings"]] == ["error"]


def test_an_export_missing_a_column_or_with_damaged_rows_is_an_error(tmp_path: Path) -> None:
    rows = Rows("exemplum-notes").objects({"SSE-KMS": 2}, kms=CUSTOMER_KEY).records
    (tmp_path / "a").mkdir()
    # Not every column: as well a journal without the columns that say so as the live table.
    picked = ("bucket", "key", "sequence_number", "encryption_status", "kms_key_arn")
    pq.write_table(pa.Table.from_pylist([{k: r[k] for k in picked} for r in rows]), tmp_path / "a" / "p.parquet")
    resources, errors = collected(tmp_path / "a")
    assert resources == {} and "no version_id, is_delete_marker, size" in errors[0].message
    assert "live inventory table (export it with SELECT *)" in errors[0].message
    # A journal (it has record_timestamp) without record_type cannot be folded.
    (tmp_path / "j").mkdir()
    pq.write_table(pa.Table.from_pylist([{k: v for k, v in r.items() if k != "record_type"} for r in rows]),
                   tmp_path / "j" / "p.parquet")
    resources, errors = collected(tmp_path / "j")
    assert resources == {} and "no record_type column" in errors[0].message and "journal" in errors[0].message
    rows[1]["sequence_number"] = None
    write_export(tmp_path / "b", rows)
    resources, errors = collected(tmp_path / "b")
    assert resources == {} and "1 rows have no bucket, key, sequence_number" in errors[0].message
    journal = Rows("exemplum-notes").objects({"SSE-KMS": 2}, kms=CUSTOMER_KEY).records
    journal[0]["record_type"] = None  # a deletion or a write: the fold would have to guess
    write_export(tmp_path / "untyped", journal, table="journal")
    resources, errors = collected(tmp_path / "untyped")
    assert resources == {} and "1 rows have no" in errors[0].message
    write_export(tmp_path / "c", [])
    resources, errors = collected(tmp_path / "c")
    assert resources == {} and "lists no object" in errors[0].message


def test_an_iceberg_folder_or_a_mixed_or_missing_export_is_bad_input(
        tmp_path: Path, cli: Callable[..., Any]) -> None:
    table = tmp_path / "iceberg"
    write_export(table / "data", Rows("b").objects({"SSE-S3": 1}).records)
    (table / "metadata").mkdir()
    (table / "metadata" / "00001-abc.metadata.json").write_text("{}")
    with pytest.raises(InputError, match="Apache Iceberg table folder"):
        list(provider(table).collect())
    result = cli("scan", "--provider", "s3-inventory", "--metadata-table", str(table), "--only", "PHI-ENC-005")
    assert result.code == 2 and "Export the table" in result.err and "Traceback" not in result.err
    mixed = write_export(tmp_path / "mixed", Rows("b").objects({"SSE-S3": 1}).records)
    (mixed / "extra.csv").write_text("bucket,key\n")
    with pytest.raises(InputError, match="one format"):
        list(provider(mixed).collect())
    (tmp_path / "text").mkdir()
    (tmp_path / "text" / "notes.txt").write_text("hello")
    with pytest.raises(InputError, match="no Parquet or CSV"):
        list(provider(tmp_path / "text").collect())
    with pytest.raises(InputError, match="no such file"):
        provider(tmp_path / "nowhere")


def test_bookkeeping_files_beside_the_data_are_ignored(tmp_path: Path) -> None:
    export = write_export(tmp_path / "export", Rows("b").objects({"SSE-S3": 2}).records, suffix=".parquet")
    (export / "_SUCCESS").write_text("")
    (export / ".part-0.crc").write_text("x")
    (export / "query-manifest.csv").write_text("s3://x/y\n")
    resources, errors = collected(export)
    assert errors == [] and resources["s3-inventory:b/metadata-inventory"].attributes["objects"]["count"] == 2


def test_each_export_is_a_slice_reading_what_the_whole_reads(tmp_path: Path) -> None:
    for bucket in ("a", "b"):
        write_export(tmp_path / bucket, Rows(bucket).objects({"SSE-S3": 1, "SSE-KMS": 1}, kms=CUSTOMER_KEY)
                     .records)
    whole = list(provider(tmp_path / "a", tmp_path / "b").collect())
    parts = provider(tmp_path / "a", tmp_path / "b").slices()
    assert len(parts) == 2
    assert [r for part in parts for r in part.collect()] == whole


def test_the_metadata_benchmark_counts_exactly_at_a_small_size() -> None:
    """``bench/metadata_scale.py`` end to end at a small size, so it never rots."""
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "bench/metadata_scale.py", "--objects", "3000", "--files", "2",
                           "--threads", "1", "--json"], cwd=root, capture_output=True, text=True,
                          timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    assert {name: (row["exact"], row["status"]) for name, row in report["tables"].items()} == {
        "journal": (True, "fail"), "inventory": (True, "fail")}


# --- exports in S3 -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def s3_endpoint(endpoint: str) -> str:
    return endpoint


def _upload(endpoint: str, folder: Path, bucket: str, prefix: str) -> None:
    s3 = client(endpoint, "s3")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            s3.upload_file(str(path), bucket, f"{prefix}{path.relative_to(folder).as_posix()}")


def test_an_export_in_s3_reads_as_the_same_export_on_disk(s3_endpoint: str, tmp_path: Path) -> None:
    rows = Rows("exemplum-notes").objects({"SSE-KMS": 4}, kms=CUSTOMER_KEY).add(SECRET, "SSE-S3").records
    export = write_export(tmp_path / "export", rows, files=3)
    (export / "_SUCCESS").write_text("")
    _upload(s3_endpoint, export, "exemplum-audit", "metadata/notes/inventory/")
    local, _ = collected(export)
    uri = "s3://exemplum-audit/metadata/notes/inventory"
    read, errors = collected(uri)
    (found,) = read.values()
    assert errors == []
    assert [found.id] == list(local) and found.scope == uri
    assert found.attributes == local["s3-inventory:exemplum-notes/metadata-inventory"].attributes


def test_a_damaged_or_unreadable_export_in_s3_is_an_error_and_an_iceberg_table_bad_input(
        s3_endpoint: str, tmp_path: Path) -> None:
    export = write_export(tmp_path / "export", Rows("b").objects({"SSE-S3": 3}).records, files=2)
    victim = sorted(export.iterdir())[0]
    victim.write_bytes(victim.read_bytes()[:40])
    _upload(s3_endpoint, export, "exemplum-damaged", "x/")
    resources, errors = collected("s3://exemplum-damaged/x/")
    assert resources == {} and f"file {victim.name} could not be read" in errors[0].message
    resources, errors = collected("s3://no-such-export-bucket/x/")
    assert resources == {} and "NoSuchBucket" in errors[0].message
    table = tmp_path / "table"
    write_export(table / "data", Rows("b").objects({"SSE-S3": 1}).records)
    (table / "metadata").mkdir()
    (table / "metadata" / "snap-1-abc.avro").write_bytes(b"Obj\x01")
    _upload(s3_endpoint, table, "exemplum-tables", "inventory/")
    with pytest.raises(InputError, match="Apache Iceberg table folder"):
        list(provider("s3://exemplum-tables/inventory/").collect())


@settings(max_examples=25, derandomize=True, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.floats(0, 1), flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255)), max_size=8))
def test_any_damage_to_a_file_is_an_error_or_counts_it_never_raises(
        tmp_path: Path, cut: float, flips: list[tuple[float, int]]) -> None:
    """Truncated anywhere and bytes overwritten anywhere: the reader yields records (a collection
    error, or counts of what it could read whole) and never raises."""
    folder = tmp_path / f"e{abs(hash((cut, tuple(flips))))}"
    export = write_export(folder, Rows("b").objects({"SSE-KMS": 20}, kms=CUSTOMER_KEY).records, files=1,
                          suffix=".parquet")
    (victim,) = export.iterdir()
    data = bytearray(victim.read_bytes())
    for where, value in flips:
        data[int(where * (len(data) - 1))] = value
    victim.write_bytes(bytes(data[: max(1, int(cut * len(data)))]))
    records = list(provider(export).collect())
    assert records and all(isinstance(r, (Resource, CollectionError)) for r in records)
    for found in (r for r in records if isinstance(r, Resource)):
        assert found.attributes["objects"]["count"] <= 20


def test_a_key_that_would_leave_the_download_folder_is_never_written(s3_endpoint: str, tmp_path: Path) -> None:
    export = write_export(tmp_path / "export", Rows("b").objects({"SSE-S3": 1}).records, files=1)
    _upload(s3_endpoint, export, "exemplum-hostile", "x/")
    client(s3_endpoint, "s3").put_object(Bucket="exemplum-hostile", Key="x/../../../escaped.parquet", Body=b"PAR1")
    resources, errors = collected("s3://exemplum-hostile/x/")
    assert resources == {} and "not a plain relative path" in errors[0].message
    above = Path(tempfile.gettempdir()).resolve()
    assert not any((folder / "escaped.parquet").exists() for folder in (above, *above.parents))
