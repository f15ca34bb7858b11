"""Content sampling: pick a few objects or rows of a store, read a bounded number of bytes,
and report what the detectors saw, as counts and keyed hashes only.

The report is the ``content_sample`` attribute of an ``object_store`` or a ``table``::

    {"sampled": 20, "flagged": 2, "identified": 1, "sensitive": 1, "unreadable": 0,
     "skipped": 3, "bytes": 1048576, "entities": {"HEALTH": 4, "FR_NIR": 1},
     "evidence": ["3f9c0a…", …]}

``flagged`` units (objects, rows) hold health data about a person, ``identified`` ones hold it
next to a personal identifier in the same record, ``sensitive`` ones hold high-tier health
data (HIV, mental health, sexual orientation …). ``evidence`` lists keyed hashes (HMAC-SHA-256
under a key drawn at random for the run and never stored) of the flagged units' keys or row ids:
they tell flagged units apart within one report and cannot be matched to a name afterwards.
Nothing read (no text, no excerpt, no mask, no object key) leaves this module.

The provider brings the listing and the reads; this module chooses, bounds, extracts and counts.
A listing or a read the provider could not make is a :class:`SampleIncomplete`: the provider
then leaves the attribute out and reports a collection error, never a partial pass.
"""

from __future__ import annotations

import fnmatch
import hashlib
import hmac
import random
import secrets
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from phigate.api import InputError
from phigate_providers.content import budget, extract
from phigate_providers.content.detect import Detector, Scan

ATTRIBUTE = "content_sample"
#: Storage classes whose objects cannot be read without a restore: skipped, not failed.
ARCHIVED = frozenset({"GLACIER", "DEEP_ARCHIVE", "ARCHIVE", "COLDLINE_ARCHIVE"})
MIB = 1024 * 1024


#: The parser processes, shared by every sampler of the process and started on first use.
_PARSERS = budget.ParserPool()


def _parsers() -> budget.ParserPool:
    return _PARSERS


class SampleIncomplete(Exception):
    """The provider could not list or read what the sample needed. ``message`` names what
    (never any content); ``permission`` what would have allowed it."""

    def __init__(self, message: str, permission: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.permission = permission


@dataclass(frozen=True)
class SampleSettings:
    """How much to read per store. Every bound holds whatever the store holds."""

    max_objects: int = 20
    max_object_bytes: int = MIB
    max_store_bytes: int = 16 * MIB
    max_listed: int = 10_000
    max_rows: int = 200
    max_row_bytes: int = 16_384
    evidence: int = 5
    #: Wall-time budgets in seconds (see phigate_providers.content.budget).
    object_seconds: int = 10
    store_seconds: int = 120
    run_seconds: int = 1800
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()

    def wants(self, key: str) -> bool:
        """Whether an object key passes the include and exclude globs."""
        if self.include and not any(fnmatch.fnmatchcase(key, glob) for glob in self.include):
            return False
        return not any(fnmatch.fnmatchcase(key, glob) for glob in self.exclude)


#: Config keys of a provider's ``content_sample`` section (integers) → (field, minimum).
_SETTING_KEYS: dict[str, tuple[str, int]] = {
    "objects": ("max_objects", 1), "object_bytes": ("max_object_bytes", 1024),
    "store_bytes": ("max_store_bytes", 1024), "listed": ("max_listed", 1),
    "rows": ("max_rows", 1), "row_bytes": ("max_row_bytes", 256), "evidence": ("evidence", 0),
    "object_seconds": ("object_seconds", 1), "store_seconds": ("store_seconds", 1),
    "run_seconds": ("run_seconds", 1),
}


def settings_from(provider: str, values: Mapping[str, Any] | None) -> SampleSettings:
    """Settings from a provider's config section ``content_sample: {objects: 20, include: […]}``;
    a bad value is the user's to fix (InputError)."""
    if not values:
        return SampleSettings()
    if not isinstance(values, Mapping):
        raise InputError(f"{provider}: content_sample must be a mapping")
    chosen: dict[str, Any] = {}
    for key, value in values.items():
        if key in ("include", "exclude"):
            if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
                raise InputError(f"{provider}: content_sample.{key} must be a list of glob patterns")
            chosen[key] = tuple(value)
            continue
        if key not in _SETTING_KEYS:
            raise InputError(f"{provider}: unknown content_sample setting '{key}' "
                             f"(known: {', '.join(sorted([*_SETTING_KEYS, 'include', 'exclude']))})")
        name, minimum = _SETTING_KEYS[key]
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise InputError(f"{provider}: content_sample.{key} must be an integer of at least {minimum}")
        chosen[name] = value
    return SampleSettings(**chosen)


class KeyedHasher:
    """HMAC-SHA-256 of identifiers under a random key that lives as long as this object."""

    __slots__ = ("_key",)

    def __init__(self) -> None:
        self._key = secrets.token_bytes(32)

    def __repr__(self) -> str:
        return "KeyedHasher(<key withheld>)"

    def digest(self, scope: str, identifier: str) -> str:
        """16 hex characters; the same identifier in two stores gives two digests."""
        message = b"\x00".join(part.encode("utf-8", "surrogatepass") for part in (scope, identifier))
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:16]


