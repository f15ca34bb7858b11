"""The access graph: reach through other identities, unseen scopes, Context records, paths."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from phigate.access_graph import AccessGraph
from phigate.api import CollectionError, Context, Resource
from phigate.model import Finding, Status
from phigate.snapshot import write_document, write_jsonl
from phigate.testing import scan_inventory

ACCOUNT = "arn:aws:iam::111122223333"
NOTES = "arn:aws:s3:::exemplum-notes"
EXPORTS = "arn:aws:s3:::exemplum-exports"


def store(arn: str, data_class: str, *, region: str = "eu-west-3") -> Resource:
    return Resource(arn, "aws.s3.bucket", "object_store", "aws", "111122223333", region,
                    arn.rsplit(":", 1)[-1], {"data_class": data_class})


def principal(name: str, *, reads: Sequence[str] = (), become: Sequence[str] = (),
              via: dict[str, str] | None = None, unseen: Sequence[str] = (),
              wildcard: Sequence[str] = (), **extra: Any) -> Resource:
    attributes: dict[str, Any] = {"principal_type": name.split("/", maxsplit=1)[0], "can_read": list(reads),
                                  "can_read_via_wildcard": list(wildcard),
                                  "can_read_via": dict.fromkeys(reads, "s3:GetObject")}
    if become:
        attributes["can_become"] = list(become)
        attributes["can_become_via"] = via or dict.fromkeys(become, "sts:AssumeRole")
    if unseen:
        attributes["access_unseen"] = list(unseen)
    attributes.update(extra)
    return Resource(f"{ACCOUNT}:{name}", f"aws.iam.{name.split('/', maxsplit=1)[0]}", "principal", "aws",
                    "111122223333", None, name.split("/")[1], attributes=attributes)


def outcome(records: Sequence[Any], policy: str, principal_id: str) -> Finding:
    result = scan_inventory(records, only=policy)
    found = [f for f in result.findings if f.resource.id == principal_id and f.policy_id == policy]
    assert len(found) == 1, [(f.policy_id, f.resource.id, f.status) for f in result.findings]
    return found[0]


def test_a_user_who_can_assume_a_clinical_reader_and_reads_administrative_data_fails() -> None:
    records = [store(NOTES, "clinical"), store(EXPORTS, "administrative"),
               principal("role/etl", reads=[NOTES]),
               principal("user/ops", reads=[EXPORTS], become=[f"{ACCOUNT}:role/etl"])]
    finding = outcome(records, "PHI-SEG-002", f"{ACCOUNT}:user/ops")
    assert finding.status is Status.FAIL
    assert ("user/ops → (sts:AssumeRole) role/etl → s3:GetObject → exemplum-notes (clinical)"
            in finding.message)
    paths = [o for o in finding.evidence if o.op == "path"]
    assert paths and any("role/etl" in p for p in paths[0].observed)


def test_without_the_assume_edge_the_same_user_passes() -> None:
    records = [store(NOTES, "clinical"), store(EXPORTS, "administrative"),
               principal("role/etl", reads=[NOTES]), principal("user/ops", reads=[EXPORTS])]
    result = scan_inventory(records, only="PHI-SEG-002")
    assert result.counts["PHI-SEG-002"][Status.PASS] == 2
    assert not [f for f in result.findings if f.status is not Status.PASS]


def test_reach_follows_chains_and_cycles() -> None:
    records = [store(NOTES, "clinical"), store(EXPORTS, "administrative"),
               principal("role/a", become=[f"{ACCOUNT}:role/b"]),
               principal("role/b", become=[f"{ACCOUNT}:role/c"], reads=[EXPORTS]),
               principal("role/c", become=[f"{ACCOUNT}:role/b"], reads=[NOTES])]
    result = scan_inventory(records, only="PHI-SEG-002")
    failing = {f.resource.id for f in result.findings if f.status is Status.FAIL}
    assert failing == {f"{ACCOUNT}:role/a", f"{ACCOUNT}:role/b", f"{ACCOUNT}:role/c"}


def test_an_assumable_principal_outside_the_inventory_is_an_error_never_a_pass() -> None:
    records = [store(EXPORTS, "administrative"),
               principal("user/ops", reads=[EXPORTS], become=["arn:aws:iam::999988887777:role/x"])]
    finding = outcome(records, "PHI-SEG-002", f"{ACCOUNT}:user/ops")
    assert finding.status is Status.ERROR
    assert "999988887777:role/x" in finding.message


def test_an_unseen_scope_is_an_error_unless_the_seen_reach_already_fails() -> None:
    unseen = ["aws account 111122223333 region us-east-1 (not read: AccessDenied)"]
    records = [store(NOTES, "clinical"), store(EXPORTS, "administrative"),
               principal("role/exports", reads=[EXPORTS], unseen=unseen),
               principal("role/both", reads=[EXPORTS, NOTES], unseen=unseen)]
    exports = outcome(records, "PHI-SEG-002", f"{ACCOUNT}:role/exports")
    assert exports.status is Status.ERROR
    assert "region us-east-1" in exports.message
    assert outcome(records, "PHI-SEG-002", f"{ACCOUNT}:role/both").status is Status.FAIL


def test_an_unseen_scope_reached_through_another_identity_counts_too() -> None:
    records = [store(EXPORTS, "administrative"),
               principal("role/far", unseen=["postgres db-01:5432 database pms (not read)"]),
               principal("user/ops", reads=[EXPORTS], become=[f"{ACCOUNT}:role/far"])]
    assert outcome(records, "PHI-SEG-002", f"{ACCOUNT}:user/ops").status is Status.ERROR


def test_wildcard_reach_is_inherited_through_become_edges() -> None:
    records = [store(NOTES, "clinical"),
               principal("role/wide", reads=[NOTES], wildcard=[NOTES]),
               principal("user/ops", become=[f"{ACCOUNT}:role/wide"])]
    assert outcome(records, "PHI-IAM-004", f"{ACCOUNT}:user/ops").status is Status.FAIL


def test_context_stores_are_reasoned_about_but_never_reported() -> None:
    """A clinical bucket in a region outside the scan's is still read by the role."""
    records = [Context(store(NOTES, "clinical", region="us-east-1")), store(EXPORTS, "administrative"),
               principal("role/etl", reads=[NOTES, EXPORTS])]
    result = scan_inventory(records)
    assert {f.resource.id for f in result.findings} >= {f"{ACCOUNT}:role/etl"}
    assert NOTES not in {f.resource.id for f in result.findings}
    assert result.resources_seen == 2
    assert outcome(records, "PHI-SEG-002", f"{ACCOUNT}:role/etl").status is Status.FAIL


