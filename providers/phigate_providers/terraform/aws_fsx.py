"""FSx file systems of a plan (Lustre, Windows File Server, NetApp ONTAP, OpenZFS), as the AWS
provider reads them live (:mod:`phigate_providers.aws.fsx`): ``aws.fsx.file_system`` volumes.

Every FSx file system is encrypted at rest, as AWS documents; ``kms_key_id`` is optional in the
four ``hashicorp/aws`` resources and, unset, FSx uses the AWS-managed ``aws/fsx`` key (a Lustre
scratch file system: keys FSx manages), provider-managed either way. A key the configuration
names is followed as for any store (:mod:`.keys`). Reached through its VPC only, never public;
who mounts it is the network's and the file system's own permissions (Active Directory, NFS
exports), not IAM, so no reach is computed, as live. ``size_gb`` is ``storage_capacity``
(known only after apply when restored from a backup).
"""

from __future__ import annotations

from typing import Any

from phigate_providers.terraform.aws_stores import add_store
from phigate_providers.terraform.context import Context
from phigate_providers.terraform.keys import KeyBook, encryption
from phigate_providers.terraform.store_values import number

TYPES = frozenset({"aws_fsx_lustre_file_system", "aws_fsx_windows_file_system", "aws_fsx_ontap_file_system",
                   "aws_fsx_openzfs_file_system"})
#: Types whose real-world id is their ``arn``.
ARN_TYPES = TYPES
#: As :mod:`phigate_providers.aws.fsx` names them (which loads the SDK: not imported here).
FILE_SYSTEM = "aws.fsx.file_system"


def collect(context: Context, keys: KeyBook) -> None:
    """Every planned FSx file system."""
    for tf_type in sorted(TYPES):
        for planned in context.plan.by_type.get(tf_type, ()):
            attributes: dict[str, Any] = {
                "encryption": encryption(True, "aws:kms", keys.choose(planned, ("kms_key_id",))),
                "public_access": {"blocked": True, "grants": []},
                "size_gb": number(planned, ("storage_capacity",), None),
            }
            add_store(context, planned, FILE_SYSTEM, "volume", attributes)


__all__ = ["ARN_TYPES", "TYPES", "collect"]
