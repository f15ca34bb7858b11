#!/usr/bin/env python3
"""How well and how fast the content detectors find health data and identifiers.

    python bench/phi_detect.py CORPUS.jsonl [--vs-presidio] [--vs-edsnlp PYTHON]
    python bench/phi_detect.py tests/data/content/heldout-notes.txt
    python bench/phi_detect.py tests/data/content/independent/test*.txt     # several, together

CORPUS is what ``../shared/bench/gen_notes.py -n N --seed S -o CORPUS.jsonl`` writes (labelled
French/English notes), or a file of hand-marked notes (``LANG|KIND|text with [[TYPE:spans]]``,
like the held-out set). Prints, per entity type, precision and recall over labelled spans (a
detected span counts when it overlaps a labelled one of its type); per note, health-data and
identifier precision and recall; false alarms (health data reported in a purely administrative
note) per 10,000 administrative notes; NIR hits on numbers with an invalid key; and throughput
in MB of text per CPU second on one core (``Detector.scan`` on batches of 256 notes, as sampling
scans an object of many records; best of three passes). The last line is one JSON object with
those figures.

Runs offline; nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from phigate_providers.content.detect import Detector, RecordAnalysis

TYPES = ("HEALTH", "PERSON", "DATE_OF_BIRTH", "FR_NIR", "PHONE", "EMAIL", "ADDRESS", "RPPS", "PAYMENT_CARD")
#: The generator's names for the types the detectors report under another name.
GOLD_ALIASES = {"PRACTITIONER_ID": "RPPS"}
BATCH = 256
_MARK = re.compile(r"\[\[([A-Z_]+):(.+?)\]\]")


@dataclass
class Tally:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None


@dataclass
class Results:
    spans: dict[str, Tally] = field(default_factory=lambda: {t: Tally() for t in TYPES})
    health_notes: Tally = field(default_factory=Tally)
    #: Health per note, by the source of the notes (hand-marked sets name theirs).
    health_by_source: dict[str, Tally] = field(default_factory=dict)
    identifier_notes: Tally = field(default_factory=Tally)
    admin_notes: int = 0
    false_alarms: int = 0
    invalid_nir_hits: int = 0
    decoy_hits: Counter[str] = field(default_factory=Counter)
    notes: int = 0
    megabytes: float = 0.0
    cpu_seconds: float = 0.0


def read_marked(path: Path) -> Iterator[dict[str, Any]]:
    """Hand-marked notes as records shaped like the generator's."""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith("#"):
            continue
        lang, kind_and_source, marked = line.split("|", 2)
        kind, _, source = kind_and_source.partition("/")  # "clinical/medkit": judged per note
        text, entities = "", []
        last = 0
        for match in _MARK.finditer(marked):
            text += marked[last:match.start()]
            kind_of, value = match.group(1), match.group(2)
            health = kind_of == "HEALTH"
            category = "health" if health else "decoy" if kind_of == "DECOY" else "identifier"
            entities.append({"type": kind_of, "start": len(text), "end": len(text) + len(value),
                             "counts": kind_of != "DECOY", "category": category})
            text += value
            last = match.end()
        text += marked[last:]
        counted = [e for e in entities if e["counts"] and e["type"] != "PRACTITIONER"]
        # Sets judged per note (KIND clinical / admin / unlabelled) mark identifiers, not health spans.
        marked_health = any(e["category"] == "health" for e in counted)
        health: bool | None = marked_health or kind == "clinical"
        if kind == "unlabelled":
            health = None
        yield {"id": f"h{number:04d}", "lang": lang, "kind": kind, "source": source or path.stem,
               "text": text, "entities": entities,
               "health_spans": marked_health or kind not in ("clinical", "unlabelled"),
               "labels": {"contains_health_data": health,
                          "contains_identifiers": any(e["category"] == "identifier" for e in counted)}}


def read_corpus(path: Path) -> list[dict[str, Any]]:
    if path.suffix == ".txt":
        return list(read_marked(path))
    with path.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


