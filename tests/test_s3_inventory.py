"""The s3-inventory provider on real reports: CSV.gz, Parquet and ORC files with their manifests,
written here row by row so every count is known; DuckDB reads them as it would S3's own."""

from __future__ import annotations

import csv
import gzip
import io
import json
import re
from collections.abc import Callable
from importlib.metadata import EntryPoint
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyarrow import orc

from phigate import registry
from phigate.api import CollectionError, InputError, Resource
from phigate.config import Config, NameRule
from phigate.load import bundled_pack, load_policies
from phigate.model import Status
from phigate.run import scan
from phigate.testing import run_context
from phigate_providers.s3_inventory import S3InventoryProvider
from phigate_providers.s3_inventory.masking import mask
from tests.aws_server import REGION, client

COLUMNS = ("Bucket", "Key", "VersionId", "IsLatest", "IsDeleteMarker", "Size", "EncryptionStatus")
WITH_KEYS = (*COLUMNS, "KMSKeyArn")
CUSTOMER_KEY = "arn:aws:kms:eu-west-3:111122223333:key/c69ebf48-8dc1-42d7-8f5a-0a5b6c7d8e10"
AWS_MANAGED = "arn:aws:kms:eu-west-3:111122223333:alias/aws/s3"
SECRET_NAME = "dupont jean+né 1961 séropositif.txt"

Row = tuple[Any, ...]


def rows(bucket: str, spec: dict[str, int], *, prefix: str = "notes", key_arn: str | None = None) -> list[Row]:
    """``count`` objects per encryption status, keys ``PREFIX/STATUS-n``."""
    made = []
    for status, count in spec.items():
        for n in range(count):
            kms = status in ("SSE-KMS", "DSSE-KMS")
            made.append((bucket, f"{prefix}/{status.lower()}-{n:04d}", None, True, False, 10 + n, status,
                         key_arn if kms else None))
    return made


def write_report(root: Path, bucket: str, data: list[Row], *, file_format: str = "CSV",
                 columns: tuple[str, ...] = COLUMNS, configuration: str = "daily",
                 date: str = "2025-03-02T01-00Z", created_ms: int = 1740877200000, files: int = 2) -> Path:
    """A report laid out as S3 delivers it; returns the manifest's path."""
    base = root / "inventory" / bucket / configuration
    (base / "data").mkdir(parents=True, exist_ok=True)
    (base / date).mkdir(parents=True, exist_ok=True)
    chunks = [data[i::files] for i in range(files)]
    listed = []
    for number, chunk in enumerate(chunks):
        name = f"{date}-{number}.{ {'CSV': 'csv.gz', 'Parquet': 'parquet', 'ORC': 'orc'}[file_format]}"
        path = base / "data" / name
        _write_data(path, chunk, file_format, columns)
        listed.append({"key": f"inventory/{bucket}/{configuration}/data/{name}", "size": path.stat().st_size,
                       "MD5checksum": "0" * 32})
    schema = {"CSV": ", ".join(columns),
              "Parquet": "message s3.inventory { "
                         + " ".join(f"optional binary {_snake(c)} (UTF8);" for c in columns) + " }",
              "ORC": "struct<" + ",".join(f"{_snake(c)}:string" for c in columns) + ">"}[file_format]
    manifest = {"sourceBucket": bucket, "destinationBucket": "arn:aws:s3:::exemplum-inventory",
                "version": "2016-11-30", "creationTimestamp": str(created_ms), "fileFormat": file_format,
                "fileSchema": schema, "files": listed}
    path = base / date / "manifest.json"
    path.write_text(json.dumps(manifest))
    return path


def _snake(name: str) -> str:
    from phigate_providers.s3_inventory.manifest import snake
    return snake(name)


