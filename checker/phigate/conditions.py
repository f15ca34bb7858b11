"""Policy conditions: compiled once into small node objects, evaluated in three-valued logic.

``test`` returns ``True``, ``False`` or ``None`` (could not decide: a missing attribute, a
reference not in the inventory, a value unknown until apply, a type the operator cannot judge).
``all``/``any``/``not`` follow Kleene logic, so an undecided leaf can never turn a policy into a
pass unless the rest of the condition decides it on its own. ``explain`` re-runs a condition to
collect evidence; it is only called for findings that did not pass, so the hot path stays lean.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol

from phigate.api import Resource, Unknown
from phigate.model import Observation
from phigate.operators import Mismatch, Predicate
from phigate.paths import CompiledPath, Deref, Field, Inverse


class _Missing:
    """Marks an attribute that is absent (not seen), as opposed to present and null."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()


class Index(Protocol):
    """What evaluation needs from the inventory to follow references."""

    def lookup(self, resource_id: str) -> dict[str, Any] | None: ...

    def inverse(self, of: str, kinds: tuple[str, ...], resource_id: str,
                provider: str) -> list[str] | Unknown: ...


Getter = Callable[[Any, Index], Any]


_COMMON = frozenset({"id", "type", "kind", "provider", "scope", "region", "name", "tags",
                     "data_class", "raw"})


def _top_getter(name: str) -> Callable[[Any], Any]:
    """First step on a resource: a common field or one of the kind's attributes."""
    if name in _COMMON:
        def common(subject: Any) -> Any:
            if type(subject) is Resource:
                return getattr(subject, name)
            return subject.get(name, MISSING)  # an indexed (remote) record
        return common

    def attribute(subject: Any) -> Any:
        if type(subject) is Resource:
            return subject.attributes.get(name, MISSING)
        return subject.get(name, MISSING)
    return attribute


def make_getter(path: CompiledPath, start: str) -> Getter:
    """A function resolving ``path`` on a subject; ``MISSING``/``Unknown`` when it cannot."""
    steps = path.steps
    if start == "local" and steps and all(isinstance(s, Field) for s in steps):
        return _local_getter(tuple(s.name for s in steps if isinstance(s, Field)))
    if start != "element" and steps and all(isinstance(s, Field) for s in steps):
        first = _top_getter(steps[0].name)  # type: ignore[union-attr]
        names = tuple(s.name for s in steps[1:] if isinstance(s, Field))
        if not names:
            return lambda subject, index: first(subject)
        if len(names) == 1:
            key = names[0]

            def one(subject: Any, index: Index) -> Any:
                value = first(subject)
                return value.get(key, MISSING) if type(value) is dict else _not_object(value)
            return one
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
                    return _not_object(value)
            elif type(step) is Deref:
                if type(value) is not str:
                    return _not_object(value)
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
                value, at_record = index.inverse(step.of, step.kinds, own_id, provider), False
        return value
    return walk


def _local_getter(names: tuple[str, ...]) -> Getter:
    """The hot path: plain reads on the resource under evaluation (always a ``Resource``)."""
    top, rest = names[0], names[1:]
    if top in _COMMON:
        if not rest:
            return lambda subject, index: getattr(subject, top)
        key = rest[0]
        if len(rest) == 1:
            def common_one(subject: Any, index: Index) -> Any:
                value = getattr(subject, top)
                return value.get(key, MISSING) if type(value) is dict else _not_object(value)
            return common_one
    elif not rest:
        return lambda subject, index: subject.attributes.get(top, MISSING)
    elif len(rest) == 1:
        key = rest[0]

        def attribute_one(subject: Any, index: Index) -> Any:
            value = subject.attributes.get(top, MISSING)
            return value.get(key, MISSING) if type(value) is dict else _not_object(value)
        return attribute_one

    def deep(subject: Any, index: Index) -> Any:
        value = getattr(subject, top) if top in _COMMON else subject.attributes.get(top, MISSING)
        for key in rest:
            if type(value) is not dict:
                return _not_object(value)
            value = value.get(key, MISSING)
        return value
    return deep


def _top_field(record: Any, name: str) -> Any:
    if type(record) is Resource:
        if name in _COMMON:
            return getattr(record, name)
        return record.attributes.get(name, MISSING)
    return record.get(name, MISSING)  # an indexed (remote) record holds its fields flat


def _local_names(path: CompiledPath, start: str) -> tuple[str, ...] | None:
    """The field names of a short plain path on the resource in hand, else None."""
    if start != "local" or not 1 <= len(path.steps) <= 2:
        return None
    if not all(isinstance(s, Field) for s in path.steps):
        return None
    names = tuple(s.name for s in path.steps if isinstance(s, Field))
    return names if names[0] not in ("tags", "raw") or len(names) == 1 else None


