"""EFS replication of a plan (``aws_efs_replication_configuration``): the destination file system
it creates, often in another region, holds its source's files, and is read as the live reader
reads a replication's destination (:mod:`phigate_providers.aws.efs`): an ``aws.efs.file_system``
volume classed as its source.

The destination is created by the configuration (no ``aws_efs_file_system`` declares it) in
``destination.region``: always encrypted, under ``destination.kms_key_id`` or the AWS-managed
``aws/elasticfilesystem`` key; without a file system policy (IAM does not decide who mounts it:
its readers are unseen, as live); its source's tags, traced through ``source_file_system_id``
(a source outside the plan lends none). A configuration replicating into an existing file system
(``destination.file_system_id``) creates no store: that file system is read where it is declared,
classed by its own tags (the live scan classes it as its source).
"""

from __future__ import annotations

from typing import Any

from phigate.api import Resource, Unknown
from phigate_providers.aws.read_actions import file_system_facets
from phigate_providers.aws.store_policies import NO_POLICY
from phigate_providers.terraform.context import Context
from phigate_providers.terraform.iam import StoreFacts
from phigate_providers.terraform.keys import KeyBook, encryption
from phigate_providers.terraform.snapshots import tags_over_source
from phigate_providers.terraform.store_values import facts_of
from phigate_providers.terraform.values import configured, expression, trace, value

REPLICATION, FILE_SYSTEM = "aws_efs_replication_configuration", "aws_efs_file_system"
TYPES = frozenset({REPLICATION})
#: As :mod:`phigate_providers.aws.efs` names it (which loads the SDK).
RTYPE, KIND = "aws.efs.file_system", "volume"


def collect(context: Context, keys: KeyBook) -> list[StoreFacts]:
    """The destination file system each planned replication creates (after the file systems
    they replicate); how the access analysis reads them."""
    facts: list[StoreFacts] = []
    for planned in context.plan.by_type.get(REPLICATION, ()):
        if configured(planned, ("destination", 0, "file_system_id")):
            continue  # into an existing file system: no store of its own
        source = trace(context.plan, planned, expression(planned, ("source_file_system_id",)),
                       frozenset({FILE_SYSTEM})).resource
        rid = context.id_of(planned)
        tags = tags_over_source(context, planned, source)
        if isinstance(tags, Unknown):
            context.tags_unknown(planned, KIND, rid, RTYPE)
            continue
        region = value(planned, ("destination", 0, "region"))
        attributes: dict[str, Any] = {
            "encryption": encryption(True, "aws:kms", keys.choose(planned, ("destination", 0, "kms_key_id"))),
            "public_access": {"blocked": True, "grants": []},
        }
        raw = context.raw(planned)
        if source is not None:
            raw["source"] = source.address
        resource = Resource(id=rid, type=RTYPE, kind=KIND, provider="aws", scope=context.plan.label,
                            region=region if isinstance(region, str) else context.region(planned),
                            name=planned.address, tags=tags, attributes=attributes, raw=raw)
        key = attributes["encryption"].get("key")
        context.add(resource, (planned,), [key] if isinstance(key, str) else [])
        # Its id is known only after apply: any file system of its region (more reach, never less).
        content = f"arn:aws:elasticfilesystem:{region if isinstance(region, str) else '*'}:*:file-system/*"
        facts.append(facts_of(resource, planned, content, None, file_system_facets, unseen=NO_POLICY))
    return facts


__all__ = ["TYPES", "collect"]
