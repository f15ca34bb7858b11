"""S3 Metadata tables at scale: a bucket's live inventory table and journal, exported as Parquet.

Writes (once, under ``bench/out/``) with DuckDB itself, in the documented columns:

* the journal of N objects: each written once (a few under SSE-S3, some under the AWS-managed
  key, the rest under two customer keys); every 5th rewritten under a customer key, every 7th
  given an ``UPDATE_METADATA`` record S3 could not fill (NULL encryption), every 13th deleted;
  records in no particular order across files;
* the live inventory table of the same bucket: one row per object still there, as folded.

Then measures, in fresh subprocesses, ``S3InventoryProvider`` with ``--metadata-table`` read by
``phigate.run.scan`` with PHI-ENC-005 (the bucket classified clinical by a name rule): wall time,
CPU time, peak RSS, and whether the counts equal the truth, computed by DuckDB from the
generator's formulas over ``range(N)`` without reading a file.

usage: python bench/metadata_scale.py [--objects 5000000] [--files 16] [--threads 2] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from _measure import in_child, peak_mb

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
for _src in ("checker", "providers"):
    if str(ROOT / _src) not in sys.path:
        sys.path.insert(0, str(ROOT / _src))

BUCKET = "exemplum-archive"
CUSTOMER_KEYS = ("arn:aws:kms:eu-west-3:111122223333:key/c69ebf48-8dc1-42d7-8f5a-0a5b6c7d8e10",
                 "arn:aws:kms:eu-west-3:111122223333:key/7a1e33d0-1b2c-4d5e-8f90-a1b2c3d4e5f6")
AWS_MANAGED_KEY = "arn:aws:kms:eu-west-3:111122223333:key/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"

#: Object i's first write, its rewrite (i % 5 = 0), and whether it is still there (i % 13 <> 0).
FIRST_STATUS = "CASE WHEN i % 1000 < 3 THEN 'SSE-S3' ELSE 'SSE-KMS' END"
FIRST_KEY = (f"CASE WHEN i % 1000 < 3 THEN NULL WHEN i % 1000 < 10 THEN '{AWS_MANAGED_KEY}' "
             f"WHEN i % 2 = 0 THEN '{CUSTOMER_KEYS[0]}' ELSE '{CUSTOMER_KEYS[1]}' END")
FINAL_STATUS = f"CASE WHEN i % 5 = 0 THEN 'SSE-KMS' ELSE {FIRST_STATUS} END"
FINAL_KEY = f"CASE WHEN i % 5 = 0 THEN '{CUSTOMER_KEYS[0]}' ELSE {FIRST_KEY} END"
KEPT = "(i % 13 <> 0)"
OBJECT_KEY = ("'notes/' || (i // 5000)::VARCHAR || '/patient-' || lpad((i // 7)::VARCHAR, 8, '0') "
              "|| '/note-' || (i % 7)::VARCHAR || '.txt'")
#: Record r (0 write, 1 rewrite, 2 metadata change, 3 delete) of object i, when it happens.
SEQUENCE = "lpad(format('{:x}', i * 4 + r), 24, '0')"
COMMON = f"""
    '{BUCKET}' AS bucket, {OBJECT_KEY} AS key, {SEQUENCE} AS sequence_number,
    CAST(NULL AS VARCHAR) AS version_id, (i * 7919) % 500000 AS size,
    TIMESTAMP '2025-01-01' + to_seconds(i * 2 + r) AS last_modified_date, md5(i::VARCHAR) AS e_tag,
    'STANDARD' AS storage_class, false AS is_multipart, true AS is_bucket_key_enabled,
    'CRC64NVME' AS checksum_algorithm, MAP {{}}::MAP(VARCHAR, VARCHAR) AS object_tags,
    MAP {{}}::MAP(VARCHAR, VARCHAR) AS user_metadata
"""
JOURNAL = f"""
    SELECT {COMMON},
        CASE r WHEN 2 THEN 'UPDATE_METADATA' WHEN 3 THEN 'DELETE' ELSE 'CREATE' END AS record_type,
        TIMESTAMP '2025-01-01' + to_seconds(i * 2 + r) AS record_timestamp,
        CASE WHEN r = 3 THEN NULL ELSE false END AS is_delete_marker,
        CASE r WHEN 0 THEN {FIRST_STATUS} WHEN 1 THEN 'SSE-KMS' ELSE NULL END AS encryption_status,
        CASE r WHEN 0 THEN {FIRST_KEY} WHEN 1 THEN '{CUSTOMER_KEYS[0]}' ELSE NULL END AS kms_key_arn,
        '111122223333' AS requester, '192.0.2.1' AS source_ip_address, md5((i * 4 + r)::VARCHAR) AS request_id
    FROM range(?, ?) t(i), range(4) s(r)
    WHERE r = 0 OR (r = 1 AND i % 5 = 0) OR (r = 2 AND i % 7 = 0) OR (r = 3 AND i % 13 = 0)
    ORDER BY hash(i * 4 + r)
