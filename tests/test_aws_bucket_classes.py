"""Bucket settings read only for the data classes a policy can judge them on.

The engine tells the provider, per attribute, for which classes some selected policy needs it
(``phigate.run.classes_needing``); the AWS provider then reads a bucket's versioning and logging
only when its class (from its tags, as the engine classifies) is one of them. Against a real moto
server: the outcomes stay those of a run reading everything; an attribute left unread is never
judged a pass; a policy that needs it for every class gets it everywhere; sampling, unreadable
tags and a classifier the provider lacks each mean every read.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from phigate.api import Resource
from phigate.config import Config
from phigate.load import bundled_pack, load_policies
from phigate.model import Policy, Status
from phigate.run import scan as run_scan
from phigate.testing import run_context
from phigate_providers.aws import AwsProvider
from tests.aws_server import REGION, inject_faults, refusing

NOTES, INVOICES, UNTAGGED = "cls-notes", "cls-invoices", "cls-untagged"
ARN = "arn:aws:s3:::{}".format

#: A policy judging every bucket's versioning, whatever its class.
EVERY_CLASS = """\
id: TEAM-VER-001
title: Every bucket keeps versions
message: "{resource} is not versioned"
severity: low
kinds: [object_store]
assert: {path: versioning, op: eq, value: true}
remediation:
  default: Enable versioning.
