"""Entry-point discovery of providers and reporters, read when a run starts and loaded lazily."""

from __future__ import annotations

from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any

PROVIDERS = "phigate.providers"
REPORTERS = "phigate.reporters"


@cache
def _group(group: str) -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in sorted(entry_points(group=group), key=lambda e: e.name)}


def names(group: str) -> list[str]:
    return list(_group(group))


class MissingPlugin(LookupError):
    """A named provider or reporter is not installed, or its extra's SDK is missing."""


def load(group: str, name: str) -> Any:
    try:
        entry = _group(group)[name]
    except KeyError:
        known = ", ".join(_group(group)) or "none"
        what = group.rsplit(".", maxsplit=1)[-1][:-1]
        raise MissingPlugin(f"no {what} named '{name}' (installed: {known})") from None
    try:
        return entry.load()
    except ImportError as exc:
        raise MissingPlugin(f"'{name}' needs a package that is not installed ({exc.name}); "
                            f"install phigate[{name}]") from exc
    except AttributeError as exc:
        # A plugin whose entry point names something its module does not define.
        raise MissingPlugin(f"'{name}' is broken: {entry.value} cannot be loaded ({exc})") from exc
