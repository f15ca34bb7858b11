"""The vocabulary: files of forms → one Aho-Corasick automaton over folded text.

Text is *folded* one character for one character (so offsets stay those of the original):
lower case, accents and ligatures dropped, ``y`` read as ``i``, every digit as ``0``, every other
character as a space. Each form of the vocabulary is folded the same way and searched with a
space on each side, so only whole words match, in one pass over the text whatever the size of
the vocabulary. Spelling variants of health words are generated when the automaton is built: a
compound with or without its hyphen, a medical prefix with one (``anti-rétroviral``), ``œ``
written ``oe``, a doubled consonant written single and a single one doubled, ``ph`` written
``f``; and a number slot (``<n>``) stands for one to three digits.

A pattern may carry several meanings (``Mary`` folds like ``mari``, a given name and a husband);
each match is reported once per meaning.
"""

from __future__ import annotations

import functools
import gzip
import itertools
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from importlib import resources

#: Vocabulary files shipped in ``data/``: health words, phrases that hide them (decoys), the
#: words of context rules, given names, places (never conditions), and the open terminologies
#: built by ``scripts/build_lexicon.py`` (last: a form the hand-written files give keeps their
#: meaning).
VOCABULARY_FILES = ("health-fr.txt", "health-en.txt", "drugs.txt", "decoys.txt", "context.txt",
                    "first-names.txt", "terminology-fr.txt.gz")
DECOY = "DECOY"
#: Categories that are not health data: context, names and address parts (tier "none").
NOT_HEALTH_TIER = "none"
FLAGS = frozenset({"cased", "lower", "weak", "cued"})
NUMBER = "<n>"

#: Endings of words that name a condition or a procedure ("rhénopathie", a misspelt
#: "cholécistectomie"): searched as word ends, in the same pass, for words the vocabulary lacks.
MEDICAL_ENDINGS = ("pathie", "ectomie", "ostomie", "otomie", "plastie", "scopie", "algie", "rragie", "rrhee",
                   "plasie", "trophie", "lithiase", "sclerose", "necrose", "fibrose", "stenose", "thrombose")
#: Roles of vocabulary categories, read once per match in the detector's hot loop.
(ROLE_NONE, ROLE_JUDGE, ROLE_ANCHOR, ROLE_GENERIC, ROLE_TREAT, ROLE_CODE, ROLE_IDENTIFIER,
 ROLE_ANCHORING_IDENTIFIER, ROLE_NORM, ROLE_ENDING, ROLE_CARE, ROLE_CITE, ROLE_ASIDE, ROLE_TOPIC,
 ROLE_PRONOUN, ROLE_KIND, ROLE_DEFINITION) = range(17)
_ROLES = {"ANCHOR": ROLE_ANCHOR, "TOPIC": ROLE_TOPIC, "PRONOUN": ROLE_PRONOUN, "KIND": ROLE_KIND,
          "DEFINITION": ROLE_DEFINITION, "GENERIC": ROLE_GENERIC,
          "NORM": ROLE_NORM, "TREAT": ROLE_TREAT,
          "CARE": ROLE_CARE, "CITE": ROLE_CITE, "ASIDE": ROLE_ASIDE,
          "ENDING": ROLE_ENDING,
          "CODE": ROLE_CODE,
          "GIVEN": ROLE_IDENTIFIER, "STREET": ROLE_IDENTIFIER, "STREET_UK": ROLE_IDENTIFIER,
          "NUMBER": ROLE_IDENTIFIER, "TITLE": ROLE_ANCHORING_IDENTIFIER, "DOB": ROLE_ANCHORING_IDENTIFIER}

_EXPANSION = re.compile(r"\{([^{}]*)\}")
_DOUBLE = re.compile(r"([a-z])\1")
#: A single consonant between vowels, after two letters at least.
_SINGLE = re.compile(r"(?<=[a-z]{2}[aeiou])([bcdfglmnprst])(?=[aeiou])")
#: Medical prefixes people write with or without a hyphen.
_PREFIX = re.compile(r"(anti|sero|hiper|hipo|post|pre|auto|psicho|neuro|cardio|gastro|broncho|immuno|radio"
                     r"|chimio|hormono|pneumo|hemi|tetra|poli|insulino|alcoolo|maniaco|schizo)[a-z]{4,}")
_SPACES = re.compile(r" +")


def _fold_table() -> bytes:
    """cp1252 byte → folded ASCII byte."""
    table = bytearray(b" " * 256)
    for byte in range(256):
        try:
            char = bytes([byte]).decode("cp1252")
        except UnicodeDecodeError:
            continue
        if char.isdigit():
            table[byte] = ord("0")
            continue
        lowered = char.lower().replace("œ", "o").replace("æ", "a").replace("ß", "s")
        base = "".join(c for c in unicodedata.normalize("NFKD", lowered) if not unicodedata.combining(c))
        if len(base) == 1 and "a" <= base <= "z":
            table[byte] = ord("i" if base == "y" else base)
    return bytes(table)


