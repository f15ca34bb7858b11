"""More AWS stores read live from the moto server: SQS queues, SNS topics and CloudWatch Logs log
groups (kind ``stream``), EFS file systems (``volume``), with their encryption and key, their
resource policy's exposure and their class, judged by the store policies and read through the
access graph.

One estate for the module (seeded once, collected and scanned once); the faults are injected
into later reads of the same estate."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from phigate.api import CollectionError, Resource
from phigate.cli import main
from phigate.snapshot import error_from_json, resource_from_json
from phigate_providers.aws import efs, logs, sns, sqs
from phigate_providers.aws.provider import AwsProvider, Settings
from tests.aws_server import ACCOUNT, REGION, _Body, client, error_response, inject_faults, reset

PARTNER = "111122223333"


def queue_arn(name: str) -> str:
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


def topic_arn(name: str) -> str:
    return f"arn:aws:sns:{REGION}:{ACCOUNT}:{name}"


def group_arn(name: str) -> str:
    return f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{name}"


def file_system_arn(fs_id: str) -> str:
    return f"arn:aws:elasticfilesystem:{REGION}:{ACCOUNT}:file-system/{fs_id}"


def data_stream_arn(name: str) -> str:
    return f"arn:aws:kinesis:{REGION}:{ACCOUNT}:stream/{name}"


def delivery_stream_arn(name: str) -> str:
    return f"arn:aws:firehose:{REGION}:{ACCOUNT}:deliverystream/{name}"


def cluster_arn(name: str) -> str:
    return f"arn:aws:redshift:{REGION}:{ACCOUNT}:cluster:{name}"


def domain_arn(name: str) -> str:
    return f"arn:aws:es:{REGION}:{ACCOUNT}:domain/{name}"


def document(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def seed(aws: Callable[..., Any]) -> None:
    """Queues, topics and log groups, clinical or not, under a customer key, an AWS-managed or
    AWS-owned key or none, private, shared with a partner or public; roles reading them."""
    key = aws("kms").create_key()["KeyMetadata"]["Arn"]
    sqs = aws("sqs")
    sqs.create_queue(QueueName="referrals", tags={"data_class": "clinical"}, Attributes={
        "KmsMasterKeyId": key, "Policy": document({
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{PARTNER}:root"},
            "Action": "sqs:ReceiveMessage", "Resource": queue_arn("referrals")})})
    sqs.create_queue(QueueName="billing-jobs", tags={"data_class": "administrative"},
                     Attributes={"SqsManagedSseEnabled": "true"})
    sqs.create_queue(QueueName="legacy-intake", tags={"data_class": "clinical"}, Attributes={
        "SqsManagedSseEnabled": "false", "Policy": document({
            "Effect": "Allow", "Principal": "*", "Action": "sqs:*", "Resource": queue_arn("legacy-intake")})})
    sns = aws("sns")
    sns.create_topic(Name="lab-results", Tags=[{"Key": "data_class", "Value": "clinical"}],
                     Attributes={"KmsMasterKeyId": "alias/aws/sns"})
    sns.create_topic(Name="notices", Attributes={"Policy": document({
        "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sns:Publish", "Resource": topic_arn("notices"),
        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}})})
    logs = aws("logs")
    logs.create_log_group(logGroupName="/app/pms", kmsKeyId=key, tags={"data_class": "clinical"})
    logs.create_log_group(logGroupName="/app/web", tags={"data_class": "administrative"})
    logs.put_resource_policy(policyName="web-public", policyDocument=document({
        "Effect": "Allow", "Principal": "*", "Action": "logs:FilterLogEvents",
        "Resource": f"{group_arn('/app/web')}:*"}))
    efs = aws("efs")
    scans = efs.create_file_system(CreationToken="scans", Encrypted=True, KmsKeyId=key,
                                   Tags=[{"Key": "data_class", "Value": "clinical"}])["FileSystemId"]
    efs.put_file_system_policy(FileSystemId=scans, Policy=document(
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "elasticfilesystem:ClientMount",
         "Resource": file_system_arn(scans), "Condition": {"Bool": {"elasticfilesystem:AccessedViaMountTarget": "true"}}},
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{PARTNER}:root"},
         "Action": "elasticfilesystem:ClientMount", "Resource": file_system_arn(scans)}))
    efs.create_file_system(CreationToken="exports", Tags=[{"Key": "data_class", "Value": "administrative"}])
    shared = efs.create_file_system(CreationToken="shared", Encrypted=True)["FileSystemId"]
    efs.put_file_system_policy(FileSystemId=shared, Policy=document(
        {"Effect": "Allow", "Principal": "*", "Action": "elasticfilesystem:ClientMount",
         "Resource": file_system_arn(shared)}))
    kinesis = aws("kinesis")
    for name, tag in (("vitals", "clinical"), ("clickstream", "administrative")):
        kinesis.create_stream(StreamName=name, ShardCount=1)
        kinesis.add_tags_to_stream(StreamName=name, Tags={"data_class": tag})
    kinesis.start_stream_encryption(StreamName="vitals", EncryptionType="KMS", KeyId=key)
    kinesis.put_resource_policy(ResourceARN=data_stream_arn("vitals"), Policy=document(
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{PARTNER}:root"},
         "Action": ["kinesis:GetRecords", "kinesis:GetShardIterator"], "Resource": data_stream_arn("vitals")}))
    firehose = aws("firehose")
    s3 = {"RoleARN": f"arn:aws:iam::{ACCOUNT}:role/firehose", "BucketARN": "arn:aws:s3:::exemplum-exports"}
    firehose.create_delivery_stream(DeliveryStreamName="exports", ExtendedS3DestinationConfiguration=s3,
                                    Tags=[{"Key": "data_class", "Value": "clinical"}])
    firehose.start_delivery_stream_encryption(DeliveryStreamName="exports", DeliveryStreamEncryptionConfigurationInput={
        "KeyType": "AWS_OWNED_CMK"})
    firehose.create_delivery_stream(DeliveryStreamName="raw-feed", ExtendedS3DestinationConfiguration=s3)
    firehose.create_delivery_stream(
        DeliveryStreamName="vitals-archive", DeliveryStreamType="KinesisStreamAsSource",
        KinesisStreamSourceConfiguration={"KinesisStreamARN": data_stream_arn("vitals"), "RoleARN": s3["RoleARN"]},
        ExtendedS3DestinationConfiguration=s3)
    redshift = aws("redshift")
    for name, tag, settings in (("warehouse", "clinical", {"Encrypted": True, "KmsKeyId": key}),
                                ("reporting", "administrative", {"PubliclyAccessible": True})):
        redshift.create_cluster(ClusterIdentifier=name, NodeType="dc2.large", MasterUsername="admin",
                                MasterUserPassword="Not-a-real-secret-4", Tags=[{"Key": "data_class", "Value": tag}],
                                **settings)
    opensearch = aws("opensearch")
    for name, vpc in (("notes-search", {}), ("ops-search", {"VPCOptions": {"SubnetIds": ["subnet-1"]}})):
        opensearch.create_domain(DomainName=name, EncryptionAtRestOptions={"Enabled": True, "KmsKeyId": key},
                                 TagList=[{"Key": "data_class", "Value": "clinical"}], AccessPolicies=document(
                                     {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "es:ESHttp*",
                                      "Resource": f"{domain_arn(name)}/*"}), **vpc)
    elasticache = aws("elasticache")
    for name, at_rest in (("sessions", False), ("records-cache", True)):
        elasticache.create_replication_group(ReplicationGroupId=name, ReplicationGroupDescription=name, Engine="redis",
                                             CacheNodeType="cache.t3.micro", AtRestEncryptionEnabled=at_rest,
                                             Tags=[{"Key": "data_class", "Value": "clinical"}])
    iam = aws("iam")
    for name, action, resource in (("consumer", "sqs:ReceiveMessage", queue_arn("referrals")),
                                   ("analyst", "kinesis:GetRecords", data_stream_arn("*")),
                                   ("reporter", "redshift-data:ExecuteStatement", cluster_arn("warehouse")),
                                   ("publisher", "sns:SetTopicAttributes", "*"),
                                   ("support", "logs:GetLogEvents", f"{group_arn('/app/pms')}:*")):
        trust = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=document(trust))
        iam.put_role_policy(RoleName=name, PolicyName="p",
                            PolicyDocument=document({"Effect": "Allow", "Action": action, "Resource": resource}))


def collect(**fields: frozenset[str]) -> tuple[dict[str, Resource], list[CollectionError]]:
    """The estate read live; only what ``fields`` name (kind → attributes) when given."""
    provider = AwsProvider(Settings(regions=(REGION,)))
    if fields:
        provider.restrict(fields)
    records = list(provider.collect())
    return ({r.id: r for r in records if isinstance(r, Resource)},
            [r for r in records if isinstance(r, CollectionError)])


@pytest.fixture(scope="module")
def estate(endpoint: str, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[dict[str, Resource], list[CollectionError], int, dict[str, Any]]]:
    """The seeded estate read live once into a snapshot, and the snapshot scanned with every
    finding shown."""
    reset(endpoint)
    seed(lambda service, region=REGION: client(endpoint, service, region))
    folder = tmp_path_factory.mktemp("streams")
    snapshot, out = folder / "estate.json", folder / "report.json"
    assert main(["collect", "--provider", "aws", "--region", REGION, "--quiet", "--output", str(snapshot)]) == 0
    code = main(["scan", str(snapshot), "--quiet", "--show-passed", "--format", f"json={out}"])
    document = json.loads(snapshot.read_text())
    found = {r.id: r for r in map(resource_from_json, document["resources"])}
    yield found, [error_from_json(e) for e in document["errors"]], code, json.loads(out.read_text())


def statuses(report: dict[str, Any], policy: str) -> dict[str, str]:
    return {f["resource"]["id"]: f["status"] for f in report["findings"] if f["policy_id"] == policy}


# --- normalised -----------------------------------------------------------------------------------

def test_queues_carry_their_key_their_sse_kind_and_their_policys_exposure(estate: Any) -> None:
    found, errors, _, _ = estate
    assert errors == []
    referrals, billing, legacy = (found[queue_arn(n)] for n in ("referrals", "billing-jobs", "legacy-intake"))
    assert (referrals.kind, referrals.type, referrals.region) == ("stream", "aws.sqs.queue", REGION)
    assert referrals.attributes["encryption"] == {"at_rest": True, "algorithm": "aws:kms",
                                                  "key": referrals.raw["KmsMasterKeyId"], "key_manager": "customer"}
    # SSE-SQS: encrypted under keys SQS owns, which no key resource names.
    assert billing.attributes["encryption"] == {"at_rest": True, "algorithm": "SSE-SQS", "key": None,
                                                "key_manager": "provider"}
    assert legacy.attributes["encryption"]["at_rest"] is False
    # Shared with a named partner: not public; open to everyone: public.
    assert referrals.attributes["public_access"] == {"blocked": True, "grants": []}
    assert legacy.attributes["public_access"] == {"blocked": False, "grants": ["*"]}
    assert referrals.tags["data_class"] == "clinical"


def test_topics_and_log_groups_carry_their_key_and_exposure(estate: Any) -> None:
    found, _, _, _ = estate
    lab, notices = found[topic_arn("lab-results")], found[topic_arn("notices")]
    assert lab.attributes["encryption"]["key_manager"] == "provider"  # alias/aws/sns
    assert notices.attributes["encryption"] == {"at_rest": False, "algorithm": None, "key": None,
                                                "key_manager": None}
    # Everyone, but only from the account's own resources: not public.
    assert notices.attributes["public_access"] == {"blocked": True, "grants": []}
    assert lab.tags == {"data_class": "clinical"}
    pms, web = found[group_arn("/app/pms")], found[group_arn("/app/web")]
    assert pms.type == "aws.logs.log_group" and pms.attributes["encryption"]["key_manager"] == "customer"
    # No key named: CloudWatch Logs encrypts with keys it owns.
    assert web.attributes["encryption"] == {"at_rest": True, "algorithm": "AES256", "key": None,
                                            "key_manager": "provider"}
    # The account's resource policy opens /app/web to everyone, and names nothing of /app/pms.
    assert web.attributes["public_access"] == {"blocked": False, "grants": ["*"]}
    assert pms.attributes["public_access"] == {"blocked": True, "grants": []}
    assert pms.tags == {"data_class": "clinical"}


# --- judged by the store policies -------------------------------------------------------------------

def test_store_policies_judge_streams_without_policies_of_their_own(estate: Any) -> None:
    _, _, code, report = estate
    assert report["collection_errors"] == []
    # moto has no AWS-managed aws/sns key: the key named by alias is unknown, and whether it
    # also encrypts other data undecided (exit 3), nothing else.
    undecided = {(f["policy_id"], f["resource"]["id"]) for f in report["findings"] if f["status"] == "error"}
    assert code == 3 and undecided == {("PHI-SEG-001", topic_arn("lab-results"))}
    exposure = statuses(report, "PHI-IAM-002")
    assert exposure[queue_arn("legacy-intake")] == exposure[group_arn("/app/web")] == "fail"
    assert exposure[queue_arn("referrals")] == exposure[topic_arn("notices")] == "pass"
    encrypted = statuses(report, "PHI-ENC-001")
    assert encrypted[queue_arn("legacy-intake")] == encrypted[topic_arn("notices")] == "fail"
    assert encrypted[queue_arn("billing-jobs")] == encrypted[group_arn("/app/web")] == "pass"
    customer_key = statuses(report, "PHI-ENC-002")
    assert customer_key[queue_arn("referrals")] == customer_key[group_arn("/app/pms")] == "pass"
    assert customer_key[topic_arn("lab-results")] == "fail"  # the AWS-managed aws/sns key
    # One customer key for a clinical queue and a clinical log group, nothing else: dedicated.
    assert statuses(report, "PHI-SEG-001")[queue_arn("referrals")] == "pass"
    assert statuses(report, "PHI-CLASS-001")[topic_arn("notices")] == "fail"
    assert statuses(report, "PHI-RES-001")[queue_arn("referrals")] == "pass"


# --- the access graph -------------------------------------------------------------------------------

def test_receiving_subscribing_or_reading_logs_reads_the_stream(estate: Any) -> None:
    found, _, _, _ = estate
    role = {name: found[f"arn:aws:iam::{ACCOUNT}:role/{name}"] for name in ("consumer", "publisher", "support")}
    # The public queue and log group are anyone's: every principal counts as reading them.
    public = {queue_arn("legacy-intake"), group_arn("/app/web")}
    # A topic created without a policy has SNS's default one: any principal of the owning
    # account may subscribe (and rewrite it), whatever its identity policies say.
    # A file system open to everyone, and one open to everyone through its mount targets (a
    # condition on the network, undecided here: counted as possible access).
    # Search domains whose access policy allows everyone: the network (a VPC) is not IAM's.
    account_wide = public | {topic_arn("lab-results")} | {r.id for r in file_systems(found).values()
                                                          if r.raw["CreationToken"] != "exports"} | {
        domain_arn("notes-search"), domain_arn("ops-search")}
    assert set(role["consumer"].attributes["can_read"]) == account_wide | {queue_arn("referrals")}
    assert set(role["support"].attributes["can_read"]) == account_wide | {group_arn("/app/pms")}
    via = role["publisher"].attributes["can_read_via"]
    # Its own policy lets no one subscribe to notices; rewriting that policy is a way in.
    assert via[topic_arn("notices")] == "sns:SetTopicAttributes (can grant itself read)"
    assert topic_arn("notices") not in role["consumer"].attributes["can_read"]


# --- what was not read --------------------------------------------------------------------------

def refusing(*operations: str) -> Callable[[str, str, str, Any], AWSResponse | None]:
    def fault(service: str, region: str, called: str, request: Any) -> AWSResponse | None:
        if called in operations:
            return error_response("AccessDenied", 403, json_protocol=service != "sns")
        return None

    return fault


#: What the store policies read of streams: a collect restricted to it reads the asked region only.
STREAM_FIELDS = {"stream": frozenset({"encryption", "public_access", "tags"})}


def test_a_stream_whose_policy_or_tags_cannot_be_read_is_undecided_not_private(
        estate: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # The region's tag listing refused too: each store's own tag read is then the one refused.
    inject_faults(monkeypatch, refusing("GetQueueAttributes", "GetTopicAttributes", "DescribeResourcePolicies",
                                        "ListTagsForResource", "GetResources"))
    found, errors = collect(**STREAM_FIELDS)
    stores = [(queue_arn("legacy-intake"), sqs.store_access, "sqs:GetQueueAttributes"),
              (topic_arn("notices"), sns.store_access, "sns:GetTopicAttributes"),
              (group_arn("/app/web"), logs.store_access, "logs:DescribeResourcePolicies")]
    for store, access, permission in stores:
        assert "public_access" not in found[store].attributes
        assert permission in {e.permission for e in errors if e.resource_id == store and e.kinds == ("stream",)}
        # Its reach is unseen for the access analysis: who reads it is not known, never nobody.
        assert access(found[store]) == "resource policy not read"
    # An SQS queue whose attributes were refused has no encryption either: PHI-ENC-001 is error.
    assert "encryption" not in found[queue_arn("referrals")].attributes
    # Tags refused: untagged, with an error naming the store (its class is undecided).
    assert found[topic_arn("lab-results")].tags == {}
    assert topic_arn("lab-results") in {e.resource_id for e in errors if e.permission == "sns:ListTagsForResource"}
    # Queues' tags were read (their own operation): their class stands.
    assert found[queue_arn("referrals")].tags == {"data_class": "clinical"}


#: The stores' own tag reads, by service (the tagging listing replaces them where it answers).
OWN_TAG_READS = {("sqs", "ListQueueTags"), ("sns", "ListTagsForResource"), ("logs", "ListTagsForResource"),
                 ("firehose", "ListTagsForDeliveryStream"), ("kinesis", "ListTagsForStream"),
                 ("opensearch", "ListTags"), ("elasticache", "ListTagsForResource")}
#: Every tagged store of the estate read by the tag policies, and its class.
TAGGED = {queue_arn("referrals"): "clinical", queue_arn("billing-jobs"): "administrative",
          topic_arn("lab-results"): "clinical", group_arn("/app/pms"): "clinical",
          group_arn("/app/web"): "administrative", delivery_stream_arn("exports"): "clinical",
          data_stream_arn("vitals"): "clinical", data_stream_arn("clickstream"): "administrative"}


def recording(calls: list[tuple[str, str, bytes]], answer: Callable[[str, str], AWSResponse | None] | None = None
              ) -> Callable[[str, str, str, Any], AWSResponse | None]:
    """Records every request (service, operation, body); ``answer`` may answer a listing."""
    def fault(service: str, region: str, called: str, request: Any) -> AWSResponse | None:
        body = request.body or b""
        calls.append((service, called, body.encode() if isinstance(body, str) else bytes(body)))
        return answer(service, called) if answer is not None else None

    return fault


def stream_listings(calls: list[tuple[str, str, bytes]]) -> int:
    return sum(1 for service, called, body in calls if called == "GetResources" and b'"sqs"' in body)


def test_stores_take_their_tags_from_one_listing_per_region(
        estate: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str, bytes]] = []
    inject_faults(monkeypatch, recording(calls))
    found, errors = collect(**STREAM_FIELDS)
    assert {arn: found[arn].tags.get("data_class") for arn in TAGGED} == TAGGED
    assert stream_listings(calls) == 1
    # Every store the listing returned took its tags from it: no store of a service moto lists
    # was read on its own but the untagged ones (which the listing leaves out).
    own = [(service, called) for service, called, _ in calls if (service, called) in OWN_TAG_READS]
    assert ("sqs", "ListQueueTags") not in own and ("firehose", "ListTagsForDeliveryStream") in own
    assert len(own) < len([r for r in found.values() if r.kind == "stream"])
    assert not errors


@pytest.mark.parametrize("listing", ["misses every store", "is refused"])
def test_a_store_the_tag_listing_does_not_return_is_read_on_its_own(
        estate: Any, monkeypatch: pytest.MonkeyPatch, listing: str) -> None:
    """Absent from the listing (lagging behind a new tag) or a listing that failed: never untagged."""
    def answer(service: str, called: str) -> AWSResponse | None:
        if called != "GetResources":
            return None
        if listing == "is refused":
            return error_response("AccessDenied", 403, json_protocol=True)
        return AWSResponse("https://injected", 200, {"Content-Type": "application/x-amz-json-1.1"},
                           _Body(b'{"ResourceTagMappingList": []}'))

    calls: list[tuple[str, str, bytes]] = []
    inject_faults(monkeypatch, recording(calls, answer))
    found, errors = collect(**STREAM_FIELDS)
    assert {arn: found[arn].tags.get("data_class") for arn in TAGGED} == TAGGED
    assert ("sqs", "ListQueueTags") in {(service, called) for service, called, _ in calls}
    assert not errors  # the listing is a shortcut: its failure costs calls, not facts


def test_stores_not_listed_are_an_error_on_every_store_policy_of_their_kind(
        estate: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    inject_faults(monkeypatch, refusing("ListQueues", "ListTopics", "DescribeLogGroups", "ListStreams",
                                        "ListDeliveryStreams", "DescribeFileSystems"))
    found, errors = collect(**STREAM_FIELDS, volume=frozenset({"encryption"}))
    assert not [r for r in found.values() if r.kind == "stream" or r.type == "aws.efs.file_system"]
    listed = {(e.permission, e.kinds, e.types) for e in errors if e.resource_id is None}
    assert listed == {("sqs:ListQueues", ("stream",), ("aws.sqs.queue",)),
                      ("sns:ListTopics", ("stream",), ("aws.sns.topic",)),
                      ("logs:DescribeLogGroups", ("stream",), ("aws.logs.log_group",)),
                      ("kinesis:ListStreams", ("stream",), ("aws.kinesis.stream",)),
                      ("firehose:ListDeliveryStreams", ("stream",), ("aws.firehose.delivery_stream",)),
                      ("elasticfilesystem:DescribeFileSystems", ("volume",), ("aws.efs.file_system",)),
                      # FSx's listing bears the same operation name: refused too.
                      ("fsx:DescribeFileSystems", ("volume",), ("aws.fsx.file_system",))}


def test_a_policy_that_does_not_parse_leaves_the_exposure_undecided(
        estate: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A policy document that is not the policy grammar (a Principal given as a number) is the
    store's error, never a store without a policy."""
    bad = document({"Effect": "Allow", "Principal": 7, "Action": "sqs:*", "Resource": "*"})

    def garbled(service: str, region: str, called: str, request: Any) -> AWSResponse | None:
        if called != "GetQueueAttributes":
            return None
        body = json.dumps({"Attributes": {"QueueArn": queue_arn("garbled"), "Policy": bad}}).encode()
        return AWSResponse("https://injected", 200, {"Content-Type": "application/x-amz-json-1.0"}, _Body(body))

    inject_faults(monkeypatch, garbled)
    found, errors = collect(**STREAM_FIELDS)
    assert "public_access" not in found[queue_arn("garbled")].attributes
    assert any(e.resource_id == queue_arn("garbled") and "policy" in e.message for e in errors)


