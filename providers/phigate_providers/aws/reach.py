"""Which stores a resource pattern reaches: touches part of, names, or covers all of their content.

Access analysis asks this of every Resource element of every policy, for thousands of stores. The
:class:`ContentIndex` arranges the stores' content ARNs so that a pattern naming a store is a
dictionary look-up and only wildcard patterns are compared with many stores, and caches each
pattern's answer across identities. It knows ARNs only, no policies: the grant logic lives in
:mod:`~phigate_providers.aws.grants`.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass

from phigate_providers.aws.arn import (
    glob_contains,
    globs_intersect,
    has_wildcard,
    literal_prefix,
    matches_everything,
)


@dataclass(frozen=True, slots=True)
class Reach:
    """Stores a resource element reaches, by index: ``touches`` some content ARN, ``named`` (the
    pattern lies within the store's content, i.e. names the store), ``covers`` all its content."""

    touches: frozenset[int]
    named: frozenset[int]
    covers: frozenset[int]


NOWHERE = Reach(frozenset(), frozenset(), frozenset())


class ContentIndex:
    """The stores' content ARNs, indexed by their literal part; store ``i`` is ``contents[i]``.

    A literal content ARN is looked up whole, one ending in a single ``*`` by its prefix; content
    ARNs of other shapes are compared one by one with every pattern.
    """

    def __init__(self, contents: Sequence[str]) -> None:
        self._contents = tuple(contents)
        self.all = frozenset(range(len(self._contents)))
        self._literal: dict[str, list[int]] = {}
        self._prefixed: dict[str, list[int]] = {}
        self._general: list[int] = []
        for index, content in enumerate(self._contents):
            if not has_wildcard(content):
                self._literal.setdefault(content, []).append(index)
            elif content.endswith("*") and not has_wildcard(content[:-1]):
                self._prefixed.setdefault(content[:-1], []).append(index)
            else:
                self._general.append(index)
        self._prefix_lengths = sorted({len(p) for p in self._prefixed})
        general = set(self._general)
        ordered = sorted((c, i) for i, c in enumerate(self._contents) if i not in general)
        self._sorted_contents = [c for c, _ in ordered]
        self._sorted_indices = [i for _, i in ordered]
        self._reach_cache: dict[tuple[str, ...], Reach] = {}
        self._pattern_cache: dict[str, Reach] = {}

    def reach(self, patterns: tuple[str, ...]) -> Reach:
        """What a Resource (or NotResource) element's patterns reach, together."""
        reach = self._reach_cache.get(patterns)
        if reach is None:
            parts = [self._pattern_reach(p) for p in patterns]
            if len(parts) == 1:
                reach = parts[0]
            else:
                reach = Reach(
                    touches=frozenset().union(*(p.touches for p in parts)),
                    named=frozenset().union(*(p.named for p in parts)),
                    covers=frozenset().union(*(p.covers for p in parts)),
                )
            self._reach_cache[patterns] = reach
        return reach

    def _pattern_reach(self, pattern: str) -> Reach:
        reach = self._pattern_cache.get(pattern)
        if reach is None:
            if matches_everything(pattern):
                reach = Reach(self.all, frozenset(), self.all)
            else:
                touches: set[int] = set()
                named: set[int] = set()
                covers: set[int] = set()
                self._stores_naming(pattern, touches, named, covers)
                if has_wildcard(pattern):
                    self._stores_by_wildcard(pattern, touches, covers)
                self._stores_of_other_shapes(pattern, touches, named, covers)
                reach = Reach(frozenset(touches), frozenset(named), frozenset(covers))
            self._pattern_cache[pattern] = reach
        return reach

    def _stores_naming(self, pattern: str, touches: set[int], named: set[int], covers: set[int]) -> None:
        """Stores the pattern names: a literal content ARN equal to it, or a content ``P*`` whose
        ``P`` starts the pattern's literal head (every ARN the pattern matches is then the store's)."""
        head = literal_prefix(pattern)
        for length in self._prefix_lengths:
            if length > len(head):
                break
            for index in self._prefixed.get(head[:length], ()):
                touches.add(index)
                named.add(index)
                if glob_contains(pattern, self._contents[index]):
                    covers.add(index)
        for index in self._literal.get(pattern, ()):
            touches.add(index)
            named.add(index)
            covers.add(index)

    def _stores_by_wildcard(self, pattern: str, touches: set[int], covers: set[int]) -> None:
        """Stores the pattern reaches through a wildcard standing for (part of) their name: their
        content starts with the pattern's literal head, a contiguous range of the sorted contents."""
        head = literal_prefix(pattern)
        contents, indices = self._sorted_contents, self._sorted_indices
        position = bisect_left(contents, head)
        while position < len(contents) and contents[position].startswith(head):
            index, content = indices[position], contents[position]
            position += 1
            if index not in touches and globs_intersect(pattern, content):
                touches.add(index)
                if glob_contains(pattern, content):
                    covers.add(index)

    def _stores_of_other_shapes(
        self, pattern: str, touches: set[int], named: set[int], covers: set[int]
    ) -> None:
        """Stores whose content ARN has wildcards elsewhere than at its end: compared one by one."""
        for index in self._general:
            content = self._contents[index]
            if globs_intersect(pattern, content):
                touches.add(index)
                if glob_contains(content, pattern):
                    named.add(index)
                if glob_contains(pattern, content):
                    covers.add(index)


__all__ = ["NOWHERE", "ContentIndex", "Reach"]
