"""Object-level encryption at the breach's scale: 15.8 million objects in S3 Inventory reports.

Writes (once, under ``bench/out/``) one bucket's inventory of N objects as S3 delivers it, in
Parquet and in CSV.gz, with DuckDB itself, then measures in fresh subprocesses:

* phigate: ``S3InventoryProvider`` read by ``phigate.run.scan`` with PHI-ENC-005 (the path
  ``phigate scan --provider s3-inventory DIR --only PHI-ENC-005`` takes), the bucket classified
  clinical by a name rule: wall time, CPU time, peak RSS;
* baseline: a plain Python streaming reader counting the same things: ``gzip`` + ``csv`` for
  CSV.gz, ``pyarrow`` record batches (vectorised counts per batch) for Parquet.

Counts must be exact: both readers are checked against the generator's truth, computed by
DuckDB over ``range(N)`` without reading any file.

usage: python bench/inventory_scale.py [--objects 15800000] [--files 16] [--formats Parquet,CSV]
                                       [--threads 2] [--json]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from _measure import in_child, peak_mb

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
for _src in ("checker", "providers"):
    if str(ROOT / _src) not in sys.path:
        sys.path.insert(0, str(ROOT / _src))

BUCKET = "exemplum-archive"
CONFIGURATION = "daily"
DATE = "2025-11-20T01-00Z"
CREATED_MS = 1763600400000
COLUMNS = ("Bucket", "Key", "VersionId", "IsLatest", "IsDeleteMarker", "Size", "LastModifiedDate",
           "ETag", "StorageClass", "EncryptionStatus", "KMSKeyArn")
CUSTOMER_KEYS = ("arn:aws:kms:eu-west-3:111122223333:key/c69ebf48-8dc1-42d7-8f5a-0a5b6c7d8e10",
                 "arn:aws:kms:eu-west-3:111122223333:key/7a1e33d0-1b2c-4d5e-8f90-a1b2c3d4e5f6")
AWS_MANAGED = "arn:aws:kms:eu-west-3:111122223333:alias/aws/s3"

#: Row i of the estate, in DuckDB SQL: a few objects unencrypted, some SSE-S3, a handful SSE-C,
#: some under the AWS-managed key, the rest under two customer keys; every 997th is a delete marker.
STATUS = ("CASE WHEN i % 1000 < 3 THEN 'NOT-SSE' WHEN i % 1000 < 53 THEN 'SSE-S3' "
          "WHEN i % 1000 = 53 THEN 'SSE-C' WHEN i % 1000 < 60 THEN 'DSSE-KMS' ELSE 'SSE-KMS' END")
KEY = (f"CASE WHEN i % 1000 < 54 THEN NULL WHEN i % 1000 < 70 THEN '{AWS_MANAGED}' "
       f"WHEN i % 2 = 0 THEN '{CUSTOMER_KEYS[0]}' ELSE '{CUSTOMER_KEYS[1]}' END")
DELETE_MARKER = "(i % 997 = 0)"
ROW = f"""
    SELECT '{BUCKET}' AS bucket,
           'notes/' || (i // 5000)::VARCHAR || '/patient-' || lpad((i // 7)::VARCHAR, 8, '0') || '/note-'
               || (i % 7)::VARCHAR || '.txt' AS key,
           CASE WHEN i % 11 = 0 THEN 'v' || i::VARCHAR ELSE NULL END AS version_id,
           (i % 11 <> 0) AS is_latest,
           {DELETE_MARKER} AS is_delete_marker,
           (i * 7919) % 500000 AS size,
           TIMESTAMP '2015-01-01' + to_seconds(i * 13) AS last_modified_date,
           md5(i::VARCHAR) AS e_tag,
           CASE WHEN i % 5 = 0 THEN 'GLACIER' ELSE 'STANDARD' END AS storage_class,
           {STATUS} AS encryption_status,
           {KEY} AS kms_key_arn
    FROM range(?, ?) t(i)
"""


# --------------------------------------------------------------------------------------------
# The estate
# --------------------------------------------------------------------------------------------

def write_inventory(objects: int, files: int, file_format: str) -> Path:
    """The report under ``bench/out/inventory-N/FORMAT/`` (reused when already written)."""
    import duckdb

    root = OUT / f"inventory-{objects}-f{files}" / file_format.lower()
    manifest = root / BUCKET / CONFIGURATION / DATE / "manifest.json"
    if manifest.exists():
        return root
    data = root / BUCKET / CONFIGURATION / "data"
    data.mkdir(parents=True, exist_ok=True)
    suffix = "csv.gz" if file_format == "CSV" else "parquet"
    connection = duckdb.connect()
    listed = []
    for number in range(files):
        start, end = objects * number // files, objects * (number + 1) // files
        path = data / f"part-{number:04d}.{suffix}"
        options = ("FORMAT csv, HEADER false, FORCE_QUOTE *, COMPRESSION gzip" if file_format == "CSV"
                   else "FORMAT parquet, COMPRESSION zstd")
        query = ROW.replace("?", str(start), 1).replace("?", str(end), 1)
        connection.execute(f"COPY ({query}) TO '{path}' ({options})")
        listed.append({"key": f"{BUCKET}/{CONFIGURATION}/data/{path.name}", "size": path.stat().st_size,
                       "MD5checksum": "0" * 32})
    schema = (", ".join(COLUMNS) if file_format == "CSV" else
              "message s3.inventory { " + " ".join(f"optional binary {c};" for c in _snake_columns()) + " }")
    manifest.parent.mkdir(parents=True, exist_ok=True)
    manifest.write_text(json.dumps({
        "sourceBucket": BUCKET, "destinationBucket": "arn:aws:s3:::exemplum-inventory",
        "version": "2016-11-30", "creationTimestamp": str(CREATED_MS), "fileFormat": file_format,
        "fileSchema": schema, "files": listed}, indent=1))
    return root


def _snake_columns() -> list[str]:
    from phigate_providers.s3_inventory.manifest import snake

    return [snake(c) for c in COLUMNS]


def truth(objects: int) -> dict[str, int]:
    """What the counts must be, from the generator's formulas over ``range(N)`` (no file read)."""
    import duckdb

    query = f"""
        SELECT count(*) FILTER (WHERE NOT {DELETE_MARKER}),
               count(*) FILTER (WHERE NOT {DELETE_MARKER} AND s = 'NOT-SSE'),
               count(*) FILTER (WHERE NOT {DELETE_MARKER} AND s = 'SSE-S3'),
               count(*) FILTER (WHERE NOT {DELETE_MARKER} AND s = 'SSE-C'),
               count(*) FILTER (WHERE NOT {DELETE_MARKER} AND s = 'SSE-KMS'),
               count(*) FILTER (WHERE NOT {DELETE_MARKER} AND s = 'DSSE-KMS'),
               count(*) FILTER (WHERE NOT {DELETE_MARKER} AND k = '{AWS_MANAGED}')
        FROM (SELECT i, {STATUS} AS s, {KEY} AS k FROM range({objects}) t(i))
    """
    row = duckdb.connect().execute(query).fetchone()
    assert row is not None
    names = ("count", "not_sse", "sse_s3", "sse_c", "sse_kms", "dsse_kms", "aws_managed_kms")
    return dict(zip(names, (int(v) for v in row), strict=True))


# --------------------------------------------------------------------------------------------
# Measurements (each in its own subprocess)
# --------------------------------------------------------------------------------------------

def measure_phigate(root: Path, threads: int | None) -> dict[str, Any]:
    import re

    from phigate.config import Config, NameRule
    from phigate.load import bundled_pack, load_policies
    from phigate.run import scan
    from phigate.selection import run_context
    from phigate_providers.s3_inventory import S3InventoryProvider

    policies = [p for p in load_policies([bundled_pack()]) if p.id == "PHI-ENC-005"]
    config = Config(name_rules=(NameRule(re.compile(f"^{BUCKET}$"), "clinical"),))
    options = {"inventory_threads": threads, "inventory_memory": "512MB"}
    (provider,) = S3InventoryProvider.configure([str(root)], run_context(config, options=options))
    result = scan([provider], policies, config)
    (finding,) = result.findings
    objects = next(o.observed for o in finding.evidence if o.path == "objects")
    return {"status": finding.status.value, "objects": objects,
            "errors": [e.message for e in result.collection_errors]}


def measure_python_csv(root: Path) -> dict[str, Any]:
    """gzip + csv, row by row: the plain streaming reader."""
    counts: Counter[str] = Counter()
    status_at, key_at, marker_at = COLUMNS.index("EncryptionStatus"), COLUMNS.index("KMSKeyArn"), 4
    for path in sorted((root / BUCKET / CONFIGURATION / "data").iterdir()):
        with gzip.open(path, "rt", newline="") as stream:
            for row in csv.reader(stream):
                if row[marker_at] == "true":
                    continue
                counts["count"] += 1
                counts[row[status_at]] += 1
                if row[key_at] == AWS_MANAGED:
                    counts["aws_managed_kms"] += 1
    return {"objects": _named(counts)}


def measure_python_parquet(root: Path) -> dict[str, Any]:
    """pyarrow record batches, counted per batch with Arrow's compute functions."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    counts: Counter[str] = Counter()
    for path in sorted((root / BUCKET / CONFIGURATION / "data").iterdir()):
        for batch in pq.ParquetFile(path).iter_batches(
                columns=["is_delete_marker", "encryption_status", "kms_key_arn"], batch_size=262144):
            kept = batch.filter(pc.invert(pc.fill_null(batch.column(0), False)))
            counts["count"] += kept.num_rows
            for item in pc.value_counts(kept.column(1)).to_pylist():
                counts[item["values"]] += item["counts"]
            counts["aws_managed_kms"] += pc.sum(pc.equal(kept.column(2), AWS_MANAGED)).as_py() or 0
    return {"objects": _named(counts)}


def _named(counts: Counter[str]) -> dict[str, int]:
    return {"count": counts["count"], "not_sse": counts["NOT-SSE"], "sse_s3": counts["SSE-S3"],
            "sse_c": counts["SSE-C"], "sse_kms": counts["SSE-KMS"], "dsse_kms": counts["DSSE-KMS"],
            "aws_managed_kms": counts["aws_managed_kms"]}


def _measured(what: str, root: Path, threads: int | None) -> dict[str, Any]:
    w0, c0 = time.perf_counter(), time.process_time()
    if what == "phigate":
        figures = measure_phigate(root, threads)
    elif what == "python-csv":
        figures = measure_python_csv(root)
    else:
        figures = measure_python_parquet(root)
    figures["wall_s"] = time.perf_counter() - w0
    # DuckDB's threads are this process's: process_time counts them all.
    figures["cpu_s"] = time.process_time() - c0
    figures["peak_rss_mb"] = peak_mb()
    return figures


def _child(what: str, root: Path, threads: int | None) -> dict[str, Any]:
    return in_child(__file__, what, ["--root", str(root), *(["--threads", str(threads)] if threads else [])])


def run(args: argparse.Namespace) -> dict[str, Any]:
    expected = truth(args.objects)
    report: dict[str, Any] = {"objects_listed": args.objects, "truth": expected, "formats": {}}
    for file_format in args.formats.split(","):
        w0 = time.perf_counter()
        root = write_inventory(args.objects, args.files, file_format)
        generated = time.perf_counter() - w0
        phigate = _child("phigate", root, args.threads)
        baseline = _child("python-csv" if file_format == "CSV" else "python-parquet", root, None)
        found = {k: phigate["objects"].get(k) for k in expected}
        report["formats"][file_format] = {
            "generate_wall_s": generated,
            "bytes": sum(p.stat().st_size for p in (root / BUCKET / CONFIGURATION / "data").iterdir()),
            "phigate": {k: phigate[k] for k in ("wall_s", "cpu_s", "peak_rss_mb", "status")},
            "baseline": {k: baseline[k] for k in ("wall_s", "cpu_s", "peak_rss_mb")},
            "exact": found == expected and baseline["objects"] == expected,
            "first_offending_keys": phigate["objects"].get("first_offending_keys"),
            "wall_ratio_baseline_over_phigate": baseline["wall_s"] / phigate["wall_s"],
        }
    return report


def _print(report: dict[str, Any]) -> None:
    print(f"objects listed: {report['objects_listed']:,}; truth: {report['truth']}")
    print(f"{'format':<8} {'size':>9} {'phigate wall':>13} {'cpu':>7} {'peak':>8} {'baseline wall':>14} "
          f"{'cpu':>7} {'peak':>8} {'speed-up':>9} exact")
    for name, row in report["formats"].items():
        p, b = row["phigate"], row["baseline"]
        print(f"{name:<8} {row['bytes'] / 2**20:>7.0f}MB {p['wall_s']:>12.1f}s {p['cpu_s']:>6.1f}s "
              f"{p['peak_rss_mb']:>6.0f}MB {b['wall_s']:>13.1f}s {b['cpu_s']:>6.1f}s "
              f"{b['peak_rss_mb']:>6.0f}MB "
              f"{row['wall_ratio_baseline_over_phigate']:>8.1f}x {row['exact']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=15_800_000)
    parser.add_argument("--files", type=int, default=16)
    parser.add_argument("--formats", default="Parquet,CSV")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(_measured(args.measure, args.root, args.threads), default=str))
        return 0
    report = run(args)
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        _print(report)
    return 0 if all(row["exact"] for row in report["formats"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
