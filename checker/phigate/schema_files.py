"""Access to the bundled JSON Schemas (read once, cached)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from phigate.api import KINDS

DOCUMENTS = ("policy", "report", "snapshot", "config", "resource", "fixture", "framework", "portfolio")


@cache
def document_schema(name: str) -> dict[str, Any]:
    """One of the document schemas (``policy``, ``report``, ``snapshot`` …)."""
    if name not in DOCUMENTS:
        raise KeyError(name)
    text = resources.files("phigate.schemas").joinpath(f"{name}-v1.schema.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@cache
def kind_schema(kind: str) -> dict[str, Any]:
    """The attribute schema of a normalised kind."""
    if kind not in KINDS:
        raise KeyError(kind)
    folder = resources.files("phigate.schemas").joinpath("kinds")
    data: dict[str, Any] = json.loads(folder.joinpath(f"{kind}.schema.json").read_text("utf-8"))
    return data
