"""Hostile inputs for phigate's readers, as hypothesis strategies and as plain mutations.

Three families: documents close to a valid seed with a few values replaced by hostile ones
(they pass the parser and reach validation, compilation, evaluation and the reporters), bytes
mutated at random (encodings, BOMs, CRLF, truncation, binary), and the classic resource bombs
(deep nesting, alias expansion, huge strings and numbers).
"""

from __future__ import annotations

import copy
import json
import random
from pathlib import Path
from typing import Any

import yaml
from hypothesis import strategies as st

#: Byte fragments that have broken parsers before: encodings, escapes, YAML features, numbers.
FRAGMENTS: tuple[bytes, ...] = (
    b"\xef\xbb\xbf", b"\xff\xfe", b"\r\n", b"\r", b"\x00", b"\x1b[31m", b"\x7f", b"\xc3\x28",
    b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xe2\x80\xa8", b"NaN", b"Infinity", b"-Infinity", b".nan",
    b".inf", b"1e400", b"-0", b"9" * 4400, b"0x1F", b"0o17", b"2025-02-30", b"0000-01-01",
    b"2024-01-01T10:00:00", b'"\\ud800"', b'"\\udfff\\ud800"', b"\\ud83d", b"[" * 100, b"]" * 100,
    b"{" * 60, b"&a ", b"*a", b"<<: *a\n", b"!!python/object/apply:os.system ['true']", b"!!binary aGk=",
    b"!!set {a, b}", b"!!timestamp 2020-01-01", b"? complex\n: key\n", b"---\n", b"...\n",
    b"%YAML 1.1\n---\n", b"%TAG ! tag:x,2000:\n", b"\t", b'"', b"'", b"\\", b": ", b"- ", b"#", b"|\n  ",
    b">-\n  ", b'{"a": 1, "a": 2}', b"null", b"~", b"true", b"yes", b"on", b"=", b"%", b"@", b"`",
)

#: Strings that are valid Unicode but hostile to terminals, markup and file formats.
HOSTILE_STRINGS: tuple[str, ...] = (
    "", " ", "\x1b[31mred\x1b[0m", "\x1b]0;title\x07", "\x00", "\x0c", "\u2028", "\u202e", "\ufeff",
    "<script>alert(1)</script>", '"><img src=x onerror=alert(1)>', "]]>", "&amp;", "|", "`", "*_~",
    "$(reboot)", "%s%n", "{0}", "../../etc/passwd", "a" * 5000, "é" * 300, "😀" * 50, "\ud800",
    "clinical", "administrative", "public", "phi", "eq", "ne", "in", "matches", "exists",
    "object_store", "principal", "key", "table", "arn:aws:s3:::x", "*", "2025-02-30", "2099-12-31",
)

#: Keys any of the readers knows, so random mappings look plausible to their schemas.
KEYS: tuple[str, ...] = (
    "id", "type", "kind", "provider", "scope", "region", "name", "tags", "data_class", "attributes",
    "raw", "error", "message", "kinds", "types", "resource_id", "permission", "phigate_snapshot",
    "resources", "errors", "title", "severity", "where", "assert", "all", "any", "not", "some", "every",
    "match", "path", "op", "value", "param", "params", "default", "controls", "rationale", "remediation",
    "waivers", "policy", "resource", "reason", "owner", "expires", "report_version", "findings",
    "status", "summary", "version", "classification", "keys", "values", "names", "pattern", "policies",
    "providers", "fail_on", "paths", "format_version", "planned_values", "root_module",
    "resource_changes", "change", "actions", "before", "after", "after_unknown", "address", "mode",
    "encryption", "at_rest", "key", "key_manager", "versioning", "public_access", "can_read",
    "rotation", "enabled", "logging", "tls", "location", "<<", "",
)

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.integers(min_value=2**63, max_value=2**80),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=40),
    st.sampled_from(HOSTILE_STRINGS),
)
values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


#: Seeds whose data has more values than this (an alias bomb expands exponentially) are only
#: mutated as bytes.
MAX_SEED_VALUES = 20_000


def load_seed(path: Path) -> Any:
    """A seed as data (YAML reads JSON too); None when it is not a small document."""
    try:
        if path.suffix == ".jsonl":
            lines = [json.loads(line) for line in path.read_text("utf-8").splitlines() if line.strip()]
            return {"__lines__": lines}
        document = yaml.safe_load(path.read_text("utf-8"))
    except Exception:  # a seed that once broke a reader may break PyYAML's own loader too
        return None
    return document if _small(document) else None


def _small(document: Any) -> bool:
    stack, seen = [document], 0
    while stack:
        seen += 1
        if seen > MAX_SEED_VALUES:
            return False
        node = stack.pop()
        if isinstance(node, dict):
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return True


def _locations(node: Any, found: list[tuple[Any, Any]]) -> list[tuple[Any, Any]]:
    """Every (container, key or index) of a document, for mutating one value in place."""
    if isinstance(node, dict):
        for key in list(node):
            found.append((node, key))
            _locations(node[key], found)
    elif isinstance(node, list):
        for index in range(len(node)):
            found.append((node, index))
            _locations(node[index], found)
    return found


