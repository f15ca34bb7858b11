"""Who reads a BigQuery dataset through its authorized views, datasets and routines, for its
public grants.

A dataset's ``access`` entry ``view`` (or ``dataset``, or ``routine``) lets whoever may query
that view read the authorizing dataset's tables
(https://cloud.google.com/bigquery/docs/authorized-views,
https://cloud.google.com/bigquery/docs/authorized-datasets): a view in a dataset open to
``allAuthenticatedUsers`` makes the authorizing dataset readable by them too, although its own
entries grant nobody. Pure functions of what one project's BigQuery reads saw.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from phigate_providers.gcp.links import Link

#: Public members reading something, or None when they could not all be seen.
Public = frozenset[str] | None


def public_through(links: Iterable[Link], own: Mapping[str, Public], incomplete: frozenset[str],
                   project: str) -> dict[str, Public]:
    """For each dataset authorizing a reader, the public members reading it through its readers
    (None: not all seen). ``own``: the public members a dataset's entries, or a view's own IAM
    policy, grant (None where unread); ``incomplete``: datasets whose tables were not all read
    (a view there may be missing). A reader of another project has readers nobody here saw."""
    links = list(links)
    extra: dict[str, Public] = {link.source: frozenset() for link in links}

    def dataset(name: str) -> Public:
        base, more = own.get(name, frozenset()), extra.get(name, frozenset())
        return None if base is None or more is None else base | more

    def reader(name: str) -> Public:
        if name.split("/")[4:5] != [project]:
            return None
        if "/tables/" not in name:  # a dataset: every view in it (a routine: its dataset)
            return dataset(name) if name in own else frozenset()
        parent = name.split("/tables/", 1)[0]
        if name not in own:  # no such view, unless its dataset's tables were not all read
            return None if parent in incomplete or own.get(parent, frozenset()) is None else frozenset()
        view, around = own[name], dataset(parent)
        return None if view is None or around is None else view | around

    changed = True
    while changed:  # a view may read a dataset through another's authorized view
        changed = False
        for link in links:
            found, current = reader(link.reader), extra[link.source]
            if current is None:
                continue
            widened = None if found is None else current | found
            if widened != current:
                extra[link.source] = widened
                changed = True
    return extra


__all__ = ["Public", "public_through"]
