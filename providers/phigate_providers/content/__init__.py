"""Content sampling: find health data in stores that should hold none (policy PHI-SEG-004).

Offline French and English detectors (:mod:`.detect`: a vocabulary of health words with
context rules, and checked identifiers: NIR, RPPS, phones, e-mails, addresses, dates of birth,
names), text extraction from documents (:mod:`.extract`), and bounded sampling that reports
counts and keyed hashes only (:mod:`.sampling`). Providers bring the listing and the reads.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from phigate_providers.content.detect import Detector, Scan
    from phigate_providers.content.sampling import (
        ATTRIBUTE,
        ObjectInfo,
        SampleIncomplete,
        Sampler,
        SampleResult,
        SampleSettings,
        settings_from,
    )

#: Where each name lives. Imported on first use: every provider declares the sampling options
#: (:mod:`.options`), and building the command line should not compile the detectors.
_HOMES = {"Detector": "detect", "Scan": "detect", **dict.fromkeys(
    ("ATTRIBUTE", "ObjectInfo", "SampleIncomplete", "Sampler", "SampleResult", "SampleSettings",
     "settings_from"), "sampling")}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)


__all__ = ["ATTRIBUTE", "Detector", "ObjectInfo", "SampleIncomplete", "SampleResult", "SampleSettings",
           "Sampler", "Scan", "settings_from"]
