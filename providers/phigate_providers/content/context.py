"""Context: the sentence around a health word, and what makes an acronym a product code.

The context *words* (anchors that point at a person, generic cues such as "stock" or
"campagne", treatment cues such as "sous") live in ``data/context.txt`` and are found in the
vocabulary's single pass; :mod:`.detect` applies the rules. This module only cuts sentences on
the original text and recognises codes.
"""

from __future__ import annotations

import itertools
import re
from bisect import bisect_left

#: "VIH-1234", "HTA220", "IST/2": a digit right after an acronym makes it a code.
CODE_AFTER = re.compile(r"[\-_/]?\d")
#: Sentence ends: line breaks, and ".", "!", "?", ";" before a blank, but not the period of an
#: initial ("M. Dupont", "J. Martin").
_SENTENCE_END = re.compile(r"[.!?;\n](?:(?<=\n)|(?=\s|$)(?<!\b[A-Z]\.))")
#: An amount of money: a record that holds one and names nobody is a price list or an order.
PRICE = re.compile(r"\d(?:[.,]\d\d)?[ \u00a0]?(?:€|EUR\b|euros?\b|£|GBP\b)|[€£][ ]?\d|\$[ ]?\d")
#: A health establishment's or a unit's name before a capitalised word: that word is part of the
#: name ("Hôpital des Enfants Malades", "Clinique de la Migraine", "Centre de la Douleur",
#: "Unité VIH"), not a condition.
ESTABLISHMENT_BEFORE = re.compile(
    r"(?:\b(?i:h[ôo]pital|clinique|institut|fondation|polyclinique|centre hospitalier|groupe hospitalier"
    r"|centre|unit[ée]|p[ôo]le|service|d[ée]partement|laboratoire|[ée]quipe mobile"
    r"|secr[ée]tariat|cabinet|maison|r[ée]sidence|association|f[ée]d[ée]ration|r[ée]seau"
    r"|soci[ée]t[ée]|coll[èe]ge|facult[ée]|universit[ée])"
    r"|\b(?:EHPAD|CHU|CHR|CH|GH))"
    r"(?:[ \t\-]+(?:de|du|des|la|le|et|&|l['\u2019]|d['\u2019]|\([A-Z][A-Z0-9\-]+\)"
    r"|[A-ZÀ-ÖØ-Þ][\w'\u2019]*))*"
    r"[ \t\-]+$")
#: The words after which :data:`ESTABLISHMENT_BEFORE` may go on (folded): its particles and
#: the last word of each of its names written in lower case. A capitalised word may go on too.
_NAME_LINKS = frozenset({
    "de", "du", "des", "la", "le", "et", "hopital", "clinique", "institut", "fondation", "polyclinique",
    "hospitalier", "centre", "unite", "pole", "service", "departement", "laboratoire", "mobile",
    "secretariat", "cabinet", "maison", "residence", "association", "federation", "reseau", "societe",
    "college", "faculte", "universite"})


def may_continue_a_name(text: str, folded: str, start: int) -> bool:
    """Whether :data:`ESTABLISHMENT_BEFORE` can match just before ``start``: the word before it
    (past blanks and hyphens) is capitalised, a particle, an establishment's word, an elided
    article or a bracket. Most health words follow something else (a period, a word in lower
    case), and this test spares them a regular-expression search of the 60 characters before."""
    end = start
    while end > 0 and text[end - 1] in " \t-":
        end -= 1
    if end in (start, 0):
        return False
    last = text[end - 1]
    if not last.isalpha():
        return last in ")&'\u2019"
    begin = end - 1
    while begin > 0 and text[begin - 1].isalpha():
        begin -= 1
    return text[begin].isupper() or folded[begin:end] in _NAME_LINKS


#: Articles and prepositions after which a capitalised word, written in lower case past its
#: first letter, is a proper noun: a river, a town, a street ("la Sèvre", "à Gay", "de la
#: Chute"), not a condition ("une HTA", "sous Kardegic" and a sentence's first word are left).
_PLACE_BEFORE = frozenset({"la", "le", "les", "de", "du", "des", "à", "au", "aux", "en", "sur", "vers", "l'",
                           "d'", "l\u2019", "d\u2019"})


