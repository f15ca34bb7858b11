"""MemoryDB clusters as ``database`` stores: a durable in-memory database, often the session and
record cache of a clinical application.

MemoryDB always encrypts at rest: under ``KmsKeyId`` when the cluster names one, else under a key
MemoryDB owns (the provider's, named by no key resource). ``TLSEnabled`` decides
``secure_transport_required``: without TLS, clients connect in clear. A cluster lives in a VPC
and has no resource policy: never public. Its users authenticate with the engine's access
control lists (IAM authentication, where set up, is an ACL user too): no IAM reach is computed.

MemoryDB is not offered in every region: a region holds no cluster when the SDK's region table
does not list it for MemoryDB and its endpoint there cannot be reached (:mod:`.offered`); every
region is called, so one opened after the SDK was built is read all the same.

A cluster whose tags cannot be read is yielded untagged with an error, so its class is
undecided rather than taken from nothing.
"""

from __future__ import annotations

from typing import Any

from phigate.api import Resource
from phigate_providers.aws.calls import ApiFailure, call, pages
from phigate_providers.aws.context import Account, jsonable, tag_map
from phigate_providers.aws.kms import KeyDirectory
from phigate_providers.aws.offered import where_offered

CLUSTER = "aws.memorydb.cluster"
TYPES = (CLUSTER,)
KIND = "database"
OPERATIONS = {
    ("memorydb", "DescribeClusters"): "memorydb:DescribeClusters",
    ("memorydb", "ListTags"): "memorydb:ListTags",
}


def collect_region(account: Account, region: str, keys: KeyDirectory) -> list[Resource]:
    """The clusters of ``region`` (none where MemoryDB is not offered). Raises ApiFailure when
    they cannot be listed."""
    client = account.client("memorydb", region)
    listed = where_offered(account, region, lambda: list(pages(client, "DescribeClusters", "Clusters")))
    return [_cluster(account, region, keys, client, item) for item in listed]


def _cluster(account: Account, region: str, keys: KeyDirectory, client: Any,
             item: dict[str, Any]) -> Resource:
    name = str(item["Name"])
    arn = str(item.get("ARN") or account.arn("memorydb", region, f"cluster/{name}"))
    key = item.get("KmsKeyId")
    encryption = (keys.encryption(True, str(key), region, account.account_id) if key else
                  {"at_rest": True, "algorithm": "AES256", "key": None, "key_manager": "provider"})
    attributes: dict[str, Any] = {
        "engine": item.get("Engine"),
        "encryption": encryption,
        "public_access": {"blocked": True, "grants": []},
        "backup_retention_days": item.get("SnapshotRetentionLimit"),
    }
    if isinstance(item.get("TLSEnabled"), bool):
        attributes["secure_transport_required"] = item["TLSEnabled"]
    tags: dict[str, str] = {}
    try:
        tags = tag_map((call(client, "ListTags", ResourceArn=arn) or {}).get("TagList"))
    except ApiFailure as failure:
        account.failed(failure, f"MemoryDB cluster {name} tags", kinds=(KIND,), types=TYPES, region=region,
                       resource_id=arn)
    return account.resource(arn, CLUSTER, KIND, region=region, name=name, attributes=attributes, tags=tags,
                            raw=jsonable(item))


__all__ = ["OPERATIONS", "TYPES", "collect_region"]