# --- EFS file systems -------------------------------------------------------------------------------

def file_systems(found: dict[str, Resource]) -> dict[str, Resource]:
    return {str(r.raw["CreationToken"]): r for r in found.values() if r.type == "aws.efs.file_system"}


def test_file_systems_are_volumes_public_only_beyond_their_mount_targets(estate: Any) -> None:
    found, _, _, report = estate
    systems = file_systems(found)
    scans, exports, shared = systems["scans"], systems["exports"], systems["shared"]
    assert (scans.kind, scans.id) == ("volume", file_system_arn(str(scans.raw["FileSystemId"])))
    assert scans.attributes["encryption"]["key_manager"] == "customer"
    assert exports.attributes["encryption"]["at_rest"] is False
    # Everyone, through a mount target only (the VPC first): not public; everyone outright: public.
    assert scans.attributes["public_access"] == {"blocked": True, "grants": []}
    assert shared.attributes["public_access"] == {"blocked": False, "grants": ["*"]}
    assert exports.attributes["public_access"] == {"blocked": True, "grants": []}
    assert statuses(report, "PHI-IAM-002")[shared.id] == "fail"
    assert statuses(report, "PHI-ENC-001")[exports.id] == "fail"
    assert statuses(report, "PHI-ENC-002")[scans.id] == "pass"
    # Without a policy IAM does not decide who mounts it: its readers are unseen, never nobody.
    assert efs.store_access(exports) == efs.NO_POLICY
    consumer = found[f"arn:aws:iam::{ACCOUNT}:role/consumer"]
    assert [g for g in consumer.attributes["access_unseen"] if exports.id in g] == [
        f"aws account {ACCOUNT} region {REGION} {exports.id} ({efs.NO_POLICY})"]
    facets, policy = efs.store_access(scans)  # type: ignore[misc]
    assert policy is not None and {"elasticfilesystem:ClientMount"} <= facets[0].actions


