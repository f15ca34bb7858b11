"""What reads a data store's content, per store type: one table for the live reader and the plan reader.

A store is read through *facets*: an ARN pattern and the actions authorised against it. A table is
read through its own ARN (``dynamodb:GetItem`` …), its indexes (``table/T/index/*``) and its streams
(``table/T/stream/*``); an S3 bucket through its objects (``arn:aws:s3:::B/*``). Some actions do
not read by themselves but let the principal grant itself read (``s3:PutBucketPolicy``): they are
facets too, and :func:`describe` says so in ``can_read_via``.

What counts, and why:

- S3: ``s3:GetObject`` and ``s3:GetObjectVersion`` (S3 Select and restored objects are read with
  them), the torrent variants. ``s3:PutBucketPolicy`` on the bucket rewrites its policy;
  ``s3:PutObjectAcl`` / ``s3:PutObjectVersionAcl`` on its objects grant the caller ``READ`` through
  an object ACL, unless the bucket is known to disable ACLs (``BucketOwnerEnforced``; when its
  ownership controls were not read, counted).
  ``s3:PutBucketAcl`` is not counted: a bucket ACL's ``READ`` lists keys, never reads objects.
- DynamoDB: item reads on the table, ``dynamodb:Query``/``Scan``/``PartiQLSelect`` on its indexes,
  ``dynamodb:GetRecords`` on its streams (items as changed), ``dynamodb:ExportTableToPointInTime``;
  ``dynamodb:PutResourcePolicy`` rewrites the table's resource policy. A stream's own resource
  policy is not read: only identity policies grant it here. A backup is read by restoring it
  (``dynamodb:RestoreTableFromBackup`` on the backup's ARN).
- RDS: ``rds-db:connect`` on ``dbuser:<resource id>/*`` when IAM database authentication is on
  (it is then a login); ``rds-data:ExecuteStatement`` / ``BatchExecuteStatement`` on the cluster
  when its Data API is on (the database's own grants still apply; the API is a way in).
- Snapshots (RDS, Aurora, EBS) are copies of a store: restoring or copying one reads it
  (``rds:RestoreDBInstanceFromDBSnapshot``, ``rds:RestoreDBClusterFromSnapshot``,
  ``rds:CopyDBSnapshot``, ``rds:CopyDBClusterSnapshot``; ``ec2:CreateVolume``, ``ec2:CopySnapshot``
  and the EBS direct API's ``ebs:GetSnapshotBlock``), authorised on the snapshot's ARN. Changing
  who may restore it (``rds:ModifyDBSnapshotAttribute``, ``rds:ModifyDBClusterSnapshotAttribute``,
  ``ec2:ModifySnapshotAttribute``) shares it with an account the principal controls: it can grant
  itself read. A snapshot shared with other accounts is read as a resource policy naming them
  would let them (:func:`sharing_policy`); shared with ``all``, by everyone.
- An RDS automated backup kept after its database is restored to a point in time
  (``rds:RestoreDBInstanceToPointInTime`` on the backup's ARN); it cannot be shared.
- Images (AMIs) copy their disks: launching an instance from one (``ec2:RunInstances`` on the
  image), copying it, storing it in S3 or exporting it reads it; ``ec2:ModifyImageAttribute``
  shares it. Redshift snapshots are restored (the cluster, or a table into a cluster) or copied
  to another region; ``redshift:AuthorizeSnapshotAccess`` shares one.
- Streams: an SQS queue is read by ``sqs:ReceiveMessage``; an SNS topic keeps nothing but
  delivers every message to a subscriber (``sns:Subscribe``); a CloudWatch Logs log group is
  read by ``logs:FilterLogEvents``, ``logs:StartQuery``, ``logs:StartLiveTail``,
  ``logs:CreateExportTask`` and, on its streams, ``logs:GetLogEvents`` (authorised on
  ``log-group:NAME`` or ``log-group:NAME:*``, both counted). Rewriting a queue's or topic's policy
  (``sqs:SetQueueAttributes``, ``sqs:AddPermission``, ``sns:SetTopicAttributes``,
  ``sns:AddPermission``) lets the principal grant itself read.
- Kinesis: ``kinesis:GetRecords`` and ``kinesis:GetShardIterator`` on the stream,
  ``kinesis:SubscribeToShard`` on its consumers (``stream/NAME/consumer/*``);
  ``kinesis:PutResourcePolicy`` rewrites its policy. A Firehose delivery stream has no read API:
  what it carries is read where it delivers.
- Redshift: temporary database credentials (``redshift:GetClusterCredentials`` on
  ``dbuser:CLUSTER/*``, ``redshift:GetClusterCredentialsWithIAM`` on ``dbname:CLUSTER/*``) and
  the Data API (``redshift-data:ExecuteStatement``, ``BatchExecuteStatement`` on the cluster): as
  for RDS, the database's own grants still apply; these are the ways in.
- OpenSearch: HTTP reads of the domain (``es:ESHttpGet``, ``es:ESHttpPost``, ``es:ESHttpHead``
  on ``domain/NAME/*``; searches are POSTs); ``es:UpdateDomainConfig`` rewrites its access policy.
- EFS: ``elasticfilesystem:ClientMount`` and ``ClientRootAccess`` on the file system read it when
  its file system policy makes IAM decide (without one, any NFS client reaching a mount target
  mounts it: no IAM reach to compute); ``elasticfilesystem:PutFileSystemPolicy`` rewrites it.
- Glue Data Catalog: its table definitions read (``glue:GetTable``, ``GetTables``,
  ``GetTableVersion(s)``, ``GetPartition(s)``, ``BatchGetPartition``, ``SearchTables``; authorised
  on the catalog and on ``table/*``) and its connections with their passwords
  (``glue:GetConnection``, ``GetConnections`` on ``connection/*``); ``glue:PutResourcePolicy``
  rewrites the catalog's policy.
- Athena: a workgroup's query results read (``athena:GetQueryResults``,
  ``athena:GetQueryResultsStream`` on the workgroup); the data a query scans is read under the
  scanned stores' own permissions.
- HealthLake: a FHIR data store's resources read (``healthlake:ReadResource``,
  ``SearchWithGet``, ``SearchWithPost``) or exported whole (``healthlake:StartFHIRExportJob``).
- S3 Tables: a table's data read (``s3tables:GetTableData`` on
  ``bucket/NAME/table/ID``); ``s3tables:PutTablePolicy`` on the table and
  ``s3tables:PutTableBucketPolicy`` on its bucket rewrite the policies that let principals in.
- S3 Glacier: an archive is retrieved by a job (``glacier:InitiateJob``, then
  ``glacier:GetJobOutput``, both on the vault); ``glacier:SetVaultAccessPolicy`` rewrites the
  vault's access policy.
- AWS Backup: a recovery point is restored (``backup:StartRestoreJob``) or copied elsewhere
  (``backup:StartCopyJob``, with ``backup:CopyFromBackupVault``), authorised on its ARN (the
  copy permission names no resource: ``*``); ``backup:PutBackupVaultAccessPolicy`` on its vault
  rewrites the vault access policy that applies to it. Recovery points that are another
  service's snapshots (RDS, EBS) are read as those snapshots.
- DAX: item reads through the cluster (``dax:GetItem``, ``BatchGetItem``, ``Query``, ``Scan``
  on ``cache/NAME``): DAX authorises every request with IAM, and has no resource policy.
- KMS: ``kms:PutKeyPolicy`` and ``kms:CreateGrant`` are never reads: a key decrypts nothing until
  its ciphertext is read, which needs one of the reads above.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from phigate_providers.aws.policydoc import PolicyDocument, parse_policy

S3_READ = frozenset(
    {"s3:GetObject", "s3:GetObjectVersion", "s3:GetObjectTorrent", "s3:GetObjectVersionTorrent"}
)
S3_OBJECT_ESCALATION = frozenset({"s3:PutObjectAcl", "s3:PutObjectVersionAcl"})
S3_BUCKET_ESCALATION = frozenset({"s3:PutBucketPolicy"})
DYNAMODB_READ = frozenset(
    {
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:Query",
        "dynamodb:Scan",
        "dynamodb:PartiQLSelect",
        "dynamodb:ExportTableToPointInTime",
    }
)
DYNAMODB_INDEX_READ = frozenset({"dynamodb:Query", "dynamodb:Scan", "dynamodb:PartiQLSelect"})
DYNAMODB_STREAM_READ = frozenset({"dynamodb:GetRecords"})
DYNAMODB_ESCALATION = frozenset({"dynamodb:PutResourcePolicy"})
DYNAMODB_BACKUP_READ = frozenset({"dynamodb:RestoreTableFromBackup"})
RDS_CONNECT = frozenset({"rds-db:connect"})
RDS_DATA_API = frozenset({"rds-data:ExecuteStatement", "rds-data:BatchExecuteStatement"})
RDS_BACKUP_RESTORE = frozenset({"rds:RestoreDBInstanceToPointInTime"})
#: Per snapshot type: the actions that read it, and those that share it (an escalation).
SNAPSHOT_READ: Mapping[str, frozenset[str]] = {
    "aws.rds.db_snapshot": frozenset({"rds:RestoreDBInstanceFromDBSnapshot", "rds:CopyDBSnapshot"}),
    "aws.rds.db_cluster_snapshot": frozenset(
        {"rds:RestoreDBClusterFromSnapshot", "rds:CopyDBClusterSnapshot"}),
    "aws.ec2.snapshot": frozenset({"ec2:CreateVolume", "ec2:CopySnapshot", "ebs:GetSnapshotBlock"}),
    "aws.ec2.image": frozenset(
        {"ec2:RunInstances", "ec2:CopyImage", "ec2:CreateStoreImageTask", "ec2:ExportImage"}),
    "aws.redshift.snapshot": frozenset(
        {"redshift:RestoreFromClusterSnapshot", "redshift:RestoreTableFromClusterSnapshot",
         "redshift:CopyClusterSnapshot"}),
    # Restored into a new cache or cluster, or copied (to an S3 bucket: an export).
    "aws.elasticache.snapshot": frozenset(
        {"elasticache:CreateReplicationGroup", "elasticache:CreateCacheCluster", "elasticache:CopySnapshot"}),
    "aws.memorydb.snapshot": frozenset({"memorydb:CreateCluster", "memorydb:CopySnapshot"}),
    "aws.fsx.backup": frozenset(
        {"fsx:CreateFileSystemFromBackup", "fsx:CreateVolumeFromBackup", "fsx:CopyBackup"}),
    # In the Recycle Bin: restored first, then used as any snapshot or image.
    "aws.ec2.recycle_bin_snapshot": frozenset({"ec2:RestoreSnapshotFromRecycleBin"}),
    "aws.ec2.recycle_bin_image": frozenset({"ec2:RestoreImageFromRecycleBin"}),
}
SNAPSHOT_ESCALATION: Mapping[str, frozenset[str]] = {
    "aws.rds.db_snapshot": frozenset({"rds:ModifyDBSnapshotAttribute"}),
    "aws.rds.db_cluster_snapshot": frozenset({"rds:ModifyDBClusterSnapshotAttribute"}),
    "aws.ec2.snapshot": frozenset({"ec2:ModifySnapshotAttribute"}),
    "aws.ec2.image": frozenset({"ec2:ModifyImageAttribute"}),
    "aws.redshift.snapshot": frozenset({"redshift:AuthorizeSnapshotAccess"}),
    # Neither can be shared with another account.
    "aws.elasticache.snapshot": frozenset(),
    "aws.memorydb.snapshot": frozenset(),
    "aws.fsx.backup": frozenset(),
    "aws.ec2.recycle_bin_snapshot": frozenset(),
    "aws.ec2.recycle_bin_image": frozenset(),
}
#: Per stream type: the actions that read it, and those that rewrite its policy (an escalation).
STREAM_READ: Mapping[str, frozenset[str]] = {
    "aws.sqs.queue": frozenset({"sqs:ReceiveMessage"}),
    "aws.sns.topic": frozenset({"sns:Subscribe"}),
    "aws.logs.log_group": frozenset(
        {"logs:FilterLogEvents", "logs:StartQuery", "logs:StartLiveTail", "logs:CreateExportTask"}),
}
LOG_STREAM_READ = frozenset({"logs:GetLogEvents"})
KINESIS_READ = frozenset({"kinesis:GetRecords", "kinesis:GetShardIterator"})
KINESIS_CONSUMER_READ = frozenset({"kinesis:SubscribeToShard"})
KINESIS_ESCALATION = frozenset({"kinesis:PutResourcePolicy"})
REDSHIFT_CREDENTIALS = frozenset({"redshift:GetClusterCredentials"})
REDSHIFT_IAM_CREDENTIALS = frozenset({"redshift:GetClusterCredentialsWithIAM"})
REDSHIFT_DATA_API = frozenset({"redshift-data:ExecuteStatement", "redshift-data:BatchExecuteStatement"})
OPENSEARCH_READ = frozenset({"es:ESHttpGet", "es:ESHttpPost", "es:ESHttpHead"})
OPENSEARCH_ESCALATION = frozenset({"es:UpdateDomainConfig", "es:UpdateElasticsearchDomainConfig"})
EFS_READ = frozenset({"elasticfilesystem:ClientMount", "elasticfilesystem:ClientRootAccess"})
EFS_ESCALATION = frozenset({"elasticfilesystem:PutFileSystemPolicy"})
GLUE_TABLE_READ = frozenset({
    "glue:GetTable", "glue:GetTables", "glue:GetTableVersion", "glue:GetTableVersions", "glue:GetPartition",
    "glue:GetPartitions", "glue:BatchGetPartition", "glue:SearchTables"})
GLUE_CONNECTION_READ = frozenset({"glue:GetConnection", "glue:GetConnections"})
GLUE_ESCALATION = frozenset({"glue:PutResourcePolicy"})
S3_TABLES_READ = frozenset({"s3tables:GetTableData"})
S3_TABLES_ESCALATION = frozenset({"s3tables:PutTablePolicy", "s3tables:PutTableBucketPolicy"})
ATHENA_RESULTS_READ = frozenset({"athena:GetQueryResults", "athena:GetQueryResultsStream"})
HEALTHLAKE_READ = frozenset({
    "healthlake:ReadResource", "healthlake:SearchWithGet", "healthlake:SearchWithPost",
    "healthlake:StartFHIRExportJob"})
GLACIER_READ = frozenset({"glacier:InitiateJob", "glacier:GetJobOutput"})
GLACIER_ESCALATION = frozenset({"glacier:SetVaultAccessPolicy"})
BACKUP_READ = frozenset({"backup:StartRestoreJob", "backup:StartCopyJob", "backup:CopyFromBackupVault"})
BACKUP_ESCALATION = frozenset({"backup:PutBackupVaultAccessPolicy"})
DAX_READ = frozenset({"dax:GetItem", "dax:BatchGetItem", "dax:Query", "dax:Scan"})
STREAM_ESCALATION: Mapping[str, frozenset[str]] = {
    "aws.sqs.queue": frozenset({"sqs:SetQueueAttributes", "sqs:AddPermission"}),
    "aws.sns.topic": frozenset({"sns:SetTopicAttributes", "sns:AddPermission"}),
}

#: Actions that do not read but let the principal give itself read, and what they do.
ESCALATIONS: Mapping[str, str] = {
    "s3:putbucketpolicy": "s3:PutBucketPolicy (can grant itself read)",
    "s3:putobjectacl": "s3:PutObjectAcl (can grant itself read through object ACLs)",
    "s3:putobjectversionacl": "s3:PutObjectVersionAcl (can grant itself read through object ACLs)",
    "dynamodb:putresourcepolicy": "dynamodb:PutResourcePolicy (can grant itself read)",
    **{action.lower(): f"{action} (can share it with an account it controls)"
       for actions in SNAPSHOT_ESCALATION.values() for action in actions},
    **{action.lower(): f"{action} (can grant itself read)"
       for actions in STREAM_ESCALATION.values() for action in actions},
    **{action.lower(): f"{action} (can grant itself read)"
       for action in EFS_ESCALATION | KINESIS_ESCALATION | OPENSEARCH_ESCALATION | GLUE_ESCALATION
       | S3_TABLES_ESCALATION | GLACIER_ESCALATION
       | BACKUP_ESCALATION},
}


@dataclass(frozen=True)
class Facet:
    """One way into a store: the ARN pattern actions are authorised against, the actions,
    whether the store's resource policy applies there (a DynamoDB stream has its own) and whether
    it must allow even within the account (a role's trust policy)."""

    content_arn: str
    actions: frozenset[str]
    resource_policy_applies: bool = True
    policy_required: bool = False


def bucket_facets(bucket_arn: str, *, object_acls: bool = True) -> tuple[Facet, ...]:
    """An S3 bucket (``arn:aws:s3:::B``): its objects, read or re-permitted through object ACLs
    (unless ``object_acls`` is False: the bucket is known to disable ACLs), and its policy."""
    objects = S3_READ | S3_OBJECT_ESCALATION if object_acls else S3_READ
    return (Facet(f"{bucket_arn}/*", objects), Facet(bucket_arn, S3_BUCKET_ESCALATION))


def table_facets(table_arn: str) -> tuple[Facet, ...]:
    """A DynamoDB table: the table, its indexes and its streams."""
    return (
        Facet(table_arn, DYNAMODB_READ | DYNAMODB_ESCALATION),
        Facet(f"{table_arn}/index/*", DYNAMODB_INDEX_READ),
        Facet(f"{table_arn}/stream/*", DYNAMODB_STREAM_READ, resource_policy_applies=False),
    )


def table_backup_facets(backup_arn: str) -> tuple[Facet, ...]:
    """A DynamoDB backup (``…:table/T/backup/ID``): restored into a table the caller reads. A
    backup has no resource policy of its own."""
    return (Facet(backup_arn, DYNAMODB_BACKUP_READ, resource_policy_applies=False),)


def database_facets(
    database_arn: str, *, resource_id: str | None, iam_auth: bool, data_api: bool
) -> tuple[Facet, ...]:
    """An RDS instance or Aurora cluster (``arn:aws:rds:R:A:db:N`` / ``…:cluster:N``): IAM
    database logins when IAM authentication is on, the Data API when it is on."""
    parts = database_arn.split(":", 6)
    facets: list[Facet] = []
    if iam_auth and resource_id and len(parts) >= 6:
        partition, region, account = parts[1], parts[3], parts[4]
        facets.append(Facet(f"arn:{partition}:rds-db:{region}:{account}:dbuser:{resource_id}/*", RDS_CONNECT))
    if data_api:
        facets.append(Facet(database_arn, RDS_DATA_API))
    return tuple(facets)


def automated_backup_facets(backup_arn: str) -> tuple[Facet, ...]:
    """An RDS automated backup kept after its database (``…:auto-backup:ID``): restored to a
    point in time. It has no sharing of its own."""
    return (Facet(backup_arn, RDS_BACKUP_RESTORE, resource_policy_applies=False),)


def snapshot_facets(snapshot_arn: str, snapshot_type: str) -> tuple[Facet, ...]:
    """A snapshot (of a type of :data:`SNAPSHOT_READ`): restored, copied or re-shared through
    its ARN."""
    return (Facet(snapshot_arn, SNAPSHOT_READ[snapshot_type] | SNAPSHOT_ESCALATION[snapshot_type]),)


def sharing_policy(snapshot_arn: str, snapshot_type: str, accounts: Iterable[str]) -> PolicyDocument | None:
    """A snapshot's sharing as the resource policy it amounts to: the ``accounts`` (``all``:
    everyone) may read it, never re-share it. None when it is shared with no one."""
    shared = sorted(set(accounts))
    if not shared:
        return None
    principal: Any = "*" if "all" in shared else {"AWS": [f"arn:aws:iam::{a}:root" for a in shared]}
    document = {"Version": "2012-10-17", "Statement": [{
        "Sid": "SharedSnapshot", "Effect": "Allow", "Principal": principal,
        "Action": sorted(SNAPSHOT_READ[snapshot_type]), "Resource": snapshot_arn}]}
    return parse_policy(document, name=f"sharing of {snapshot_arn}")


def queue_facets(queue_arn: str) -> tuple[Facet, ...]:
    """An SQS queue: its messages received, or its policy rewritten."""
    return (Facet(queue_arn, STREAM_READ["aws.sqs.queue"] | STREAM_ESCALATION["aws.sqs.queue"]),)


def topic_facets(topic_arn: str) -> tuple[Facet, ...]:
    """An SNS topic: subscribed to, or its policy rewritten."""
    return (Facet(topic_arn, STREAM_READ["aws.sns.topic"] | STREAM_ESCALATION["aws.sns.topic"]),)


def log_group_facets(group_arn: str) -> tuple[Facet, ...]:
    """A log group (``arn:aws:logs:R:A:log-group:NAME``): searched, queried, tailed or exported
    as a whole, its streams read; policies name it with or without ``:*``."""
    group = STREAM_READ["aws.logs.log_group"]
    return (Facet(group_arn, group), Facet(f"{group_arn}:*", group | LOG_STREAM_READ))


def data_stream_facets(stream_arn: str) -> tuple[Facet, ...]:
    """A Kinesis data stream: its shards read, its consumers subscribed, its policy rewritten."""
    return (Facet(stream_arn, KINESIS_READ | KINESIS_ESCALATION),
            Facet(f"{stream_arn}/consumer/*", KINESIS_CONSUMER_READ))


def warehouse_facets(cluster_arn: str) -> tuple[Facet, ...]:
    """A Redshift cluster (``arn:aws:redshift:R:A:cluster:NAME``): temporary credentials for its
    users or databases, and the Data API."""
    prefix, _, name = cluster_arn.rpartition(":cluster:")
    return (Facet(cluster_arn, REDSHIFT_DATA_API),
            Facet(f"{prefix}:dbuser:{name}/*", REDSHIFT_CREDENTIALS),
            Facet(f"{prefix}:dbname:{name}/*", REDSHIFT_IAM_CREDENTIALS))


def search_domain_facets(domain_arn: str) -> tuple[Facet, ...]:
    """An OpenSearch domain (``arn:aws:es:R:A:domain/NAME``): its indexes read over HTTP, its
    access policy rewritten."""
    return (Facet(f"{domain_arn}/*", OPENSEARCH_READ), Facet(domain_arn, OPENSEARCH_ESCALATION))


def file_system_facets(file_system_arn: str) -> tuple[Facet, ...]:
    """An EFS file system: mounted, or its file system policy rewritten."""
    return (Facet(file_system_arn, EFS_READ | EFS_ESCALATION),)


def data_catalog_facets(catalog_arn: str) -> tuple[Facet, ...]:
    """A region's Glue Data Catalog (``arn:aws:glue:R:A:catalog``): its tables and partitions,
    its connections, and its resource policy rewritten."""
    prefix = catalog_arn.rsplit(":", 1)[0]
    return (Facet(catalog_arn, GLUE_TABLE_READ | GLUE_CONNECTION_READ | GLUE_ESCALATION),
            Facet(f"{prefix}:table/*", GLUE_TABLE_READ),
            Facet(f"{prefix}:connection/*", GLUE_CONNECTION_READ))


def workgroup_facets(workgroup_arn: str) -> tuple[Facet, ...]:
    """An Athena workgroup: its query results read."""
    return (Facet(workgroup_arn, ATHENA_RESULTS_READ),)


def fhir_store_facets(datastore_arn: str) -> tuple[Facet, ...]:
    """A HealthLake FHIR data store: its resources read or exported."""
    return (Facet(datastore_arn, HEALTHLAKE_READ),)


def s3_table_facets(table_arn: str) -> tuple[Facet, ...]:
    """An S3 Tables table (``arn:aws:s3tables:R:A:bucket/NAME/table/ID``): its data read, its
    policy or its bucket's rewritten."""
    bucket_arn = table_arn.split("/table/", 1)[0]
    return (Facet(table_arn, S3_TABLES_READ | frozenset({"s3tables:PutTablePolicy"})),
            Facet(bucket_arn, frozenset({"s3tables:PutTableBucketPolicy"})))
def vault_facets(vault_arn: str) -> tuple[Facet, ...]:
    """An S3 Glacier vault (``arn:aws:glacier:R:A:vaults/NAME``): its archives retrieved, or its
    access policy rewritten."""
    return (Facet(vault_arn, GLACIER_READ | GLACIER_ESCALATION),)
def recovery_point_facets(recovery_point_arn: str, vault_arn: str) -> tuple[Facet, ...]:
    """An AWS Backup recovery point: restored or copied, or its vault's access policy rewritten."""
    return (Facet(recovery_point_arn, BACKUP_READ), Facet(vault_arn, BACKUP_ESCALATION))


def backup_vault_facets(vault_arn: str) -> tuple[Facet, ...]:
    """An AWS Backup vault (``…:backup-vault:NAME``): what it holds restored or copied (recovery
    point ARNs do not name their vault: any of its region and account), or its access policy
    rewritten."""
    points = f"{vault_arn.rsplit(':backup-vault:', 1)[0]}:recovery-point:*"
    return (Facet(points, BACKUP_READ), Facet(vault_arn, BACKUP_ESCALATION))


def dax_cluster_facets(cluster_arn: str) -> tuple[Facet, ...]:
    """A DAX cluster (``arn:aws:dax:R:A:cache/NAME``): its cached items read."""
    return (Facet(cluster_arn, DAX_READ),)


def facets_of(content_arn: str) -> tuple[Facet, ...]:
    """The facets of a bucket (given by its objects, ``arn:aws:s3:::B/*``) or of a table (its ARN,
    patterns allowed): for readers that know a store by the ARN its content is read through."""
    if content_arn.startswith("arn:aws:s3:::") and content_arn.endswith("/*"):
        return bucket_facets(content_arn[:-2])
    if ":dynamodb:" in content_arn and ":table/" in content_arn:
        return table_facets(content_arn)
    raise ValueError(f"not the content of a bucket or a table: {content_arn}")


def describe(action: str) -> str:
    """How ``can_read_via`` names a store read through ``action`` (any case)."""
    return ESCALATIONS.get(action.lower(), action)


def is_escalation(action: str) -> bool:
    return action.lower() in ESCALATIONS


__all__ = [
    "ATHENA_RESULTS_READ",
    "BACKUP_ESCALATION",
    "BACKUP_READ",
    "DAX_READ",
    "DYNAMODB_BACKUP_READ",
    "DYNAMODB_ESCALATION",
    "DYNAMODB_INDEX_READ",
    "DYNAMODB_READ",
    "DYNAMODB_STREAM_READ",
    "EFS_ESCALATION",
    "EFS_READ",
    "ESCALATIONS",
    "GLACIER_ESCALATION",
    "GLACIER_READ",
    "GLUE_CONNECTION_READ",
    "GLUE_ESCALATION",
    "GLUE_TABLE_READ",
    "HEALTHLAKE_READ",
    "KINESIS_CONSUMER_READ",
    "KINESIS_ESCALATION",
    "KINESIS_READ",
    "LOG_STREAM_READ",
    "OPENSEARCH_ESCALATION",
    "OPENSEARCH_READ",
    "RDS_BACKUP_RESTORE",
    "RDS_CONNECT",
    "RDS_DATA_API",
    "REDSHIFT_CREDENTIALS",
    "REDSHIFT_DATA_API",
    "REDSHIFT_IAM_CREDENTIALS",
    "S3_BUCKET_ESCALATION",
    "S3_OBJECT_ESCALATION",
    "S3_READ",
    "S3_TABLES_ESCALATION",
    "S3_TABLES_READ",
    "SNAPSHOT_ESCALATION",
    "SNAPSHOT_READ",
    "STREAM_ESCALATION",
    "STREAM_READ",
    "Facet",
    "automated_backup_facets",
    "backup_vault_facets",
    "bucket_facets",
    "data_catalog_facets",
    "data_stream_facets",
    "database_facets",
    "dax_cluster_facets",
    "describe",
    "facets_of",
    "fhir_store_facets",
    "file_system_facets",
    "is_escalation",
    "log_group_facets",
    "queue_facets",
    "recovery_point_facets",
    "s3_table_facets",
    "search_domain_facets",
    "sharing_policy",
    "snapshot_facets",
    "table_backup_facets",
    "table_facets",
    "topic_facets",
    "vault_facets",
    "warehouse_facets",
    "workgroup_facets",
]
