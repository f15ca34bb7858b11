"""EC2 images (AMIs) the account owns as ``volume`` stores: an image is a copy of its disks.

An image of a clinical server holds that server's disks; launched anywhere, it gives them back.
Each owned image (deprecated and disabled ones included: their snapshots still hold the data) is
read with:

- its exposure: ``Public`` in the listing is the ``all`` launch permission, public exposure
  (``public_access.grants``: any AWS account can launch it). The ``launchPermission`` attribute
  of a private image names the accounts it is shared with, readers for the access analysis
  (:func:`store_access`); shared with an organization or unit, whose accounts are not read, its
  readers are an unseen reach. An attribute that cannot be read leaves the image's readers unseen
  (its public exposure is still the listing's word) and records an error naming it.
- its encryption: that of its disks' EBS snapshots (the listing's block device mappings name
  them; they are read in one listing per region). One unencrypted disk makes the image
  unencrypted; all encrypted, the image is as weak as its weakest key (an AWS-managed key, or a
  key that cannot be told, over a customer-managed one). A disk whose snapshot cannot be read is
  decided from its mapping when that says enough (unencrypted, or encrypted under a named key);
  otherwise the image's encryption is left out, undecided.
- its class: its own tags, over its snapshots' (each of them over its volume's): ``raw["source"]``
  names the snapshots (:mod:`.copies`), so an untagged image of a clinical volume is clinical. A
  copied image's disks are new snapshots that name no volume; the image it was copied from
  (``SourceImageId`` in ``SourceImageRegion``) is named too, so a copy is classed as its original.

An image's ARN names no account (``arn:aws:ec2:R::image/ami-…``), as for snapshots.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from phigate.api import Resource
from phigate_providers.aws.calls import ApiFailure, call, pages
from phigate_providers.aws.context import Account, jsonable, tag_map
from phigate_providers.aws.ec2 import EBS_DEFAULT_KEY
from phigate_providers.aws.kms import KeyDirectory
from phigate_providers.aws.policydoc import PolicyDocument
from phigate_providers.aws.read_actions import Facet, sharing_policy, snapshot_facets

IMAGE = "aws.ec2.image"
TYPES = (IMAGE,)
#: The image's disks are read with ``ec2:DescribeSnapshots``, which the EBS snapshots entry
#: declares (an operation is declared once).
OPERATIONS = {
    ("ec2", "DescribeImages"): "ec2:DescribeImages",
    ("ec2", "DescribeImageAttribute"): "ec2:DescribeImageAttribute",
}
#: Snapshot ids per ``DescribeSnapshots`` filter (AWS takes up to 200 values).
_FILTER_VALUES = 200
#: How weak a key is, for the weakest of an image's disks: unknown first, then AWS-managed.
_WEAKNESS = {None: 0, "provider": 1, "customer": 2}

#: One disk's snapshot as read: (encrypted, the key it names); None when not read.
Disk = tuple[bool, str | None] | None


def image_arn(partition: str, region: str, image_id: str) -> str:
    return f"arn:{partition}:ec2:{region}::image/{image_id}"


def collect_region(account: Account, region: str, keys: KeyDirectory) -> list[Resource]:
    """The images the account owns in ``region``. Raises ApiFailure when they cannot be listed;
    an image whose sharing or disks cannot be read is yielded without them, its error recorded."""
    client = account.client("ec2", region)
    images = list(pages(client, "DescribeImages", "Images", Owners=["self"], IncludeDeprecated=True,
                        IncludeDisabled=True))
    wanted = sorted({sid for item in images for sid in _snapshot_ids(item)})
    try:
        disks: dict[str, tuple[bool, str | None]] | ApiFailure = _disks(client, wanted)
    except ApiFailure as failure:
        disks = failure
    return [_image(account, region, keys, client, item, disks=disks) for item in images]


def _snapshot_ids(item: dict[str, Any]) -> list[str]:
    return [str(m["Ebs"]["SnapshotId"]) for m in item.get("BlockDeviceMappings") or ()
            if (m.get("Ebs") or {}).get("SnapshotId")]


def _disks(client: Any, snapshot_ids: list[str]) -> dict[str, tuple[bool, str | None]]:
    """(encrypted, key named) of each snapshot found among ``snapshot_ids``."""
    found: dict[str, tuple[bool, str | None]] = {}
    for start in range(0, len(snapshot_ids), _FILTER_VALUES):
        chunk = snapshot_ids[start:start + _FILTER_VALUES]
        for snapshot in pages(client, "DescribeSnapshots", "Snapshots", OwnerIds=["self"],
                              Filters=[{"Name": "snapshot-id", "Values": chunk}]):
            encrypted = bool(snapshot.get("Encrypted"))
            found[str(snapshot["SnapshotId"])] = (encrypted, snapshot.get("KmsKeyId") if encrypted else None)
    return found


def _image(account: Account, region: str, keys: KeyDirectory, client: Any, item: dict[str, Any], *,
           disks: dict[str, tuple[bool, str | None]] | ApiFailure) -> Resource:
    image_id = str(item["ImageId"])
    arn = image_arn(account.partition, region, image_id)
    public = bool(item.get("Public"))
    attributes: dict[str, Any] = {
        "public_access": {"blocked": not public, "grants": ["launchPermission:all"] if public else []},
    }
    raw = {k: v for k, v in jsonable(item).items() if k != "Tags"}
    sources = [f"arn:{account.partition}:ec2:{region}::snapshot/{s}" for s in _snapshot_ids(item)]
    if item.get("SourceImageId") and item.get("SourceImageRegion"):  # a copy: its disks are new
        original = image_arn(account.partition, str(item["SourceImageRegion"]), str(item["SourceImageId"]))
        sources.append(original)
    if sources:
        raw["source"] = sources
    read = [_disk(mapping, disks) for mapping in item.get("BlockDeviceMappings") or () if mapping.get("Ebs")]
    if isinstance(disks, ApiFailure) and any(d is None for d in read):
        account.failed(disks, f"EC2 image {image_id} disks", kinds=("volume",), types=TYPES, region=region,
                       resource_id=arn)
    encryption = disks_encryption(keys, region, account.account_id, read)
    if encryption is not None:
        attributes["encryption"] = encryption
    shared = ["all"] if public else _sharing(account, region, client, image_id, arn)
    if shared is not None:
        raw["shared_with"] = [s for s in shared if not s.startswith("arn:")]
        raw["shared_with_organizations"] = [s for s in shared if s.startswith("arn:")]
    return account.resource(arn, IMAGE, "volume", region=region, name=str(item.get("Name") or image_id),
                            attributes=attributes, tags=tag_map(item.get("Tags")), raw=raw)


def _disk(mapping: dict[str, Any], disks: dict[str, tuple[bool, str | None]] | ApiFailure) -> Disk:
    """One disk's encryption: its snapshot's, else its mapping's when that decides it."""
    ebs = mapping["Ebs"]
    snapshot = ebs.get("SnapshotId")
    if isinstance(disks, dict) and snapshot in disks:
        return disks[str(snapshot)]
    if ebs.get("Encrypted") is False:
        return (False, None)
    if ebs.get("Encrypted") is True and ebs.get("KmsKeyId"):
        return (True, str(ebs["KmsKeyId"]))
    return None


