"""Classification: tags, labels and comments → one normalised ``data_class``, from config.

Where the labels of one store disagree (``DATA_CLASS=clinical`` beside ``data_class=public``, two
values in one comment, ``clinical,public`` in one tag), the strictest class wins: clinical over
administrative over public over unclassified. Reading the weaker one would turn a clinical store
into a public one on the say-so of a stray label; the disagreement is shown in the evidence.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from phigate.api import STRICTNESS, Resource
from phigate.config import Config

UNCLASSIFIED = "unclassified"

#: Labels written in free text (database comments, descriptions): ``key=value``,
#: ``[key=value]``, ``(key=value)``, ``key: value``, values optionally quoted.
_LABEL = re.compile(
    r"(?<![\w.-])([A-Za-z_][\w.-]*)\s*[=:]\s*(\"[^\"]*\"|'[^']*'|[^\s,;\[\]()]+)")
#: What separates several values in one label (``clinical,public``, ``clinical / admin``).
_VALUES = re.compile(r"[\s,;|/]+")


def labels_in_text(text: str | None) -> dict[str, str]:
    """``key=value`` style labels written anywhere in ``text`` ('PMS notes. [data_class=clinical]').

    A key written twice keeps both values, comma-separated, so the classifier sees the conflict
    instead of whichever came last."""
    labels: dict[str, str] = {}
    for key, written in _LABEL.findall(text or ""):
        quoted = len(written) > 1 and written[0] in "\"'" and written[-1] == written[0]
        value = written[1:-1] if quoted else written.rstrip(".")
        labels[key] = f"{labels[key]},{value}" if key in labels and labels[key] != value else value
    return labels


def _rank(data_class: str) -> int:
    return STRICTNESS.index(data_class) if data_class in STRICTNESS else len(STRICTNESS)


class Classifier:
    """Decides a resource's data class: every configured tag key present (in any case) and every
    value in it map through the configured table (case-insensitive) and the strictest class wins;
    a label whose values are all unknown is ``unclassified``; then name patterns; else
    ``unclassified``. An explicit ``data_class`` set by the source is kept."""

    def __init__(self, config: Config) -> None:
        self._keys = tuple(k.lower() for k in config.classification_keys)
        self._key_set = frozenset(self._keys)
        self._values: dict[str, str] = {}
        # A value listed under two classes means the strictest of them.
        for data_class, values in config.classification_values.items():
            for value in values:
                normal = value.strip().lower()
                known = self._values.get(normal)
                if known is None or _rank(data_class) < _rank(known):
                    self._values[normal] = data_class
        self._rules = config.name_rules
        #: What a tag key and a tag value mean, remembered: estates repeat a few of each, and
        #: the full reading (lower case, split, look up) would run for every resource.
        self._key_memo: dict[str, bool] = {}
        self._value_memo: dict[str, str | None] = {}

    @property
    def classes(self) -> frozenset[str]:
        """Every class :meth:`data_class` can give: the configured values', the name rules' and
        ``unclassified``."""
        return frozenset({*self._values.values(), *(rule.data_class for rule in self._rules), UNCLASSIFIED})

    def data_class(self, resource: Resource) -> str:
        found = self._from_tags(resource.tags)
        if found is not None:
            return found
        name = resource.name or resource.id
        for rule in self._rules:
            if (not rule.kinds or resource.kind in rule.kinds) and rule.pattern.search(name):
                return rule.data_class
        return UNCLASSIFIED

    def labels(self, tags: Mapping[str, str]) -> list[tuple[str, str, str]]:
        """Every (key as written, value, class) the configured keys give."""
        found = []
        for key, written in tags.items():
            if str(key).lower() not in self._key_set:
                continue
            for value in _VALUES.split(str(written).strip()):
                if value:
                    found.append((str(key), value, self._values.get(value.lower(), UNCLASSIFIED)))
        return found

    def conflict(self, tags: Mapping[str, str]) -> str | None:
        """Words for labels that disagree, or None when they agree."""
        labels = self.labels(tags)
        if len({c for _, _, c in labels}) < 2:
            return None
        chosen = min((c for _, _, c in labels), key=_rank)
        written = ", ".join(f"{k}={v} ({c})" for k, v, c in labels)
        return f"labels disagree: {written}; the strictest, {chosen}, applies"

    def _from_tags(self, tags: Mapping[str, str]) -> str | None:
        """The strictest class the labels give (the first written, between equals), as
        ``labels`` reads them; None when no configured key holds a value."""
        if not tags:
            return None
        if len(tags) == 1:  # the usual case: one label, spelt as configured, one value
            value = tags.get(self._keys[0])
            if value is not None:
                text = str(value).strip().lower()
                if not _VALUES.search(text):
                    return self._values.get(text, UNCLASSIFIED)
        chosen: str | None = None
        key_memo, value_memo = self._key_memo, self._value_memo
        for key, written in tags.items():
            # Remembered answers read inline (a non-text key never equals a remembered one).
            is_label = key_memo.get(key)
            if not (self._is_label_key(key) if is_label is None else is_label):
                continue
            found = (value_memo[written] if type(written) is str and written in value_memo
                     else self._strictest_in(written))
            if found is not None and (chosen is None or _rank(found) < _rank(chosen)):
                chosen = found
        return chosen

    def _is_label_key(self, key: str) -> bool:
        known = self._key_memo.get(key) if type(key) is str else None
        if known is None:
            known = str(key).lower() in self._key_set
            if type(key) is str and len(self._key_memo) < _MEMO_SIZE:
                self._key_memo[key] = known
        return known

    def _strictest_in(self, written: str) -> str | None:
        """The strictest class among the values written in one label, None when it holds none."""
        if type(written) is str and written in self._value_memo:
            return self._value_memo[written]
        chosen: str | None = None
        for value in _VALUES.split(str(written).strip()):
            if value:
                found = self._values.get(value.lower(), UNCLASSIFIED)
                if chosen is None or _rank(found) < _rank(chosen):
                    chosen = found
        if type(written) is str and len(self._value_memo) < _MEMO_SIZE:
            self._value_memo[written] = chosen
        return chosen


#: Distinct tag keys and values remembered per run; past that they are read each time.
_MEMO_SIZE = 4096
