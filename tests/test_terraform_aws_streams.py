"""SQS, SNS, CloudWatch Logs, Kinesis, Firehose, EFS, Redshift, OpenSearch and ElastiCache
resources of a Terraform plan, read as the AWS provider reads the live stores.

The plans are written here in the shape ``terraform show -json`` gives for the
``hashicorp/aws`` provider 5.x (format 1.2: ``planned_values`` without what is known only after
apply, ``resource_changes`` with ``after_unknown``, ``configuration`` with the expressions): a
new queue's ``arn``, ``url``, ``policy`` and ``sqs_managed_sse_enabled`` are known only after
apply when the configuration leaves them unset, so are a new file system's ``encrypted`` and
``kms_key_id``, and a reference to a key of the same plan.

The last test reads one estate twice, live from the moto server and from a plan of the same
configuration, and compares what both give.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from phigate.api import CollectionError, Resource, Unknown
from phigate_providers.aws.store_policies import NO_POLICY

from .conftest import CliResult
from .test_terraform_provider import collect as collect_all
from .test_terraform_provider import outcomes

REGION = "eu-west-3"
ACCOUNT = "123456789012"
Cli = Callable[..., CliResult]
CLINICAL = {"data_class": "clinical"}
ADMIN = {"data_class": "administrative"}


def collect(path: Path) -> tuple[dict[str, Resource], list[CollectionError], list[str]]:
    """Resources by address, the collection errors, the notices."""
    found, records, provider = collect_all(path)
    return found, [r for r in records if isinstance(r, CollectionError)], provider.notices()


def block(address: str, values: dict[str, Any], unknown: dict[str, Any] | None = None,
          expressions: dict[str, Any] | None = None, actions: tuple[str, ...] = ("create",)) -> dict[str, Any]:
    rtype, name = address.split(".")
    return {"address": address, "type": rtype, "name": name, "values": values, "unknown": unknown or {},
            "expressions": expressions if expressions is not None else written(values), "actions": list(actions)}


def written(values: dict[str, Any]) -> dict[str, Any]:
    """The configuration's expressions for ``values`` written as literals (blocks as blocks)."""
    def one(value: Any) -> Any:
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            return [written(v) for v in value]
        return {"constant_value": value}

    return {k: one(v) for k, v in values.items() if v is not None and k not in ("arn", "id", "url", "tags_all")}


def ref(address: str, attribute: str = "arn") -> dict[str, Any]:
    return {"references": [f"{address}.{attribute}", address]}


def plan_file(tmp_path: Path, *blocks: dict[str, Any], name: str = "plan.json") -> Path:
    resources, changes, configured = [], [], []
    for b in blocks:
        rtype, rname = b["type"], b["name"]
        resources.append({"address": b["address"], "mode": "managed", "type": rtype, "name": rname,
                          "provider_name": "registry.terraform.io/hashicorp/aws", "schema_version": 0,
                          "values": b["values"], "sensitive_values": {}})
        unknown = b["unknown"] if "create" not in b["actions"] else {"id": True, "tags_all": True, **b["unknown"]}
        changes.append({"address": b["address"], "mode": "managed", "type": rtype, "name": rname,
                        "provider_name": "registry.terraform.io/hashicorp/aws",
                        "change": {"actions": b["actions"], "before": None if "create" in b["actions"] else b["values"],
                                   "after": b["values"], "after_unknown": unknown, "before_sensitive": False,
                                   "after_sensitive": {}}})
        configured.append({"address": b["address"], "mode": "managed", "type": rtype, "name": rname,
                           "provider_config_key": "aws", "expressions": b["expressions"], "schema_version": 0})
    document = {
        "format_version": "1.2", "terraform_version": "1.11.4",
        "planned_values": {"root_module": {"resources": resources}}, "resource_changes": changes,
        "configuration": {"provider_config": {"aws": {
            "name": "aws", "full_name": "registry.terraform.io/hashicorp/aws",
            "expressions": {"region": {"constant_value": REGION}}}},
            "root_module": {"resources": configured}},
        "applyable": True, "complete": True, "errored": False}
    path = tmp_path / name
    path.write_text(json.dumps(document))
    return path


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


EVERYONE_RECEIVES = {"Effect": "Allow", "Principal": "*", "Action": "sqs:ReceiveMessage", "Resource": "*"}
KEY = block("aws_kms_key.clinical", {"enable_key_rotation": True}, {"arn": True, "key_id": True})


def queue(name: str, tags: dict[str, str], **settings: Any) -> dict[str, Any]:
    values = {"name": name, "tags": tags, **{k: v for k, v in settings.items() if not isinstance(v, dict)}}
    expressions = {k: {"constant_value": v} for k, v in values.items()}
    expressions.update({k: v for k, v in settings.items() if isinstance(v, dict)})
    unknown = {"arn": True, "url": True, **{k: True for k in ("policy", "sqs_managed_sse_enabled")
                                            if k not in settings}}
    unknown.update({k: True for k, v in settings.items() if isinstance(v, dict)})
    return block(f"aws_sqs_queue.{name.replace('-', '_')}", values, unknown, expressions)


# --- streams --------------------------------------------------------------------------------------

