"""Hypothesis profiles: the same examples every run by default, so a red run always names an
input that fails again on any machine and two runs of a fresh clone agree; random exploration
only when asked for (``PHIGATE_FUZZ=explore``), which keeps its example database outside the tree."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis.database import DirectoryBasedExampleDatabase

settings.register_profile(
    "fuzz",
    deadline=None,  # the harness enforces its own time limit per input
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
    derandomize=True,
    database=None,
)
settings.register_profile(
    "fuzz-explore", parent=settings.get_profile("fuzz"), derandomize=False,
    database=DirectoryBasedExampleDatabase(Path(tempfile.gettempdir()) / "phigate-hypothesis"),
)
settings.load_profile("fuzz-explore" if os.environ.get("PHIGATE_FUZZ") == "explore" else "fuzz")
