"""The index's records and the tallies: cheaper shapes, the same outcomes."""

from __future__ import annotations

from pathlib import Path

from phigate.evaluate import Evaluator, InventoryIndex
from phigate.model import Status

from .test_evaluate import SEGMENTATION, bucket, findings, policies, role


def test_stores_read_only_for_their_class_share_one_record_per_class(tmp_path: Path) -> None:
    pol = policies(tmp_path, SEGMENTATION)
    stores = [bucket("notes"), bucket("scans"), bucket("exports", tags={"data_class": "pii"})]
    evaluator = Evaluator(pol)
    index = InventoryIndex(evaluator.policies)
    list(evaluator.run([*stores, role("analytics", "notes", "exports"), role("clinician", "scans")],
                       index))
    notes, scans, exports = (index.lookup(s.id) for s in stores)
    assert notes is scans and notes is not exports
    assert notes == {"kind": "object_store", "provider": "aws", "data_class": "clinical"}
    assert exports is not None and exports["data_class"] == "administrative"
    found = {f.resource.id: f for f in findings(pol, [*stores, role("analytics", "notes", "exports"),
                                                      role("clinician", "scans")])}
    assert found["role/analytics"].status is Status.FAIL
    assert "where data_class is clinical: notes" in found["role/analytics"].message
    assert found["role/clinician"].status is Status.PASS


def test_stores_read_by_name_through_a_reference_keep_their_own_records(tmp_path: Path) -> None:
    pol = policies(tmp_path, """\
        id: NAMED
        title: t
        severity: high
        kinds: [principal]
        assert: {not: {some: can_read, match: {path: name, op: eq, value: secret}}}
        """)
    secret = bucket("arn:aws:s3:::secret")
    secret = type(secret)(**{**secret.__dict__, "name": "secret"})
    other = type(secret)(**{**secret.__dict__, "id": "arn:aws:s3:::other", "name": "other"})
    evaluator = Evaluator(pol)
    index = InventoryIndex(evaluator.policies)
    outcomes = list(evaluator.run([secret, other, role("reader", secret.id), role("quiet", other.id)],
                                  index))
    assert index.lookup(secret.id) is not index.lookup(other.id)
    assert {o.resource.id: o.status for o in outcomes} == {"role/reader": Status.FAIL,
                                                          "role/quiet": Status.PASS}


def test_skips_are_tallied_alike_whether_reported_or_not(tmp_path: Path) -> None:
    pol = policies(tmp_path, """\
        id: CLIN
        title: t
        severity: high
        kinds: [object_store]
        where: {path: data_class, op: eq, value: clinical}
        assert: {path: versioning, op: eq, value: true}
        """)
    estate = [bucket(f"b{i}", versioning=i % 3 == 0,
                     tags={"data_class": ("clinical", "pii", "public")[i % 3]}) for i in range(30)]
    reported = Evaluator(pol)
    skips = [o for o in reported.run(estate) if o.status is Status.SKIP]
    counted = Evaluator(pol)
    assert all(o.status is not Status.SKIP
               for o in counted.run(estate, emit=frozenset({Status.FAIL, Status.ERROR})))
    assert len(skips) == 20
    assert reported.tallies() == counted.tallies()
    assert counted.tallies()["CLIN"][Status.SKIP] == 20
    assert counted.tallies_by_provider()["CLIN"]["aws"][Status.SKIP] == 20
