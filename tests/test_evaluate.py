"""Evaluation semantics: three-valued logic, references, never a pass without evidence."""

from __future__ import annotations

import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from phigate.api import CollectionError, Resource, Unknown
from phigate.config import Config, load_config
from phigate.evaluate import Evaluator, InventoryIndex
from phigate.explain import explain
from phigate.load import load_policies
from phigate.model import Finding, Status
from phigate.problems import ProblemsError

HEADER = "title: t\nseverity: high\n"


def policies(tmp_path: Path, *texts: str, config: Config | None = None) -> list[Any]:
    for i, text in enumerate(texts):
        (tmp_path / f"p{i}.yaml").write_text(textwrap.dedent(text))
    return load_policies([tmp_path], config)


def findings(pols: list[Any], resources: list[Any], config: Config | None = None) -> list[Finding]:
    evaluator = Evaluator(pols, config)
    index = InventoryIndex(evaluator.policies)
    return [explain(o, index) for o in evaluator.run(resources, index)]


def statuses(found: list[Finding]) -> dict[str, str]:
    return {f"{f.policy_id}:{f.resource.id}": f.status.value for f in found}


def bucket(rid: str, **attributes: Any) -> Resource:
    tags = attributes.pop("tags", {"data_class": "clinical"})
    return Resource(id=rid, type="aws.s3.bucket", kind="object_store", provider="aws",
                    tags=tags, attributes=attributes)


def test_booleans_never_equal_numbers(tmp_path: Path) -> None:
    pol = policies(tmp_path, "id: PX\n" + HEADER + "kinds: [object_store]\n"
                   "assert: {path: versioning, op: eq, value: true}\n")
    found = findings(pol, [bucket("a", versioning=True), bucket("b", versioning=1)])
    assert statuses(found) == {"PX:a": "pass", "PX:b": "fail"}


def test_a_missing_attribute_is_an_error_naming_the_path(tmp_path: Path) -> None:
    pol = policies(tmp_path, "id: PX\n" + HEADER + "kinds: [object_store]\n"
                   "assert: {path: encryption.key_manager, op: eq, value: customer}\n")
    [finding] = findings(pol, [bucket("a")])
    assert finding.status is Status.ERROR
    assert finding.message == "attribute 'encryption.key_manager' is missing"
    assert finding.evidence[0].outcome == "error"


@pytest.mark.parametrize("condition, expected", [
    ("any: [{path: versioning, op: eq, value: true}, {path: logging.access_logs, op: eq, value: true}]", "pass"),
    ("any: [{path: versioning, op: eq, value: false}, {path: logging.access_logs, op: eq, value: true}]", "error"),
    ("all: [{path: versioning, op: eq, value: false}, {path: logging.access_logs, op: eq, value: true}]", "fail"),
    ("all: [{path: versioning, op: eq, value: true}, {path: logging.access_logs, op: eq, value: true}]", "error"),
    ("not: {path: logging.access_logs, op: eq, value: true}", "error"),
    ("not: {path: versioning, op: eq, value: false}", "pass"),
])
def test_undecided_parts_follow_kleene_logic(tmp_path: Path, condition: str, expected: str) -> None:
    pol = policies(tmp_path, "id: PX\n" + HEADER + "kinds: [object_store]\nassert:\n  " + condition + "\n")
    [finding] = findings(pol, [bucket("a", versioning=True)])  # logging was not seen
    assert finding.status.value == expected


def test_an_undecidable_where_is_an_error_not_a_skip(tmp_path: Path) -> None:
    pol = policies(tmp_path, "id: PX\n" + HEADER + "kinds: [object_store]\n"
                   "where: {path: logging.access_logs, op: eq, value: false}\n"
                   "assert: {path: versioning, op: eq, value: true}\n")
    [finding] = findings(pol, [bucket("a", versioning=True)])
    assert finding.status is Status.ERROR
    assert finding.message.startswith("cannot tell whether the policy applies")


def test_unknown_values_are_errors_with_their_reason(tmp_path: Path) -> None:
    pol = policies(tmp_path, "id: PX\n" + HEADER + "kinds: [object_store]\n"
                   "assert: {path: encryption.at_rest, op: eq, value: true}\n")
    unknown = bucket("a", encryption={"at_rest": Unknown("known after apply")})
    [finding] = findings(pol, [unknown])
    assert finding.status is Status.ERROR and "known after apply" in finding.message


SEGMENTATION = """\
id: SEG
title: t
severity: critical
kinds: [principal]
params: {allowed: {default: []}}
where: {not: {path: name, op: in, param: allowed}}
assert:
  not:
    all:
      - {some: can_read, match: {path: data_class, op: eq, value: clinical}}
      - {some: can_read, match: {path: data_class, op: eq, value: administrative}}
"""


def role(name: str, *reads: str) -> Resource:
    return Resource(id=f"role/{name}", type="aws.iam.role", kind="principal", provider="aws",
                    name=name, attributes={"can_read": list(reads)})


