"""S3 Inventory manifests: which reports a target holds, and the data files each lists.

A report is delivered as ``PREFIX/SOURCE-BUCKET/CONFIGURATION/DATE/manifest.json`` beside
``PREFIX/SOURCE-BUCKET/CONFIGURATION/data/*.csv.gz|.parquet|.orc``. The manifest names the
source bucket, the format, the columns (``fileSchema``) and the data files by their key in the
destination bucket. Of several reports of one (bucket, configuration), only the newest is read:
yesterday's report says nothing about today's objects.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from phigate.api import InputError
from phigate.files import LIMITS, read_bounded

MANIFEST = "manifest.json"
FORMATS = ("CSV", "Parquet", "ORC")
MAX_MANIFEST_BYTES = LIMITS["inventory_manifest"]
_SNAKE_1 = re.compile(r"([a-z0-9])([A-Z])")
_SNAKE_2 = re.compile(r"([A-Z]+)([A-Z][a-z])")
#: A Parquet message schema field (``optional binary key (UTF8);``) or an ORC struct member.
_PARQUET_FIELD = re.compile(r"(?:required|optional|repeated)\s+\w+\s+(\w+)")
_ORC_FIELD = re.compile(r"(\w+):")


@dataclass(frozen=True, slots=True)
class DataFile:
    """One data file the manifest lists: its key in the destination bucket and its size."""

    key: str
    size: int | None


@dataclass(frozen=True, slots=True)
class Report:
    """One inventory report, as its manifest describes it.

    ``location`` is where the manifest was found (a local path or an ``s3://`` URI): data files
    are looked up beside it. ``target`` is what the user named (the report's scope).
    """

    bucket: str
    configuration: str
    created: dt.datetime
    format: str
    columns: tuple[str, ...]
    files: tuple[DataFile, ...]
    location: str
    target: str
    #: The AWS partition of the buckets (``aws``, ``aws-cn`` …), from the destination's ARN.
    partition: str = "aws"

    @property
    def key(self) -> tuple[str, str]:
        return (self.bucket, self.configuration)


def snake(name: str) -> str:
    """A CSV column name as Parquet and ORC reports spell it: ``EncryptionStatus`` →
    ``encryption_status``, ``ETag`` → ``e_tag``, ``KMSKeyArn`` → ``kms_key_arn``."""
    name = _SNAKE_2.sub(r"\1_\2", name.strip())
    return _SNAKE_1.sub(r"\1_\2", name).lower()


def columns_of(file_format: str, schema: str) -> tuple[str, ...]:
    """The report's columns in file order, from the manifest's ``fileSchema``."""
    if file_format == "CSV":
        return tuple(snake(c) for c in schema.split(",") if c.strip())
    if file_format == "Parquet":
        return tuple(snake(c) for c in _PARQUET_FIELD.findall(schema))
    inner = schema.strip()
    inner = inner[inner.find("<") + 1:inner.rfind(">")] if "<" in inner else inner
    return tuple(snake(c) for c in _ORC_FIELD.findall(inner))


def parse(data: Any, location: str, target: str) -> Report:
    """A manifest document → a report; InputError naming what is wrong (exit 2)."""
    if not isinstance(data, Mapping):
        raise InputError("not an S3 Inventory manifest (a JSON object is expected)", location)
    missing = [k for k in ("sourceBucket", "fileFormat", "fileSchema", "files") if k not in data]
    if missing:
        raise InputError(f"not an S3 Inventory manifest (no {', '.join(missing)})", location)
    file_format = next((f for f in FORMATS if f.lower() == str(data["fileFormat"]).lower()), None)
    if file_format is None:
        raise InputError(f"unknown inventory format {data['fileFormat']!r} (CSV, Parquet or ORC)", location)
    files = data["files"]
    if not isinstance(files, list) or not all(isinstance(f, Mapping) and isinstance(f.get("key"), str)
                                              for f in files):
        raise InputError("'files' must list objects with a 'key'", location)
    columns = columns_of(file_format, str(data["fileSchema"]))
    if "bucket" not in columns or "key" not in columns:
        raise InputError("the report's fileSchema lists no Bucket and Key columns", location)
    return Report(
        bucket=str(data["sourceBucket"]), configuration=_configuration(location),
        created=_created(data.get("creationTimestamp"), location), format=file_format,
        columns=columns,
        files=tuple(DataFile(f["key"], _size(f.get("size"))) for f in files),
        location=location, target=target, partition=_partition(data.get("destinationBucket")))


def read_local(path: Path, target: str) -> Report:
    try:
        data = json.loads(read_bounded(path, "inventory_manifest").decode("utf-8"))
    except OSError as exc:
        raise InputError(f"cannot read the manifest: {exc.strerror}", str(path)) from exc
    except ValueError as exc:
        raise InputError(f"the manifest is not valid JSON ({exc})", str(path)) from exc
    return parse(data, str(path), target)


def local_manifests(target: Path) -> list[Path]:
    """Manifests under a target: the file itself, or every ``manifest.json`` below a folder
    (the ``hive/`` symlink folders S3 also writes hold none)."""
    if target.is_file():
        return [target]
    return sorted(p for p in target.rglob(MANIFEST) if p.is_file())


def looks_like_manifest(path: Path) -> bool:
    """Cheap and strict: a ``manifest.json`` naming a source bucket and a file format."""
    if path.name != MANIFEST or not path.is_file():
        return False
    try:
        with path.open("rb") as stream:
            head = stream.read(8192).decode("utf-8", errors="replace")
    except OSError:
        return False
    return '"sourceBucket"' in head and '"fileFormat"' in head


def newest(reports: Iterable[Report]) -> list[Report]:
    """The newest report of each (bucket, configuration), sorted by bucket and configuration."""
    chosen: dict[tuple[str, str], Report] = {}
    for report in reports:
        held = chosen.get(report.key)
        if held is None or (report.created, report.location) > (held.created, held.location):
            chosen[report.key] = report
    return [chosen[k] for k in sorted(chosen)]


def _configuration(location: str) -> str:
    """The configuration's name: the folder above the report's dated folder."""
    parts = location.replace("\\", "/").rstrip("/").split("/")
    return parts[-3] if len(parts) >= 3 and parts[-3] else "inventory"


def _created(value: Any, location: str) -> dt.datetime:
    """``creationTimestamp`` is milliseconds since the epoch, as a string."""
    try:
        return dt.datetime.fromtimestamp(int(str(value)) / 1000, dt.UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        raise InputError(f"creationTimestamp {value!r} is not a time in milliseconds", location) from None


def _partition(destination: Any) -> str:
    parts = str(destination or "").split(":")
    return parts[1] if len(parts) > 2 and parts[0] == "arn" and parts[1] else "aws"


def _size(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


__all__ = ["DataFile", "Report", "columns_of", "local_manifests", "looks_like_manifest", "newest",
           "parse", "read_local", "snake"]
