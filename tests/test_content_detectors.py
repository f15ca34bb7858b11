"""The content detectors: checked identifiers, a health vocabulary with context rules, accuracy
on the shared generator's notes and on hand-written notes in other words, speed, and no
network at any point."""

from __future__ import annotations

import importlib.util
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from phigate_providers.content import lexicon
from phigate_providers.content.detect import Detector, RecordAnalysis
from phigate_providers.content.identifiers import find, luhn_valid, nir_valid

from .conftest import DATA, ROOT

GENERATOR = ROOT.parent / "shared" / "bench" / "gen_notes.py"
HELD_OUT = DATA / "content" / "heldout-notes.txt"
HELD_OUT_2 = DATA / "content" / "heldout-notes-2.txt"


@pytest.fixture(scope="module")
def detector() -> Detector:
    return Detector()


def types(text: str) -> list[tuple[str, str]]:
    """(type, text) of every identifier found, in order."""
    return [(span.type, text[span.start:span.end]) for span in find(text)]


def health(detector: Detector, text: str) -> list[str]:
    analysis = detector.analyse(text)
    return [text[h.start:h.end] for h in analysis.health]


def nir_with_key(body: str) -> str:
    number = int(body.upper().replace("2A", "19").replace("2B", "18"))
    return body + f"{97 - number % 97:02d}"


def luhn_completed(payload: str) -> str:
    return next(payload + d for d in "0123456789" if luhn_valid(payload + d))


# --- identifiers -----------------------------------------------------------------------------------

@pytest.mark.parametrize("body", ["1841275123456", "2550814168025", "285072A123456", "191102B033217",
                                  "1650999350012", "2011213055123"])
def test_a_nir_with_its_key_is_found_in_every_layout(body: str) -> None:
    nir = nir_with_key(body)
    spaced = " ".join([nir[0], nir[1:3], nir[3:5], nir[5:7], nir[7:10], nir[10:13], nir[13:]])
    for written in (nir, spaced, f"{nir[:13]} {nir[13:]}"):
        assert types(f"N° SS : {written}.") == [("FR_NIR", written)]
    assert nir_valid(spaced)


@pytest.mark.parametrize("body", ["1841275123456", "285072A123456", "191102B033217"])
def test_a_nir_with_a_wrong_key_is_never_a_hit(body: str) -> None:
    good = nir_with_key(body)
    for wrong in range(1, 98):
        if wrong == int(good[13:]):
            continue
        candidate = f"{body}{wrong:02d}"
        assert not nir_valid(candidate)
        assert ("FR_NIR", candidate) not in types(f"Facture n° {candidate} du 12/03/2024")


def test_corsica_keys_read_2a_as_19_and_2b_as_18() -> None:
    assert nir_valid("2 55 08 14 168 025 38")  # the published example
    assert not nir_valid("2 55 08 14 168 025 12")
    body = "185072A123456"
    key = 97 - int("1850719123456") % 97
    assert nir_valid(f"{body}{key:02d}")
    assert not nir_valid(f"1850719123456{(key % 97) + 1:02d}")


def test_an_rpps_number_needs_its_luhn_digit() -> None:
    good = luhn_completed("1003456789")
    bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    assert types(f"Dr Colin (RPPS {good})") == [("RPPS", good)]
    assert types(f"Dr Colin (RPPS {bad})") == []


@pytest.mark.parametrize("phone", ["06 12 34 56 78", "06.12.34.56.78", "0612345678", "06-12-34-56-78",
                                   "+33 6 12 34 56 78", "+33612345678", "+33 (0)6 12 34 56 78",
                                   "0033 6 78 12 45 90", "+44 7700 900123", "07700 912345"])
def test_phones_in_french_and_international_layouts(phone: str) -> None:
    assert types(f"Rappel au {phone}, merci.") == [("PHONE", phone)]


def test_dates_amounts_and_business_numbers_are_not_phones() -> None:
    text = "Facture du 12/03/2024 : 26,50 €, SIRET 73282932000074, à 14h30, réf. 2024-03-12."
    assert types(text) == []


def test_emails_and_addresses() -> None:
    text = ("Mme Zoé Diallo, 14 impasse de la Gare, 20000 Ajaccio, zoe.diallo@orange.fr ; "
            "ou 52 Church Lane, Bristol BS1 5TR.")
    assert types(text) == [("PERSON", "Zoé Diallo"), ("ADDRESS", "14 impasse de la Gare, 20000 Ajaccio"),
                           ("EMAIL", "zoe.diallo@orange.fr"), ("ADDRESS", "52 Church Lane, Bristol BS1 5TR")]


def test_a_date_is_a_date_of_birth_only_next_to_a_cue() -> None:
    assert types("RDV le 12/03/2024 à 10h.") == []
    for text, date in [("née le 3 mars 1980", "3 mars 1980"), ("DDN : 01/03/1940", "01/03/1940"),
                       ("DOB: 4 June 1992", "4 June 1992"), ("born 12/02/1985", "12/02/1985"),
                       ("date de naissance 1939-02-17", "1939-02-17"), ("le 03/11/1998 (DDN)", "03/11/1998")]:
        assert ("DATE_OF_BIRTH", date) in types(text), text


def test_names_need_a_title_or_a_given_name_and_a_practitioner_is_not_the_patient() -> None:
    assert types("RDV de M. Dupont avec le Dr Lemoine.") == [("PERSON", "Dupont")]
    assert types("Rappel envoyé à Julien MORIN et à MORIN Julie.") == [("PERSON", "Julien MORIN"),
                                                                       ("PERSON", "MORIN Julie")]
    assert types("Courrier au Docteur Marc Olivier.") == []
    assert types("Mary Taylor, 51-year-old") == [("PERSON", "Mary Taylor")]


# --- health ------------------------------------------------------------------------------------

def test_health_words_are_found_whatever_the_spelling(detector: Detector) -> None:
    text = ("Patiente séropositive, SEROPOSITIVE en 2019, hepatite C (sans accent), schizophrenie, "
            "trithérapie, anti-rétroviraux, Œdèmes des membres inférieurs, syfilis, diabétiques.")
    found = health(detector, text)
    for expected in ("séropositive", "SEROPOSITIVE", "hepatite C", "schizophrenie", "trithérapie",
                     "Œdèmes des membres inférieurs", "diabétiques"):
        assert expected in found, expected
    assert any("rétroviraux" in f for f in found)


def test_acronyms_must_be_written_in_capitals(detector: Detector) -> None:
    assert health(detector, "Patient VIH+ depuis 2010.") == ["VIH"]
    assert health(detector, "Patient : ist non, liste de courses.") == []