@dataclass(frozen=True)
class ObjectInfo:
    """One listed object: its key (hashed, never reported), size and storage class."""

    key: str
    size: int
    storage_class: str = ""


#: Reads up to ``limit`` bytes from the start of an object. Raises SampleIncomplete.
Reader = Callable[[ObjectInfo, int], bytes]


@dataclass
class SampleResult:
    """What one store's sample showed."""

    sampled: int = 0
    flagged: int = 0
    identified: int = 0
    sensitive: int = 0
    unreadable: int = 0
    skipped: int = 0
    bytes: int = 0
    entities: Counter[str] = field(default_factory=Counter)
    evidence: list[str] = field(default_factory=list)
    #: Objects chosen but not scanned, by reason (a time budget, a parser that died).
    not_scanned: Counter[str] = field(default_factory=Counter)

    def add(self, scan: Scan, digest: str, evidence_limit: int) -> None:
        """Counts one unit; ``digest`` is its keyed hash (empty when it was not flagged)."""
        self.sampled += 1
        self.entities.update(scan.entities)
        if scan.health:
            self.flagged += 1
            self.identified += scan.identified
            self.sensitive += scan.sensitive
            if len(self.evidence) < evidence_limit:
                self.evidence.append(digest)

    def attribute(self) -> dict[str, Any]:
        """The ``content_sample`` attribute (see the module's docstring)."""
        attribute = {"sampled": self.sampled, "flagged": self.flagged, "identified": self.identified,
                     "sensitive": self.sensitive, "unreadable": self.unreadable, "skipped": self.skipped,
                     "bytes": self.bytes, "entities": dict(sorted(self.entities.items())),
                     "evidence": list(self.evidence)}
        if self.not_scanned:
            attribute["not_scanned"] = dict(sorted(self.not_scanned.items()))
        return attribute


