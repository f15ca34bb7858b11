"""Content sampling of S3 buckets (``--sample-content``): list, pick, read a bounded prefix of
each picked object, report counts (see :mod:`phigate_providers.content.sampling`).

Two more reads than the audit makes, declared only when sampling is on: ``s3:ListBucket``
(ListObjectsV2) and ``s3:GetObject`` (a ranged GetObject), plus ``kms:Decrypt`` on the keys of
SSE-KMS buckets. A listing or a read that fails leaves the attribute out and becomes a
collection error naming the bucket and the permission; object keys never appear in messages
(they may hold a patient's name).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import Executor
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from phigate.api import CollectionError, Record, Resource
from phigate_providers.aws.context import Account
from phigate_providers.content.options import wanted, with_sample
from phigate_providers.content.sampling import ObjectInfo, SampleIncomplete, Sampler

PROVIDER = "aws"
#: (service, operation) → IAM action, for the read-only check when sampling is on.
OPERATIONS: dict[tuple[str, str], str] = {
    ("s3", "ListObjectsV2"): "s3:ListBucket",
    ("s3", "GetObject"): "s3:GetObject",
}
PERMISSIONS: tuple[str, ...] = ("kms:Decrypt", "s3:GetObject", "s3:ListBucket")
_KMS_CODES = frozenset({"KMS.AccessDeniedException", "KMS.DisabledException",
                        "KMS.KMSInvalidStateException", "KMS.NotFoundException"})
_DENIED = frozenset({"AccessDenied", "AccessDeniedException", "AllAccessDisabled", "InvalidObjectState"})


def policy_statement() -> dict[str, Any]:
    """The IAM statement sampling adds to the audit policy (only when it is on)."""
    return {"Sid": "PhigateContentSampling", "Effect": "Allow", "Action": list(PERMISSIONS), "Resource": "*"}


def sample_bucket(client: Any, resource: Resource,
                  sampler: Sampler) -> tuple[Resource, CollectionError | None]:
    """The bucket with its ``content_sample`` attribute; or, when a listing or a read failed,
    the bucket unchanged and the error to report."""
    bucket = resource.name or resource.id.rsplit(":", 1)[-1]
    try:
        result = sampler.sample_objects(resource.id, _listing(client, bucket),
                                        lambda info, limit: _read(client, bucket, info, limit))
    except SampleIncomplete as failure:
        return resource, CollectionError(
            provider=PROVIDER, message=f"S3 bucket {bucket}: content sample incomplete: {failure.message}",
            scope=resource.scope, region=resource.region, kinds=("object_store",), types=(resource.type,),
            resource_id=resource.id, permission=failure.permission)
    return with_sample(resource, result), None


def sample_buckets(account: Account, buckets: list[Resource], sampler: Sampler, pool: Executor,
                   classify: Callable[[Resource], str] | None) -> Iterator[Record]:
    """The buckets, each non-clinical one with its ``content_sample`` (or, when its listing or a
    read failed, without it and with the error), in their order; sampled concurrently."""
    jobs = [(bucket, pool.submit(_sample, account, bucket, sampler)
             if wanted(bucket, classify or (lambda resource: "unclassified")) else None)
            for bucket in buckets]
    for bucket, job in jobs:
        if job is None:
            yield bucket
            continue
        sampled, error = job.result()
        yield sampled
        if error is not None:
            yield error


def _sample(account: Account, bucket: Resource, sampler: Sampler) -> tuple[Resource, CollectionError | None]:
    try:
        return sample_bucket(account.client("s3", bucket.region), bucket, sampler)
    except Exception as exc:  # a defect, not a denial: an error for this bucket, never a pass
        # Only the exception's type: its message could quote what was read.
        return bucket, CollectionError(
            PROVIDER, f"S3 bucket {bucket.name}: content sample failed ({type(exc).__name__})",
            scope=account.account_id, region=bucket.region, kinds=("object_store",),
            types=(bucket.type,), resource_id=bucket.id)


def _listing(client: Any, bucket: str) -> Iterator[ObjectInfo]:
    try:
        paginator = client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, PaginationConfig={"PageSize": 1000}):
            for item in page.get("Contents", ()):
                storage_class = str(item.get("StorageClass", ""))
                yield ObjectInfo(str(item["Key"]), int(item.get("Size", 0)), storage_class)
    except (ClientError, BotoCoreError) as exc:
        raise _incomplete("listing objects", exc, "s3:ListBucket") from None


def _read(client: Any, bucket: str, info: ObjectInfo, limit: int) -> bytes:
    try:
        response = client.get_object(Bucket=bucket, Key=info.key, Range=f"bytes=0-{max(limit, 1) - 1}")
        body = response["Body"]
        try:
            data: bytes = body.read(limit)
        finally:
            body.close()
    except (ClientError, BotoCoreError) as exc:
        raise _incomplete("reading an object", exc, "s3:GetObject") from None
    return data


def _incomplete(what: str, exc: Exception, permission: str) -> SampleIncomplete:
    """A failure described by its code and status only: botocore's message may quote the key."""
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", "error"))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if code in _KMS_CODES:
            return SampleIncomplete(f"{what}: the object's KMS key refused ({code})", "kms:Decrypt")
        if code in _DENIED or status == 403:
            return SampleIncomplete(f"{what}: access denied", permission)
        return SampleIncomplete(f"{what}: {code} (HTTP {status})", permission)
    return SampleIncomplete(f"{what}: {type(exc).__name__}", permission)


__all__ = ["OPERATIONS", "PERMISSIONS", "policy_statement", "sample_bucket"]
