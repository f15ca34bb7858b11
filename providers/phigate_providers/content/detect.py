"""The detector: health data and identifiers in text, offline, in one pass.

:meth:`Detector.analyse_records` returns spans (types and offsets, never text) for tests and
the benchmark; :meth:`Detector.scan` returns only what sampling reports about one unit (an
object or a row): entity counts, whether it holds health data, and whether a record holding
health data also holds a personal identifier. Records (a CSV row, a JSON element, a paragraph)
are joined and searched once; each is the scope of its own context.

Health words are the vocabulary's (hand-written forms and the terminologies built from the
CIM-10 and the drug database), and words it lacks whose ending names a condition or a procedure
("rhénopathie"). A health word counts unless one of these rules rules it out:

- it is inside a decoy phrase ("assurance maladie", "dépression atlantique", "Sidaction");
- it is an acronym not written in capitals ("ist", "Sida" in "Sidaction" never matches anyway);
- it is a common surname written as one ("M. Gay", "GOUTTE Jean"), or sits inside a detected
  name, address or e-mail ("rue Gay-Lussac"), or a health establishment's name ("Hôpital des
  Enfants Malades"), or is a capitalised word after an article or a preposition, a place's
  name ("la Sèvre"; a medicine's brand stays one);
- it labels a form's field left blank ("Allergies : ____", "Fièvre : ☐ oui ☐ non");
- it is a code ("VIH-1234", "réf. IVG"), or a capitalised label of a phone number in a record
  that points at no one ("Urgences : 01 42 16 00 00", a directory);
- its sentence is about stock, an order, a campaign, an event, the weather or a donation, and
  nothing in that sentence points at a person;
- its record is a statute's ("toute personne", "de l'article", "est tenu de"), which speaks of
  people in general, and identifies no one; or it speaks of kinds of people ("les salariés",
  "aucun enfant", animals) and of no particular person (an age, "je", a name, a NIR, a date of
  birth: "le patient" or "elle a" may be the kind's); or it defines or counts a condition ("est
  une maladie", "de la population") and names no one; or it cites the literature ("et al",
  "ISBN", "2nd edition"), whose names are its authors', and points at no patient;
- it comes right after a case provided for ("en cas de maladie", "en cas d'invalidité") or a
  field of practice or a job ("interne en chirurgie", "référente handicap");
- it is a department ("unité de soins intensifs", "cardiologie") not right after a cue of care
  given to someone ("transférée dans l'", "hospitalisé en"): alone, it heads a directory;
- it is ambiguous on its own ("vaccin", "handicap", "operation"), nothing in its record points
  at a person (a pronoun only in its own sentence), and no treatment cue ("sous", "on") stands
  just before it. A medicine is
  ambiguous only in a price list (a record with an amount of money): a store's records are
  about people, so a medicine named anywhere else counts.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from phigate_providers.content import context, identifiers, lexicon
from phigate_providers.content.identifiers import PERSONAL, Span
from phigate_providers.content.lexicon import (
    ROLE_ANCHOR,
    ROLE_ANCHORING_IDENTIFIER,
    ROLE_ASIDE,
    ROLE_CARE,
    ROLE_CITE,
    ROLE_CODE,
    ROLE_DEFINITION,
    ROLE_ENDING,
    ROLE_GENERIC,
    ROLE_IDENTIFIER,
    ROLE_JUDGE,
    ROLE_KIND,
    ROLE_NORM,
    ROLE_PRONOUN,
    ROLE_TOPIC,
    ROLE_TREAT,
)

HEALTH = "HEALTH"
#: Why a health-looking match was ruled out (kept for the benchmark's attribution).
DECOY_PHRASE = "decoy_phrase"
NAME_OR_ADDRESS = "inside_name_or_address"
CAPITALISED = "capitalised"
PRODUCT_CODE = "product_code"
GENERIC = "generic_mention"
NO_PERSON = "weak_without_person"
NO_CARE = "department_without_care"
DIRECTORY = "labels_a_phone"
KINDS = "kinds_of_people"
DEFINED = "definition_or_count"
FIELD_LABEL = "labels_an_empty_field"
#: Categories of medicine names (hand-written and built from the terminologies).
MEDICINES = frozenset({"MEDICINE", "DRUG_TREATMENT", "DRUG_HIV", "DRUG_ADDICTION", "DRUG_MENTAL_HEALTH"})
#: Words the vocabulary lacks but whose ending names a condition or a procedure
#: (lexicon.MEDICAL_ENDINGS), except everyday words with those endings (folded).
_NOT_MEDICAL = frozenset({"simpathie", "antipathie", "empathie", "telepathie", "apathie", "nostalgie",
                          "dicotomie", "dichotomie", "telescopie", "kaleidoscopie", "stroboscopie"})
_BY_ENDING = lexicon.Entry("CONDITION", "routine")
#: Identifiers that point at one person (a phone, an e-mail or an address may be a service's).
_POINTING = frozenset({"PERSON", "FR_NIR", "DATE_OF_BIRTH"})
#: The negation, written as the birth cue "né" folds.
_NEGATION = frozenset({"ne", "nee", "nes"})
#: Roles of the matches that the identifiers' patterns start from.
_IDENTIFYING = frozenset({ROLE_IDENTIFIER, ROLE_ANCHORING_IDENTIFIER})
#: Roles of the words that point at a person.
_PERSON_WORDS = frozenset({ROLE_ANCHOR, ROLE_TOPIC, ROLE_PRONOUN})
#: Joins records into one text: a line break ends every pattern, a record separator the rest.
SEPARATOR = "\n\x1e\n"


@dataclass(frozen=True, slots=True)
class HealthSpan:
    start: int
    end: int
    category: str
    tier: str


@dataclass(frozen=True, slots=True)
class Ruled:
    """A health-looking match that is not health data, and why."""

    start: int
    end: int
    reason: str


@dataclass
class RecordAnalysis:
    """One record: its identifiers, its health mentions and the matches ruled out."""

    identifiers: list[Span] = field(default_factory=list)
    health: list[HealthSpan] = field(default_factory=list)
    ruled_out: list[Ruled] = field(default_factory=list)

    @property
    def has_health(self) -> bool:
        return bool(self.health)

    @property
    def personal(self) -> bool:
        return any(span.type in PERSONAL for span in self.identifiers)


@dataclass(frozen=True)
class Scan:
    """What one unit (an object, a row) showed: counts and flags only."""

    entities: Counter[str]
    health: bool
    identified: bool
    sensitive: bool

    @classmethod
    def empty(cls) -> Scan:
        return cls(Counter(), False, False, False)


@dataclass
class _Context:
    """Positions of the context words and personal identifiers of one batch."""

    text: str
    folded: str
    #: Record index → its sentence ends (offsets in the batch), cut when first needed.
    sentence_ends: dict[int, list[int]]
    anchors: list[int]
    generic: list[int]
    treatment_ends: list[int]
    code_ends: list[int]
    personal: list[int]
    #: Starts of the personal identifiers other than an initial and a surname (listed when first
    #: needed: only a statute's record asks).
    identifying: list[int] | None = None
    #: Whether the batch holds a web address at all ("://" or "www."): most hold none.
    web_addresses: bool = True
    #: Whether the batch holds a backquote, without which no word is inside a code span.
    code_spans: bool = True
    #: Whether the batch holds a degree sign, without which no item is numbered as in a statute.
    degree_signs: bool = True
    #: Starts of statute and reference cues ("toute personne", "de l'article", "et al").
    norms: list[int] = field(default_factory=list)
    #: Ends of cues of care given to someone ("hospitalisée dans le", "transféré en").
    care_ends: list[int] = field(default_factory=list)
    #: Ends of cues after which a health word is not a person's health: a case provided for
    #: ("en cas de maladie"), a field of practice or a job ("interne en chirurgie", "référente
    #: handicap").
    aside_ends: list[int] = field(default_factory=list)
    #: Starts of citation cues ("et al", "ISBN", "2nd edition"): the record cites the literature.
    citations: list[int] = field(default_factory=list)
    #: Starts of the words among ``anchors`` (not titles, which an author list's initials mimic).
    word_anchors: list[int] = field(default_factory=list)
    #: Starts of the anchors that point at one particular person (an age, "je", "vu ce jour"),
    #: not at a kind of person as "patient", "elle a" or "antécédents" may; a title and a
    #: birth-date cue are a form's labels as well, their name or date points at the person.
    particular: list[int] = field(default_factory=list)
    #: Starts of the words naming kinds of people ("les salariés", "aucun enfant").
    kinds: list[int] = field(default_factory=list)
    #: Starts of the people and clinical framing words among ``anchors`` ("patiente",
    #: "antécédents"; not the pronouns).
    topics: list[int] = field(default_factory=list)
    #: Starts of the wording of definitions and counts of conditions ("est une maladie").
    definitions: list[int] = field(default_factory=list)
    #: Starts of the third-person pronouns among ``anchors`` ("elle a", "il est"): a thing's as
    #: often as a person's, so they make a record about someone only in the word's sentence.
    pronouns: list[int] = field(default_factory=list)
    #: Record index → why the whole record is about no one (a rule, kinds of people, a
    #: definition, a citation), or None (computed when first asked).
    about_no_one: dict[int, str | None] = field(default_factory=dict)
    identifiers: list[Span] = field(default_factory=list)
    identifier_starts: list[int] = field(default_factory=list)
    #: Record index → whether something in it points at a person (computed when first asked).
    anchored_records: dict[int, bool] = field(default_factory=dict)
    #: Record index → whether it numbers its items as a statute does or lists a scale's rates
    #: (computed when first asked).
    itemised_records: dict[int, bool] = field(default_factory=dict)

    def any_between(self, positions: list[int], begin: int, stop: int) -> bool:
        index = bisect_left(positions, begin)
        return index < len(positions) and positions[index] < stop

    def anchored(self, begin: int, stop: int) -> bool:
        return self.any_between(self.anchors, begin, stop) or self.any_between(self.personal, begin, stop)

    def points_at_someone(self, begin: int, stop: int) -> bool:
        """A word about a person, a title, a name, a NIR or a date of birth lies in [begin, stop):
        phone numbers, e-mails and addresses alone may be a service's."""
        if self.any_between(self.anchors, begin, stop):
            return True
        index = bisect_left(self.identifier_starts, begin)
        while index < len(self.identifiers) and self.identifiers[index].start < stop:
            if self.identifiers[index].type in _POINTING:
                return True
            index += 1
        return False

    def sentence_of(self, index: int, record: tuple[int, int], start: int, end: int) -> tuple[int, int]:
        """Bounds of the sentence around [start, end) in record ``index`` (its sentences are cut
        when first asked)."""
        ends = self.sentence_ends.get(index)
        if ends is None:  # only the records that need it are cut
            ends = [record[0] + cut for cut in context.sentence_ends(self.text[record[0]:record[1]])]
            self.sentence_ends[index] = ends
        begin, stop = context.sentence(ends, record[1], start, end)
        return max(begin, record[0]), min(stop, record[1])

    def anchored_beyond_pronouns(self, begin: int, stop: int) -> bool:
        """:meth:`anchored`, a third-person pronoun left aside."""
        if self.any_between(self.personal, begin, stop):
            return True
        anchors = bisect_left(self.anchors, stop) - bisect_left(self.anchors, begin)
        return anchors > bisect_left(self.pronouns, stop) - bisect_left(self.pronouns, begin)

    def about_a_particular_person(self, begin: int, stop: int) -> bool:
        """[begin, stop) points at one particular person: an age, a first-person statement, a
        consultation of the day, a name (not an initial), a NIR or a date of birth. A phone, an
        e-mail or an address may be a service's, as a notice gives its own."""
        if self.any_between(self.particular, begin, stop):
            return True
        index = bisect_left(self.identifier_starts, begin)
        while index < len(self.identifiers) and self.identifiers[index].start < stop:
            span = self.identifiers[index]
            if span.type in _POINTING and not (
                    span.type == "PERSON" and identifiers.initialled(self.text, span)):
                return True
            index += 1
        return False

    def identifies_someone(self, begin: int, stop: int) -> bool:
        """A personal identifier other than an initial and a surname lies in [begin, stop): a
        statute's outline reads like initials ("I. PRINCIPAUX", "A. Séquellaires")."""
        if self.identifying is None:  # a phone, an e-mail or an address may be a body's a rule names
            self.identifying = [span.start for span in self.identifiers if span.type in _POINTING
                                and not (span.type == "PERSON" and identifiers.initialled(self.text, span))]
        return self.any_between(self.identifying, begin, stop)

    def rule(self, index: int, begin: int, stop: int) -> bool:
        """The record is a statute's or a reference's: a cue ("toute personne", "par décret"),
        items numbered 1°, 2°…, or the ranges of rates of a scale ("10 à 20", "30 à 50")."""
        if self.any_between(self.norms, begin, stop):
            return True
        known = self.itemised_records.get(index)
        if known is None:
            known = self.itemised_records[index] = (
                (self.degree_signs and context.itemised(self.text, begin, stop))
                or context.rate_table(self.text, begin, stop))
        return known

    def labels_a_phone(self, end: int) -> bool:
        """The next identifier after ``end`` is a phone number that this word labels, as in a
        directory ("Urgences : 01 42 16 00 00")."""
        index = bisect_left(self.identifier_starts, end)
        if index == len(self.identifiers) or self.identifiers[index].type != "PHONE":
            return False
        following = self.identifiers[index].start
        return following - end <= 30 and context.PHONE_LABEL.match(self.text, end, following) is not None

    def just_before(self, ends: list[int], start: int) -> bool:
        """A word of ``ends`` ends at most a few blanks before ``start``."""
        index = bisect_right(ends, start) - 1
        return index >= 0 and start - ends[index] <= 4 and not self.folded[ends[index]:start].strip()


