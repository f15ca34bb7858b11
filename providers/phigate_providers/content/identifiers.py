"""Direct identifiers of a person, and the practitioner and payment numbers found beside them.

Numbers are checked, not just shaped: a NIR (French social security number) must carry its key
(97 - N mod 97, Corsica's 2A/2B read as 19/18), an RPPS number and a payment card their Luhn
digit. A date is a date of birth only next to a cue ("né le", "DDN", "DOB", "born"). A name is
a name when a title or a known given name stands beside it; a name after "Dr" is the
practitioner's, not the patient's. An address is a number, a street type and a name.

The text is scanned once: "@" and "+" by ``str.find``, and numbers (by their folded shape),
names, street types and birth-date cues by the vocabulary's single pass (:mod:`.lexicon`); the
precise patterns then run only where those hits are.
"""

from __future__ import annotations

import functools
import itertools
import re
from bisect import bisect_right
from collections.abc import Callable, Sequence
from typing import NamedTuple

from phigate_providers.content import lexicon

#: Identifier types that point at a person (the patient or a relative).
PERSONAL = frozenset({"PERSON", "FR_NIR", "PHONE", "EMAIL", "ADDRESS", "DATE_OF_BIRTH"})
#: Found and counted, but not the data subject's identifier.
OTHER = frozenset({"RPPS", "PAYMENT_CARD"})
TYPES = PERSONAL | OTHER
#: Vocabulary categories this module acts on.
HIT_CATEGORIES = frozenset({"GIVEN", "TITLE", "STREET", "STREET_UK", "DOB", "NUMBER"})


class Span(NamedTuple):
    """An entity's offsets and type; the text itself is never kept. (A tuple: sorted by
    position natively, and cheap to make by the hundred thousand.)"""

    start: int
    end: int
    type: str


#: A :class:`Span` made from its three fields at C speed (NamedTuple's own constructor is a
#: Python call, five times slower): identifiers are made by the hundred thousand.
_make_span = functools.partial(tuple.__new__, Span)


# --- checksums ------------------------------------------------------------------------------------

_BAD_MONTHS = frozenset({"00", "13", "14", "15", "16", "17", "18", "19"})


def nir_valid(nir: str) -> bool:
    """A 15-character NIR (separators removed) whose key matches, Corsica (2A, 2B) included."""
    compact = re.sub(r"[\s.\-/:]|cl[ée]|key", "", nir, flags=re.IGNORECASE).upper()
    if len(compact) != 15 or not compact[13:].isdigit():
        return False
    body = compact[:13]
    department = body[5:7]
    if department in ("2A", "2B"):
        body = body[:5] + ("19" if department == "2A" else "18") + body[7:]
    if not body.isdigit() or body[0] not in "12378" or body[3:5] in _BAD_MONTHS:
        return False
    return 97 - int(body) % 97 == int(compact[13:])


def luhn_valid(number: str) -> bool:
    digits = [int(c) for c in number if c.isdigit()]
    if len(digits) < 2:
        return False
    total = 0
    for position, digit in enumerate(reversed(digits)):
        doubled = digit * 2 if position % 2 == 1 else digit
        total += doubled - 9 if doubled > 9 else doubled
    return total % 10 == 0


# --- numbers --------------------------------------------------------------------------------------

#: The folded shapes (digits as 0, separators as spaces) of the numbers looked for, as lists
#: of group lengths; "D" is a NIR's department, which may be 2A or 2B. The vocabulary's single
#: pass finds them; the patterns below then check each one. International numbers start with
#: "+", found by ``str.find``.
_NUMBER_FORMATS = (
    (2, 2, 2, 2, 2), (2, 2, 3, 3),  # French phone (0X XX XX XX XX, 0X XX XXX XXX)
    (4, 1, 2, 2, 2, 2), (4, 9), (4, 4, 6),  # 0033 …, 0044 …
    (1, 2, 2, "D", 3, 3, 2),  # NIR
    (4, 4, 4, 4), (4, 6, 5),  # payment cards
    (11,),  # RPPS
    (5, 6),  # UK mobile
)
_SEP = r"[ .\-]?"
_NIR = (rf"[12378]{_SEP}\d\d{_SEP}\d\d{_SEP}(?:\d\d|2[ABab]){_SEP}\d\d\d{_SEP}\d\d\d"
        rf"(?:{_SEP}|[ ]?(?:cl[ée]|key|/)[ ]?:?[ ]?)\d\d"
        r"|[12378](?: \d){4} (?:\d \d|2 [ABab])(?: \d){8}")  # digit by digit
