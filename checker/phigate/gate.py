"""The gate over a scan's result: the waivers, then the baseline, each giving a new result."""

from __future__ import annotations

import datetime as dt

from phigate.baseline import Baseline, with_baseline
from phigate.result import RunResult
from phigate.waivers import WaiverFile, apply_waivers


def gate(result: RunResult, *, waivers: WaiverFile | None = None,
         baseline: Baseline | None = None, today: dt.date | None = None) -> RunResult:
    """``result`` with the waivers applied (judged against ``today``, by default the real date,
    UTC) and then compared with the baseline (waived failures are not new ones).

    The real date even when ``SOURCE_DATE_EPOCH`` is set: an old epoch must never bring an
    expired waiver back to life. A baseline needs the scan to have kept the keys of what it
    evaluated (``scan(..., keep_evaluated=True)``), or no baseline failure counts as resolved.
    """
    if waivers is not None:
        result = apply_waivers(result, waivers, today or dt.datetime.now(dt.UTC).date())
    if baseline is not None:
        result = with_baseline(result, baseline)
    return result


__all__ = ["gate"]