def test_references_are_followed_across_the_inventory(tmp_path: Path) -> None:
    pol = policies(tmp_path, SEGMENTATION)
    estate = [
        role("analytics", "notes", "exports"),   # listed before the stores it reads
        role("clinician", "notes"),
        role("ghost", "notes", "not-collected"),
        bucket("notes"),
        bucket("exports", tags={"data_class": "pii"}),
    ]
    found = {f.resource.id: f for f in findings(pol, estate)}
    assert found["role/analytics"].status is Status.FAIL
    assert "where data_class is clinical: notes" in found["role/analytics"].message
    assert found["role/clinician"].status is Status.PASS
    assert found["role/ghost"].status is Status.ERROR
    assert "not in the inventory" in found["role/ghost"].message


def test_params_come_from_the_config_file(tmp_path: Path) -> None:
    config_file = tmp_path / "phigate.yaml"
    config_file.write_text("policies:\n  SEG:\n    params: {allowed: [analytics]}\n    severity: low\n")
    config = load_config(config_file)
    (tmp_path / "pols").mkdir()
    pol = policies(tmp_path / "pols", SEGMENTATION, config=config)
    [finding] = findings(pol, [role("analytics", "notes", "exports"), bucket("notes")], config)
    assert finding.status is Status.SKIP
    assert pol[0].severity.label == "low"


def test_a_param_of_the_wrong_type_is_located_in_the_config(tmp_path: Path) -> None:
    config_file = tmp_path / "phigate.yaml"
    config_file.write_text("policies:\n  SEG:\n    params:\n      allowed: analytics\n")
    (tmp_path / "pols").mkdir()
    with pytest.raises(ProblemsError, match=r"phigate.yaml:4:16: param 'allowed' of 'SEG' must be a list"):
        policies(tmp_path / "pols", SEGMENTATION, config=load_config(config_file))


DEDICATED = """\
id: KEYS
title: t
severity: high
kinds: [object_store, volume]
where:
  all:
    - {path: data_class, op: eq, value: clinical}
    - {path: encryption.key, op: exists, value: true}
assert:
  not: {some: encryption.key.encrypts, match: {path: data_class, op: ne, value: clinical}}
"""


def test_derived_lists_find_a_key_shared_with_administrative_data(tmp_path: Path) -> None:
    pol = policies(tmp_path, DEDICATED)
    enc = {"at_rest": True, "key": "k1", "key_manager": "customer"}
    estate: list[Any] = [
        bucket("notes", encryption=enc),
        Resource(id="vol", type="aws.ec2.volume", kind="volume", provider="aws",
                 tags={"data_class": "admin"}, attributes={"encryption": enc}),
        bucket("labs", encryption={**enc, "key": "k2"}),
        Resource(id="k1", type="aws.kms.key", kind="key", provider="aws"),
        Resource(id="k2", type="aws.kms.key", kind="key", provider="aws"),
    ]
    assert statuses(findings(pol, estate)) == {
        "KEYS:labs": "pass", "KEYS:notes": "fail", "KEYS:vol": "skip"}
    # If some stores could not be read, "nothing else uses this key" cannot be claimed.
    denied = CollectionError(provider="aws", message="AccessDenied", kinds=("volume",))
    result = statuses(findings(pol, [*estate[:1], denied, *estate[2:]]))
    assert result["KEYS:notes"] == "error" and result["KEYS:labs"] == "error"


def test_collection_errors_become_errors_for_the_policies_they_touch(tmp_path: Path) -> None:
    pol = policies(tmp_path, "id: PX\n" + HEADER + "kinds: [object_store]\n"
                   "assert: {path: versioning, op: eq, value: true}\n", SEGMENTATION)
    denied = CollectionError(provider="aws", message="AccessDenied on s3:ListBuckets",
                             scope="111122223333", region="eu-west-3", kinds=("object_store",))
    found = findings(pol, [denied])
    assert [(f.policy_id, f.status.value, f.resource.id) for f in found] == [
        ("PX", "error", "aws:111122223333:eu-west-3")]
    assert found[0].message == "AccessDenied on s3:ListBuckets"


def test_types_select_provider_native_resources(tmp_path: Path) -> None:
    pol = policies(tmp_path, "id: PX\n" + HEADER + "types: [aws.s3.*]\n"
                   "assert: {path: raw.Versioning, op: eq, value: Enabled}\n")
    gcs = Resource(id="gs://x", type="gcp.storage.bucket", kind="object_store", provider="gcp")
    s3 = Resource(id="s3", type="aws.s3.bucket", kind="object_store", provider="aws",
                  raw={"Versioning": "Suspended"})
    assert statuses(findings(pol, [gcs, s3])) == {"PX:s3": "fail"}


def test_exists_reads_tags_whole_but_not_unseen_attributes(tmp_path: Path) -> None:
    pol = policies(tmp_path,
                   "id: TAG\n" + HEADER + "kinds: [object_store]\nassert: {path: tags.owner, op: exists, value: true}\n",
                   "id: KEY\n" + HEADER + "kinds: [object_store]\nassert: {path: encryption.key, op: exists, value: true}\n")
    assert statuses(findings(pol, [bucket("a")])) == {"KEY:a": "error", "TAG:a": "fail"}
    nullkey = bucket("b", encryption={"at_rest": True, "key": None})
    assert statuses(findings(pol, [nullkey]))["KEY:b"] == "fail"