class Sampler:
    """Samples stores for one run: one random key for the evidence hashes, one random choice."""

    def __init__(self, settings: SampleSettings | None = None, detector: Detector | None = None) -> None:
        self.settings = settings or SampleSettings()
        self.detector = detector or Detector()
        #: The worker processes scan with the bundled detector; another one scans here.
        self._bundled = detector is None
        self._hasher = KeyedHasher()
        self._random = random.Random(secrets.randbits(64))
        self._run = budget.Clock(self.settings.run_seconds)

    def choose(self, listing: Iterable[ObjectInfo]) -> tuple[list[ObjectInfo], int]:
        """Up to ``max_objects`` objects drawn uniformly from the first ``max_listed`` that pass
        the filters (reservoir sampling: one pass, bounded memory), and how many were skipped
        (archived)."""
        chosen: list[ObjectInfo] = []
        seen = skipped = 0
        for info in listing:
            if seen >= self.settings.max_listed:
                break
            if info.key.endswith("/") or info.size == 0 or not self.settings.wants(info.key):
                continue
            if info.storage_class.upper() in ARCHIVED:
                skipped += 1
                continue
            seen += 1
            if len(chosen) < self.settings.max_objects:
                chosen.append(info)
            else:
                slot = self._random.randrange(seen)
                if slot < self.settings.max_objects:
                    chosen[slot] = info
        return chosen, skipped

    def sample_objects(self, store_id: str, listing: Iterable[ObjectInfo], read: Reader) -> SampleResult:
        """Reads and scans a sample of a store's objects. Raises SampleIncomplete (from the
        listing or a read, or when objects exist but none could be scanned): the caller reports
        it and leaves the attribute out."""
        settings = self.settings
        store = budget.Clock(settings.store_seconds)
        store.remaining()  # the store's time starts with its listing
        chosen, skipped = self.choose(listing)
        result = SampleResult(skipped=skipped)
        room = settings.max_store_bytes
        for info in chosen:
            announced = extract.expected_format(info.key)
            whole = announced in extract.WHOLE_FORMATS
            limit = min(settings.max_object_bytes, room)
            if whole and info.size > limit:
                result.skipped += 1  # a document read in part cannot be parsed
                continue
            if limit <= 0:
                result.skipped += 1
                continue
            seconds, reason = self._time_left(store)
            if seconds <= 0:
                result.not_scanned[reason] += 1
                continue
            data = read(info, min(limit, info.size))
            room -= len(data)
            result.bytes += len(data)
            seconds, reason = self._time_left(store)
            try:  # parsed and scanned in a worker process, within the time left
                text, found = _parsers().parse(info.key, data, len(data) >= info.size, seconds,
                                               scan=self._bundled)
            except budget.OverBudget as over:
                result.not_scanned[reason if over.reason == budget.OBJECT_TIME else over.reason] += 1
                continue
            except extract.Unreadable:
                result.unreadable += 1
                continue
            scan = found or (self.detector.scan(text.records) if text.records else Scan.empty())
            digest = self._hasher.digest(store_id, info.key) if scan.health else ""
            result.add(scan, digest, settings.evidence)
        if result.sampled == 0 and (result.unreadable or result.skipped or result.not_scanned):
            # Objects exist but none was scanned (images, scans, archived or oversized documents,
            # budgets spent): zero flagged would claim a clean store whose content was never seen.
            left_out = "".join(f", {count} not scanned: {why}"
                               for why, count in sorted(result.not_scanned.items()))
            raise SampleIncomplete(f"no object could be scanned ({result.unreadable} unreadable, "
                                   f"{result.skipped} skipped{left_out})")
        return result

    def _time_left(self, store: budget.Clock) -> tuple[float, str]:
        """Seconds the next object may take, and the reason it would be left out past them."""
        return min((self.settings.object_seconds, budget.OBJECT_TIME),
                   (store.remaining(), budget.STORE_TIME), (self._run.remaining(), budget.RUN_TIME))

    def sample_rows(self, table_id: str, rows: Sequence[tuple[str, str]]) -> SampleResult:
        """Scans rows already read: (row id, the row's text). Each row is one unit. Raises
        SampleIncomplete when the table's or the run's time budget ran out first."""
        result = SampleResult()
        limit = self.settings.max_row_bytes
        texts = [[text[:limit]] for _, text in rows]
        result.bytes = sum(len(t[0].encode("utf-8", "replace")) for t in texts)
        scans: list[Scan] = []
        if texts and self._bundled:
            seconds, reason = min((self.settings.store_seconds, budget.STORE_TIME),
                                  (self._run.remaining(), budget.RUN_TIME))
            try:
                scans = _parsers().scan_units(texts, seconds) if seconds > 0 else []
            except budget.OverBudget as over:
                reason = reason if over.reason == budget.OBJECT_TIME else over.reason
                seconds = 0
            if seconds <= 0:
                raise SampleIncomplete(f"{len(texts)} rows read, not scanned: {reason}")
        elif texts:
            scans = self.detector.scan_units(texts)
        for (row_id, _), scan in zip(rows, scans, strict=True):
            digest = self._hasher.digest(table_id, row_id) if scan.health else ""
            result.add(scan, digest, self.settings.evidence)
        return result


__all__ = ["ARCHIVED", "ATTRIBUTE", "KeyedHasher", "ObjectInfo", "Reader", "SampleIncomplete", "SampleResult",
           "SampleSettings", "Sampler", "settings_from"]
