"""EFS file systems as ``volume`` stores: shared file systems hold scanned records and exports.

Encryption at rest is the file system's (``Encrypted``, under ``KmsKeyId``; the AWS-managed
``aws/elasticfilesystem`` key when it names none). The file system policy gives the public
exposure: an allow to everyone is public unless it holds only for clients mounting through a
mount target (``elasticfilesystem:AccessedViaMountTarget`` true), who must reach the VPC
first. Without a file system policy, IAM does not decide who mounts it (any NFS client reaching a
mount target does): its readers are unseen by the access analysis, never nobody.

A file system whose policy cannot be read is yielded without ``public_access``, its error
recorded.

A file system that is a replication's destination (``FileSystemProtection.ReplicationOverwriteProtection``
``REPLICATING``: a read-only copy, often in another region) holds its source's files: its replication
configuration (``DescribeReplicationConfigurations`` for it) names the source, which ``raw["source"]``
names in turn, so the copy is classed as its source when that is read in the same run
(:mod:`.copies`). A configuration that cannot be read leaves the copy with its own tags only, an
error naming it.
"""

from __future__ import annotations

from typing import Any

from phigate.api import Resource
from phigate_providers.aws import policy_stores
from phigate_providers.aws.calls import ApiFailure, call, pages
from phigate_providers.aws.context import Account, jsonable, tag_map
from phigate_providers.aws.kms import KeyDirectory
from phigate_providers.aws.policydoc import PolicyDocument, PolicySyntaxError, parse_policy
from phigate_providers.aws.read_actions import Facet, file_system_facets
from phigate_providers.aws.store_policies import NO_POLICY, beyond_mount_targets

FILE_SYSTEM = "aws.efs.file_system"
TYPES = (FILE_SYSTEM,)
KIND = "volume"
OPERATIONS = {
    ("efs", "DescribeFileSystems"): "elasticfilesystem:DescribeFileSystems",
    ("efs", "DescribeFileSystemPolicy"): "elasticfilesystem:DescribeFileSystemPolicy",
    ("efs", "DescribeReplicationConfigurations"): "elasticfilesystem:DescribeReplicationConfigurations",
}
#: How a replication's destination file system is marked.
REPLICATING = "REPLICATING"
AWS_MANAGED_KEY = "alias/aws/elasticfilesystem"


def collect_region(account: Account, region: str, keys: KeyDirectory) -> list[Resource]:
    """The file systems of ``region``. Raises ApiFailure when they cannot be listed."""
    client = account.client("efs", region)
    return [_file_system(account, region, keys, client, item)
            for item in pages(client, "DescribeFileSystems", "FileSystems")]


def _file_system(account: Account, region: str, keys: KeyDirectory, client: Any,
                 item: dict[str, Any]) -> Resource:
    fs_id = str(item["FileSystemId"])
    arn = str(item.get("FileSystemArn") or account.arn("elasticfilesystem", region, f"file-system/{fs_id}"))
    encrypted = bool(item.get("Encrypted"))
    attributes: dict[str, Any] = {
        "encryption": keys.encryption(encrypted, item.get("KmsKeyId") if encrypted else None, region,
                                      account.account_id, default=AWS_MANAGED_KEY),
    }
    raw = {k: v for k, v in jsonable(item).items() if k != "Tags"}
    what = f"EFS file system {fs_id}"
    try:
        response = call(client, "DescribeFileSystemPolicy", absent=("PolicyNotFound",), FileSystemId=fs_id)
        document = (response or {}).get("Policy") or None
        exposed = policy_stores.exposure(account, region, arn=arn, document=beyond_mount_targets(document),
                                         what=what, types=TYPES, service="efs",
                                         operation="DescribeFileSystemPolicy", kind=KIND)
        policy_stores.with_policy(attributes, raw, exposed, document)
    except ApiFailure as failure:
        account.failed(failure, f"{what} policy", kinds=(KIND,), types=TYPES, region=region, resource_id=arn)
    if (item.get("FileSystemProtection") or {}).get("ReplicationOverwriteProtection") == REPLICATING:
        source = _replicated_from(account, region, client, fs_id, arn)
        if source:
            raw["source"] = source
    name = item.get("Name") or fs_id
    return account.resource(arn, FILE_SYSTEM, KIND, region=region, name=str(name), attributes=attributes,
                            tags=tag_map(item.get("Tags")), raw=raw)


def _replicated_from(account: Account, region: str, client: Any, fs_id: str, arn: str) -> str | None:
    """The ARN of the file system a destination replicates; None when not read (its error
    recorded) or not named."""
    try:
        response = call(client, "DescribeReplicationConfigurations", absent=("ReplicationNotFound",),
                        FileSystemId=fs_id)
    except ApiFailure as failure:
        account.failed(failure, f"EFS file system {fs_id} replication source", kinds=(KIND,), types=TYPES,
                       region=region, resource_id=arn)
        return None
    for replication in (response or {}).get("Replications") or ():
        if not any(d.get("FileSystemId") == fs_id for d in replication.get("Destinations") or ()):
            continue
        if replication.get("SourceFileSystemArn"):
            return str(replication["SourceFileSystemArn"])
        source_region = str(replication.get("SourceFileSystemRegion") or region)
        owner = str(replication.get("SourceFileSystemOwnerId") or account.account_id)
        return (f"arn:{account.partition}:elasticfilesystem:{source_region}:{owner}:"
                f"file-system/{replication['SourceFileSystemId']}")
    return None


def store_access(resource: Resource) -> tuple[tuple[Facet, ...], PolicyDocument | None] | str:
    """Mounted by whoever the file system policy and identity policies let in; unseen when its
    policy was not read, or when it has none (IAM does not decide)."""
    if "public_access" not in resource.attributes:
        return "file system policy not read"
    document = resource.raw.get("policy")
    if not document:
        return NO_POLICY
    try:
        policy = parse_policy(str(document), name=resource.id)
    except PolicySyntaxError as exc:  # a statement only through mount targets was malformed
        return f"file system policy does not parse: {exc}"
    return file_system_facets(resource.id), policy


__all__ = ["OPERATIONS", "TYPES", "collect_region", "store_access"]
