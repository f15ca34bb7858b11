"""Copies of a store's data (snapshots): they carry their source's labels. SDK-free, shared by
the live reader and the Terraform plan reader.

A snapshot holds its source's data, so it is labelled as its source is, under its own tags: a
snapshot without a ``data_class`` of its own is classified as the database or volume it copies;
a label both give, differently, keeps both values (``clinical,administrative``), so the strictest
class wins rather than the snapshot's own word. A source that was not read (deleted, another
account's, outside the run) lends nothing: the snapshot's own tags decide, and a snapshot with
none is unclassified, which the classification policy reports.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from phigate.api import Resource


def merge_tags(inherited: Mapping[str, str], own: Mapping[str, str]) -> dict[str, str]:
    """The source's tags under the copy's own; a key both give differently keeps both values."""
    merged = dict(inherited)
    for key, found in own.items():
        merged[key] = found if merged.get(key, found) == found else f"{merged[key]},{found}"
    return merged


def with_tags_of(copy: Resource, source: Resource | None) -> Resource:
    """``copy`` carrying the tags of ``source`` (unchanged when its source was not read)."""
    if source is None or not source.tags:
        return copy
    return dataclasses.replace(copy, tags=merge_tags(source.tags, copy.tags or {}))


__all__ = ["merge_tags", "with_tags_of"]