def test_new_queues_are_encrypted_by_sqs_unless_turned_off_and_public_by_their_queue_policy(
        tmp_path: Path, cli: Cli) -> None:
    referrals = queue("referrals", CLINICAL, kms_master_key_id=ref("aws_kms_key.clinical"))
    jobs = queue("jobs", ADMIN)
    legacy = queue("legacy", CLINICAL, sqs_managed_sse_enabled=False)
    opened = block("aws_sqs_queue_policy.legacy", {"policy": policy(EVERYONE_RECEIVES)}, {"queue_url": True},
                   {"policy": {"constant_value": policy(EVERYONE_RECEIVES)},
                    "queue_url": ref("aws_sqs_queue.legacy", "id")})
    path = plan_file(tmp_path, KEY, referrals, jobs, legacy, opened)
    found, errors, _ = collect(path)
    assert not errors
    first = found["aws_sqs_queue.referrals"]
    assert (first.kind, first.type, first.region, first.tags) == ("stream", "aws.sqs.queue", REGION, CLINICAL)
    assert first.attributes["encryption"] == {"at_rest": True, "algorithm": "aws:kms",
                                              "key": "aws_kms_key.clinical", "key_manager": "customer"}
    # SQS encrypts new queues with keys it owns unless told not to (since October 2022).
    assert found["aws_sqs_queue.jobs"].attributes["encryption"] == {
        "at_rest": True, "algorithm": "SSE-SQS", "key": None, "key_manager": "provider"}
    assert found["aws_sqs_queue.legacy"].attributes["encryption"]["at_rest"] is False
    assert found["aws_sqs_queue.legacy"].attributes["public_access"] == {"blocked": False, "grants": ["*"]}
    assert first.attributes["public_access"] == {"blocked": True, "grants": []}
    assert "aws_sqs_queue_policy.legacy" in found["aws_sqs_queue.legacy"].raw["joined"][0]["address"]
    result = cli("scan", str(path), "--only", "PHI-ENC-001", "--only", "PHI-IAM-002", "--format", "json")
    failed = {(p, a) for s, p, a in outcomes(result) if s == "fail"}
    assert failed == {("PHI-ENC-001", "aws_sqs_queue.legacy"), ("PHI-IAM-002", "aws_sqs_queue.legacy")}
    assert result.code == 1


def test_topics_log_groups_and_data_streams_carry_their_documented_encryption(tmp_path: Path) -> None:
    results = block("aws_sns_topic.results", {"name": "results", "tags": CLINICAL}, {"arn": True, "policy": True})
    alerts = block("aws_sns_topic.alerts", {"name": "alerts", "kms_master_key_id": "alias/aws/sns", "tags": ADMIN},
                   {"arn": True, "policy": True})
    pms = block("aws_cloudwatch_log_group.pms", {"name": "/app/pms", "tags": CLINICAL}, {"arn": True})
    audit = block("aws_cloudwatch_log_group.audit", {"name": "/app/audit", "tags": CLINICAL},
                  {"arn": True, "kms_key_id": True}, {"name": {"constant_value": "/app/audit"},
                                                      "tags": {"constant_value": CLINICAL},
                                                      "kms_key_id": ref("aws_kms_key.clinical")})
    vitals = block("aws_kinesis_stream.vitals", {"name": "vitals", "encryption_type": "KMS",
                                                 "kms_key_id": "alias/aws/kinesis", "tags": CLINICAL}, {"arn": True})
    clicks = block("aws_kinesis_stream.clicks", {"name": "clicks", "encryption_type": "NONE", "tags": ADMIN},
                   {"arn": True})
    found, errors, _ = collect(plan_file(tmp_path, KEY, results, alerts, pms, audit, vitals, clicks))
    assert not errors
    # A topic names a key or is not encrypted; its default policy lets no one else in.
    assert found["aws_sns_topic.results"].attributes == {
        "encryption": {"at_rest": False, "algorithm": None, "key": None, "key_manager": None},
        "public_access": {"blocked": True, "grants": []}}
    assert found["aws_sns_topic.alerts"].attributes["encryption"]["key_manager"] == "provider"
    # Log data is always encrypted: by keys CloudWatch Logs owns unless a key is named.
    assert found["aws_cloudwatch_log_group.pms"].attributes["encryption"] == {
        "at_rest": True, "algorithm": "AES256", "key": None, "key_manager": "provider"}
    assert found["aws_cloudwatch_log_group.audit"].attributes["encryption"]["key"] == "aws_kms_key.clinical"
    assert found["aws_kinesis_stream.vitals"].attributes["encryption"] == {
        "at_rest": True, "algorithm": "aws:kms", "key": None, "key_manager": "provider"}
    assert found["aws_kinesis_stream.clicks"].attributes["encryption"]["at_rest"] is False
    assert {r.type for r in found.values()} >= {"aws.sns.topic", "aws.logs.log_group", "aws.kinesis.stream"}


