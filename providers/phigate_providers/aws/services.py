"""The AWS services the provider reads: one declarative spec per service.

A :class:`Service` says what the service yields (its kind and resource types), whether it is
read per region or once per account, the API operations it calls (they make up the permissions
document and the read-only test's allow list: :mod:`.operations` builds both from here), and,
for the services read region by region into normalised resources, its collector and how
principals read its stores (the ways in of :mod:`.read_actions`).

The account run (:mod:`.account_run`) iterates :data:`COLLECTED`: it submits each collector per
region, settles it (a failed listing is a collection error on the service's kind and types), and
hands the stores with ways in to the access analysis, in the reported regions and, when the
analysis needs them, the others as context. Services whose reads the run drives itself (S3's
item pool and scope promotion, DynamoDB's tables, KMS first of all, IAM, CloudTrail, the runners)
are declared here for their operations, kinds and types, with no collector.

Adding a service is a module with its collector and one entry below; see
``docs/providers/adding-an-aws-service.md``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from phigate.api import Resource
from phigate_providers.aws import (
    athena,
    backup,
    copies,
    dax,
    dynamodb,
    dynamodb_backups,
    dynamodb_exports,
    ebs_snapshots,
    ec2,
    efs,
    elasticache,
    elasticache_snapshots,
    fsx,
    fsx_backups,
    glacier,
    glue,
    healthlake,
    iam,
    images,
    kinesis,
    kms,
    memorydb,
    memorydb_snapshots,
    opensearch,
    rds,
    rds_backups,
    rds_exports,
    rds_snapshots,
    recycle_bin,
    redshift,
    redshift_snapshots,
    s3,
    s3tables,
    sns,
    sqs,
    tag_index,
)
from phigate_providers.aws import logs as cloudwatch_logs
from phigate_providers.aws.cloudtrail import Trail
from phigate_providers.aws.context import Account
from phigate_providers.aws.policydoc import PolicyDocument
from phigate_providers.aws.read_actions import Facet

#: One region's resources, normalised against the key directory. Raises ApiFailure when the
#: service cannot be listed there (one item that cannot be read is that item's error).
Collector = Callable[[Account, str, kms.KeyDirectory], list[Resource]]
#: A store's ways in and resource policy, for the access analysis; a string says why they are
#: not known (an unseen reach); None: no way in through IAM.
StoreAccess = tuple[tuple[Facet, ...], PolicyDocument | None] | str | None


@dataclass(frozen=True, eq=False)
class Service:
    """One AWS service as the provider reads it (compared by identity: one entry, one service)."""

    #: What it reads, as a failure names it ("RDS snapshots in eu-west-3: …").
    name: str
    kind: str
    types: tuple[str, ...]
    #: (botocore service, operation) → the IAM action it needs ("" for none).
    operations: Mapping[tuple[str, str], str]
    regional: bool = True
    #: Read per region by the account run; None when the run drives the reads itself.
    collect: Collector | None = None
    #: How principals read each store it yields; None when they cannot through IAM.
    access: Callable[[Resource], StoreAccess] | None = None
    #: Extra kinds a failed listing leaves undecided (beside :attr:`kind`).
    also: tuple[str, ...] = field(default=())
    #: Its stores with the logging the account's trails give them (trails None: not read);
    #: None when the trails say nothing of its stores.
    logged: Callable[[list[Resource], list[Trail] | None], list[Resource]] | None = None

    @property
    def kinds(self) -> tuple[str, ...]:
        return (self.kind, *self.also)

    def read(self, account: Account, region: str, keys: kms.KeyDirectory) -> list[Resource]:
        """One region's resources, through :attr:`collect` (for :data:`COLLECTED` services)."""
        if self.collect is None:
            raise TypeError(f"{self.name} are read by the account run itself, not region by region")
        return self.collect(account, region, keys)

    def with_trails(self, read: list[Resource], trails: list[Trail] | None) -> list[Resource]:
        """Its stores read, with what the trails say of their logging (:attr:`logged`)."""
        return read if self.logged is None else self.logged(read, trails)