def _write_data(path: Path, chunk: list[Row], file_format: str, columns: tuple[str, ...]) -> None:
    width = len(columns)
    if file_format == "CSV":
        text = io.StringIO()
        writer = csv.writer(text, quoting=csv.QUOTE_ALL, lineterminator="\n")
        for row in chunk:
            values = ["" if v is None else str(v).lower() if isinstance(v, bool) else str(v) for v in row[:width]]
            values[1] = quote_plus(values[1], safe="/")  # CSV reports URL-encode keys
            writer.writerow(values)
        path.write_bytes(gzip.compress(text.getvalue().encode()))
        return
    names = [_snake(c) for c in columns]
    types = {"is_latest": pa.bool_(), "is_delete_marker": pa.bool_(), "size": pa.int64()}
    table = pa.table({name: pa.array([row[i] for row in chunk], type=types.get(name, pa.string()))
                      for i, name in enumerate(names)})
    if file_format == "Parquet":
        pq.write_table(table, path)
    else:
        orc.write_table(table, path)


def provider(*targets: str | Path, **options: Any) -> S3InventoryProvider:
    given = {f"inventory_{k}": v for k, v in options.items()}
    (made,) = S3InventoryProvider.configure([str(t) for t in targets], run_context(options=given))
    return made


def collected(*targets: str | Path, **options: Any) -> tuple[dict[str, Resource], list[CollectionError]]:
    resources, errors = {}, []
    for record in provider(*targets, **options).collect():
        if isinstance(record, CollectionError):
            errors.append(record)
        else:
            resources[record.id] = record
    return resources, errors


# --- reading reports -----------------------------------------------------------------------


@pytest.mark.parametrize("file_format", ["CSV", "Parquet", "ORC"])
def test_counts_are_exact_in_every_format(tmp_path: Path, file_format: str) -> None:
    data = rows("notes", {"NOT-SSE": 3, "SSE-S3": 5, "SSE-C": 1, "SSE-KMS": 7, "DSSE-KMS": 2})
    data.append(("notes", "notes/deleted", "v9", False, True, 0, "", None))  # a delete marker
    data.append(("notes", "notes/old", "v1", False, False, 4, "SSE-S3", None))  # a noncurrent version
    data.append(("notes", "notes/odd", None, True, False, 4, "SSE-XYZ", None))
    write_report(tmp_path, "notes", data, file_format=file_format, files=3)
    resources, errors = collected(tmp_path)
    objects = resources["s3-inventory:notes/daily"].attributes["objects"]
    assert {k: v for k, v in objects.items() if k != "first_offending_keys"} == {
        "count": 20, "not_sse": 3, "sse_s3": 6, "sse_c": 1, "sse_kms": 7, "dsse_kms": 2, "unrecognised": 1}
    assert len(objects["first_offending_keys"]) == 10
    # Without a key column, the 9 KMS objects' keys are unknown: said, never guessed.
    (error,) = errors
    assert error.resource_id == "s3-inventory:notes/daily" and "9 KMS-encrypted objects" in error.message


def test_keys_named_by_the_report_and_the_aws_managed_alias(tmp_path: Path) -> None:
    data = rows("notes", {"SSE-KMS": 4}, key_arn=CUSTOMER_KEY) + rows("notes", {"SSE-KMS": 2}, prefix="x",
                                                                      key_arn=AWS_MANAGED)
    write_report(tmp_path, "notes", data, file_format="Parquet", columns=WITH_KEYS)
    resources, errors = collected(tmp_path)
    objects = resources["s3-inventory:notes/daily"].attributes["objects"]
    assert errors == []
    assert objects["kms_keys"] == [CUSTOMER_KEY] and objects["aws_managed_kms"] == 2
    assert objects["first_offending_keys"] == [mask("x/sse-kms-0000"), mask("x/sse-kms-0001")]


