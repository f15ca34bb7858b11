"""Copies of a store's data (snapshots): they carry their source's labels. SDK-free, shared by
the live reader and the Terraform plan reader.

A snapshot holds its source's data, so it is labelled as its source is, under its own tags: a
snapshot without a ``data_class`` of its own is classified as the database or volume it copies;
a label both give, differently, keeps both values (``clinical,administrative``), so the strictest
class wins rather than the snapshot's own word. A source that was not read (deleted, another
account's, outside the run) lends nothing: the snapshot's own tags decide, and a snapshot with
none is unclassified, which the classification policy reports.

A copy may have several sources (an image copies each of its disks' snapshots) and a source may
itself be a copy (a snapshot of a volume): a copy carries the tags of its sources as labelled
themselves, so an image of a clinical server's volumes is clinical.

Tags are not the only way a source gets its class: a name rule of the configuration (``pms-*``
databases are clinical) or a class its provider set does not travel with tags. Given the run's
classifier, a copy is also classed as the strictest of its sources as the engine classes them
(``data_class`` set on the copy, its sources named in ``raw["class_from"]``): a snapshot named
``nightly-1`` of the database ``pms-main`` is clinical, whatever the copy's own tags say.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping

from phigate.api import Resource, strictest

#: The engine's classifier, as the run gives it to the provider.
Classify = Callable[[Resource], str]


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


def sources_of(copy: Resource) -> tuple[str, ...]:
    """The stores ``raw["source"]`` names: one id, or a list of them."""
    named = copy.raw.get("source")
    if isinstance(named, list):
        return tuple(str(s) for s in named)
    return (str(named),) if named else ()


def labelled(resources: Iterable[Resource], classify: Classify | None = None) -> list[Resource]:
    """``resources``, each copy carrying the tags of the sources among them, themselves labelled
    by theirs (a loop of sources, which AWS does not make, is cut where it closes), and, with
    ``classify``, the strictest class of its sources when that is stricter than its own."""
    found = list(resources)
    by_id = {r.id: r for r in found}
    sources: dict[str, Resource] = {}  # each source as labelled, once

    def label(resource: Resource, within: frozenset[str]) -> Resource:
        result = resource
        read = []
        for source in sources_of(resource):
            if source in by_id and source not in within:
                if source not in sources:
                    sources[source] = label(by_id[source], within | {resource.id})
                read.append(sources[source])
                result = with_tags_of(result, sources[source])
        return result if classify is None or not read else _with_class_of(result, read, classify)

    return [label(r, frozenset()) for r in found]


def _with_class_of(copy: Resource, sources: list[Resource], classify: Classify) -> Resource:
    """``copy`` classed as the strictest of its sources when its own class (from its tags, which
    already hold theirs, or its name) is weaker."""
    own = copy.data_class or classify(copy)
    classes = {source.id: source.data_class or classify(source) for source in sources}
    chosen = strictest(own, *classes.values())
    if chosen == own:
        return copy
    raw = {**copy.raw, "class_from": sorted(i for i, c in classes.items() if c == chosen)}
    return dataclasses.replace(copy, data_class=chosen, raw=raw)


__all__ = ["Classify", "labelled", "merge_tags", "sources_of", "with_tags_of"]
