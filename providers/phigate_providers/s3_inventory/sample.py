"""A bounded HeadObject sample of a bucket that has neither inventory reports nor metadata tables.

``HeadObject`` returns an object's metadata, never its content: ``ServerSideEncryption``
(``AES256``, ``aws:kms``, ``aws:kms:dsse``), ``SSEKMSKeyId`` (the key's ARN) and, for SSE-C,
``SSECustomerAlgorithm``. S3 authorises it with ``s3:GetObject``, which would also allow reading
the content: phigate never calls GetObject on the audited bucket, and the sample runs only when
asked for (``--head-sample BUCKET``).

Keys are listed (at most ``LIST_FACTOR`` times the sample's size) and spread evenly over what
was listed. A sample is a lower bound: it can show a bucket fails, never that it passes,
unless it covers every object: the listing ended, every listed object was read, and versioning
was never enabled on the bucket (noncurrent versions, which still hold data, are not listed).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from phigate_providers.s3_inventory.aggregate import BucketCounts, Engine, connect, count_source
from phigate_providers.s3_inventory.remote import RemoteFailure, call, s3_client

#: How many keys are listed per key sampled, at most: the sample spreads over them.
LIST_FACTOR = 10
#: The encryption each ``ServerSideEncryption`` value stands for (S3's API reference).
STATUS = {"AES256": "SSE-S3", "aws:kms": "SSE-KMS", "aws:kms:dsse": "DSSE-KMS"}
#: HeadObject calls in flight per bucket.
WORKERS = 8


@dataclass(frozen=True, slots=True)
class Sample:
    """What a sample of one bucket saw. ``unseen`` objects could not be read (``permission``
    names what to grant when they were refused). ``versioning`` is the bucket's versioning
    status (None: never enabled), or the failure that left it unknown."""

    bucket: str
    listed: int
    counts: BucketCounts
    complete: bool
    unseen: int
    permission: str | None
    versioning: str | RemoteFailure | None


def take(bucket: str, size: int, first_keys: int, engine: Engine, profile: str | None = None) -> Sample:
    """Sample ``size`` objects of ``bucket``; RemoteFailure when it cannot be listed."""
    client = s3_client(profile)
    keys, ended = _list(client, bucket, size * LIST_FACTOR)
    chosen = [keys[i * len(keys) // size] for i in range(size)] if len(keys) > size else keys
    versioning: str | RemoteFailure | None
    try:
        versioning = call(client, "GetBucketVersioning", f"s3://{bucket}",
                          lambda: client.get_bucket_versioning(Bucket=bucket)).get("Status")
    except RemoteFailure as failure:  # unknown: the sample can still fail the bucket
        versioning = failure
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        read = list(pool.map(lambda key: _head(client, bucket, key), chosen))
    rows = [(bucket, key, status, kms) for key, (status, kms, _) in zip(chosen, read, strict=True)
            if status is not None]
    failures = [failure for _, _, failure in read if failure is not None]
    denied = next((f.permission for f in failures if f.permission), None)
    complete = ended and len(chosen) == len(keys) and not failures and versioning is None
    counts = _count(bucket, rows, first_keys, engine)
    return Sample(bucket, len(keys), counts, complete, len(failures), denied, versioning)


def _list(client: Any, bucket: str, cap: int) -> tuple[list[str], bool]:
    """Up to ``cap`` keys in key order, and whether that is every key of the bucket."""
    def listing() -> tuple[list[str], bool]:
        keys: list[str] = []
        pages = client.get_paginator("list_objects_v2").paginate(
            Bucket=bucket, PaginationConfig={"PageSize": min(1000, cap)})
        for page in pages:
            keys.extend(str(item["Key"]) for item in page.get("Contents", ()))
            if len(keys) >= cap:
                return keys[:cap], len(keys) == cap and not page.get("IsTruncated")
        return keys, True
    return call(client, "ListBucket", f"s3://{bucket}", listing)  # type: ignore[no-any-return]


def _head(client: Any, bucket: str, key: str) -> tuple[str | None, str | None, RemoteFailure | None]:
    """(status, KMS key, failure) of one object; no status when it could not be read, or is gone
    since the listing (not a failure: it is no longer in the bucket). An SSE-C object cannot be
    read without its key (S3 answers 400): it is a failure, never counted as encrypted."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        head = client.head_object(Bucket=bucket, Key=key)
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", "error"))
        if code in ("404", "NoSuchKey", "NotFound"):
            return None, None, None
        denied = code in ("403", "AccessDenied", "Forbidden")
        return None, None, RemoteFailure(code, "s3:GetObject" if denied else None)
    except BotoCoreError as exc:
        return None, None, RemoteFailure(type(exc).__name__)
    if head.get("SSECustomerAlgorithm"):
        return "SSE-C", None, None
    value = head.get("ServerSideEncryption")
    status = "NOT-SSE" if value is None else STATUS.get(str(value), str(value))
    kms = head.get("SSEKMSKeyId")
    return status, str(kms) if kms else None, None


def _count(bucket: str, rows: Sequence[tuple[str, str, str, str | None]], first_keys: int,
           engine: Engine) -> BucketCounts:
    """The same counts as a report's, by the same query."""
    with connect(engine) as connection:
        connection.execute("CREATE TABLE src (bucket VARCHAR, key VARCHAR, encryption_status VARCHAR, "
                           "kms_key_arn VARCHAR)")
        if rows:
            connection.executemany("INSERT INTO src VALUES (?, ?, ?, ?)", rows)
        found = count_source(connection, {"bucket", "key", "encryption_status", "kms_key_arn"}, first_keys)
    return found.get(bucket) or BucketCounts.empty(bucket)


__all__ = ["LIST_FACTOR", "Sample", "take"]