def proper_noun(text: str, start: int, end: int) -> bool:
    """The word at [start, end) is capitalised, not an acronym, and follows an article or a
    preposition written in lower case on its line: a place's or a body's name."""
    written = text[start:end]
    if not written[:1].isupper() or written.isupper() or not written[1:2].islower():
        return False
    before = start
    while before > 0 and text[before - 1] in " \t":
        before -= 1
    first = before
    while first > 0 and (text[first - 1].isalpha() or text[first - 1] in "'\u2019"):
        first -= 1
    word = text[first:before]
    if before == start and not word.endswith(("'", "\u2019")):  # no blank: not a word before it
        return False
    return word in _PLACE_BEFORE


#: A French postcode and the commune after it, up to the word at the end ("94270 Le
#: Kremlin-Bicêtre", "75679 PARIS CEDEX 14"): a capitalised word there names a place.
COMMUNE_BEFORE = re.compile(r"(?<!\d)\d{5}(?:[ \t]+|[ \t]*-[ \t]*)(?:[A-ZÀ-ÖØ-Þ][\w'\u2019]*[ \t\-]+){0,4}$")
#: What lies between a directory's label and its phone number ("Urgences : 01…", "Urgences
#: pédiatriques : 01…", "CMP (secteur 12) - 01…"): a health word labelling a phone names a
#: service, not a condition.
PHONE_LABEL = re.compile(r"(?:[ \t]+[a-zà-öø-ÿ][\w'\u2019\-]*){0,2}"
                         r"[ \t]*(?:\([^()\n]{0,20}\))?[ \t]*[:\-\u2013\u2014][ \t]*$")
#: A numbered item of a statute ("suivantes : 1° Lorsqu'elle… ; 2° Les…"): a small number and
#: its degree sign at an item's start, before the function word that opens a clause of law. A
#: record holding items 1° and 2° is a rule's. A list of conditions ("Antécédents : 1° Diabète ;
#: 2° HTA") opens its items with the conditions; a temperature ("T : 38° C") or an angle
#: ("flexion : 90°") is larger, or not followed by such a word.
STATUTE_ITEM = re.compile(
    r"(?m)(?:^|[;:.])[ \t]*([1-9]|[12]\d)°[ \t]*"
    r"(?:De|Du|Des|D'|D\u2019|Le|La|Les|L'|L\u2019|Lorsqu|Si|S'|S\u2019|Au|Aux|A|À|En|Pour|Un|Une|Dans"
    r"|Sur|Par|Ceux|Celui|Celles?|Quand|Sauf|Soit|Toute?s?|Aucun|Aucune|Ne|N'|N\u2019)\b")
#: What follows a form's label whose value is not filled in: blanks to write on ("____",
#: "....."), boxes to tick ("[ ]", "☐ oui ☐ non", "oui / non") or a template's placeholder.
#: "Diabète : ______" labels a field; "Diabète : non" states something of someone.
FIELD_PLACEHOLDER = re.compile(
    r"[ \t]*(?:\([^()\n]{0,30}\))?[ \t]*[:?]?[ \t]*"
    r"(?:_{2,}|\.{4,}|…|\[[ \t]*\]|[☐□]|(?i:oui)[ \t]*/[ \t]*(?i:non)\b|(?i:\(texte libre\)|<[a-z ]{1,20}>))")
#: The first characters :data:`FIELD_PLACEHOLDER` may find past blanks and a colon: most
#: health words are followed by a word, and spared the search.
_PLACEHOLDER_STARTS = frozenset("_.…[☐□oO(<")
#: A ticked box or an answer circled: a form filled in ("Fièvre : ☐ oui ☒ non").
_TICKED = re.compile(r"[☒☑✓✔✗✘]|\[[ \t]*[xX✓][ \t]*\]")