"""


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, str]]]:
    """(operation, bucket) of every S3 call made by boto3 clients created meanwhile."""
    seen: list[tuple[str, str]] = []
    original = boto3.session.Session.client

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        seen.append((model.name, str(params.get("Bucket", ""))))

    def client(self: boto3.session.Session, *args: Any, **kwargs: Any) -> Any:
        made = original(self, *args, **kwargs)
        made.meta.events.register("before-parameter-build.s3", record)
        return made

    monkeypatch.setattr(boto3.session.Session, "client", client)
    yield seen


def _estate(aws: Callable[..., Any]) -> None:
    """Three unversioned buckets without access logs: clinical, administrative, untagged."""
    s3 = aws("s3")
    for name, data_class in ((NOTES, "clinical"), (INVOICES, "administrative"), (UNTAGGED, None)):
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
        if data_class is not None:
            s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": "data_class", "Value": data_class}]})


def _policies(ids: tuple[str, ...], tmp_path: Path | None = None) -> list[Policy]:
    policies = [p for p in load_policies([bundled_pack()]) if p.id in ids]
    if tmp_path is not None:
        (tmp_path / "TEAM-VER-001.yaml").write_text(EVERY_CLASS)
        policies += load_policies([tmp_path / "TEAM-VER-001.yaml"])
    return policies


class _Tee:
    """A provider whose records are kept as the run reads them (its hooks reach the provider)."""

    def __init__(self, provider: Any) -> None:
        self._provider = provider
        self.records: list[Any] = []

    def scopes(self) -> Any:
        return self._provider.scopes()

    def collect(self) -> Iterator[Any]:
        for record in self._provider.collect():
            self.records.append(record)
            yield record

    def __getattr__(self, name: str) -> Any:
        return getattr(self._provider, name)


def _scan(policies: list[Policy], **options: Any) -> tuple[dict[tuple[str, str], Status], list[Resource]]:
    """Outcomes by (policy, bucket ARN), passes included, and the buckets collected."""
    [provider] = AwsProvider.configure([], run_context(options={"region": [REGION], **options}))
    tee = _Tee(provider)
    result = run_scan([tee], policies, Config(), keep_passed=True)  # type: ignore[list-item]
    outcomes = {(f.policy_id, f.resource.id): f.status for f in result.findings
                if f.resource.type == "aws.s3.bucket"}
    return outcomes, [r for r in tee.records if isinstance(r, Resource) and r.type == "aws.s3.bucket"]


def _read(reads: list[tuple[str, str]], operation: str) -> set[str]:
    return {bucket for op, bucket in reads if op == operation}


def test_versioning_and_logging_are_read_only_for_the_classes_a_policy_judges(
        aws: Callable[..., Any], reads: list[tuple[str, str]]) -> None:
    _estate(aws)
    outcomes, buckets = _scan(_policies(("PHI-INT-001", "PHI-LOG-001", "PHI-ENC-001")))
    assert _read(reads, "GetBucketVersioning") == {NOTES}
    assert _read(reads, "GetBucketLogging") == {NOTES}
    assert _read(reads, "GetBucketEncryption") == {NOTES, INVOICES, UNTAGGED}  # judged on every class
    # The report is that of a run reading everything.
    assert outcomes[("PHI-INT-001", ARN(NOTES))] is Status.FAIL
    assert outcomes[("PHI-LOG-001", ARN(NOTES))] is Status.FAIL
    judged = {b for (p, b), status in outcomes.items()
              if p in ("PHI-INT-001", "PHI-LOG-001") and status is not Status.SKIP}
    assert judged == {ARN(NOTES)}
    by_name = {b.name: b for b in buckets}
    assert "versioning" not in by_name[INVOICES].attributes and "logging" not in by_name[UNTAGGED].attributes
    assert by_name[NOTES].attributes["versioning"] is False


def test_an_unread_attribute_is_never_judged_a_pass(aws: Callable[..., Any], tmp_path: Path) -> None:
    """A bucket collected without its versioning, judged by a policy that needs it: error."""
    from phigate.evaluate import Evaluator

    _estate(aws)
    _, buckets = _scan(_policies(("PHI-INT-001",)))
    invoices = next(b for b in buckets if b.name == INVOICES)
    assert "versioning" not in invoices.attributes
    every = [p for p in _policies((), tmp_path) if p.id == "TEAM-VER-001"]
    [outcome] = Evaluator(every, Config()).run([invoices])
    assert outcome.status is Status.ERROR


def test_a_policy_judging_every_class_has_it_read_everywhere(
        aws: Callable[..., Any], reads: list[tuple[str, str]], tmp_path: Path) -> None:
    _estate(aws)
    outcomes, _ = _scan(_policies(("PHI-INT-001", "PHI-LOG-001"), tmp_path))
    assert _read(reads, "GetBucketVersioning") == {NOTES, INVOICES, UNTAGGED}
    assert _read(reads, "GetBucketLogging") == {NOTES}  # still clinical only
    assert {b for (p, b), s in outcomes.items() if p == "TEAM-VER-001" and s is Status.FAIL} == {
        ARN(NOTES), ARN(INVOICES), ARN(UNTAGGED)}


def test_buckets_whose_tags_cannot_be_read_have_every_read(
        aws: Callable[..., Any], reads: list[tuple[str, str]], monkeypatch: pytest.MonkeyPatch) -> None:
    """Unread tags leave the class unknown: nothing is skipped (the bucket is an error anyway)."""
    _estate(aws)
    no_index = refusing("GetResources", "AccessDeniedException", 400, json_protocol=True)
    no_tags = refusing("GetBucketTagging", "AccessDenied", 403, json_protocol=False)
    inject_faults(monkeypatch, lambda *call: no_index(*call) or no_tags(*call))
    outcomes, _ = _scan(_policies(("PHI-INT-001",)))
    assert _read(reads, "GetBucketVersioning") == {NOTES, INVOICES, UNTAGGED}
    assert outcomes[("PHI-INT-001", ARN(NOTES))] is Status.ERROR


def test_with_content_sampling_every_bucket_has_every_read(
        aws: Callable[..., Any], reads: list[tuple[str, str]]) -> None:
    pytest.importorskip("ahocorasick")
    _estate(aws)
    _scan(_policies(("PHI-INT-001", "PHI-SEG-004")), sample_content=True)
    assert _read(reads, "GetBucketVersioning") == {NOTES, INVOICES, UNTAGGED}


def test_the_account_counts_data_events_from_its_trails_not_from_buckets_logging(
        aws: Callable[..., Any]) -> None:
    """Each bucket's object reads recorded by a trail naming it: the account's data events are
    logged, though only the clinical bucket had its logging read."""
    _estate(aws)
    trails = aws("cloudtrail")
    trails.create_trail(Name="data-trail", S3BucketName=NOTES, IsMultiRegionTrail=True)
    trails.put_event_selectors(TrailName="data-trail", EventSelectors=[
        {"ReadWriteType": "All", "IncludeManagementEvents": True,
         "DataResources": [{"Type": "AWS::S3::Object",
                            "Values": [f"{ARN(name)}/" for name in (NOTES, INVOICES, UNTAGGED)]}]}])
    trails.start_logging(Name="data-trail")
    [provider] = AwsProvider.configure([], run_context(options={"region": [REGION]}))
    tee = _Tee(provider)
    run_scan([tee], _policies(("PHI-LOG-001",)), Config())  # type: ignore[list-item]
    [account] = [r for r in tee.records if isinstance(r, Resource) and r.kind == "account"]
    assert account.attributes["logging"]["data_events"] is True
    assert "logging" not in next(r for r in tee.records if isinstance(r, Resource) and r.name == INVOICES).attributes


def test_without_the_run_s_classifier_every_bucket_has_every_read(
        aws: Callable[..., Any], reads: list[tuple[str, str]]) -> None:
    """A provider built without the engine's classifier cannot tell a bucket's class as the
    engine will: it reads everything."""
    from phigate.classify import Classifier
    from phigate.run import classes_needing, fields_needed
    from phigate_providers.aws.provider import Settings

    _estate(aws)
    policies = _policies(("PHI-INT-001",))
    provider = AwsProvider(Settings(regions=(REGION,)))
    fields = fields_needed(policies)
    assert fields is not None
    provider.restrict(fields)
    provider.restrict_classes(classes_needing(policies, Classifier(Config()).classes))
    assert any(isinstance(r, Resource) and r.name == INVOICES for r in provider.collect())
    assert _read(reads, "GetBucketVersioning") == {NOTES, INVOICES, UNTAGGED}
