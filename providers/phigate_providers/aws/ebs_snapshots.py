"""EBS snapshots as ``volume`` stores: a snapshot is a copy of its volume.

The account's own snapshots are read with their ``createVolumePermission``: the group ``all``
makes one public (any AWS account can create a volume from it: ``public_access.grants``), user
ids are the accounts it is shared with, readers for the access analysis (:func:`store_access`).
A snapshot whose permission cannot be read is yielded without ``public_access`` and with an
error naming it: its exposure is undecided, never taken for private.

The group ``all`` is public only while the region's snapshot block public access lets it be:
``block-all-sharing`` treats snapshots already shared with ``all`` as private (AWS keeps the
permission, and no longer honours it); ``block-new-sharing`` only refuses new public shares, so
those already made stay public. The setting is read once per region, and only when a snapshot is
shared with ``all`` (``raw["block_public_access"]``); when it cannot be read, such a snapshot's
public exposure and readers are undecided (an error naming it), the others' are not.

A snapshot's ARN names no account (``arn:aws:ec2:R::snapshot/ID``): it is its id, as AWS and
Terraform give it. Encryption and key are the snapshot's own (its volume's key, or the key its
copy named); its volume's tags are added under its own when the volume is read in the same run
(:mod:`.copies`). A copy names an arbitrary volume (AWS says not to use it) and no source field:
the description AWS's console and tools give a copy (``[Copied snap-… from REGION]``, kept at the
start of whatever was typed after it) names the snapshot copied, whose tags (and its volume's)
it then carries. A copy described otherwise has its own tags only; untagged, it is unclassified.
"""

from __future__ import annotations

import re
from typing import Any

from phigate.api import Resource
from phigate_providers.aws.calls import ApiFailure, call, pages
from phigate_providers.aws.context import Account, jsonable, tag_map
from phigate_providers.aws.ec2 import EBS_DEFAULT_KEY
from phigate_providers.aws.kms import KeyDirectory
from phigate_providers.aws.policydoc import PolicyDocument
from phigate_providers.aws.read_actions import Facet, sharing_policy, snapshot_facets

SNAPSHOT = "aws.ec2.snapshot"
TYPES = (SNAPSHOT,)
OPERATIONS = {
    ("ec2", "DescribeSnapshots"): "ec2:DescribeSnapshots",
    ("ec2", "DescribeSnapshotAttribute"): "ec2:DescribeSnapshotAttribute",
    ("ec2", "GetSnapshotBlockPublicAccessState"): "ec2:GetSnapshotBlockPublicAccessState",
}
#: The block public access state under which a snapshot shared with ``all`` is private.
BLOCK_ALL = "block-all-sharing"


def collect_region(account: Account, region: str, keys: KeyDirectory) -> list[Resource]:
    """The snapshots the account owns in ``region``. Raises ApiFailure when they cannot be
    listed; a snapshot whose sharing cannot be read is yielded without it, its error recorded."""
    client = account.client("ec2", region)
    blocking = _Blocking(client)
    return [_snapshot(account, region, keys, client, item, blocking=blocking)
            for item in pages(client, "DescribeSnapshots", "Snapshots", OwnerIds=["self"])]


