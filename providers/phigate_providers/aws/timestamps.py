"""Timestamps in API answers, parsed as botocore parses them, the common form by the standard library.

botocore parses every ``timestamp`` member of an answer with ``dateutil``'s general parser, which
costs tens of microseconds a value: listings of snapshots, images and backups carry several per
item, and their parsing was most of a listing's cost. The form AWS's XML and REST answers use,
ISO 8601 with a zone (``2026-12-07T23:14:00.123Z``), is read by :meth:`datetime.fromisoformat`
instead, to the same instant and the same ISO text; anything else (epoch numbers, RFC 822 dates,
no zone, more than microseconds) goes to botocore's own parser, unchanged.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from botocore.utils import parse_timestamp

#: Extended ISO 8601 with seconds, up to microseconds and an explicit zone: what
#: :meth:`datetime.fromisoformat` reads exactly as ``dateutil`` does.
_ISO_WITH_ZONE = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,6})?(?:Z|[+-]\d{2}:\d{2})")


def parse(value: Any) -> dt.datetime:
    """A timestamp of an answer: the ISO form directly, any other through botocore."""
    if isinstance(value, str) and _ISO_WITH_ZONE.fullmatch(value):
        return dt.datetime.fromisoformat(value)
    return parse_timestamp(value)  # type: ignore[no-any-return]


def install(botocore_session: Any) -> None:
    """Have every client of ``botocore_session`` parse timestamps with :func:`parse` (botocore's
    documented parser default, as the AWS CLI sets it)."""
    botocore_session.get_component("response_parser_factory").set_parser_defaults(timestamp_parser=parse)


__all__ = ["install", "parse"]
