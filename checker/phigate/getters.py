"""Resolving attribute paths on resources, indexed records and list elements.

Getters are closures built once per compiled path. A getter returns the value, ``MISSING``
for an attribute that was not seen, or an :class:`~phigate.api.Unknown` (a reference to a
resource not in the inventory, a derived list that cannot be complete). The common case, a
plain path on the resource under evaluation, gets specialised closures: it runs millions of
times in a large scan.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from phigate.api import COMMON_FIELDS, Resource, Unknown
from phigate.model import Index, Inverse
from phigate.operators import Mismatch
from phigate.paths import CompiledPath, Deref, Field


class _Missing:
    """Marks an attribute that is absent (not seen), as opposed to present and null."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()


Getter = Callable[[Any, Index], Any]




def make_getter(path: CompiledPath, start: str) -> Getter:
    """A function resolving ``path`` on a subject; ``MISSING``/``Unknown`` when it cannot."""
    steps = path.steps
    if start == "local" and steps and all(isinstance(s, Field) for s in steps):
        return _local_getter(tuple(s.name for s in steps if isinstance(s, Field)))
    if start == "remote" and len(steps) == 1 and isinstance(steps[0], Field):
        name = steps[0].name  # an indexed record is a plain dict of the fields read remotely
        return lambda subject, index: subject.get(name, MISSING)
    at_start = start != "element"

    def walk(subject: Any, index: Index) -> Any:
        value, record, at_record = subject, subject, at_start
        for step in steps:
            if type(step) is Field:
                if at_record:
                    value, at_record = _top_field(value, step.name), False
                elif type(value) is dict:
                    value = value.get(step.name, MISSING)
                else:
                    return not_object(value)
            elif type(step) is Deref:
                if type(value) is not str:
                    return not_object(value)
                record = index.lookup(value)
                if record is None:
                    return Unknown(f"referenced resource '{value}' is not in the inventory")
                value, at_record = record, True
            else:
                assert isinstance(step, Inverse)
                if type(record) is Resource:
                    own_id, provider = record.id, record.provider
                else:
                    own_id, provider = record.get("id"), record.get("provider")
                value, at_record = index.inverse(step, own_id, provider), False
        return value
    return walk


def _local_getter(names: tuple[str, ...]) -> Getter:
    """The hot path: plain reads on the resource under evaluation (always a ``Resource``)."""
    top, rest = names[0], names[1:]
    if top in COMMON_FIELDS:
        if not rest:
            return lambda subject, index: getattr(subject, top)
        key = rest[0]
        if len(rest) == 1:
            def common_one(subject: Any, index: Index) -> Any:
                value = getattr(subject, top)
                return value.get(key, MISSING) if type(value) is dict else not_object(value)
            return common_one
    elif not rest:
        return lambda subject, index: subject.attributes.get(top, MISSING)
    elif len(rest) == 1:
        key = rest[0]

        def attribute_one(subject: Any, index: Index) -> Any:
            value = subject.attributes.get(top, MISSING)
            return value.get(key, MISSING) if type(value) is dict else not_object(value)
        return attribute_one

    def deep(subject: Any, index: Index) -> Any:
        value = getattr(subject, top) if top in COMMON_FIELDS else subject.attributes.get(top, MISSING)
        for key in rest:
            if type(value) is not dict:
                return not_object(value)
            value = value.get(key, MISSING)
        return value
    return deep


def read_local(resource: Resource, path: str) -> Any:
    """The value at a plain dotted ``path`` of ``resource`` (common field or attribute), or
    ``MISSING``: what a policy's message shows of the resource."""
    return _local_getter(tuple(path.split(".")))(resource, _NO_INDEX)


class _NoIndex:
    def lookup(self, resource_id: str) -> dict[str, Any] | None:
        return None

    def inverse(self, relation: Inverse, resource_id: str, provider: str) -> list[str] | Unknown:
        return Unknown("no inventory")


_NO_INDEX = _NoIndex()


def _top_field(record: Any, name: str) -> Any:
    if type(record) is Resource:
        if name in COMMON_FIELDS:
            return getattr(record, name)
        return record.attributes.get(name, MISSING)
    return record.get(name, MISSING)  # an indexed (remote) record holds its fields flat


def not_object(value: Any) -> Any:
    """What a field of a non-mapping is: null under null, unknown under unknown, else missing."""
    if value is None or type(value) is Unknown:
        return value
    return MISSING


def plain_local_path(path: CompiledPath, start: str) -> tuple[str, ...] | None:
    """The field names of a short plain path on the resource in hand, else None."""
    if start != "local" or not 1 <= len(path.steps) <= 2:
        return None
    if not all(isinstance(s, Field) for s in path.steps):
        return None
    names = tuple(s.name for s in path.steps if isinstance(s, Field))
    return names if names[0] not in ("tags", "raw") or len(names) == 1 else None


def local_equality(names: tuple[str, ...], expected: Any) -> Callable[[Any, Index], bool | None]:
    """``eq`` on one or two plain fields of the resource in hand, read inline: the leaf that
    nearly every policy's ``where`` starts with (``data_class eq clinical``)."""
    top = names[0]
    exact = type(expected) is not str  # booleans and null compare by identity
    if top in COMMON_FIELDS and len(names) == 1:  # common fields are always present
        if exact:
            return lambda subject, index: getattr(subject, top) is expected
        return lambda subject, index: getattr(subject, top) == expected
    if top not in COMMON_FIELDS and len(names) == 2:  # the usual nested attribute, unrolled
        key = names[1]

        def nested(subject: Any, index: Index) -> bool | None:
            value = subject.attributes.get(top, MISSING)
            value = value.get(key, MISSING) if type(value) is dict else not_object(value)
            if (value is expected) if exact else (value == expected):
                return True
            return None if value is MISSING or type(value) is Unknown else False
        return nested
    common = top in COMMON_FIELDS
    second = names[1] if len(names) == 2 else None

    def attribute(subject: Any, index: Index) -> bool | None:
        value = getattr(subject, top) if common else subject.attributes.get(top, MISSING)
        if second is not None:
            value = value.get(second, MISSING) if type(value) is dict else not_object(value)
        if (value is expected) if exact else (value == expected):
            return True
        return None if value is MISSING or type(value) is Unknown else False
    return attribute




def local_predicate(names: tuple[str, ...],
                    predicate: Callable[[Any], bool]) -> Callable[[Any, Any], bool | None]:
    """Any operator on one or two plain fields of the resource in hand, read inline."""
    top = names[0]
    key = names[1] if len(names) == 2 else None
    common = top in COMMON_FIELDS

    def test(subject: Any, index: Any) -> bool | None:
        value = getattr(subject, top) if common else subject.attributes.get(top, MISSING)
        if key is not None:
            value = value.get(key, MISSING) if type(value) is dict else not_object(value)
        if value is MISSING or type(value) is Unknown:
            return None
        try:
            return predicate(value)
        except Mismatch:
            return None
    return test
