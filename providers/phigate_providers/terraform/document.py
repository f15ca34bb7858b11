"""Reading a plan document as Terraform and its users write it, and refusing one of another shape.

``terraform show -json`` writes UTF-8; a plan redirected by Windows PowerShell (``>``) is UTF-16
with a byte order mark, one saved by some editors UTF-8 with a mark. Each is read by its mark
(UTF-16 without a mark by its zero bytes). Then the sections phigate reads are checked for the
shape the format documents: a section of another JSON type, a resource without a string
address, or an address given twice would otherwise be skipped quietly and read as a smaller
estate. Each is refused (exit 2) with the JSON pointer of the first offending value.
"""

from __future__ import annotations

import codecs
import json
from collections.abc import Generator, Iterator, Mapping
from typing import Any

import orjson

from phigate.api import InputError
from phigate.problems import json_pointer

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))


def encoding(head: bytes) -> tuple[str, int]:
    """The encoding of a document starting with ``head``, and the length of its byte order mark."""
    for bom, name in _BOMS:  # UTF-32 LE's mark starts with UTF-16 LE's: tried first
        if head.startswith(bom):
            return name, len(bom)
    if len(head) >= 4 and head[0] and not any(head[1:4]):
        return "utf-32-le", 0  # what a few editors save as "Unicode (UTF-32)"
    if len(head) >= 4 and not any(head[0:3]) and head[3]:
        return "utf-32-be", 0
    if len(head) >= 2 and head[0] and not head[1]:
        return "utf-16-le", 0  # "{" then a zero byte: UTF-16 little-endian without a mark
    if len(head) >= 2 and not head[0] and head[1]:
        return "utf-16-be", 0
    return "utf-8", 0


def text_of(head: bytes) -> str:
    """The first characters of a document, whatever its encoding (a cut character dropped)."""
    name, skip = encoding(head)
    return head[skip:].decode(name, errors="ignore")


def parse(data: bytes, label: str) -> Any:
    """The JSON value of a plan file's bytes; InputError with the position when it is not JSON."""
    name, skip = encoding(data[:4])
    body: bytes | str = data[skip:] if skip else data
    if name != "utf-8":
        try:
            body = data[skip:].decode(name)
        except UnicodeDecodeError as exc:
            where = exc.start + skip
            raise InputError(f"not valid {name.upper()} text at byte {where}", f"{label}:1:1") from None
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InputError(f"invalid JSON: {exc.msg}", f"{label}:{exc.lineno}:{exc.colno}") from None
    duplicate = _duplicate_key(body, data)
    if duplicate is not None:
        raise InputError(f"the key '{duplicate}' is written twice in one object: Terraform never writes "
                         "that, and which of the two values counts cannot be told; write the plan again with "
                         "`terraform show -json`",
                         label)
    return data


def _duplicate_key(body: bytes | str, data: Any) -> str | None:
    """A key written twice in one object of ``body`` (None: none).

    orjson keeps the last of two duplicate keys silently: a plan edited by hand could hide a
    resource, or a setting, behind a second key. Every key is followed by a colon and the only
    other colons are inside strings, which orjson writes back as colons: when the value written
    again holds as many colons as the text (and the text escapes no colon as ``\\u003a``), no
    key was lost. Otherwise the standard parser, refusing duplicates, names the key (the snapshot
    reader uses the same test).
    """
    text = body if isinstance(body, bytes) else body.encode("utf-8", errors="surrogatepass")
    try:
        same = text.count(b":") == orjson.dumps(data).count(b":") and b"\\u003" not in text
    except TypeError:  # nesting orjson reads but does not write back
        same = False
    if same:
        return None
    try:
        json.loads(body, object_pairs_hook=_no_duplicates)
    except _Duplicate as exc:
        return str(exc)
    except (ValueError, RecursionError):
        return None  # orjson read it: what the standard parser refuses is not a duplicate
    return None


class _Duplicate(ValueError):
    pass


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _Duplicate(key)
            seen.add(key)
    return found


def check(document: Mapping[str, Any], label: str) -> None:
    """Refuse a plan whose sections are not of the documented shape, or that lists an address
    twice (InputError naming the JSON pointer)."""
    problem = next(_problems(document), None)
    if problem is not None:
        pointer, message = problem
        raise InputError(f"{json_pointer(pointer)}: {message} (not the output of `terraform show -json`)",
                         label)


Pointer = tuple[str | int, ...]
#: Major versions of the JSON output format this reader knows.
READ_MAJORS = frozenset({"0", "1"})
#: What a resource change may do (a replacement is two of them).
ACTIONS = frozenset({"no-op", "create", "read", "update", "delete", "forget"})
#: Managed resources and data sources.
MODES = frozenset({"managed", "data"})


def _problems(document: Mapping[str, Any]) -> Iterator[tuple[Pointer, str]]:
    version = document.get("format_version")
    if not isinstance(version, str):
        yield ("format_version",), "expected a string"
    elif version.split(".", 1)[0] not in READ_MAJORS:
        # A new major version is Terraform's word that the format changed incompatibly.
        yield ("format_version",), (f"format {version} is not one phigate reads (0.x and 1.x: a new "
                                    "major version changes the format incompatibly)")
    variables = document.get("variables")
    for name, entry in (variables.items() if isinstance(variables, dict) else ()):
        if not isinstance(entry, dict):
            yield ("variables", name), "expected an object (with the variable's value)"
    for flag in ("errored", "complete", "applyable"):
        if flag in document and not isinstance(document[flag], bool):
            yield (flag,), "expected true or false"
    for section in ("planned_values", "configuration", "variables", "prior_state"):
        if document.get(section) is not None and not isinstance(document[section], dict):
            yield (section,), "expected an object"
    planned = document.get("planned_values")
    if isinstance(planned, dict):
        seen: dict[str, Pointer] = {}
        root = planned.get("root_module")
        if root is not None:
            yield from _module(root, ("planned_values", "root_module"), seen)
    yield from _changes(document.get("resource_changes"))
    configuration = document.get("configuration")
    if isinstance(configuration, dict):
        yield from _configuration(configuration)


