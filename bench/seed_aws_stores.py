"""Seed an AWS-compatible endpoint (a moto server) with every store phigate reads, and its truth.

    python bench/seed_aws_stores.py --endpoint http://127.0.0.1:5000 --scale 200 --seed 7 --truth truth.json

A random but reproducible estate across two regions, Paris (``eu-west-3``, in the EEA) and London
(``eu-west-2``, outside it): S3 buckets, RDS instances and Aurora clusters with their manual
snapshots, EBS volumes and snapshots, EFS file systems, Redshift clusters, OpenSearch domains,
ElastiCache replication groups, DynamoDB tables, SQS queues, SNS topics, CloudWatch Logs log
groups, Kinesis data streams and Firehose delivery streams; customer KMS keys (some not rotating,
one disabled a region) beside the AWS-managed ones; ``data_class`` tags (clinical, administrative,
or none); IAM users with console passwords, with or without an MFA device, and access keys, who read
stores through their own policy, a group, or a role they may assume; roles with full rights.

The truth file says, for each policy of the bundled pack that judges such an estate
(``policies/health``), the resource ids expected to ``fail``, to ``pass`` and to be ``error``
(decidable only with evidence the server cannot give). It is computed here from what was
created, following the policies' YAML and AWS's documented behaviour, never from phigate's code:
phigate is what it checks. Where the server reports a created resource differently from AWS
(moto drops an EBS snapshot's key, names no key for an RDS database encrypted by default), the
estate avoids the case or the truth takes the server's answer, as said where it happens.

Scale: about ``--scale`` stores in all; the IAM identities grow with it. One class per estate is
the one its public stores (snapshots shared with ``all``, policies open to everyone) hold, so that
"everyone reads a public store" shows in the access graph without making every identity fail.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3

ACCOUNT = "123456789012"  # moto's default account
OTHER_ACCOUNT = "111122223333"  # a partner the estate shares snapshots with
HOME = "eu-west-3"  # Paris: in the EEA
ABROAD = "eu-west-2"  # London: outside the EEA
REGIONS = (HOME, ABROAD)
EEA = frozenset({"eu-west-1", "eu-west-3", "eu-central-1", "eu-north-1", "eu-south-1", "eu-south-2"})
CLINICAL, ADMIN, NONE = "clinical", "administrative", "unclassified"
#: Tag values as people write them; the default classification maps each to its class.
TAG_VALUES = {CLINICAL: ("clinical", "phi", "clinical_notes"), ADMIN: ("administrative", "admin", "pii")}
#: Kinds of the store resource types, as the policies select them.
KINDS = {
    "aws.s3.bucket": "object_store",
    "aws.rds.db_instance": "database", "aws.rds.db_cluster": "database",
    "aws.rds.db_snapshot": "database", "aws.rds.db_cluster_snapshot": "database",
    "aws.redshift.cluster": "database", "aws.opensearch.domain": "database",
    "aws.elasticache.replication_group": "database",
    "aws.dynamodb.table": "table",
    "aws.ec2.volume": "volume", "aws.ec2.snapshot": "volume", "aws.efs.file_system": "volume",
    "aws.sqs.queue": "stream", "aws.sns.topic": "stream", "aws.logs.log_group": "stream",
    "aws.kinesis.stream": "stream", "aws.firehose.delivery_stream": "stream",
}
STORE_KINDS = frozenset(KINDS.values())
#: The store types kept out of every principal's reach by IAM (their own users decide, or there
#: is no read API): never in a ``can_read``.
NOT_READ_BY_IAM = frozenset({"aws.elasticache.replication_group", "aws.firehose.delivery_stream",
                             "aws.rds.db_instance", "aws.rds.db_cluster", "aws.ec2.volume"})
FIREHOSE_QUOTA = 50  # delivery streams a region may hold (AWS's default quota; moto enforces it)
PASSWORD = "Seeded-estate-0"  # a moto estate's database and console password, not a secret


def arn(service: str, region: str, resource: str) -> str:
    return f"arn:aws:{service}:{region}:{ACCOUNT}:{resource}"


# --------------------------------------------------------------------------------------------
# What was created
# --------------------------------------------------------------------------------------------

@dataclass
class Key:
    arn: str
    region: str
    customer: bool  # False: AWS-managed (an alias/aws/… key)
    enabled: bool = True
    rotates: bool = False


@dataclass
class Store:
    id: str
    type: str
    region: str
    data_class: str
    encrypted: bool
    key: str | None = None  # the key's ARN when the store names one the server resolves
    customer_key: bool = False  # encrypted under a customer-managed key of the account
    #: True: open to the public; False: not; None: the store's exposure is not an attribute AWS
    #: gives (an Aurora cluster: its instances carry it), so PHI-IAM-002 cannot be decided.
    public: bool | None = False
    everyone_reads: bool = False  # a public grant lets every principal read it
    bucket: dict[str, bool] = field(default_factory=dict)  # S3 only: settings the policies read
    #: Databases taking clients' connections: whether they refuse plain ones (None: not such a store).
    tls: bool | None = None

    @property
    def kind(self) -> str:
        return KINDS[self.type]


@dataclass
class Principal:
    id: str
    type: str  # user | group | role
    reads: set[str] = field(default_factory=set)  # store ids its own policies grant
    becomes: set[str] = field(default_factory=set)  # roles it may assume, groups it is in
    admin: bool = False  # holds Action * on Resource *
    console: bool = False
    mfa: bool = False
    access_keys: int = 0


@dataclass
class Estate:
    keys: dict[str, Key] = field(default_factory=dict)
    stores: dict[str, Store] = field(default_factory=dict)
    principals: dict[str, Principal] = field(default_factory=dict)
    policies: dict[str, bool] = field(default_factory=dict)  # access policy id -> full admin
    ebs_default: dict[str, bool] = field(default_factory=dict)  # region -> encrypted by default
    regions: tuple[str, ...] = REGIONS

    def add(self, store: Store) -> Store:
        self.stores[store.id] = store
        return store


# --------------------------------------------------------------------------------------------
# Seeding
# --------------------------------------------------------------------------------------------

class Seeder:
    def __init__(self, endpoint: str, seed: int, scale: int, open_class: str | None = None) -> None:
        self.endpoint, self.rnd, self.scale = endpoint, random.Random(seed), scale
        self.estate = Estate()
        self._clients: dict[tuple[str, str], Any] = {}
        #: the class public stores hold in this estate (see the module's docstring)
        exposed = self.rnd.choice([CLINICAL, ADMIN, NONE])  # drawn either way: the same seed, the same estate
        self.exposed = open_class or exposed
        self.per_region = max(1, scale // (2 * 17))

    def client(self, service: str, region: str = HOME) -> Any:
        if (service, region) not in self._clients:
            self._clients[(service, region)] = boto3.client(
                service, endpoint_url=self.endpoint, region_name=region,
                aws_access_key_id="testing", aws_secret_access_key="testing")
        return self._clients[(service, region)]

    # ---- choices ------------------------------------------------------------------------

    def data_class(self, public: bool = False) -> str:
        if public:
            return self.exposed
        return self.rnd.choices([CLINICAL, ADMIN, NONE], weights=[4, 4, 2])[0]

    def tags(self, data_class: str, key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
        owner = [{key: "owner", value: "seeded-estate"}]
        if data_class == NONE:
            return owner
        return [{key: "data_class", value: self.rnd.choice(TAG_VALUES[data_class])}, *owner]

    def encryption(self, region: str, data_class: str, *, none: float = 0.2,
                   managed: float = 0.3) -> str:
        """'none', 'managed' (the service's AWS-managed or owned key) or a customer key's ARN."""
        draw = self.rnd.random()
        if draw < none:
            return "none"
        if draw < none + managed:
            return "managed"
        mine = [k for k, c in self.class_keys[region].items() if c in (data_class, "shared")]
        return self.rnd.choice(mine)

    def managed_key(self, region: str, service: str) -> str:
        """The ARN of the AWS-managed key ``alias/aws/<service>`` of ``region``. moto makes some
        when KMS is first used in a region; AWS makes each when a service first needs it, which
        is done here for the others (moto reports them as customer keys: their alias says)."""
        kms = self.client("kms", region)
        name = f"alias/aws/{service}"
        try:  # moto lists the alias before it makes the key: describing it makes it
            key_arn = str(kms.describe_key(KeyId=name)["KeyMetadata"]["Arn"])
        except kms.exceptions.NotFoundException:
            key_arn = str(kms.create_key(Description=f"Default key that protects my {service} data")[
                "KeyMetadata"]["Arn"])
            kms.create_alias(AliasName=name, TargetKeyId=key_arn.rsplit("/", 1)[1])
        self.estate.keys.setdefault(key_arn, Key(key_arn, region, customer=False))
        return key_arn

    def under(self, store: Store, choice: str, service: str) -> None:
        """Record on ``store`` the encryption ``choice`` named by alias or ARN."""
        store.encrypted = choice != "none"
        if choice == "managed":
            store.key = self.managed_key(store.region, service)
        elif choice != "none":
            store.key, store.customer_key = choice, True

    # ---- keys ---------------------------------------------------------------------------

    def keys(self) -> None:
        self.class_keys: dict[str, dict[str, str]] = {}
        for region in REGIONS:
            kms = self.client("kms", region)
            owned: dict[str, str] = {}
            for use in (CLINICAL, CLINICAL, ADMIN, NONE, "shared", "disabled"):
                meta = kms.create_key(Description=f"{use} data", Tags=[{"TagKey": "use", "TagValue": use}])[
                    "KeyMetadata"]
                key = Key(meta["Arn"], region, customer=True)
                if use == "disabled":
                    kms.disable_key(KeyId=meta["KeyId"])
                    key.enabled = False
                elif self.rnd.random() < 0.7:
                    kms.enable_key_rotation(KeyId=meta["KeyId"])
                    key.rotates = True
                self.estate.keys[key.arn] = key
                if use != "disabled":
                    owned[key.arn] = use
            self.class_keys[region] = owned
            # before any store names them
            for service in ("s3", "sqs", "sns", "kinesis", "rds", "dynamodb", "ebs", "elasticfilesystem",
                            "es", "redshift"):
                self.managed_key(region, service)
        ec2 = self.client("ec2", HOME)
        ec2.enable_ebs_encryption_by_default()
        self.estate.ebs_default = {HOME: True, ABROAD: False}

    # ---- stores -------------------------------------------------------------------------

    def count(self) -> Iterable[tuple[str, int]]:
        for region in REGIONS:
            for i in range(self.per_region):
                yield region, i

    def buckets(self) -> None:
        s3 = self.client("s3", HOME)
        logs_target: dict[str, str] = {}
        for region in REGIONS:  # server access logs land in a bucket of the same region
            name = f"seed-logs-{region}"
            self._bucket(s3, name, region)
            s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls={
                "Rules": [{"ObjectOwnership": "BucketOwnerPreferred"}]})
            s3.put_bucket_acl(Bucket=name, GrantWrite="uri=http://acs.amazonaws.com/groups/s3/LogDelivery",
                              GrantReadACP="uri=http://acs.amazonaws.com/groups/s3/LogDelivery")
            s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=_ALL_BLOCKED)
            logs_target[region] = name
            self.estate.add(Store(f"arn:aws:s3:::{name}", "aws.s3.bucket", region, NONE, True,
                                  bucket={"blocked": True, "acls_disabled": False, "versioning": False,
                                          "logging": False, "tls": False}))
        for region, i in self.count():
            for j in range(2):  # buckets are the commonest store
                dc = self.data_class()
                name = f"seed-{region}-b{i:04d}{j}-{dc[:4]}"
                self._bucket(s3, name, region)
                store = Store(f"arn:aws:s3:::{name}", "aws.s3.bucket", region, dc, True)
                s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": self.tags(dc)})
                choice = self.encryption(region, dc, none=0.0, managed=0.4)
                if choice == "managed":  # SSE-S3: keys S3 owns
                    rule: dict[str, Any] = {"SSEAlgorithm": "AES256"}
                elif self.rnd.random() < 0.5:
                    rule = {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": choice}
                    store.key, store.customer_key = choice, True
                else:  # the same key named by its id: the server keeps what it is told
                    rule = {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": choice.rsplit("/", 1)[1]}
                    store.key, store.customer_key = choice, True
                s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={
                    "Rules": [{"ApplyServerSideEncryptionByDefault": rule}]})
                blocked = self.rnd.random() < 0.8
                if blocked:
                    s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=_ALL_BLOCKED)
                elif self.rnd.random() < 0.5:  # one of the four settings off: not blocked
                    s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration={
                        **_ALL_BLOCKED, "RestrictPublicBuckets": False})
                acls_disabled = self.rnd.random() < 0.8
                if acls_disabled:
                    s3.put_bucket_ownership_controls(Bucket=name, OwnershipControls={
                        "Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]})
                versioning = self.rnd.random() < 0.6
                if versioning:
                    s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
                logging = self.rnd.random() < 0.6
                if logging:
                    s3.put_bucket_logging(Bucket=name, BucketLoggingStatus={"LoggingEnabled": {
                        "TargetBucket": logs_target[region], "TargetPrefix": f"{name}/"}})
                tls = self.rnd.random() < 0.6
                if tls:
                    s3.put_bucket_policy(Bucket=name, Policy=json.dumps(_deny_insecure(name)))
                store.public = not blocked
                store.bucket = {"blocked": blocked, "acls_disabled": acls_disabled, "versioning": versioning,
                                "logging": logging, "tls": tls}
                self.estate.add(store)

    def _bucket(self, s3: Any, name: str, region: str) -> None:
        self.client("s3", region).create_bucket(Bucket=name,
                                                CreateBucketConfiguration={"LocationConstraint": region})

    def databases(self) -> None:
        for region, i in self.count():
            rds = self.client("rds", region)
            # instances, each with a manual snapshot or two
            dc = self.data_class()
            name = f"seed-db-{i:04d}"
            choice = self.encryption(region, dc)
            kw: dict[str, Any] = {}
            if choice != "none":  # named: moto invents no ARN for the default key
                kw = {"KmsKeyId": "alias/aws/rds" if choice == "managed" else choice}
            public = self.rnd.random() < 0.25
            version = self.rnd.choice(("14.12", "16.4"))
            made = rds.create_db_instance(
                DBInstanceIdentifier=name, DBInstanceClass="db.t3.micro", Engine="postgres",
                EngineVersion=version, MasterUsername="seed", MasterUserPassword=PASSWORD,
                AllocatedStorage=20, StorageEncrypted=choice != "none", PubliclyAccessible=public,
                Tags=self.tags(dc), **kw)
            # The default parameter group: RDS for PostgreSQL forces TLS (rds.force_ssl) from 15 on.
            db = self.estate.add(Store(made["DBInstance"]["DBInstanceArn"], "aws.rds.db_instance", region, dc,
                                       False, public=public, tls=int(version.split(".")[0]) >= 15))
            self.under(db, choice, "rds")
            self.rds_snapshots(rds, db, name, cluster=False)
            taken = rds.describe_db_snapshots(DBInstanceIdentifier=name, SnapshotType="automated")
            self.automated(db, taken["DBSnapshots"], "DBSnapshotArn", "aws.rds.db_snapshot")
            # Aurora clusters
            dc = self.data_class()
            name = f"seed-aurora-{i:04d}"
            choice = self.encryption(region, dc)
            kw = {"KmsKeyId": "alias/aws/rds" if choice == "managed" else choice} if choice != "none" else {}
            made = rds.create_db_cluster(
                DBClusterIdentifier=name, Engine="aurora-postgresql", MasterUsername="seed",
                MasterUserPassword=PASSWORD, StorageEncrypted=choice != "none", Tags=self.tags(dc), **kw)
            # moto reports PubliclyAccessible false on every cluster: read as AWS's answer
            # Aurora PostgreSQL's default cluster group leaves rds.force_ssl off.
            cluster = self.estate.add(Store(made["DBCluster"]["DBClusterArn"], "aws.rds.db_cluster", region,
                                            dc, False, public=False, tls=False))
            self.under(cluster, choice, "rds")
            self.rds_snapshots(rds, cluster, name, cluster=True)
            taken = rds.describe_db_cluster_snapshots(DBClusterIdentifier=name, SnapshotType="automated")
            self.automated(cluster, taken["DBClusterSnapshots"], "DBClusterSnapshotArn",
                           "aws.rds.db_cluster_snapshot")

    def automated(self, source: Store, listed: list[dict[str, Any]], arn_field: str, rtype: str) -> None:
        """The snapshots RDS took itself (the server takes one at creation, as AWS does with
        backups on): its source's data, never shared."""
        for item in listed:
            self.estate.add(Store(item[arn_field], rtype, source.region, source.data_class, source.encrypted,
                                  key=source.key, customer_key=source.customer_key, public=False))

    def rds_snapshots(self, rds: Any, source: Store, name: str, *, cluster: bool) -> None:
        for n in range(self.rnd.choice([1, 1, 2])):
            public = source.data_class == self.exposed and self.rnd.random() < 0.4
            shared = not public and self.rnd.random() < 0.3
            snap = f"{name}-snap-{n}"
            if cluster:
                made = rds.create_db_cluster_snapshot(DBClusterSnapshotIdentifier=snap,
                                                      DBClusterIdentifier=name)["DBClusterSnapshot"]
                snap_arn, rtype = made["DBClusterSnapshotArn"], "aws.rds.db_cluster_snapshot"
                modify: Callable[..., Any] = rds.modify_db_cluster_snapshot_attribute
                ident = {"DBClusterSnapshotIdentifier": snap}
            else:
                made = rds.create_db_snapshot(DBSnapshotIdentifier=snap,
                                              DBInstanceIdentifier=name)["DBSnapshot"]
                snap_arn, rtype = made["DBSnapshotArn"], "aws.rds.db_snapshot"
                modify, ident = rds.modify_db_snapshot_attribute, {"DBSnapshotIdentifier": snap}
            if public or shared:
                modify(AttributeName="restore", ValuesToAdd=["all" if public else OTHER_ACCOUNT], **ident)
            # A snapshot is its source's data: its class, its key.
            self.estate.add(Store(snap_arn, rtype, source.region, source.data_class, source.encrypted,
                                  key=source.key, customer_key=source.customer_key, public=public,
                                  everyone_reads=public))

    def volumes(self) -> None:
        for region, _ in self.count():
            ec2 = self.client("ec2", region)
            for j in range(2):
                dc = self.data_class()
                choice = self.encryption(region, dc)
                if choice == "none" and self.estate.ebs_default.get(region):
                    # AWS encrypts every new volume of such a region (moto does not): asked as such
                    choice = "managed"
                kw: dict[str, Any] = {"Encrypted": choice != "none"}
                if choice not in ("none", "managed"):
                    kw["KmsKeyId"] = choice
                made = ec2.create_volume(AvailabilityZone=f"{region}a", Size=8, TagSpecifications=[
                    {"ResourceType": "volume", "Tags": self.tags(dc)}], **kw)
                volume_arn = arn("ec2", region, f"volume/{made['VolumeId']}")
                volume = self.estate.add(Store(volume_arn, "aws.ec2.volume", region, dc, False))
                self.under(volume, choice, "ebs")
                if made.get("KmsKeyId") and not volume.customer_key:
                    volume.key = made["KmsKeyId"]  # the default key the server chose
                if j == 0:
                    self.ebs_snapshot(ec2, volume, made["VolumeId"])

    def ebs_snapshot(self, ec2: Any, volume: Store, volume_id: str) -> None:
        public = volume.data_class == self.exposed and self.rnd.random() < 0.4
        shared = not public and self.rnd.random() < 0.3
        made = ec2.create_snapshot(VolumeId=volume_id, Description="seeded")
        snapshot_id = made["SnapshotId"]
        if public or shared:  # moto reads the older GroupNames / UserIds form only
            who = {"GroupNames": ["all"]} if public else {"UserIds": [OTHER_ACCOUNT]}
            ec2.modify_snapshot_attribute(SnapshotId=snapshot_id, Attribute="createVolumePermission",
                                          OperationType="add", **who)
        # moto reports no KmsKeyId on snapshots (AWS reports the volume's): an encrypted snapshot
        # naming no key is under the AWS-managed aws/ebs key, as AWS documents for EBS.
        described = ec2.describe_snapshots(SnapshotIds=[snapshot_id])["Snapshots"][0]
        named = described.get("KmsKeyId")
        customer = bool(named) and volume.customer_key
        self.estate.add(Store(f"arn:aws:ec2:{volume.region}::snapshot/{snapshot_id}", "aws.ec2.snapshot",
                              volume.region, volume.data_class, bool(described.get("Encrypted")),
                              key=volume.key if customer else None, customer_key=customer,
                              public=public, everyone_reads=public))

    def file_systems(self) -> None:
        for region, i in self.count():
            efs = self.client("efs", region)
            public = self.rnd.random() < 0.2
            dc = self.data_class(public)
            choice = self.encryption(region, dc)
            kw: dict[str, Any] = {"Encrypted": choice != "none"}
            if choice not in ("none", "managed"):
                kw["KmsKeyId"] = choice
            made = efs.create_file_system(CreationToken=f"seed-fs-{region}-{i}", Tags=self.tags(dc), **kw)
            store = self.estate.add(Store(made["FileSystemArn"], "aws.efs.file_system", region, dc, False,
                                          public=public, everyone_reads=public))
            self.under(store, choice, "elasticfilesystem")
            if choice == "managed":
                store.key = None  # none named: AWS's aws/elasticfilesystem, which it does not name
            # Always a policy: without one, IAM does not decide who mounts it (readers unseen).
            principal = "*" if public else {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
            efs.put_file_system_policy(FileSystemId=made["FileSystemId"], Policy=json.dumps({
                "Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": principal, "Resource": made["FileSystemArn"],
                    "Action": ["elasticfilesystem:ClientMount", "elasticfilesystem:ClientWrite"]}]}))

    def warehouses(self) -> None:
        for region, i in self.count():
            dc = self.data_class()
            choice = self.encryption(region, dc)
            public = self.rnd.random() < 0.25
            kw: dict[str, Any] = {"Encrypted": choice != "none"}
            if choice not in ("none", "managed"):
                kw["KmsKeyId"] = choice
            name = f"seed-dw-{i:04d}"
            self.client("redshift", region).create_cluster(
                ClusterIdentifier=name, NodeType="ra3.xlplus", MasterUsername="seed",
                MasterUserPassword=PASSWORD, PubliclyAccessible=public, Tags=self.tags(dc), **kw)
            # The default parameter group leaves require_ssl off.
            store = self.estate.add(Store(arn("redshift", region, f"cluster:{name}"), "aws.redshift.cluster",
                                          region, dc, False, public=public, tls=False))
            self.under(store, choice, "redshift")
            if choice == "managed":
                store.key = None  # none named: AWS's aws/redshift key, which the cluster does not name

    def search_domains(self) -> None:
        for region, i in self.count():
            public = self.rnd.random() < 0.2
            dc = self.data_class(public)
            choice = self.encryption(region, dc)
            at_rest: dict[str, Any] = {"Enabled": choice != "none"}
            if choice not in ("none", "managed"):
                at_rest["KmsKeyId"] = choice
            name = f"seed-search-{i:04d}"
            domain_arn = arn("es", region, f"domain/{name}")
            principal: Any = "*" if public else {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
            policy = {"Version": "2012-10-17", "Statement": [{
                "Effect": "Allow", "Principal": principal, "Action": "es:ESHttpGet",
                "Resource": f"{domain_arn}/*"}]}
            https, nodes = self.rnd.random() < 0.6, self.rnd.random() < 0.6
            self.client("opensearch", region).create_domain(
                DomainName=name, EncryptionAtRestOptions=at_rest, AccessPolicies=json.dumps(policy),
                DomainEndpointOptions={"EnforceHTTPS": https}, NodeToNodeEncryptionOptions={"Enabled": nodes},
                TagList=self.tags(dc))
            # Plain HTTP refused only with HTTPS enforced and node-to-node encryption on.
            store = self.estate.add(Store(domain_arn, "aws.opensearch.domain", region, dc, False,
                                          public=public, everyone_reads=public, tls=https and nodes))
            self.under(store, choice, "es")
            if choice == "managed":
                store.key = None  # none named: aws/es

    def caches(self) -> None:
        for region, i in self.count():
            dc = self.data_class()
            choice = self.encryption(region, dc)
            kw: dict[str, Any] = {"AtRestEncryptionEnabled": choice != "none"}
            if choice not in ("none", "managed"):
                kw["KmsKeyId"] = choice
            name = f"seed-cache-{i:04d}"
            made = self.client("elasticache", region).create_replication_group(
                ReplicationGroupId=name, ReplicationGroupDescription="seeded", Engine="redis",
                CacheNodeType="cache.t3.micro", Tags=self.tags(dc), **kw)["ReplicationGroup"]
            # No transit encryption asked: plain connections accepted.
            store = self.estate.add(Store(made["ARN"], "aws.elasticache.replication_group", region, dc,
                                          choice != "none", public=False, tls=False))
            if choice not in ("none", "managed"):
                store.key, store.customer_key = choice, True

    def tables(self) -> None:
        for region, i in self.count():
            dc = self.data_class()
            choice = self.encryption(region, dc, none=0.0)  # a table is always encrypted
            name = f"seed-table-{i:04d}"
            kw: dict[str, Any] = {}
            if choice == "managed" and self.rnd.random() < 0.5:  # else: AWS-owned key, no SSE description
                kw["SSESpecification"] = {"Enabled": True, "SSEType": "KMS"}
                choice = "aws/dynamodb"
            elif choice != "managed":
                kw["SSESpecification"] = {"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": choice}
            made = self.client("dynamodb", region).create_table(
                TableName=name, KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
                AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
                BillingMode="PAY_PER_REQUEST", Tags=self.tags(dc), **kw)["TableDescription"]
            store = self.estate.add(Store(made["TableArn"], "aws.dynamodb.table", region, dc, True))
            if choice == "aws/dynamodb":
                store.key = made.get("SSEDescription", {}).get("KMSMasterKeyArn")
            elif choice != "managed":
                store.key, store.customer_key = choice, True

    def queues(self) -> None:
        for region, i in self.count():
            sqs = self.client("sqs", region)
            public = self.rnd.random() < 0.2
            dc = self.data_class(public)
            choice = self.encryption(region, dc)
            name = f"seed-queue-{i:04d}"
            queue_arn = arn("sqs", region, name)
            # SSE-SQS is on by default for new queues, as on AWS: off only when asked
            attributes: dict[str, str] = {"SqsManagedSseEnabled": "false"} if choice == "none" else {}
            store = self.estate.add(Store(queue_arn, "aws.sqs.queue", region, dc, choice != "none",
                                          public=public, everyone_reads=public))
            if choice == "managed" and self.rnd.random() < 0.5:
                attributes["SqsManagedSseEnabled"] = "true"  # keys SQS owns
            elif choice == "managed":
                attributes["KmsMasterKeyId"] = "alias/aws/sqs"
                store.key = self.managed_key(region, "sqs")
            elif choice != "none":
                attributes["KmsMasterKeyId"] = choice
                store.key, store.customer_key = choice, True
            if public:
                attributes["Policy"] = json.dumps({"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Principal": "*", "Action": "sqs:ReceiveMessage",
                    "Resource": queue_arn}]})
            sqs.create_queue(QueueName=name, Attributes=attributes, tags={
                t["Key"]: t["Value"] for t in self.tags(dc)})

    def topics(self) -> None:
        for region, i in self.count():
            sns = self.client("sns", region)
            public = self.rnd.random() < 0.2
            dc = self.data_class(public)
            choice = self.encryption(region, dc)
            name = f"seed-topic-{i:04d}"
            topic_arn = arn("sns", region, name)
            store = self.estate.add(Store(topic_arn, "aws.sns.topic", region, dc, choice != "none",
                                          public=public, everyone_reads=public))
            attributes: dict[str, str] = {}
            if choice == "managed":
                attributes["KmsMasterKeyId"] = "alias/aws/sns"
                store.key = self.managed_key(region, "sns")
            elif choice != "none":
                attributes["KmsMasterKeyId"] = choice
                store.key, store.customer_key = choice, True
            # SNS's default policy lets every principal of the account subscribe: replaced by
            # one letting the account's services publish only (or, public, anyone subscribe).
            statement: dict[str, Any] = (
                {"Effect": "Allow", "Principal": "*", "Action": "sns:Subscribe", "Resource": topic_arn}
                if public
                else {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                      "Action": "sns:Publish", "Resource": topic_arn})
            attributes["Policy"] = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
            sns.create_topic(Name=name, Attributes=attributes, Tags=self.tags(dc))

    def log_groups(self) -> None:
        for region, i in self.count():
            logs = self.client("logs", region)
            dc = self.data_class()
            choice = self.encryption(region, dc, none=0.0)  # always encrypted
            name = f"/seed/app-{i:04d}"
            kw: dict[str, Any] = {}
            store = self.estate.add(Store(arn("logs", region, f"log-group:{name}"), "aws.logs.log_group",
                                          region, dc, True))
            if choice != "managed":
                kw["kmsKeyId"] = choice
                store.key, store.customer_key = choice, True
            logs.create_log_group(logGroupName=name, tags={t["Key"]: t["Value"] for t in self.tags(dc)}, **kw)

    def data_streams(self) -> None:
        for region, i in self.count():
            kinesis = self.client("kinesis", region)
            dc = self.data_class()
            choice = self.encryption(region, dc)
            name = f"seed-stream-{i:04d}"
            kinesis.create_stream(StreamName=name, ShardCount=1)
            kinesis.add_tags_to_stream(StreamName=name, Tags={t["Key"]: t["Value"] for t in self.tags(dc)})
            store = self.estate.add(Store(arn("kinesis", region, f"stream/{name}"), "aws.kinesis.stream",
                                          region, dc, choice != "none"))
            if choice != "none":
                ref = "alias/aws/kinesis" if choice == "managed" else choice
                kinesis.start_stream_encryption(StreamName=name, EncryptionType="KMS", KeyId=ref)
                if choice == "managed":
                    store.key = self.managed_key(region, "kinesis")
                else:
                    store.key, store.customer_key = choice, True
            if i >= FIREHOSE_QUOTA:
                continue
            dc = self.data_class()
            choice = self.encryption(region, dc)
            name = f"seed-delivery-{i:04d}"
            firehose = self.client("firehose", region)
            firehose.create_delivery_stream(
                DeliveryStreamName=name, DeliveryStreamType="DirectPut", Tags=self.tags(dc),
                ExtendedS3DestinationConfiguration={"RoleARN": f"arn:aws:iam::{ACCOUNT}:role/seed-delivery",
                                                    "BucketARN": f"arn:aws:s3:::seed-logs-{region}"})
            # started after creation: moto keeps no status for encryption asked at creation
            if choice != "none":
                firehose.start_delivery_stream_encryption(
                    DeliveryStreamName=name, DeliveryStreamEncryptionConfigurationInput=(
                        {"KeyType": "AWS_OWNED_CMK"} if choice == "managed"
                        else {"KeyType": "CUSTOMER_MANAGED_CMK", "KeyARN": choice}))
            store = self.estate.add(Store(arn("firehose", region, f"deliverystream/{name}"),
                                          "aws.firehose.delivery_stream", region, dc, choice != "none"))
            if choice not in ("none", "managed"):
                store.key, store.customer_key = choice, True

    # ---- identities ---------------------------------------------------------------------

    def identities(self) -> None:
        iam = self.client("iam", HOME)
        readable = sorted(s.id for s in self.estate.stores.values() if s.type in _READ_ACTIONS)
        by_class: dict[str, list[str]] = {c: [] for c in (CLINICAL, ADMIN, NONE)}
        for sid in readable:
            by_class[self.estate.stores[sid].data_class].append(sid)
        trust_account = json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
            "Action": "sts:AssumeRole"}]})
        trust_service = json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})

        def grants(kinds: list[str]) -> set[str]:
            found: set[str] = set()
            for dc in kinds:
                if by_class[dc]:
                    found |= set(self.rnd.sample(by_class[dc], min(2, len(by_class[dc]))))
            return found

        def reader_kinds() -> list[str]:
            return self.rnd.choices([[CLINICAL], [ADMIN], [NONE], [CLINICAL, ADMIN], []],
                                    weights=[4, 4, 1, 2, 1])[0]

        n = max(3, self.scale // 20)
        roles: list[str] = []
        for i in range(n):  # roles that read
            name = f"seed-role-{i:04d}"
            role_arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=self.rnd.choice(
                [trust_account, trust_service]))["Role"]["Arn"]
            role = Principal(role_arn, "role", reads=grants(reader_kinds()))
            self._put_reads(iam.put_role_policy, {"RoleName": name}, role.reads)
            self.estate.principals[role_arn] = role
            roles.append(role_arn)
        for i in range(max(1, n // 5)):  # roles with every right
            name = f"seed-admin-{i:04d}"
            role_arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust_service)["Role"]["Arn"]
            doc = json.dumps({"Version": "2012-10-17",
                              "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
            policy_arn = iam.create_policy(PolicyName=f"{name}-all", PolicyDocument=doc)["Policy"]["Arn"]
            iam.attach_role_policy(RoleName=name, PolicyArn=policy_arn)
            self.estate.policies[policy_arn] = True
            self.estate.principals[role_arn] = Principal(role_arn, "role", admin=True)
        groups: list[str] = []
        for i in range(max(1, n // 3)):
            name = f"seed-group-{i:04d}"
            group_arn = iam.create_group(GroupName=name)["Group"]["Arn"]
            group = Principal(group_arn, "group", reads=grants(reader_kinds()))
            self._put_reads(iam.put_group_policy, {"GroupName": name}, group.reads)
            self.estate.principals[group_arn] = group
            groups.append(group_arn)
        self.users([r for r in roles if self._trusts_account(iam, r)], groups, grants, reader_kinds)

    def users(self, assumable: list[str], groups: list[str], grants: Callable[[list[str]], set[str]],
              reader_kinds: Callable[[], list[str]]) -> None:
        """Users reading through their own policy, a group or a role they may assume; some sign in
        to the console, some with an MFA device; some hold access keys."""
        iam = self.client("iam", HOME)
        for i in range(max(2, self.scale // 10)):
            name = f"seed-user-{i:04d}"
            user_arn = iam.create_user(UserName=name)["User"]["Arn"]
            user = Principal(user_arn, "user")
            how = self.rnd.choice(["own", "group", "role", "none"])
            if how == "own":
                user.reads = grants(reader_kinds())
                self._put_reads(iam.put_user_policy, {"UserName": name}, user.reads)
            elif how == "group":
                group_arn = self.rnd.choice(groups)
                iam.add_user_to_group(GroupName=group_arn.rsplit("/", 1)[1], UserName=name)
                user.becomes.add(group_arn)
            elif how == "role" and assumable:
                role_arn = self.rnd.choice(assumable)
                iam.put_user_policy(UserName=name, PolicyName="assume", PolicyDocument=json.dumps({
                    "Version": "2012-10-17", "Statement": [{
                        "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn}]}))
                self.estate.policies[f"{user_arn}#inline/assume"] = False
                user.becomes.add(role_arn)
            if self.rnd.random() < 0.7:
                iam.create_login_profile(UserName=name, Password=PASSWORD)
                user.console = True
            if self.rnd.random() < 0.5:
                device = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]
                serial = device["SerialNumber"]
                iam.enable_mfa_device(UserName=name, SerialNumber=serial, AuthenticationCode1="123456",
                                      AuthenticationCode2="654321")
                user.mfa = True
            for _ in range(self.rnd.choice([0, 1, 1, 2])):
                iam.create_access_key(UserName=name)
                user.access_keys += 1
            self.estate.principals[user_arn] = user

    def _trusts_account(self, iam: Any, role_arn: str) -> bool:
        doc = iam.get_role(RoleName=role_arn.rsplit("/", 1)[1])["Role"]["AssumeRolePolicyDocument"]
        doc = json.loads(doc) if isinstance(doc, str) else doc
        return any("AWS" in (s.get("Principal") or {}) for s in doc["Statement"])

    def _put_reads(self, put: Callable[..., Any], who: dict[str, str], reads: set[str]) -> None:
        if not reads:
            return
        statements = [{"Effect": "Allow", "Action": list(_READ_ACTIONS[self.estate.stores[s].type]),
                       "Resource": _read_resource(self.estate.stores[s])} for s in sorted(reads)]
        put(PolicyName="read", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
            **who)
        kind, name = next(iter(who.items()))
        identity = {"RoleName": "role", "GroupName": "group", "UserName": "user"}[kind]
        self.estate.policies[f"arn:aws:iam::{ACCOUNT}:{identity}/{name}#inline/read"] = False

    def run(self) -> Estate:
        for step in (self.keys, self.buckets, self.databases, self.volumes, self.file_systems,
                     self.warehouses, self.search_domains, self.caches, self.tables, self.queues,
                     self.topics, self.log_groups, self.data_streams, self.identities):
            step()
        return self.estate


_ALL_BLOCKED = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                "RestrictPublicBuckets": True}
#: How an identity policy grants read of each store type the seeded identities read.
_READ_ACTIONS: dict[str, tuple[str, ...]] = {
    "aws.s3.bucket": ("s3:GetObject",),
    "aws.dynamodb.table": ("dynamodb:GetItem", "dynamodb:Query"),
    "aws.sqs.queue": ("sqs:ReceiveMessage",),
    "aws.sns.topic": ("sns:Subscribe",),
    "aws.logs.log_group": ("logs:FilterLogEvents",),
    "aws.kinesis.stream": ("kinesis:GetRecords", "kinesis:GetShardIterator"),
}


def _read_resource(store: Store) -> str:
    if store.type == "aws.s3.bucket":
        return f"{store.id}/*"
    if store.type == "aws.logs.log_group":
        return f"{store.id}:*"
    return store.id


def _deny_insecure(bucket: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Deny", "Principal": "*", "Action": "s3:*",
        "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}


# --------------------------------------------------------------------------------------------
# The truth: each policy's expected outcome per resource, from what was created
# --------------------------------------------------------------------------------------------

Outcomes = dict[str, dict[str, set[str]]]  # policy id -> fail | pass | error -> resource ids


def reads(estate: Estate) -> dict[str, set[str]]:
    """The stores each principal reads: its own grants, its groups', the roles' it may assume,
    and every store open to everyone. A role with every right reads every store IAM decides
    the reading of (not a cache, a delivery stream, nor a database or volume without IAM
    logins)."""
    everyone = {s.id for s in estate.stores.values() if s.everyone_reads}
    by_iam = {s.id for s in estate.stores.values() if s.type not in NOT_READ_BY_IAM}
    own = {p.id: (by_iam if p.admin else p.reads) | everyone for p in estate.principals.values()}
    closed: dict[str, set[str]] = {}
    for pid in estate.principals:
        seen, todo, found = {pid}, [pid], set()
        while todo:
            current = todo.pop()
            found |= own[current]
            for nxt in estate.principals[current].becomes - seen:
                seen.add(nxt)
                todo.append(nxt)
        closed[pid] = found
    return closed


Decide = Callable[[str, str, "bool | None"], None]


def truth(estate: Estate) -> Outcomes:
    out: Outcomes = {}

    def decide(policy: str, rid: str, ok: bool | None) -> None:
        slot = out.setdefault(policy, {"fail": set(), "pass": set(), "error": set()})
        slot["error" if ok is None else "pass" if ok else "fail"].add(rid)

    store_truth(estate, decide)
    principal_truth(estate, decide)
    return out


def store_truth(estate: Estate, decide: Decide) -> None:
    """The stores, keys, region settings and the account."""
    stores = list(estate.stores.values())
    by_key: dict[str, set[str]] = {}
    for s in stores:
        if s.key:
            by_key.setdefault(s.key, set()).add(s.data_class)
    for s in stores:
        decide("PHI-CLASS-001", s.id, s.data_class != NONE)
        decide("PHI-ENC-001", s.id, s.encrypted)
        decide("PHI-IAM-002", s.id, None if s.public is None else not s.public)
        if s.data_class in (CLINICAL, ADMIN):
            decide("PHI-RES-001", s.id, s.region in EEA)
        if s.data_class == CLINICAL:
            decide("PHI-ENC-002", s.id, s.encrypted and s.customer_key)
            if s.key:  # its key also encrypts a store that is not clinical
                decide("PHI-SEG-001", s.id, by_key[s.key] == {CLINICAL})
            if s.tls is not None:
                decide("PHI-TLS-001", s.id, s.tls)
        if s.type == "aws.s3.bucket":
            decide("PHI-IAM-003", s.id, s.bucket["acls_disabled"])
            if s.data_class == CLINICAL:
                decide("PHI-INT-001", s.id, s.bucket["versioning"])
                decide("PHI-LOG-001", s.id, s.bucket["logging"])  # no trail: no data events
                decide("PHI-TLS-001", s.id, s.bucket["tls"])
    for key in estate.keys.values():
        if key.customer and key.enabled:
            decide("PHI-ENC-003", key.arn, key.rotates)
    for region, encrypted in estate.ebs_default.items():
        decide("PHI-ENC-004", arn("ec2", region, "region-settings"), encrypted)
    account = f"arn:aws:iam::{ACCOUNT}:root"
    decide("PHI-LOG-001", account, False)  # no CloudTrail trail
    # moto's root user has no MFA. It reads every store of the account: one clinical store
    # decides; without one, stores of regions not scanned may still hold clinical data.
    decide("PHI-AUTH-004", account, False if any(s.data_class == CLINICAL for s in stores) else None)



def principal_truth(estate: Estate, decide: Decide) -> None:
    """Identities and their policies: who reads what."""
    stores = list(estate.stores.values())
    for policy_id, full_admin in estate.policies.items():
        decide("PHI-IAM-001", policy_id, not full_admin)
    classes = {s.id: s.data_class for s in stores}
    everyone = {s.id for s in stores if s.everyone_reads}
    for pid, found in reads(estate).items():
        p = estate.principals[pid]
        read = {classes[s] for s in found}
        decide("PHI-SEG-002", pid, not {CLINICAL, ADMIN} <= read)
        # wildcards: an admin's Resource "*", and the Principal "*" of stores open to everyone
        wild = found if p.admin else found & everyone
        decide("PHI-IAM-004", pid, CLINICAL not in {classes[s] for s in wild})
        if p.type == "user":
            decide("PHI-AUTH-001", pid, not (p.console and not p.mfa and CLINICAL in read))
            decide("PHI-AUTH-002", pid, True)  # keys created now: younger than 90 days


def located(estate: Estate) -> dict[str, str]:
    """The region of each regional resource: stores, keys, region settings."""
    return {**{s.id: s.region for s in estate.stores.values()},
            **{k.arn: k.region for k in estate.keys.values()},
            **{arn("ec2", r, "region-settings"): r for r in estate.ebs_default}}


def estate_open_class(estate: Estate) -> str | None:
    classes = {s.data_class for s in estate.stores.values() if s.everyone_reads}
    return classes.pop() if len(classes) == 1 else None


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--endpoint", required=True, help="the moto server, e.g. http://127.0.0.1:5000")
    ap.add_argument("--scale", type=int, default=200, help="about this many stores in all")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--truth", required=True, help="where to write the truth (JSON)")
    ap.add_argument("--open-class", choices=[CLINICAL, ADMIN, NONE],
                    help="the class of the stores open to everyone (default: drawn from the seed); "
                    f"{NONE} leaves the outcomes of identities seeded by others as they were")
    args = ap.parse_args(argv)
    if args.scale < 1:
        ap.error("--scale must be at least 1")
    started = time.monotonic()
    estate = Seeder(args.endpoint, args.seed, args.scale, args.open_class).run()
    outcomes = truth(estate)
    counts: dict[str, int] = {}
    for s in estate.stores.values():
        counts[s.type] = counts.get(s.type, 0) + 1
    counts |= {"keys": len(estate.keys), "principals": len(estate.principals)}
    judged = {rid for slots in outcomes.values() for ids in slots.values() for rid in ids}
    created = {*estate.stores, *estate.keys, *estate.principals, *estate.policies, *judged}
    doc = {"seed": args.seed, "scale": args.scale, "regions": list(REGIONS), "account": ACCOUNT,
           "counts": counts, "open_class": estate_open_class(estate),
           "created": sorted(created),
           "types": {s.id: s.type for s in sorted(estate.stores.values(), key=lambda s: s.id)},
           "classes": {s.id: s.data_class for s in sorted(estate.stores.values(), key=lambda s: s.id)},
           "located": dict(sorted(located(estate).items())),
           "policies": {p: {k: sorted(v) for k, v in slots.items()} for p, slots in sorted(outcomes.items())}}
    Path(args.truth).write_text(json.dumps(doc, indent=1) + "\n", encoding="utf-8")
    failing = {p: len(v["fail"]) for p, v in sorted(outcomes.items())}
    print(json.dumps({"seconds": round(time.monotonic() - started, 1), "counts": counts, "fail": failing}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