def test_an_account_log_policy_exposes_the_groups_its_statements_cover(tmp_path: Path) -> None:
    statement = {"Effect": "Allow", "Principal": "*", "Action": "logs:FilterLogEvents",
                 "Resource": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/app/web:*"}
    web = block("aws_cloudwatch_log_group.web", {"name": "/app/web", "tags": ADMIN}, {"arn": True})
    pms = block("aws_cloudwatch_log_group.pms", {"name": "/app/pms", "tags": CLINICAL}, {"arn": True})
    shared = block("aws_cloudwatch_log_resource_policy.web", {"policy_name": "web",
                                                              "policy_document": policy(statement)})
    found, _, _ = collect(plan_file(tmp_path, web, pms, shared))
    assert found["aws_cloudwatch_log_group.web"].attributes["public_access"] == {"blocked": False, "grants": ["*"]}
    assert found["aws_cloudwatch_log_group.pms"].attributes["public_access"] == {"blocked": True, "grants": []}


def test_delivery_streams_are_encrypted_by_their_block_and_those_reading_a_data_stream_are_not_stores(
        tmp_path: Path) -> None:
    s3 = [{"bucket_arn": "arn:aws:s3:::exemplum-exports", "role_arn": f"arn:aws:iam::{ACCOUNT}:role/f"}]
    exports = block("aws_kinesis_firehose_delivery_stream.exports", {
        "name": "exports", "destination": "extended_s3", "extended_s3_configuration": s3, "tags": CLINICAL,
        "server_side_encryption": [{"enabled": True, "key_type": "AWS_OWNED_CMK"}]}, {"arn": True})
    raw = block("aws_kinesis_firehose_delivery_stream.raw", {
        "name": "raw", "destination": "extended_s3", "extended_s3_configuration": s3, "tags": CLINICAL,
        "server_side_encryption": []}, {"arn": True})
    archive = block("aws_kinesis_firehose_delivery_stream.archive", {
        "name": "archive", "destination": "extended_s3", "extended_s3_configuration": s3, "tags": CLINICAL,
        "kinesis_source_configuration": [{"kinesis_stream_arn": "arn:aws:kinesis:x", "role_arn": "r"}]},
        {"arn": True})
    found, errors, _ = collect(plan_file(tmp_path, exports, raw, archive))
    assert not errors
    assert found["aws_kinesis_firehose_delivery_stream.exports"].attributes == {
        "encryption": {"at_rest": True, "algorithm": "aws:kms", "key": None, "key_manager": "provider"},
        "public_access": {"blocked": True, "grants": []}}
    assert found["aws_kinesis_firehose_delivery_stream.raw"].attributes["encryption"]["at_rest"] is False
    assert "aws_kinesis_firehose_delivery_stream.archive" not in found


# --- warehouses -----------------------------------------------------------------------------------

def test_file_systems_warehouses_domains_and_caches_take_the_documented_defaults(tmp_path: Path, cli: Cli) -> None:
    mount_only = {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "elasticfilesystem:ClientMount",
                  "Resource": "*", "Condition": {"Bool": {"elasticfilesystem:AccessedViaMountTarget": "true"}}}
    scans = block("aws_efs_file_system.scans", {"creation_token": "scans", "encrypted": True, "tags": CLINICAL},
                  {"arn": True, "kms_key_id": True})
    exports = block("aws_efs_file_system.exports", {"creation_token": "exports", "tags": CLINICAL},
                    {"arn": True, "encrypted": True, "kms_key_id": True})
    scans_policy = block("aws_efs_file_system_policy.scans", {"policy": policy(mount_only)}, {"file_system_id": True},
                         {"policy": {"constant_value": policy(mount_only)},
                          "file_system_id": ref("aws_efs_file_system.scans", "id")})
    warehouse = block("aws_redshift_cluster.warehouse", {"cluster_identifier": "warehouse", "tags": CLINICAL,
                                                         "automated_snapshot_retention_period": 7},
                      {"arn": True, "encrypted": True, "publicly_accessible": True, "kms_key_id": True})
    reporting = block("aws_redshift_cluster.reporting", {"cluster_identifier": "reporting", "tags": ADMIN,
                                                         "encrypted": False, "publicly_accessible": True},
                      {"arn": True, "kms_key_id": True})
    everyone = {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "es:ESHttp*", "Resource": "*"}
    notes = block("aws_opensearch_domain.notes", {"domain_name": "notes", "engine_version": "OpenSearch_2.13",
                                                  "access_policies": policy(everyone), "tags": CLINICAL},
                  {"arn": True, "encrypt_at_rest": True, "vpc_options": True})
    ops = block("aws_opensearch_domain.ops", {
        "domain_name": "ops", "engine_version": "OpenSearch_2.13", "access_policies": policy(everyone),
        "encrypt_at_rest": [{"enabled": True}], "vpc_options": [{"subnet_ids": ["subnet-1"]}], "tags": CLINICAL},
        {"arn": True, "encrypt_at_rest": [{"kms_key_id": True}]})
    legacy = block("aws_elasticsearch_domain.legacy", {
        "domain_name": "legacy", "elasticsearch_version": "7.10", "encrypt_at_rest": [{"enabled": True}],
        "tags": CLINICAL}, {"arn": True, "access_policies": True, "vpc_options": True,
                            "encrypt_at_rest": [{"kms_key_id": True}]})
    sessions = block("aws_elasticache_replication_group.sessions", {
        "replication_group_id": "sessions", "description": "s", "tags": CLINICAL}, {
        "arn": True, "at_rest_encryption_enabled": True})
    valkey = block("aws_elasticache_replication_group.valkey", {
        "replication_group_id": "records", "description": "r", "engine": "valkey", "tags": CLINICAL}, {
        "arn": True, "at_rest_encryption_enabled": True})
    path = plan_file(tmp_path, scans, exports, scans_policy, warehouse, reporting, notes, ops, legacy, sessions,
                     valkey)
    found, errors, _ = collect(path)
    assert not errors
    fs = found["aws_efs_file_system.scans"]
    assert (fs.kind, fs.type) == ("volume", "aws.efs.file_system")
    assert fs.attributes == {"encryption": {"at_rest": True, "algorithm": "aws:kms", "key": None,
                                            "key_manager": "provider"},
                             "public_access": {"blocked": True, "grants": []}}  # mount targets only
    assert found["aws_efs_file_system.exports"].attributes["encryption"]["at_rest"] is False  # EFS default
    cluster = found["aws_redshift_cluster.warehouse"]
    assert (cluster.kind, cluster.type) == ("database", "aws.redshift.cluster")
    # New clusters are encrypted and private by default (since January 2025); the default
    # parameter group does not require TLS (require_ssl off), as live.
    assert cluster.attributes == {"engine": "redshift", "backup_retention_days": 7,
                                  "encryption": {"at_rest": True, "algorithm": "aws:kms", "key": None,
                                                 "key_manager": "provider"},
                                  "public_access": {"blocked": True, "grants": []},
                                  "secure_transport_required": False}
    assert found["aws_redshift_cluster.reporting"].attributes["public_access"] == {
        "blocked": False, "grants": ["PubliclyAccessible"]}
    domain = found["aws_opensearch_domain.notes"]
    assert (domain.type, domain.attributes["engine"]) == ("aws.opensearch.domain", "OpenSearch_2.13")
    assert domain.attributes["encryption"]["at_rest"] is False  # no encrypt_at_rest block
    assert domain.attributes["public_access"] == {"blocked": False, "grants": ["*"]}
    assert found["aws_opensearch_domain.ops"].attributes["public_access"] == {"blocked": True, "grants": []}
    assert found["aws_elasticsearch_domain.legacy"].attributes["engine"] == "Elasticsearch_7.10"
    assert found["aws_elasticsearch_domain.legacy"].attributes["encryption"]["key_manager"] == "provider"
    caches = found["aws_elasticache_replication_group.sessions"], found["aws_elasticache_replication_group.valkey"]
    assert caches[0].attributes["encryption"]["at_rest"] is False  # Redis OSS default
    assert caches[1].attributes["encryption"] == {"at_rest": True, "algorithm": "AES256", "key": None,
                                                  "key_manager": "provider"}  # Valkey default
    assert caches[0].attributes["engine"] == "redis"
    result = cli("scan", str(path), "--only", "PHI-ENC-001", "--only", "PHI-IAM-002", "--format", "json")
    failed = {(p, a) for s, p, a in outcomes(result) if s == "fail"}
    assert failed == {("PHI-ENC-001", "aws_efs_file_system.exports"), ("PHI-ENC-001", "aws_opensearch_domain.notes"),
                      ("PHI-ENC-001", "aws_elasticache_replication_group.sessions"),
                      ("PHI-ENC-001", "aws_redshift_cluster.reporting"),
                      ("PHI-IAM-002", "aws_opensearch_domain.notes"),
                      ("PHI-IAM-002", "aws_redshift_cluster.reporting")}


# --- the access graph -------------------------------------------------------------------------------

def role(name: str, action: str, resource: str) -> list[dict[str, Any]]:
    trust = policy({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"})
    grant = policy({"Effect": "Allow", "Action": action, "Resource": resource})
    return [block(f"aws_iam_role.{name}", {"name": name, "assume_role_policy": trust, "tags": ADMIN},
                  {"arn": True, "unique_id": True}),
            block(f"aws_iam_role_policy.{name}", {"name": name, "policy": grant}, {"role": True},
                  {"name": {"constant_value": name}, "policy": {"constant_value": grant},
                   "role": ref(f"aws_iam_role.{name}", "name")})]


def test_principals_read_the_new_stores_through_their_ways_in_and_file_systems_without_policy_are_unseen(
        tmp_path: Path) -> None:
    referrals = queue("referrals", CLINICAL)
    vitals = block("aws_kinesis_stream.vitals", {"name": "vitals", "encryption_type": "NONE", "tags": CLINICAL},
                   {"arn": True})
    warehouse = block("aws_redshift_cluster.warehouse", {"cluster_identifier": "warehouse", "tags": CLINICAL},
                      {"arn": True, "encrypted": True, "publicly_accessible": True, "kms_key_id": True})
    scans = block("aws_efs_file_system.scans", {"creation_token": "scans", "encrypted": True, "tags": CLINICAL},
                  {"arn": True, "kms_key_id": True})
    roles = (role("consumer", "sqs:ReceiveMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:referrals")
             + role("analyst", "kinesis:GetRecords", "*")
             + role("reporter", "redshift-data:ExecuteStatement", f"arn:aws:redshift:{REGION}:{ACCOUNT}:cluster:*"))
    found, _, _ = collect(plan_file(tmp_path, referrals, vitals, warehouse, scans, *roles))
    consumer, analyst, reporter = (found[f"aws_iam_role.{n}"].attributes for n in ("consumer", "analyst", "reporter"))
    assert consumer["can_read"] == ["aws_sqs_queue.referrals"]
    assert consumer["can_read_via"] == {"aws_sqs_queue.referrals": "sqs:ReceiveMessage"}
    assert "aws_kinesis_stream.vitals" in analyst["can_read"]
    assert "aws_sqs_queue.referrals" not in analyst["can_read"]
    assert reporter["can_read_via"] == {"aws_redshift_cluster.warehouse": "redshift-data:ExecuteStatement"}
    # No file system policy: who mounts it is not IAM's to decide, never nobody.
    assert any(f"aws_efs_file_system.scans: {NO_POLICY}" in u for u in consumer["access_unseen"])


# --- hostile and undecided input ----------------------------------------------------------------------

@pytest.mark.parametrize(("address", "values", "field", "rule"), [
    ("aws_sqs_queue.q", {"name": "q", "sqs_managed_sse_enabled": "yes"}, "sqs_managed_sse_enabled", "PHI-ENC-001"),
    ("aws_sqs_queue.q", {"name": "q", "kms_master_key_id": 7}, "kms_master_key_id", "PHI-ENC-001"),
    ("aws_sns_topic.t", {"name": "t", "policy": 5}, "policy", "PHI-IAM-002"),
    ("aws_sns_topic.t", {"name": "t", "policy": "{not json"}, "policy", "PHI-IAM-002"),
    ("aws_kinesis_stream.s", {"name": "s", "encryption_type": "ROT13"}, "encryption_type", "PHI-ENC-001"),
    ("aws_efs_file_system.f", {"creation_token": "f", "encrypted": "false"}, "encrypted", "PHI-ENC-001"),
    ("aws_redshift_cluster.c", {"cluster_identifier": "c", "publicly_accessible": 1}, "publicly_accessible",
     "PHI-IAM-002"),
    ("aws_opensearch_domain.d", {"domain_name": "d", "encrypt_at_rest": "on"}, "encrypt_at_rest", "PHI-ENC-001"),
    ("aws_elasticache_replication_group.g", {"replication_group_id": "g", "at_rest_encryption_enabled": True,
                                             "kms_key_id": ["k"]}, "kms_key_id", "PHI-ENC-002"),
    ("aws_kinesis_firehose_delivery_stream.f", {"name": "f", "server_side_encryption": [
        {"enabled": True, "key_type": "MINE"}]}, "key_type", "PHI-ENC-001"),
])
def test_a_setting_of_the_wrong_type_is_an_error_naming_the_address_and_field_never_a_pass(
        tmp_path: Path, cli: Cli, address: str, values: dict[str, Any], field: str, rule: str) -> None:
    path = plan_file(tmp_path, block(address, {**values, "tags": CLINICAL}, {"arn": True}, actions=("update",)))
    found, _, _ = collect(path)
    reasons = [v.reason for v in _unknowns(found[address].attributes)]
    assert reasons and all(r.startswith(address) and f"{field}: " in r for r in reasons)
    result = cli("scan", str(path), "--only", rule, "--format", "json")
    assert result.code == 3 and "Traceback" not in result.err
    (finding,) = result.json()["findings"]
    assert finding["status"] == "error"


def _unknowns(node: Any) -> list[Unknown]:
    if isinstance(node, Unknown):
        return [node]
    if isinstance(node, dict):
        return [u for v in node.values() for u in _unknowns(v)]
    if isinstance(node, list):
        return [u for v in node for u in _unknowns(v)]
    return []


def test_a_policy_resource_whose_store_cannot_be_told_leaves_every_such_store_undecided(tmp_path: Path) -> None:
    a, b = queue("a", CLINICAL), queue("b", CLINICAL)
    somewhere = block("aws_sqs_queue_policy.p", {"policy": policy(EVERYONE_RECEIVES)}, {"queue_url": True},
                      {"policy": {"constant_value": policy(EVERYONE_RECEIVES)},
                       "queue_url": {"references": ["local.url"]}})
    elsewhere = block("aws_sqs_queue_policy.o", {"policy": policy(EVERYONE_RECEIVES),
                                                 "queue_url": f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/other"})
    found, _, notices = collect(plan_file(tmp_path, a, b, somewhere))
    for name in ("aws_sqs_queue.a", "aws_sqs_queue.b"):
        grants = found[name].attributes["public_access"]["grants"]
        assert isinstance(grants, Unknown) and "aws_sqs_queue_policy.p" in grants.reason
    found, _, notices = collect(plan_file(tmp_path, a, b, elsewhere, name="other.json"))
    assert found["aws_sqs_queue.a"].attributes["public_access"] == {"blocked": True, "grants": []}
    assert any("aws_sqs_queue_policy.o" in n for n in notices)


def test_unknown_tags_leave_the_store_unyielded_with_an_error(tmp_path: Path) -> None:
    topic = block("aws_sns_topic.t", {"name": "t"}, {"arn": True, "policy": True, "tags": True},
                  {"name": {"constant_value": "t"}, "tags": {"references": ["local.tags"]}})
    found, errors, _ = collect(plan_file(tmp_path, topic))
    assert "aws_sns_topic.t" not in found
    assert [e.resource_id for e in errors] == ["aws_sns_topic.t"]


# --- the plan and the live reader agree --------------------------------------------------------------

PARTNER = "111122223333"


def _arn(service: str, resource: str) -> str:
    return f"arn:aws:{service}:{REGION}:{ACCOUNT}:{resource}"


def _seed(aws: Callable[..., Any]) -> tuple[str, str]:
    """One estate of every type, settings varied; returns the customer key and the file system
    ids (generated by the service)."""
    key = aws("kms").create_key()["KeyMetadata"]["Arn"]
    sqs = aws("sqs")
    sqs.create_queue(QueueName="referrals", tags=CLINICAL, Attributes={"KmsMasterKeyId": key})
    sqs.set_queue_attributes(QueueUrl=sqs.get_queue_url(QueueName="referrals")["QueueUrl"], Attributes={
        "Policy": policy({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{PARTNER}:root"},
                          "Action": "sqs:ReceiveMessage", "Resource": _arn("sqs", "referrals")})})
    sqs.create_queue(QueueName="billing", tags=ADMIN, Attributes={"SqsManagedSseEnabled": "true"})
    sqs.create_queue(QueueName="legacy", tags=CLINICAL, Attributes={
        "SqsManagedSseEnabled": "false", "Policy": policy(EVERYONE_RECEIVES)})
    sns = aws("sns")
    sns.create_topic(Name="results", Tags=[{"Key": "data_class", "Value": "clinical"}])
    sns.create_topic(Name="notices", Tags=[{"Key": "data_class", "Value": "administrative"}],
                     Attributes={"KmsMasterKeyId": key, "Policy": policy({
                         "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sns:Subscribe",
                         "Resource": _arn("sns", "notices")})})
    logs = aws("logs")
    logs.create_log_group(logGroupName="/app/pms", kmsKeyId=key, tags=CLINICAL)
    logs.create_log_group(logGroupName="/app/web", tags=ADMIN)
    logs.put_resource_policy(policyName="web-public", policyDocument=policy({
        "Effect": "Allow", "Principal": "*", "Action": "logs:FilterLogEvents",
        "Resource": _arn("logs", "log-group:/app/web:*")}))
    kinesis = aws("kinesis")
    for name, tags in (("vitals", CLINICAL), ("clicks", ADMIN)):
        kinesis.create_stream(StreamName=name, ShardCount=1)
        kinesis.add_tags_to_stream(StreamName=name, Tags=tags)
    kinesis.start_stream_encryption(StreamName="vitals", EncryptionType="KMS", KeyId=key)
    kinesis.put_resource_policy(ResourceARN=_arn("kinesis", "stream/vitals"), Policy=policy({
        "Effect": "Allow", "Principal": "*", "Action": "kinesis:GetRecords", "Resource": _arn("kinesis", "stream/vitals")}))
    firehose = aws("firehose")
    s3 = {"RoleARN": _arn("iam", "role/f").replace(f":{REGION}:", "::"), "BucketARN": "arn:aws:s3:::exemplum"}
    firehose.create_delivery_stream(DeliveryStreamName="exports", ExtendedS3DestinationConfiguration=s3,
                                    Tags=[{"Key": "data_class", "Value": "clinical"}])
    firehose.start_delivery_stream_encryption(DeliveryStreamName="exports", DeliveryStreamEncryptionConfigurationInput={
        "KeyType": "AWS_OWNED_CMK"})
    firehose.create_delivery_stream(DeliveryStreamName="raw", ExtendedS3DestinationConfiguration=s3,
                                    Tags=[{"Key": "data_class", "Value": "clinical"}])
    efs = aws("efs")
    scans = efs.create_file_system(CreationToken="scans", Encrypted=True, KmsKeyId=key,
                                   Tags=[{"Key": "data_class", "Value": "clinical"}])["FileSystemId"]
    efs.put_file_system_policy(FileSystemId=scans, Policy=policy(
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "elasticfilesystem:ClientMount",
         "Resource": _arn("elasticfilesystem", f"file-system/{scans}"),
         "Condition": {"Bool": {"elasticfilesystem:AccessedViaMountTarget": "true"}}}))
    exports = efs.create_file_system(CreationToken="exports",
                                     Tags=[{"Key": "data_class", "Value": "administrative"}])["FileSystemId"]
    redshift = aws("redshift")
    for name, tag, settings in (("warehouse", "clinical", {"Encrypted": True, "KmsKeyId": key,
                                                           "AutomatedSnapshotRetentionPeriod": 7}),
                                ("reporting", "administrative", {"PubliclyAccessible": True,
                                                                 "AutomatedSnapshotRetentionPeriod": 1})):
        redshift.create_cluster(ClusterIdentifier=name, NodeType="dc2.large", MasterUsername="admin",
                                MasterUserPassword="Not-a-real-secret-4", Tags=[{"Key": "data_class", "Value": tag}],
                                **settings)
    opensearch = aws("opensearch")
    everyone = {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "es:ESHttp*"}
    for name, vpc in (("notes", {}), ("ops", {"VPCOptions": {"SubnetIds": ["subnet-1"]}})):
        opensearch.create_domain(DomainName=name, EngineVersion="OpenSearch_2.11",
                                 EncryptionAtRestOptions={"Enabled": True, "KmsKeyId": key},
                                 TagList=[{"Key": "data_class", "Value": "clinical"}],
                                 AccessPolicies=policy({**everyone, "Resource": _arn("es", f"domain/{name}/*")}), **vpc)
    elasticache = aws("elasticache")
    for name, at_rest in (("sessions", False), ("records", True)):
        elasticache.create_replication_group(ReplicationGroupId=name, ReplicationGroupDescription=name, Engine="redis",
                                             CacheNodeType="cache.t3.micro", AtRestEncryptionEnabled=at_rest,
                                             SnapshotRetentionLimit=3, Tags=[{"Key": "data_class", "Value": "clinical"}])
    iam = aws("iam")
    for name, action, resource in READERS:
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)
        iam.put_role_policy(RoleName=name, PolicyName=name,
                            PolicyDocument=policy({"Effect": "Allow", "Action": action, "Resource": resource}))
    return key, f"{scans} {exports}"


TRUST = policy({"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"})
#: Roles reading the estate: one store, every stream of a type, a warehouse through the Data API.
READERS = (("consumer", "sqs:ReceiveMessage", _arn("sqs", "referrals")),
           ("analyst", "kinesis:GetRecords", "*"),
           ("reporter", "redshift-data:ExecuteStatement", _arn("redshift", "cluster:*")),
           ("support", "logs:GetLogEvents", _arn("logs", "log-group:/app/pms:*")))


def _estate_plan(tmp_path: Path, key: str, scans: str, exports: str, topic_policy: str) -> Path:
    """The same estate as a plan of the configuration managing it (nothing to change: every
    value known), each store with the settings written as its configuration writes them."""
    url = f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}"

    def existing(address: str, values: dict[str, Any], arn: str) -> dict[str, Any]:
        return block(address, {**values, "arn": arn}, actions=("no-op",))

    def queue_block(name: str, tags: dict[str, str], **values: Any) -> dict[str, Any]:
        return existing(f"aws_sqs_queue.{name}", {"name": name, "url": f"{url}/{name}", "tags": tags,
                                                  "tags_all": tags, **values}, _arn("sqs", name))

    fs = {"scans": scans, "exports": exports}
    mount = policy({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "elasticfilesystem:ClientMount",
                    "Resource": _arn("elasticfilesystem", f"file-system/{scans}"),
                    "Condition": {"Bool": {"elasticfilesystem:AccessedViaMountTarget": "true"}}})
    everyone = {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "es:ESHttp*"}
    blocks = [
        queue_block("referrals", CLINICAL, kms_master_key_id=key, sqs_managed_sse_enabled=False),
        existing("aws_sqs_queue_policy.referrals", {"queue_url": f"{url}/referrals", "policy": policy({
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{PARTNER}:root"},
            "Action": "sqs:ReceiveMessage", "Resource": _arn("sqs", "referrals")})}, ""),
        queue_block("billing", ADMIN, sqs_managed_sse_enabled=True),
        queue_block("legacy", CLINICAL, sqs_managed_sse_enabled=False, policy=policy(EVERYONE_RECEIVES)),
        # the default policy SNS gave it, as the plan shows it once read back
        existing("aws_sns_topic.results", {"name": "results", "policy": topic_policy, "tags": CLINICAL,
                                           "tags_all": CLINICAL}, _arn("sns", "results")),
        existing("aws_sns_topic.notices", {"name": "notices", "kms_master_key_id": key, "tags": ADMIN,
                                           "tags_all": ADMIN}, _arn("sns", "notices")),
        existing("aws_sns_topic_policy.notices", {"arn": _arn("sns", "notices"), "policy": policy({
            "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sns:Subscribe",
            "Resource": _arn("sns", "notices")})}, _arn("sns", "notices")),
        existing("aws_cloudwatch_log_group.pms", {"name": "/app/pms", "kms_key_id": key, "tags": CLINICAL,
                                                  "tags_all": CLINICAL}, _arn("logs", "log-group:/app/pms")),
        existing("aws_cloudwatch_log_group.web", {"name": "/app/web", "tags": ADMIN, "tags_all": ADMIN},
                 _arn("logs", "log-group:/app/web")),
        existing("aws_cloudwatch_log_resource_policy.web", {"policy_name": "web-public", "policy_document": policy({
            "Effect": "Allow", "Principal": "*", "Action": "logs:FilterLogEvents",
            "Resource": _arn("logs", "log-group:/app/web:*")})}, ""),
        existing("aws_kinesis_stream.vitals", {"name": "vitals", "encryption_type": "KMS", "kms_key_id": key,
                                               "tags": CLINICAL, "tags_all": CLINICAL}, _arn("kinesis", "stream/vitals")),
        existing("aws_kinesis_stream.clicks", {"name": "clicks", "encryption_type": "NONE", "tags": ADMIN,
                                               "tags_all": ADMIN}, _arn("kinesis", "stream/clicks")),
        existing("aws_kinesis_resource_policy.vitals", {"resource_arn": _arn("kinesis", "stream/vitals"),
                                                        "policy": policy({
                                                            "Effect": "Allow", "Principal": "*",
                                                            "Action": "kinesis:GetRecords",
                                                            "Resource": _arn("kinesis", "stream/vitals")})}, ""),
        existing("aws_kinesis_firehose_delivery_stream.exports", {
            "name": "exports", "destination": "extended_s3", "tags": CLINICAL, "tags_all": CLINICAL,
            "server_side_encryption": [{"enabled": True, "key_type": "AWS_OWNED_CMK", "key_arn": ""}]},
            _arn("firehose", "deliverystream/exports")),
        existing("aws_kinesis_firehose_delivery_stream.raw", {
            "name": "raw", "destination": "extended_s3", "tags": CLINICAL, "tags_all": CLINICAL,
            "server_side_encryption": [{"enabled": False, "key_type": "AWS_OWNED_CMK", "key_arn": ""}]},
            _arn("firehose", "deliverystream/raw")),
        *(existing(f"aws_efs_file_system.{name}", {
            "id": fs_id, "creation_token": name, "encrypted": name == "scans",
            "kms_key_id": key if name == "scans" else "",
            "tags": CLINICAL if name == "scans" else ADMIN, "tags_all": CLINICAL if name == "scans" else ADMIN},
            _arn("elasticfilesystem", f"file-system/{fs_id}")) for name, fs_id in fs.items()),
        existing("aws_efs_file_system_policy.scans", {"file_system_id": scans, "policy": mount}, ""),
        existing("aws_redshift_cluster.warehouse", {
            "cluster_identifier": "warehouse", "encrypted": True, "kms_key_id": key, "publicly_accessible": False,
            "automated_snapshot_retention_period": 7, "tags": CLINICAL, "tags_all": CLINICAL},
            _arn("redshift", "cluster:warehouse")),
        existing("aws_redshift_cluster.reporting", {
            "cluster_identifier": "reporting", "encrypted": False, "publicly_accessible": True,
            "automated_snapshot_retention_period": 1, "tags": ADMIN, "tags_all": ADMIN},
            _arn("redshift", "cluster:reporting")),
        *(existing(f"aws_opensearch_domain.{name}", {
            "domain_name": name, "engine_version": "OpenSearch_2.11",
            "encrypt_at_rest": [{"enabled": True, "kms_key_id": key}],
            "access_policies": policy({**everyone, "Resource": _arn("es", f"domain/{name}/*")}),
            "vpc_options": [{"subnet_ids": ["subnet-1"]}] if name == "ops" else [],
            "tags": CLINICAL, "tags_all": CLINICAL}, _arn("es", f"domain/{name}")) for name in ("notes", "ops")),
        *(existing(f"aws_elasticache_replication_group.{name}", {
            "replication_group_id": name, "engine": "redis", "at_rest_encryption_enabled": name == "records",
            "kms_key_id": "", "snapshot_retention_limit": 3, "tags": CLINICAL, "tags_all": CLINICAL},
            _arn("elasticache", f"replicationgroup:{name}")) for name in ("sessions", "records")),
    ]
    for name, action, resource in READERS:
        blocks.append(existing(f"aws_iam_role.{name}", {"name": name, "assume_role_policy": TRUST},
                               f"arn:aws:iam::{ACCOUNT}:role/{name}"))
        blocks.append(existing(f"aws_iam_role_policy.{name}", {"name": name, "role": name, "policy": policy(
            {"Effect": "Allow", "Action": action, "Resource": resource})}, ""))
    for b in blocks:
        if not b["values"]["arn"]:
            del b["values"]["arn"]
    return plan_file(tmp_path, *blocks, name="estate.json")


def test_the_plan_reader_and_the_live_reader_give_the_same_stores(aws: Callable[..., Any], tmp_path: Path) -> None:
    from phigate_providers.aws.provider import AwsProvider, Settings

    key, ids = _seed(aws)
    live = {r.id: r for r in AwsProvider(Settings(regions=(REGION,))).collect() if isinstance(r, Resource)}
    topic_policy = live[_arn("sns", "results")].raw["policy"]
    planned, errors, _ = collect(_estate_plan(tmp_path, key, *ids.split(), topic_policy))
    assert not errors
    stores = [r for r in planned.values() if r.kind in ("stream", "volume", "database")]
    assert len(stores) == 19
    assert {r.type for r in stores} == {"aws.sqs.queue", "aws.sns.topic", "aws.logs.log_group", "aws.kinesis.stream",
                                        "aws.firehose.delivery_stream", "aws.efs.file_system",
                                        "aws.redshift.cluster", "aws.opensearch.domain",
                                        "aws.elasticache.replication_group"}
    for store in stores:
        seen = live[store.id]
        assert (store.type, store.kind, store.region, store.tags) == (seen.type, seen.kind, seen.region, seen.tags)
        assert store.attributes == seen.attributes, store.name
    # The principals read the same stores, the same way.
    for name, _, _ in READERS:
        arn = f"arn:aws:iam::{ACCOUNT}:role/{name}"
        gate, audit = planned[f"aws_iam_role.{name}"].attributes, live[arn].attributes
        assert gate["can_read"] and gate["can_read"] == audit["can_read"], name
        assert gate["can_read_via"] == audit["can_read_via"], name


@pytest.mark.parametrize(("principal", "decided"), [("*", True), ({"AWS": f"arn:aws:iam::{PARTNER}:root"}, False)])
def test_a_policy_granting_everyone_needs_no_account_but_one_naming_an_account_does(
        tmp_path: Path, principal: Any, decided: bool) -> None:
    grant = policy({"Effect": "Allow", "Principal": principal, "Action": "sqs:ReceiveMessage", "Resource": "*"})
    opened = queue("opened", CLINICAL, policy=grant)
    opened["unknown"].pop("policy", None)
    found, _, _ = collect(plan_file(tmp_path, opened, *role("consumer", "sqs:SendMessage", "*")))
    readable = found["aws_iam_role.consumer"].attributes["can_read"]
    if decided:  # everyone may receive: so may the role, whichever the account
        assert readable == ["aws_sqs_queue.opened"]
    else:
        assert isinstance(readable, Unknown) and "account is not known" in readable.reason


def test_any_value_of_the_stores_plan_replaced_by_another_type_is_read_or_refused(tmp_path: Path) -> None:
    """Every value of the fuzzing seed holding these stores, replaced by each other JSON type in
    turn: refused with a location (exit 2) or read; never another exception."""

    from .test_terraform_provider import WRONG_TYPES, _nodes, read_or_refused

    seed = Path(__file__).parent / "fuzz" / "corpus" / "terraform" / "seed-aws-streams-plan.json"
    original = json.loads(seed.read_text())
    paths = [p for p in _nodes(original)[1:] if p[0] in ("planned_values", "resource_changes", "configuration")]
    for number, where in enumerate(paths):
        read_or_refused(original, where, WRONG_TYPES[number % len(WRONG_TYPES)], tmp_path / "mutated.json")


def test_a_new_topic_without_a_policy_gets_snss_default_one_as_live(tmp_path: Path) -> None:
    """SNS's default policy lets everyone in on condition of the owner account (undecided here,
    as live): every principal of the plan may subscribe, never nobody."""
    topic = block("aws_sns_topic.results", {"name": "results", "tags": CLINICAL}, {"arn": True, "policy": True})
    found, _, _ = collect(plan_file(tmp_path, topic, *role("consumer", "s3:GetObject", "*")))
    assert found["aws_sns_topic.results"].attributes["public_access"] == {"blocked": True, "grants": []}
    consumer = found["aws_iam_role.consumer"].attributes
    assert consumer["can_read_via"] == {"aws_sns_topic.results": "sns:Subscribe"}
    assert any("AWS:SourceOwner" in c for c in consumer["undecided_conditions"])


def test_a_topic_policy_resource_replaces_snss_default_policy(tmp_path: Path) -> None:
    topic = block("aws_sns_topic.results", {"name": "results", "tags": CLINICAL}, {"arn": True, "policy": True})
    own = policy({"Effect": "Allow", "Principal": {"Service": "events.amazonaws.com"}, "Action": "sns:Publish",
                  "Resource": "*"})
    replaced = block("aws_sns_topic_policy.results", {"policy": own}, {"arn": True},
                     {"policy": {"constant_value": own}, "arn": ref("aws_sns_topic.results")})
    found, _, _ = collect(plan_file(tmp_path, topic, replaced, *role("consumer", "s3:GetObject", "*")))
    assert found["aws_iam_role.consumer"].attributes["can_read"] == []


def test_changed_only_keeps_a_store_whose_policy_resource_changes(tmp_path: Path, cli: Cli) -> None:
    legacy = block("aws_sqs_queue.legacy", {"name": "legacy", "sqs_managed_sse_enabled": True, "policy": "",
                                            "arn": _arn("sqs", "legacy"), "tags": CLINICAL, "tags_all": CLINICAL},
                   actions=("no-op",))
    quiet = block("aws_sqs_queue.quiet", {"name": "quiet", "sqs_managed_sse_enabled": False, "policy": "",
                                          "arn": _arn("sqs", "quiet"), "tags": CLINICAL, "tags_all": CLINICAL},
                  actions=("no-op",))
    opened = block("aws_sqs_queue_policy.legacy", {"policy": policy(EVERYONE_RECEIVES)}, {"queue_url": True},
                   {"policy": {"constant_value": policy(EVERYONE_RECEIVES)},
                    "queue_url": ref("aws_sqs_queue.legacy", "id")})
    result = cli("scan", str(plan_file(tmp_path, legacy, quiet, opened)), "--changed-only", "--only", "PHI-IAM-002",
                 "--only", "PHI-ENC-001", "--show-passed", "--format", "json")
    assert {(s, p, a) for s, p, a in outcomes(result)} == {("fail", "PHI-IAM-002", "aws_sqs_queue.legacy"),
                                                           ("pass", "PHI-ENC-001", "aws_sqs_queue.legacy")}


def test_domains_and_caches_refuse_plain_connections_only_as_their_settings_say(tmp_path: Path) -> None:
    def domain(name: str, settings: dict[str, Any], unknown: dict[str, Any] | None = None) -> dict[str, Any]:
        return block(f"aws_opensearch_domain.{name}", {"domain_name": name, "engine_version": "OpenSearch_2.13",
                                                       "tags": CLINICAL, **settings}, {"arn": True, **(unknown or {})})

    def cache(name: str, settings: dict[str, Any]) -> dict[str, Any]:
        return block(f"aws_elasticache_replication_group.{name}", {
            "replication_group_id": name, "description": name, "tags": CLINICAL, **settings},
            {"arn": True, "at_rest_encryption_enabled": True})

    https, nodes = [{"enforce_https": True}], [{"enabled": True}]
    path = plan_file(
        tmp_path,
        domain("sealed", {"domain_endpoint_options": https, "node_to_node_encryption": nodes}),
        domain("http", {"domain_endpoint_options": [{"enforce_https": False}], "node_to_node_encryption": nodes}),
        domain("bare", {}),  # neither block: AWS's defaults accept plain HTTP
        domain("later", {"node_to_node_encryption": nodes}, {"domain_endpoint_options": True}),
        cache("required", {"transit_encryption_enabled": True, "transit_encryption_mode": "required"}),
        cache("preferred", {"transit_encryption_enabled": True, "transit_encryption_mode": "preferred"}),
        cache("plain", {}))
    found, errors, _ = collect(path)
    assert not errors
    transport = {address: resource.attributes["secure_transport_required"] for address, resource in found.items()}
    assert {a: t for a, t in transport.items() if not isinstance(t, Unknown)} == {
        "aws_opensearch_domain.sealed": True, "aws_opensearch_domain.http": False,
        "aws_opensearch_domain.bare": False,
        "aws_elasticache_replication_group.required": True,
        "aws_elasticache_replication_group.preferred": False, "aws_elasticache_replication_group.plain": False}
    assert isinstance(transport["aws_opensearch_domain.later"], Unknown)
