"""A directory export: who is in which Google group (``--gcp-groups FILE``, ``providers.gcp.groups``).

IAM binds groups, domains and principal sets; who is in them is written in Cloud Identity or
Google Workspace, which this provider does not read. The export tells it, in one of two forms:

- JSON: ``{"group:clinicians@x.fr": ["user:alice@x.fr", "group:nested@x.fr"], …}``;
- CSV: a ``group,member`` header, then one membership a line (``group:…,user:…``); a line
  with an empty member (``group:…,``) lists a group that has no member.

Either is UTF-8, with or without a byte-order mark, lines ending in LF or CRLF.

A container listed in the export is taken as complete: its members are exactly those listed
(nested groups are listed as members and expanded by the access graph, each a principal of
its own). A container the export does not list keeps an unknown membership. Everything is
checked when the file is read: a bad line is the user's input to fix, named by file and line.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from phigate.api import InputError
from phigate.files import read_bounded

#: Members that stand for a set of identities whose list IAM does not hold.
CONTAINER = re.compile(r"^(?:group|domain):[^\s:]+$|^principalSet://\S+$")
#: Members a container may list: identities, or containers nested in it.
MEMBER = re.compile(r"^(?:user|serviceAccount|group|domain):[^\s:]+$|^principal(?:Set)?://\S+$")

CONTAINER_IS = "a group:, domain: or principalSet:// member"
MEMBER_IS = "a member string (user:, serviceAccount:, group: …)"


@dataclass(frozen=True)
class Directory:
    """Container → its direct members, as the export lists them."""

    members: Mapping[str, frozenset[str]] = field(default_factory=dict)
    source: str = ""


def load(path: Path) -> Directory:
    """Reads a JSON or CSV export (by its first non-blank character: ``{`` is JSON)."""
    try:
        # A regular file within its limit; spreadsheets save CSV with a byte-order mark.
        text = read_bounded(path, "directory").decode("utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"gcp: cannot read the directory export {path}: {type(exc).__name__}") from None
    members = _from_json(path, text) if text.lstrip().startswith("{") else _from_csv(path, text)
    return Directory({k: frozenset(v) for k, v in sorted(members.items())}, str(path))


def _from_json(path: Path, text: str) -> dict[str, set[str]]:
    try:
        # A group written twice keeps both lists (plain json.loads would keep only the last).
        document: Any = json.loads(text, object_pairs_hook=_pairs)
    except json.JSONDecodeError as exc:
        raise InputError(f"not JSON: {exc.msg}", f"{path}:{exc.lineno}:{exc.colno}") from None
    if not isinstance(document, list) or not all(isinstance(pair, tuple) for pair in document):
        raise InputError("a JSON directory export maps each group to the list of its members", str(path))
    members: dict[str, set[str]] = {}
    for container, listed in document:
        where = f"{path}: {container!r}"
        _check(CONTAINER, container, where, CONTAINER_IS)
        if not isinstance(listed, list):
            raise InputError(f"{where}: its members must be a list of member strings")
        for member in listed:
            _check(MEMBER, member, where, MEMBER_IS)
        members.setdefault(container, set()).update(listed)
    return members


def _pairs(pairs: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """A JSON object as its (key, value) pairs, in order, repeated keys included."""
    return list(pairs)


def _from_csv(path: Path, text: str) -> dict[str, set[str]]:
    rows = csv.reader(io.StringIO(text))
    header = next(rows, None)
    if header is None or [h.strip().lower() for h in header] != ["group", "member"]:
        raise InputError("a CSV directory export starts with the header 'group,member'", f"{path}:1")
    members: dict[str, set[str]] = {}
    for number, row in enumerate(rows, start=2):
        if not row or all(not cell.strip() for cell in row):
            continue
        if len(row) != 2:
            raise InputError(f"expected 2 fields (group,member), found {len(row)}", f"{path}:{number}")
        container, member = (cell.strip() for cell in row)
        _check(CONTAINER, container, f"{path}:{number}: group", CONTAINER_IS)
        listed = members.setdefault(container, set())
        if member:  # an empty member lists a group that has none
            _check(MEMBER, member, f"{path}:{number}: member", MEMBER_IS)
            listed.add(member)
    return members


def _check(pattern: re.Pattern[str], value: Any, where: str, expected: str) -> None:
    if not isinstance(value, str) or not pattern.match(value):
        raise InputError(f"{where}: {str(value)[:80]!r} is not {expected}")


__all__ = ["Directory", "load"]