_PAIR = r"(?:[ .\-]?\d\d)"
_PHONE = (rf"0[1-9]{_PAIR}{{4}}|0[1-9](?:/\d\d){{4}}(?![/\d])"
          r"|0[1-9][ .\-]\d\d[ .\-]\d{3}[ .\-]\d{3}(?![ .\-]?\d)"
          rf"|(?:\+|00)[ ]?33[ ]?(?:\(0\)[ ]?)?[1-9]{_PAIR}{{4}}"
          r"|(?:\+|00)[ ]?(?:[1-9]\d{0,2})[ .\-]?(?:\(0\)[ ]?)?\d(?:[ .\-]?\d){6,12}"
          r"|07\d\d\d[ ]?\d{6}")
_CARD = r"(?:4\d\d\d|5[1-5]\d\d|2[2-7]\d\d)(?:[ \-]?\d{4}){3}|3[47]\d\d[ \-]?\d{6}[ \-]?\d{5}"
_NUMBERS = re.compile(
    rf"(?<![\w+])(?:(?P<FR_NIR>{_NIR})"
    rf"|(?P<PAYMENT_CARD>{_CARD})"
    r"|(?P<RPPS>10\d{9})"
    rf"|(?P<PHONE>{_PHONE}))(?![\d])")

# --- dates of birth -------------------------------------------------------------------------------

_FR_MONTHS = (r"janv(?:ier)?|f[ée]v(?:rier)?|mars|avr(?:il)?|mai|juin|juil(?:let)?|ao[ûu]t"
              r"|sept(?:embre)?|oct(?:obre)?|nov(?:embre)?|d[ée]c(?:embre)?")