def _local_equality(names: tuple[str, ...], expected: Any) -> Callable[[Any, Index], bool | None]:
    """``eq`` on one or two plain fields of the resource in hand, read inline: the leaf that
    nearly every policy's ``where`` starts with (``data_class eq clinical``)."""
    top = names[0]
    exact = type(expected) is not str  # booleans and null compare by identity
    if top in _COMMON and len(names) == 1:  # common fields are always present
        if exact:
            return lambda subject, index: getattr(subject, top) is expected
        return lambda subject, index: getattr(subject, top) == expected
    key = names[1] if len(names) == 2 else None

    def attribute(subject: Any, index: Index) -> bool | None:
        value = (getattr(subject, top) if top in _COMMON
                 else subject.attributes.get(top, MISSING))
        if key is not None:
            value = value.get(key, MISSING) if type(value) is dict else _not_object(value)
        if (value is expected) if exact else (value == expected):
            return True
        return None if value is MISSING or type(value) is Unknown else False
    return attribute


def _equality_test(get: Getter, expected: str | bool | None) -> Callable[[Any, Index], bool | None]:
    """``eq`` on a string, boolean or null: the most common leaf, decided in one comparison.

    Identity is exact for booleans and null (``True`` is not ``1``); strings compare by value.
    """
    if type(expected) is str:
        def same_text(subject: Any, index: Index) -> bool | None:
            value = get(subject, index)
            if value == expected:
                return True
            return None if value is MISSING or type(value) is Unknown else False
        return same_text

    def same_constant(subject: Any, index: Index) -> bool | None:
        value = get(subject, index)
        if value is expected:
            return True
        return None if value is MISSING or type(value) is Unknown else False
    return same_constant


def _reads_open_map(path: CompiledPath, start: str) -> bool:
    first = path.steps[0] if path.steps else None
    return start != "element" and isinstance(first, Field) and first.name in ("tags", "raw")


def _not_object(value: Any) -> Any:
    """What a field of a non-mapping is: null under null, unknown under unknown, else missing."""
    if value is None or type(value) is Unknown:
        return value
    return MISSING


def _undecidable(value: Any) -> bool:
    return value is MISSING or type(value) is Unknown


def describe_unseen(value: Any, path: str) -> str:
    if type(value) is Unknown:
        return f"{path}: {value.reason}"
    return f"attribute '{path}' is missing"


class Condition:
    """A compiled condition node.

    ``test(subject, index)`` is a plain closure built once per node, specialised for what the
    node reads: the hot path calls it millions of times, so it is an attribute, not a method.
    """

    __slots__ = ("test",)
    test: Callable[[Any, Index], bool | None]

    def explain(self, subject: Any, index: Index, positive: bool, out: list[Observation]) -> bool | None:
        """Like ``test``, appending the observations that led to the outcome."""
        raise NotImplementedError

    def describe(self) -> str:
        """A short human reading of the condition, for messages."""
        raise NotImplementedError


class Leaf(Condition):
    __slots__ = ("expected", "get", "op", "path", "predicate")

    def __init__(self, path: CompiledPath, start: str, op: str, expected: Any,
                 predicate: Predicate) -> None:
        self.path, self.op, self.expected, self.predicate = path, op, expected, predicate
        self.get = get = make_getter(path, start)
        # Tags and raw data are read whole, so a key absent there is a real answer; any other
        # absent attribute was not seen, and even `exists` cannot decide on it.
        absent_is_answer = op == "exists" and _reads_open_map(path, start)
        if op == "eq" and (expected is None or type(expected) in (str, bool)):
            local = _local_names(path, start)
            self.test = (
                _local_equality(local, expected) if local else _equality_test(get, expected))
            return

        def test(subject: Any, index: Index) -> bool | None:
            value = get(subject, index)
            if value is MISSING:
                return (not expected) if absent_is_answer else None
            if type(value) is Unknown:
                return None
            try:
                return predicate(value)
            except Mismatch:
                return None
        self.test = test

    def explain(self, subject: Any, index: Index, positive: bool, out: list[Observation]) -> bool | None:
        value = self.get(subject, index)
        outcome = self.test(subject, index)
        note = ""
        if outcome is None:
            note = (describe_unseen(value, self.path.text) if _undecidable(value)
                    else f"{self.op} cannot judge a value of type {type(value).__name__}")
        shown = None if _undecidable(value) else _summarise(value)
        out.append(Observation(self.path.text, self.op, self.expected, shown,
                               _outcome_word(outcome), note, _against(outcome, positive)))
        return outcome


    def describe(self) -> str:
        return f"{self.path.text} {self.op} {json.dumps(self.expected, default=str)}"