def test_context_principals_feed_the_graph_without_findings() -> None:
    records = [store(NOTES, "clinical"), store(EXPORTS, "administrative"),
               Context(principal("role/far", reads=[NOTES])),
               principal("user/ops", reads=[EXPORTS], become=[f"{ACCOUNT}:role/far"])]
    result = scan_inventory(records, only="PHI-SEG-002")
    assert {f.resource.id: f.status for f in result.findings} == {f"{ACCOUNT}:user/ops": Status.FAIL}


def test_a_principal_whose_reads_were_not_seen_stays_undecided_whatever_its_edges() -> None:
    ops = Resource(f"{ACCOUNT}:user/ops", "aws.iam.user", "principal", "aws", attributes={
        "principal_type": "user", "can_become": [f"{ACCOUNT}:role/etl"]})
    records = [store(NOTES, "clinical"), principal("role/etl", reads=[NOTES]), ops]
    assert outcome(records, "PHI-SEG-002", ops.id).status is Status.ERROR


def test_context_records_round_trip_through_both_snapshot_forms(tmp_path: Any) -> None:
    records = [Context(store(NOTES, "clinical", region="us-east-1")), store(EXPORTS, "administrative"),
               principal("role/etl", reads=[NOTES, EXPORTS]),
               CollectionError("aws", "denied", scope="111122223333", region="ap-south-1")]
    for name, write in (("estate.jsonl", write_jsonl), ("estate.json", write_document)):
        out = io.StringIO()
        write(records, [], out)
        path = tmp_path / name
        path.write_text(out.getvalue(), encoding="utf-8")
        if name.endswith(".json"):
            assert [r["id"] for r in json.loads(out.getvalue())["context"]] == [NOTES]
        result = scan_inventory(path, only="PHI-SEG-002")
        assert {f.resource.id: f.status for f in result.findings}[f"{ACCOUNT}:role/etl"] is Status.FAIL
        assert NOTES not in {f.resource.id for f in scan_inventory(path).findings}


