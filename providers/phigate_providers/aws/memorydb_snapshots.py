"""MemoryDB snapshots as ``database`` stores: a snapshot is a copy of its cluster.

A snapshot, automated or manual, restores a new cluster in the account, and is exported by
copying it to an S3 bucket (the bucket is then read as a bucket). It cannot be shared with another
account: never public, read through IAM by whoever may restore or copy it (:func:`store_access`).

MemoryDB always encrypts a snapshot at rest: under its ``KmsKeyId`` when it names one (its
cluster's key, or the key a copy named), else under a key MemoryDB owns. Its tags are its own, its
cluster's (``ClusterConfiguration.Name``) added under them when the cluster is read in the same
run (``raw["source"]``: :mod:`.copies`); a snapshot whose tags cannot be read is yielded untagged
with an error naming it. Where MemoryDB is not offered, a region holds no snapshot
(:mod:`.offered`).
"""

from __future__ import annotations

from typing import Any

from phigate.api import Resource
from phigate_providers.aws.calls import ApiFailure, call, pages
from phigate_providers.aws.context import Account, jsonable, tag_map
from phigate_providers.aws.kms import KeyDirectory
from phigate_providers.aws.offered import where_offered
from phigate_providers.aws.policydoc import PolicyDocument
from phigate_providers.aws.read_actions import Facet, snapshot_facets

SNAPSHOT = "aws.memorydb.snapshot"
TYPES = (SNAPSHOT,)
KIND = "database"
#: Its tags are read with ``ListTags``, which the clusters' entry declares.
OPERATIONS = {("memorydb", "DescribeSnapshots"): "memorydb:DescribeSnapshots"}


def collect_region(account: Account, region: str, keys: KeyDirectory) -> list[Resource]:
    """The snapshots of ``region`` (none where MemoryDB is not offered). Raises ApiFailure when
    they cannot be listed."""
    client = account.client("memorydb", region)
    listed = where_offered(account, region,
                           lambda: list(pages(client, "DescribeSnapshots", "Snapshots", ShowDetail=True)))
    return [_snapshot(account, region, keys, client, item) for item in listed]


def _snapshot(account: Account, region: str, keys: KeyDirectory, client: Any,
              item: dict[str, Any]) -> Resource:
    name = str(item["Name"])
    arn = str(item.get("ARN") or account.arn("memorydb", region, f"snapshot/{name}"))
    key = item.get("KmsKeyId")
    cluster = item.get("ClusterConfiguration") or {}
    attributes: dict[str, Any] = {
        "engine": cluster.get("Engine"),
        "encryption": (keys.encryption(True, str(key), region, account.account_id) if key else
                       {"at_rest": True, "algorithm": "AES256", "key": None, "key_manager": "provider"}),
        "public_access": {"blocked": True, "grants": []},
    }
    raw = jsonable(item)
    if cluster.get("Name"):
        raw["source"] = account.arn("memorydb", region, f"cluster/{cluster['Name']}")
    tags: dict[str, str] = {}
    try:
        tags = tag_map((call(client, "ListTags", ResourceArn=arn) or {}).get("TagList"))
    except ApiFailure as failure:
        account.failed(failure, f"MemoryDB snapshot {name} tags", kinds=(KIND,), types=TYPES, region=region,
                       resource_id=arn)
    return account.resource(arn, SNAPSHOT, KIND, region=region, name=name, attributes=attributes, tags=tags,
                            raw=raw)


def store_access(resource: Resource) -> tuple[tuple[Facet, ...], PolicyDocument | None]:
    """Restored into a new cluster or copied (to a bucket too) by whoever the identity policies
    let in its account; shared with no other account."""
    return snapshot_facets(resource.id, SNAPSHOT), None


__all__ = ["OPERATIONS", "SNAPSHOT", "TYPES", "collect_region", "store_access"]