_FOLD = _fold_table()


def fold(text: str) -> str:
    """The folded text, as long as ``text`` (characters outside cp1252 become spaces)."""
    return text.encode("cp1252", "replace").translate(_FOLD).decode("latin-1")


class LexiconError(ValueError):
    """A vocabulary file that cannot be read (a packaging fault, not user input)."""


@dataclass(frozen=True, slots=True)
class Entry:
    """What a match of one vocabulary form means. ``health`` and ``decoy`` are derived from
    the category and tier, stored because every match reads them."""

    category: str
    tier: str
    cased: bool = False
    lower: bool = False
    weak: bool = False
    #: Counts only right after a cue of care given to someone ("transférée dans l'" before
    #: "unité de soins intensifs"): a department's name alone heads a directory.
    cued: bool = False
    health: bool = field(init=False)
    decoy: bool = field(init=False)
    #: What the detector does with a match: one of the ROLE_* constants.
    role: int = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "health", self.tier != NOT_HEALTH_TIER)
        object.__setattr__(self, "decoy", self.category == DECOY)
        role = ROLE_JUDGE if self.health or self.decoy else _ROLES.get(self.category, ROLE_NONE)
        object.__setattr__(self, "role", role)


def expand(form: str) -> Iterator[str]:
    """``séropositi{f,ve}`` → ``séropositif``, ``séropositive``."""
    parts = _EXPANSION.split(form)
    choices = [[p] if i % 2 == 0 else p.split(",") for i, p in enumerate(parts)]
    for combination in itertools.product(*choices):
        yield "".join(combination)


def variants(form: str, fuzzy: bool = True) -> set[str]:
    """The folded, space-padded patterns that stand for one written form; ``fuzzy`` adds the
    misspellings (single for doubled letters, ``f`` for ``ph``, a hyphen after a prefix), which
    names must not get."""
    written = {form, form.replace("œ", "oe").replace("Œ", "Oe").replace("æ", "ae")}
    written |= {w.replace("-", "") for w in written if "-" in w}
    folded: set[str] = set()
    for text in written:
        slots = text.split(NUMBER)
        for digits in itertools.product(("0", "00", "000"), repeat=len(slots) - 1):
            joined = slots[0] + "".join(d + s for d, s in zip(digits, slots[1:], strict=True))
            base = _SPACES.sub(" ", fold(joined)).strip()
            if base:
                folded.add(base)
                if fuzzy:
                    folded |= {_DOUBLE.sub(r"\1", base), base.replace("ph", "f")}
                    # "diabette", "hipertenssion": one consonant doubled where it is single
                    folded |= {base[:single.start(1)] + single.group(1) + base[single.start(1):]
                               for single in _SINGLE.finditer(base)}
                    prefix = _PREFIX.match(base)
                    if prefix:  # "antirétroviral" written "anti-rétroviral"
                        folded.add(f"{prefix.group(1)} {base[prefix.end(1):]}")
    return {f" {text} " for text in folded}


def parse(lines: Iterable[str], source: str) -> Iterator[tuple[str, Entry]]:
    """(form, entry) pairs of one vocabulary file: ``@ CATEGORY TIER [; flags]`` opens a section,
    then one form a line, ``FORM [; flag …]``, ``{a,b}`` for alternatives; ``# `` comments.
    Flags: ``cased``, ``lower``, ``weak``, ``cued`` (see :class:`Entry` and the detector)."""
    section: tuple[str, str, frozenset[str]] | None = None
    for number, raw in enumerate(lines, 1):
        line = raw.strip()
        if not line or line.startswith("# ") or line == "#":
            continue
        head, *flag_parts = (part.strip() for part in line.split(";"))
        flags = frozenset(flag_parts)
        if not flags <= FLAGS:
            raise LexiconError(f"{source}:{number}: unknown flag(s) {sorted(flags - FLAGS)}")
        if head.startswith("@"):
            words = head[1:].split()
            if len(words) != 2:
                raise LexiconError(f"{source}:{number}: a section is '@ CATEGORY TIER'")
            section = (words[0], words[1], flags)
            continue
        if section is None:
            raise LexiconError(f"{source}:{number}: a form before any '@ CATEGORY TIER' section")
        category, tier, section_flags = section
        every = flags | section_flags
        entry = Entry(category, tier, cased="cased" in every, lower="lower" in every, weak="weak" in every,
                      cued="cued" in every)
        for form in expand(head):
            yield form, entry