_EN_MONTHS = (r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
              r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?")
_DATE = (r"\d{1,2}[/.\-]\d{1,2}[/.\-](?:\d{4}|\d\d)(?!\d)"
         r"|\d{4}-\d\d-\d\d(?!\d)"
         rf"|(?:1er|\d{{1,2}})(?:st|nd|rd|th)?[ \t]+(?i:{_FR_MONTHS}|{_EN_MONTHS})\.?,?[ \t]+\d{{4}}(?!\d)"
         rf"|(?i:{_EN_MONTHS})\.?[ \t]+\d{{1,2}}(?:st|nd|rd|th)?,?[ \t]+\d{{4}}(?!\d)")
_DATE_AFTER_CUE = re.compile(rf"(?:\(e\))?[ \t]*[:\-]?[ \t]*(?:(?i:le|on|the)[ \t]+)?(?P<date>{_DATE})"
                             r"|(?:\(e\))?[ \t]+(?i:en|in)[ \t]+(?P<year>(?:19|20)\d\d)(?!\d)")
_DATE_BEFORE_CUE = re.compile(rf"(?<![\d/.\-])(?P<date>{_DATE})[ \t]*[(,\-\u2013\u2014]?[ \t]*$")

#: A date right after a name in a header or a list ("DUPONT Jean ¦ F ¦ 12/03/1980 (44 ans)"),
#: maybe after the sex: the person's date of birth. A date with a four-digit year only, so a
#: visit's "le 12/03" is not read as one.
_DATE_AFTER_NAME = re.compile(
    r"[ \t|\u00a6,;:()\-]{1,6}(?:[MFH][ \t|\u00a6,;:]{1,4})?(?:(?i:n[ée]e?)[ \t]+(?:le[ \t]+)?)?"
    r"(?P<date>\d{1,2}[/.\-]\d{1,2}[/.\-](?:19|20)\d\d(?!\d)"
    rf"|(?:1er|\d{{1,2}})[ \t]+(?i:{_FR_MONTHS})\.?[ \t]+(?:19|20)\d\d(?!\d))")

#: An age as a cue ("(68 ans)"), and the years from which a record may state one: a date
#: before it is a date of birth when its year plus the age falls in that range.
_AGE = re.compile(r"(\d{1,3})[ \t]*(?:ans|years?(?: old)?)", re.IGNORECASE)
_YEAR = re.compile(r"(?:19|20)\d\d(?!\d)")
_AGE_SEEN_FROM = (1990, 2040)

# --- names ----------------------------------------------------------------------------------------

_UPPER = "A-ZÀ-ÖØ-Þ"
_LETTER = "a-zà-öø-ÿA-ZÀ-ÖØ-Þ"
_CAPITALISED = rf"[{_UPPER}][{_LETTER}'\u2019\-]*[{_LETTER}]"
_CAPITALS = rf"[{_UPPER}][{_UPPER}'\u2019\-]*[{_UPPER}]"
_PARTICLE = (r"(?:(?:le|la|de|du|des|van|von|di|da|dos|el|ben|Le|La|De|Du|Des|Van|Von|Di|Da|Dos|El|Ben"
             r"|LE|LA|DE|DU|DES)[ \t]+)")
_AFTER_GIVEN = re.compile(rf"[ \t]+{_PARTICLE}?{_CAPITALISED}(?:[ \t]+{_CAPITALS})?(?![\w])")
_BEFORE_GIVEN = re.compile(rf"(?<![\w]){_CAPITALS}(?:[ \t]+{_CAPITALS})?,?[ \t]+$")
_AFTER_TITLE = re.compile(
    rf"(?:\.[ \t]*|[ \t]+)"
    rf"(?P<name>{_PARTICLE}?{_CAPITALISED}(?:[ \t]+{_PARTICLE}?{_CAPITALISED}){{0,2}})(?![\w])")
#: "C. Carlizian", "J.-L. ABRAS", "G. TUDORS-PARTERRE": an initial and a surname (staff lists,
#: signatures, headers). The pattern starts at the initial's period, so the search runs on the
#: periods of the text only (a literal prefix); the lookbehinds put a lone capital before it.
_INITIAL_NAME = re.compile(rf"\.(?<=[{_UPPER}]\.)(?<![\w.][{_UPPER}]\.)(?:-?[{_UPPER}]\.)?[ \t]?"
                           rf"(?:[{_UPPER}][a-zà-öø-ÿ'\u2019]+(?:-[{_UPPER}][a-zà-öø-ÿ]+)?|{_CAPITALS})(?![\w.])")
_TITLES = frozenset({"Mme", "Mlle", "Mr", "Mrs", "Ms", "Miss", "Monsieur", "Madame", "Mademoiselle",
                     "MME", "MLLE", "MR", "MRS", "MS"})
_PRACTITIONER_TITLES = ("Dr", "Dre", "Docteur", "Doctor", "Pr", "Professeur", "Prof")
#: An elided article or preposition before a word in lower case ("L'accueillant", "D'après"):
#: a noun after a form's "Monsieur-Madame", where a name's apostrophe is followed by a capital
#: ("L'Hermite", "D'Artagnan").
_ELIDED_WORD = re.compile(r"[A-Z]['\u2019][a-zà-öø-ÿ]")

# --- addresses ------------------------------------------------------------------------------------

_NUMBER_BEFORE_STREET = re.compile(r"(?<![\w,.])\d{1,4}(?:[ ]?(?:bis|ter|quater|[A-Ca-c]))?,?[ \t]+$")
_NUMBER_BEFORE_UK_STREET = re.compile(r"(?<![\w,.])\d{1,4}[ \t]+(?:[A-Z][a-z']+[ \t]+){1,3}$")
_STREET_WORD = r"[^\s,;:()\[\]]+"
#: An article of a code ("articles R. 1225-1, R. 1225-3"): "R." there is not a street ("rue").
_CODE_ARTICLE = re.compile(r"[LRDA]\.?[ \t]*\d+(?:-\d+)+\b")
_CITY = rf"[{_UPPER}][\w'\u2019\-]*(?:[ \-][{_LETTER}][\w'\u2019\-]*)?"
_ADDRESS_FR = re.compile(
    rf"\d{{1,4}}(?:[ ]?(?:bis|ter|quater|[A-Ca-c])\b)?,?[ \t]+[^\s,]+"
    rf"(?:(?:[ \t]+{_STREET_WORD}){{1,7}}?,?[ \t]+(?:F-)?\d{{5}}[ \t]+{_CITY}"
    rf"|(?:[ \t]+(?:(?:de|du|des|la|le|l['\u2019]|d['\u2019])[ \t]*){{0,2}}"
    rf"[{_UPPER}0-9][\w'\u2019\-]*){{1,4}})")
_PLACE_WORD = rf"(?:(?:de|du|des|la|le|les|l['\u2019])[ \t]*)?[{_UPPER}][\w'\u2019\-]*"
_LIEU_DIT = re.compile(rf"[ \t:]+{_PLACE_WORD}(?:[ \t]+{_PLACE_WORD}){{0,3}}"
                       rf"(?:,?[ \t]+(?:F-)?\d{{5}}[ \t]+{_CITY})?")
_UK_POSTCODE = r"[A-Z]{1,2}\d[A-Z\d]?[ ]?\d[A-Z]{2}"
_ADDRESS_UK = re.compile(
    rf"\d{{1,4}}[ \t]+(?:[A-Z][a-z']+[ \t]+){{1,3}}[A-Z][a-z]+\b"
    rf"(?:,[ \t]*[A-Z][a-z]+(?:[ \t][A-Z][a-z]+)?)?(?:[ \t,]+{_UK_POSTCODE})?")

_EMAIL = re.compile(r"(?<![\w.+\-])[\w.+\-]{1,64} ?@ ?[\w\-]{1,63}(?: ?\. ?[\w\-]{1,63})*?"
                    r" ?\. ?[A-Za-z]{2,24}(?![\w\-])")
#: An address written to escape harvesters: "jean.dupont [at] mail [dot] fr", "(at)", "(dot)".
_AT = re.compile(r"[ ]?[\[(]\s*(?:at|arobase)\s*[\])][ ]?", re.IGNORECASE)
_DOT = r"(?:[ ]?[\[(]\s*(?:dot|point)\s*[\])][ ]?|\.)"
_OBFUSCATED_EMAIL = re.compile(
    rf"(?<![\w.+\-])[\w.+\-]{{1,64}}{_AT.pattern}[\w\-]{{1,63}}(?:{_DOT}[\w\-]{{1,63}})*{_DOT}[A-Za-z]{{2,24}}(?![\w\-])",
    re.IGNORECASE)
#: The part of ``_EMAIL`` after its "@" (a space allowed around it, as ``_EMAIL`` allows):
#: checked first, within a bounded window, so text full of "@" stays linear.
_EMAIL_DOMAIN = re.compile(r" ?[\w\-]{1,63}(?: ?\. ?[\w\-]{1,63})*? ?\. ?[A-Za-z]{2,24}(?![\w\-])")


def find(text: str, hits: Sequence[lexicon.Match] | None = None) -> list[Span]:
    """Identifier spans in ``text``, by start, overlaps resolved in favour of the earlier then the
    longer. ``hits`` are the vocabulary's matches of :data:`HIT_CATEGORIES` in the text (found
    here when not given)."""
    if hits is None:
        matches = lexicon.bundled().find(lexicon.fold(text))
        hits = [hit for hit in matches if hit[2].category in HIT_CATEGORIES]
    spans = _international(text) + _emails(text) + _initialled(text)
    for hit in hits:
        found = _FINDERS[hit[2].category](text, hit)
        if found is not None:
            spans.append(found)
    births = []
    for span in spans:
        if span.type == "PERSON":
            after = _DATE_AFTER_NAME.match(text, span.end)
            if after is not None:
                births.append(_make_span((after.start("date"), after.end("date"), "DATE_OF_BIRTH")))
    return _resolve(spans + births)


def number_shapes() -> list[str]:
    """Every folded shape of :data:`_NUMBER_FORMATS`, each gap a space or nothing; and a NIR
    written digit by digit or with its key after "clé"."""
    shapes = {f"0 0 0 0 0 0 {d} 0 0 0 0 0 0 0 0" for d in "0ab"}
    for department in ("00", "0a", "0b"):
        shapes |= {f"0 00 00 {department} 000 000 {cue} 00" for cue in ("cle", "key")}
        shapes.add(f"0000{department}000000 cle 00")
    for groups in _NUMBER_FORMATS:
        written = [("00", "0a", "0b") if size == "D" else ("0" * int(size),) for size in groups]
        for parts in itertools.product(*written):
            for gaps in itertools.product(("", " "), repeat=len(parts) - 1):
                shapes.add(parts[0] + "".join(gap + part for gap, part in zip(gaps, parts[1:], strict=True)))
    return sorted(shapes)


def _number(text: str, hit: lexicon.Match) -> Span | None:
    return _checked(_NUMBERS.match(text, hit[0]))


def _international(text: str) -> list[Span]:
    spans = []
    plus = text.find("+")
    while plus != -1:
        span = _checked(_NUMBERS.match(text, plus))
        if span is not None:
            spans.append(span)
        plus = text.find("+", plus + 1)
    return spans


def _checked(match: re.Match[str] | None) -> Span | None:
    if match is None:
        return None
    kind = match.lastgroup or ""
    value = match.group()
    if kind == "FR_NIR" and not nir_valid(value):
        return None
    if kind in ("PAYMENT_CARD", "RPPS") and not luhn_valid(value):
        return None
    return _make_span((match.start(), match.end(), kind))


def _emails(text: str) -> list[Span]:
    spans = _obfuscated_emails(text)
    floor = 0  # where the last address found ends: the next one starts after it
    at = text.find("@")
    while at != -1:
        if _EMAIL_DOMAIN.match(text, at + 1, min(len(text), at + 256)) is None:  # not an address's "@"
            at = text.find("@", at + 1)
            continue
        match = _EMAIL.search(text, max(floor, at - 65), min(len(text), at + 256))
        if match is not None and match.start() <= at < match.end():
            spans.append(_make_span((match.start(), match.end(), "EMAIL")))
            floor = match.end()
            at = text.find("@", floor)
        else:
            at = text.find("@", at + 1)
    return spans


def _obfuscated_emails(text: str) -> list[Span]:
    spans = []
    for marker in ("at]", "at)", "AT]", "AT)", "arobase"):
        at = text.find(marker)
        while at != -1:
            match = _OBFUSCATED_EMAIL.search(text, max(0, at - 70), min(len(text), at + 256))
            if match is not None and match.start() <= at < match.end():
                spans.append(_make_span((match.start(), match.end(), "EMAIL")))
            at = text.find(marker, at + 1)
    return spans


def _initialled(text: str) -> list[Span]:
    """Initial-and-surname names, not after a word in lower case ("hépatite C. Le patient": a
    letter that ends a phrase), nor "M." (a title), nor after a practitioner's title."""
    spans = []
    for found in _INITIAL_NAME.finditer(text):
        start = found.start() - 1  # the initial, before the period the pattern starts at
        words = text[max(0, start - 30):start].rstrip(" \t").rsplit(None, 1)
        after_lower = bool(words) and words[-1][:1].islower()
        if text[start:start + 2] == "M." or after_lower or _practitioner(text, start):
            continue
        spans.append(_make_span((start, found.end(), "PERSON")))
    return spans


def initialled(text: str, span: Span) -> bool:
    """The name ``span`` is an initial and a surname ("C. Carlizian"): its second character is
    the initial's period (names found otherwise start with a word of two letters or more)."""
    return text[span.start + 1:span.start + 2] == "."


def _given(text: str, hit: lexicon.Match) -> Span | None:
    start, end = hit[0], hit[1]
    if not text[start].isupper():
        return None
    # "BOFFIN Lily": a surname in capitals before the given name is read first, so a capitalised
    # word after it ("Lily Prélever") is not taken for the surname.
    # (the regular expression only when a capital ends the word before)
    before = (_BEFORE_GIVEN.search(text, max(0, start - 48), start)
              if text[max(0, start - 4):start].rstrip(" \t,")[-1:].isupper() else None)
    if before is not None:
        return None if _practitioner(text, before.start()) else _make_span((before.start(), end, "PERSON"))
    after = _AFTER_GIVEN.match(text, end)
    if after is not None:
        return None if _practitioner(text, start) else _make_span((start, after.end(), "PERSON"))
    if " " in text[start:end] and not _practitioner(text, start):
        return _make_span((start, end, "PERSON"))  # "Jean MICHEL": a compound given name's parts, or a name
    return None


def _practitioner(text: str, start: int) -> bool:
    """A practitioner's title stands just before ``start``."""
    before = text[max(0, start - 13):start].rstrip(" \t.")
    if not before.endswith(_PRACTITIONER_TITLES):
        return False
    for title in _PRACTITIONER_TITLES:
        if before.endswith(title):
            return not before[:-len(title)][-1:].isalpha()  # "Dr", not the end of "Pdr"
    return False


def _titled(text: str, hit: lexicon.Match) -> Span | None:
    start, end = hit[0], hit[1]
    written = text[start:end]
    if written == "M":
        if text[end:end + 1] != ".":
            return None
    elif written not in _TITLES:
        return None
    after = _AFTER_TITLE.match(text, end)
    if after is None or _ELIDED_WORD.match(text, after.start("name")):
        return None  # "Monsieur-Madame L'accueillant": an article and a noun, not a name
    return _make_span((after.start("name"), after.end("name"), "PERSON"))


def _date_of_birth(text: str, hit: lexicon.Match) -> Span | None:
    start, end = hit[0], hit[1]
    age = _AGE.fullmatch(text, start, end)
    if age is not None:  # "22/02/1962 (68 ans)": a date of birth when the age, in brackets, fits it
        if text[max(0, start - 2):start].strip()[-1:] != "(" or text[end:end + 2].strip()[:1] != ")":
            return None
        opening = start - 1 if text[start - 1] == "(" else start - 2
        before = _DATE_BEFORE_CUE.search(text, max(0, opening - 24), max(0, opening))
        if before is None:
            return None
        year = _YEAR.search(before.group("date"))
        seen = int(year.group()) + int(age.group(1)) if year is not None else 0
        if not _AGE_SEEN_FROM[0] <= seen <= _AGE_SEEN_FROM[1]:
            return None
        return _make_span((before.start("date"), before.end("date"), "DATE_OF_BIRTH"))
    after = _DATE_AFTER_CUE.match(text, end)
    if after is not None:
        group = "date" if after.group("date") else "year"  # "né en 1940": the year of birth
        return _make_span((after.start(group), after.end(group), "DATE_OF_BIRTH"))
    # "12/03/1980 (DDN)": the cue after the date, within the bracket or the dash that holds it;
    # not the negation "ne" ("au paragraphe 1.5.15 ne sont pas"), which is no "né" after a date.
    if text[start:start + 2] in ("ne", "Ne"):
        return None
    opening = start - 1 if start and text[start - 1] in "(,-\u2013\u2014 \t" else start
    before = _DATE_BEFORE_CUE.search(text, max(0, opening - 24), max(0, opening))
    if before is not None:
        return _make_span((before.start("date"), before.end("date"), "DATE_OF_BIRTH"))
    return None


def _address(text: str, hit: lexicon.Match) -> Span | None:
    start = hit[0]
    if text[start:hit[1]].lower().replace(" ", "-") in ("lieu-dit", "lieudit"):  # a place with no number
        place = _LIEU_DIT.match(text, hit[1])
        if place is not None:
            return _make_span((start, place.end(), "ADDRESS"))
    number = _NUMBER_BEFORE_STREET.search(text, max(0, start - 16), start)
    if number is not None and not _CODE_ARTICLE.match(text, start):
        match = _ADDRESS_FR.match(text, number.start())
        if match is not None:
            return _make_span((match.start(), match.end(), "ADDRESS"))
    if hit[2].category in ("STREET", "STREET_UK"):
        number = _NUMBER_BEFORE_UK_STREET.search(text, max(0, start - 64), start)
        if number is not None:
            match = _ADDRESS_UK.match(text, number.start())
            if match is not None:
                return _make_span((match.start(), match.end(), "ADDRESS"))
    return None


_FINDERS: dict[str, Callable[[str, lexicon.Match], Span | None]] = {
    "GIVEN": _given, "TITLE": _titled, "DOB": _date_of_birth, "STREET": _address, "STREET_UK": _address,
    "NUMBER": _number}


def _resolve(spans: list[Span]) -> list[Span]:
    spans.sort()
    kept: list[Span] = []
    for span in spans:
        if kept:
            if span[0] == kept[-1][0]:
                kept[-1] = span  # same start: sorted by end, so this one is longer
                continue
            if span[0] < kept[-1][1]:
                continue
        kept.append(span)
    return kept


def covering(spans: Sequence[Span], starts: Sequence[int], start: int, end: int) -> Span | None:
    """The span of ``spans`` (sorted, with their ``starts``) that overlaps [start, end)."""
    index = bisect_right(starts, start) - 1
    for candidate in spans[max(index, 0):index + 2]:
        if candidate.start < end and start < candidate.end:
            return candidate
    return None


__all__ = ["OTHER", "PERSONAL", "TYPES", "Span", "covering", "find", "initialled", "luhn_valid", "nir_valid"]
