"""edsnlp's rule-based French clinical pipeline as a health-data detector, for bench/phi_detect.py.

Runs under a Python that has edsnlp installed (not phigate's: edsnlp brings spaCy and its own
dependencies). Reads a JSON list of texts on standard input; writes one JSON object: whether
each text holds at least one entity of the pipeline's health components, and the CPU seconds
spent on the texts (building the pipeline is not counted).
"""

from __future__ import annotations

import json
import os
import sys
import time

os.environ.setdefault("TQDM_DISABLE", "1")

#: edsnlp's rule-based named-entity components about a person's health (edsnlp 0.23).
COMPONENTS = ("cim10", "drugs", "covid", "aids", "cerebrovascular_accident", "ckd",
              "congestive_heart_failure",
              "connective_tissue_disease", "copd", "dementia", "diabetes", "hemiplegia", "leukemia",
              "liver_disease", "lymphoma", "myocardial_infarction", "peptic_ulcer_disease",
              "peripheral_vascular_disease", "solid_tumor", "alcohol", "tobacco")


def main() -> int:
    import edsnlp  # type: ignore[import-not-found]
    import edsnlp.pipes as eds  # type: ignore[import-not-found]

    texts = json.load(sys.stdin)
    nlp = edsnlp.blank("eds")
    nlp.add_pipe(eds.normalizer())
    nlp.add_pipe(eds.sentences())
    for name in COMPONENTS:
        nlp.add_pipe(getattr(eds, name)())
    started = time.process_time()
    flags = [bool(nlp(text).ents) for text in texts]
    json.dump({"health": flags, "cpu_seconds": time.process_time() - started, "components": COMPONENTS},
              sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
