"""Manual Redshift snapshots as ``database`` stores: a snapshot is a copy of its warehouse.

Manual snapshots outlive their cluster and are the ones shared: the listing names the accounts
that may restore each (``AccountsWithRestoreAccess``), readers for the access analysis
(:func:`store_access`). Redshift cannot share a snapshot with every account, so none is public:
``public_access`` is decided from the listing, with no read of its own. Automated snapshots are
left to their cluster: they cannot be shared, are encrypted as the cluster is and are deleted
with it.

Encryption and key are the snapshot's (``Encrypted``, ``KmsKeyId``; the AWS-managed
``aws/redshift`` key when it names none, as for clusters). Its tags are its own; its cluster's are
added under them when the cluster is read in the same run (:mod:`.copies`).
"""

from __future__ import annotations

from typing import Any

from phigate.api import Resource
from phigate_providers.aws.calls import pages
from phigate_providers.aws.context import Account, jsonable, tag_map
from phigate_providers.aws.kms import KeyDirectory
from phigate_providers.aws.policydoc import PolicyDocument
from phigate_providers.aws.read_actions import Facet, sharing_policy, snapshot_facets
from phigate_providers.aws.redshift import AWS_MANAGED_KEY

SNAPSHOT = "aws.redshift.snapshot"
TYPES = (SNAPSHOT,)
OPERATIONS = {("redshift", "DescribeClusterSnapshots"): "redshift:DescribeClusterSnapshots"}


def collect_region(account: Account, region: str, keys: KeyDirectory) -> list[Resource]:
    """The account's manual snapshots in ``region``, with their sharing and tags. Raises
    ApiFailure when they cannot be listed."""
    client = account.client("redshift", region)
    listed = pages(client, "DescribeClusterSnapshots", "Snapshots", SnapshotType="manual",
                   OwnerAccount=account.account_id)
    # The filter is held to here too: an endpoint that ignores it must not add automated ones.
    return [_snapshot(account, region, keys, item) for item in listed if item.get("SnapshotType") == "manual"]


def _snapshot(account: Account, region: str, keys: KeyDirectory, item: dict[str, Any]) -> Resource:
    name, cluster = str(item["SnapshotIdentifier"]), str(item.get("ClusterIdentifier") or "")
    arn = account.arn("redshift", region, f"snapshot:{cluster}/{name}")
    encrypted = bool(item.get("Encrypted"))
    attributes: dict[str, Any] = {
        "engine": "redshift",
        "encryption": keys.encryption(encrypted, item.get("KmsKeyId") if encrypted else None, region,
                                      account.account_id, default=AWS_MANAGED_KEY),
        "public_access": {"blocked": True, "grants": []},
    }
    raw = {k: v for k, v in jsonable(item).items() if k not in ("Tags", "MasterPasswordSecretArn")}
    raw["shared_with"] = sorted({str(a["AccountId"]) for a in item.get("AccountsWithRestoreAccess") or ()
                                 if a.get("AccountId")})
    if cluster:  # a copy from another region names the cluster's region (``SourceRegion``)
        taken_in = str(item.get("SourceRegion") or region)
        raw["source"] = account.arn("redshift", taken_in, f"cluster:{cluster}")
    return account.resource(arn, SNAPSHOT, "database", region=region, name=name, attributes=attributes,
                            tags=tag_map(item.get("Tags")), raw=raw)


def store_access(resource: Resource) -> tuple[tuple[Facet, ...], PolicyDocument | None] | str:
    """Restored or copied by whoever the identity policies let in its account, and by the
    accounts it is shared with as a resource policy would let them."""
    shared = resource.raw.get("shared_with")
    if not isinstance(shared, list):
        return "sharing not read"
    policy = sharing_policy(resource.id, SNAPSHOT, [str(a) for a in shared])
    return snapshot_facets(resource.id, SNAPSHOT), policy


__all__ = ["OPERATIONS", "SNAPSHOT", "TYPES", "collect_region", "store_access"]
