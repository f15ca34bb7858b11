"""Where a service is offered, from the SDK's endpoint data.

Some services exist in only some regions (DAX, MemoryDB): elsewhere there is no endpoint to call
and so nothing to read. The account run reads every reported region, and for the access analysis
every enabled one; a collector of such a service yields nothing where the SDK's endpoint data
lists no endpoint for it, rather than a failed call read as an unread region.
"""

from __future__ import annotations

import functools

import botocore.session


@functools.cache
def offered_regions(service: str) -> frozenset[str]:
    """The regions of every partition where ``service`` (botocore's name) has an endpoint."""
    session = botocore.session.get_session()
    return frozenset(region for partition in session.get_available_partitions()
                     for region in session.get_available_regions(service, partition_name=partition))


__all__ = ["offered_regions"]