def administrative(note: dict[str, Any]) -> bool:
    return str(note.get("kind", "")).startswith("admin") and note["labels"]["contains_health_data"] is False


def evaluate(notes: list[dict[str, Any]], detector: Detector) -> Results:
    results = Results(notes=len(notes))
    texts = [note["text"] for note in notes]
    analyses: list[RecordAnalysis] = []
    for first in range(0, len(texts), BATCH):
        analyses.extend(detector.analyse_records(texts[first:first + BATCH]))
    # Throughput of what sampling runs (Detector.scan on units of BATCH records, like an object
    # of that many rows), in CPU time on one core: the best of three passes, as other work on a
    # shared machine only ever slows a pass down.
    passes = []
    for _ in range(3):
        started = time.process_time()
        for first in range(0, len(texts), BATCH):
            detector.scan(texts[first:first + BATCH])
        passes.append(time.process_time() - started)
    results.cpu_seconds = min(passes)
    results.megabytes = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    for note, analysis in zip(notes, analyses, strict=True):
        _score(note, analysis, results)
    return results


def _score(note: dict[str, Any], analysis: RecordAnalysis, results: Results) -> None:  # noqa: PLR0912
    gold: dict[str, list[tuple[int, int]]] = {t: [] for t in TYPES}
    decoys: list[tuple[int, int, str]] = []
    for entity in note["entities"]:
        kind = GOLD_ALIASES.get(entity["type"], entity["type"])
        if kind in gold and (entity["counts"] or kind in ("RPPS",)):
            gold[kind].append((entity["start"], entity["end"]))
        elif entity["type"] == "DECOY":
            decoys.append((entity["start"], entity["end"], entity.get("decoy_reason", "decoy")))
    found: dict[str, list[tuple[int, int]]] = {t: [] for t in TYPES}
    for span in analysis.identifiers:
        found.setdefault(span.type, []).append((span.start, span.end))
    found["HEALTH"] = [(h.start, h.end) for h in analysis.health]
    for kind in TYPES:
        if kind == "HEALTH" and not note.get("health_spans", True):
            continue  # judged per note, not per span
        tally = results.spans[kind]
        hit = [any(s < ge and gs < e for s, e in found[kind]) for gs, ge in gold[kind]]
        tally.tp += sum(hit)
        tally.fn += len(hit) - sum(hit)
        for s, e in found[kind]:
            if not any(s < ge and gs < e for gs, ge in gold[kind]):
                tally.fp += 1
                for ds, de, reason in decoys:
                    if s < de and ds < e:
                        results.decoy_hits[f"{kind}:{reason}"] += 1
                        if kind == "FR_NIR" and reason == "nir_shaped_invalid_key":
                            results.invalid_nir_hits += 1
    labels = note["labels"]
    if labels["contains_health_data"] is not None:
        _note(results.health_notes, labels["contains_health_data"], analysis.has_health)
        source = results.health_by_source.setdefault(note.get("source", "generator"), Tally())
        _note(source, labels["contains_health_data"], analysis.has_health)
    _note(results.identifier_notes, labels["contains_identifiers"], analysis.personal)
    if administrative(note):
        results.admin_notes += 1
        results.false_alarms += analysis.has_health


def _note(tally: Tally, truth: bool, said: bool) -> None:
    tally.tp += truth and said
    tally.fp += said and not truth
    tally.fn += truth and not said


def _fmt(value: float | None) -> str:
    return "  n/a" if value is None else f"{value:.4f}"


