"""Entry-point discovery of providers and reporters, read when a run starts and loaded lazily.

A provider is known in two steps: its package's :class:`~phigate.api.ProviderSpec` (the
command-line options, its extra, whether it reads TARGETs), read without importing the provider
or its SDK, and the provider class itself, loaded only when a run uses it. Whatever an entry
point loads is checked against its contract once, when it loads: a plugin that does not honour
it is refused with words (exit 2), never a traceback halfway through a scan.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any

from phigate.api import ProviderSpec, provider_problems, reporter_problems

PROVIDERS = "phigate.providers"
REPORTERS = "phigate.reporters"

_CONTRACTS: dict[str, Callable[[object], list[str]]] = {
    PROVIDERS: provider_problems, REPORTERS: reporter_problems}


@cache
def _group(group: str) -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in sorted(entry_points(group=group), key=lambda e: e.name)}


def names(group: str) -> list[str]:
    return list(_group(group))


class MissingPlugin(LookupError):
    """A named provider or reporter is not installed, or its extra's SDK is missing."""


class BrokenPlugin(MissingPlugin):
    """An installed plugin that does not honour its contract."""


def _entry(group: str, name: str) -> EntryPoint:
    try:
        return _group(group)[name]
    except KeyError:
        known = ", ".join(_group(group)) or "none"
        what = group.rsplit(".", maxsplit=1)[-1][:-1]
        raise MissingPlugin(f"no {what} named '{name}' (installed: {known})") from None


@cache
def load(group: str, name: str) -> Any:
    """The class behind an entry point, checked against its contract (once per process)."""
    entry = _entry(group, name)
    try:
        loaded = entry.load()
    except ImportError as exc:
        extra = provider_spec(name).extra if group == PROVIDERS else ""
        raise MissingPlugin(f"'{name}' needs a package that is not installed ({exc.name}); "
                            f"install phigate[{extra or name}]") from exc
    except AttributeError as exc:
        # A plugin whose entry point names something its module does not define.
        raise BrokenPlugin(f"'{name}' is a broken plugin: {entry.value} cannot be loaded ({exc})") from exc
    problems = _CONTRACTS[group](loaded) if group in _CONTRACTS else []
    if problems:
        raise BrokenPlugin(f"'{name}' is a broken plugin: {entry.value}: {'; '.join(problems)}")
    return loaded


@cache
def provider_spec(name: str) -> ProviderSpec:
    """What provider ``name`` declares about itself (``SPEC`` in the module its entry point
    names), read without loading the provider class. A module that cannot be imported declares
    nothing (its options are unknown until its package is); one declaring no ``SPEC`` has no
    options and reads no TARGET unless its class claims one."""
    entry = _entry(PROVIDERS, name)
    try:
        module = importlib.import_module(entry.module)
    except ImportError:
        return ProviderSpec(takes_targets=True)
    declared = getattr(module, "SPEC", None)
    if declared is None:
        return ProviderSpec(takes_targets=True)  # not declared: its class is asked, as before
    if not isinstance(declared, ProviderSpec):
        raise BrokenPlugin(f"'{name}' is a broken plugin: {entry.module}.SPEC is a "
                           f"{type(declared).__name__}, not a phigate.api.ProviderSpec")
    return declared