def test_the_closure_shares_sets_and_grows_with_the_edges() -> None:
    graph = AccessGraph()
    for i in range(2000):
        graph.add(principal(f"role/r{i}", become=[f"{ACCOUNT}:role/r{i + 1}"] if i < 1999 else [],
                            reads=[NOTES] if i == 1999 else []))
    reach = graph.reach(f"{ACCOUNT}:role/r0")
    assert reach is not None and reach.reads == {NOTES}
    assert graph.reach(f"{ACCOUNT}:role/r0") is graph.reach(f"{ACCOUNT}:role/r1000")
    path = graph.paths(f"{ACCOUNT}:role/r1997", [NOTES])[NOTES]
    assert path == ("role/r1997 → (sts:AssumeRole) role/r1998 → (sts:AssumeRole) role/r1999 "
                    "→ s3:GetObject → exemplum-notes")


STORES = [(f"arn:aws:s3:::s{i}", c) for i, c in enumerate(
    ["clinical", "administrative", "public", "clinical", "administrative"])]
NAMES = [f"role/p{i}" for i in range(5)]


@st.composite
def estates(draw: st.DrawFn) -> dict[str, tuple[set[str], set[str]]]:
    return {name: (draw(st.sets(st.sampled_from([s for s, _ in STORES]), max_size=3)),
                   draw(st.sets(st.sampled_from([f"{ACCOUNT}:{n}" for n in NAMES]), max_size=2)))
            for name in NAMES}


def _statuses(estate: dict[str, tuple[set[str], set[str]]]) -> dict[str, Status]:
    records: list[Any] = [store(arn, c) for arn, c in STORES]
    records += [principal(name, reads=sorted(reads), become=sorted(become))
                for name, (reads, become) in estate.items()]
    result = scan_inventory(records, only="PHI-SEG-002")
    statuses = {f.resource.id: f.status for f in result.findings}
    return {f"{ACCOUNT}:{n}": statuses.get(f"{ACCOUNT}:{n}", Status.PASS) for n in NAMES}


@settings(derandomize=True, max_examples=60, deadline=None, database=None)
@given(estates(), st.sampled_from(NAMES), st.sampled_from([s for s, _ in STORES] + NAMES))
def test_adding_a_grant_never_turns_a_failure_into_a_pass(
        estate: dict[str, tuple[set[str], set[str]]], who: str, grant: str) -> None:
    before = _statuses(estate)
    reads, become = estate[who]
    widened = dict(estate)
    widened[who] = ((reads | {grant}, become) if grant.startswith("arn:aws:s3")
                    else (reads, become | {f"{ACCOUNT}:{grant}"}))
    after = _statuses(widened)
    for name, status in before.items():
        if status is Status.FAIL:
            assert after[name] is Status.FAIL, (name, before, after)


def test_becoming_a_principal_whose_reads_were_not_seen_is_an_error_never_a_pass() -> None:
    unread = Resource(f"{ACCOUNT}:role/unread", "aws.iam.role", "principal", "aws", attributes={
        "principal_type": "role"})  # its policies could not be read: no can_read at all
    records = [store(EXPORTS, "administrative"), unread,
               principal("user/ops", reads=[EXPORTS], become=[unread.id])]
    finding = outcome(records, "PHI-SEG-002", f"{ACCOUNT}:user/ops")
    assert finding.status is Status.ERROR
    assert "what 'role/unread' reads was not seen" in finding.message


def test_a_principal_whose_reads_were_not_seen_keeps_its_own_seen_wildcard_list() -> None:
    # Its own can_read is unknown (PHI-SEG-002 errs on the attribute itself), but the wildcard
    # grants that were read decide PHI-IAM-004; only those who can become it inherit "not seen".
    unread = Resource(f"{ACCOUNT}:role/unread", "aws.iam.role", "principal", "aws", attributes={
        "principal_type": "role", "can_read_via_wildcard": [], "can_become": []})
    records = [store(NOTES, "clinical"), unread,
               principal("user/ops", become=[unread.id])]
    assert outcome(records, "PHI-IAM-004", unread.id).status is Status.PASS
    assert outcome(records, "PHI-IAM-004", f"{ACCOUNT}:user/ops").status is Status.ERROR


