"""Classification: labels that disagree resolve to the strictest class, in every syntax people write."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phigate.api import Resource
from phigate.classify import Classifier, _rank, labels_in_text
from phigate.config import Config
from phigate.model import Status
from phigate.testing import scan_inventory

CLASSIFY = Classifier(Config())


def bucket(tags: dict[str, str], name: str = "exemplum-notes") -> Resource:
    return Resource(f"arn:aws:s3:::{name}", "aws.s3.bucket", "object_store", "aws", "111122223333",
                    "eu-west-3", name, tags)


@pytest.mark.parametrize(("tags", "expected"), [
    ({"data_class": "clinical"}, "clinical"),
    ({"DATA_CLASS": "clinical", "data_class": "public"}, "clinical"),
    ({"data_class": "public", "Data_Class": "administrative"}, "administrative"),
    ({"data_class": "clinical,public"}, "clinical"),
    ({"data_class": "public / health"}, "clinical"),
    ({"data_class": "public"}, "public"),
    ({"data_class": "secret"}, "unclassified"),
    ({"data_class": "secret", "DATA_CLASS": "pii"}, "administrative"),
    ({"owner": "team-a"}, "unclassified"),
])
def test_the_strictest_class_among_every_label_wins(tags: dict[str, str], expected: str) -> None:
    assert CLASSIFY.data_class(bucket(tags)) == expected


@pytest.mark.parametrize("comment", [
    "Consultation notes. data_class=clinical",
    "Consultation notes [data_class=clinical]",
    "Consultation notes (data_class=clinical)",
    "data_class: clinical",
    "data_class = 'clinical'",
    'Consultation notes; data_class="clinical".',
])
def test_comment_syntaxes_people_write_are_understood(comment: str) -> None:
    assert labels_in_text(comment)["data_class"] == "clinical"
    assert CLASSIFY.data_class(bucket(labels_in_text(comment))) == "clinical"


def test_two_values_in_one_comment_keep_both_and_the_strictest_wins() -> None:
    labels = labels_in_text("data_class=public, reviewed 2026; data_class=clinical")
    assert labels["data_class"] == "public,clinical"
    assert CLASSIFY.data_class(bucket(labels)) == "clinical"


def test_a_value_listed_under_two_classes_means_the_stricter() -> None:
    config = Config(classification_values={"clinical": ("notes",), "public": ("notes", "site")})
    assert Classifier(config).data_class(bucket({"data_class": "notes"})) == "clinical"


def test_disagreeing_labels_are_shown_in_the_finding() -> None:
    unencrypted = bucket({"DATA_CLASS": "clinical", "data_class": "public"})
    unencrypted = Resource(unencrypted.id, unencrypted.type, unencrypted.kind, "aws", "111122223333",
                           "eu-west-3", "exemplum-notes", unencrypted.tags,
                           attributes={"encryption": {"at_rest": False}})
    result = scan_inventory([unencrypted], only="PHI-ENC-001")
    [finding] = [f for f in result.findings if f.status is Status.FAIL]
    assert finding.resource.data_class == "clinical"
    assert "labels disagree: DATA_CLASS=clinical (clinical), data_class=public (public)" in finding.message
    assert any(o.op == "classified" for o in finding.evidence)


TAG_KEYS = ["data_class", "DATA_CLASS", "Data_Class", "owner", "classification", "env"]
TAG_VALUES = ["clinical", "public", "admin", "pii", "secret", "", " ", "clinical,public",
              "public / health", "Clinical", "team-a", "research", "secret,research"]


@settings(derandomize=True, max_examples=300, deadline=None, database=None)
@given(st.dictionaries(st.sampled_from(TAG_KEYS), st.sampled_from(TAG_VALUES), max_size=4))
def test_the_class_read_from_tags_is_the_strictest_label_even_when_remembered(tags: dict[str, str]) -> None:
    """The classifier remembers what keys and values mean; a second reading, from memory,
    gives what the labels it lists say (the strictest class, the first written between equals)."""
    classifier = Classifier(Config(classification_values={
        **Config().classification_values, "research": ("research",)}))
    labels = classifier.labels(tags)
    expected = (min((c for _, _, c in labels), key=_rank) if labels
                else "unclassified")
    assert classifier.data_class(bucket(tags)) == expected
    assert classifier.data_class(bucket(dict(tags))) == expected
