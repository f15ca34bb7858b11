"""Whether a service is offered in a region, for services AWS runs in some regions only
(HealthLake, S3 Tables, DAX, MemoryDB).

A region where the service has no endpoint holds none of its stores. Two readings of that, from
the SDK's region table (AWS's own, shipped with botocore):

- :func:`not_offered` (HealthLake, S3 Tables) decides from two facts together, never one: the
  table does not list the region for the service, and its endpoint there cannot be reached. A
  region the table lists whose endpoint cannot be reached is a failed read (an error), as is any
  other failure; so is an unreachable endpoint where the table lists the region, even if the table
  is stale.
- :func:`offered_regions` (DAX, MemoryDB) is where the table lists an endpoint in any partition: a
  collector yields nothing elsewhere rather than a failed call read as an unread region.
"""

from __future__ import annotations

import threading
from functools import cache

import botocore.session

from phigate_providers.aws.calls import ApiFailure

#: How :mod:`.calls` reports an endpoint that could not be reached (the SDK's exception name).
UNREACHABLE = "EndpointConnectionError"


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


def offered_regions(service: str) -> frozenset[str]:
    """The regions of every partition where ``service`` (botocore's name) has an endpoint."""
    with _TABLE:
        return _offered(service)


@cache
def _offered(service: str) -> frozenset[str]:
    return frozenset(region for partition in _table().get_available_partitions()
                     for region in listed_regions(service, partition))


def not_offered(failure: ApiFailure, region: str, partition: str) -> bool:
    """``failure`` says only that the service is not offered in ``region``."""
    return str(failure).startswith(UNREACHABLE) and region not in listed_regions(failure.service, partition)


__all__ = ["listed_regions", "not_offered", "offered_regions"]