def serialise(document: Any, style: str) -> bytes:
    """``json``, ``yaml`` or ``jsonl`` text of a (possibly hostile) document."""
    if isinstance(document, dict) and "__lines__" in document:
        lines = document["__lines__"]
        lines = lines if isinstance(lines, list) else [lines]
        return "\n".join(json.dumps(x, default=str) for x in lines).encode("utf-8") + b"\n"
    if style == "yaml":
        try:
            return yaml.safe_dump(document, allow_unicode=True, sort_keys=False).encode("utf-8", "surrogatepass")
        except (yaml.YAMLError, ValueError, TypeError):
            pass  # PyYAML refuses some strings (lone surrogates): JSON is YAML too
    return json.dumps(document, default=str).encode("utf-8", "surrogatepass")


@st.composite
def near_valid(draw: st.DrawFn, seeds: list[Any]) -> bytes:
    """A seed document with one to four values replaced, removed or added."""
    document = copy.deepcopy(draw(st.sampled_from(seeds)))
    for _ in range(draw(st.integers(1, 4))):
        places = _locations(document, [])
        if not places:
            document = draw(values)
            break
        container, key = draw(st.sampled_from(places))
        action = draw(st.sampled_from(["replace", "replace", "delete", "add", "duplicate"]))
        if action == "replace":
            container[key] = draw(values)
        elif action == "delete":
            del container[key]
        elif action == "add" and isinstance(container, dict):
            container[draw(st.sampled_from(KEYS))] = draw(values)
        elif action == "duplicate" and isinstance(container, list):
            container.append(copy.deepcopy(container[key]))
    return serialise(document, draw(st.sampled_from(["json", "yaml"])))


def mutate_bytes(data: bytes, rng: random.Random, rounds: int = 3) -> bytes:
    """Plain byte-level mutations: insert a fragment, delete, duplicate or flip bytes, change the
    line endings, add a BOM, truncate."""
    out = bytearray(data)
    for _ in range(rng.randint(1, rounds)):
        at = rng.randint(0, len(out))
        action = rng.randrange(8)
        if action in (0, 1):
            out[at:at] = rng.choice(FRAGMENTS)
        elif action == 2 and out:
            end = min(len(out), at + rng.randint(1, 64))
            del out[at:end]
        elif action == 3 and out:
            end = min(len(out), at + rng.randint(1, 256))
            out[at:at] = out[at:end]
        elif action == 4 and out:
            out[min(at, len(out) - 1)] = rng.randrange(256)
        elif action == 5:
            out = bytearray(bytes(out).replace(b"\n", b"\r\n"))
        elif action == 6:
            out[0:0] = b"\xef\xbb\xbf"
        else:
            del out[at:]
    return bytes(out)


@st.composite
def mutated(draw: st.DrawFn, seeds: list[bytes]) -> bytes:
    seed = draw(st.sampled_from(seeds))
    return mutate_bytes(seed, random.Random(draw(st.integers(0, 2**32 - 1))))


def deep(depth: int, open_: str = "[", close: str = "]") -> bytes:
    return (open_ * depth + close * depth).encode()


def alias_bomb(levels: int, width: int) -> bytes:
    lines = ["a0: &a0 [x]"]
    for level in range(1, levels + 1):
        refs = ", ".join([f"*a{level - 1}"] * width)
        lines.append(f"a{level}: &a{level} [{refs}]")
    return ("\n".join(lines) + "\n").encode()


@st.composite
def bombs(draw: st.DrawFn, yaml_header: bytes, json_header: bytes) -> bytes:
    """Deep nesting, alias expansion, a huge string or number, or binary, behind the reader's
    header, written as YAML, as one JSON document, or as a JSON Lines record."""
    kind = draw(st.sampled_from(["deep-list", "deep-map", "aliases", "string", "number", "binary"]))
    if kind == "deep-list":
        payload = deep(draw(st.integers(50, 20_000)))
    elif kind == "deep-map":
        depth = draw(st.integers(50, 5_000))
        payload = b'{"a": ' * depth + b"1" + b"}" * depth
    elif kind == "aliases":
        return yaml_header + alias_bomb(draw(st.integers(3, 12)), draw(st.integers(2, 12)))
    elif kind == "string":
        payload = b'"' + b"A" * draw(st.integers(10_000, 3_000_000)) + b'"'
    elif kind == "number":
        payload = b"9" * draw(st.integers(4_000, 200_000))
    else:
        payload = draw(st.binary(min_size=1, max_size=2048))
    style = draw(st.sampled_from(["yaml", "json", "lines"]))
    if style == "yaml":
        return yaml_header + b"x: " + payload + b"\n"
    if style == "json":
        return b"{" + json_header + b'"x": ' + payload + b"}"
    return b"{" + json_header.rstrip(b", ") + b"}\n" + payload + b"\n"


def hostile(seed_files: list[Path], yaml_header: bytes = b"", json_header: bytes = b"") -> st.SearchStrategy[bytes]:
    """Every family at once, for one reader."""
    raw = [p.read_bytes() for p in seed_files]
    documents = [d for d in (load_seed(p) for p in seed_files) if d is not None]
    families: list[st.SearchStrategy[bytes]] = [mutated(raw), bombs(yaml_header, json_header),
                                                st.binary(max_size=512)]
    if documents:
        families.insert(0, near_valid(documents))
    return st.one_of(*families)


__all__ = ["FRAGMENTS", "HOSTILE_STRINGS", "alias_bomb", "deep", "hostile", "load_seed", "mutate_bytes",
           "serialise"]
