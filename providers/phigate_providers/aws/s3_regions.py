"""Where each S3 bucket is: the listing's region, region-filtered listings, or GetBucketLocation.

S3 lists buckets globally. AWS names each bucket's region in the listing; other AWS-compatible
servers may not, and then buckets are placed by region-filtered listings where the server
honours the filter, or located one by one, as AWS documents the answer. Never guessed.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from phigate_providers.aws.calls import ApiFailure, pages
from phigate_providers.aws.context import Account

#: A listed bucket: (name, region when the listing names it, creation date).
Listed = tuple[str, str | None, str | None]

#: Legacy location constraints GetBucketLocation may still answer, as the regions they mean.
_LEGACY_LOCATIONS = {"EU": "eu-west-1"}


def list_buckets(account: Account) -> list[Listed]:
    """Every bucket of the account: S3 lists them globally, in one paginated listing.

    AWS names each bucket's region in the listing (``BucketRegion``); where a server does not,
    region-filtered listings place them (:func:`regions_by_filter`), and the region of any bucket
    left unplaced is read on its own (:func:`location_region`), never guessed.
    """
    found = []
    for bucket in pages(account.client("s3"), "ListBuckets", "Buckets"):
        created = bucket.get("CreationDate")
        when = created.isoformat() if created is not None else None
        found.append((bucket["Name"], bucket.get("BucketRegion") or None, when))
    return found


#: Regions one of which, not listed otherwise, probes whether a server honours the region filter.
_PROBE_REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")


def regions_by_filter(account: Account, regions: Iterable[str]) -> dict[str, str]:
    """Bucket name → region from one region-filtered listing per region: a few calls instead of
    one GetBucketLocation per bucket. Empty when the server ignores the filter (a bucket listed
    for two regions; with a single region, a probe region is listed too) or a listing fails."""
    client = account.client("s3")
    listed = list(dict.fromkeys(regions))
    while len(listed) < 2:
        listed.append(next(r for r in _PROBE_REGIONS if r not in listed))
    located: dict[str, str] = {}
    try:
        for region in listed:
            for bucket in pages(client, "ListBuckets", "Buckets", BucketRegion=region):
                if bucket["Name"] in located:
                    return {}  # listed for two regions: the server ignores the filter
                located[bucket["Name"]] = region
    except ApiFailure:
        return {}  # each bucket is then located on its own, where its failure is reported
    return located


def location_region(response: Mapping[str, Any] | None) -> str:
    """The region GetBucketLocation names. As AWS documents it, a null or empty constraint is
    us-east-1 and the legacy ``EU`` is eu-west-1."""
    constraint = (response or {}).get("LocationConstraint")
    if not constraint:
        return "us-east-1"
    return _LEGACY_LOCATIONS.get(str(constraint), str(constraint))


__all__ = ["Listed", "list_buckets", "location_region", "regions_by_filter"]