def test_the_newest_report_of_each_configuration_is_read(tmp_path: Path) -> None:
    write_report(tmp_path, "notes", rows("notes", {"NOT-SSE": 9}), date="2025-03-01T01-00Z",
                 created_ms=1740790800000)
    write_report(tmp_path, "notes", rows("notes", {"SSE-S3": 2}), date="2025-03-02T01-00Z")
    write_report(tmp_path, "notes", rows("notes", {"SSE-C": 1}), configuration="weekly")
    write_report(tmp_path, "scans", [], files=0)  # an empty bucket
    resources, _ = collected(tmp_path)
    assert sorted(resources) == ["s3-inventory:notes/daily", "s3-inventory:notes/weekly",
                                 "s3-inventory:scans/daily"]
    assert resources["s3-inventory:notes/daily"].attributes["objects"]["sse_s3"] == 2
    assert resources["s3-inventory:notes/daily"].attributes["objects"]["not_sse"] == 0
    assert resources["s3-inventory:notes/daily"].attributes["report"] == {
        "configuration": "daily", "date": "2025-03-02T01:00:00Z", "format": "CSV", "files": 2,
        "source": "s3-inventory", "complete": True}
    assert resources["s3-inventory:scans/daily"].attributes["objects"]["count"] == 0
    assert resources["s3-inventory:notes/weekly"].attributes["store"] == "arn:aws:s3:::notes"


def test_a_missing_or_truncated_data_file_leaves_the_counts_out(tmp_path: Path) -> None:
    manifest = write_report(tmp_path, "notes", rows("notes", {"NOT-SSE": 4}))
    data_files = sorted((manifest.parent.parent / "data").iterdir())
    data_files[0].unlink()
    resources, errors = collected(manifest)
    assert "objects" not in resources["s3-inventory:notes/daily"].attributes
    assert [e.resource_id for e in errors] == ["s3-inventory:notes/daily"] and "missing" in errors[0].message
    manifest = write_report(tmp_path / "b", "notes", rows("notes", {"NOT-SSE": 4}))
    truncated = sorted((manifest.parent.parent / "data").iterdir())[0]
    truncated.write_bytes(truncated.read_bytes()[:-3])
    resources, errors = collected(manifest)
    assert "objects" not in resources["s3-inventory:notes/daily"].attributes and "bytes" in errors[0].message


def test_a_report_without_encryption_status_or_with_broken_files_is_an_error(tmp_path: Path) -> None:
    write_report(tmp_path / "a", "notes", rows("notes", {"NOT-SSE": 1}), file_format="Parquet",
                 columns=COLUMNS[:-1])
    resources, errors = collected(tmp_path / "a")
    assert "objects" not in resources["s3-inventory:notes/daily"].attributes
    assert "EncryptionStatus" in errors[0].message
    manifest = write_report(tmp_path / "b", "notes", rows("notes", {"NOT-SSE": 2}), files=1)
    (data,) = (manifest.parent.parent / "data").iterdir()
    broken = b"not gzip at all" + bytes(data.stat().st_size - 15)
    data.write_bytes(broken)
    resources, errors = collected(tmp_path / "b")
    assert "objects" not in resources["s3-inventory:notes/daily"].attributes
    assert "could not be read" in errors[0].message and "sse-0000" not in errors[0].message


def test_bad_targets_and_options_are_input_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError):
        provider(tmp_path / "nowhere")
    with pytest.raises(InputError, match="name the reports"):
        provider()
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no S3 Inventory manifest"):
        list(provider(tmp_path / "empty").collect())
    broken = tmp_path / "x" / "manifest.json"
    broken.parent.mkdir()
    broken.write_text('{"sourceBucket": "b", "fileFormat": "CSV"}')
    with pytest.raises(InputError, match="fileSchema"):
        list(provider(broken).collect())
    write_report(tmp_path / "ok", "notes", [])
    for bad in ({"first_keys": 500}, {"threads": 0}, {"memory": "lots"}):
        with pytest.raises(InputError):
            provider(tmp_path / "ok", **bad)


def test_claims_only_inventory_manifests(tmp_path: Path, write_snapshot: Callable[..., Path]) -> None:
    manifest = write_report(tmp_path / "reports", "notes", [])
    assert S3InventoryProvider.claims(str(manifest)) and S3InventoryProvider.claims(str(tmp_path / "reports"))
    assert not S3InventoryProvider.claims(str(write_snapshot([])))
    assert not S3InventoryProvider.claims(str(manifest.parent.parent / "data"))


