"""Opt-in policies (``opt_in: true``): loaded, listed and tested like any other policy, evaluated
only when a run asks for one.

A run asks for an opt-in policy by naming its exact id in ``--only`` (a glob never does, so
``--only 'PHI-SEG-*'`` keeps meaning "the segmentation policies that normally run"), by
``enabled: true`` under ``policies:`` in the config file, or, for the policies that read the
``content_sample`` attribute, by turning content sampling on (``--sample-content``, or
``sample_content: true`` in the config section of a provider the run collects from). That
attribute exists only when sampling is on; evaluated without it, such a policy could only
report ``error`` for every store.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from phigate.config import Config
from phigate.model import Policy

#: The provider option (``--sample-content``) and config key that turn content sampling on.
SAMPLING_OPTION = "sample_content"
#: The attribute content sampling adds to object stores and tables.
SAMPLED_ATTRIBUTE = "content_sample"


def asked_for(policy: Policy, only: Iterable[str], config: Config, sampling: bool) -> bool:
    """Whether the run evaluates ``policy``: always for an ordinary one; for an opt-in one,
    only when asked (see the module's docstring)."""
    if not policy.opt_in:
        return True
    if policy.id in set(only) or config.policy(policy.id).enabled is True:
        return True
    return sampling and SAMPLED_ATTRIBUTE in policy.local_fields


def live_providers(named: Sequence[str], targets: Sequence[str], config: Config) -> list[str]:
    """The providers a run collects from by name: those named, else (with no target either)
    every provider the config file configures, as the CLI and the pytest plugin choose them."""
    if named or targets:
        return list(named)
    return list(config.providers)


def sampling_requested(flag: object, config: Config, providers: Iterable[str]) -> bool:
    """Whether the run samples content: the command line's ``--sample-content`` when given,
    else ``sample_content: true`` in the config section of one of ``providers``."""
    if flag is not None:
        return flag is True
    for name in providers:
        section = config.providers.get(name)
        if isinstance(section, Mapping) and section.get(SAMPLING_OPTION) is True:
            return True
    return False


__all__ = ["SAMPLED_ATTRIBUTE", "SAMPLING_OPTION", "asked_for", "live_providers", "sampling_requested"]
