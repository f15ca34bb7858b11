"""AWS Backup vaults and the recovery points they hold, as ``volume`` stores: backups are copies
of the databases, file systems, buckets and tables they were taken from.

One kind for both, whatever a recovery point copies: a vault is backup storage, and a recovery
point is judged as a snapshot is (encryption and key, exposure, class, region), which the
``volume`` kind carries without attributes that only a live store has.

A vault is always encrypted: under ``EncryptionKeyArn`` (the AWS-managed ``aws/backup`` key when
it names none), or under a key AWS owns when ``EncryptionKeyType`` says so. Its access policy
gives the public exposure of the vault and of every recovery point in it, and, to the access
analysis, the accounts it lets restore or copy them (:func:`store_access`). A vault whose policy
cannot be read, or does not parse, is yielded without ``public_access`` and so are its recovery
points: their exposure is undecided and their readers unseen, never nobody.

A recovery point carries its own ``IsEncrypted`` and key (for services AWS Backup does not fully
manage, the source's key), its own tags and, under them, its source's (``ResourceArn``,
:mod:`.copies`): a backup of a clinical database is clinical. A recovery point that is another
service's snapshot (an RDS or EBS snapshot ARN) is that snapshot, read by :mod:`.rds_snapshots`
or :mod:`.ebs_snapshots`: it is not yielded twice. Recovery points of a vault that cannot be
listed are a collection error on the region's recovery points, and the vault's readers are
unseen by the access analysis.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from phigate.api import Resource
from phigate_providers.aws import policy_stores
from phigate_providers.aws.calls import ApiFailure, call, pages
from phigate_providers.aws.context import Account, jsonable
from phigate_providers.aws.kms import KeyDirectory
from phigate_providers.aws.policydoc import PolicyDocument, PolicySyntaxError, parse_policy
from phigate_providers.aws.read_actions import Facet, backup_vault_facets, recovery_point_facets

VAULT, RECOVERY_POINT = "aws.backup.vault", "aws.backup.recovery_point"
TYPES = (VAULT, RECOVERY_POINT)
KIND = "volume"
OPERATIONS = {
    ("backup", "ListBackupVaults"): "backup:ListBackupVaults",
    ("backup", "GetBackupVaultAccessPolicy"): "backup:GetBackupVaultAccessPolicy",
    ("backup", "ListRecoveryPointsByBackupVault"): "backup:ListRecoveryPointsByBackupVault",
    ("backup", "ListTags"): "backup:ListTags",
}
AWS_MANAGED_KEY = "alias/aws/backup"
AWS_OWNED = "AWS_OWNED_KMS_KEY"
#: Why the readers of a vault whose recovery points could not be listed are not computed.
NOT_LISTED = "recovery points not listed"
#: Recovery points that are another service's snapshot, read by that service's collector.
READ_AS_SNAPSHOTS = re.compile(
    r"^arn:[^:]+:(rds:[^:]*:[^:]*:(snapshot|cluster-snapshot):|ec2:[^:]*:[^:]*:snapshot/)")


def collect_region(account: Account, region: str, keys: KeyDirectory) -> list[Resource]:
    """The vaults of ``region``, each followed by its recovery points. Raises ApiFailure when the
    vaults cannot be listed."""
    client = account.client("backup", region)
    found: list[Resource] = []
    for item in pages(client, "ListBackupVaults", "BackupVaultList"):
        vault = _vault(account, region, keys, client, item)
        points = _recovery_points(account, region, keys, client=client, vault=vault)
        if points is None:  # who reads what it holds is not known: its reach is unseen
            vault = dataclasses.replace(vault, raw={**vault.raw, "recovery_points": NOT_LISTED})
        found += [vault, *(points or ())]
    return found


def _vault(account: Account, region: str, keys: KeyDirectory, client: Any, item: dict[str, Any]) -> Resource:
    name = str(item["BackupVaultName"])
    arn = str(item.get("BackupVaultArn") or account.arn("backup", region, f"backup-vault:{name}"))
    attributes: dict[str, Any] = {"encryption": _encryption(True, item, keys, region, account.account_id,
                                                            default=AWS_MANAGED_KEY)}
    raw = jsonable(item)
    what = f"Backup vault {name}"
    try:
        response = call(client, "GetBackupVaultAccessPolicy", absent=("ResourceNotFoundException",),
                        BackupVaultName=name)
        document = (response or {}).get("Policy") or None
        exposed = policy_stores.exposure(account, region, arn=arn, document=document, what=what, types=TYPES,
                                         service="backup", operation="GetBackupVaultAccessPolicy", kind=KIND)
        policy_stores.with_policy(attributes, raw, exposed, document)
    except ApiFailure as failure:
        account.failed(failure, f"{what} access policy", kinds=(KIND,), types=TYPES, region=region,
                       resource_id=arn)
    tags = _tags(account, region, client, arn, what)
    return account.resource(arn, VAULT, KIND, region=region, name=name, attributes=attributes, tags=tags,
                            raw=raw)


def _recovery_points(account: Account, region: str, keys: KeyDirectory, *, client: Any,
                     vault: Resource) -> list[Resource] | None:
    """The vault's recovery points; None, the error recorded, when they cannot be listed."""
    try:
        listed = list(pages(client, "ListRecoveryPointsByBackupVault", "RecoveryPoints",
                            BackupVaultName=vault.name))
    except ApiFailure as failure:
        # Not seen at all: every recovery point of the region is undecided, not only this vault's.
        account.failed(failure, f"Recovery points of backup vault {vault.name}", kinds=(KIND,),
                       types=(RECOVERY_POINT,), region=region)
        return None
    return [_recovery_point(account, region, keys, client=client, vault=vault, item=item) for item in listed
            if not READ_AS_SNAPSHOTS.match(str(item.get("RecoveryPointArn", "")))]