# --- Kinesis and Firehose -------------------------------------------------------------------------

def test_data_and_delivery_streams_carry_their_key_and_are_read_through_their_shards(estate: Any) -> None:
    found, _, _, report = estate
    vitals, clicks = found[data_stream_arn("vitals")], found[data_stream_arn("clickstream")]
    assert (vitals.kind, vitals.type) == ("stream", "aws.kinesis.stream")
    assert vitals.attributes["encryption"]["key_manager"] == "customer"
    assert clicks.attributes["encryption"]["at_rest"] is False
    assert vitals.attributes["public_access"] == {"blocked": True, "grants": []}  # a named partner
    exports, raw_feed = found[delivery_stream_arn("exports")], found[delivery_stream_arn("raw-feed")]
    assert exports.attributes["encryption"] == {"at_rest": True, "algorithm": "aws:kms", "key": None,
                                                "key_manager": "provider"}
    assert raw_feed.attributes["encryption"]["at_rest"] is False
    # Reading from a data stream, a delivery stream stores nothing at rest: not a store.
    assert delivery_stream_arn("vitals-archive") not in found
    encrypted = statuses(report, "PHI-ENC-001")
    assert encrypted[data_stream_arn("clickstream")] == encrypted[delivery_stream_arn("raw-feed")] == "fail"
    customer_key = statuses(report, "PHI-ENC-002")
    assert customer_key[data_stream_arn("vitals")] == "pass"
    assert customer_key[delivery_stream_arn("exports")] == "fail"  # a key Firehose owns
    analyst = found[f"arn:aws:iam::{ACCOUNT}:role/analyst"]
    assert {data_stream_arn("vitals"), data_stream_arn("clickstream")} <= set(analyst.attributes["can_read"])
    assert not any(":firehose:" in store for store in analyst.attributes["can_read"])


