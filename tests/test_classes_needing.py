"""For which data classes the selected policies need each attribute (``classes_needing``).

What a provider is told to read only for some classes must be exactly what every policy reading
it can judge for those classes alone: a policy whose ``where`` does not settle the class, one
reading the attribute through a reference or into an inverse list, keeps it read everywhere.
"""

from __future__ import annotations

from pathlib import Path

from phigate.classify import Classifier
from phigate.config import Config
from phigate.load import bundled_pack, load_policies
from phigate.model import Policy
from phigate.run import classes_needing

CLASSES = Classifier(Config()).classes


def _pack(*ids: str) -> list[Policy]:
    return [p for p in load_policies([bundled_pack()]) if p.id in ids]


def _policy(tmp_path: Path, text: str) -> list[Policy]:
    path = tmp_path / "TEAM-X-001.yaml"
    path.write_text("id: TEAM-X-001\ntitle: t\nmessage: m\nseverity: low\n"
                    "remediation:\n  default: r\n" + text)
    return load_policies([path])


def test_the_classifier_names_every_class_it_can_give() -> None:
    assert {"clinical", "administrative", "public", "unclassified"} == CLASSES


def test_attributes_judged_on_clinical_buckets_only_are_needed_for_clinical_only() -> None:
    found = classes_needing(_pack("PHI-INT-001", "PHI-LOG-001", "PHI-ENC-001"), CLASSES)
    assert found["object_store"]["versioning"] == {"clinical"}
    assert found["object_store"]["logging"] == {"clinical"}
    assert "encryption" not in found["object_store"]  # PHI-ENC-001 judges every class
    assert "logging" not in found.get("account", {})  # the account's logging: whatever its class


def test_a_policy_judging_every_class_keeps_the_attribute_read_everywhere(tmp_path: Path) -> None:
    every = _policy(tmp_path, "kinds: [object_store]\nassert: {path: versioning, op: eq, value: true}\n")
    assert "versioning" not in classes_needing([*_pack("PHI-INT-001"), *every], CLASSES).get("object_store", {})


def test_a_where_that_does_not_settle_the_class_keeps_the_attribute_read_everywhere(tmp_path: Path) -> None:
    named = _policy(tmp_path, "kinds: [object_store]\nwhere: {path: name, op: eq, value: x}\n"
                              "assert: {path: versioning, op: eq, value: true}\n")
    assert classes_needing(named, CLASSES) == {}


def test_an_attribute_read_through_a_reference_is_needed_for_every_class() -> None:
    # PHI-SEG-002 reads stores' classes through principals' can_read; PHI-SEG-001 derives keys'
    # encrypts lists from every store's encryption.
    found = classes_needing(_pack("PHI-SEG-001", "PHI-SEG-002", "PHI-ENC-002"), CLASSES)
    assert "encryption" not in found.get("object_store", {})


def test_classes_beyond_the_defaults_come_from_the_config(tmp_path: Path) -> None:
    config = Config(classification_values={"clinical": ("phi",), "research": ("study",)})
    classes = Classifier(config).classes
    assert classes == {"clinical", "research", "unclassified"}
    assert classes_needing(_pack("PHI-INT-001"), classes)["object_store"]["versioning"] == {"clinical"}