def _recovery_point(account: Account, region: str, keys: KeyDirectory, *, client: Any, vault: Resource,
                    item: dict[str, Any]) -> Resource:
    arn = str(item["RecoveryPointArn"])
    encrypted = item.get("IsEncrypted")
    attributes: dict[str, Any] = {}
    if isinstance(encrypted, bool):
        attributes["encryption"] = _encryption(encrypted, item, keys, region, account.account_id)
    raw = jsonable(item)
    raw["vault"] = vault.id
    if "public_access" in vault.attributes:  # the vault's policy applies to what it holds
        attributes["public_access"] = dict(vault.attributes["public_access"])
        raw["policy"] = vault.raw.get("policy")
    if item.get("ResourceArn"):
        raw["source"] = str(item["ResourceArn"])
    name = f"{vault.name}/{arn.rsplit(':', 1)[-1]}"
    tags = _tags(account, region, client, arn, f"Recovery point {name}")
    return account.resource(arn, RECOVERY_POINT, KIND, region=region, name=name, attributes=attributes,
                            tags=tags, raw=raw)


def _encryption(encrypted: bool, item: dict[str, Any], keys: KeyDirectory, region: str, own_account: str,
                *, default: str | None = None) -> dict[str, Any]:
    """Under the key named, under a key AWS owns, or none."""
    key = item.get("EncryptionKeyArn")
    if encrypted and not key and item.get("EncryptionKeyType") == AWS_OWNED:
        return {"at_rest": True, "algorithm": "aws:kms", "key": None, "key_manager": "provider"}
    return keys.encryption(encrypted, str(key) if encrypted and key else None, region, own_account,
                           default=default)


def _tags(account: Account, region: str, client: Any, arn: str, what: str) -> dict[str, str]:
    """The resource's tags; none, with an error naming it (its class undecided), when not read."""
    try:
        response = call(client, "ListTags", ResourceArn=arn)
    except ApiFailure as failure:
        account.failed(failure, f"{what} tags", kinds=(KIND,), types=TYPES, region=region, resource_id=arn)
        return {}
    return {str(k): str(v) for k, v in ((response or {}).get("Tags") or {}).items()}


def store_access(resource: Resource) -> tuple[tuple[Facet, ...], PolicyDocument | None] | str:
    """Restored or copied by whoever the identity policies and the vault access policy let in;
    unseen when that policy, or what the vault holds, was not read. A vault is read through the
    recovery points it holds (any of its region and account: their ARNs do not name it)."""
    if resource.raw.get("recovery_points") == NOT_LISTED:
        return NOT_LISTED
    if "public_access" not in resource.attributes:
        return "backup vault access policy not read"
    document = resource.raw.get("policy")
    try:
        policy = parse_policy(str(document), name=resource.id) if document else None
    except PolicySyntaxError as exc:  # exposure read from it already: not expected
        return f"backup vault access policy does not parse: {exc}"
    if resource.type == RECOVERY_POINT:
        return recovery_point_facets(resource.id, str(resource.raw.get("vault"))), policy
    return backup_vault_facets(resource.id), policy


__all__ = ["NOT_LISTED", "OPERATIONS", "TYPES", "collect_region", "store_access"]
