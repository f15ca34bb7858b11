"""Attribute paths: checked against the kinds' schemas at load time, compiled to steps.

A path is dotted (``encryption.key_manager``). It starts at a common resource field (``id``,
``data_class``, ``tags`` …) or at one of the kind's normalised attributes. Where the schema
marks a value as a reference (``x-phigate-ref``) and the path goes on, the path follows the
reference to the other resource; where it marks a derived inverse (``x-phigate-inverse``,
e.g. ``key.encrypts``) the engine computes the list. ``tags.`` and ``raw.`` take any key.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from phigate.api import DATA_CLASSES
from phigate.model import Inverse
from phigate.schema_files import kind_schema

_STRING = {"type": "string"}
_DATA_CLASS = {"enum": list(DATA_CLASSES)}
COMMON_SCHEMA: dict[str, dict[str, Any]] = {
    "id": _STRING, "type": _STRING, "kind": _STRING, "provider": _STRING, "scope": _STRING,
    "region": {"type": ["string", "null"]}, "name": {"type": ["string", "null"]},
    "tags": {"type": "object", "additionalProperties": _STRING},
    "data_class": _DATA_CLASS, "raw": {},
}


@dataclass(frozen=True, slots=True)
class Field:
    """Step into a mapping key."""

    name: str


@dataclass(frozen=True, slots=True)
class Deref:
    """The current value is a resource id: continue on that resource."""

    kinds: tuple[str, ...]


Step = Field | Deref | Inverse


@dataclass(frozen=True, slots=True)
class Shape:
    """What a path leads to: its schema nodes (one per kind in scope) and what they hold."""

    nodes: tuple[dict[str, Any], ...]

    @property
    def is_list(self) -> bool:
        return bool(self.nodes) and all(_types(n) == {"array"} for n in self.nodes)

    def item_ref_kinds(self) -> tuple[str, ...] | None:
        """Target kinds when this is a list of references, else ``None``."""
        kinds: list[str] = []
        for node in self.nodes:
            items = node.get("items", {})
            if "x-phigate-ref" not in items:
                return None
            kinds.extend(k for k in items["x-phigate-ref"] if k not in kinds)
        return tuple(kinds)

    def items(self) -> tuple[dict[str, Any], ...]:
        return tuple(n.get("items", {}) for n in self.nodes)


@dataclass(frozen=True, slots=True)
class CompiledPath:
    text: str
    steps: tuple[Step, ...]
    shape: Shape
    #: Top-level fields read on referenced resources, per target kind (for the slim index).
    remote_fields: tuple[tuple[str, str], ...]
    #: Inverse relations this path needs the engine to maintain.
    inverses: tuple[Inverse, ...]

    @property
    def follows_references(self) -> bool:
        return any(not isinstance(s, Field) for s in self.steps)


class PathError(ValueError):
    """A path the schemas do not define."""


def _types(node: dict[str, Any]) -> set[str]:
    declared = node.get("type")
    if isinstance(declared, str):
        return {declared}
    if isinstance(declared, list):
        return {t for t in declared if t != "null"}
    return set()


def record_roots(kinds: Sequence[str]) -> tuple[dict[str, Any], ...]:
    """Schema nodes describing whole resources of ``kinds`` (common fields + attributes)."""
    roots = []
    for kind in kinds:
        props = dict(COMMON_SCHEMA)
        props.update(kind_schema(kind)["properties"])
        roots.append({"type": "object", "properties": props, "x-kind": kind})
    return tuple(roots)


def compile_path(text: str, roots: tuple[dict[str, Any], ...], start: str) -> CompiledPath:
    """Check ``text`` against every schema node in ``roots`` and compile it.

    ``start`` says where evaluation begins: ``"local"`` (the resource under evaluation),
    ``"remote"`` (a referenced resource, known only by the fields the engine indexed) or
    ``"element"`` (an element of a list).
    """
    if not text or any(not part for part in text.split(".")):
        raise PathError(f"malformed path '{text}'")
    parts = text.split(".")
    steps: list[Step] = []
    remote: list[tuple[str, str]] = []
    inverses: list[Inverse] = []
    nodes = roots
    at_record = start != "element"
    on_remote = start == "remote"
    for i, part in enumerate(parts):
        if at_record and on_remote:  # the slim index must keep this field of those kinds
            remote.extend((str(n["x-kind"]), part) for n in nodes)
        if at_record and part in ("tags", "raw"):
            steps.append(Field(part))
            rest = parts[i + 1:]
            if part == "tags" and rest:
                steps.append(Field(".".join(rest)))  # a tag key may itself contain dots
                shape = Shape(({"type": "string"},))
            else:
                steps.extend(Field(p) for p in rest)
                shape = Shape(({},))
            return CompiledPath(text, tuple(steps), shape, tuple(remote), tuple(inverses))
        nexts = []
        for node in nodes:
            props = node.get("properties")
            if props is None or part not in props:
                where = f"kind '{node['x-kind']}'" if "x-kind" in node else "this value"
                known = ", ".join(sorted(props)) if props else "nothing (not an object)"
                raise PathError(f"'{part}' in path '{text}' is not defined for {where}; "
                                f"known there: {known}")
            nexts.append(props[part])
        nodes = tuple(nexts)
        at_record = False
        inverse = nodes[0].get("x-phigate-inverse")
        if inverse is not None:
            step = Inverse(inverse["of"], tuple(inverse["kinds"]))
            steps.append(step)
            inverses.append(step)
        else:
            steps.append(Field(part))
        if i + 1 < len(parts) and any("x-phigate-ref" in n for n in nodes):
            kinds = tuple(dict.fromkeys(k for n in nodes for k in n.get("x-phigate-ref", ())))
            steps.append(Deref(kinds))
            nodes = record_roots(kinds)
            at_record = on_remote = True
    return CompiledPath(text, tuple(steps), Shape(nodes), tuple(remote), tuple(inverses))