def disks_encryption(keys: KeyDirectory, region: str, own_account: str,
                     disks: Iterable[Disk]) -> dict[str, Any] | None:
    """An image's encryption from its disks' (also for an image in the Recycle Bin); None when
    it cannot be decided."""
    found = list(disks)
    if not found:
        return None  # no EBS disk: an instance-store image's bundle is not read
    if any(d is not None and not d[0] for d in found):
        return keys.encryption(False, None, region, own_account)
    if any(d is None for d in found):
        return None
    each = [keys.encryption(True, key, region, own_account, default=EBS_DEFAULT_KEY) for _, key in
            (d for d in found if d is not None)]
    return min(each, key=lambda e: _WEAKNESS.get(e.get("key_manager"), 0))


def _sharing(account: Account, region: str, client: Any, image_id: str, arn: str) -> list[str] | None:
    """The accounts (and organization or unit ARNs) a private image is shared with; None when
    not read."""
    try:
        response = call(client, "DescribeImageAttribute", Attribute="launchPermission", ImageId=image_id)
    except ApiFailure as failure:
        account.failed(failure, f"EC2 image {image_id} sharing", kinds=("volume",), types=TYPES,
                       region=region, resource_id=arn)
        return None
    assert response is not None
    found: set[str] = set()
    for permission in response.get("LaunchPermissions") or ():
        if permission.get("Group") == "all":
            found.add("all")
        for field in ("UserId", "OrganizationArn", "OrganizationalUnitArn"):
            if permission.get(field):
                found.add(str(permission[field]))
    return sorted(found)


def store_access(resource: Resource) -> tuple[tuple[Facet, ...], PolicyDocument | None] | str:
    """Launched, copied, stored or exported by whoever the identity policies let in its account,
    and by the accounts it is shared with (``all``: everyone) as a resource policy would let
    them; why not known when its sharing was not read or names an organization."""
    shared = resource.raw.get("shared_with")
    if not isinstance(shared, list):
        return "launch permissions not read"
    organizations = resource.raw.get("shared_with_organizations") or []
    if organizations:
        return f"shared with {', '.join(map(str, organizations))}, whose accounts are not read"
    return snapshot_facets(resource.id, IMAGE), sharing_policy(resource.id, IMAGE, [str(a) for a in shared])


__all__ = ["IMAGE", "OPERATIONS", "TYPES", "collect_region", "disks_encryption", "image_arn", "store_access"]
