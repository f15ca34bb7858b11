"""EFS file systems, Redshift clusters, OpenSearch (and legacy Elasticsearch) domains and
ElastiCache replication groups of a plan, as the AWS provider reads them live
(:mod:`phigate_providers.aws.efs`, ``.redshift``, ``.opensearch``, ``.elasticache``).

A file system is a ``volume``, the others ``database`` stores, with the live types, encryption
and exposure. A file system's exposure is its ``aws_efs_file_system_policy`` beyond what holds
only through a mount target; without one, IAM does not decide who mounts it: its readers are
unseen, never nobody. A Redshift cluster is public when ``publicly_accessible``; a domain when
its access policy (``access_policies`` and ``aws_opensearch_domain_policy`` /
``aws_elasticsearch_domain_policy``) lets everyone in and it has no VPC (``vpc_options`` with
subnets); a replication group never (it lives in a VPC, with no resource policy).

A new resource that leaves encryption unset takes the documented default
(:mod:`~phigate_providers.terraform.defaults`); a file system, domain or cache naming no key is
encrypted under the service's key (provider-managed), as live.
"""

from __future__ import annotations

from typing import Any

from phigate.api import Unknown
from phigate_providers.aws.policydoc import PolicyDocument, parse_policy
from phigate_providers.aws.read_actions import file_system_facets, search_domain_facets, warehouse_facets
from phigate_providers.aws.store_policies import NO_POLICY, beyond_mount_targets
from phigate_providers.terraform.aws_stores import add_store
from phigate_providers.terraform.aws_transport import secure_transport
from phigate_providers.terraform.context import Context
from phigate_providers.terraform.iam import StoreFacts
from phigate_providers.terraform.keys import DEFAULT, KeyBook, encryption
from phigate_providers.terraform.plan import PlannedResource
from phigate_providers.terraform.store_joins import join, named_by
from phigate_providers.terraform.store_values import (
    block,
    combined,
    document,
    exposure,
    facts_of,
    flag,
    number,
    text,
    undecided,
)
from phigate_providers.terraform.values import is_unknown, value

FILE_SYSTEM, FILE_SYSTEM_POLICY = "aws_efs_file_system", "aws_efs_file_system_policy"
CLUSTER = "aws_redshift_cluster"
DOMAINS = {"aws_opensearch_domain": "aws_opensearch_domain_policy",
           "aws_elasticsearch_domain": "aws_elasticsearch_domain_policy"}
REPLICATION_GROUP = "aws_elasticache_replication_group"
STORES = frozenset({FILE_SYSTEM, CLUSTER, *DOMAINS, REPLICATION_GROUP})
TYPES = frozenset({*STORES, FILE_SYSTEM_POLICY, *DOMAINS.values()})
CACHE_OWNED = {"at_rest": True, "algorithm": "AES256", "key": None, "key_manager": "provider"}


def collect(context: Context, keys: KeyBook) -> tuple[list[StoreFacts], list[str]]:
    """Every planned file system, warehouse, domain and cache; how the access analysis reads
    them; the policy resources naming stores outside the plan."""
    facts = _file_systems(context, keys) + _clusters(context, keys)
    orphans: list[str] = []
    for domain_type, policy_type in DOMAINS.items():
        joins = join(context, policy_type, "domain_name", {domain_type}, named_by("domain_name"))
        orphans += joins.orphans
        for planned in context.plan.by_type.get(domain_type, ()):
            documents = [document(p, ("access_policies",)) for p in joins.of(planned)]
            policy = combined([*documents, document(planned, ("access_policies",)), joins.undecided])
            public = exposure(policy)
            vpc = _in_vpc(planned)
            if vpc is True and not isinstance(policy, Unknown):
                public = {"blocked": True, "grants": []}  # reachable from its VPC only
            elif is_unknown(vpc) and public["grants"]:
                public = {"blocked": vpc, "grants": vpc}
            encrypted = _encrypted(keys, planned, ("encrypt_at_rest", 0, "enabled"),
                                   ("encrypt_at_rest", 0, "kms_key_id"), block_name="encrypt_at_rest")
            attributes = {"engine": _engine(planned), "public_access": public, "encryption": encrypted,
                          "secure_transport_required": _domain_transport(planned)}
            resource = add_store(context, planned, "aws.opensearch.domain", "database", attributes,
                                  *joins.of(planned))
            if resource is not None:
                arn = _arn(context, planned, "es", "domain/", "domain_name")
                facts.append(facts_of(resource, planned, arn, policy, search_domain_facets))
    for planned in context.plan.by_type.get(REPLICATION_GROUP, ()):
        _replication_group(context, keys, planned)
    return facts, orphans


def _arn(context: Context, planned: PlannedResource, service: str, prefix: str, name_attribute: str) -> Any:
    """The store's ARN; while known only after apply, that of its name in any account (and any
    name, when that is not planned either: more reach, never less)."""
    arn = value(planned, ("arn",))
    if isinstance(arn, str) and arn.startswith("arn:"):
        return arn
    name = value(planned, (name_attribute,))
    return (f"arn:aws:{service}:{context.region(planned) or '*'}:*:{prefix}"
            f"{name if isinstance(name, str) and name else '*'}")


