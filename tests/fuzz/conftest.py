"""Hypothesis profiles: random exploration by default; the same examples every run in CI (set
``CI``), so that a red build always names an input that fails again on any machine."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "fuzz",
    deadline=None,  # the harness enforces its own time limit per input
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
settings.register_profile("fuzz-ci", parent=settings.get_profile("fuzz"), derandomize=True,
                          database=None)
settings.load_profile("fuzz-ci" if os.environ.get("CI") else "fuzz")
