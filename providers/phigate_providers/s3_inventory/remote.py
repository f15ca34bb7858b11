"""Reports in S3 (``s3://DESTINATION/PREFIX``): manifests listed and read, data files downloaded.

Only the inventory destination bucket is read (``s3:ListBucket`` under the prefix,
``s3:GetObject`` on the reports), through boto3's credential chain and endpoint settings. Data
files are downloaded to a temporary folder for DuckDB, one report at a time, and removed after.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from phigate_providers.s3_inventory.manifest import MANIFEST, MAX_MANIFEST_BYTES, Report, parse

SCHEME = "s3://"


class RemoteFailure(Exception):
    """An S3 call failed; ``permission`` names what to grant when it was refused."""

    def __init__(self, message: str, permission: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.permission = permission


@dataclass(frozen=True, slots=True)
class Location:
    bucket: str
    key: str

    @classmethod
    def parse(cls, uri: str) -> Location:
        bucket, _, key = uri[len(SCHEME):].partition("/")
        return cls(bucket, key)

    def __str__(self) -> str:
        return f"{SCHEME}{self.bucket}/{self.key}"


def is_remote(target: str) -> bool:
    return target.startswith(SCHEME)


def list_reports(uri: str, profile: str | None = None) -> list[Report]:
    """Every report under an ``s3://`` prefix (or the one manifest it names)."""
    client = s3_client(profile)
    where = Location.parse(uri)
    if where.key.endswith(MANIFEST):
        keys = [where.key]
    else:
        prefix = where.key if not where.key or where.key.endswith("/") else where.key + "/"
        keys = sorted(k for k in _keys(client, where.bucket, prefix)
                      if k.endswith("/" + MANIFEST) and "/hive/" not in k)
    return [_report(client, Location(where.bucket, key), uri) for key in keys]


def download(report: Report, folder: Path, profile: str | None = None) -> list[Path]:
    """The report's data files, downloaded to ``folder``; sizes checked against the manifest."""
    client = s3_client(profile)
    manifest = Location.parse(report.location)
    paths = []
    for number, data in enumerate(report.files):
        path = folder / f"{number:06d}-{Path(data.key).name}"
        call(client, "GetObject", f"s3://{manifest.bucket}/{data.key}",
              lambda d=data, p=path: client.download_file(manifest.bucket, d.key, str(p)))
        if data.size is not None and path.stat().st_size != data.size:
            raise RemoteFailure(f"data file {data.key} is {path.stat().st_size} bytes, the manifest "
                                f"says {data.size}: the report is incomplete")
        paths.append(path)
    return paths


def _report(client: Any, where: Location, target: str) -> Report:
    def read() -> Any:
        return client.get_object(Bucket=where.bucket, Key=where.key)["Body"].read(MAX_MANIFEST_BYTES)

    body = call(client, "GetObject", str(where), read)
    try:
        data = json.loads(body)
    except ValueError as exc:
        raise RemoteFailure(f"{where}: the manifest is not valid JSON ({exc})") from None
    return parse(data, str(where), target)


def _keys(client: Any, bucket: str, prefix: str) -> list[str]:
    def listing() -> list[str]:
        found: list[str] = []
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            found.extend(str(item["Key"]) for item in page.get("Contents", ()))
        return found
    return call(client, "ListBucket", f"s3://{bucket}/{prefix}", listing)  # type: ignore[no-any-return]


def call(client: Any, action: str, what: str, operation: Any) -> Any:
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        return operation()
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "error"))
        denied = code in ("AccessDenied", "403", "Forbidden")
        raise RemoteFailure(f"{what}: {code}", f"s3:{action}" if denied else None) from None
    except BotoCoreError as exc:
        raise RemoteFailure(f"{what}: {type(exc).__name__}") from None


def s3_client(profile: str | None) -> Any:
    import boto3
    from botocore.config import Config

    session = boto3.Session(profile_name=profile)
    return session.client("s3", config=Config(retries={"mode": "adaptive", "max_attempts": 8},
                                              user_agent_extra="phigate"))


__all__ = ["Location", "RemoteFailure", "call", "download", "is_remote", "list_reports", "s3_client"]
