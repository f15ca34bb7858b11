"""FSx file systems of a plan (Lustre, Windows File Server, NetApp ONTAP, OpenZFS), as the AWS
provider reads them live (:mod:`phigate_providers.aws.fsx`): ``aws.fsx.file_system`` volumes.

Every FSx file system is encrypted at rest, as AWS documents; ``kms_key_id`` is optional in the
four ``hashicorp/aws`` resources and, unset, FSx uses the AWS-managed ``aws/fsx`` key (a Lustre
scratch file system: keys FSx manages), provider-managed either way. A key the configuration
names is followed as for any store (:mod:`.keys`). Reached through its VPC only, never public;
who mounts it is the network's and the file system's own permissions (Active Directory, NFS
exports), not IAM, so no reach is computed, as live. ``size_gb`` is ``storage_capacity``
(known only after apply when restored from a backup).

A backup (``aws_fsx_backup``) is an ``aws.fsx.backup`` volume, as live: encrypted as the file
system it backs up (traced through ``file_system_id``), under its key; a file system outside the
plan, or a volume's backup, leaves the key unknown (encrypted all the same). It carries its file
system's tags under its own, is never public, and is read by whoever may restore or copy it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from phigate.api import Unknown
from phigate_providers.aws.read_actions import snapshot_facets
from phigate_providers.terraform.aws_stores import add_store
from phigate_providers.terraform.context import Context
from phigate_providers.terraform.iam import StoreFacts
from phigate_providers.terraform.keys import KeyBook, encryption
from phigate_providers.terraform.store_values import facts_of, number
from phigate_providers.terraform.values import expression, trace, value

FILE_SYSTEMS = frozenset({"aws_fsx_lustre_file_system", "aws_fsx_windows_file_system",
                          "aws_fsx_ontap_file_system", "aws_fsx_openzfs_file_system"})
BACKUP = "aws_fsx_backup"
TYPES = FILE_SYSTEMS | {BACKUP}
#: Types whose real-world id is their ``arn``.
ARN_TYPES = TYPES
#: As :mod:`phigate_providers.aws.fsx` and ``.fsx_backups`` name them (which load the SDK).
FILE_SYSTEM, BACKUP_TYPE = "aws.fsx.file_system", "aws.fsx.backup"


def collect(context: Context, keys: KeyBook) -> list[StoreFacts]:
    """Every planned FSx file system, then every backup; how the access analysis reads the
    backups."""
    for tf_type in sorted(FILE_SYSTEMS):
        for planned in context.plan.by_type.get(tf_type, ()):
            attributes: dict[str, Any] = {
                "encryption": encryption(True, "aws:kms", keys.choose(planned, ("kms_key_id",))),
                "public_access": {"blocked": True, "grants": []},
                "size_gb": number(planned, ("storage_capacity",), None),
            }
            add_store(context, planned, FILE_SYSTEM, "volume", attributes)
    facts: list[StoreFacts] = []
    for planned in context.plan.by_type.get(BACKUP, ()):
        source = trace(context.plan, planned, expression(planned, ("file_system_id",)), FILE_SYSTEMS).resource
        found = context.encryption_of(source) if source is not None else None
        if isinstance(found, Mapping):
            encrypted = dict(found)  # as its file system is, under its key
        else:
            reason = Unknown(f"{planned.address}: encrypted under its file system's key, which the plan "
                             "does not tell")
            encrypted = {"at_rest": True, "algorithm": "aws:kms", "key": reason, "key_manager": reason}
        attributes = {"encryption": encrypted, "public_access": {"blocked": True, "grants": []}}
        backup = add_store(context, planned, BACKUP_TYPE, "volume", attributes, source=source)
        if backup is not None:
            arn = value(planned, ("arn",))
            if not (isinstance(arn, str) and arn.startswith("arn:")):
                arn = f"arn:aws:fsx:{context.region(planned) or '*'}:*:backup/*"
            facts.append(facts_of(backup, planned, arn, None, lambda a: snapshot_facets(a, BACKUP_TYPE)))
    return facts


__all__ = ["ARN_TYPES", "TYPES", "collect"]
