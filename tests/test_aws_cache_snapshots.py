"""ElastiCache and MemoryDB snapshots read live from the moto server: databases of their own,
encrypted as their cache, classed as the cache they copy, never public, and read through IAM by
whoever may restore or copy them."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.aws_server import ACCOUNT, REGION, inject_faults, refusing, statuses
from tests.aws_server import collect_region as collect
from tests.aws_server import scan_region as scan

CLINICAL = [{"Key": "data_class", "Value": "clinical"}]
NOT_SHARED = {"blocked": True, "grants": []}


def cache_snapshot(name: str) -> str:
    return f"arn:aws:elasticache:{REGION}:{ACCOUNT}:snapshot:{name}"


def memory_snapshot(name: str) -> str:
    return f"arn:aws:memorydb:{REGION}:{ACCOUNT}:snapshot/{name}"


def caches(aws: Callable[..., Any]) -> str:
    """A clinical session cache encrypted at rest and an unencrypted one, each snapshotted
    untagged; a copy of the first under a customer key; a clinical MemoryDB cluster snapshotted
    as is and under a customer key. Returns the key."""
    key = str(aws("kms").create_key()["KeyMetadata"]["Arn"])
    elasticache = aws("elasticache")
    for name, at_rest in (("sessions", True), ("scratch", False)):
        elasticache.create_replication_group(ReplicationGroupId=name, ReplicationGroupDescription=name,
                                             Engine="redis", CacheNodeType="cache.t3.micro",
                                             AtRestEncryptionEnabled=at_rest, Tags=CLINICAL)
        elasticache.create_snapshot(ReplicationGroupId=name, SnapshotName=f"{name}-nightly")
    elasticache.create_snapshot(ReplicationGroupId="sessions", SnapshotName="sessions-keyed", KmsKeyId=key)
    memorydb = aws("memorydb")
    memorydb.create_cluster(ClusterName="records", NodeType="db.t4g.small", ACLName="open-access", Tags=CLINICAL)
    memorydb.create_snapshot(ClusterName="records", SnapshotName="records-nightly")
    memorydb.create_snapshot(ClusterName="records", SnapshotName="records-keyed", KmsKeyId=key)
    return key


def test_cache_snapshots_are_databases_encrypted_as_their_cache_and_classed_by_it(
        aws: Callable[..., Any]) -> None:
    key = caches(aws)
    found, errors = collect()
    assert errors == []
    nightly, scratch, keyed = (found[cache_snapshot(n)] for n in ("sessions-nightly", "scratch-nightly",
                                                                 "sessions-keyed"))
    assert (nightly.kind, nightly.type, nightly.region) == ("database", "aws.elasticache.snapshot", REGION)
    # No key named: its group's at-rest encryption (a key ElastiCache manages), or none.
    assert nightly.attributes["encryption"] == {"at_rest": True, "algorithm": "AES256", "key": None,
                                                "key_manager": "provider"}
    assert scratch.attributes["encryption"]["at_rest"] is False
    assert keyed.attributes["encryption"]["key"] == key
    assert keyed.attributes["encryption"]["key_manager"] == "customer"
    assert all(s.attributes["public_access"] == NOT_SHARED for s in (nightly, scratch, keyed))
    assert nightly.tags["data_class"] == scratch.tags["data_class"] == "clinical"  # their group's
    assert nightly.raw["source"] == f"arn:aws:elasticache:{REGION}:{ACCOUNT}:replicationgroup:sessions"
    records, records_keyed = found[memory_snapshot("records-nightly")], found[memory_snapshot("records-keyed")]
    assert (records.kind, records.type) == ("database", "aws.memorydb.snapshot")
    assert records.attributes["encryption"] == {"at_rest": True, "algorithm": "AES256", "key": None,
                                                "key_manager": "provider"}  # always encrypted
    assert records_keyed.attributes["encryption"]["key"] == key
    assert records.tags["data_class"] == "clinical" and records.attributes["public_access"] == NOT_SHARED


def test_store_policies_judge_cache_snapshots(aws: Callable[..., Any], tmp_path: Path) -> None:
    caches(aws)
    _, report = scan(tmp_path)
    encrypted = statuses(report, "PHI-ENC-001")
    assert encrypted[cache_snapshot("scratch-nightly")] == "fail"
    assert encrypted[cache_snapshot("sessions-nightly")] == encrypted[memory_snapshot("records-nightly")] == "pass"
    customer_key = statuses(report, "PHI-ENC-002")
    assert customer_key[cache_snapshot("sessions-nightly")] == customer_key[memory_snapshot("records-nightly")] \
        == "fail"  # clinical through their cache, under a key the service manages
    assert customer_key[cache_snapshot("sessions-keyed")] == customer_key[memory_snapshot("records-keyed")] == "pass"
    assert statuses(report, "PHI-CLASS-001")[cache_snapshot("sessions-nightly")] == "pass"
    assert statuses(report, "PHI-IAM-002")[memory_snapshot("records-nightly")] == "pass"


@pytest.mark.parametrize(("service", "operation", "name"), [
    ("elasticache", "DescribeSnapshots", "ElastiCache snapshots"),
    ("memorydb", "DescribeSnapshots", "MemoryDB snapshots")])
def test_snapshots_not_listed_are_an_error_on_their_kind_and_type(
        aws: Callable[..., Any], monkeypatch: pytest.MonkeyPatch, service: str, operation: str, name: str) -> None:
    caches(aws)
    inject_faults(monkeypatch, refusing(operation, "AccessDenied", 403, json_protocol=service == "memorydb",
                                        service=service))
    found, errors = collect()
    [error] = [e for e in errors if e.message.startswith(f"{name} in {REGION}")]
    assert error.kinds == ("database",) and error.types == (f"aws.{service}.snapshot",)
    assert error.permission == f"{service}:{operation}" and error.resource_id is None
    assert not any(r.type == f"aws.{service}.snapshot" for r in found.values())


def test_a_snapshot_whose_cache_cannot_be_read_has_no_encryption_and_is_undecided(
        aws: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    caches(aws)
    inject_faults(monkeypatch, refusing("DescribeReplicationGroups", "AccessDenied", 403, json_protocol=False))
    found, errors = collect()
    nightly, keyed = found[cache_snapshot("sessions-nightly")], found[cache_snapshot("sessions-keyed")]
    assert "encryption" not in nightly.attributes and keyed.attributes["encryption"]["at_rest"] is True
    assert nightly.id in {e.resource_id for e in errors}
    code, report = scan(tmp_path)
    assert code == 3
    encrypted = statuses(report, "PHI-ENC-001")
    assert (encrypted[nightly.id], encrypted[keyed.id]) == ("error", "pass")


def test_a_snapshot_of_a_cache_outside_any_group_is_undecided_not_unencrypted(aws: Callable[..., Any]) -> None:
    elasticache = aws("elasticache")
    elasticache.create_cache_cluster(CacheClusterId="single", Engine="redis", CacheNodeType="cache.t3.micro",
                                     NumCacheNodes=1)
    elasticache.create_snapshot(CacheClusterId="single", SnapshotName="single-final")
    found, _ = collect()
    assert "encryption" not in found[cache_snapshot("single-final")].attributes


def test_restoring_or_copying_a_cache_snapshot_reads_it(aws: Callable[..., Any]) -> None:
    caches(aws)
    iam = aws("iam")
    trust = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}
    readers = {}
    for name, action in (("exporter", "elasticache:CopySnapshot"), ("restorer", "memorydb:CreateCluster"),
                         ("watcher", "elasticache:DescribeSnapshots")):
        readers[name] = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [trust]}))["Role"]["Arn"]
        iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]}))
    found, _ = collect()
    assert set(found[readers["exporter"]].attributes["can_read"]) == {
        cache_snapshot(n) for n in ("sessions-nightly", "scratch-nightly", "sessions-keyed")}
    assert set(found[readers["restorer"]].attributes["can_read"]) == {
        memory_snapshot("records-nightly"), memory_snapshot("records-keyed")}
    assert found[readers["watcher"]].attributes["can_read"] == []
