"""The pytest plugin's marker names: light enough for the plugin to import at every pytest run,
shared with the scan that marks each outcome."""

from __future__ import annotations

import re


def framework_marker(key: str) -> str:
    """``cis-aws-7.0.0`` → ``phigate_cis_aws``: the framework's family without its edition, so
    a marker keeps working when a catalogue moves to a new version."""
    family = re.split(r"-(?=\d)", key, maxsplit=1)[0]
    return "phigate_" + re.sub(r"[^0-9a-z]+", "_", family.lower()).strip("_")


__all__ = ["framework_marker"]