def report(results: Results, name: str) -> dict[str, Any]:
    print(f"corpus {name}: {results.notes} notes, {results.megabytes:.2f} MB")
    print(f"{'entity':<15}{'precision':>10}{'recall':>10}{'tp':>8}{'fp':>7}{'fn':>7}")
    for kind, tally in results.spans.items():
        if tally.tp + tally.fp + tally.fn:
            print(f"{kind:<15}{_fmt(tally.precision()):>10}{_fmt(tally.recall()):>10}"
                  f"{tally.tp:>8}{tally.fp:>7}{tally.fn:>7}")
    notes = (("health (note)", results.health_notes), ("identif. (note)", results.identifier_notes))
    for label, tally in notes:
        print(f"{label:<15}{_fmt(tally.precision()):>10}{_fmt(tally.recall()):>10}"
              f"{tally.tp:>8}{tally.fp:>7}{tally.fn:>7}")
    if len(results.health_by_source) > 1:
        for source, tally in sorted(results.health_by_source.items()):
            print(f"{'  ' + source:<15}{_fmt(tally.precision()):>10}{_fmt(tally.recall()):>10}"
                  f"{tally.tp:>8}{tally.fp:>7}{tally.fn:>7}")
    per_10k = 1e4 * results.false_alarms / results.admin_notes if results.admin_notes else None
    print(f"false alarms: {results.false_alarms} in {results.admin_notes} administrative notes"
          f" = {per_10k if per_10k is None else round(per_10k, 2)} per 10,000")
    print(f"NIR hits on an invalid key: {results.invalid_nir_hits}")
    if results.decoy_hits:
        print("decoys reported: " + ", ".join(f"{k} {v}" for k, v in results.decoy_hits.most_common()))
    speed = results.megabytes / results.cpu_seconds if results.cpu_seconds else None
    print(f"throughput: {_fmt(speed)} MB/s per core ({results.cpu_seconds:.2f} CPU s)")
    return {
        "corpus": name, "notes": results.notes, "megabytes": round(results.megabytes, 3),
        "entities": {k: {"precision": t.precision(), "recall": t.recall(), "tp": t.tp, "fp": t.fp, "fn": t.fn}
                     for k, t in results.spans.items() if t.tp + t.fp + t.fn},
        "health_precision": results.health_notes.precision(), "health_recall": results.health_notes.recall(),
        "health_by_source": {k: {"precision": t.precision(), "recall": t.recall(), "tp": t.tp, "fp": t.fp,
                                 "fn": t.fn} for k, t in sorted(results.health_by_source.items())},
        "identifier_precision": results.identifier_notes.precision(),
        "identifier_recall": results.identifier_notes.recall(),
        "admin_notes": results.admin_notes, "false_alarms": results.false_alarms,
        "false_alarms_per_10k_admin": per_10k, "invalid_nir_hits": results.invalid_nir_hits,
        "mb_per_s_per_core": speed,
    }


def presidio(notes: list[dict[str, Any]]) -> dict[str, Any] | None:
    """Presidio's analyzer on the same notes, for identifiers it knows; None when it cannot
    run offline here (it needs a spaCy model installed as a package)."""
    try:
        from presidio_analyzer import AnalyzerEngine  # type: ignore[import-not-found]
    except ImportError:
        print("presidio: presidio-analyzer is not installed; comparison skipped")
        return None
    try:
        engine = AnalyzerEngine()
    except Exception as exc:  # its model loader downloads when the model is missing
        print(f"presidio: cannot start offline ({type(exc).__name__}); comparison skipped")
        return None
    mapping = {"EMAIL_ADDRESS": "EMAIL", "PHONE_NUMBER": "PHONE", "PERSON": "PERSON",
               "CREDIT_CARD": "PAYMENT_CARD"}
    tallies = {kind: Tally() for kind in set(mapping.values())}
    started = time.process_time()
    for note in notes:
        found: dict[str, list[tuple[int, int]]] = {k: [] for k in tallies}
        for result in engine.analyze(text=note["text"], language="en"):
            if result.entity_type in mapping:
                found[mapping[result.entity_type]].append((result.start, result.end))
        for kind, tally in tallies.items():
            gold = [(e["start"], e["end"]) for e in note["entities"] if e["type"] == kind and e["counts"]]
            hit = [any(s < ge and gs < e for s, e in found[kind]) for gs, ge in gold]
            tally.tp += sum(hit)
            tally.fn += len(hit) - sum(hit)
            tally.fp += sum(not any(s < ge and gs < e for gs, ge in gold) for s, e in found[kind])
    seconds = time.process_time() - started
    megabytes = sum(len(n["text"].encode()) for n in notes) / 1e6
    for kind, tally in sorted(tallies.items()):
        print(f"presidio {kind:<13}{_fmt(tally.precision()):>10}{_fmt(tally.recall()):>10}")
    print(f"presidio throughput: {megabytes / seconds:.3f} MB/s per core")
    return {"entities": {k: {"precision": t.precision(), "recall": t.recall()} for k, t in tallies.items()},
            "mb_per_s_per_core": megabytes / seconds}


