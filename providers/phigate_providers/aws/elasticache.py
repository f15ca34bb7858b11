"""ElastiCache replication groups (Redis OSS, Valkey) as ``database`` stores: caches hold
sessions and the records last read.

Encryption at rest is ``AtRestEncryptionEnabled``, under ``KmsKeyId`` when one is named, else
under a key ElastiCache manages (the provider's, named by no key resource). A replication group
lives in a VPC and has no resource policy: never public. Its users authenticate with the
engine's own passwords or users (IAM authentication, where set up, is the engine's user too):
no IAM reach is computed for it. It refuses plain connections when transit encryption is on
in ``required`` mode.
"""

from __future__ import annotations

from typing import Any

from phigate.api import Resource
from phigate_providers.aws.calls import ApiFailure, call, pages
from phigate_providers.aws.context import Account, jsonable, tag_map
from phigate_providers.aws.kms import KeyDirectory
from phigate_providers.aws.tag_index import store_tags

GROUP = "aws.elasticache.replication_group"
TYPES = (GROUP,)
KIND = "database"
OPERATIONS = {
    ("elasticache", "DescribeReplicationGroups"): "elasticache:DescribeReplicationGroups",
    ("elasticache", "ListTagsForResource"): "elasticache:ListTagsForResource",
}


def collect_region(account: Account, region: str, keys: KeyDirectory) -> list[Resource]:
    """The replication groups of ``region``. Raises ApiFailure when they cannot be listed."""
    client = account.client("elasticache", region)
    return [_group(account, region, keys, client, item)
            for item in pages(client, "DescribeReplicationGroups", "ReplicationGroups")]


def _group(account: Account, region: str, keys: KeyDirectory, client: Any, item: dict[str, Any]) -> Resource:
    name = str(item["ReplicationGroupId"])
    arn = str(item.get("ARN") or account.arn("elasticache", region, f"replicationgroup:{name}"))
    key = item.get("KmsKeyId")
    if not item.get("AtRestEncryptionEnabled"):
        encryption = keys.encryption(False, None, region, account.account_id)
    elif key:
        encryption = keys.encryption(True, str(key), region, account.account_id)
    else:
        encryption = {"at_rest": True, "algorithm": "AES256", "key": None, "key_manager": "provider"}
    attributes: dict[str, Any] = {
        "engine": item.get("Engine"),
        "encryption": encryption,
        "public_access": {"blocked": True, "grants": []},
        "backup_retention_days": item.get("SnapshotRetentionLimit"),
    }
    if isinstance(transit := item.get("TransitEncryptionEnabled"), bool):
        # ``preferred`` (a migration's step) still takes plain connections; a group encrypted in
        # transit before modes existed takes TLS only.
        mode = item.get("TransitEncryptionMode") or "required"
        attributes["secure_transport_required"] = transit and mode == "required"
    tags: dict[str, str] = {}
    try:
        tags = store_tags(account, region, arn, lambda: tag_map(
            (call(client, "ListTagsForResource", ResourceName=arn) or {}).get("TagList")))
    except ApiFailure as failure:
        account.failed(failure, f"ElastiCache replication group {name} tags", kinds=(KIND,), types=TYPES,
                       region=region, resource_id=arn)
    return account.resource(arn, GROUP, KIND, region=region, name=name, attributes=attributes, tags=tags,
                            raw=jsonable(item))


__all__ = ["OPERATIONS", "TYPES", "collect_region"]
