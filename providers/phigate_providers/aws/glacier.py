"""S3 Glacier vaults as ``object_store`` stores: archives of scans and exports kept for years.

A vault is always encrypted, with AES-256 keys Glacier manages itself; no customer key can be
named. So ``encryption`` is decided without a read: at rest, ``key_manager: provider`` (a key
someone else manages), which PHI-ENC-002 fails for a clinical vault, as it should: no key policy
of the account stands between Glacier and the archives.

Decided from AWS's documentation, without a read: the API takes TLS only
(``secure_transport_required``) and a vault has no ACLs (``acls_disabled``). Its retention is its
Vault Lock (``GetVaultLock``): a locked lock policy that denies ``glacier:DeleteArchive`` keeps the
archives (``retention.enabled`` and ``locked``); none, or one still in progress, does not.
Whether its reads are logged is decided from the account's trails, once read (no call of its
own): CloudTrail records Glacier's calls (InitiateJob, GetJobOutput, DescribeVault …) as
management events, Glacier having no data events. A vault's retrievals are logged
(``logging.data_events``, its object-level audit) when a logging trail, multi-region or at home
in its region, records management events with their reads and does not exclude
``glacier.amazonaws.com`` (:func:`logged`). Glacier has no server access logs
(``logging.access_logs`` is false). Trails not read leave ``data_events`` out: PHI-LOG-001 is
then ``error`` for a clinical vault, never ``pass``.

The vault access policy gives the public exposure (an allow to everyone) and, with the identity
policies, who retrieves archives (:mod:`.policy_stores`); a vault without one is read by whoever
the identity policies let in. Its tags (``ListTagsForVault``) classify it. A policy or tags that
cannot be read leave the vault without them, its error recorded: its exposure (or class) is
undecided, never taken for private (or unclassified by choice).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from phigate.api import Resource
from phigate_providers.aws import policy_stores
from phigate_providers.aws.calls import ApiFailure, call, pages
from phigate_providers.aws.cloudtrail import Trail, records_reads
from phigate_providers.aws.context import Account, jsonable
from phigate_providers.aws.kms import KeyDirectory
from phigate_providers.aws.offered import where_offered
from phigate_providers.aws.policydoc import PolicySyntaxError, parse_policy
from phigate_providers.aws.read_actions import vault_facets
from phigate_providers.aws.trail_selectors import GLACIER

VAULT = "aws.glacier.vault"
TYPES = (VAULT,)
KIND = "object_store"
OPERATIONS = {
    ("glacier", "ListVaults"): "glacier:ListVaults",
    ("glacier", "GetVaultAccessPolicy"): "glacier:GetVaultAccessPolicy",
    ("glacier", "ListTagsForVault"): "glacier:ListTagsForVault",
    ("glacier", "GetVaultLock"): "glacier:GetVaultLock",
}
#: Glacier's own encryption: AES-256 under keys it manages.
ENCRYPTION = {"at_rest": True, "algorithm": "AES256", "key": None, "key_manager": "provider"}


def collect_region(account: Account, region: str, keys: KeyDirectory) -> list[Resource]:
    """The vaults of ``region`` (none where the vault API is not offered: it closed to new
    customers and was never opened in some regions launched since 2021; see :mod:`.offered`).
    Raises ApiFailure when they cannot be listed."""
    client = account.client("glacier", region)
    listed = where_offered(account, region, lambda: list(pages(client, "ListVaults", "VaultList")))
    return [_vault(account, region, client, item) for item in listed]


def _vault(account: Account, region: str, client: Any, item: dict[str, Any]) -> Resource:
    name = str(item["VaultName"])
    arn = str(item.get("VaultARN") or account.arn("glacier", region, f"vaults/{name}"))
    attributes: dict[str, Any] = {"encryption": dict(ENCRYPTION), "secure_transport_required": True,
                                  "acls_disabled": True, "logging": {"access_logs": False}}
    raw = jsonable(item)
    what = f"S3 Glacier vault {name}"
    try:
        response = call(client, "GetVaultAccessPolicy", absent=("ResourceNotFoundException",), vaultName=name)
        document = ((response or {}).get("policy") or {}).get("Policy") or None
        exposed = policy_stores.exposure(account, region, arn=arn, document=document, what=what, types=TYPES,
                                         service="glacier", operation="GetVaultAccessPolicy", kind=KIND)
        policy_stores.with_policy(attributes, raw, exposed, document)
    except ApiFailure as failure:
        account.failed(failure, f"{what} policy", kinds=(KIND,), types=TYPES, region=region, resource_id=arn)
    try:
        lock = call(client, "GetVaultLock", absent=("ResourceNotFoundException",), vaultName=name)
        kept = _keeps_archives(lock, arn)
        attributes["retention"] = {"enabled": kept, "locked": kept, "days": None}
    except ApiFailure as unread:
        account.failed(unread, f"{what} lock", kinds=(KIND,), types=TYPES, region=region, resource_id=arn)
    except PolicySyntaxError as garbled:
        account.failed(ApiFailure("glacier", "GetVaultLock", str(garbled)), f"{what} lock policy",
                       kinds=(KIND,), types=TYPES, region=region, resource_id=arn)
    tags: dict[str, str] = {}
    try:
        listed = call(client, "ListTagsForVault", vaultName=name) or {}
        tags = {str(k): str(v) for k, v in (listed.get("Tags") or {}).items()}
    except ApiFailure as failure:
        account.failed(failure, f"{what} tags", kinds=(KIND,), types=TYPES, region=region, resource_id=arn)
    return account.resource(arn, VAULT, KIND, region=region, name=name, attributes=attributes, tags=tags,
                            raw=raw)


def logged(vaults: list[Resource], trail_list: list[Trail] | None) -> list[Resource]:
    """The vaults, with whether the trails record their reads (as they were when the trails were
    not read: undecided)."""
    if trail_list is None:
        return vaults
    return [_with_logging(vault, records_reads(trail_list, GLACIER, vault.region or ""))
            if vault.type == VAULT else vault for vault in vaults]


def _with_logging(vault: Resource, recorded: bool) -> Resource:
    logging = {**vault.attributes.get("logging", {}), "data_events": recorded}
    return dataclasses.replace(vault, attributes={**vault.attributes, "logging": logging})


def _keeps_archives(lock: dict[str, Any] | None, arn: str) -> bool:
    """A locked Vault Lock policy denies deleting archives (None: the vault has no lock)."""
    if not lock or lock.get("State") != "Locked" or not lock.get("Policy"):
        return False
    policy = parse_policy(str(lock["Policy"]), name=f"vault lock of {arn}")
    return any(s.effect == "Deny" and s.covers_action("glacier:DeleteArchive") for s in policy.statements)


#: Archives retrieved by whoever the vault policy and identity policies let in; unseen when the
#: vault policy was not read.
store_access = policy_stores.store_access(vault_facets)

__all__ = ["OPERATIONS", "TYPES", "collect_region", "logged", "store_access"]