def edsnlp_peer(notes: list[dict[str, Any]], python: Path, limit: int) -> dict[str, Any] | None:
    """edsnlp's rule-based pipeline on the same notes (the first ``limit``), run by ``python``
    (an interpreter with edsnlp installed): health per note and MB/s per core."""
    sample = notes[:limit]
    script = Path(__file__).resolve().parent / "peers" / "edsnlp_health.py"
    try:
        done = subprocess.run([str(python), str(script)], input=json.dumps([n["text"] for n in sample]),
                              capture_output=True, text=True, check=True, timeout=3600)
    except (OSError, subprocess.SubprocessError) as exc:
        print(f"edsnlp: cannot run with {python} ({type(exc).__name__}); comparison skipped")
        return None
    answer = json.loads(done.stdout)
    tally, by_source = Tally(), {}
    for note, said in zip(sample, answer["health"], strict=True):
        truth = note["labels"]["contains_health_data"]
        if truth is not None:
            _note(tally, truth, said)
            _note(by_source.setdefault(note.get("source", "generator"), Tally()), truth, said)
    megabytes = sum(len(n["text"].encode("utf-8")) for n in sample) / 1e6
    speed = megabytes / answer["cpu_seconds"] if answer["cpu_seconds"] else None
    print(f"edsnlp (rule-based, {len(sample)} notes): health precision {_fmt(tally.precision())}"
          f" recall {_fmt(tally.recall())}, {_fmt(speed)} MB/s per core")
    for source, each in sorted(by_source.items()):
        if len(by_source) > 1:
            print(f"edsnlp   {source:<13}{_fmt(each.precision()):>10}{_fmt(each.recall()):>10}")
    return {"health_precision": tally.precision(), "health_recall": tally.recall(), "notes": len(sample),
            "mb_per_s_per_core": speed,
            "health_by_source": {k: {"precision": t.precision(), "recall": t.recall()}
                                 for k, t in sorted(by_source.items())}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", type=Path, nargs="+",
                        help="notes (JSON Lines from gen_notes.py, or marked .txt); several are scored"
                             " together, each marked set's sources apart")
    parser.add_argument("--vs-presidio", action="store_true", help="also run Presidio when it is installed")
    parser.add_argument("--vs-edsnlp", type=Path, metavar="PYTHON",
                        help="also run edsnlp's rule-based pipeline with this interpreter (edsnlp installed)")
    parser.add_argument("--peer-notes", type=int, default=2000, help="notes given to edsnlp (default 2000)")
    args = parser.parse_args(argv)
    notes = [note for corpus in args.corpus for note in read_corpus(corpus)]
    if not notes:
        print(f"{' '.join(map(str, args.corpus))}: no notes", file=sys.stderr)
        return 2
    figures = report(evaluate(notes, Detector()), "+".join(corpus.name for corpus in args.corpus))
    if args.vs_presidio:
        figures["presidio"] = presidio(notes)
    if args.vs_edsnlp:
        figures["edsnlp"] = edsnlp_peer(notes, args.vs_edsnlp, args.peer_notes)
    print(json.dumps(figures, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
