"""Content sampling of Cloud Storage buckets (``--sample-content``): list, pick, read a bounded
prefix of each picked object, report counts (see :mod:`phigate_providers.content.sampling`).

Two more permissions than the audit needs, only when sampling is on: ``storage.objects.list``
and ``storage.objects.get`` (and ``cloudkms.cryptoKeyVersions.useToDecrypt`` on CMEK keys). A
failure leaves the attribute out and becomes a collection error naming the bucket and the
permission; object names never appear in messages.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from google.api_core import exceptions as api_exceptions

from phigate.api import CollectionError, Resource
from phigate_providers.content.options import incomplete, with_sample
from phigate_providers.content.sampling import ObjectInfo, SampleIncomplete, Sampler

PROVIDER = "gcp"
PERMISSIONS: tuple[str, ...] = ("storage.objects.get", "storage.objects.list")
PAGE_SIZE = 1000


def sample_bucket(client: Any, resource: Resource,
                  sampler: Sampler) -> tuple[Resource, CollectionError | None]:
    """The bucket with its ``content_sample`` attribute; or, when a listing or a read failed,
    the bucket unchanged and the error to report. ``client`` is a google-cloud-storage client."""
    name = resource.name or resource.id.removeprefix("gs://")
    bucket = client.bucket(name)
    try:
        result = sampler.sample_objects(resource.id, _listing(client, name),
                                        lambda info, limit: _read(bucket, info, limit))
    except SampleIncomplete as failure:
        return resource, incomplete(PROVIDER, f"bucket {name}", resource, failure)
    return with_sample(resource, result), None


def _listing(client: Any, name: str) -> Iterator[ObjectInfo]:
    try:
        for blob in client.list_blobs(name, page_size=PAGE_SIZE):
            yield ObjectInfo(str(blob.name), int(blob.size or 0), str(blob.storage_class or ""))
    except (api_exceptions.GoogleAPIError, OSError) as exc:
        raise _incomplete("listing objects", exc, "storage.objects.list") from None


def _read(bucket: Any, info: ObjectInfo, limit: int) -> bytes:
    try:
        data: bytes = bucket.blob(info.key).download_as_bytes(start=0, end=max(limit, 1) - 1, checksum=None)
    except (api_exceptions.GoogleAPIError, OSError) as exc:
        raise _incomplete("reading an object", exc, "storage.objects.get") from None
    return data[:limit]


def _incomplete(what: str, exc: Exception, permission: str) -> SampleIncomplete:
    """A failure described by its status only: the library's message quotes the object's URL."""
    if isinstance(exc, api_exceptions.Forbidden | api_exceptions.Unauthorized):
        return SampleIncomplete(f"{what}: access denied", permission)
    code = getattr(exc, "code", None)
    return SampleIncomplete(f"{what}: {type(exc).__name__}" + (f" (HTTP {code})" if code else ""), permission)


__all__ = ["PERMISSIONS", "sample_bucket"]
