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
    if start != "element" and steps and all(isinstance(s, Field) for s in steps):
        # The hot path: plain attribute reads on the resource in hand.
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


def _top_field(record: Any, name: str) -> Any:
    if type(record) is Resource:
        if name in _COMMON:
            return getattr(record, name)
        return record.attributes.get(name, MISSING)
    return record.get(name, MISSING)  # an indexed (remote) record holds its fields flat


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
    """A compiled condition node."""

    __slots__ = ()

    def test(self, subject: Any, index: Index) -> bool | None:
        raise NotImplementedError

    def explain(self, subject: Any, index: Index, positive: bool, out: list[Observation]) -> bool | None:
        """Like ``test``, appending the observations that led to the outcome."""
        raise NotImplementedError

    def describe(self) -> str:
        """A short human reading of the condition, for messages."""
        raise NotImplementedError


class Leaf(Condition):
    __slots__ = ("expected", "get", "op", "path", "predicate", "test")

    def __init__(self, path: CompiledPath, start: str, op: str, expected: Any,
                 predicate: Predicate) -> None:
        self.path, self.op, self.expected, self.predicate = path, op, expected, predicate
        self.get = get = make_getter(path, start)
        # Tags and raw data are read whole, so a key absent there is a real answer; any other
        # absent attribute was not seen, and even `exists` cannot decide on it.
        absent_is_answer = op == "exists" and _reads_open_map(path, start)

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
        self.test = test  # type: ignore[method-assign]

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

    __slots__ = ("children", "decisive", "test", "word")

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
        self.test = test  # type: ignore[method-assign]

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
    __slots__ = ("child", "test")

    def __init__(self, child: Condition) -> None:
        self.child = child
        inner = child.test

        def test(subject: Any, index: Index) -> bool | None:
            result = inner(subject, index)
            return None if result is None else not result
        self.test = test  # type: ignore[method-assign]

    def explain(self, subject: Any, index: Index, positive: bool, out: list[Observation]) -> bool | None:
        result = self.child.explain(subject, index, not positive, out)
        return None if result is None else not result


    def describe(self) -> str:
        return f"not ({self.child.describe()})"


class Quantifier(Condition):
    """``some``/``every`` element of a list satisfies ``match``; references are followed."""

    __slots__ = ("every", "follow", "get", "match", "path", "test")

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
        self.test = test  # type: ignore[method-assign]

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
