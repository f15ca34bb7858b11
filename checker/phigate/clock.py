"""The time reports and snapshots are stamped with."""

from __future__ import annotations

import datetime as dt
import os
import re

from phigate.api import InputError


def report_time() -> dt.datetime:
    """Now (UTC), or the instant ``SOURCE_DATE_EPOCH`` names when it is set: the reproducible
    builds convention, so that two runs on the same evidence write byte-identical reports."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "")
    if not epoch:
        return dt.datetime.now(dt.UTC)
    if re.fullmatch(r"[0-9]{1,12}", epoch):
        try:
            return dt.datetime.fromtimestamp(int(epoch), dt.UTC)
        except (ValueError, OverflowError, OSError):  # past the year 9999
            pass
    raise InputError(f"SOURCE_DATE_EPOCH must be a whole number of seconds since 1970-01-01 UTC, "
                     f"not {epoch[:40]!r}")


__all__ = ["report_time"]
