"""A seeded AWS estate of every store the provider reads, scanned whole against its truth.

``bench/seed_aws_stores.py`` creates the estate on the moto server (two regions, one outside the
EEA; buckets, databases and their snapshots, volumes, file systems, warehouses, search domains,
caches, tables, queues, topics, log groups, streams; keys; identities that read them) and writes,
computed from what it created and never from phigate's code, each policy's expected outcome per
resource. The scan must agree exactly: every expected failure fails, nothing compliant fails,
and nothing is ``error`` that the truth does not expect.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from phigate.cli import main
from tests.aws_server import reset

SEEDER = Path(__file__).resolve().parent.parent / "bench" / "seed_aws_stores.py"
#: Small enough that seeding and scanning stay within seconds: one store of each type a region.
SCALE = 40


def load(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses resolve their annotations through it
    spec.loader.exec_module(module)
    return module


def seeder() -> ModuleType:
    return load(SEEDER, "seed_aws_stores")


def outcomes(report: dict[str, Any]) -> dict[str, dict[str, set[str]]]:
    found: dict[str, dict[str, set[str]]] = {}
    for finding in report["findings"]:
        if finding["status"] in ("fail", "pass", "error"):
            found.setdefault(finding["policy_id"], {"fail": set(), "pass": set(), "error": set()})[
                finding["status"]].add(finding["resource"]["id"])
    return found


def snapshots(ids: list[str]) -> list[str]:
    return [i for i in ids if ":snapshot" in i or ":cluster-snapshot:" in i]


# Seeds whose estates hold, at this scale, a public snapshot, an unencrypted snapshot, clinical
# stores without a customer key, a clinical reader signing in without MFA, a key shared across
# classes and identities reading both classes (checked below, so a change of the generator that
# loses one is seen).
@pytest.mark.parametrize("seed", [3, 16])
def test_a_seeded_estate_fails_exactly_where_its_truth_says(endpoint: str, tmp_path: Path, seed: int) -> None:
    reset(endpoint)
    truth_path, report_path = tmp_path / "truth.json", tmp_path / "report.json"
    assert seeder().main(["--endpoint", endpoint, "--scale", str(SCALE), "--seed", str(seed),
                          "--truth", str(truth_path)]) == 0
    truth = json.loads(truth_path.read_text())
    expected: dict[str, dict[str, list[str]]] = truth["policies"]
    assert snapshots(expected["PHI-IAM-002"]["fail"]) and snapshots(expected["PHI-ENC-001"]["fail"])
    for policy in ("PHI-ENC-002", "PHI-AUTH-001", "PHI-SEG-001", "PHI-SEG-002", "PHI-RES-001", "PHI-ENC-003"):
        assert expected[policy]["fail"], policy

    regions = [arg for region in truth["regions"] for arg in ("--region", region)]
    code = main(["scan", "--provider", "aws", *regions, "--show-passed", "--quiet",
                 "--format", f"json={report_path}"])
    report = json.loads(report_path.read_text())

    assert report["collection_errors"] == []
    got = outcomes(report)
    wrong = []
    for policy in sorted(set(expected) | set(got)):
        for status in ("fail", "pass", "error"):
            want = set(expected.get(policy, {}).get(status, []))
            have = got.get(policy, {}).get(status, set())
            if want != have:
                wrong.append(f"{policy} {status}: missing {sorted(want - have)}, unexpected {sorted(have - want)}")
    assert not wrong, "\n".join(wrong)
    assert code == (3 if any(v["error"] for v in expected.values()) else 1)


def test_the_benchmark_scores_the_stores_estate_on_its_own_resources_and_types(tmp_path: Path) -> None:
    bench = load(Path(__file__).resolve().parent.parent / "bench" / "aws_vs_peers.py", "aws_vs_peers")
    snapshot = "arn:aws:ec2:eu-west-2::snapshot/snap-1"
    topic = "arn:aws:sns:eu-west-3:123456789012:seed-topic-0000"
    theirs = "arn:aws:ec2:eu-west-3::snapshot/snap-other"  # seeded by the shared generator
    truth = tmp_path / "stores-truth.json"
    truth.write_text(json.dumps({
        "created": [snapshot, topic, "arn:aws:s3:::seed-b", "arn:aws:iam::123456789012:role/seed-role-0000"],
        "types": {snapshot: "aws.ec2.snapshot", topic: "aws.sns.topic", "arn:aws:s3:::seed-b": "aws.s3.bucket"},
        "policies": {"PHI-IAM-002": {"fail": [snapshot, topic], "pass": [], "error": []}}}))
    stores = bench.Stores.load(truth)

    whole = stores.score("PHI-IAM-002", {snapshot, theirs}, {topic})
    assert (whole.truth, whole.tp, whole.fp, whole.fn, whole.errors) == (2, 1, 0, 1, 1)
    by_type = stores.score("PHI-IAM-002", {snapshot, theirs}, set(), "aws.ec2.snapshot")
    assert (by_type.truth, by_type.tp, by_type.fp, by_type.fn) == (1, 1, 0, 0)
    # the shared truth's forms of what the stores estate created: left out of the shared rules
    assert {"seed-b", "seed-role-0000"} <= stores.forms
    assert bench.c7n_store_id("eu-west-2", {"SnapshotId": "snap-1"}) == snapshot
    assert bench.c7n_store_id("eu-west-3", {"arn": "arn:aws:logs:eu-west-3:1:log-group:/a:*"}) == (
        "arn:aws:logs:eu-west-3:1:log-group:/a")


def test_narrowed_to_one_region_the_scan_reports_less_and_decides_the_same(
        endpoint: str, tmp_path: Path) -> None:
    """``--region`` narrows what is reported, never what is reasoned about: each resource still
    reported (those of the asked region, identities, and buckets and tables of health data
    elsewhere, for residency; other stores elsewhere are read as context, and a notice says
    so) has the outcome the whole estate's truth gives it."""
    reset(endpoint)
    truth_path, report_path = tmp_path / "truth.json", tmp_path / "report.json"
    assert seeder().main(["--endpoint", endpoint, "--scale", str(SCALE), "--seed", "16",
                          "--truth", str(truth_path)]) == 0
    truth = json.loads(truth_path.read_text())
    home = "eu-west-3"  # the estate's EEA region; the other is London

    def reported(rid: str) -> bool:
        region = truth["located"].get(rid)
        return region in (None, home) or (truth["types"].get(rid) in ("aws.s3.bucket", "aws.dynamodb.table")
                                          and truth["classes"][rid] in ("clinical", "administrative"))

    main(["scan", "--provider", "aws", "--region", home, "--show-passed", "--quiet",
          "--format", f"json={report_path}"])
    report = json.loads(report_path.read_text())
    assert any("EBS volumes" in notice for notice in report["notices"])
    got = outcomes(report)
    wrong = []
    for policy, slots in sorted(truth["policies"].items()):
        for status in ("fail", "pass", "error"):
            want = {rid for rid in slots[status] if reported(rid)}
            have = got.get(policy, {}).get(status, set())
            if want != have:
                wrong.append(f"{policy} {status}: missing {sorted(want - have)}, unexpected {sorted(have - want)}")
    assert not wrong, "\n".join(wrong)