def _encrypted(keys: KeyBook, planned: PlannedResource, flag_path: tuple[str | int, ...],
               key_path: tuple[str | int, ...], *, block_name: str | None = None,
               owned: dict[str, Any] | None = None) -> dict[str, Any]:
    """Encrypted when the flag says so, under the key named (else the service's key)."""
    if block_name is not None:
        found = block(planned, block_name)
        if found is None:
            return encryption(False, None, DEFAULT)
        if isinstance(found, Unknown):
            return undecided(found)
    encrypted = flag(planned, flag_path, False)
    if isinstance(encrypted, Unknown):
        return undecided(encrypted)
    if not encrypted:
        return encryption(False, None, DEFAULT)
    key = text(planned, key_path)
    if isinstance(key, Unknown) and not key.reason.endswith("known only after apply"):
        return undecided(key)  # not a string
    if key is None and owned is not None:
        return dict(owned)
    return encryption(True, "aws:kms", keys.choose(planned, key_path) if key is not None else DEFAULT)


def _file_systems(context: Context, keys: KeyBook) -> list[StoreFacts]:
    joins = join(context, FILE_SYSTEM_POLICY, "file_system_id", {FILE_SYSTEM}, named_by("id", "arn"))
    facts: list[StoreFacts] = []
    for planned in context.plan.by_type.get(FILE_SYSTEM, ()):
        joined = joins.of(planned)
        texts = [text(p, ("policy",)) for p in joined]
        unseen: str | None = None
        policy: PolicyDocument | Unknown | None = combined([*(document(p, ("policy",)) for p in joined),
                                                           joins.undecided])
        public: dict[str, Any]
        if isinstance(policy, Unknown):
            public = exposure(policy)
        elif policy is None:
            public, unseen = {"blocked": True, "grants": []}, NO_POLICY
        else:
            beyond = [parse_policy(str(beyond_mount_targets(t)), name=p.address)
                      for t, p in zip(texts, joined, strict=True) if isinstance(t, str)]
            public = exposure(combined(beyond))
        attributes = {"encryption": _encrypted(keys, planned, ("encrypted",), ("kms_key_id",)),
                      "public_access": public}
        resource = add_store(context, planned, "aws.efs.file_system", "volume", attributes, *joined)
        if resource is not None:
            arn = _arn(context, planned, "elasticfilesystem", "file-system/", "id")
            facts.append(facts_of(resource, planned, arn, policy, file_system_facets, unseen=unseen))
    return facts


def _clusters(context: Context, keys: KeyBook) -> list[StoreFacts]:
    facts: list[StoreFacts] = []
    for planned in context.plan.by_type.get(CLUSTER, ()):
        public = flag(planned, ("publicly_accessible",), False)
        attributes = {
            "engine": "redshift",
            "encryption": _encrypted(keys, planned, ("encrypted",), ("kms_key_id",)),
            "public_access": {"blocked": public if isinstance(public, Unknown) else not public,
                              "grants": public if isinstance(public, Unknown) else
                              (["PubliclyAccessible"] if public else [])},
            "backup_retention_days": number(planned, ("automated_snapshot_retention_period",), 1),
        }
        transport, group = secure_transport(context, planned)
        if transport is not None:
            attributes["secure_transport_required"] = transport
        resource = add_store(context, planned, "aws.redshift.cluster", "database", attributes,
                              *(() if group is None else (group,)))
        if resource is not None:
            arn = _arn(context, planned, "redshift", "cluster:", "cluster_identifier")
            # Read through temporary credentials and the Data API, under identity policies only.
            facts.append(facts_of(resource, planned, arn, None, warehouse_facets))
    return facts


def _in_vpc(planned: PlannedResource) -> bool | Unknown:
    found = block(planned, "vpc_options")
    if found is None:
        return False
    if isinstance(found, Unknown):
        return found
    subnets = value(planned, ("vpc_options", 0, "subnet_ids"))
    if is_unknown(subnets):
        return True  # subnets known after apply are subnets all the same
    return bool(subnets)


def _domain_transport(planned: PlannedResource) -> bool | Unknown:
    """Plain HTTP refused at the endpoint (``domain_endpoint_options.enforce_https``, which
    defaults to true once the block is written) and between nodes
    (``node_to_node_encryption.enabled``, off by default), as live."""
    decided: list[bool | Unknown] = []
    for name, setting, default in (("domain_endpoint_options", "enforce_https", True),
                                   ("node_to_node_encryption", "enabled", False)):
        found = block(planned, name)
        decided.append(False if found is None else found if isinstance(found, Unknown)
                       else flag(planned, (name, 0, setting), default))
    if False in decided:
        return False
    unknown = next((d for d in decided if isinstance(d, Unknown)), None)
    return unknown if unknown is not None else True


def _cache_transport(planned: PlannedResource) -> bool | Unknown:
    """Plain connections refused: transit encryption on (off by default) in ``required`` mode
    (``preferred`` still accepts them; unset is required, as live)."""
    enabled = flag(planned, ("transit_encryption_enabled",), False)
    if enabled is not True:
        return enabled
    mode = text(planned, ("transit_encryption_mode",))
    return mode if isinstance(mode, Unknown) else mode in (None, "required")


def _engine(planned: PlannedResource) -> Any:
    if planned.type == "aws_elasticsearch_domain":
        version = text(planned, ("elasticsearch_version",))
        return f"Elasticsearch_{version}" if isinstance(version, str) else version
    return text(planned, ("engine_version",))


def _replication_group(context: Context, keys: KeyBook, planned: PlannedResource) -> None:
    attributes = {
        "engine": text(planned, ("engine",)) or "redis",
        "encryption": _encrypted(keys, planned, ("at_rest_encryption_enabled",), ("kms_key_id",),
                                 owned=CACHE_OWNED),
        # In a VPC, with no resource policy: never public (as live).
        "public_access": {"blocked": True, "grants": []},
        "backup_retention_days": number(planned, ("snapshot_retention_limit",), 0),
        "secure_transport_required": _cache_transport(planned),
    }
    add_store(context, planned, "aws.elasticache.replication_group", "database", attributes)


__all__ = ["STORES", "TYPES", "collect"]
