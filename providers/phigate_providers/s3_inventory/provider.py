"""The ``s3-inventory`` provider: every object of a bucket, as its S3 Inventory report lists it.

One ``object_inventory`` resource per (bucket, inventory configuration), from the newest report,
and per (bucket, S3 Metadata table) from exports of those tables (``metadata``): object counts
by encryption status, the KMS keys the source names, and the first offending keys, masked.
DuckDB aggregates the rows where they are read; Python sees a handful of numbers per bucket.
The bucket's data class comes from the config's classification (name rules match the bucket
name) or, when the config does not classify it, from the bucket a live AWS scan of the same run
saw (``store`` refers to it).

Each report and each export is one slice (``slices()``): a distributed scan reads them on
several workers.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, ClassVar

from phigate.api import CollectionError, InputError, Record, Resource, RunContext, Scope
from phigate_providers.s3_inventory import manifest, metadata, remote, sample
from phigate_providers.s3_inventory.aggregate import BucketCounts, Engine, UnreadableReport, count_objects
from phigate_providers.s3_inventory.masking import decode, mask

NAME = "s3-inventory"
#: What S3 accepts as a general purpose bucket's name (3 to 63 characters).
BUCKET_NAME = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
TYPE = "aws.s3.inventory"
KIND = "object_inventory"
#: How far above a manifest its data files are looked for (``…/CONFIG/data/`` is two up).
SEARCH_DEPTH = 6


@dataclass(frozen=True, slots=True)
class Settings:
    targets: tuple[str, ...]
    first_keys: int = 10
    engine: Engine = field(default_factory=Engine)
    profile: str | None = None
    metadata_tables: tuple[str, ...] = ()
    head_sample: tuple[str, ...] = ()
    head_sample_size: int = 100


class S3InventoryProvider:
    """S3 Inventory reports (a folder, a ``manifest.json`` or ``s3://DESTINATION/PREFIX``), exports
    of S3 Metadata tables, and HeadObject samples of buckets."""

    name: ClassVar[str] = NAME
    description: ClassVar[str] = ("S3 Inventory reports (CSV.gz, Parquet, ORC; local or s3://) and "
                                  "S3 Metadata table exports: every object's encryption, counted "
                                  "per bucket")
    permissions: ClassVar[tuple[str, ...]] = (
        "read access to local inventory reports",
        "s3:ListBucket on the inventory destination bucket (s3:// reports)",
        "s3:GetObject on the inventory reports (s3:// reports; never on the audited buckets)",
        "read access to local exports of S3 Metadata tables; s3:ListBucket and s3:GetObject on the "
        "export's prefix for s3:// exports",
        "s3:ListBucket, s3:GetBucketVersioning and s3:GetObject on the buckets named by --head-sample "
        "(HeadObject only: object metadata, never content; the grant alone would allow reading it)",
    )

    @classmethod
    def permissions_document(cls) -> str:
        """An IAM policy for reports and exports in S3 and for HeadObject samples. Bucket names
        are placeholders: the inventory destination or export bucket, and each sampled bucket
        (leave that statement out where nothing is sampled)."""
        def statement(sid: str, bucket: str, on_bucket: list[str]) -> list[dict[str, Any]]:
            return [{"Sid": f"{sid}List", "Effect": "Allow", "Action": on_bucket,
                     "Resource": f"arn:aws:s3:::{bucket}"},
                    {"Sid": f"{sid}Objects", "Effect": "Allow", "Action": ["s3:GetObject"],
                     "Resource": f"arn:aws:s3:::{bucket}/*"}]
        return json.dumps({"Version": "2012-10-17", "Statement": [
            *statement("ReportsAndExports", "INVENTORY-OR-EXPORT-BUCKET", ["s3:ListBucket"]),
            *statement("HeadObjectSample", "SAMPLED-BUCKET", ["s3:GetBucketVersioning", "s3:ListBucket"]),
        ]}, indent=2)

    def __init__(self, settings: Settings, reports: Sequence[manifest.Report] | None = None,
                 errors: Sequence[CollectionError] = (),
                 exports: Sequence[metadata.Export] | None = None,
                 samples: Sequence[str] | None = None) -> None:
        self.settings = settings
        self._reports = list(reports) if reports is not None else None
        self._errors = list(errors)
        self._exports = list(exports) if exports is not None else None
        self._samples = list(samples) if samples is not None else list(settings.head_sample)

    @classmethod
    def claims(cls, target: str) -> bool:
        path = Path(target)
        if path.is_dir():
            return any(manifest.looks_like_manifest(p) for p in path.rglob(manifest.MANIFEST))
        return manifest.looks_like_manifest(path)

    @classmethod
    def configure(cls, targets: list[str], context: RunContext) -> list[S3InventoryProvider]:
        settings, option = context.settings, context.option
        named = [*targets, *(option("inventory", "reports") or [])]
        tables = [str(t) for t in option("metadata_table", "metadata_tables") or []]
        sampled = [str(b) for b in option("head_sample", "head_sample") or []]
        if not named and not tables and not sampled:
            raise InputError("s3-inventory: name the reports: a folder or manifest.json as TARGET, "
                             "or --inventory PATH|s3://DESTINATION/PREFIX, --metadata-table PATH, "
                             "or --head-sample BUCKET")
        for bucket in sampled:
            if not BUCKET_NAME.fullmatch(bucket):
                raise InputError(f"s3-inventory: {bucket!r} is not an S3 bucket name (--head-sample)")
        size = option("head_sample_size", "head_sample_size")
        size = 100 if size is None else size
        if not isinstance(size, int) or isinstance(size, bool) or not 1 <= size <= 10000:
            raise InputError(f"s3-inventory: the head sample size must be an integer from 1 to 10000, "
                             f"not {size!r}")
        try:
            import duckdb  # noqa: F401  (checked now: a missing engine is a usage problem)
        except ImportError:
            raise InputError("s3-inventory needs DuckDB: install phigate[scale]") from None
        for target in [*named, *tables]:
            if not remote.is_remote(str(target)) and not Path(target).exists():
                raise InputError(f"s3-inventory: {target}: no such file or folder")
        first_keys = option("inventory_first_keys", "first_keys")
        first_keys = 10 if first_keys is None else first_keys
        if not isinstance(first_keys, int) or isinstance(first_keys, bool) or not 0 <= first_keys <= 100:
            raise InputError(f"s3-inventory: first keys must be an integer from 0 to 100, not {first_keys!r}")
        threads = option("inventory_threads", "threads")
        if threads is not None and (not isinstance(threads, int) or not 1 <= threads <= 256):
            raise InputError(f"s3-inventory: threads must be an integer from 1 to 256, not {threads!r}")
        memory = str(option("inventory_memory", "memory_limit") or "512MB")
        if not memory.replace(" ", "").rstrip("KMGTiBb").replace(".", "").isdigit():
            raise InputError(f"s3-inventory: memory must be a size such as 512MB or 2GB, not {memory!r}")
        return [cls(Settings(tuple(str(t) for t in named), first_keys, Engine(threads, memory),
                             settings.get("profile"), tuple(tables), tuple(sampled), size))]

    def scopes(self) -> list[Scope]:
        return [Scope(NAME, target) for target in (*self.settings.targets, *self.settings.metadata_tables,
                                                   *(f"s3://{b}" for b in self.settings.head_sample))]

    def slices(self) -> list[S3InventoryProvider]:
        """One provider per report, metadata table export and sampled bucket (the planning
        errors travel with the first), in the order ``collect`` reads them."""
        reports, exports = self._planned(), self._planned_exports()

        def part(reports: Sequence[manifest.Report] = (), errors: Sequence[CollectionError] = (),
                 exports: Sequence[metadata.Export] = (), samples: Sequence[str] = ()) -> S3InventoryProvider:
            return S3InventoryProvider(self.settings, reports, errors, exports, samples)

        parts = [part(reports=[report]) for report in reports]
        parts += [part(exports=[export]) for export in exports]
        parts += [part(samples=[bucket]) for bucket in self._samples]
        if self._errors:
            parts.insert(0, part(errors=self._errors))
        return parts

    def collect(self) -> Iterator[Record]:
        reports, exports = self._planned(), self._planned_exports()
        yield from self._errors
        for report in reports:
            yield from self._read(report)
        for export in exports:
            yield from self._read_export(export)
        for bucket in self._samples:
            yield from self._read_sample(bucket)

    def _planned_exports(self) -> list[metadata.Export]:
        if self._exports is None:
            self._exports = [metadata.Export.remote(t) if remote.is_remote(t) else metadata.find(Path(t))
                             for t in self.settings.metadata_tables]
        return self._exports

    def _planned(self) -> list[manifest.Report]:
        """The newest report of each (bucket, configuration) under every target."""
        if self._reports is not None:
            return self._reports
        if not self.settings.targets:
            self._reports = []
            return self._reports
        found: list[manifest.Report] = []
        for target in self.settings.targets:
            if remote.is_remote(target):
                try:
                    found += remote.list_reports(target, self.settings.profile)
                except remote.RemoteFailure as failure:
                    self._errors.append(CollectionError(NAME, f"inventory reports: {failure.message}",
                                                        scope=target, kinds=(KIND,),
                                                        permission=failure.permission))
                except Exception as exc:  # a broken profile or endpoint: boto3's own words
                    self._errors.append(CollectionError(NAME, f"inventory reports under {target}: "
                                                        f"{type(exc).__name__}", scope=target, kinds=(KIND,)))
                continue
            paths = manifest.local_manifests(Path(target))
            if not paths:
                raise InputError(f"s3-inventory: no S3 Inventory manifest.json under {target}")
            found += [manifest.read_local(path, target) for path in paths]
        self._reports = manifest.newest(found)
        return self._reports

    def _read(self, report: manifest.Report) -> Iterator[Record]:
        rid = resource_id(report.bucket, report.configuration)
        try:
            if remote.is_remote(report.location):
                with tempfile.TemporaryDirectory(prefix="phigate-inventory-") as folder:
                    files = remote.download(report, Path(folder), self.settings.profile)
                    counts = self._count(report, files)
            else:
                counts = self._count(report, _local_files(report))
        except (UnreadableReport, remote.RemoteFailure, _MissingFile) as failure:
            yield _resource(report, report.bucket, None, ())
            yield CollectionError(NAME, f"{rid}: {failure}", scope=report.target, kinds=(KIND,),
                                  types=(TYPE,), resource_id=rid,
                                  permission=getattr(failure, "permission", None))
            return
        counts.setdefault(report.bucket, BucketCounts.empty(report.bucket))
        for bucket in sorted(counts):
            found = counts[bucket]
            masked = tuple(mask(decode(key, report.format)) for key in found.first_offending)
            yield _resource(report, bucket, found, masked)
            if found.kms_keys is None:
                yield CollectionError(
                    NAME, f"{resource_id(bucket, report.configuration)}: "
                    f"{found.sse_kms + found.dsse_kms} KMS-encrypted objects, but the report does not "
                    "name their keys: whether an AWS-managed key encrypts them is unknown (add a "
                    "kms_key_arn column to the report)", scope=report.target, kinds=(KIND,),
                    types=(TYPE,), resource_id=resource_id(bucket, report.configuration))

    def _read_export(self, export: metadata.Export) -> Iterator[Record]:
        """One resource per bucket the export lists; an export that cannot be read whole is an
        error for its whole scope (which buckets it lists is then unknown)."""
        def error(message: str, permission: str | None = None) -> CollectionError:
            return CollectionError(NAME, f"S3 Metadata table export {export.target}: {message}",
                                   scope=export.target, kinds=(KIND,), types=(TYPE,), permission=permission)

        try:
            if remote.is_remote(export.target):
                with tempfile.TemporaryDirectory(prefix="phigate-metadata-") as folder:
                    try:
                        fetched = metadata.fetch(export.target, Path(folder), self.settings.profile)
                    except (InputError, remote.RemoteFailure):
                        raise
                    except Exception as exc:  # a broken profile or endpoint: boto3's own words
                        yield error(f"the export could not be listed ({type(exc).__name__})")
                        return
                    found = metadata.count(fetched, self.settings.first_keys, self.settings.engine)
            else:
                fetched = export
                found = metadata.count(export, self.settings.first_keys, self.settings.engine)
        except UnreadableReport as failure:
            yield error(str(failure))
            return
        except remote.RemoteFailure as failure:
            yield error(failure.message, failure.permission)
            return
        if not found.buckets:
            yield CollectionError(NAME, f"S3 Metadata table export {export.target} lists no object "
                                  "(no rows, or only deletions and delete markers): which bucket it "
                                  "covers is unknown", scope=export.target,
                                  kinds=(KIND,), types=(TYPE,))
            return
        complete = found.table == metadata.INVENTORY
        source = {metadata.INVENTORY: "s3-metadata-inventory", metadata.JOURNAL: "s3-metadata-journal"}
        configuration = f"metadata-{found.table}"
        for bucket in sorted(found.buckets):
            counts = found.buckets[bucket]
            rid = resource_id(bucket, configuration)
            described: dict[str, Any] = {
                "configuration": configuration, "format": fetched.format, "files": len(fetched.files),
                "source": source[found.table], "complete": complete}
            if found.newest is not None:
                described["date"] = _iso(found.newest)
            attributes = {"store": f"arn:{_partition(counts)}:s3:::{bucket}", "report": described,
                          "objects": _objects(counts, tuple(mask(k) for k in counts.first_offending),
                                              complete=complete)}
            yield Resource(id=rid, type=TYPE, kind=KIND, provider=NAME, scope=export.target,
                           name=bucket, attributes=attributes, raw={"export": export.target})
            if counts.kms_keys is None:
                yield CollectionError(
                    NAME, f"{rid}: {counts.sse_kms + counts.dsse_kms} KMS-encrypted objects have no "
                    "kms_key_arn in the table: whether an AWS-managed key encrypts them is unknown",
                    scope=export.target, kinds=(KIND,), types=(TYPE,), resource_id=rid)
            if not complete:
                yield CollectionError(
                    NAME, f"{rid}: the journal lists only objects written or changed since the "
                    "bucket's S3 Metadata configuration was created (and not yet expired): objects "
                    "it does not list were not seen; export the live inventory table to decide the "
                    "whole bucket", scope=export.target, kinds=(KIND,), types=(TYPE,), resource_id=rid)

    def _read_sample(self, bucket: str) -> Iterator[Record]:
        """A HeadObject sample of the bucket: a lower bound unless it covers every object."""
        rid, scope = resource_id(bucket, "head-sample"), f"s3://{bucket}"

        def error(message: str, permission: str | None = None) -> CollectionError:
            return CollectionError(NAME, f"{rid}: {message}", scope=scope, kinds=(KIND,), types=(TYPE,),
                                   resource_id=rid, permission=permission)

        try:
            found = sample.take(bucket, self.settings.head_sample_size, self.settings.first_keys,
                                self.settings.engine, self.settings.profile)
        except remote.RemoteFailure as failure:
            yield error(failure.message, failure.permission)
            return
        except Exception as exc:  # a broken profile or endpoint: boto3's own words
            yield error(f"the bucket could not be sampled ({type(exc).__name__})")
            return
        counts = found.counts
        masked = tuple(mask(k) for k in counts.first_offending)
        attributes = {"store": f"arn:{_partition(counts)}:s3:::{bucket}",
                      "report": {"configuration": "head-sample", "source": "head-object-sample",
                                 "complete": found.complete},
                      "objects": _objects(counts, masked, complete=found.complete)}
        yield Resource(id=rid, type=TYPE, kind=KIND, provider=NAME, scope=scope, name=bucket,
                       attributes=attributes, raw={"sample": scope})
        if found.unseen:
            yield error(f"{found.unseen} sampled objects could not be read with HeadObject (an SSE-C "
                        "object cannot be read without its key)", found.permission)
        if isinstance(found.versioning, remote.RemoteFailure):
            yield error(f"whether versioning was ever enabled (so noncurrent versions hold data) is "
                        f"unknown: {found.versioning.message}", found.versioning.permission)
        if counts.kms_keys is None:
            yield error(f"{counts.sse_kms + counts.dsse_kms} KMS-encrypted objects were read without "
                        "their key id: whether an AWS-managed key encrypts them is unknown")
        if not found.complete:
            yield error(f"a sample of {counts.count} of the {found.listed} objects listed: objects not "
                        "sampled (and noncurrent versions) were not seen; export the bucket's S3 "
                        "Metadata live inventory table or an S3 Inventory report to decide it")

    def _count(self, report: manifest.Report, files: list[Path]) -> dict[str, BucketCounts]:
        return count_objects(report.format, report.columns, files, self.settings.first_keys,
                             self.settings.engine)


class _MissingFile(Exception):
    pass


def resource_id(bucket: str, configuration: str) -> str:
    return f"{NAME}:{bucket}/{configuration}"


def _local_files(report: manifest.Report) -> list[Path]:
    """Each data file the manifest lists, found beside it; a missing or truncated one makes the
    whole report unreadable (counts of part of a bucket would pass what was not seen)."""
    where = Path(report.location)
    bases = list(where.parents)[:SEARCH_DEPTH]
    paths = []
    for data in report.files:
        parts = PurePosixPath(data.key).parts
        found = next((candidate for base in bases for start in range(len(parts))
                      if (candidate := base.joinpath(*parts[start:])).is_file()), None)
        if found is None:
            raise _MissingFile(f"data file {data.key} listed by the manifest is missing: "
                               "the report is incomplete")
        if data.size is not None and found.stat().st_size != data.size:
            raise _MissingFile(f"data file {data.key} is {found.stat().st_size} bytes, the manifest says "
                               f"{data.size}: the report is incomplete")
        paths.append(found)
    return paths


def _resource(report: manifest.Report, bucket: str, counts: BucketCounts | None,
              first_offending: tuple[str, ...]) -> Resource:
    attributes: dict[str, Any] = {
        "store": f"arn:{report.partition}:s3:::{bucket}",
        "report": {"configuration": report.configuration, "date": _iso(report.created),
                   "format": report.format, "files": len(report.files), "source": "s3-inventory",
                   "complete": True},
    }
    if counts is not None:
        attributes["objects"] = _objects(counts, first_offending, complete=True)
    return Resource(id=resource_id(bucket, report.configuration), type=TYPE, kind=KIND, provider=NAME,
                    scope=report.target, name=bucket, attributes=attributes,
                    raw={"manifest": report.location})


__all__ = ["S3InventoryProvider", "Settings", "resource_id"]


#: Counts a lower bound leaves out when it saw none: not seeing an object is no evidence there is none.
_BOUNDED = ("not_sse", "sse_s3", "sse_c", "sse_kms", "dsse_kms", "unrecognised", "aws_managed_kms")


def _objects(counts: BucketCounts, first_offending: tuple[str, ...], *, complete: bool) -> dict[str, Any]:
    """The ``objects`` attribute. A source that lists every object gives every count; a lower
    bound (the journal, a sample) gives only the counts it saw above zero, so a policy can fail
    on what it saw and is undecided (``error``) on the rest, never ``pass``."""
    objects: dict[str, Any] = {
        "count": counts.count, "not_sse": counts.not_sse, "sse_s3": counts.sse_s3,
        "sse_c": counts.sse_c, "sse_kms": counts.sse_kms, "dsse_kms": counts.dsse_kms,
        "unrecognised": counts.unrecognised, "first_offending_keys": list(first_offending)}
    if counts.aws_managed_kms is not None:
        objects["aws_managed_kms"] = counts.aws_managed_kms
    if counts.kms_keys is not None:
        objects["kms_keys"] = list(counts.kms_keys)
    if not complete:
        objects = {k: v for k, v in objects.items() if k not in _BOUNDED or v}
    return objects


def _iso(when: Any) -> str:
    return str(when.isoformat(timespec="seconds")).replace("+00:00", "Z")


def _partition(counts: BucketCounts) -> str:
    """The partition of the bucket, from the keys that encrypt it (``arn:aws-cn:kms:…``)."""
    for key in counts.kms_keys or ():
        parts = key.split(":")
        if len(parts) > 2 and parts[0] == "arn" and parts[1]:
            return parts[1]
    return "aws"