# --- masking -------------------------------------------------------------------------------


def test_masking_keeps_the_first_segment_and_never_the_name() -> None:
    masked = mask(f"notes/2019/{SECRET_NAME}")
    assert masked.startswith("notes/…#") and "2019" not in masked and "dupont" not in masked
    assert mask(SECRET_NAME).startswith("…#") and "dupont" not in mask(SECRET_NAME)
    assert mask("notes/a") != mask("notes/b") and mask("notes/a") == mask("notes/a")


def test_csv_keys_are_decoded_before_masking(tmp_path: Path) -> None:
    """The same object gives the same mask whatever the report's format."""
    data = [("notes", f"notes/{SECRET_NAME}", None, True, False, 1, "NOT-SSE", None)]
    write_report(tmp_path / "csv", "notes", data, files=1)
    write_report(tmp_path / "parquet", "notes", data, file_format="Parquet", files=1)
    first = [collected(tmp_path / f)[0]["s3-inventory:notes/daily"].attributes["objects"]["first_offending_keys"]
             for f in ("csv", "parquet")]
    assert first[0] == first[1] == [mask(f"notes/{SECRET_NAME}")]


# --- PHI-ENC-005 end to end ----------------------------------------------------------------


@pytest.fixture
def cli_with_inventory(cli: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """The CLI with the provider's entry point, whether or not the installed metadata has it yet."""
    if "s3-inventory" not in registry.names(registry.PROVIDERS):
        original = registry._group

        def group(name: str) -> dict[str, EntryPoint]:
            found = dict(original(name))
            if name == registry.PROVIDERS:
                found["s3-inventory"] = EntryPoint(
                    "s3-inventory", "phigate_providers.s3_inventory:S3InventoryProvider", name)
            return dict(sorted(found.items()))

        monkeypatch.setattr(registry, "_group", group)
    return cli


def test_phi_enc_005_fails_unencrypted_objects_of_clinical_buckets(
        tmp_path: Path, cli_with_inventory: Callable[..., Any], write_snapshot: Callable[..., Path]) -> None:
    reports = tmp_path / "reports"
    unencrypted = ("exemplum-notes", f"2019/{SECRET_NAME}", None, True, False, 1, "NOT-SSE", None)
    write_report(reports, "exemplum-notes", [*rows("exemplum-notes", {"SSE-KMS": 5}, key_arn=CUSTOMER_KEY),
                                             unencrypted], file_format="Parquet", columns=WITH_KEYS)
    write_report(reports, "exemplum-lab", rows("exemplum-lab", {"SSE-KMS": 3}, key_arn=CUSTOMER_KEY),
                 file_format="Parquet", columns=WITH_KEYS)
    write_report(reports, "exemplum-invoices", rows("exemplum-invoices", {"NOT-SSE": 3}), file_format="Parquet")
    # What a live scan of the same run would add: the buckets' tags and the key's manager.
    live = write_snapshot([
        {"id": "arn:aws:s3:::exemplum-lab", "type": "aws.s3.bucket", "kind": "object_store", "provider": "aws",
         "tags": {"data_class": "clinical"}},
        {"id": "arn:aws:s3:::exemplum-invoices", "type": "aws.s3.bucket", "kind": "object_store",
         "provider": "aws", "tags": {"data_class": "administrative"}},
        {"id": CUSTOMER_KEY, "type": "aws.kms.key", "kind": "key", "provider": "aws",
         "attributes": {"manager": "customer"}}])
    config = tmp_path / "phigate.yaml"
    config.write_text("version: 1\nclassification:\n  names:\n"
                      "    - {pattern: '^exemplum-notes$', data_class: clinical, kinds: [object_inventory]}\n")
    out = tmp_path / "report.json"
    result = cli_with_inventory("scan", str(reports), str(live), "--only", "PHI-ENC-005", "--config", str(config),
                                "--quiet", "--format", f"json={out}", "--show-passed")
    report = json.loads(out.read_text())
    outcomes = {f["resource"]["id"]: f["status"] for f in report["findings"]}
    assert outcomes == {"s3-inventory:exemplum-notes/daily": "fail", "s3-inventory:exemplum-lab/daily": "pass",
                        "s3-inventory:exemplum-invoices/daily": "skip"}
    assert result.code == 1 and report["collection_errors"] == []
    (failure,) = [f for f in report["findings"] if f["status"] == "fail"]
    evidence = {e["path"]: e["observed"] for e in failure["evidence"]}
    assert evidence["objects.not_sse"] == 1
    assert evidence["objects"]["count"] == 6 and evidence["objects"]["sse_kms"] == 5
    assert evidence["objects"]["first_offending_keys"] == [mask(f"2019/{SECRET_NAME}")]
    assert "dupont" not in out.read_text() and "séropositif" not in out.read_text()


def test_without_a_class_or_key_names_the_policy_errors(tmp_path: Path) -> None:
    write_report(tmp_path, "exemplum-scans", rows("exemplum-scans", {"SSE-KMS": 2}))
    policies = load_policies([bundled_pack()])
    chosen = [p for p in policies if p.id == "PHI-ENC-005"]
    unknown_class = scan([provider(tmp_path)], chosen, Config())
    assert unknown_class.counts["PHI-ENC-005"][Status.ERROR] == 1 and unknown_class.exit_code(
        chosen[0].severity) == 3
    clinical = Config(name_rules=(NameRule(re.compile("scans"), "clinical"),))
    unnamed_keys = scan([provider(tmp_path)], chosen, clinical)
    assert unnamed_keys.counts["PHI-ENC-005"][Status.ERROR] == 1
    assert unnamed_keys.counts["PHI-ENC-005"][Status.PASS] == 0
    assert any("do not name" in e.message or "does not name" in e.message for e in unnamed_keys.collection_errors)


# --- reports in S3 --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def s3_endpoint(endpoint: str) -> str:
    return endpoint


def _upload(endpoint: str, folder: Path, bucket: str) -> None:
    s3 = client(endpoint, "s3")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            s3.upload_file(str(path), bucket, path.relative_to(folder).as_posix())


def test_reports_are_read_from_s3_as_from_disk(s3_endpoint: str, tmp_path: Path) -> None:
    data = rows("notes", {"NOT-SSE": 2, "SSE-S3": 3, "SSE-KMS": 4}, key_arn=CUSTOMER_KEY)
    write_report(tmp_path, "notes", data, columns=WITH_KEYS, date="2025-03-01T01-00Z", created_ms=1740790800000)
    write_report(tmp_path, "notes", data[:4], columns=WITH_KEYS)
    _upload(s3_endpoint, tmp_path, "exemplum-inventory")
    local, _ = collected(tmp_path)
    remote, errors = collected("s3://exemplum-inventory/inventory/")
    assert errors == []
    assert remote["s3-inventory:notes/daily"].attributes == local["s3-inventory:notes/daily"].attributes
    assert remote["s3-inventory:notes/daily"].attributes["objects"]["count"] == 4


def test_an_unreadable_s3_location_is_an_error_not_a_pass(s3_endpoint: str) -> None:
    records = list(provider("s3://no-such-inventory-bucket/reports/").collect())
    assert [type(r) for r in records] == [CollectionError]
    assert records[0].kinds == ("object_inventory",) and "NoSuchBucket" in records[0].message


# --- slices ---------------------------------------------------------------------------------


def test_one_slice_per_report_reads_what_the_whole_reads(tmp_path: Path) -> None:
    for bucket in ("a", "b", "c"):
        write_report(tmp_path, bucket, rows(bucket, {"NOT-SSE": 1, "SSE-KMS": 2}))
    whole = list(provider(tmp_path).collect())
    parts = provider(tmp_path).slices()
    assert len(parts) == 3
    assert [r for part in parts for r in part.collect()] == whole