@dataclass
class _Batch:
    """One pass over joined records: identifiers and judged health matches, in batch offsets."""

    starts: list[int]
    lengths: list[int]
    identifiers: list[Span]
    health: list[lexicon.Match]
    ruled_out: list[Ruled]

    def record(self, offset: int) -> int:
        return bisect_right(self.starts, offset) - 1


class Detector:
    """Finds health data and identifiers. Stateless once built; safe to share between threads."""

    def __init__(self, vocabulary: lexicon.Lexicon | None = None) -> None:
        self.lexicon = vocabulary or lexicon.bundled()

    def analyse(self, text: str) -> RecordAnalysis:
        return self.analyse_records([text])[0]

    def analyse_records(self, records: Sequence[str]) -> list[RecordAnalysis]:
        """Each record analysed on its own (offsets relative to the record)."""
        batch = self._run(records)
        results = [RecordAnalysis() for _ in records]
        for span in batch.identifiers:
            index = batch.record(span.start)
            offset = batch.starts[index]
            results[index].identifiers.append(Span(span.start - offset, span.end - offset, span.type))
        for start, end, entry in batch.health:
            index = batch.record(start)
            offset = batch.starts[index]
            results[index].health.append(HealthSpan(start - offset, end - offset, entry.category, entry.tier))
        for ruled in batch.ruled_out:
            index = batch.record(ruled.start)
            offset = batch.starts[index]
            results[index].ruled_out.append(Ruled(ruled.start - offset, ruled.end - offset, ruled.reason))
        return results

    def scan(self, records: Sequence[str]) -> Scan:
        """What sampling reports about one unit made of ``records``: entity counts, health data,
        health data beside a personal identifier in the same record, high-tier health data."""
        return self.scan_units([records])[0]

    def scan_units(self, units: Sequence[Sequence[str]]) -> list[Scan]:
        """:meth:`scan` of each unit (rows of a table, say), all searched in one pass."""
        records = [record for unit in units for record in unit]
        batch = self._run(records)
        unit_of_record = [number for number, unit in enumerate(units) for _ in unit]
        health_records: dict[int, bool] = {}
        sensitive = [False] * len(units)
        if len(units) == 1:  # one object of many records, as sampling scans: counted in C
            entities = [Counter([span.type for span in batch.identifiers])]
            if batch.health:
                entities[0][HEALTH] = len(batch.health)
                sensitive[0] = any(entry.tier == "high" for _, _, entry in batch.health)
                holding = [batch.record(start) for start, _, _ in batch.health]
                health_records = dict.fromkeys(holding, False)
        else:
            entities = [Counter() for _ in units]
            for span in batch.identifiers:
                entities[unit_of_record[batch.record(span.start)]][span.type] += 1
            for start, _, entry in batch.health:
                index = batch.record(start)
                owner = unit_of_record[index]
                entities[owner][HEALTH] += 1
                sensitive[owner] = sensitive[owner] or entry.tier == "high"
                health_records.setdefault(index, False)
        personal_starts = [span.start for span in batch.identifiers if span.type in PERSONAL]
        for index in health_records:
            begin = batch.starts[index]
            first = bisect_left(personal_starts, begin)
            health_records[index] = (first < len(personal_starts)
                                     and personal_starts[first] < begin + batch.lengths[index])
        health = [False] * len(units)
        identified = [False] * len(units)
        for index, personal in health_records.items():
            owner = unit_of_record[index]
            health[owner] = True
            identified[owner] = identified[owner] or personal
        return [Scan(entities[u], health[u], identified[u], sensitive[u]) for u in range(len(units))]

    def _run(self, records: Sequence[str]) -> _Batch:
        text = SEPARATOR.join(records)
        starts: list[int] = []
        lengths = [len(record) for record in records]
        position = 0
        for length in lengths:
            starts.append(position)
            position += length + len(SEPARATOR)
        folded = lexicon.fold(text)
        ctx = _Context(text, folded, {}, anchors=[], generic=[], treatment_ends=[], code_ends=[],
                       personal=[], web_addresses="://" in text or "www." in text,
                       degree_signs="°" in text, code_spans="`" in text)
        judged, identifier_hits = self._collect(ctx, self.lexicon.find_grouped(folded))
        found = identifiers.find(text, identifier_hits)
        ctx.personal = [span.start for span in found if span.type in PERSONAL]
        ctx.identifiers, ctx.identifier_starts = found, [span.start for span in found]
        batch = _Batch(starts, lengths, found, [], [])
        for hit in judged:
            index = bisect_right(starts, hit[0]) - 1  # the record holding the match
            verdict = self._judge(ctx, hit, index, (starts[index], starts[index] + lengths[index]))
            if verdict is None:
                batch.health.append(hit)
            elif verdict:
                batch.ruled_out.append(Ruled(hit[0], hit[1], verdict))
        return batch

    @staticmethod
    def _collect(ctx: _Context, matches: list[tuple[int, int, tuple[lexicon.Entry, ...]]]
                 ) -> tuple[list[lexicon.Match], list[lexicon.Match]]:
        """Sorts the vocabulary's matches (:meth:`lexicon.Lexicon.find_grouped`) by role:
        health-looking matches to judge and identifier hits are returned; context words are kept
        in ``ctx``."""
        judged: list[lexicon.Match] = []
        identifier_hits: list[lexicon.Match] = []
        cues: list[int] = []  # titles and birth-date cues: anchors, not particular
        by_start = {ROLE_ANCHOR: ctx.particular, ROLE_TOPIC: ctx.topics, ROLE_PRONOUN: ctx.pronouns,
                    ROLE_GENERIC: ctx.generic, ROLE_NORM: ctx.norms, ROLE_CITE: ctx.citations,
                    ROLE_KIND: ctx.kinds, ROLE_DEFINITION: ctx.definitions, ROLE_ANCHORING_IDENTIFIER: cues}
        by_end = {ROLE_TREAT: ctx.treatment_ends, ROLE_CARE: ctx.care_ends, ROLE_ASIDE: ctx.aside_ends}
        for start, end, entries in matches:
            for entry in entries:
                role = entry.role
                if role == ROLE_JUDGE:
                    judged.append((start, end, entry))
                    continue
                if role in _IDENTIFYING:  # titles and birth-date cues point at a person as well
                    identifier_hits.append((start, end, entry))
                if role in by_start:
                    # "né" folds as the negation "ne" does: written without its accent, it is one
                    if role == ROLE_ANCHORING_IDENTIFIER and end - start <= 3 and (
                            ctx.text[start:end].lower() in _NEGATION):
                        continue
                    by_start[role].append(start)
                    if role in _PERSON_WORDS and end - start >= 3:  # not an initial read as "j'"
                        ctx.word_anchors.append(start)
                elif role in by_end:
                    by_end[role].append(end)
                elif role == ROLE_CODE:
                    ctx.generic.append(start)
                    ctx.code_ends.append(end)
                elif role == ROLE_ENDING:  # a word the vocabulary lacks, with a medical ending
                    first = ctx.folded.rfind(" ", 0, start) + 1
                    if end - first >= 7 and ctx.folded[first:end].rstrip("s") not in _NOT_MEDICAL:
                        judged.append((first, end, _BY_ENDING))
        # every word or cue that points at a person, in order (sorting sorted runs is linear)
        ctx.anchors = sorted(ctx.particular + ctx.topics + ctx.pronouns + cues)
        return judged, identifier_hits

    @staticmethod
    def _in_a_name(ctx: _Context, start: int, end: int, written: str, medicine: bool) -> bool:
        """The match sits inside a detected name, address or e-mail, a web address or a code span
        (a literal value), or is a capitalised word of a health establishment's name ("Hôpital des
        Enfants Malades"), of a commune's after its postcode, or a proper noun ("la Sèvre")."""
        inside = identifiers.covering(ctx.identifiers, ctx.identifier_starts, start, end)
        if inside is not None and inside.type in ("PERSON", "ADDRESS", "EMAIL"):
            return True
        if ctx.web_addresses and context.in_web_address(ctx.text, start):
            return True
        if ctx.code_spans and context.in_code_span(ctx.text, start, end):
            return True
        if not written[:1].isupper():
            return False
        if not medicine and context.proper_noun(ctx.text, start, end):  # a brand is one ("le Doliprane")
            return True
        if context.may_continue_a_name(ctx.text, ctx.folded, start) and context.ESTABLISHMENT_BEFORE.search(
                ctx.text, max(0, start - 60), start) is not None:
            return True
        # a postcode folds to "00000": only then is the commune's pattern tried
        return ctx.folded.find("00000", max(0, start - 48), start) >= 0 and context.COMMUNE_BEFORE.search(
            ctx.text, max(0, start - 48), start) is not None

    @staticmethod
    def _judge(ctx: _Context, hit: lexicon.Match, index: int, record: tuple[int, int]) -> str | None:
        """None when the match is health data; else why not ("" when it is simply not the word,
        as an acronym's letters in lower case are not the acronym)."""
        start, end, entry = hit
        if entry.decoy:
            return DECOY_PHRASE
        written = ctx.text[start:end]
        if entry.cased and sum(map(str.isupper, written)) < 2:
            return ""
        if entry.lower and not written.islower():
            return CAPITALISED
        if Detector._in_a_name(ctx, start, end, written, entry.category in MEDICINES):
            return NAME_OR_ADDRESS
        if entry.cased and (context.CODE_AFTER.match(ctx.text, end) or ctx.just_before(ctx.code_ends, start)):
            return PRODUCT_CODE
        # "en cas de maladie", "interne en chirurgie": nobody's health
        if ctx.aside_ends and ctx.just_before(ctx.aside_ends, start):
            return GENERIC
        # A form's label before blanks or boxes ("Diabète : ____", "Fièvre ☐ oui ☐ non") names a field.
        if context.empty_field(ctx.text, end):
            return FIELD_LABEL
        # A directory's labels are capitalised ("Urgences : 01…"); "diabète - 06…" is a note's.
        if written[:1].isupper() and ctx.labels_a_phone(end) and not ctx.points_at_someone(*record):
            return DIRECTORY
        if ctx.any_between(ctx.generic, *record):  # sentences are cut only where it matters
            begin, stop = ctx.sentence_of(index, record, start, end)
            if ctx.any_between(ctx.generic, begin, stop) and not ctx.anchored(begin, stop):
                return GENERIC
        if index not in ctx.about_no_one:  # a verdict on the whole record: reached once
            ctx.about_no_one[index] = Detector._about_no_one(ctx, index, record)
        return ctx.about_no_one[index] or Detector._without_its_cue(ctx, entry, start, index, record)

    @staticmethod
    def _about_no_one(ctx: _Context, index: int, record: tuple[int, int]) -> str | None:
        """Why the whole record speaks of no one's health (a statute, a guide, a citation), or None."""
        # A statute or a reference speaks of people in general ("toute personne", "la mère"):
        # its record is generic unless someone is identified in it. An initial and a capitalised
        # word alone identify no one there: a statute's outline reads the same ("I. PRINCIPAUX",
        # "A. Séquellaires", "V. Nerf").
        if ctx.rule(index, *record) and not ctx.identifies_someone(*record):
            return GENERIC
        # Kinds of people ("les salariés", "aucun enfant") and no particular person: a rule's, a
        # guide's or an instruction's record, whose "l'enfant" or "le patient" is the kind's.
        if ctx.kinds and ctx.any_between(ctx.kinds, *record) and not ctx.about_a_particular_person(*record):
            return KINDS
        # A definition or a count of a condition ("est une maladie", "touche 5 % de la
        # population") with no one in its record but what a pronoun may stand for: an
        # encyclopaedia's or a leaflet's.
        if (ctx.definitions and ctx.any_between(ctx.definitions, *record)
                and not ctx.any_between(ctx.topics, *record) and not ctx.about_a_particular_person(*record)):
            return DEFINED
        # A citation names its authors, not patients: generic unless a patient is pointed at.
        if ctx.any_between(ctx.citations, *record) and not ctx.any_between(ctx.word_anchors, *record):
            return GENERIC
        return None

    @staticmethod
    def _without_its_cue(ctx: _Context, entry: lexicon.Entry, start: int, index: int,
                         record: tuple[int, int]) -> str | None:
        """Why a department or an ambiguous word lacks what makes it health data, or None."""
        if entry.cued and not ctx.just_before(ctx.care_ends, start):
            return NO_CARE
        if entry.weak and not ctx.just_before(ctx.treatment_ends, start):
            if index not in ctx.anchored_records:
                ctx.anchored_records[index] = ctx.anchored_beyond_pronouns(*record)
            # A store's records are about people: a medicine named in one counts, unless the
            # record is a price list; other ambiguous words ("operation") need a person, which a
            # pronoun points at only in the word's own sentence ("elle a de la fièvre", not
            # "Dans ce cadre, il : … une opération").
            if (not ctx.anchored_records[index]
                    and (entry.category not in MEDICINES or context.PRICE.search(ctx.text, *record))
                    and not (ctx.pronouns and ctx.any_between(
                        ctx.pronouns, *ctx.sentence_of(index, record, start, start + 1)))):
                return NO_PERSON
        return None


__all__ = ["HEALTH", "SEPARATOR", "Detector", "HealthSpan", "RecordAnalysis", "Ruled", "Scan"]