def empty_field(text: str, end: int) -> bool:
    """The word ending at ``end`` labels a form's field left blank: :data:`FIELD_PLACEHOLDER`
    follows it and no box on the rest of its line is ticked."""
    head = text[end:end + 8].lstrip(" \t:?")
    if not head or head[0] not in _PLACEHOLDER_STARTS or FIELD_PLACEHOLDER.match(text, end) is None:
        return False
    line_end = text.find("\n", end)
    return _TICKED.search(text, end, len(text) if line_end < 0 else line_end) is None


#: What a web address is made of after its scheme or "www.", up to a word in it.
_WEB_ADDRESS_PART = re.compile(r"[^\s<>()\[\]\"'`]*")
#: How far a sentence reaches at most, each side of the word.
WINDOW = 160


#: A range of rates with no unit after it ("Hydronéphrose bien tolérée 10 à 20 -"), as a
#: disability scale or a tariff lists them by the dozen; a dose ("1 à 2 comprimés", "5 à 10 mg")
#: or a duration is followed by its unit.
_RATE_RANGE = re.compile(
    r"(?<![\d,.])\d{1,3}[ \t]+à[ \t]+\d{1,3}(?![\d,.])"
    r"(?![ \t]*(?:%|[a-zA-Zµ/]|p\.|\())")
#: How many such ranges make a record a scale: a note may give one or two.
RATE_RANGES = 3


def rate_table(text: str, begin: int, stop: int) -> bool:
    """``text[begin:stop]`` lists rates as a scale does: :data:`RATE_RANGES` ranges at least."""
    if text.find(" à ", begin, stop) < 0:
        return False
    ranges = _RATE_RANGE.finditer(text, begin, stop)
    return next(itertools.islice(ranges, RATE_RANGES - 1, None), None) is not None


def itemised(text: str, begin: int, stop: int) -> bool:
    """``text[begin:stop]`` numbers its items as a statute does (1°, 2°…)."""
    if text.find("°", begin, stop) < 0:  # most records: no search at all
        return False
    numbers = {found.group(1) for found in STATUTE_ITEM.finditer(text, begin, stop)}
    return "1" in numbers and "2" in numbers


def in_web_address(text: str, start: int) -> bool:
    """The word at ``start`` is part of a web address ("https://esante.gouv.fr/domaine-urgences"):
    a health word in a page's address names the page, not anyone's health."""
    low = max(0, start - 120)
    for mark in ("://", "www."):
        found = text.rfind(mark, low, start)
        if found >= 0 and _WEB_ADDRESS_PART.fullmatch(text, found, start):
            return True
    return False


def in_code_span(text: str, start: int, end: int) -> bool:
    """[start, end) lies inside a code span of its line (`` `Consultation de suivi` ``): a
    literal value a specification or a message names, not prose about anyone."""
    line_start = text.rfind("\n", 0, start) + 1
    opened = text.count("`", line_start, start)
    if opened % 2 == 0:
        return False
    line_end = text.find("\n", end)
    return text.find("`", end, len(text) if line_end < 0 else line_end) >= 0


def sentence_ends(text: str) -> list[int]:
    """Offsets of every sentence end in ``text`` (the punctuation's own offset), in order."""
    return [found.start() for found in _SENTENCE_END.finditer(text)]


def sentence(ends: list[int], size: int, start: int, end: int) -> tuple[int, int]:
    """Bounds of the sentence around [start, end), given :func:`sentence_ends`; at most
    :data:`WINDOW` characters each side."""
    index = bisect_left(ends, start)
    begin = ends[index - 1] + 1 if index else 0
    after = bisect_left(ends, end)
    stop = ends[after] if after < len(ends) else size
    return max(begin, start - WINDOW), min(stop, end + WINDOW)


__all__ = ["CODE_AFTER", "COMMUNE_BEFORE", "ESTABLISHMENT_BEFORE", "FIELD_PLACEHOLDER", "PHONE_LABEL",
           "PRICE", "RATE_RANGES", "STATUTE_ITEM", "WINDOW", "empty_field", "in_code_span",
           "in_web_address", "itemised", "may_continue_a_name", "proper_noun", "rate_table", "sentence",
           "sentence_ends"]