@pytest.mark.parametrize("text", [
    "Don de l'association du cabinet à Sidaction.",
    "Réception de 23 TROD VIH (stock pharmacie), à ranger en réserve.",
    "Commande fournisseur : réf. VIH-1234 x3, livraison prévue le 12/03/2024.",
    "Campagne de vaccination contre l'hépatite B au cabinet samedi : ouverte à tous, sans rendez-vous.",
    "Journée mondiale de lutte contre le sida le 1er décembre : affiches en salle d'attente.",
    "Cabinet fermé en raison d'une dépression atlantique (alerte tempête).",
    "Practice closed because of a deep Atlantic depression (storm warning).",
    "Waiting-room visual aids and first-aid kit restocked on 12 March 2024.",
    "Feuille de soins envoyée à la caisse primaire d'assurance maladie pour M. Serge Navarro.",
    "RDV de M. Gay, 12 rue Gay-Lussac, 75005 Paris ; GOUTTE Jean rappelé.",
    "Facture de Mme Le Sidaner réglée.",
    "Commande de 12 boîtes de metformine et de 6 flacons de Bétadine.",
])
def test_health_words_about_nobody_are_not_health_data(detector: Detector, text: str) -> None:
    assert health(detector, text) == [], text


def test_a_medicine_is_health_data_next_to_a_person_or_a_treatment_cue(detector: Detector) -> None:
    assert health(detector, "Metformine 850 mg, boîte de 30.") == []
    assert health(detector, "Le patient est sous metformine.") == ["metformine"]
    assert health(detector, "M. Dupont : metformine 850 mg.") == ["metformine"]


def test_each_record_is_the_scope_of_its_own_context(detector: Detector) -> None:
    records = ["Mme Jeanne Petit, 06 12 34 56 78.", "Metformine 850 mg, boîte de 30.",
               "Diabète de type 2 chez M. Dupont."]
    analyses = detector.analyse_records(records)
    assert [a.has_health for a in analyses] == [False, False, True]
    assert [a.personal for a in analyses] == [True, False, True]
    for record, analysis in zip(records, analyses, strict=True):
        assert all(0 <= s.start < s.end <= len(record) for s in analysis.identifiers)


def test_scan_reports_counts_and_flags_only(detector: Detector) -> None:
    scan = detector.scan(["Mme Jeanne Petit, séropositive, 06 12 34 56 78.", "Réunion lundi."])
    assert scan.health and scan.identified and scan.sensitive
    assert scan.entities == {"HEALTH": 1, "PERSON": 1, "PHONE": 1}
    apart = detector.scan(["Diabète de type 2.", "Mme Jeanne Petit, 06 12 34 56 78."])
    assert apart.health and not apart.identified and not apart.sensitive
    units = detector.scan_units([["Asthme connu chez Mme Petit."], ["Réunion lundi."], []])
    assert [(u.health, u.identified) for u in units] == [(True, True), (False, False), (False, False)]


def test_a_vocabulary_file_with_an_unknown_flag_is_refused() -> None:
    with pytest.raises(lexicon.LexiconError, match="unknown flag"):
        list(lexicon.parse(["@ HIV high", "VIH ; capitals"], "bad.txt"))
    with pytest.raises(lexicon.LexiconError, match="section"):
        list(lexicon.parse(["VIH"], "bad.txt"))
    assert [form for form, _ in lexicon.parse(["@ HIV high", "séropositi{f,ve}"], "ok.txt")] == [
        "séropositif", "séropositive"]


# --- accuracy ------------------------------------------------------------------------------------