class _Blocking:
    """The region's snapshot block public access state, read at most once, when first asked."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self._read: str | ApiFailure | None = None

    def state(self) -> str | ApiFailure:
        if self._read is None:
            try:
                response = call(self._client, "GetSnapshotBlockPublicAccessState")
                assert response is not None
                self._read = str(response.get("State") or "unblocked")
            except ApiFailure as failure:
                self._read = failure
        return self._read


def _snapshot(account: Account, region: str, keys: KeyDirectory, client: Any,
              item: dict[str, Any], *, blocking: _Blocking) -> Resource:
    snapshot_id = str(item["SnapshotId"])
    arn = f"arn:{account.partition}:ec2:{region}::snapshot/{snapshot_id}"
    encrypted = bool(item.get("Encrypted"))
    attributes: dict[str, Any] = {
        "encryption": keys.encryption(encrypted, item.get("KmsKeyId") if encrypted else None, region,
                                      account.account_id, default=EBS_DEFAULT_KEY),
        "size_gb": item.get("VolumeSize"),
    }
    raw = {k: v for k, v in jsonable(item).items() if k != "Tags"}
    source = _source(account, region, item)
    if source:
        raw["source"] = source
    shared = _sharing(account, region, client, snapshot_id, arn)
    state = blocking.state() if shared is not None and "all" in shared else None
    if isinstance(state, ApiFailure):
        account.failed(state, f"EBS snapshot {snapshot_id} public sharing (the region's block public access)",
                       kinds=("volume",), types=TYPES, region=region, resource_id=arn)
        raw["shared_with"] = shared
    elif shared is not None:
        raw["shared_with"] = shared
        if state is not None:
            raw["block_public_access"] = state
        grants = ["createVolumePermission:all"] if "all" in shared and state != BLOCK_ALL else []
        attributes["public_access"] = {"blocked": not grants, "grants": grants}
    return account.resource(arn, SNAPSHOT, "volume", region=region, name=snapshot_id, attributes=attributes,
                            tags=tag_map(item.get("Tags")), raw=raw)


#: How a copy's description names the snapshot copied, as AWS's console and tools write it.
_COPIED = re.compile(r"\[Copied (snap-[0-9a-f]+) from ([a-z]{2}(?:-[a-z]+)+-\d+)\]")


def _source(account: Account, region: str, item: dict[str, Any]) -> str | None:
    """The snapshot a copy was made from (its description names it), else the volume snapshotted."""
    copied = _COPIED.search(str(item.get("Description") or ""))
    if copied:
        return f"arn:{account.partition}:ec2:{copied.group(2)}::snapshot/{copied.group(1)}"
    volume = item.get("VolumeId")
    return account.arn("ec2", region, f"volume/{volume}") if volume else None


def _sharing(account: Account, region: str, client: Any, snapshot_id: str, arn: str) -> list[str] | None:
    """The accounts that may create volumes from the snapshot (``all``: any); None when not read."""
    try:
        response = call(client, "DescribeSnapshotAttribute", Attribute="createVolumePermission",
                        SnapshotId=snapshot_id)
    except ApiFailure as failure:
        account.failed(failure, f"EBS snapshot {snapshot_id} sharing", kinds=("volume",), types=TYPES,
                       region=region, resource_id=arn)
        return None
    assert response is not None
    found: set[str] = set()
    for permission in response.get("CreateVolumePermissions") or ():
        if permission.get("Group") == "all":
            found.add("all")
        elif permission.get("UserId"):
            found.add(str(permission["UserId"]))
    return sorted(found)


def store_access(resource: Resource) -> tuple[tuple[Facet, ...], PolicyDocument | None] | str:
    """Read (a volume created from it, its blocks read directly, a copy) by whoever the identity
    policies let in its account, and by the accounts it is shared with (``all``: everyone) as a
    resource policy would let them (``all``: not while the region blocks all public sharing);
    why not known when its sharing, or whether a share with everyone is honoured, was not read."""
    shared = resource.raw.get("shared_with")
    if not isinstance(shared, list):
        return "sharing not read"
    accounts = [str(a) for a in shared]
    if "all" in accounts:
        state = resource.raw.get("block_public_access")
        if state is None:
            return "shared with every account while the region's block public access was not read"
        if state == BLOCK_ALL:  # AWS no longer honours the share with every account
            accounts.remove("all")
    facets = snapshot_facets(resource.id, resource.type)
    return facets, sharing_policy(resource.id, resource.type, accounts)


__all__ = ["BLOCK_ALL", "OPERATIONS", "TYPES", "collect_region", "store_access"]