def _region_settings(account: Account, region: str, keys: kms.KeyDirectory) -> list[Resource]:
    return [ec2.region_settings(account, region)]


#: Calls that belong to no service: who the caller is, the organization, the enabled regions.
CORE_OPERATIONS: Mapping[tuple[str, str], str] = {
    ("sts", "GetCallerIdentity"): "",  # needs no permission
    ("sts", "AssumeRole"): "sts:AssumeRole",
    ("organizations", "ListAccounts"): "organizations:ListAccounts",
    ("ec2", "DescribeRegions"): "ec2:DescribeRegions",
    # Tags of many services' resources in one listing per region: buckets' (:func:`.s3.bulk_tags`)
    # and queues', topics', streams' … (:mod:`.tag_index`).
    **tag_index.OPERATIONS,
}

SERVICES: tuple[Service, ...] = (
    Service("KMS keys", "key", kms.KEY_TYPES, {
        ("kms", "ListKeys"): "kms:ListKeys",
        ("kms", "ListAliases"): "kms:ListAliases",
        ("kms", "DescribeKey"): "kms:DescribeKey",
        ("kms", "GetKeyRotationStatus"): "kms:GetKeyRotationStatus",
        ("kms", "ListResourceTags"): "kms:ListResourceTags",
    }),
    # IAM action names differ from operation names for several S3 calls (GetBucketEncryption
    # needs s3:GetEncryptionConfiguration).
    Service("S3 buckets", "object_store", s3.BUCKET_TYPES, {
        ("s3", "ListBuckets"): "s3:ListAllMyBuckets",
        ("s3", "GetBucketLocation"): "s3:GetBucketLocation",
        ("s3", "GetBucketEncryption"): "s3:GetEncryptionConfiguration",
        ("s3", "GetPublicAccessBlock"): "s3:GetBucketPublicAccessBlock",
        ("s3", "GetBucketPolicy"): "s3:GetBucketPolicy",
        ("s3", "GetBucketAcl"): "s3:GetBucketAcl",
        ("s3", "GetBucketOwnershipControls"): "s3:GetBucketOwnershipControls",
        ("s3", "GetBucketVersioning"): "s3:GetBucketVersioning",
        ("s3", "GetBucketLogging"): "s3:GetBucketLogging",
        ("s3", "GetBucketTagging"): "s3:GetBucketTagging",
        ("s3", "GetObjectLockConfiguration"): "s3:GetBucketObjectLockConfiguration",
        ("s3control", "GetPublicAccessBlock"): "s3:GetAccountPublicAccessBlock",
    }, regional=False),
    # What RDS and DynamoDB exported to buckets: their class (:mod:`.rds_exports`,
    # :mod:`.dynamodb_exports`), read by the account run.
    Service("RDS snapshot exports", "object_store", s3.BUCKET_TYPES, rds_exports.OPERATIONS),
    Service("DynamoDB table exports", "object_store", s3.BUCKET_TYPES, dynamodb_exports.OPERATIONS),
    Service("IAM identities and policies", "principal", iam.PRINCIPAL_TYPES + iam.POLICY_TYPES, {
        ("iam", "GetAccountAuthorizationDetails"): "iam:GetAccountAuthorizationDetails",
        # How users and the root user sign in (:mod:`.credentials`).
        ("iam", "GetLoginProfile"): "iam:GetLoginProfile",
        ("iam", "ListMFADevices"): "iam:ListMFADevices",
        ("iam", "ListAccessKeys"): "iam:ListAccessKeys",
        ("iam", "GetAccountSummary"): "iam:GetAccountSummary",
    }, regional=False, also=("access_policy",)),
    Service("Lambda functions and EC2 instances", "principal", (), {
        ("lambda", "ListFunctions"): "lambda:ListFunctions",
        ("ec2", "DescribeInstances"): "ec2:DescribeInstances",
    }),
    Service("DynamoDB tables", "table", dynamodb.TABLE_TYPES, {
        ("dynamodb", "ListTables"): "dynamodb:ListTables",
        ("dynamodb", "DescribeTable"): "dynamodb:DescribeTable",
        ("dynamodb", "ListTagsOfResource"): "dynamodb:ListTagsOfResource",
        ("dynamodb", "GetResourcePolicy"): "dynamodb:GetResourcePolicy",
    }),
    Service("CloudTrail trails", "account", ("aws.account",), {
        ("cloudtrail", "DescribeTrails"): "cloudtrail:DescribeTrails",
        ("cloudtrail", "GetTrailStatus"): "cloudtrail:GetTrailStatus",
        ("cloudtrail", "GetEventSelectors"): "cloudtrail:GetEventSelectors",
    }, also=("object_store",)),
    # Read per region by the account run, in this order.
    # A failed read of encryption by default fails the region's settings (it names them); one of
    # public sharing leaves that setting out.
    Service("EBS encryption by default", "region_settings", ec2.SETTINGS_TYPES, ec2.SETTINGS_OPERATIONS,
            collect=_region_settings),
    Service("EBS volumes", "volume", ec2.VOLUME_TYPES, {
        ("ec2", "DescribeVolumes"): "ec2:DescribeVolumes",
    }, collect=ec2.volumes),
    Service("RDS databases", "database", rds.DATABASE_TYPES, rds.OPERATIONS, collect=rds.collect_region,
            access=rds.store_access),
    Service("RDS snapshots", "database", rds_snapshots.TYPES, rds_snapshots.OPERATIONS,
            collect=rds_snapshots.collect_region, access=rds_snapshots.store_access),
    Service("RDS automated backups", "database", rds_backups.TYPES, rds_backups.OPERATIONS,
            collect=rds_backups.collect_region, access=rds_backups.store_access),
    Service("EBS snapshots", "volume", ebs_snapshots.TYPES, ebs_snapshots.OPERATIONS,
            collect=ebs_snapshots.collect_region, access=ebs_snapshots.store_access),
    Service("EC2 images", "volume", images.TYPES, images.OPERATIONS, collect=images.collect_region,
            access=images.store_access),
    Service("EBS snapshots and EC2 images in the Recycle Bin", "volume", recycle_bin.TYPES,
            recycle_bin.OPERATIONS, collect=recycle_bin.collect_region, access=recycle_bin.store_access),
    Service("DynamoDB backups", "table", dynamodb_backups.TYPES, dynamodb_backups.OPERATIONS,
            collect=dynamodb_backups.collect_region, access=dynamodb_backups.store_access),
    Service("SQS queues", "stream", sqs.TYPES, sqs.OPERATIONS, collect=sqs.collect_region,
            access=sqs.store_access),
    Service("SNS topics", "stream", sns.TYPES, sns.OPERATIONS, collect=sns.collect_region,
            access=sns.store_access),
    Service("CloudWatch Logs log groups", "stream", cloudwatch_logs.TYPES, cloudwatch_logs.OPERATIONS,
            collect=cloudwatch_logs.collect_region, access=cloudwatch_logs.store_access),
    Service("EFS file systems", "volume", efs.TYPES, efs.OPERATIONS, collect=efs.collect_region,
            access=efs.store_access),
    Service("FSx file systems", "volume", fsx.TYPES, fsx.OPERATIONS, collect=fsx.collect_region),
    Service("FSx backups", "volume", fsx_backups.TYPES, fsx_backups.OPERATIONS,
            collect=fsx_backups.collect_region, access=fsx_backups.store_access),
    Service("Kinesis data streams", "stream", kinesis.TYPES, kinesis.OPERATIONS,
            collect=kinesis.collect_region, access=kinesis.store_access),
    Service("Firehose delivery streams", "stream", kinesis.FIREHOSE_TYPES, kinesis.FIREHOSE_OPERATIONS,
            collect=kinesis.collect_delivery_region),
    Service("Redshift clusters", "database", redshift.TYPES, redshift.OPERATIONS,
            collect=redshift.collect_region, access=redshift.store_access),
    Service("Redshift snapshots", "database", redshift_snapshots.TYPES, redshift_snapshots.OPERATIONS,
            collect=redshift_snapshots.collect_region, access=redshift_snapshots.store_access),
    Service("S3 Glacier vaults", "object_store", glacier.TYPES, glacier.OPERATIONS,
            collect=glacier.collect_region, access=glacier.store_access, logged=glacier.logged),
    Service("OpenSearch domains", "database", opensearch.TYPES, opensearch.OPERATIONS,
            collect=opensearch.collect_region, access=opensearch.store_access),
    Service("ElastiCache replication groups", "database", elasticache.TYPES, elasticache.OPERATIONS,
            collect=elasticache.collect_region),
    Service("Glue Data Catalogs", "database", glue.TYPES, glue.OPERATIONS, collect=glue.collect_region,
            access=glue.store_access),
    Service("Athena workgroups", "database", athena.TYPES, athena.OPERATIONS, collect=athena.collect_region,
            access=athena.store_access),
    Service("HealthLake FHIR data stores", "database", healthlake.TYPES, healthlake.OPERATIONS,
            collect=healthlake.collect_region, access=healthlake.store_access),
    Service("S3 Tables tables", "table", s3tables.TYPES, s3tables.OPERATIONS, collect=s3tables.collect_region,
            access=s3tables.store_access),
    Service("MemoryDB clusters", "database", memorydb.TYPES, memorydb.OPERATIONS,
            collect=memorydb.collect_region),
    Service("ElastiCache snapshots", "database", elasticache_snapshots.TYPES,
            elasticache_snapshots.OPERATIONS,
            collect=elasticache_snapshots.collect_region, access=elasticache_snapshots.store_access),
    Service("MemoryDB snapshots", "database", memorydb_snapshots.TYPES, memorydb_snapshots.OPERATIONS,
            collect=memorydb_snapshots.collect_region, access=memorydb_snapshots.store_access),
    Service("DAX clusters", "database", dax.TYPES, dax.OPERATIONS, collect=dax.collect_region,
            access=dax.store_access),
    Service("Backup vaults and recovery points", "volume", backup.TYPES, backup.OPERATIONS,
            collect=backup.collect_region, access=backup.store_access),
)