def test_reach_without_mfa_follows_the_edges_taken_without_it() -> None:
    """A user that may assume a role only with MFA reaches nothing through it without MFA; a
    principal stating nothing apart reads as much without MFA as with it, whoever reaches it."""
    graph = AccessGraph()
    graph.add(principal("user/careful", become=[f"{ACCOUNT}:role/reader", f"{ACCOUNT}:role/plain"],
                        can_read_without_mfa=[], can_become_without_mfa=[f"{ACCOUNT}:role/plain"]))
    graph.add(principal("role/reader", reads=[NOTES]))
    graph.add(principal("role/plain", reads=[EXPORTS], can_read_without_mfa=[]))
    graph.add(principal("user/hasty", become=[f"{ACCOUNT}:role/reader"]))
    careful, hasty = f"{ACCOUNT}:user/careful", f"{ACCOUNT}:user/hasty"
    assert graph.reach(careful) is not None and graph.reach(careful).can_read() == [EXPORTS, NOTES]
    without = graph.reach_without_mfa(careful)
    assert without is not None and without.can_read() == []
    hasty_without = graph.reach_without_mfa(hasty)
    assert hasty_without is not None and hasty_without.can_read() == [NOTES]


def test_a_policy_on_reach_without_mfa_reads_the_reach_where_no_provider_tells_them_apart() -> None:
    """PHI-AUTH-001 over principals that state no reach without MFA (a snapshot written before,
    another provider): judged on what they read, as before."""
    resources = [store(NOTES, "clinical"),
                 principal("user/dr-martin", reads=[NOTES], console_access=True, mfa={"enabled": False}),
                 principal("user/ops", become=[f"{ACCOUNT}:role/reader"], console_access=True,
                           mfa={"enabled": False}),
                 principal("role/reader", reads=[NOTES]),
                 principal("user/dr-leroy", reads=[NOTES], console_access=True, mfa={"enabled": False},
                           can_read_without_mfa=[])]
    result = scan_inventory(resources, only=["PHI-AUTH-001"])
    status = {f.resource.id.rsplit(":", 1)[-1]: f.status for f in result.findings}
    assert status == {"user/dr-martin": Status.FAIL, "user/ops": Status.FAIL, "user/dr-leroy": Status.PASS}
def test_paths_are_found_from_the_smaller_side_alike() -> None:
    """A principal reading thousands of stores and a finding asking for a few (and the
    reverse): each store asked is reached at its nearest principal, once, whatever side is walked;
    a principal read again later is asked afresh."""
    many = [f"arn:aws:s3:::bulk-{i}" for i in range(3000)]
    graph = AccessGraph()
    graph.add(principal("user/ops", reads=[EXPORTS], become=[f"{ACCOUNT}:role/etl"]))
    graph.add(principal("role/etl", reads=[*many, NOTES, EXPORTS]))
    asked = [NOTES, many[7], EXPORTS, "arn:aws:s3:::nowhere"]
    found = graph.paths(f"{ACCOUNT}:user/ops", asked)
    assert found == {
        EXPORTS: "user/ops → s3:GetObject → exemplum-exports",
        NOTES: "user/ops → (sts:AssumeRole) role/etl → s3:GetObject → exemplum-notes",
        many[7]: "user/ops → (sts:AssumeRole) role/etl → s3:GetObject → bulk-7",
    }
    # more stores asked than the principal reads: its reads are walked
    assert graph.paths(f"{ACCOUNT}:role/etl", [*many[:5], *many[:5], NOTES]) == {
        s: f"role/etl → s3:GetObject → {s.rsplit(':', 1)[-1]}" for s in [*many[:5], NOTES]}
    graph.add(principal("role/etl", reads=["arn:aws:s3:::late"]))
    assert graph.paths(f"{ACCOUNT}:user/ops", ["arn:aws:s3:::late"]) == {
        "arn:aws:s3:::late": "user/ops → (sts:AssumeRole) role/etl → s3:GetObject → late"}
