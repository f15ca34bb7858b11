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

from functools import cache

import botocore.session

from phigate_providers.aws.calls import ApiFailure

#: How :mod:`.calls` reports an endpoint that could not be reached (the SDK's exception name).
UNREACHABLE = "EndpointConnectionError"


@cache
def listed_regions(service: str, partition: str) -> frozenset[str]:
    """The regions the SDK's table lists for ``service`` (empty when it lists none)."""
    return frozenset(botocore.session.get_session().get_available_regions(service, partition))


@cache
def offered_regions(service: str) -> frozenset[str]:
    """The regions of every partition where ``service`` (botocore's name) has an endpoint."""
    session = botocore.session.get_session()
    return frozenset(region for partition in session.get_available_partitions()
                     for region in listed_regions(service, partition))


def not_offered(failure: ApiFailure, region: str, partition: str) -> bool:
    """``failure`` says only that the service is not offered in ``region``."""
    return str(failure).startswith(UNREACHABLE) and region not in listed_regions(failure.service, partition)


__all__ = ["listed_regions", "not_offered", "offered_regions"]
