"""The terraform provider's command line, as data."""

from __future__ import annotations

from phigate.api import Option, ProviderSpec

SPEC = ProviderSpec(extra="terraform", takes_targets=True, options=(
    Option("--tf-dir", "tf_dir", kind="path", metavar="DIR",
           help="the plan's configuration folder: findings point at the .tf file and line"),
    Option("--changed-only", "changed_only", kind="flag",
           help="evaluate only resources the plan creates or updates (and what their verdicts "
                "depend on)"),
))

__all__ = ["SPEC"]