def _module(module: Any, at: Pointer, seen: dict[str, Pointer]) -> Iterator[tuple[Pointer, str]]:
    if not isinstance(module, dict):
        yield at, "expected an object"
        return
    resources = yield from _array(module, "resources", at)
    for number, raw in enumerate(resources):
        where = (*at, "resources", number)
        address, problems = _entry(raw, where)
        yield from problems
        if address is None:
            continue
        if raw.get("values") is not None and not isinstance(raw["values"], dict):
            yield (*where, "values"), "expected an object"
        if address in seen:
            yield (*where, "address"), f"{address} is listed twice (first at {json_pointer(seen[address])})"
        seen[address] = (*where, "address")
    children = yield from _array(module, "child_modules", at)
    for number, child in enumerate(children):
        yield from _module(child, (*at, "child_modules", number), seen)


def _array(owner: Mapping[str, Any], key: str,
           at: Pointer) -> Generator[tuple[Pointer, str], None, list[Any]]:
    """The array under ``key`` ([] when absent); a value of another type is a problem, and read
    as empty."""
    items = owner.get(key)
    if items is None:
        return []
    if not isinstance(items, list):
        yield (*at, key), "expected an array"
        return []
    return items


def _entry(raw: Any, where: Pointer) -> tuple[str | None, list[tuple[Pointer, str]]]:
    """A planned resource or a change: its address (None: unusable) and the problems of the
    fields both shapes share."""
    if not isinstance(raw, dict):
        return None, [(where, "expected an object")]
    address = raw.get("address")
    if not isinstance(address, str) or not address:
        return None, [((*where, "address"), "expected a resource address (a string)")]
    problems: list[tuple[Pointer, str]] = [((*where, key), "expected a string")
                                           for key in ("type", "name", "mode")
                                           if key in raw and not isinstance(raw[key], str)]
    if isinstance(raw.get("mode"), str) and raw["mode"] not in MODES:
        # Read as neither, the resource would be left out: a smaller estate.
        problems.append(((*where, "mode"), f"'{raw['mode']}' is not a resource mode (managed or data)"))
    return address, problems


def _changes(changes: Any) -> Iterator[tuple[Pointer, str]]:
    if changes is None:
        return
    if not isinstance(changes, list):
        yield ("resource_changes",), "expected an array"
        return
    seen: dict[str, int] = {}
    for number, raw in enumerate(changes):
        where: Pointer = ("resource_changes", number)
        address, problems = _entry(raw, where)
        yield from problems
        if address is None:
            continue
        change = raw.get("change")
        if not isinstance(change, dict):
            yield (*where, "change"), "expected an object"
            continue
        yield from _change(change, (*where, "change"))
        key = f"{raw.get('deposed', '')}|{address}"
        if key in seen:
            yield (*where, "address"), (f"{address} is listed twice "
                                        f"(first at {json_pointer(('resource_changes', seen[key]))})")
        seen[key] = number


def _change(change: Mapping[str, Any], where: Pointer) -> Iterator[tuple[Pointer, str]]:
    actions = change.get("actions")
    if not isinstance(actions, list) or not actions or not all(isinstance(a, str) for a in actions):
        yield (*where, "actions"), "expected an array of action names"
    else:
        strange = [a for a in actions if a not in ACTIONS]
        if strange:
            # Whether the resource exists after apply hangs on its action.
            yield (*where, "actions"), (f"'{strange[0]}' is not an action phigate knows "
                                        f"({', '.join(sorted(ACTIONS))})")
    for key in ("before", "after"):
        if change.get(key) is not None and not isinstance(change[key], dict):
            yield (*where, key), "expected an object or null"
    unknown = change.get("after_unknown")
    if unknown is not None and not isinstance(unknown, dict | bool):
        yield (*where, "after_unknown"), "expected an object"


def _configuration(configuration: Mapping[str, Any]) -> Iterator[tuple[Pointer, str]]:
    providers = configuration.get("provider_config")
    if providers is not None and not isinstance(providers, dict):
        yield ("configuration", "provider_config"), "expected an object"
    for name, provider in (providers if isinstance(providers, dict) else {}).items():
        where: Pointer = ("configuration", "provider_config", name)
        if not isinstance(provider, dict):
            yield where, "expected an object"
        elif provider.get("expressions") is not None and not isinstance(provider["expressions"], dict):
            yield (*where, "expressions"), "expected an object"
    root = configuration.get("root_module")
    if root is not None:
        yield from _config_module(root, ("configuration", "root_module"))


def _config_module(module: Any, at: Pointer) -> Iterator[tuple[Pointer, str]]:
    if not isinstance(module, dict):
        yield at, "expected an object"
        return
    resources = yield from _array(module, "resources", at)
    for number, block in enumerate(resources):
        if not isinstance(block, dict):
            yield (*at, "resources", number), "expected an object"
        elif block.get("expressions") is not None and not isinstance(block["expressions"], dict):
            yield (*at, "resources", number, "expressions"), "expected an object"
    calls = module.get("module_calls")
    if calls is not None and not isinstance(calls, dict):
        yield (*at, "module_calls"), "expected an object"
        return
    for name, call in (calls or {}).items():
        if not isinstance(call, dict):
            yield (*at, "module_calls", name), "expected an object"
        elif call.get("module") is not None:
            yield from _config_module(call["module"], (*at, "module_calls", name, "module"))


__all__ = ["check", "encoding", "parse", "text_of"]
