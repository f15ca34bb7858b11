"""Policy conditions: compiled once into small node objects, evaluated in three-valued logic.

``test`` returns ``True``, ``False`` or ``None`` (could not decide: a missing attribute, a
reference not in the inventory, a value unknown until apply, a type the operator cannot judge).
``all``/``any``/``not`` follow Kleene logic, so an undecided leaf can never turn a policy into a
pass unless the rest of the condition decides it on its own. ``explain`` re-runs a condition to
collect evidence; it is only called for findings that did not pass, so the hot path stays lean.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any

from phigate import wording as words
from phigate.api import UNSEEN, Unknown
from phigate.getters import (
    MISSING,
    Getter,
    local_equality,
    local_predicate,
    make_getter,
    plain_local_path,
)
from phigate.model import Condition, Index, Observation
from phigate.operators import Mismatch, Predicate
from phigate.paths import CompiledPath, Field


def _remote_equality(name: str, expected: Any) -> Callable[[Any, Index], bool | None]:
    """``eq`` on a field of a referenced resource (an indexed record: a plain dict)."""
    exact = type(expected) is not str

    def test(subject: Any, index: Index) -> bool | None:
        value = subject.get(name, MISSING)
        if (value is expected) if exact else (value == expected):
            return True
        return None if value is MISSING or type(value) is Unknown else False
    return test


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


def _undecidable(value: Any) -> bool:
    return value is MISSING or type(value) is Unknown


def describe_unseen(value: Any, path: str) -> str:
    if type(value) is Unknown:
        return f"{path}: {value.reason}"
    return f"attribute '{path}' is missing"


class Leaf(Condition):
    __slots__ = ("expected", "get", "op", "path", "predicate", "start")

    def __init__(self, path: CompiledPath, start: str, op: str, expected: Any,
                 predicate: Predicate) -> None:
        self.path, self.op, self.expected, self.predicate = path, op, expected, predicate
        self.start = start
        self.get = get = make_getter(path, start)
        # Tags and raw data are read whole, so a key absent there is a real answer; any other
        # absent attribute was not seen, and even `exists` cannot decide on it.
        absent_is_answer = op == "exists" and _reads_open_map(path, start)
        if op == "eq" and (expected is None or type(expected) in (str, bool)) and (
                start == "remote" and len(path.steps) == 1 and isinstance(path.steps[0], Field)):
            self.test = _remote_equality(path.steps[0].name, expected)
            return
        if op == "eq" and (expected is None or type(expected) in (str, bool)):
            local = plain_local_path(path, start)
            self.test = (
                local_equality(local, expected) if local else _equality_test(get, expected))
            return
        local = plain_local_path(path, start)
        if local and op != "exists":
            self.test = local_predicate(local, predicate)
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
                    else f"{self.path.text} is {words.value(value)}: cannot tell whether it "
                         f"{words.holds(self.op, self.expected)}")
        shown = None if _undecidable(value) else _summarise(value)
        out.append(Observation(self.path.text, self.op, self.expected, shown,
                               _outcome_word(outcome), note, _against(outcome, positive)))
        return outcome

    def fold(self, known: Mapping[str, Any]) -> Condition | bool:
        name = self.path.text
        if self.start != "local" or name not in known:
            return self
        try:
            return self.predicate(known[name])
        except Mismatch:
            return self

    def describe(self) -> str:
        return f"{self.path.text} {words.holds(self.op, self.expected)}"


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
        self.test = _pair(tests[0], tests[1], decisive) if len(tests) == 2 else _many(tests, decisive)

    def explain(self, subject: Any, index: Index, positive: bool, out: list[Observation]) -> bool | None:
        undecided = False
        for child in self.children:
            result = child.explain(subject, index, positive, out)
            if result is self.decisive:
                return self.decisive
            undecided = undecided or result is None
        return None if undecided else not self.decisive

    def fold(self, known: Mapping[str, Any]) -> Condition | bool:
        parts: list[Condition] = []
        for child in self.children:
            folded = child.fold(known)
            if folded is self.decisive:
                return self.decisive
            if isinstance(folded, Condition):
                parts.append(folded)
        if not parts:
            return not self.decisive
        if len(parts) == 1:
            return parts[0]
        return self if len(parts) == len(self.children) else Junction(parts, every=not self.decisive)

    def describe(self) -> str:
        return f" {self.word} ".join(c.describe() for c in self.children)


Test = Callable[[Any, Index], "bool | None"]


def _many(tests: tuple[Test, ...], decisive: bool) -> Test:
    def test(subject: Any, index: Index) -> bool | None:
        undecided = False
        for child in tests:
            result = child(subject, index)
            if result is decisive:
                return decisive
            if result is None:
                undecided = True
        return None if undecided else not decisive
    return test


def _pair(first: Test, second: Test, decisive: bool) -> Test:
    """The common two-part junction, unrolled: same logic as ``_many``, no loop."""
    def test(subject: Any, index: Index) -> bool | None:
        a = first(subject, index)
        if a is decisive:
            return decisive
        b = second(subject, index)
        if b is decisive:
            return decisive
        return None if a is None or b is None else not decisive
    return test


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

    def fold(self, known: Mapping[str, Any]) -> Condition | bool:
        folded = self.child.fold(known)
        if isinstance(folded, bool):
            return not folded
        return self if folded is self.child else Not(folded)

    def describe(self) -> str:
        return f"not ({self.child.describe()})"


class Quantifier(Condition):
    """``some``/``every`` element of a list satisfies ``match``; references are followed."""

    __slots__ = ("every", "follow", "get", "label", "match", "path")

    def __init__(self, every: bool, path: CompiledPath, start: str, match: Condition, *,
                 follow: bool, label: str = "") -> None:
        self.every, self.path, self.match, self.follow = every, path, match, follow
        self.label = label
        self.get = get = make_getter(path, start)
        inner = match.test
        decisive = not every  # some: a True decides; every: a False decides

        def test(subject: Any, index: Index) -> bool | None:
            items = get(subject, index)
            if type(items) is not list:
                return None
            undecided = False
            for item in items:
                result = inner(item, index)
                if result is decisive:
                    return decisive
                if result is None:
                    undecided = True
            return None if undecided else every

        def test_followed(subject: Any, index: Index) -> bool | None:
            """The same over the records the items name (references followed)."""
            items = get(subject, index)
            if type(items) is not list:
                return None
            lookup = index.lookup
            undecided = False
            for item in items:
                # An id not in the inventory resolves to None: its contents are unknown.
                record = lookup(item) if type(item) is str else None
                if record is None:
                    if not _cannot_matter(item, inner, decisive, index):
                        undecided = True
                    continue
                result = inner(record, index)
                if result is decisive:
                    return decisive
                if result is None:
                    undecided = True
            return None if undecided else every
        self.test = test_followed if follow else test

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
        relation = "where" if not self.every else "not meeting:"
        note = f"{self.path.text}: {len(hits)} of {len(items)} {relation} {self.match.describe()}"
        absent = [a for a in absent if not _cannot_matter(a, self.match.test, not self.every, index)]
        scopes = [a[len(UNSEEN):] for a in absent if type(a) is str and a.startswith(UNSEEN)]
        absent = [a for a in absent if not (type(a) is str and a.startswith(UNSEEN))]
        if absent:
            note += f"; not in the inventory: {json.dumps(_summarise(absent))}"
        if scopes:
            note += f"; may also reach what was not read: {'; '.join(_summarise(scopes))}"
        if unseen:
            note += f"; undecidable: {json.dumps(_summarise(unseen))}"
        out.append(Observation(self.path.text, word, None, _summarise(hits),
                               _outcome_word(outcome), note, _against(outcome, positive),
                               self.label))
        return outcome

    def describe(self) -> str:
        return f"{'every' if self.every else 'some'} {self.path.text} ({self.match.describe()})"


def _cannot_matter(item: Any, inner: Any, decisive: bool, index: Index) -> bool:
    """An ``unseen:`` reach that concerns one store whose facts are known (``access_unseen_about``)
    and whose test cannot give the deciding answer: who may read it was not seen, but it is not
    data the policy judges (an administrative bucket's unread object ACLs, for a policy on
    clinical data). Anything else unseen keeps the outcome undecided."""
    if type(item) is not str or not item.startswith(UNSEEN):
        return False
    about = getattr(index, "unseen_store", None)
    record = about(item) if about is not None else None
    return record is not None and inner(record, index) is (not decisive)


def _outcome_word(outcome: bool | None) -> str:
    if outcome is None:
        return "error"
    return "true" if outcome else "false"


def _against(outcome: bool | None, positive: bool) -> bool:
    return outcome is not None and outcome is not positive


_MAX_ITEMS = 10
_MAX_TEXT = 200
_MAX_DEPTH = 4


def _summarise(value: Any, depth: int = 0) -> Any:
    """Keep evidence small and JSON-safe: long lists and strings are cut, with a count; deep
    structures are cut too; numbers that JSON cannot hold become text."""
    if isinstance(value, list | dict) and depth >= _MAX_DEPTH:
        return "…"
    if isinstance(value, list):
        shown = [_summarise(v, depth + 1) for v in value[:_MAX_ITEMS]]
        if len(value) > _MAX_ITEMS:
            shown.append(f"… {len(value) - _MAX_ITEMS} more")
        return shown
    if isinstance(value, str) and len(value) > _MAX_TEXT:
        return value[:_MAX_TEXT] + "…"
    if isinstance(value, dict):
        return {k: _summarise(v, depth + 1) for k, v in list(value.items())[:_MAX_ITEMS * 3]}
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value
