"""Stores' tags from one Resource Groups Tagging API listing per region, instead of one tag
read per store (queues, topics, log groups, streams, domains, caches).

The listing is made once per region, by the first collector that finds a store there (a region
holding none of these stores costs no call), and shared by every collector of the region. It
returns tagged (or once tagged) resources only, and it may lag behind a tag just written: a store
it does not return has its tags read on its own, never taken for untagged (a clinical store
taken for an unclassified one would skip every clinical policy). A listing that fails, or stops
short, leaves every store of its region to its own read: the failure costs calls, never a fact.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from phigate_providers.aws.calls import ApiFailure, pages
from phigate_providers.aws.context import tag_map

if TYPE_CHECKING:
    from phigate_providers.aws.context import Account

OPERATIONS = {("resourcegroupstaggingapi", "GetResources"): "tag:GetResources"}
#: The services whose stores take their tags from the listing (a service alone names all its
#: resource types, as the API documents: a few more resources than the stores, in few pages).
SERVICES = ("sqs", "sns", "logs", "firehose", "kinesis", "es", "elasticache")
_PAGE = 100  # the API's largest page


class TagIndex:
    """Each region's listing, made once (threads asking meanwhile wait for it)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._regions: dict[str, tuple[threading.Lock, dict[str, dict[str, str]]]] = {}
        self._listed: set[str] = set()

    def tags(self, account: Account, region: str, arn: str) -> dict[str, str] | None:
        """The tags the region's listing gives ``arn``; None when it does not return it."""
        with self._lock:
            lock, found = self._regions.setdefault(region, (threading.Lock(), {}))
        with lock:
            if region not in self._listed:
                found.update(_listing(account, region))
                self._listed.add(region)
        return found.get(arn)


def tagged(account: Account, region: str, services: list[str]) -> dict[str, dict[str, str]]:
    """ARN → tags of the region's tagged (or once tagged) resources of ``services``, every page.
    Raises ApiFailure."""
    client = account.client("resourcegroupstaggingapi", region)
    return {str(mapping["ResourceARN"]): tag_map(mapping.get("Tags"))
            for mapping in pages(client, "GetResources", "ResourceTagMappingList",
                                 ResourceTypeFilters=services, ResourcesPerPage=_PAGE)
            if mapping.get("ResourceARN")}


def _listing(account: Account, region: str) -> dict[str, dict[str, str]]:
    """ARN → tags of the region's resources of :data:`SERVICES`; nothing when the listing fails
    (each store is then read on its own)."""
    try:
        return tagged(account, region, list(SERVICES))
    except ApiFailure:
        return {}


def store_tags(account: Account, region: str, arn: str, read: Callable[[], dict[str, str]]) -> dict[str, str]:
    """The store's tags: from the region's listing, else ``read`` on their own (which raises
    ApiFailure when they cannot be read)."""
    listed = account.tag_index.tags(account, region, arn)
    return read() if listed is None else listed


__all__ = ["OPERATIONS", "SERVICES", "TagIndex", "store_tags", "tagged"]
