"""Whether a service is offered in a region, for services AWS runs in some regions only
(HealthLake, S3 Tables, DAX, MemoryDB, S3 Glacier's vault API).

A region where the service has no endpoint holds none of its stores. That is decided from two
facts together, never one (:func:`skipped`): the SDK's region table (AWS's own, shipped with
botocore) does not list the region for the service, and its endpoint there cannot be reached.
The table alone would be wrong for a region opened after the SDK was built, and a store there
never seen; so the region is always called. A region the table lists whose endpoint cannot be
reached is a failed read (an error), as is any other failure; so is an unreachable endpoint where
the table lists the region, even if the table is stale. A region skipped is named in the run's
notices (:func:`notices`).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable
from functools import cache
from typing import TypeVar

import botocore.session

from phigate_providers.aws.calls import ApiFailure
from phigate_providers.aws.context import Account

#: How :mod:`.calls` reports an endpoint that could not be reached (the SDK's exception name).
UNREACHABLE = "EndpointConnectionError"

T = TypeVar("T")


#: The table is read once, by one thread: collectors of every region ask at the same moment, and
#: each reading of it holds several megabytes (tens of concurrent ones made most of a run's peak).
_TABLE = threading.RLock()


@cache
def _table() -> botocore.session.Session:
    return botocore.session.get_session()


def listed_regions(service: str, partition: str) -> frozenset[str]:
    """The regions the SDK's table lists for ``service`` (empty when it lists none)."""
    with _TABLE:
        return _listed(service, partition)


@cache
def _listed(service: str, partition: str) -> frozenset[str]:
    return frozenset(_table().get_available_regions(service, partition))


def reread_table() -> None:
    """Forget the SDK's table read so far: the next question reads it again (from a data path
    set since, say)."""
    with _TABLE:
        _table.cache_clear()
        _listed.cache_clear()


def not_offered(failure: ApiFailure, region: str, partition: str) -> bool:
    """``failure`` says only that the service is not offered in ``region``."""
    return str(failure).startswith(UNREACHABLE) and region not in listed_regions(failure.service, partition)


def skipped(account: Account, failure: ApiFailure, region: str) -> bool:
    """Whether a listing's ``failure`` says only that the service is not offered in ``region``:
    then the region holds none of its stores, and the account notes it for the notices."""
    if not not_offered(failure, region, account.partition):
        return False
    account.not_offered.append((failure.service, region))
    return True


def where_offered(account: Account, region: str, listing: Callable[[], list[T]]) -> list[T]:
    """``listing()`` of ``region``; nothing where the service is not offered there (:func:`skipped`).
    Raises the listing's ApiFailure otherwise."""
    try:
        return listing()
    except ApiFailure as failure:
        if skipped(account, failure, region):
            return []
        raise


def notices(account: Account) -> list[str]:
    """One line per service skipped somewhere in the account: where, and why."""
    regions: dict[str, set[str]] = defaultdict(set)
    for service, region in account.not_offered:
        regions[service].add(region)
    return [f"aws account {account.account_id}: {service} is not offered in {', '.join(sorted(where))} "
            "(the SDK's region table does not list it there and its endpoint was not reached): "
            "nothing of it is read there" for service, where in sorted(regions.items())]


__all__ = ["listed_regions", "not_offered", "notices", "reread_table", "skipped", "where_offered"]
