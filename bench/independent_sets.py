#!/usr/bin/env python3
"""Builds the independent French sets of the content detectors from public texts written by
others (see ``tests/data/content/independent/README.md`` for the sources and their licences).

    python bench/independent_sets.py --eds-pseudo EDS_PSEUDO_CHECKOUT --edsnlp EDSNLP_CHECKOUT \
        --medkit MEDKIT_CHECKOUT --code-civil CODE_CIVIL_CHECKOUT

    python bench/independent_sets.py ... --ig-fhir-dm IG_FHIR_DM_CHECKOUT    # also dev3 / test3
    python bench/independent_sets.py ... --codes CODES_CHECKOUT              # also dev4 / test4
    python bench/independent_sets.py ... --ans-cda CDA_CHECKOUT --ans-cda-out DIR  # dev5 / test5 in DIR
    python bench/independent_sets.py ... --ans-ig GUIDE_CHECKOUT --ans-ig ...      # also dev6 / test6

(git checkouts of aphp/eds-pseudo, aphp/edsnlp, TeamHeka/medkit, steeve/france.code-civil,
aphp/IG-fhir-dm, the last with its history, and etalab/codes-juridiques-francais.)

- AP-HP's eds-pseudo ``data/templates.txt`` (BSD-3-Clause): template lines of clinical documents
  whose identifiers its authors annotated. Each template goes, by a hash of its text, to the
  **dev** half (rules may be tuned on it) or the **test** half (reported, never tuned on).
  Names after a practitioner's title are marked ``PRACTITIONER``: the detectors do not count a
  practitioner as the data subject, so they are left out of the score.
- edsnlp's tests and documentation (BSD-3-Clause): the French sentences its authors wrote to test
  clinical NLP, in the **test** set.
- medkit's example and test documents (HeKA, MIT): French clinical notes and case reports, one
  record a paragraph, split by hash between **dev2** and **test2**.
- the French Code civil (official text, free of copyright; the steeve/france.code-civil
  repository keeps it one article a file): administrative text about people in general, every
  article that uses a health word and one in twenty of the others, split by hash between
  **dev2** and **test2**. No article names a person: all are ``admin``. With ``--civil-others
  DIR``, the other articles (about 2,400, 0.8 MB, kept out of the repository) are written to DIR,
  split by hash into a dev and a test half: administrative text nobody tuned on.
- AP-HP's implementation guide for a health data platform (aphp/IG-fhir-dm, CC0): its French
  documentation (data warehouses, patients' records, prescriptions and diagnoses as kinds of
  data: administrative text full of health words), one record a paragraph split by hash, and
  the eleven clinical stories of invented patients its authors wrote as examples, one record a
  paragraph, each story wholly in **dev3** or **test3** (by a hash of its name) so that no
  patient's wording is on both sides.
- ten other French codes (etalab/codes-juridiques-francais, one article a file; official text,
  free of copyright): labour, social action, social security, insurance, mutual insurance,
  military disability pensions, sport, education, penal law and public health. Every article
  that uses a health word is administrative text about kinds of people and diseases as legal
  categories (``admin``), split by hash between **dev4** and **test4**; one in six (by hash, of
  3,000 characters at most) is kept in the repository, ``--codes-all DIR`` writes them all.
- the example CDA documents of the French health interoperability agency (ANS,
  ansforge/TestContenuCDA-3-0): French clinical documents of every kind the agency specifies
  (discharge letters, reports, prescriptions, birth and child health certificates, insurance
  history), one record a section (its title and text), each kind of document wholly in **dev5**
  or **test5**. Their publisher states no licence, so the records are written to ``--ans-cda-out
  DIR``, outside the repository; only their labels are kept in it.
- the French pages of five of ANS's implementation guides (ansforge, MIT: shared appointment books,
  the out-of-hours care access service, care teams, documents sent by secure e-mail, notifications
  of admission and discharge): administrative text about appointments, patients and documents,
  one record a paragraph that speaks of care, patients or appointments, split by hash between
  **dev6** and **test6**.

Whether a text holds health data about a person (``clinical``), none (``admin``) or is left
unjudged (``unlabelled``: too ambiguous to score) was decided by reading each text once, before
any scoring, and is kept by hash of the text in ``labels.tsv``; the texts themselves are written
to ``dev.txt`` and ``test.txt`` in the benchmark's marked format.
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import html
import re
import subprocess
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from xml.etree import ElementTree

OUT = Path(__file__).resolve().parent.parent / "tests/data/content/independent"
#: eds-pseudo's labels → the detectors' identifier types (others, such as DATE, IPP, NDA or
#: HOPITAL, are not a person's direct identifiers here and stay unmarked).
_TYPES = {"NOM": "PERSON", "PRENOM": "PERSON", "DATE_NAISSANCE": "DATE_OF_BIRTH", "TEL": "PHONE",
          "MAIL": "EMAIL", "ADRESSE": "ADDRESS", "ADDRESSE": "ADDRESS", "ZIP": "ADDRESS", "SECU": "FR_NIR"}
_ANNOTATION = re.compile(r"\[([^\]]+)\]\((\w+)\)")
_PRACTITIONER = re.compile(r"(?:\bDr|\bDre|\bDocteur|\bPr|\bProfesseur|\bPrs?)\.?\s*$")
_MD_TEXT = re.compile(r'(?:text|txt)\s*=\s*\(?\s*((?:\s*[fr]?"[^"\n]*"\s*)+)')
_FRENCH = re.compile(r"\b(?:le|la|les|des|du|une|est|pour|avec)\b")


def key(text: str) -> str:
    """The label key of a text: a hash of its words, blanks normalised."""
    return hashlib.sha256(re.sub(r"\s+", " ", text).strip().encode()).hexdigest()[:12]


def _git_show(checkout: Path, path: str) -> str:
    return subprocess.run(["git", "-C", str(checkout), "show", f"HEAD:{path}"], check=True,
                          capture_output=True, text=True).stdout


def templates(checkout: Path) -> Iterator[tuple[str, str, str]]:
    """(key, half, marked text) of each eds-pseudo template (blank-line separated; its lines
    joined with " / ")."""
    paragraphs, current = [], []
    for line in _git_show(checkout, "data/templates.txt").splitlines():
        if line.strip():
            current.append(line)
        elif current:
            paragraphs.append(" / ".join(current))
            current = []
    if current:
        paragraphs.append(" / ".join(current))
    for raw in paragraphs:
        marked, last, practitioner = [], 0, False
        for found in _ANNOTATION.finditer(raw):
            between = raw[last:found.start()]
            marked.append(between)
            label = found.group(2)
            kind = _TYPES.get(label)
            if kind == "PERSON":
                # a title before the name, or the name's other half right after one
                practitioner = bool(_PRACTITIONER.search(between)) or (practitioner and not between.strip())
                kind = "PRACTITIONER" if practitioner else kind
            else:
                practitioner = False
            marked.append(f"[[{kind}:{found.group(1)}]]" if kind else found.group(1))
            last = found.end()
        marked.append(raw[last:])
        text = "".join(marked)  # the benchmark splits a line on its first two "|" only
        plain = _ANNOTATION.sub(r"\1", raw)
        half = "test" if int(hashlib.sha256(raw.encode()).hexdigest(), 16) % 2 else "dev"
        yield key(plain), half, text


def edsnlp_sentences(checkout: Path) -> Iterator[tuple[str, str]]:
    """(key, text) of the French sentences in edsnlp's tests and docs (string literals of 30
    characters or more that read as French prose)."""
    listing = ["git", "-C", str(checkout), "ls-tree", "-r", "--name-only", "HEAD", "tests", "docs"]
    files = subprocess.run(listing,
                           check=True, capture_output=True, text=True).stdout.split()
    seen = set()
    for name in sorted(files):
        literals: list[str] = []
        if name.endswith(".py"):
            try:
                tree = ast.parse(_git_show(checkout, name))
            except SyntaxError:
                continue
            literals = [node.value for node in ast.walk(tree)
                        if isinstance(node, ast.Constant) and isinstance(node.value, str)]
        elif name.endswith(".md"):  # examples in the docs: text = "..." (maybe split over lines)
            for found in _MD_TEXT.finditer(_git_show(checkout, name)):
                literals.append("".join(re.findall(r'"([^"]*)"', found.group(1))))
        for literal in literals:
            text = re.sub(r"\s+", " ", literal).strip()
            text = re.sub(r"\[([^\]]+)\]\([^)]*\)", r"\1", text)  # its own span markup
            if (len(text) >= 30 and _FRENCH.search(text) and not text.startswith(("http", "eds.", "{", "["))
                    and not re.search(r"<|NBNb|\t", text) and key(text) not in seen):
                seen.add(key(text))
                yield key(text), text


_HEALTH_WORD = re.compile(r"(?i)maladi|m[ée]dic|sant[ée]|soins?\b|grossesse|enceinte|handicap|mental"
                          r"|d[ée]c[èe]s|psychi|infirmi|hospital|avortement|accouch|sang\b|organe"
                          r"|th[ée]rapeut|corps humain")
_MEDKIT_FILES = (
    "docs/data/text/1.txt", "docs/data/text/2.txt",
    "docs/examples/data/duplicate_detection/patient_1/a10320aa-2008_04_13.txt",
    "docs/examples/data/duplicate_detection/patient_1/f1d3e530-2008_04_14.txt",
    "docs/examples/data/duplicate_detection/patient_2/02e0b400-2012_01_29.txt",
    "docs/examples/data/duplicate_detection/patient_2/a96db7a5-2012_11_09..txt",
    "tests/data/text/doc1.txt", "tests/data/text/doc2.txt", "tests/data/text/doc3.txt",
    "tests/data/text/eds/cas1.txt", "tests/data/text/eds/cas2.txt", "tests/data/text/eds/cas3.txt",
    "docs/examples/input/brat/doc_01.txt", "tests/data/brat/1_example.txt")


def _half(text: str) -> str:
    return "test2" if int(hashlib.sha256(text.encode()).hexdigest(), 16) % 2 else "dev2"


def medkit_paragraphs(checkout: Path) -> Iterator[tuple[str, str, str]]:
    """(key, half, text) of each paragraph of medkit's French documents (a heading joins the
    paragraph after it: records of 80 characters or more)."""
    for name in _MEDKIT_FILES:
        pending = ""
        for paragraph in re.split(r"\n\s*\n", _git_show(checkout, name)):
            text = re.sub(r"\s+", " ", paragraph).strip()
            if text:
                pending = f"{pending} / {text}" if pending else text
            if len(pending) >= 80:
                yield key(pending), _half(pending), pending
                pending = ""
        if pending:
            yield key(pending), _half(pending), pending


def code_civil_articles(checkout: Path) -> Iterator[tuple[str, str, str]]:
    """(key, half, text) of the Code civil articles that use a health word, and of one in twenty
    of the others (by hash)."""
    listing = ["git", "-C", str(checkout), "ls-tree", "-r", "--name-only", "HEAD"]
    names = subprocess.run(listing, check=True, capture_output=True, text=True).stdout.splitlines()
    for name in sorted(names):
        if not name.endswith(".md") or name == "README.md":
            continue
        body = _git_show(checkout, name).split("----", 1)[-1]
        text = re.sub(r"\s+", " ", body).strip()
        if len(text) < 40:
            continue
        if _HEALTH_WORD.search(text) or int(key(text), 16) % 20 == 0:
            yield key(text), _half(text), text


def code_civil_others(checkout: Path) -> Iterator[tuple[str, str]]:
    """(half, text) of the Code civil articles the sets leave out (no health word of the
    builder's list, not one in twenty): administrative text nobody tuned on, split by hash."""
    chosen = {text_key for text_key, _, _ in code_civil_articles(checkout)}
    listing = ["git", "-C", str(checkout), "ls-tree", "-r", "--name-only", "HEAD"]
    names = subprocess.run(listing, check=True, capture_output=True, text=True).stdout.splitlines()
    for name in sorted(names):
        if not name.endswith(".md") or name == "README.md":
            continue
        text = re.sub(r"\s+", " ", _git_show(checkout, name).split("----", 1)[-1]).strip()
        if len(text) >= 40 and key(text) not in chosen:
            yield ("test" if int(hashlib.sha256(text.encode()).hexdigest(), 16) % 2 else "dev"), text


def write_civil_others(checkout: Path, directory: Path) -> None:
    """The other Code civil articles, all ``admin``, to DIRECTORY/civil-others-{dev,test}.txt."""
    others: dict[str, list[str]] = {"dev": [], "test": []}
    for half, text in code_civil_others(checkout):
        others[half].append(f"fr|admin/code-civil|{text}")
    directory.mkdir(parents=True, exist_ok=True)
    for half, lines in others.items():
        (directory / f"civil-others-{half}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


#: etalab/codes-juridiques-francais: the commit read, and the codes whose articles (one a file)
#: speak of people's health, work, welfare and insurance in general.
CODES_COMMIT = "2afcea3fd50ae46516fc6fafc7b5fe690c58c1bf"
CODES = ("code-du-travail", "code-de-l-action-sociale-et-des-familles", "code-de-la-securite-sociale",
         "code-des-assurances", "code-de-la-mutualite",
         "code-des-pensions-militaires-d-invalidite-et-des-victimes-de-la-guerre", "code-du-sport",
         "code-de-l-education", "code-penal", "code-de-la-sante-publique")
#: The sets in the repository keep one in this many of those articles (by hash), of at most
#: this many characters; ``--codes-all DIR`` writes them all.
CODES_SAMPLE, CODES_LONGEST = 6, 3000
_SHORT = {"code-de-l-action-sociale-et-des-familles": "code-action-sociale",
          "code-des-pensions-militaires-d-invalidite-et-des-victimes-de-la-guerre":
              "code-pensions-militaires"}


#: Codes of the same repository whose articles speak of health now and then (fitness to drive,
#: to serve or to sail, foreigners' care, civil servants' invalidity, farmers' insurance,
#: criminal procedure): the articles using a health word, split by hash as set 11 and written
#: outside the repository (``--codes-more DIR``).
CODES_MORE = ("code-de-la-route", "code-de-procedure-penale",
              "code-de-l-entree-et-du-sejour-des-etrangers-et-du-droit-d-asile",
              "code-des-pensions-civiles-et-militaires-de-retraite",
              "code-de-la-famille-et-de-l-aide-sociale", "code-du-service-national", "code-de-la-defense",
              "code-des-transports", "code-du-travail-maritime", "code-rural-et-de-la-peche-maritime",
              "code-general-des-collectivites-territoriales", "code-de-la-recherche",
              "code-de-la-securite-interieure", "code-de-l-environnement")


def code_articles(checkout: Path, codes: tuple[str, ...] = CODES) -> Iterator[tuple[str, str, str, str]]:
    """(key, half, code, text) of every article of ``codes`` that uses a health word, split by a
    hash of its text between **dev4** and **test4**."""
    listing = ["git", "-C", str(checkout), "ls-tree", "-r", "--name-only", CODES_COMMIT, "codes-en-vigueur"]
    listed = subprocess.run(listing, check=True, capture_output=True, text=True).stdout.split()
    names = [name for name in listed
             if name.split("/")[1] in codes and name.rsplit("/", 1)[-1].startswith("article-")]
    wanted = "".join(f"{CODES_COMMIT}:{name}\n" for name in names).encode()
    batch = subprocess.run(["git", "-C", str(checkout), "cat-file", "--batch"], check=True,
                           capture_output=True, input=wanted).stdout
    position = 0
    for name in names:
        header_end = batch.index(b"\n", position)
        size = int(batch[position:header_end].split()[2])
        body = batch[header_end + 1:header_end + 1 + size].decode("utf-8")
        position = header_end + 2 + size
        text = re.sub(r"\s+", " ", re.sub(r"\A# [^\n]*\n", "", body)).strip()
        if len(text) >= 40 and _HEALTH_WORD.search(text):
            yield key(text), "test4" if _half(text) == "test2" else "dev4", name.split("/")[1], text


def write_codes(checkout: Path, halves: dict[str, list[str]], everything: Path | None) -> None:
    """The sampled articles into ``halves``; all of them to EVERYTHING/codes-{dev,test}.txt."""
    every: dict[str, list[str]] = {"dev4": [], "test4": []}
    for text_key, half, code, text in code_articles(checkout):
        line = f"fr|admin/{_SHORT.get(code, code)}|{text}"
        every[half].append(line)
        if int(text_key, 16) % CODES_SAMPLE == 0 and len(text) <= CODES_LONGEST:
            halves.setdefault(half, []).append(line)
    if everything is not None:
        everything.mkdir(parents=True, exist_ok=True)
        for half, lines in every.items():
            (everything / f"codes-{half[:-1]}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")


#: aphp/IG-fhir-dm: the commit whose documentation is read, and the one before the clinical
#: stories of its example patients were removed from the guide.
IG_DOCS_COMMIT = "d045775357507b4357518728dd1531e901620f6a"
IG_STORIES_COMMIT = "5cf8ccbedfac2f1c6e5317c05167b2658a65ebcc"
_IG_MARK = re.compile(r"\*\*(.+?)\*\*(?:_\[([^\]]+)\]_?)?")
_IG_TYPES = {"prenom": "PERSON", "prénom": "PERSON", "nom": "PERSON", "date-naissance": "DATE_OF_BIRTH"}
_FRENCH_PROSE = re.compile(r"\b(?:le|la|les|des|du|une|est|pour|avec|dans)\b")


def _git_show_at(checkout: Path, commit: str, path: str) -> str:
    return subprocess.run(["git", "-C", str(checkout), "show", f"{commit}:{path}"], check=True,
                          capture_output=True, text=True).stdout


def ig_documentation(checkout: Path) -> Iterator[tuple[str, str, str]]:
    """(key, half, text) of each paragraph of French prose in the guide's Markdown pages (code
    blocks and tables left out; records of 80 characters or more, each once)."""
    listing = ["git", "-C", str(checkout), "ls-tree", "-r", "--name-only", IG_DOCS_COMMIT]
    names = subprocess.run(listing, check=True, capture_output=True, text=True).stdout.splitlines()
    seen = set()
    for name in sorted(names):
        if not name.endswith(".md") or name.startswith(".claude/") or name == "CLAUDE.md":
            continue
        body = re.sub(r"```.*?```", "\n\n", _git_show_at(checkout, IG_DOCS_COMMIT, name), flags=re.S)
        for paragraph in re.split(r"\n\s*\n", body):
            text = re.sub(r"\s+", " ", paragraph).strip()
            if (len(text) >= 80 and len(_FRENCH_PROSE.findall(text)) >= 4 and not text.startswith(("|", "<"))
                    and key(text) not in seen):
                seen.add(key(text))
                yield key(text), "test3" if _half(text) == "test2" else "dev3", text


def ig_stories(checkout: Path) -> Iterator[tuple[str, str, str]]:
    """(key, half, marked text) of each paragraph of the guide's clinical stories (a heading
    joins the paragraph after it); the story's own marks of first names, names and dates of
    birth become identifier marks, its other marks are dropped."""
    for case in range(1, 12):
        name = f"input/pagecontent/cas-{case}-synthese.md"
        half = "test3" if int(hashlib.sha256(name.encode()).hexdigest(), 16) % 2 else "dev3"
        pending = ""
        for paragraph in re.split(r"\n\s*\n", _git_show_at(checkout, IG_STORIES_COMMIT, name)):
            text = re.sub(r"\s+", " ", paragraph).strip()
            if text:
                pending = f"{pending} / {text}" if pending else text
            if len(pending) >= 80:
                yield _ig_marked(pending, half)
                pending = ""
        if pending:
            yield _ig_marked(pending, half)


def _ig_marked(text: str, half: str) -> tuple[str, str, str]:
    def mark(found: re.Match[str]) -> str:
        kind = _IG_TYPES.get((found.group(2) or "").strip("_").lower())
        return f"[[{kind}:{found.group(1)}]]" if kind else found.group(1)

    plain = _IG_MARK.sub(r"\1", text)
    return key(plain), half, _IG_MARK.sub(mark, text)


#: ansforge/TestContenuCDA-3-0: the commit read. Its example CDA documents, which the French
#: health interoperability agency (ANS) wrote for implementers, state no licence: the records are
#: written outside the repository (``--ans-cda-out DIR``), only their labels are kept here.
CDA_COMMIT = "7cd489b39368809df9bcf2cfef5e5d6354438a02"
_CDA = "{urn:hl7-org:v3}"


def cda_family(name: str) -> str:
    """The kind of document an example file is (``CSE-CS8_2024.01.xml`` → ``CSE``): every
    version and variant of a kind goes to the same half, so no wording is on both sides."""
    return re.split(r"[-_]", name.rsplit("/", 1)[-1])[0]


def cda_sections(checkout: Path) -> Iterator[tuple[str, str, str]]:
    """(key, half, text) of each section of the example documents: its title and the text a
    viewer shows (blanks normalised), each text once, split by a hash of the document's kind
    between **dev5** and **test5**."""
    listing = ["git", "-C", str(checkout), "ls-tree", "-r", "--name-only", CDA_COMMIT, "ExemplesCDA"]
    names = subprocess.run(listing, check=True, capture_output=True, text=True).stdout.splitlines()
    seen = set()
    for name in sorted(names):
        if not name.endswith(".xml"):
            continue
        raw = subprocess.run(["git", "-C", str(checkout), "show", f"{CDA_COMMIT}:{name}"], check=True,
                             capture_output=True).stdout
        try:
            root = ElementTree.fromstring(raw)
        except ElementTree.ParseError:
            continue
        family = cda_family(name)
        half = "test5" if int(hashlib.sha256(family.encode()).hexdigest(), 16) % 2 else "dev5"
        for section in root.iter(f"{_CDA}section"):
            title, body = section.find(f"{_CDA}title"), section.find(f"{_CDA}text")
            if body is None:
                continue
            words = " ".join(" ".join(body.itertext()).split())
            heading = " ".join("".join(title.itertext()).split()) if title is not None else ""
            text = f"{heading} / {words}" if heading else words
            if len(words) >= 20 and key(text) not in seen:
                seen.add(key(text))
                yield key(text), half, text


def write_cda(checkout: Path, labels: dict[str, str], directory: Path) -> None:
    """The example documents' sections to DIRECTORY/ans-cda-{dev5,test5}.txt."""
    halves: dict[str, list[str]] = {"dev5": [], "test5": []}
    for text_key, half, text in cda_sections(checkout):
        halves[half].append(f"fr|{labels.get(text_key, 'unlabelled')}/ans-cda|{text}")
    directory.mkdir(parents=True, exist_ok=True)
    for half, lines in halves.items():
        (directory / f"ans-cda-{half}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"ans-cda {half}: {len(lines)} texts", file=sys.stderr)


#: ansforge's FHIR and HL7 v2 implementation guides (MIT licence) whose French pages describe
#: appointments, care teams, the sending of documents by secure e-mail and notifications of
#: admission and discharge: the repository's name and the commit read.
ANS_IG_COMMITS = {
    "IG-fhir-gestion-agendas-partages": "f480a86f44af05942bcf1c492a107fbe9c104cba",
    "IG-fhir-service-acces-aux-soins": "d765be27c41102569e5e295fed4d49315c5de337",
    "IG-fhir-cercle-de-soins": "14fa8699d823d5b88252188a014a831675442559",
    "IG-hl7v2-volet-trans-lps-doc-cda-courriel-mss": "bb83dc27be4a231a2a035107acd5cb3908c8a3b5",
    "interop-ig-fhir-notification-evenements": "7de9525f0a8d09846486bae39fba886e89125fbb",
}
#: Four more of the agency's guides (MIT licence), read for **dev10** / **test10**: remote
#: monitoring of patients, clinical trials, the liaison notebook of home care and health
#: surveillance reports.
ANS_IG_MORE_COMMITS = {
    "IG-fhir-telesurveillance": "ec293efb4fdc1c30d48bfe40eb46db97592ca576",
    "IG-fhir-essais-cliniques": "784e03d14c49e8481b08ffea365f394d7e52992d",
    "IG-fhir-cahier-de-liaison": "b3f6d17215b275cca676df84a8db12816a7532dc",
    "IG-fhir-veille-sanitaire": "e86f5c07033149e48eccd7a966424fe142d473c3",
}
#: A paragraph is kept when it speaks of care, patients or appointments: the wording at issue.
_CARE_WORD = re.compile(r"(?i)patient|rendez-vous|\brdv\b|consultation|docteur|\bdr\b|urgence|clinique"
                        r"|service d|" + _HEALTH_WORD.pattern.removeprefix("(?i)"))


def ans_ig_repository(checkout: Path, commits: dict[str, str] | None = None) -> str:
    """Which of ``commits`` (:data:`ANS_IG_COMMITS`) a checkout holds (by the commit it contains)."""
    commits = ANS_IG_COMMITS if commits is None else commits
    for name, commit in commits.items():
        found = subprocess.run(["git", "-C", str(checkout), "cat-file", "-e", f"{commit}^{{commit}}"],
                               check=False, capture_output=True)
        if found.returncode == 0:
            return name
    raise SystemExit(f"{checkout}: holds none of the guides' commits ({', '.join(commits)})")


def ans_ig_paragraphs(checkout: Path, more: bool = False) -> Iterator[tuple[str, str, str]]:
    """(key, half, text) of each paragraph of French prose in a guide's pages that speaks of care,
    patients or appointments (code blocks, tables and HTML left out; 80 characters or more, each
    once), split by a hash of its text between **dev6** and **test6** (with ``more``, one of
    :data:`ANS_IG_MORE_COMMITS`, between **dev10** and **test10**)."""
    commits = ANS_IG_MORE_COMMITS if more else ANS_IG_COMMITS
    commit = commits[ans_ig_repository(checkout, commits)]
    dev, test = ("dev10", "test10") if more else ("dev6", "test6")
    listing = ["git", "-C", str(checkout), "ls-tree", "-r", "--name-only", commit, "input/pagecontent"]
    names = subprocess.run(listing, check=True, capture_output=True, text=True).stdout.splitlines()
    seen = set()
    for name in sorted(names):
        if not name.endswith(".md"):
            continue
        body = re.sub(r"```.*?```", "\n\n", _git_show_at(checkout, commit, name), flags=re.S)
        for paragraph in re.split(r"\n\s*\n", body):
            text = re.sub(r"\s+", " ", paragraph).strip()
            if (len(text) >= 80 and len(_FRENCH_PROSE.findall(text)) >= 4 and not text.startswith(("|", "<"))
                    and "<t" not in text and _CARE_WORD.search(text) and key(text) not in seen):
                seen.add(key(text))
                yield key(text), test if _half(text) == "test2" else dev, text


#: kleag/labforsims2-corpus (CC BY-SA 4.0, "Copyright (c) 2020 CEA LIST"): the commit read. Its
#: dialogues are 41 interviews that medical interns held with one virtual patient (a woman with
#: abdominal pain), one line a turn, the doctor's turn and the patient's answer sharing an id.
LABFORSIMS_COMMIT = "0926b03eed0a6bc8ce91361fb2ae71d86ab97ac7"
#: The dialogues' licence asks that what is made of them say so and be shared alike.
LABFORSIMS_NOTICE = (
    "# Exchanges taken from kleag/labforsims2-corpus, Copyright (c) 2020 CEA LIST, under the Creative\n"
    "# Commons Attribution-ShareAlike 4.0 licence; this file is shared under the same licence.\n")
#: The sets keep one exchange in this many (by hash), enough to label by reading.
LABFORSIMS_SAMPLE = 2
_TURN = re.compile(r"([dp])(\d+)\s+(.*)")


def labforsims_exchanges(checkout: Path) -> Iterator[tuple[str, str, str]]:
    """(key, half, text) of one in :data:`LABFORSIMS_SAMPLE` exchanges of the dialogues (the
    doctor's question and the patient's answer joined with " / "), each text once, each
    interview wholly in **dev7** or **test7** by a hash of its name, so that no intern's
    wording is on both sides."""
    listing = ["git", "-C", str(checkout), "ls-tree", "-r", "--name-only", LABFORSIMS_COMMIT, "dialogues"]
    names = subprocess.run(listing, check=True, capture_output=True, text=True).stdout.split()
    seen = set()
    for name in sorted(names):
        if not name.endswith("/dialogues"):
            continue
        half = "test7" if int(hashlib.sha256(name.encode()).hexdigest(), 16) % 2 else "dev7"
        turns: dict[str, dict[str, str]] = {}
        for line in _git_show_at(checkout, LABFORSIMS_COMMIT, name).splitlines():
            found = _TURN.match(line.strip())
            if found and found.group(3).strip():
                turns.setdefault(found.group(2), {})[found.group(1)] = " ".join(found.group(3).split())
        for turn in turns.values():
            text = " / ".join(turn[side] for side in "dp" if side in turn)
            if len(text) >= 20 and key(text) not in seen and int(key(text), 16) % LABFORSIMS_SAMPLE == 0:
                seen.add(key(text))
                yield key(text), half, text


#: SocialGouv/fiches-travail-data (Apache-2.0): the commit read, and the labour ministry's pages
#: (travail-emploi.gouv.fr) its tests keep as fixtures: occupational health plans, the carer's
#: leave, moral harassment, works councils, resignations, temporary work, falls from height.
TRAVAIL_COMMIT = "0431e98ddca5c5ea73ab03b4b85031106bbdaf6e"


class _MainText(HTMLParser):
    """The paragraphs, list items and headings of a page's ``<main>``, scripts left out."""

    def __init__(self) -> None:
        super().__init__()
        self.in_main, self.skipping, self.tag = False, 0, ""
        self.current: list[str] | None = None
        self.blocks: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "main":
            self.in_main = True
        elif tag in ("script", "style", "nav"):
            self.skipping += 1
        elif self.in_main and tag in ("p", "li", "h2", "h3") and self.current is None:
            self.current, self.tag = [], tag

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style", "nav"):
            self.skipping -= 1
        elif self.current is not None and tag == self.tag:
            self.blocks.append(" ".join("".join(self.current).split()))
            self.current = None
        elif tag == "main":
            self.in_main = False

    def handle_data(self, data: str) -> None:
        if self.current is not None and not self.skipping:
            self.current.append(data)


def travail_paragraphs(checkout: Path) -> Iterator[tuple[str, str, str]]:
    """(key, half, text) of each paragraph of the ministry's pages that speaks of care or health
    (80 characters or more, each once), split by a hash of its text between **dev8** and
    **test8**."""
    listing = ["git", "-C", str(checkout), "ls-tree", "-r", "--name-only", TRAVAIL_COMMIT,
               "src/fetch-data/__tests__"]
    names = subprocess.run(listing, check=True, capture_output=True, text=True).stdout.split()
    seen = set()
    for name in sorted(names):
        if not name.endswith(".html"):
            continue
        page = _MainText()
        page.feed(_git_show_at(checkout, TRAVAIL_COMMIT, name))
        for text in page.blocks:
            if (len(text) >= 80 and len(_FRENCH_PROSE.findall(text)) >= 2 and _CARE_WORD.search(text)
                    and key(text) not in seen):
                seen.add(key(text))
                yield key(text), "test8" if _half(text) == "test2" else "dev8", text


#: betagouv/sante-psy (MIT, "Copyright (c) 2021 beta.gouv.fr"): the commit read. Its FAQ answers
#: students, psychologists and universities about the free sessions with a psychologist the
#: state offers students: administrative text about mental-health care, often voiced as the
#: reader ("Je suis insatisfait d'une séance avec un psychologue").
SANTE_PSY_COMMIT = "e0e933c2b29dbd13939059e23d6b1ffe8059f250"
_JS_STRING = r"""(?:'((?:\\.|[^'\\])*)'|`((?:\\.|[^`\\])*)`|"((?:\\.|[^"\\])*)")"""
_FAQ_ENTRY = re.compile(r"question:\s*" + _JS_STRING + r"\s*,\s*answer:\s*" + _JS_STRING, re.S)


def _js_text(groups: tuple[str | None, ...]) -> str:
    """The words of a JavaScript string literal (escapes resolved, HTML tags dropped)."""
    value = next(group for group in groups if group is not None)
    value = value.replace("\\\n", "\n").replace("\\'", "'").replace('\\"', '"').replace("\\n", " ")
    value = re.sub(r"\\u([0-9A-Fa-f]{4})", lambda found: chr(int(found.group(1), 16)), value)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", value)).split())


def sante_psy_faq(checkout: Path) -> Iterator[tuple[str, str, str]]:
    """(key, half, text) of each question of the FAQ with its answer (" / " between), each text
    once, split by a hash of its text between **dev9** and **test9**."""
    listing = ["git", "-C", str(checkout), "ls-tree", "-r", "--name-only", SANTE_PSY_COMMIT,
               "frontend/src/services/faq"]
    names = subprocess.run(listing, check=True, capture_output=True, text=True).stdout.split()
    seen = set()
    for name in sorted(names):
        for found in _FAQ_ENTRY.finditer(_git_show_at(checkout, SANTE_PSY_COMMIT, name)):
            text = f"{_js_text(found.groups()[:3])} / {_js_text(found.groups()[3:])}"
            if key(text) not in seen:
                seen.add(key(text))
                yield key(text), "test9" if _half(text) == "test2" else "dev9", text


def write_outside(name: str, records: Iterator[tuple[str, str, str]], labels: dict[str, str],
                  directory: Path, every: str | None = None) -> None:
    """Records kept out of the repository (their licence leaves committing them in doubt, or they
    are too many) to DIRECTORY/NAME-{half}.txt, labelled by ``labels`` or all ``every``."""
    halves: dict[str, list[str]] = {}
    for text_key, half, text in records:
        label = every or labels.get(text_key, "unlabelled")
        halves.setdefault(half, []).append(f"fr|{label}/{name}|{text}")
    directory.mkdir(parents=True, exist_ok=True)
    for half, lines in sorted(halves.items()):
        (directory / f"{name}-{half}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"{name} {half}: {len(lines)} texts", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:  # noqa: PLR0912, PLR0915
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--eds-pseudo", type=Path, required=True, help="a git checkout of aphp/eds-pseudo")
    parser.add_argument("--edsnlp", type=Path, required=True, help="a git checkout of aphp/edsnlp")
    parser.add_argument("--medkit", type=Path, required=True, help="a git checkout of TeamHeka/medkit")
    parser.add_argument("--code-civil", type=Path, required=True,
                        help="a git checkout of steeve/france.code-civil")
    parser.add_argument("--civil-others", type=Path, metavar="DIR",
                        help="also write the other Code civil articles (about 0.8 MB, kept out of the"
                             " repository) to DIR/civil-others-{dev,test}.txt")
    parser.add_argument("--ig-fhir-dm", type=Path,
                        help="a git checkout of aphp/IG-fhir-dm (with its history)")
    parser.add_argument("--codes", type=Path,
                        help="a git checkout of etalab/codes-juridiques-francais (dev4 / test4)")
    parser.add_argument("--codes-all", type=Path, metavar="DIR",
                        help="also write every article of those codes that uses a health word (about"
                             " 6 MB, kept out of the repository) to DIR/codes-{dev,test}.txt")
    parser.add_argument("--codes-more", type=Path, metavar="DIR",
                        help="with --codes, also write the articles of CODES_MORE that use a health word to"
                             " DIR/codes-more-{dev11,test11}.txt (kept out of the repository)")
    parser.add_argument("--ans-cda", type=Path,
                        help="a checkout of ansforge/TestContenuCDA-3-0 (dev5 / test5; --ans-cda-out)")
    parser.add_argument("--ans-ig", type=Path, action="append", default=[], metavar="CHECKOUT",
                        help="a checkout of one of ansforge's guides in ANS_IG_COMMITS (dev6 / test6;"
                             " repeat for each)")
    parser.add_argument("--ans-cda-out", type=Path, metavar="DIR",
                        help="where the example documents' sections go (kept out of the repository:"
                             " their publisher states no licence)")
    parser.add_argument("--labforsims", type=Path,
                        help="a checkout of kleag/labforsims2-corpus (dev7 / test7)")
    parser.add_argument("--ans-ig-more", type=Path, action="append", default=[], metavar="CHECKOUT",
                        help="a checkout of one of the guides in ANS_IG_MORE_COMMITS (dev10 / test10;"
                             " repeat for each)")
    parser.add_argument("--sante-psy", type=Path, help="a checkout of betagouv/sante-psy (dev9 / test9)")
    parser.add_argument("--travail", type=Path,
                        help="a checkout of SocialGouv/fiches-travail-data (dev8 / test8; --travail-out)")
    parser.add_argument("--travail-out", type=Path, metavar="DIR",
                        help="where the ministry's paragraphs go (kept out of the repository)")
    args = parser.parse_args(argv)
    if args.travail and not args.travail_out:
        parser.error("--travail needs --travail-out DIR")
    if args.ans_cda and not args.ans_cda_out:
        parser.error("--ans-cda needs --ans-cda-out DIR")
    labels = {}
    for line in (OUT / "labels.tsv").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            text_key, kind = line.split("\t")[:2]
            labels[text_key] = kind
    halves: dict[str, list[str]] = {"dev": [], "test": [], "dev2": [], "test2": []}
    if args.ig_fhir_dm:
        halves |= {"dev3": [], "test3": []}
        for text_key, half, text in ig_documentation(args.ig_fhir_dm):
            halves[half].append(f"fr|{labels.get(text_key, 'unlabelled')}/ig-docs|{text}")
        for text_key, half, text in ig_stories(args.ig_fhir_dm):
            halves[half].append(f"fr|{labels.get(text_key, 'unlabelled')}/ig-stories|{text}")
    for text_key, half, text in templates(args.eds_pseudo):
        halves[half].append(f"fr|{labels.get(text_key, 'unlabelled')}/eds-pseudo|{text}")
    for text_key, text in edsnlp_sentences(args.edsnlp):
        if text_key in labels:  # the sentences judged; code snippets and fragments were not
            halves["test"].append(f"fr|{labels[text_key]}/edsnlp|{text}")
    for text_key, half, text in medkit_paragraphs(args.medkit):
        lang = "en" if text.startswith("The patient") else "fr"
        halves[half].append(f"{lang}|{labels.get(text_key, 'unlabelled')}/medkit|{text}")
    for _, half, text in code_civil_articles(args.code_civil):
        halves[half].append(f"fr|admin/code-civil|{text}")
    header = ("# Independent French set ({half}), built by bench/independent_sets.py from public texts\n"
              "# written by others (README.md beside this file: sources, licences, how it was labelled).\n")
    if args.civil_others:
        write_civil_others(args.code_civil, args.civil_others)
    if args.codes:
        write_codes(args.codes, halves, args.codes_all)
    if args.codes and args.codes_more:
        more = ((text_key, "test11" if half == "test4" else "dev11", text)
                for text_key, half, _, text in code_articles(args.codes, CODES_MORE))
        write_outside("codes-more", more, labels, args.codes_more, every="admin")  # statutes: about no one
    if args.ans_ig:
        halves |= {"dev6": [], "test6": []}
        for checkout in args.ans_ig:
            for text_key, half, text in ans_ig_paragraphs(checkout):
                halves[half].append(f"fr|{labels.get(text_key, 'unlabelled')}/ans-ig|{text}")
    if args.ans_cda:
        write_cda(args.ans_cda, labels, args.ans_cda_out)
    if args.labforsims:
        halves |= {"dev7": [], "test7": []}
        for text_key, half, text in labforsims_exchanges(args.labforsims):
            halves[half].append(f"fr|{labels.get(text_key, 'unlabelled')}/labforsims|{text}")
    if args.ans_ig_more:
        halves |= {"dev10": [], "test10": []}
        for checkout in args.ans_ig_more:
            for text_key, half, text in ans_ig_paragraphs(checkout, more=True):
                halves[half].append(f"fr|{labels.get(text_key, 'unlabelled')}/ans-ig-more|{text}")
    if args.sante_psy:
        halves |= {"dev9": [], "test9": []}
        for text_key, half, text in sante_psy_faq(args.sante_psy):
            lang = "en" if text.startswith("How ") else "fr"
            halves[half].append(f"{lang}|{labels.get(text_key, 'unlabelled')}/sante-psy|{text}")
    if args.travail:
        write_outside("travail", travail_paragraphs(args.travail), labels, args.travail_out)
    for half, lines in halves.items():
        notice = LABFORSIMS_NOTICE if half in ("dev7", "test7") else ""
        (OUT / f"{half}.txt").write_text(header.format(half=half) + notice + "\n".join(lines) + "\n",
                                         encoding="utf-8")
        print(f"{half}: {len(lines)} texts", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