def test_quantifiers_over_plain_lists(tmp_path: Path) -> None:
    pol = policies(tmp_path,
                   "id: EVERY\n" + HEADER + "kinds: [principal]\n"
                   "assert: {every: trusted_accounts, match: {op: in, value: ['111122223333']}}\n",
                   "id: SOME\n" + HEADER + "kinds: [table]\n"
                   "assert: {not: {some: grants, match: {path: grantee, op: eq, value: PUBLIC}}}\n")
    nobody = Resource(id="r0", type="t.r", kind="principal", provider="t", attributes={"trusted_accounts": []})
    other = Resource(id="r1", type="t.r", kind="principal", provider="t",
                     attributes={"trusted_accounts": ["111122223333", "999988887777"]})
    public = Resource(id="t1", type="t.t", kind="table", provider="t",
                      attributes={"grants": [{"grantee": "PUBLIC", "privileges": ["SELECT"]}]})
    assert statuses(findings(pol, [nobody, other, public])) == {
        "EVERY:r0": "pass", "EVERY:r1": "fail", "SOME:t1": "fail"}


def test_classification_follows_the_config(tmp_path: Path) -> None:
    pol = policies(tmp_path, "id: PX\n" + HEADER + "kinds: [object_store]\n"
                   "assert: {path: data_class, op: ne, value: unclassified}\n")
    estate = [bucket("a", tags={"Data_Class": " PHI "}), bucket("b", tags={"sensitivity": "health"}),
              bucket("c", tags={})]
    default = findings(pol, estate)
    assert [f.resource.data_class for f in default] == ["clinical", "unclassified", "unclassified"]
    config_file = tmp_path / "c.yaml"
    config_file.write_text("classification:\n  keys: [sensitivity]\n  values: {clinical: [health]}\n"
                           "  names: [{pattern: '^c$', data_class: public}]\n")
    custom = findings(pol, estate, load_config(config_file))
    assert [f.resource.data_class for f in custom] == ["unclassified", "clinical", "public"]


def test_streaming_policies_decide_before_the_stream_ends(tmp_path: Path) -> None:
    pol = policies(tmp_path, "id: PX\n" + HEADER + "kinds: [object_store]\n"
                   "assert: {path: versioning, op: eq, value: true}\n")
    produced = 0

    def stream() -> Iterator[Resource]:
        nonlocal produced
        for i in range(1_000_000):
            produced += 1
            yield bucket(f"b{i}", versioning=True)

    first = next(iter(Evaluator(pol).run(stream())))
    assert first.status is Status.PASS and produced == 1


def test_a_partly_read_resource_errors_only_where_evidence_is_missing(tmp_path: Path) -> None:
    pol = policies(tmp_path,
                   "id: VERS\n" + HEADER + "kinds: [object_store]\nassert: {path: versioning, op: eq, value: true}\n",
                   "id: TLS\n" + HEADER + "kinds: [object_store]\n"
                   "assert: {path: secure_transport_required, op: eq, value: true}\n")
    denied_policy = CollectionError(provider="aws", message="AccessDenied: s3:GetBucketPolicy",
                                    kinds=("object_store",), resource_id="seen")
    denied_bucket = CollectionError(provider="aws", message="AccessDenied: s3:ListBucket",
                                    kinds=("object_store",), resource_id="never-yielded")
    found = statuses(findings(pol, [denied_policy, bucket("seen", versioning=True), denied_bucket]))
    assert found == {"VERS:seen": "pass", "TLS:seen": "error",
                     "VERS:never-yielded": "error", "TLS:never-yielded": "error"}


def test_a_store_whose_key_was_not_read_makes_key_sharing_undecidable(tmp_path: Path) -> None:
    pol = policies(tmp_path, DEDICATED)
    enc = {"at_rest": True, "key": "k1", "key_manager": "customer"}
    estate = [bucket("notes", encryption=enc), bucket("exports", tags={"data_class": "pii"}),
              Resource(id="k1", type="aws.kms.key", kind="key", provider="aws")]
    [finding] = [f for f in findings(pol, estate) if f.status is not Status.SKIP]
    assert finding.status is Status.ERROR
    assert "encryption.key of 'exports' was not seen" in finding.message


def test_unread_sources_only_blind_relations_of_their_own_provider(tmp_path: Path) -> None:
    pol = policies(tmp_path, DEDICATED)
    enc = {"at_rest": True, "key": "k1", "key_manager": "customer"}
    pg_table = Resource(id="postgres://db/public/notes", type="postgres.table", kind="table",
                        provider="postgres", tags={"data_class": "clinical"})  # no encryption seen
    estate = [bucket("notes", encryption=enc), pg_table,
              Resource(id="k1", type="aws.kms.key", kind="key", provider="aws")]
    assert statuses(findings(pol, estate))["KEYS:notes"] == "pass"