#: One vocabulary match: (start, end, entry), offsets into the text. A plain tuple: a large text
#: has hundreds of thousands of them.
Match = tuple[int, int, Entry]


class Lexicon:
    """Every pattern → its entry, searched in one pass."""

    def __init__(self, pairs: Iterable[tuple[str, Entry]], endings: Iterable[str] = ()) -> None:
        """``pairs``: (written form, entry); ``endings``: folded word endings, each matched at the
        end of any word (an ``ENDING`` entry whose start is inside the word)."""
        # A pattern may mean several things ("Mary" folds like "mari", a given name and a
        # husband): one entry per category, but one health meaning at most, the first given,
        # unless a decoy phrase claims the pattern.
        chosen: dict[str, dict[str, Entry]] = {}
        for form, entry in pairs:
            fuzzy = (entry.health or entry.decoy) and not entry.cased
            for pattern in variants(form, fuzzy=fuzzy):
                meanings = chosen.setdefault(pattern, {})
                judged = next((e for e in meanings.values() if e.role == ROLE_JUDGE), None)
                if entry.role != ROLE_JUDGE:
                    meanings.setdefault(entry.category, entry)
                elif judged is None or (entry.decoy and not judged.decoy):
                    if judged is not None:
                        del meanings[judged.category]
                    meanings[entry.category] = entry
        if not chosen:
            raise LexiconError("the vocabulary is empty")
        # Imported here: a provider that never samples content does not need the package.
        import ahocorasick  # type: ignore[import-not-found]  # a C extension without stubs

        self.size = len(chosen)
        self._automaton = ahocorasick.Automaton()
        for pattern, meanings in chosen.items():
            self._automaton.add_word(pattern, (len(pattern), tuple(meanings.values())))
        ending = (Entry("ENDING", NOT_HEALTH_TIER),)
        for suffix in endings:
            for written in (f"{suffix} ", f"{suffix}s "):
                # Counted as if a space led it: its start is then the first letter of the ending.
                self._automaton.add_word(written, (len(written) + 1, ending))
        self._automaton.make_automaton()

    def find(self, folded: str) -> list[Match]:
        """Matches in ``folded`` (a :func:`fold` of the text), by start: at each start the longest,
        and none inside a longer one (a decoy phrase hides the health words it contains)."""
        return [(start, end, entry) for start, end, entries in self.find_grouped(folded) for entry in entries]

    def find_grouped(self, folded: str) -> list[tuple[int, int, tuple[Entry, ...]]]:
        """:meth:`find`'s matches with the meanings of each pattern together (most have one)."""
        kept: list[tuple[int, int, tuple[Entry, ...]]] = []
        pop, append = kept.pop, kept.append
        # The start and end of the last match kept (none yet: below any match's).
        kept_start, kept_end = -1, -2
        # Each pattern is " form ": its leading space sits at padded index ``start``, so the form
        # starts at ``start`` in the unpadded text and ends where its closing space sits. Matches
        # come by end; one that reaches back over earlier ones contains them.
        for last, (length, entries) in self._automaton.iter(f" {folded} "):
            start = last - length + 1
            if kept_start >= start:
                pop()
                while kept and kept[-1][0] >= start:
                    pop()
                if kept and kept[-1][1] >= last - 1:
                    kept_start, kept_end = kept[-1][0], kept[-1][1]
                    continue  # inside the match before those it contains
            elif kept_end >= last - 1:
                continue  # inside the previous match (which starts before this one)
            append((start, last - 1, entries))
            kept_start, kept_end = start, last - 1
        return kept


def read_file(name: str) -> list[str]:
    """The lines of a shipped vocabulary file (gzip-compressed when its name ends in .gz)."""
    path = resources.files("phigate_providers.content").joinpath("data", name)
    raw = path.read_bytes()
    return (gzip.decompress(raw) if name.endswith(".gz") else raw).decode("utf-8").splitlines()


@functools.cache
def bundled() -> Lexicon:
    """The lexicon of the bundled vocabulary files and of the shapes of the numbers the
    identifiers look for (built once per process)."""
    from phigate_providers.content.identifiers import number_shapes  # it reads this module

    number = Entry("NUMBER", NOT_HEALTH_TIER)
    files = (pair for name in VOCABULARY_FILES for pair in parse(read_file(name), name))
    return Lexicon(itertools.chain(files, ((shape, number) for shape in number_shapes())), MEDICAL_ENDINGS)


__all__ = ["DECOY", "Entry", "Lexicon", "LexiconError", "Match", "bundled", "expand", "fold", "parse",
           "variants"]