#: The services the account run reads region by region through their collector.
COLLECTED: tuple[Service, ...] = tuple(s for s in SERVICES if s.collect is not None)


def operations() -> dict[tuple[str, str], str]:
    """Every operation the provider may call, the core ones and each service's."""
    found = dict(CORE_OPERATIONS)
    for service in SERVICES:
        found.update(service.operations)
    return found


def with_source_tags(read: Mapping[Service, list[Resource]], others: Iterable[Resource] = (),
                     classify: copies.Classify | None = None) -> dict[Service, list[Resource]]:
    """Each service's resources, copies (snapshots, images, backups, replicas) with their sources'
    tags under their own where the sources were read too (``raw["source"]`` names them;
    ``others`` are sources read apart: the run's tables, other regions' stores), and with
    ``classify`` their sources' class when stricter (:func:`.copies.labelled`): a copy holds
    their data."""
    services = [service for service, found in read.items() for _ in found]
    sources = list(others)
    everything = [*sources, *(r for found in read.values() for r in found)]
    labelled = iter(copies.labelled(everything, classify)[len(sources):])
    result: dict[Service, list[Resource]] = {service: [] for service in read}
    for service in services:
        result[service].append(next(labelled))
    return result


__all__ = ["COLLECTED", "CORE_OPERATIONS", "SERVICES", "Collector", "Service", "StoreAccess", "operations",
           "with_source_tags"]