"""
INVENTORY = f"""
    SELECT {COMMON}, false AS is_delete_marker, {FINAL_STATUS} AS encryption_status,
        {FINAL_KEY} AS kms_key_arn
    FROM range(?, ?) t(i), range(1) s(r) WHERE {KEPT}
"""


def write_tables(objects: int, files: int) -> dict[str, Path]:
    """Both exports under ``bench/out/metadata-N-fF/`` (reused when already written)."""
    import duckdb

    base = OUT / f"metadata-{objects}-f{files}"
    folders = {"journal": base / "journal", "inventory": base / "inventory"}
    if (base / "done").exists():
        return folders
    connection = duckdb.connect()
    for table, query in (("journal", JOURNAL), ("inventory", INVENTORY)):
        folders[table].mkdir(parents=True, exist_ok=True)
        for number in range(files):
            start, end = objects * number // files, objects * (number + 1) // files
            chosen = query.replace("?", str(start), 1).replace("?", str(end), 1)
            # Named as Athena's UNLOAD names them: no suffix.
            path = folders[table] / f"20251120_080000_00000_{number:05d}"
            connection.execute(f"COPY ({chosen}) TO '{path}' (FORMAT parquet, COMPRESSION zstd)")
    (base / "done").write_text("")
    return folders


def truth(objects: int) -> dict[str, Any]:
    """What the counts must be, from the formulas over ``range(N)`` (no file read)."""
    import duckdb

    query = f"""
        SELECT count(*), count(*) FILTER (WHERE s = 'SSE-S3'), count(*) FILTER (WHERE s = 'SSE-KMS'),
               list(DISTINCT k ORDER BY k) FILTER (WHERE k IS NOT NULL)
        FROM (SELECT {FINAL_STATUS} AS s, {FINAL_KEY} AS k FROM range({objects}) t(i) WHERE {KEPT})
    """
    row = duckdb.connect().execute(query).fetchone()
    assert row is not None
    return {"count": int(row[0]), "sse_s3": int(row[1]), "sse_kms": int(row[2]), "kms_keys": list(row[3])}


def measure(folder: Path, threads: int | None) -> dict[str, Any]:
    import re

    from phigate.config import Config, NameRule
    from phigate.load import bundled_pack, load_policies
    from phigate.run import scan
    from phigate.selection import run_context
    from phigate_providers.s3_inventory import S3InventoryProvider

    w0, c0 = time.perf_counter(), time.process_time()
    policies = [p for p in load_policies([bundled_pack()]) if p.id == "PHI-ENC-005"]
    config = Config(name_rules=(NameRule(re.compile(f"^{BUCKET}$"), "clinical"),))
    options = {"metadata_table": [str(folder)], "inventory_threads": threads, "inventory_memory": "512MB"}
    (provider,) = S3InventoryProvider.configure([], run_context(config, options=options))
    result = scan([provider], policies, config)
    (finding,) = result.findings
    objects = next(o.observed for o in finding.evidence if o.path == "objects")
    return {"status": finding.status.value, "objects": objects,
            "errors": [e.message for e in result.collection_errors],
            "wall_s": time.perf_counter() - w0, "cpu_s": time.process_time() - c0, "peak_rss_mb": peak_mb()}


def run(args: argparse.Namespace) -> dict[str, Any]:
    expected = truth(args.objects)
    w0 = time.perf_counter()
    folders = write_tables(args.objects, args.files)
    report: dict[str, Any] = {"objects_written": args.objects, "truth": expected,
                              "generate_wall_s": time.perf_counter() - w0, "tables": {}}
    for table, folder in folders.items():
        found = in_child(__file__, "phigate", ["--root", str(folder), "--threads", str(args.threads)])
        objects = found["objects"]
        seen = {k: objects.get(k) for k in expected}
        report["tables"][table] = {
            "rows": _rows(folder), "bytes": sum(p.stat().st_size for p in folder.iterdir()),
            **{k: found[k] for k in ("wall_s", "cpu_s", "peak_rss_mb", "status")},
            "exact": seen == expected}
    return report


def _rows(folder: Path) -> int:
    import pyarrow.parquet as pq

    return sum(pq.ParquetFile(p).metadata.num_rows for p in folder.iterdir())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--objects", type=int, default=5_000_000)
    parser.add_argument("--files", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    parser.add_argument("--root", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        print(json.dumps(measure(args.root, args.threads), default=str))
        return 0
    report = run(args)
    if args.json:
        print(json.dumps(report, indent=2, default=str))
    else:
        print(f"objects written: {report['objects_written']:,}; truth: {report['truth']}")
        for table, row in report["tables"].items():
            print(f"{table:<10} {row['rows']:>11,} rows {row['bytes'] / 2**20:>7.0f}MB  "
                  f"wall {row['wall_s']:.1f}s cpu {row['cpu_s']:.1f}s peak {row['peak_rss_mb']:.0f}MB  "
                  f"{row['status']}  exact {row['exact']}")
    return 0 if all(row["exact"] for row in report["tables"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
