"""Strict, safe YAML (and JSON) loading that remembers where every value came from.

PyYAML's safe loader silently keeps the last of two duplicate keys and expands aliases without
limit; a policy gate cannot afford either. This loader composes the node graph itself so that
it can refuse duplicate keys, alias bombs, deep nesting and oversized files, and it returns a
map from JSON pointer to ``(line, column)`` so later validation can point at the exact spot.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from phigate.files import LIMITS, read_bounded
from phigate.problems import Problem, ProblemsError, json_pointer

MAX_FILE_BYTES = LIMITS["config"]
MAX_DEPTH = 64
MAX_NODES = 200_000

try:  # libyaml is much faster; the pure-Python loader gives the same nodes and marks.
    _BaseLoader: type[yaml.SafeLoader] = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover - depends on the PyYAML build
    _BaseLoader = yaml.SafeLoader


@dataclass(frozen=True, slots=True)
class Located:
    """A loaded document and the position of every value and mapping key in it."""

    data: Any
    positions: dict[str, tuple[int, int]]
    key_positions: dict[str, tuple[int, int]]

    def at(self, pointer: str) -> tuple[int, int]:
        """Position of the value at ``pointer``, or of its nearest located ancestor."""
        while True:
            if pointer in self.positions:
                return self.positions[pointer]
            if not pointer:
                return (1, 1)
            pointer = pointer.rsplit("/", 1)[0]

    def key_at(self, pointer: str) -> tuple[int, int]:
        """Position of the mapping key that introduces ``pointer`` (falls back to the value)."""
        return self.key_positions.get(pointer) or self.at(pointer)


_PLAIN_TAGS = frozenset({"tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})


class _Builder:
    """Turns a composed node graph into plain data, checking the limits as it goes."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.positions: dict[str, tuple[int, int]] = {}
        self.key_positions: dict[str, tuple[int, int]] = {}
        self.problems: list[Problem] = []
        self.visited = 0
        self._constructor = yaml.constructor.SafeConstructor()

    def problem(self, node: yaml.Node, message: str, path: list[object]) -> None:
        mark = node.start_mark
        self.problems.append(
            Problem(self.file, mark.line + 1, mark.column + 1, message, json_pointer(path))
        )

    def build(self, node: yaml.Node, path: list[object], depth: int) -> Any:
        self.visited += 1
        if self.visited > MAX_NODES:
            raise _TooLarge(node, f"document expands to more than {MAX_NODES} values "
                                  "(alias/anchor expansion bomb?)")
        if depth > MAX_DEPTH:
            raise _TooLarge(node, f"nesting deeper than {MAX_DEPTH} levels")
        pointer = json_pointer(path)
        self.positions.setdefault(pointer, (node.start_mark.line + 1, node.start_mark.column + 1))
        if isinstance(node, yaml.MappingNode | yaml.SequenceNode) and node.tag not in _PLAIN_TAGS:
            self.problem(node, f"unsupported YAML tag {node.tag}", path)
            return None
        if isinstance(node, yaml.MappingNode):
            return self._mapping(node, path, depth)
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, [*path, i], depth + 1) for i, item in enumerate(node.value)]
        return self._scalar(node, path)

    def _mapping(self, node: yaml.MappingNode, path: list[object], depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.problem(key_node, "merge keys ('<<') are not supported", path)
                continue
            key = self._scalar(key_node, path) if isinstance(key_node, yaml.ScalarNode) else None
            if not isinstance(key, str):
                self.problem(key_node, "mapping keys must be strings", path)
                continue
            child = [*path, key]
            if key in out:
                first = self.key_positions[json_pointer(child)]
                self.problem(key_node, f"duplicate key '{key}' (first defined at line {first[0]})",
                             child)
                continue
            self.key_positions[json_pointer(child)] = (key_node.start_mark.line + 1,
                                                       key_node.start_mark.column + 1)
            out[key] = self.build(value_node, child, depth + 1)
        return out

    def _scalar(self, node: yaml.Node, path: list[object]) -> Any:
        try:
            value = self._constructor.construct_object(node, deep=False)
        except yaml.constructor.ConstructorError as exc:
            self.problem(node, f"invalid value: {exc.problem}", path)
            return None
        except Exception as exc:
            # PyYAML's constructors raise whatever they meet on a scalar they cannot build: a
            # ValueError for 2025-02-30 or an int of 5000 digits, an AttributeError for
            # `!!timestamp x`, a KeyError for `!!bool x`. (Python's advice after a ';', to raise
            # its digit limit, is not the user's to take.)
            reason = _one_line(str(exc)).split(";")[0] if isinstance(exc, ValueError) else f"not a {node.tag}"
            self.problem(node, f"invalid value: {reason}", path)
            return None
        if isinstance(value, float) and not math.isfinite(value):
            self.problem(node, "NaN and infinite numbers are not allowed", path)
            return None
        if not isinstance(value, str | int | float | bool | type(None)):
            # Timestamps, binary and sets become strings: policies compare plain JSON values.
            self.problem(node, f"unsupported YAML type {node.tag}", path)
            return None
        return value


class _TooLarge(Exception):
    def __init__(self, node: yaml.Node, message: str) -> None:
        super().__init__(message)
        self.node = node
        self.message = message


def load_text(text: str, file: str) -> tuple[list[Located], list[Problem]]:
    """Load every document of a YAML/JSON stream, with positions. Never raises."""
    docs: list[Located] = []
    try:
        nodes = list(yaml.compose_all(text, Loader=_BaseLoader))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = exc.problem or exc.context or "invalid YAML"
        return [], [Problem(file, line, col, f"YAML syntax error: {what}")]
    except yaml.YAMLError as exc:  # reader errors: control characters, bad encodings
        return [], [Problem(file, 1, 1, f"unreadable YAML: {_one_line(str(exc))}")]
    except RecursionError:
        return [], [Problem(file, 1, 1, f"nesting deeper than {MAX_DEPTH} levels")]
    problems: list[Problem] = []
    for node in nodes:
        if node is None:
            continue
        builder = _Builder(file)
        try:
            data = builder.build(node, [], 0)
        except _TooLarge as exc:
            mark = exc.node.start_mark
            problems.append(Problem(file, mark.line + 1, mark.column + 1, exc.message))
            continue
        problems.extend(builder.problems)
        docs.append(Located(data, builder.positions, builder.key_positions))
    return docs, problems


def load_file(path: Path, max_bytes: int | None = None, *,
              limit_name: str = "config") -> tuple[list[Located], list[Problem]]:
    """Read and load a file, refusing oversized, unreadable, non-regular or non-UTF-8 input
    (the limit: ``max_bytes``, else the documented one for ``limit_name``, see phigate.files)."""
    file = str(path)
    try:
        raw = read_bounded(path, limit_name, max_bytes)
    except ProblemsError as exc:
        return [], list(exc.problems)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        return [], [Problem(file, line, col, "file is not valid UTF-8")]
    return load_text(text, file)


def _one_line(text: str) -> str:
    return " ".join(text.split())


_SURROGATE = re.compile("[\ud800-\udfff]")


def has_lone_surrogate(data: Any) -> bool:
    """Whether a string or key anywhere in parsed JSON holds a lone UTF-16 surrogate.

    The standard library's JSON parser accepts ``"\\ud800"`` alone, which is no Unicode
    character: no report, log or terminal could be written with it, so it is refused as input.
    """
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False