class Junction(Condition):
    """``all`` (decided by the first false part) or ``any`` (by the first true part).

    Kleene logic: if no part decides, an undecided part makes the whole undecided.
    """

    __slots__ = ("children", "decisive", "word")

    def __init__(self, children: list[Condition], *, every: bool) -> None:
        self.children = tuple(children)
        self.word = "and" if every else "or"
        self.decisive = decisive = not every
        tests = tuple(c.test for c in self.children)

        def test(subject: Any, index: Index) -> bool | None:
            undecided = False
            for child in tests:
                result = child(subject, index)
                if result is decisive:
                    return decisive
                if result is None:
                    undecided = True
            return None if undecided else not decisive
        self.test = test

    def explain(self, subject: Any, index: Index, positive: bool, out: list[Observation]) -> bool | None:
        undecided = False
        for child in self.children:
            result = child.explain(subject, index, positive, out)
            if result is self.decisive:
                return self.decisive
            undecided = undecided or result is None
        return None if undecided else not self.decisive

    def describe(self) -> str:
        return f" {self.word} ".join(c.describe() for c in self.children)


class Not(Condition):
    __slots__ = ("child",)

    def __init__(self, child: Condition) -> None:
        self.child = child
        inner = child.test

        def test(subject: Any, index: Index) -> bool | None:
            result = inner(subject, index)
            return None if result is None else not result
        self.test = test

    def explain(self, subject: Any, index: Index, positive: bool, out: list[Observation]) -> bool | None:
        result = self.child.explain(subject, index, not positive, out)
        return None if result is None else not result


    def describe(self) -> str:
        return f"not ({self.child.describe()})"


class Quantifier(Condition):
    """``some``/``every`` element of a list satisfies ``match``; references are followed."""

    __slots__ = ("every", "follow", "get", "match", "path")

    def __init__(self, every: bool, path: CompiledPath, start: str, match: Condition,
                 follow: bool) -> None:
        self.every, self.path, self.match, self.follow = every, path, match, follow
        self.get = get = make_getter(path, start)
        inner = match.test
        decisive = not every  # some: a True decides; every: a False decides

        def test(subject: Any, index: Index) -> bool | None:
            items = get(subject, index)
            if type(items) is not list:
                return None
            undecided = False
            for raw in items:
                item = (index.lookup(raw) if type(raw) is str else None) if follow else raw
                if item is None and follow:
                    undecided = True
                    continue
                result = inner(item, index)
                if result is decisive:
                    return decisive
                if result is None:
                    undecided = True
            return None if undecided else every
        self.test = test

    def explain(self, subject: Any, index: Index, positive: bool, out: list[Observation]) -> bool | None:
        items = self.get(subject, index)
        outcome = self.test(subject, index)
        word = "every" if self.every else "some"
        if type(items) is not list:
            note = (describe_unseen(items, self.path.text) if _undecidable(items)
                    else f"'{self.path.text}' is not a list")
            out.append(Observation(self.path.text, word, "list", None, "error", note))
            return outcome
        hits, unseen, absent = [], [], []
        for raw in items:
            item = index.lookup(raw) if self.follow and type(raw) is str else raw
            if item is None:
                absent.append(raw)
                continue
            result = self.match.test(item, index)
            if result is None:
                unseen.append(raw)
            elif result is (not self.every):
                hits.append(raw)
        label = "match" if not self.every else "do not match"
        note = (f"{self.path.text}: {len(hits)} of {len(items)} element(s) {label} "
                f"({self.match.describe()})")
        if absent:
            note += f"; not in the inventory: {json.dumps(_summarise(absent))}"
        if unseen:
            note += f"; undecidable: {json.dumps(_summarise(unseen))}"
        out.append(Observation(self.path.text, word, None, _summarise(hits),
                               _outcome_word(outcome), note, _against(outcome, positive)))
        return outcome

    def describe(self) -> str:
        return f"{'every' if self.every else 'some'} {self.path.text} ({self.match.describe()})"


def _outcome_word(outcome: bool | None) -> str:
    if outcome is None:
        return "error"
    return "true" if outcome else "false"


def _against(outcome: bool | None, positive: bool) -> bool:
    return outcome is not None and outcome is not positive


_MAX_ITEMS = 10
_MAX_TEXT = 200


def _summarise(value: Any) -> Any:
    """Keep evidence small and JSON-safe: long lists and strings are cut, with a count."""
    if isinstance(value, list):
        shown = [_summarise(v) for v in value[:_MAX_ITEMS]]
        if len(value) > _MAX_ITEMS:
            shown.append(f"… {len(value) - _MAX_ITEMS} more")
        return shown
    if isinstance(value, str) and len(value) > _MAX_TEXT:
        return value[:_MAX_TEXT] + "…"
    if isinstance(value, dict):
        return {k: _summarise(v) for k, v in list(value.items())[:_MAX_ITEMS * 3]}
    return value