def bench_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("phi_detect_bench", ROOT / "bench" / "phi_detect.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def bench() -> ModuleType:
    return bench_module()


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> list[dict[str, Any]]:
    """4,000 notes of the shared generator (balanced mix) under a seed of this module's own."""
    if not GENERATOR.is_file():
        pytest.skip(f"the shared corpus generator is not beside the project ({GENERATOR})")
    out = tmp_path_factory.mktemp("notes") / "notes.jsonl"
    subprocess.run([sys.executable, str(GENERATOR), "-n", "4000", "--seed", "90417", "-o", str(out)],
                   check=True, timeout=120)
    return [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]


def test_generated_notes_meet_the_recall_and_false_alarm_targets(bench: ModuleType, detector: Detector,
                                                                 generated: list[dict[str, Any]]) -> None:
    results = bench.evaluate(generated, detector)
    assert results.health_notes.recall() >= 0.99
    assert results.identifier_notes.recall() >= 0.99
    for kind in ("FR_NIR", "PHONE", "EMAIL", "ADDRESS", "DATE_OF_BIRTH", "PERSON"):
        assert results.spans[kind].recall() >= 0.99, kind
    assert results.invalid_nir_hits == 0
    assert results.admin_notes > 1500
    assert results.false_alarms * 10_000 <= 3 * results.admin_notes


@pytest.mark.parametrize(("name", "size"), [("heldout-notes.txt", 200), ("heldout-notes-2.txt", 75)])
def test_notes_in_wording_never_generated_still_meet_the_targets(bench: ModuleType, detector: Detector,
                                                                  name: str, size: int) -> None:
    notes = list(bench.read_marked(DATA / "content" / name))
    assert len(notes) > size
    results = bench.evaluate(notes, detector)
    assert results.health_notes.recall() >= 0.80
    assert results.identifier_notes.recall() >= 0.90
    assert results.admin_notes >= 35 and results.false_alarms == 0


def test_throughput_stays_in_megabytes_per_second(detector: Detector, generated: list[dict[str, Any]]) -> None:
    """A guard against an order-of-magnitude regression; bench/phi_detect.py measures for real."""
    texts = [note["text"] for note in generated]
    size = sum(len(t.encode()) for t in texts) / 1e6
    started = time.process_time()
    for first in range(0, len(texts), 256):
        detector.scan(texts[first:first + 256])
    assert size / (time.process_time() - started) > 1.0


def test_detection_needs_no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> Iterator[None]:
        raise AssertionError("the detectors opened a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    lexicon.bundled.cache_clear()  # rebuilt with the network refused
    try:
        analysis: RecordAnalysis = Detector().analyse("M. Jean Dupont, séropositif, né le 12/03/1980.")
    finally:
        lexicon.bundled.cache_clear()
    assert analysis.has_health and analysis.personal


def test_bench_script_ends_with_one_json_line(bench: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main([str(HELD_OUT)]) == 0
    last = capsys.readouterr().out.strip().splitlines()[-1]
    figures = json.loads(last)
    assert {"health_recall", "false_alarms_per_10k_admin", "mb_per_s_per_core", "entities"} <= set(figures)
    assert figures["entities"]["FR_NIR"]["recall"] == 1.0


def test_bench_script_scores_several_sets_together_with_their_sources_apart(
        bench: ModuleType, capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main([str(INDEPENDENT / "dev2.txt"), str(INDEPENDENT / "dev3.txt")]) == 0
    figures = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert figures["corpus"] == "dev2.txt+dev3.txt"
    assert {"medkit", "code-civil", "ig-docs", "ig-stories"} <= set(figures["health_by_source"])
    assert figures["notes"] == len(bench.read_corpus(INDEPENDENT / "dev2.txt")) + len(
        bench.read_corpus(INDEPENDENT / "dev3.txt"))


@pytest.mark.parametrize("path", [HELD_OUT, HELD_OUT_2])
def test_heldout_files_are_well_formed(path: Path) -> None:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if line.strip() and not line.startswith("#"):
            lang, kind, marked = line.split("|", 2)
            assert lang in ("fr", "en") and kind in ("clinical", "admin"), number
            assert ("[[HEALTH:" in marked) == (kind == "clinical"), number


def test_every_vocabulary_file_is_shipped_and_parses() -> None:
    for name in lexicon.VOCABULARY_FILES:
        assert list(lexicon.parse(lexicon.read_file(name), name)), name


# --- open terminologies, store context, identifier layouts ------------------------------------------

INDEPENDENT = DATA / "content" / "independent"


@pytest.mark.parametrize(("text", "word"), [
    ("Mme Roussel : tularémie confirmée.", "tularémie"),  # a CIM-10 label head
    ("Suivi pour acrodermatite depuis mars.", "acrodermatite"),  # a word of a CIM-10 label
    ("Ordonnance : DOLIPRANE 1000 mg.", "DOLIPRANE"),  # a brand from the drug database
    ("Reprise de l'ustekinumab après la pause.", "ustekinumab"),  # an active substance
    ("G1P0 à 22 SA, primigeste.", "G1P0"),
    ("OH chronique, TS médicamenteuse en 2019.", "OH chronique"),
    ("Pose d'APD à 4 cm puis résection.", "Pose d'APD"),
])
def test_terminology_and_clinical_shorthand_are_health_data(detector: Detector, text: str, word: str) -> None:
    assert word in health(detector, text), text


def test_a_medicine_in_a_store_counts_unless_its_record_is_a_price_list(detector: Detector) -> None:
    assert health(detector, "Renouvellement Kardegic 75 mg.") == ["Kardegic"]
    assert health(detector, "Kardegic 75 mg : 2,35 €") == []
    assert health(detector, "Mme Petit, Kardegic 75 mg : 2,35 €") == ["Kardegic"]


def test_a_psychiatric_department_is_health_data_but_a_timetable_is_not(detector: Detector) -> None:
    assert health(detector, "Hospitalisée en psychiatrie du 3 au 12 mai.") != []
    assert health(detector, "Transférée au service de psychiatrie.") != []
    assert health(detector, "Horaires du service de psychiatrie : fermé le dimanche.") == []


@pytest.mark.parametrize("text", [
    "Transfert à l'hôpital Necker-Enfants malades le 3 mai.",
    "Consultation à l'Institut Curie, bâtiment B.",
    "Le cabinet de la rue Gay-Lussac ferme en août.",
])
def test_health_establishments_and_places_are_not_conditions(detector: Detector, text: str) -> None:
    assert health(detector, text) == [], text


def test_a_nir_written_digit_by_digit_or_with_its_key_after_cle_is_found() -> None:
    full = nir_with_key("285072A123456")
    assert types(" ".join(full)) == [("FR_NIR", " ".join(full))]
    body = "1 85 07 75 123 456"
    key = f"{97 - 1850775123456 % 97:02d}"
    assert types(f"NIR {body} clé {key}.") == [("FR_NIR", f"{body} clé {key}")]
    wrong = f"{(int(key) + 1) % 97:02d}"
    assert types(f"NIR {body} clé {wrong}.") == []


def test_phones_in_three_digit_groups_and_with_slashes_but_not_dates() -> None:
    assert types("Tél 06 12 345 678.") == [("PHONE", "06 12 345 678")]
    assert types("Tél 01/45/67/89/10.") == [("PHONE", "01/45/67/89/10")]
    assert types("Rendez-vous 01/01/2023 16:00.") == []


def test_a_date_right_after_a_name_is_its_date_of_birth() -> None:
    assert types("Mme Jeanne DUPONT ¦ F ¦ 22/02/1962 (68 ans)") == [
        ("PERSON", "Jeanne DUPONT"), ("DATE_OF_BIRTH", "22/02/1962")]
    assert types("Mme Jeanne Dupont le 12/03 revue.") == [("PERSON", "Jeanne Dupont")]


def test_the_built_terminology_is_shipped_small_and_holds_conditions_and_drugs() -> None:
    path = Path(lexicon.__file__).parent / "data" / "terminology-fr.txt.gz"
    assert path.stat().st_size < 1_000_000
    categories = {entry.category for _, entry in lexicon.parse(lexicon.read_file(path.name), path.name)}
    assert {"CONDITION", "ONCOLOGY", "MENTAL_HEALTH", "DRUG_TREATMENT"} <= categories
    forms = {form for form, _ in lexicon.parse(lexicon.read_file(path.name), path.name)}
    assert not {"travail", "contact", "opération", "SYLVIANE", "SULFATE"} & forms  # everyday words, names, salts


@pytest.mark.parametrize("name", ["dev.txt", "test.txt", "dev3.txt", "test3.txt", "dev4.txt", "test4.txt", "dev7.txt",
                                  "test7.txt"])
def test_independent_sets_are_well_formed_and_judged(bench: ModuleType, name: str) -> None:
    notes = bench.read_corpus(INDEPENDENT / name)
    assert len(notes) > 100
    assert all(note["kind"] in ("clinical", "admin", "unlabelled") for note in notes)
    if name in ("test.txt", "test3.txt"):
        judged = [note for note in notes if note["labels"]["contains_health_data"] is not None]
        assert sum(n["labels"]["contains_health_data"] for n in judged) > 50
        assert sum(not n["labels"]["contains_health_data"] for n in judged) > 50


def test_no_text_is_both_tuned_on_and_held_out(bench: ModuleType) -> None:
    def texts(name: str) -> set[str]:
        return {note["text"] for note in bench.read_corpus(INDEPENDENT / name)}

    tuned = set().union(*(texts(f"dev{n}.txt") for n in ("", "2", "3", "4", "6", "7", "9", "10")))
    held_out = set().union(*(texts(f"test{n}.txt") for n in ("", "2", "3", "4", "6", "7", "9", "10")))
    assert len(tuned) > 700 and len(held_out) > 900
    assert not tuned & held_out


def test_obfuscated_and_spaced_emails_are_found() -> None:
    assert types("Écrire à jean.dupont [at] mail [dot] fr.") == [("EMAIL", "jean.dupont [at] mail [dot] fr")]
    assert types("contact(at)mairie(dot)fr") == [("EMAIL", "contact(at)mairie(dot)fr")]
    assert types("mail : tlabelle @ medimail . com") == [("EMAIL", "tlabelle @ medimail . com")]
    assert types("Merci @ tous.") == []


def test_a_year_of_birth_and_a_lieu_dit_are_found() -> None:
    assert ("DATE_OF_BIRTH", "1940") in types("M. Pierre Legrand, né en 1940, vu ce jour.")
    assert types("Domicile : lieu-dit Les Granges, 12340 Bozouls.") == [
        ("ADDRESS", "lieu-dit Les Granges, 12340 Bozouls")]


def test_a_nir_with_a_wrong_key_is_not_read_as_a_phone() -> None:
    body = "1 85 07 75 123 456"
    wrong = f"{(97 - 1850775123456 % 97 + 1) % 97:02d}"
    assert types(f"NIR {body} {wrong}") == []


def test_statutes_and_references_about_no_one_are_not_health_data(detector: Detector) -> None:
    assert health(detector, "Lors de l'accouchement, toute personne peut demander le secret, "
                            "en application de l'article 326.") == []
    assert health(detector, "Döhner H et al. Diagnosis of acute myeloid leukemia: recommendations.") == []
    assert health(detector, "Mme Jeanne Petit, accouchement le 3 mai, en application de l'article 326.") != []


def test_a_capitalised_word_in_a_units_name_is_not_a_condition(detector: Detector) -> None:
    assert health(detector, "Centre de la Douleur Chronique / Unité VIH / Secrétariat : 01 42 16 00 00") == []
    assert health(detector, "Patient suivi au Centre de la Douleur pour lombalgie chronique.") == ["lombalgie"]


def test_an_article_of_civil_law_speaks_of_no_one(detector: Detector) -> None:
    assert health(detector, "Le mariage ne peut être contracté si l'un des époux est atteint de démence.") == []


def test_everyday_clinical_wording_is_health_data(detector: Detector) -> None:
    assert health(detector, "Scanner cérébral normal. Suites opératoires simples.") == ["Scanner cérébral",
                                                                                        "Suites opératoires"]
    assert health(detector, "Elle est suivie par un cardiologue depuis 2019.") == ["suivie par un cardiologue"]
    assert health(detector, "Ce scanner de documents lit 30 pages par minute.") == []


def test_a_capitalised_label_of_a_phone_in_a_directory_is_not_health_data(detector: Detector) -> None:
    assert health(detector, "Hospitalisation : 01 42 16 20 00 / Urgences : 01 42 16 30 00") == []
    assert health(detector, "Service de Psychiatrie Adulte - CMP (secteur 12) : 01 42 16 00 00") == []
    assert health(detector, "Mme Durand : VIH - 06 12 34 56 78") == ["VIH"]
    assert health(detector, "Dupont Jean, diabète - 06 12 34 56 78") == ["diabète"]


def test_a_citation_names_authors_not_patients(detector: Detector) -> None:
    assert health(detector, "Diagnosis of acute myeloid leukemia. Tallman MS, Sierra J, Dombret H. "
                            "Blood. 2010;115(3):453-74. 2nd edition.") == []
    assert health(detector, "Patiente traitée pour leucémie aiguë selon Döhner et al.") != []


def test_legal_terms_sharing_a_health_word_are_not_health_data(detector: Detector) -> None:
    assert health(detector, "Il est alors tenu compte du délai de prescription déjà écoulé.") == []
    assert health(detector, "Le délaissement par hypothèque se fait au greffe du tribunal.") == []
    assert health(detector, "Il est suivi pour une prescription de méthotrexate.") != []


def test_a_word_with_a_medical_ending_counts_even_outside_the_vocabulary(detector: Detector) -> None:
    assert health(detector, "Patiente arrivée pour rhénopathie aigue.") == ["rhénopathie"]
    assert health(detector, "Il a beaucoup de sympathie pour l'équipe.") == []


def test_a_department_in_a_directory_is_not_health_data(detector: Detector) -> None:
    assert health(detector, "Service de rhumatologie / Chef de service / Secrétariat : 01 42 16 00 00") == []
    assert health(detector, "Salles d'hospitalisation : Gerbillot, Hadillot.") == []


def test_a_department_counts_only_after_care_given_to_someone(detector: Detector) -> None:
    assert health(detector, "Il a été transféré dans l'unité de soins intensifs le 3 mai.") == [
        "unité de soins intensifs"]
    assert health(detector, "La patiente se présente aux urgences.") == ["urgences"]
    assert health(detector, "Unité de soins intensifs / Secrétariat : 01 42 16 00 00") == []
    assert health(detector, "Le service des urgences est ouvert 24 h sur 24.") == []


def test_a_consultation_in_a_department_counts_in_a_record_about_someone(detector: Detector) -> None:
    assert health(detector, "Elle sera revue en consultation de neurologie.") != []
    assert health(detector, "Mme Dupont : consultation de cardiologie à un mois.") == ["consultation de cardiologie"]
    assert health(detector, "Consultation de neurologie : lundi et jeudi, 9 h - 12 h.") == []


def test_a_dose_with_its_rhythm_is_a_treatment_an_amount_alone_is_not(detector: Detector) -> None:
    assert health(detector, "ATENOSYNTH : injection de 40 mg deux fois par semaine.") != []
    assert health(detector, "Boîte de 30 comprimés de 500 mg, 4,20 €.") == []


def test_birth_and_rehabilitation_wording_is_health_data(detector: Detector) -> None:
    assert health(detector, "Suites de couches simples, score d'Apgar 10/10.") == ["Suites de couches",
                                                                                     "score d'Apgar"]
    assert health(detector, "Reprise d'appui à J1, appui partiel avec 2 cannes anglaises.") == [
        "appui partiel", "cannes anglaises"]
    assert health(detector, "Vente de cannes anglaises et de déambulateurs.") == []


def test_an_initial_and_a_surname_is_a_name_but_not_a_letter_ending_a_phrase() -> None:
    assert types("Radiologues : C. Carlizian, G. TUDORS-PARTERRE") == [
        ("PERSON", "C. Carlizian"), ("PERSON", "G. TUDORS-PARTERRE")]
    assert types("Sérologie hépatite C. Phone à rappeler.") == []
    assert types("Vu par Dr A. Mariniere.") == []  # the practitioner


def test_a_surname_in_capitals_before_a_given_name_is_read_first() -> None:
    assert types("Prescription pour BOFFIN Lily Prélever demain") == [("PERSON", "BOFFIN Lily")]


def test_a_date_before_an_age_in_brackets_is_a_date_of_birth_when_the_age_fits() -> None:
    assert types("Dossier 4521 | M | 22/02/1962 (68 ans) | IPP") == [("DATE_OF_BIRTH", "22/02/1962")]
    assert types("Dossier 4521 | M | 22/02/1962 (12 ans) | IPP") == []  # 1974: not a year of record
    assert types("Revu le 12/03/2020 (3 ans après la pose).") == []


def test_an_address_with_two_particles_before_the_street_name() -> None:
    assert types("Il vit 22 rue de la Jonquière depuis mai.") == [("ADDRESS", "22 rue de la Jonquière")]


# --- the terminology build and the peer ------------------------------------------------------------

def _module(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _terminology_sources(folder: Path) -> tuple[Path, Path]:
    """A small edsnlp-shaped resources folder and a wordfreq-shaped data folder."""
    import gzip

    import msgpack  # type: ignore[import-untyped]

    resources = folder / "edsnlp" / "resources"
    resources.mkdir(parents=True)
    rows = ["code,type,ssr,psy,short,long",
            'A21,3,N,0,TULAREMIE,Tularémie',
            'B20,3,N,0,VIH,"Immunodéficience humaine virale, sans précision"',
            'F20,3,N,0,SCHIZO,Schizophrénie',
            'F32,3,N,0,EPISODE,"Épisode dépressif, sans précision"',
            'M75,3,N,0,EPAULE,Tendinopathie de la coiffe',
            'W01,3,N,0,CHUTE,"Chute de plain-pied, en glissant"',
            'Z56,3,N,0,TRAVAIL,Travail']
    (resources / "cim10.csv.gz").write_bytes(gzip.compress("\n".join(rows).encode(), mtime=0))
    drugs = {"N02BE01": ["DOLIPRANE", "DOLIPRANE CONFORT", "paracetamol"], "A12AA": ["SYLVIANE", "SULFATE"],
             "J05AR": ["BIKTARVY"]}
    (resources / "drugs.json").write_text(json.dumps(drugs), encoding="utf-8")
    words = folder / "wordfreq"
    words.mkdir()
    buckets: list[Any] = [{"format": "cB", "version": 1}] + [[] for _ in range(800)]
    buckets[300] = ["travail", "chute"]  # everyday words
    for language in ("fr", "en"):
        (words / f"large_{language}.msgpack.gz").write_bytes(gzip.compress(msgpack.packb(buckets), mtime=0))
    return folder / "edsnlp", words


def test_the_terminology_build_is_reproducible_and_keeps_only_health_forms(tmp_path: Path) -> None:
    build = _module(ROOT / "scripts" / "build_lexicon.py", "build_lexicon_script")
    edsnlp, words = _terminology_sources(tmp_path)
    first, second = tmp_path / "a.txt.gz", tmp_path / "b.txt.gz"
    for out in (first, second):
        assert build.main(["--edsnlp", str(edsnlp), "--wordfreq", str(words), "-o", str(out)]) == 0
    assert first.read_bytes() == second.read_bytes()
    import gzip

    meaning = {form: (entry.category, entry.tier)
               for form, entry in lexicon.parse(gzip.decompress(first.read_bytes()).decode().splitlines(), "built")}
    assert meaning["tularémie"] == ("CONDITION", "routine")
    assert meaning["schizophrénie"][1] == "high"
    assert meaning["tendinopathie"] == ("CONDITION", "routine")  # a word with a medical ending
    assert meaning["DOLIPRANE"] == ("DRUG_TREATMENT", "routine")
    assert meaning["BIKTARVY"] == ("DRUG_HIV", "high")
    assert not {"travail", "chute de plain-pied", "SYLVIANE", "SULFATE"} & set(meaning)


def test_the_peer_comparison_is_skipped_with_a_clear_message_when_edsnlp_cannot_run(
        bench: ModuleType, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    notes = bench.read_corpus(INDEPENDENT / "test2.txt")
    assert bench.edsnlp_peer(notes, tmp_path / "no-python", 10) is None
    assert "comparison skipped" in capsys.readouterr().out


def test_a_capitalised_word_in_a_health_establishments_name_is_not_a_condition(detector: Detector) -> None:
    assert health(detector, "RDV Clinique de la Migraine, bâtiment B.") == []
    assert health(detector, "Transfert à l'Hôpital des Enfants Malades le 3 mai.") == []
    assert health(detector, "Patient hospitalisé au CHU pour Migraine sévère.") == ["hospitalisé", "Migraine"]


def test_articles_of_labour_and_social_law_speak_of_no_one(detector: Detector) -> None:
    assert health(detector, "La salariée en état de grossesse médicalement constaté peut rompre son "
                            "contrat de travail sans préavis.") == []
    assert health(detector, "Les travailleurs handicapés bénéficient de l'aide prévue à l'article L. 5213-10.") == []
    assert health(detector, "DÉSIGNATION DES MALADIES / DÉLAI de prise en charge / Cancer bronchopulmonaire "
                            "primitif.") == []
    assert health(detector, "M. Paul Martin, travailleur handicapé, lombalgie chronique.") == ["lombalgie"]


def test_items_numbered_as_in_a_statute_make_a_rule_but_a_list_of_conditions_stays_health_data(
        detector: Detector) -> None:
    assert health(detector, "L'examen médical a pour finalité : 1° De s'assurer que le salarié est apte au "
                            "poste ; 2° De rechercher s'il est atteint d'une affection dangereuse.") == []
    assert health(detector, "Antécédents : 1° Diabète de type 2 ; 2° Hypertension artérielle.") == [
        "Diabète de type 2", "Hypertension artérielle"]
    assert health(detector, "Mme Jeanne Petit : 1° De la fièvre depuis trois jours ; 2° Une toux.") != []


def test_work_safety_wording_shared_with_health_is_not_health_data(detector: Detector) -> None:
    assert health(detector, "Le port d'un système d'arrêt de chute est obligatoire.") == []
    assert health(detector, "Une installation de ventilation mécanique assure le débit d'air.") == []
    assert health(detector, "Patient sous ventilation mécanique depuis J2.") != []


def test_an_article_of_a_code_is_not_a_street() -> None:
    assert types("aux articles R. 1225-1, R. 1225-3 et R. 1225-4") == []
    assert types("12, R. Lafayette, 75009 Paris") == [("ADDRESS", "12, R. Lafayette, 75009 Paris")]


def test_a_case_provided_for_or_a_field_of_practice_is_nobodys_health(detector: Detector) -> None:
    assert health(detector, "En cas de maladie, prévenir le secrétariat. Contact : M. Petit 06 12 34 56 78.") == []
    assert health(detector, "En 1913, il est interne médaille d'or en chirurgie.") == []
    assert health(detector, "Mme Nadia Haddad, référente handicap de l'entreprise, tél. 01 45 67 89 10.") == []
    assert health(detector, "Contrat de M. Paul Durand : garantie invalidité et décès.") == []
    assert health(detector, "Mme Petit, opérée en chirurgie digestive le 3 mai pour une appendicite.") != []


def test_clinical_scores_and_scales_are_health_data(detector: Detector) -> None:
    assert health(detector, "Score de Rankin 0, score de Glasgow 15, NIHSS à 4.") == [
        "Score de Rankin", "score de Glasgow", "NIHSS"]
    assert health(detector, "Échelle de performance OMS : grade 1.") == ["Échelle de performance OMS"]


def test_what_someone_consumes_and_their_blood_group_count_in_their_record_not_in_a_rule(
        detector: Detector) -> None:
    assert health(detector, "Habitus : consommation d'alcool 3 verres par jour.") == ["consommation d'alcool"]
    assert health(detector, "Patient de 60 ans, groupe sanguin A positif.") == ["groupe sanguin"]
    assert health(detector, "La consommation d'alcool est interdite dans les locaux.") == []
    assert health(detector, "Le groupe sanguin figure parmi les champs facultatifs du formulaire.") == []


def test_antithrombotic_treatments_and_a_heading_of_a_clinical_form_are_someones(detector: Detector) -> None:
    assert health(detector, "Traitement par AVK depuis 2009, antiagrégants plaquettaires arrêtés.") == [
        "Traitement par", "AVK", "antiagrégants plaquettaires"]
    assert health(detector, "Date du diagnostic initial : 29/01/2019. Tumeur primitive du sein.") == ["Tumeur"]


@pytest.mark.parametrize("text", [
    "Madame, vous êtes convoquée le 12 mars 2024 à 9 h 30 au service de cardiologie, bâtiment B. Merci de"
    " vous présenter à l'accueil muni de votre carte Vitale.",
    "Rendez-vous le 3 avril à 14 h avec le Dr Martin, praticien hospitalier, service de neurologie, Hôpital"
    " de la Pitié-Salpêtrière, 47 boulevard de l'Hôpital, 75013 Paris.",
    "Je vous prie d'agréer, chère consœur, l'expression de mes salutations confraternelles. Dr Anne Leroy,"
    " praticien hospitalier, service d'oncologie médicale.",
    "Date d'admission : 12/03/2024. Date de sortie : 15/03/2024. Unité : pneumologie, 3e étage, chambre 12.",
])
def test_appointment_logistics_letter_openings_and_signatures_are_not_health_data(
        detector: Detector, text: str) -> None:
    assert health(detector, text) == []


def test_a_birth_as_first_days_certificates_record_it_is_health_data(detector: Detector) -> None:
    assert health(detector, "Naissance à terme : non. Âge gestationnel 36 SA, lait maternel exclusif.") == [
        "Naissance à terme", "Âge gestationnel", "36 SA", "lait maternel exclusif"]


_CDA_EXAMPLE = """<?xml version="1.0" encoding="UTF-8"?>
<ClinicalDocument xmlns="urn:hl7-org:v3"><component><structuredBody>
<component><section><title>Statut du document</title><text>CR validé le 23/09/2018 à 23h20</text></section></component>
<component><section><title>Signes vitaux</title><text><table><tr><td>Poids</td><td>{weight} kg</td></tr>
<tr><td>Taille</td><td>176 cm</td></tr></table></text></section></component>
<component><section><title>Vide</title><text>(texte libre)</text></section></component>
</structuredBody></component></ClinicalDocument>
"""


def test_the_example_documents_set_keeps_each_kind_on_one_side_and_each_text_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sets = _module(ROOT / "bench" / "independent_sets.py", "independent_sets_builder")
    checkout = tmp_path / "cda"
    (checkout / "ExemplesCDA").mkdir(parents=True)
    for name, weight in (("CSE-CS8_2024.01.xml", 59), ("CSE-CS8_2025.01.xml", 59), ("CSE-CS9_2024.01.xml", 61),
                         ("OBP-SAP_2024.01.xml", 70)):
        (checkout / "ExemplesCDA" / name).write_text(_CDA_EXAMPLE.format(weight=weight), encoding="utf-8")
    git = ["git", "-C", str(checkout), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    for command in (["init", "-q"], ["add", "."], ["commit", "-qm", "examples"]):
        subprocess.run([*git, *command], check=True, capture_output=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    monkeypatch.setattr(sets, "CDA_COMMIT", head)

    records = list(sets.cda_sections(checkout))
    texts = [text for _, _, text in records]
    assert sorted(texts) == sorted(["Statut du document / CR validé le 23/09/2018 à 23h20",
                                    "Signes vitaux / Poids 59 kg Taille 176 cm", "Signes vitaux / Poids 61 kg Taille 176 cm",
                                    "Signes vitaux / Poids 70 kg Taille 176 cm"])  # each once; a bare template field left out
    halves = {text: half for _, half, text in records}
    assert halves["Signes vitaux / Poids 59 kg Taille 176 cm"] == halves["Signes vitaux / Poids 61 kg Taille 176 cm"]  # one kind, one side
    assert sets.cda_family("ExemplesCDA/IMG_CR_IMG_2024.01.xml") == "IMG"

    first = records[0]
    sets.write_cda(checkout, {first[0]: "admin"}, tmp_path / "out")
    written = "".join((tmp_path / "out" / f"ans-cda-{half}.txt").read_text(encoding="utf-8")
                      for half in ("dev5", "test5"))
    assert f"fr|admin/ans-cda|{first[2]}\n" in written
    assert written.count("unlabelled/ans-cda|") == 3


def test_the_guides_set_keeps_prose_about_care_each_paragraph_once_and_knows_the_guide_by_its_commit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sets = _module(ROOT / "bench" / "independent_sets.py", "independent_sets_builder")
    checkout = tmp_path / "guide"
    (checkout / "input" / "pagecontent").mkdir(parents=True)
    care = ("Le flux de création de rendez-vous est initié par un déclarant et porte les informations du"
            " rendez-vous pris pour le compte du patient dans la solution de l'éditeur.")
    page = "\n\n".join([care, "```json\n{\"resourceType\": \"Appointment\", \"comment\": \"" + care + " bis\"}\n```",
                        "| flux | description du flux pour le patient et le rendez-vous dans la table |",
                        "Le document est transmis par la plateforme dans un format structuré pour les"
                        " échanges entre les systèmes de la région.", care])
    (checkout / "input" / "pagecontent" / "flux.md").write_text(page, encoding="utf-8")
    git = ["git", "-C", str(checkout), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    for command in (["init", "-q"], ["add", "."], ["commit", "-qm", "pages"]):
        subprocess.run([*git, *command], check=True, capture_output=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()
    monkeypatch.setattr(sets, "ANS_IG_COMMITS", {"IG-other": "0" * 40, "IG-fhir-gestion-agendas-partages": head})

    assert sets.ans_ig_repository(checkout) == "IG-fhir-gestion-agendas-partages"
    records = list(sets.ans_ig_paragraphs(checkout))
    # once, though written twice; code blocks, tables and prose about no care, patient or appointment left out
    assert [(text_key, text) for text_key, _, text in records] == [(sets.key(care), care)]
    assert records[0][1] in ("dev6", "test6")
    monkeypatch.setattr(sets, "ANS_IG_COMMITS", {"IG-other": "0" * 40})
    with pytest.raises(SystemExit, match="holds none of the guides' commits"):
        sets.ans_ig_repository(checkout)


@pytest.mark.parametrize("text", [
    "Le Dr Dupont demande à la secrétaire d'envoyer le compte rendu d'hospitalisation de son patient au service Y.",
    "Cette demande d'envoi est traitée par la plateforme de l'établissement, qui répond au service X.",
    "Les informations concernant le patient sont décrites par le segment requis PID.",
    "Plus d'informations sur la page dédiée : <https://esante.gouv.fr/domaine-urgences/sas>.",
])
def test_documents_named_by_kind_requests_processed_message_segments_and_web_addresses_are_not_health_data(
        detector: Detector, text: str) -> None:
    assert health(detector, text) == []


def test_a_treatment_by_something_still_counts_next_to_a_person(detector: Detector) -> None:
    assert health(detector, "Patiente de 54 ans traitée par radiothérapie en 2019.") == ["traitée par", "radiothérapie"]
    assert health(detector, "Mme Durand, hospitalisée pour une pneumopathie : compte rendu d'hospitalisation joint.") == [
        "hospitalisée", "pneumopathie"]


def test_a_case_a_rule_provides_for_is_nobodys_health_but_a_persons_story_keeps_it(detector: Detector) -> None:
    assert health(detector, "Les doses reçues sont diminuées lorsqu'une grossesse est déclarée par un membre du"
                            " personnel.") == []
    assert health(detector, "Une notification est envoyée au patient lorsqu\u2019une hospitalisation débute.") == []
    assert health(detector, "Patiente de 31 ans, grossesse de 12 SA.") == ["grossesse", "12 SA"]


@pytest.mark.parametrize("text", [
    "Pôle cancérologie - Hôpital Saint-Louis",
    "Compte-rendu opératoire",
    "Motif d'hospitalisation :",
    "Urgences pédiatriques : 01 44 73 74 75",
    "Centre de dépistage du VIH et des IST",
    "Centre de lutte contre le cancer Léon Bérard",
    "Centre médico-psychologique (CMP) adultes",
    "Objet : compte rendu de votre hospitalisation",
    "Accueil des urgences gynécologiques : 01 40 25 76 00",
])
def test_headers_naming_units_documents_form_fields_and_establishments_are_not_health_data(
        detector: Detector, text: str) -> None:
    assert health(detector, text) == []


def test_care_in_cancerology_and_a_condition_after_a_form_heading_still_count(detector: Detector) -> None:
    assert health(detector, "Mme Durand, suivie en cancérologie depuis 2019.") == ["cancérologie"]
    assert health(detector, "Motif d'hospitalisation : pneumopathie.") == ["pneumopathie"]
    assert health(detector, "Diabète de type 2 : 06 12 34 56 78, M. Dupont") == ["Diabète de type 2"]
    assert health(detector, "Patiente suivie au centre médico-psychologique depuis 2019.") == [
        "centre médico-psychologique"]


def test_an_outline_s_letters_and_a_section_number_are_not_identifiers() -> None:
    # a statute's headings, a form's "Monsieur-Madame" before a noun, a paragraph's number
    assert types("nuls (taux : + de 95 p. 100). I. PRINCIPAUX CRITÈRES") == [("PERSON", "I. PRINCIPAUX")]
    assert types("Monsieur-Madame-Mademoiselle L'accueillant s'engage") == []
    assert types("Les mesures mentionnées au paragraphe 1.5.15 ne sont pas suffisantes.") == []
    assert types("Monsieur L'Hermite, 12/03/1980 né à Lyon") == [("PERSON", "L'Hermite"),
                                                                 ("DATE_OF_BIRTH", "12/03/1980")]


def test_an_initial_and_a_word_do_not_make_a_statute_about_someone(detector: Detector) -> None:
    scale = ("Guide-barème : le taux d'incapacité est fixé par critère (taux : 80 p. 100). I. PRINCIPAUX : "
             "la déficience intellectuelle, l'épilepsie et le retard mental.")
    assert health(detector, scale) == []
    assert health(detector, "Mme Jeanne Petit : épilepsie, taux d'incapacité de 80 %.") != []


def test_work_safety_and_sick_people_in_general_are_not_health_data(detector: Detector) -> None:
    assert health(detector, "Le garde-corps s'oppose à la chute dans le vide ; les charges ne tombent "
                            "pas en chute libre.") == []
    assert health(detector, "Les premiers secours aux accidentés et aux malades sont assurés.") == []
    assert health(detector, "Le directeur régional peut, pour les personnes présentant un polyhandicap, "
                            "aménager la formation.") == []
    assert health(detector, "Mme Roux, 82 ans : chute à domicile, fatigue.") == ["chute à domicile", "fatigue"]


def test_a_capitalised_word_of_a_commune_or_an_organisation_is_not_a_condition(detector: Detector) -> None:
    assert health(detector, "Hôpital Nord, 12 rue des Lilas, 94270 Le Kremlin Goutte") == []
    assert health(detector, "Secrétariat de Chirurgie Orthopédique / Association Française des "
                            "Diabétiques") == []
    assert health(detector, "Patiente de 45 ans, 75013 Paris. Diabète de type 2.") == ["Diabète de type 2"]


def test_a_scale_of_rates_and_any_disease_in_general_are_not_health_data(detector: Detector) -> None:
    scale = ("11.2.1 HYDRONEPHROSE - Hydronéphrose bien tolérée 10 à 20 - Hydronéphrose compliquée 30 à 50 "
             "- Urétérostomie cutanée 40 à 50")
    assert health(detector, scale) == []
    assert health(detector, "Pièces : un certificat attestant que le candidat est indemne de toute maladie "
                            "contagieuse ; les frais d'hospitalisation sont à la charge de l'État.") == []
    # a prescription gives doses and durations with their units: still a patient's treatment
    assert health(detector, "Hydronéphrose : paracétamol 1 à 2 comprimés, 3 à 4 fois par jour, "
                            "5 à 10 jours.") == ["Hydronéphrose", "paracétamol"]


def test_a_letterhead_s_offices_and_staff_are_not_health_data(detector: Detector) -> None:
    assert health(detector, "Mme Dupont - secrétariat d'hospitalisation : 01 42 16 00 00") == []
    assert health(detector, "Hôpital de jour d'oncologie - Mme Dupont, infirmière de pratique avancée "
                            "en oncologie") == []
    assert health(detector, "Mme Dupont admise en hôpital de jour d'oncologie") == ["hôpital de jour d'oncologie"]


def test_a_literal_value_and_a_supposed_condition_are_not_health_data(detector: Detector) -> None:
    assert health(detector, "Pour le motif `Consultation de suivi pneumologique`, un créneau.") == []
    assert health(detector, "La victime est indemnisée si elle est atteinte d'une invalidité de 80 %.") == []
    assert health(detector, "Mme Dupont : consultation de suivi pneumologique le 3 mai.") == [
        "consultation de suivi"]
    assert health(detector, "Mme Dupont est atteinte d'une invalidité.") == ["atteinte d'une", "invalidité"]


@pytest.mark.parametrize("text", [
    "Aucun enfant atteint d'une maladie contagieuse ne doit être admis dans ce local. L'enfant qui paraît"
    " atteint d'une maladie contagieuse ne doit pas y être maintenu.",
    "Tout salarié absent pour maladie peut être remplacé par un intérimaire.",
    "Les patients diabétiques sont suivis en consultation ; il est rappelé qu'ils ne doivent pas jeûner.",
    "Notice destinée aux victimes : si elle est âgée de moins de seize ans ou atteinte d'une invalidité, la"
    " victime est indemnisée. Écrire au 64, rue Defrance, 94307 Vincennes Cedex en indiquant vos date et lieu"
    " de naissance.",
])
def test_a_record_about_kinds_of_people_and_no_particular_one_is_not_health_data(
        detector: Detector, text: str) -> None:
    assert health(detector, text) == [], text


@pytest.mark.parametrize(("text", "word"), [
    ("Patiente de 45 ans, diabète de type 2 ; les enfants vont bien.", "diabète de type 2"),
    ("Je suis diabétique, comme beaucoup de personnes âgées.", "diabétique"),
    ("M. Jean Dupont, né le 03/02/1961 : les patients du service et lui ont la grippe.", "grippe"),
    ("Patient de la chambre 12, les enfants sont venus ; fièvre à 39.", "fièvre à 39"),  # her children
])
def test_kinds_of_people_beside_a_particular_person_keep_the_health_words(
        detector: Detector, text: str, word: str) -> None:
    assert word in health(detector, text), text


def test_a_labour_court_and_a_code_named_make_a_record_a_rule(detector: Detector) -> None:
    assert health(detector, "Le Code du travail ne prévoit rien pour le salarié en arrêt maladie.") == []
    assert health(detector, "Si la salariée enceinte démissionne, le conseil de prud'hommes est saisi.") == []


@pytest.mark.parametrize(("text", "word"), [
    ("Bonjour docteur, j'ai mal au ventre depuis hier soir.", "mal au ventre"),
    ("Avez-vous vomi ? / Non, mais j'avais envie de vomir.", "envie de vomir"),
    ("Je me sentais un peu fiévreuse, sans plus.", "fiévreuse"),
    ("Vous buvez ? / Je ne fume pas et je ne bois pas d'alcool.", "fume"),
    ("Je ne prends pas de médicaments.", "médicaments"),
])
def test_symptoms_and_habits_as_people_say_them_are_health_data(detector: Detector, text: str, word: str) -> None:
    assert word in health(detector, text), text


@pytest.mark.parametrize("text", [
    "La cigarette électronique est vendue en bureau de tabac.",
    "Le prix des médicaments baisse au 1er janvier.",
    "J'ai mal compris votre courrier du 3 mai.",
])
def test_habits_and_medicines_named_about_no_one_are_not_health_data(detector: Detector, text: str) -> None:
    assert health(detector, text) == [], text


@pytest.mark.parametrize("text", [
    "Le diabète est une maladie chronique qui touche environ 5 % de la population. Il est dû à un défaut"
    " d'insuline.",
    "La tuberculose se transmet par voie aérienne ; on parle de tuberculose latente sans symptôme.",
])
def test_a_definition_or_a_count_of_a_condition_about_no_one_is_not_health_data(
        detector: Detector, text: str) -> None:
    assert health(detector, text) == [], text


def test_a_definition_in_a_patients_record_keeps_its_health_words(detector: Detector) -> None:
    assert "mucoviscidose" in health(detector, "Patient suivi pour une mucoviscidose, qui est une maladie génétique.")


@pytest.mark.parametrize(("text", "expected"), [
    ("Allergies : ________", []),
    ("Fièvre : ☐ oui ☐ non", []),
    ("Antécédent d'asthme [ ]", []),
    ("Fièvre : ☐ oui ☒ non ; diabète", ["diabète"]),
    ("Diabète : non", ["Diabète"]),
])
def test_a_forms_label_before_a_blank_names_a_field_a_filled_one_states_something(
        detector: Detector, text: str, expected: list[str]) -> None:
    assert health(detector, text) == expected, text


@pytest.mark.parametrize("text", [
    "Il a pour mission d'organiser le scrutin. Le dépouillement est d'abord opéré par bureau.",
    "Cette opération de dépollution ne peut être menée sans autorisation.",
    "Tout animal malade est isolé ; le vétérinaire pratique l'intervention chirurgicale.",
    "La tuberculose contractée en service ouvre droit à pension ; l'employeur est tenu de la déclarer.",
    "En application de l'article 12, la demande d'invalidité est adressée au 12, rue de la Paix, 75002 Paris.",
    "Dans la mesure du possible, la mort ne doit pas être le point limite de la procédure.",
])
def test_rules_animals_and_things_a_pronoun_or_a_negation_stands_near_are_not_health_data(
        detector: Detector, text: str) -> None:
    assert health(detector, text) == [], text


def test_a_pronoun_in_the_words_own_sentence_still_points_at_a_person(detector: Detector) -> None:
    assert health(detector, "Elle a été opérée hier.") == ["opérée"]


def test_a_capitalised_word_after_an_article_or_a_preposition_is_a_place_not_a_condition(
        detector: Detector) -> None:
    assert health(detector, "Limite de la salure des eaux : la Sèvre nantaise, en aval du pont.") == []
    assert health(detector, "J'ai pris le Doliprane hier soir.") == ["Doliprane"]  # a brand stays a medicine
    assert health(detector, "Antécédents : Asthme, Diabète") == ["Asthme", "Diabète"]


def _committed(checkout: Path, files: dict[str, str]) -> str:
    """A git repository at ``checkout`` holding ``files``; its commit."""
    for name, text in files.items():
        (checkout / name).parent.mkdir(parents=True, exist_ok=True)
        (checkout / name).write_text(text, encoding="utf-8")
    git = ["git", "-C", str(checkout), "-c", "user.name=t", "-c", "user.email=t@example.org"]
    for command in (["init", "-q"], ["add", "."], ["commit", "-qm", "files"]):
        subprocess.run([*git, *command], check=True, capture_output=True)
    return subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True).stdout.strip()


def test_the_interviews_set_pairs_each_question_with_its_answer_and_keeps_each_interview_on_one_side(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sets = _module(ROOT / "bench" / "independent_sets.py", "independent_sets_builder")
    turns = "\n".join(f"d0{n}00000{i} Question {i} sur la douleur ?\np0{n}00000{i} Réponse {i} : j'ai mal."
                      for i in range(8) for n in (1,))
    head = _committed(tmp_path / "dialogues", {"dialogues/Interne01/dialogues": turns + "\n",
                                                "dialogues/Interne02/dialogues": turns.replace("Réponse", "Oui") + "\n"})
    monkeypatch.setattr(sets, "LABFORSIMS_COMMIT", head)
    monkeypatch.setattr(sets, "LABFORSIMS_SAMPLE", 1)
    records = list(sets.labforsims_exchanges(tmp_path / "dialogues"))
    assert len(records) == 16 and len({text for _, _, text in records}) == 16
    assert all(text.startswith("Question ") and " / " in text for _, _, text in records)
    halves = {half for _, half, text in records if " / Réponse" in text}
    assert len(halves) == 1  # one interview, one side


def test_the_ministrys_pages_keep_the_paragraphs_of_main_that_speak_of_health_once(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sets = _module(ROOT / "bench" / "independent_sets.py", "independent_sets_builder")
    care = ("L'employeur prend les mesures nécessaires pour assurer la sécurité et protéger la santé physique"
            " et mentale des travailleurs de l'entreprise.")
    page = (f"<html><nav><p>{care} (menu)</p></nav><main><p>{care}</p><script>var santé = 1;</script>"
            f"<li>{care}</li><p>La démission est un acte unilatéral par lequel le salarié rompt son contrat.</p>"
            "</main><footer><p>Ministère du travail, de la santé et des solidarités : mentions légales du"
            " site et de ses pages.</p></footer></html>")
    head = _committed(tmp_path / "fiches", {"src/fetch-data/__tests__/page.html": page})
    monkeypatch.setattr(sets, "TRAVAIL_COMMIT", head)
    records = list(sets.travail_paragraphs(tmp_path / "fiches"))
    assert [text for _, _, text in records] == [care]  # once; nor the menu, nor a paragraph about no care
    sets.write_outside("travail", iter(records), {records[0][0]: "admin"}, tmp_path / "out")
    written = (tmp_path / "out" / f"travail-{records[0][1]}.txt").read_text(encoding="utf-8")
    assert written == f"fr|admin/travail|{care}\n"


def test_the_faq_set_reads_each_question_and_its_answer_from_the_scripts(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    sets = _module(ROOT / "bench" / "independent_sets.py", "independent_sets_builder")
    script = ("module.exports = () => [\n  {\n    question: 'Puis-je changer de psychologue\\u00A0?',\n"
              "    answer: 'Vous pouvez changer \\\n    de psychologue. <a href=\"x\">Choisir</a>',\n  },\n];\n")
    head = _committed(tmp_path / "psy", {"frontend/src/services/faq/student/problem.js": script})
    monkeypatch.setattr(sets, "SANTE_PSY_COMMIT", head)
    records = list(sets.sante_psy_faq(tmp_path / "psy"))
    assert [text for _, _, text in records] == [
        "Puis-je changer de psychologue ? / Vous pouvez changer de psychologue. Choisir"]  # blanks normalised
