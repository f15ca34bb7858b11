"""Wildcard patterns of IAM policies: action names and resource ARNs.

IAM patterns know two wildcards: ``*`` (any run of characters, ``/`` and ``:`` included) and ``?``
(any one character). Action names compare without regard to case, ARNs with it. Access analysis
asks three questions of a pattern and a store's content ARN, which may itself be a pattern
(``arn:aws:s3:::notes/*`` stands for every object of the bucket):

- :func:`globs_intersect`: can the two match a common ARN? (an Allow reaching *part* of a store)
- :func:`glob_contains`: does a pattern match *every* ARN of another? (a Deny covering a store)
- :func:`literal_prefix`: the text before the first wildcard, used to index stores so that most
  grants are dictionary look-ups rather than matches against every store.
"""

from __future__ import annotations

import re
from functools import lru_cache

_WILDCARD_RUN = re.compile(r"[*?]{2,}")


def has_wildcard(pattern: str) -> bool:
    """The pattern holds ``*`` or ``?``."""
    return "*" in pattern or "?" in pattern


def literal_prefix(pattern: str) -> str:
    """The pattern up to (not including) its first wildcard; the whole pattern when it has none."""
    for index, char in enumerate(pattern):
        if char in "*?":
            return pattern[:index]
    return pattern


def canonical(pattern: str) -> str:
    """The same pattern with each run of wildcards written as its ``?`` s then at most one ``*``.

    ``*?`` and ``?*`` match the same strings, and ``**`` matches what ``*`` does; the canonical
    form lets the containment test read the pattern's tail directly.
    """

    def tidy(run: re.Match[str]) -> str:
        text = run.group(0)
        return "?" * text.count("?") + ("*" if "*" in text else "")

    return _WILDCARD_RUN.sub(tidy, pattern)


def matches_everything(pattern: str) -> bool:
    """The pattern is only ``*`` wildcards: it matches any string at all."""
    return bool(pattern) and pattern.strip("*") == ""


@lru_cache(maxsize=16384)
def compile_glob(pattern: str, ignore_case: bool = False) -> re.Pattern[str]:
    """A regular expression matching exactly the strings the IAM pattern matches."""
    parts = []
    for char in canonical(pattern):
        if char == "*":
            parts.append(".*")
        elif char == "?":
            parts.append(".")
        else:
            parts.append(re.escape(char))
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def glob_matches(pattern: str, text: str, *, ignore_case: bool = False) -> bool:
    """``text`` (a concrete name or ARN) is matched by the IAM ``pattern``."""
    if not has_wildcard(pattern):
        return pattern.casefold() == text.casefold() if ignore_case else pattern == text
    return compile_glob(pattern, ignore_case).fullmatch(text) is not None


def action_matches(pattern: str, action: str) -> bool:
    """An action pattern (``s3:Get*``, ``*``) matches a concrete action; case does not matter."""
    return glob_matches(pattern, action, ignore_case=True)


def _can_start_with(pattern: str, prefix: str) -> bool:
    """Some string matched by ``pattern`` starts with the literal ``prefix``.

    Only the pattern's head before its first ``*`` constrains that: past it, the ``*`` absorbs the
    rest of the prefix and the remainder of the pattern can always be completed.
    """
    star = pattern.find("*")
    head = pattern if star < 0 else pattern[:star]
    if star < 0 and len(prefix) > len(head):
        return False
    return all(p in ("?", c) for p, c in zip(head, prefix, strict=False))


def _trailing_star_prefix(pattern: str) -> str | None:
    """``P`` when the pattern is a literal ``P`` followed by one trailing ``*``, else None."""
    if pattern.endswith("*") and not has_wildcard(pattern[:-1]):
        return pattern[:-1]
    return None


def globs_intersect(first: str, second: str) -> bool:
    """Some string is matched by both patterns (either may hold wildcards)."""
    if not has_wildcard(first):
        return glob_matches(second, first)
    if not has_wildcard(second):
        return glob_matches(first, second)
    if matches_everything(first) or matches_everything(second):
        return True
    prefix = _trailing_star_prefix(second)
    if prefix is not None:
        return _can_start_with(first, prefix)
    prefix = _trailing_star_prefix(first)
    if prefix is not None:
        return _can_start_with(second, prefix)
    return _intersect_general(canonical(first), canonical(second))


def _intersect_general(first: str, second: str) -> bool:
    """Dynamic programme over both patterns: can first[i:] and second[j:] produce a common string?"""
    n, m = len(first), len(second)
    below = [False] * (m + 1)  # row i + 1
    for i in range(n, -1, -1):
        row = [False] * (m + 1)
        for j in range(m, -1, -1):
            if i == n and j == m:
                row[j] = True
                continue
            a = first[i] if i < n else ""
            b = second[j] if j < m else ""
            reached = False
            if a == "*":  # the star produces nothing, or produces second's next token
                reached = below[j] or (j < m and row[j + 1])
            if not reached and b == "*":
                reached = row[j + 1] or (i < n and below[j])
            one_each = a not in ("", "*") and b not in ("", "*")  # a character or '?' on both sides
            if not reached and one_each and (a == b or "?" in (a, b)):
                reached = below[j + 1]
            row[j] = reached
        below = row
    return below[0]


def glob_contains(outer: str, inner: str) -> bool:
    """Every string matched by ``inner`` is matched by ``outer`` (a sound, not complete, test).

    Exact when ``inner`` is literal or a literal followed by one ``*`` (the shape of content ARNs).
    For other shapes it may answer False for a pattern that does contain ``inner``; callers use it
    to decide that a Deny covers a whole store, so an unproven containment leaves access visible
    rather than hiding it.
    """
    if matches_everything(outer) or outer == inner:
        return True
    if not has_wildcard(inner):
        return glob_matches(outer, inner)
    tidy = canonical(outer)
    # inner only makes strings starting with its literal prefix L; L being matched by a pattern
    # that ends with '*' means every continuation of L is matched too.
    return tidy.endswith("*") and glob_matches(tidy, literal_prefix(inner))


__all__ = [
    "action_matches",
    "canonical",
    "compile_glob",
    "glob_contains",
    "glob_matches",
    "globs_intersect",
    "has_wildcard",
    "literal_prefix",
    "matches_everything",
]