# --- Redshift, OpenSearch, ElastiCache --------------------------------------------------------------

def test_warehouses_search_domains_and_caches_are_databases(estate: Any) -> None:
    found, _, _, report = estate
    warehouse, reporting = found[cluster_arn("warehouse")], found[cluster_arn("reporting")]
    assert (warehouse.kind, warehouse.type) == ("database", "aws.redshift.cluster")
    assert warehouse.attributes["encryption"]["key_manager"] == "customer"
    assert reporting.attributes["encryption"]["at_rest"] is False
    assert reporting.attributes["public_access"] == {"blocked": False, "grants": ["PubliclyAccessible"]}
    assert "Not-a-real-secret" not in json.dumps([r.raw for r in found.values()])
    notes, ops = found[domain_arn("notes-search")], found[domain_arn("ops-search")]
    assert (notes.type, notes.attributes["encryption"]["key_manager"]) == ("aws.opensearch.domain", "customer")
    # Open to everyone: public with a public endpoint; inside a VPC, reachable from it only.
    assert notes.attributes["public_access"] == {"blocked": False, "grants": ["*"]}
    assert ops.attributes["public_access"] == {"blocked": True, "grants": []}
    caches = {r.name: r for r in found.values() if r.type == "aws.elasticache.replication_group"}
    assert caches["sessions"].attributes["encryption"]["at_rest"] is False
    assert caches["records-cache"].attributes["encryption"] == {"at_rest": True, "algorithm": "AES256",
                                                                "key": None, "key_manager": "provider"}
    exposure, encrypted = statuses(report, "PHI-IAM-002"), statuses(report, "PHI-ENC-001")
    assert exposure[cluster_arn("reporting")] == exposure[domain_arn("notes-search")] == "fail"
    assert exposure[cluster_arn("warehouse")] == exposure[domain_arn("ops-search")] == "pass"
    assert encrypted[cluster_arn("reporting")] == encrypted[caches["sessions"].id] == "fail"
    assert statuses(report, "PHI-ENC-002")[caches["records-cache"].id] == "fail"  # a key ElastiCache manages
    reporter = found[f"arn:aws:iam::{ACCOUNT}:role/reporter"]
    assert reporter.attributes["can_read_via"][cluster_arn("warehouse")] == "redshift-data:ExecuteStatement"
    assert cluster_arn("reporting") not in reporter.attributes["can_read"]


def test_data_streams_past_the_first_page_are_listed(endpoint: str) -> None:
    """ListStreams pages by ``ExclusiveStartStreamName`` while ``HasMoreStreams`` is true when it
    gives no ``NextToken`` (moto pages so, by ten); a stream past the first page is never left out
    unseen. In a region of its own, apart from the module's estate."""
    region = "eu-central-1"
    kinesis = client(endpoint, "kinesis", region)
    names = [f"ward-{i:02d}" for i in range(12)]
    for name in names:
        kinesis.create_stream(StreamName=name, ShardCount=1)
    provider = AwsProvider(Settings(regions=(region,)))
    provider.restrict({"stream": frozenset({"encryption"})})
    found = {r.id for r in provider.collect() if isinstance(r, Resource) and r.type == "aws.kinesis.stream"}
    assert found == {f"arn:aws:kinesis:{region}:{ACCOUNT}:stream/{name}" for name in names}
