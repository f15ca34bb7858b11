"""A run's result is a value: the gate derives new ones, and every report and the exit code read
one answer to "was everything seen?"."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Callable
from dataclasses import FrozenInstanceError
from pathlib import Path
from typing import Any

import pytest

from phigate.baseline import Baseline, KnownFailure
from phigate.config import Config
from phigate.gate import gate
from phigate.load import load_policies
from phigate.model import Severity, Status, Waiver
from phigate.reporters.json import JsonReporter
from phigate.reporters.markdown import verdict
from phigate.reporters.sarif import SarifReporter
from phigate.reporters.text import TextReporter
from phigate.result import RunResult
from phigate.run import scan
from phigate.waivers import WaiverFile
from phigate_providers.snapshot import SnapshotProvider

from .conftest import DATA, resource

POLICIES = DATA / "policies"
TODAY = dt.date(2026, 6, 1)
INCOMPLETE_LINE = "Evidence is incomplete"


def clinical_store(rid: str, **attributes: Any) -> dict[str, Any]:
    return resource(rid, "object_store", tags={"data_class": "clinical"}, attributes=attributes)


@pytest.fixture
def scanned(write_snapshot: Callable[..., Path]) -> RunResult:
    """A failure (``notes``: no versioning) and an error (``draft``: versioning not seen)."""
    path = write_snapshot([clinical_store("notes", versioning=False), clinical_store("draft")])
    return scan([SnapshotProvider([path])], load_policies([POLICIES], Config()), Config(),
                keep_evaluated=True)


def waivers_for_both() -> WaiverFile:
    expires = dt.date(2099, 1, 1)
    return WaiverFile("waivers.yaml", (
        Waiver("T-VERSIONING", "notes", "replaced in Q3", "data-platform", expires),
        Waiver("T-VERSIONING", "draft", "trail kept elsewhere", "data-platform", expires,
               status=Status.ERROR)))


def statuses(result: RunResult) -> dict[str, Status]:
    return {f.resource.id: f.status for f in result.findings if f.policy_id == "T-VERSIONING"}


def test_a_run_result_cannot_be_changed_in_place(scanned: RunResult) -> None:
    with pytest.raises(FrozenInstanceError):
        scanned.findings = ()  # type: ignore[misc]
    with pytest.raises(FrozenInstanceError):
        scanned.baseline = None  # type: ignore[misc]
    assert isinstance(scanned.findings, tuple) and isinstance(scanned.collection_errors, tuple)


def test_the_gate_gives_a_new_result_and_leaves_the_scan_as_it_was(scanned: RunResult) -> None:
    before = (statuses(scanned), {p: dict(c) for p, c in scanned.counts.items()})
    known = KnownFailure("old", "T-VERSIONING", "medium", "gone", None, "test", "acct", "was failing")
    gated = gate(scanned, waivers=waivers_for_both(), baseline=Baseline("base.json", {"old": known}),
                 today=TODAY)
    assert gated is not scanned
    assert (statuses(scanned), {p: dict(c) for p, c in scanned.counts.items()}) == before
    assert statuses(scanned) == {"notes": Status.FAIL, "draft": Status.ERROR}
    assert scanned.waivers is None and scanned.baseline is None
    assert statuses(gated) == {"notes": Status.WAIVED, "draft": Status.WAIVED}
    assert gated.counts["T-VERSIONING"][Status.WAIVED] == 2
    assert gated.counts["T-VERSIONING"][Status.FAIL] == gated.counts["T-VERSIONING"][Status.ERROR] == 0
    assert gated.counts_by_provider["T-VERSIONING"]["test"][Status.WAIVED] == 2
    assert gated.waivers is not None and len(gated.waivers.applied) == 2
    # The baseline was compared with the waived result: nothing new fails, and the old failure
    # is not resolved, since its resource was never evaluated.
    assert gated.baseline is not None and gated.baseline.new == frozenset()
    assert [k.id for k in gated.baseline.not_evaluated] == ["old"]


def render(reporter: Any, result: RunResult) -> str:
    out = io.StringIO()
    reporter.render(result, out, color=False)
    return out.getvalue()


def what_each_says(result: RunResult) -> dict[str, Any]:
    """Each format's and the exit code's word on whether the evidence is complete."""
    sarif = json.loads(render(SarifReporter(), result))["runs"][0]
    return {
        "exit": result.exit_code(Severity.CRITICAL),
        "json": json.loads(render(JsonReporter(), result))["summary"]["evidence_complete"],
        "sarif": (sarif["invocations"][0]["executionSuccessful"], sarif["properties"]["evidence-complete"]),
        "text": INCOMPLETE_LINE in render(TextReporter(), result),
        "markdown": "evidence incomplete" in verdict(result),
    }


def test_every_report_and_the_exit_code_agree_on_unseen_evidence(scanned: RunResult) -> None:
    assert scanned.evidence.gaps and not scanned.evidence.complete
    assert what_each_says(scanned) == {"exit": 3, "json": False, "sarif": (False, False), "text": True,
                                       "markdown": True}


def test_an_error_a_waiver_accepts_passes_the_gate_but_is_never_complete_evidence(
        scanned: RunResult) -> None:
    gated = gate(scanned, waivers=waivers_for_both(), today=TODAY)
    assert gated.evidence.waived_errors == 1 and not gated.evidence.gaps
    assert what_each_says(gated) == {"exit": 0, "json": False, "sarif": (False, False), "text": False,
                                     "markdown": False}


def test_a_collection_error_is_unseen_evidence_whatever_the_waivers(write_snapshot: Callable[..., Path]) -> None:
    path = write_snapshot([clinical_store("notes", versioning=True)],
                          errors=[{"provider": "test", "scope": "acct", "message": "ListBuckets: AccessDenied",
                                   "kinds": ["object_store"]}])
    result = gate(scan([SnapshotProvider([path])], load_policies([POLICIES], Config()), Config()),
                  waivers=waivers_for_both(), today=TODAY)
    assert result.evidence.collection_errors == 1
    assert what_each_says(result) == {"exit": 3, "json": False, "sarif": (False, False), "text": True,
                                      "markdown": True}


def test_a_run_that_saw_everything_is_complete_in_every_report(write_snapshot: Callable[..., Path]) -> None:
    path = write_snapshot([clinical_store("notes", versioning=True)])
    result = scan([SnapshotProvider([path])], load_policies([POLICIES], Config()), Config())
    assert result.evidence.complete
    assert what_each_says(result) == {"exit": 0, "json": True, "sarif": (True, True), "text": False,
                                      "markdown": False}
