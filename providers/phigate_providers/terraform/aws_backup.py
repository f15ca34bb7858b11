"""AWS Backup vaults, DocumentDB, MemoryDB and DAX clusters of a plan, as the AWS provider
normalises the live ones (:mod:`phigate_providers.aws.backup`, ``.memorydb``, ``.dax`` and the
RDS reader for DocumentDB), so the gate and the audit decide them alike.

- ``aws_backup_vault``: always encrypted, under ``kms_key_arn`` (the AWS-managed ``aws/backup``
  key when unset); ``public_access`` from the ``aws_backup_vault_policy`` that names it (by
  reference or by its literal name), none meaning no policy. Recovery points do not exist in a
  plan.
- ``aws_docdb_cluster``: an RDS cluster of engine ``docdb`` (``aws.rds.db_cluster``);
  ``storage_encrypted`` defaults to false; never public (no public endpoint); TLS required unless
  its ``aws_docdb_cluster_parameter_group`` sets ``tls`` to ``disabled`` (a default group, or
  none named, keeps it on); a group the plan does not hold leaves it unknown.
- ``aws_memorydb_cluster``: always encrypted at rest, under ``kms_key_arn`` or a key MemoryDB
  owns; ``tls_enabled`` (default true) is ``secure_transport_required``.
- ``aws_dax_cluster``: ``server_side_encryption.enabled`` (default false) under a key DAX owns;
  ``cluster_endpoint_encryption_type`` (default ``NONE``) decides ``secure_transport_required``.

A value known only after apply stays :class:`~phigate.api.Unknown`, never a default.
"""

from __future__ import annotations

from typing import Any

from phigate.api import Resource, Unknown
from phigate_providers.aws import docdb_params
from phigate_providers.aws.access import public_grants
from phigate_providers.aws.read_actions import backup_vault_facets, dax_cluster_facets
from phigate_providers.terraform.aws_stores import add_store
from phigate_providers.terraform.context import Context
from phigate_providers.terraform.iam import StoreFacts
from phigate_providers.terraform.keys import DEFAULT, KeyBook, encryption
from phigate_providers.terraform.plan import PlannedResource
from phigate_providers.terraform.store_values import document as policy_document
from phigate_providers.terraform.values import after_apply, expression, is_unknown, known_bool, trace, value

VAULT, VAULT_POLICY = "aws_backup_vault", "aws_backup_vault_policy"
DOCDB, MEMORYDB, DAX = "aws_docdb_cluster", "aws_memorydb_cluster", "aws_dax_cluster"
DOCDB_PARAMETERS = "aws_docdb_cluster_parameter_group"
TYPES = frozenset({VAULT, VAULT_POLICY, DOCDB, DOCDB_PARAMETERS, MEMORYDB, DAX})
#: Types whose real-world id is their ``arn``.
ARN_TYPES = frozenset({VAULT, DOCDB, MEMORYDB, DAX})
#: A key the service owns (MemoryDB, DAX): the provider's, named by no key resource.
SERVICE_OWNED = {"at_rest": True, "algorithm": "AES256", "key": None, "key_manager": "provider"}
NEVER_PUBLIC = {"blocked": True, "grants": []}


def collect(context: Context, keys: KeyBook, access: list[StoreFacts] | None = None) -> list[str]:
    """Every store of these types, the vaults and DAX clusters with their ways in added to
    ``access`` (as the live reader gives them); returns the vault policies whose vault is not in
    the plan."""
    policies, orphans = _vault_policies(context)
    for planned in context.plan.by_type.get(VAULT, ()):
        policy, source = policies.get(planned.address, (None, None))
        attributes = {"encryption": encryption(True, "aws:kms", keys.choose(planned, ("kms_key_arn",))),
                      "public_access": _exposure(policy)}
        vault = add_store(context, planned, "aws.backup.vault", "volume", attributes,
                          *((source,) if source is not None else ()))
        if vault is not None and access is not None:
            # As live: read through what it will hold, or by rewriting its policy.
            arn = _arn(context, vault, planned, service="backup", prefix="backup-vault:", name=("name",))
            access.append(StoreFacts(vault.id, arn, frozenset(), policy, planned.address,
                                     facets=backup_vault_facets(arn)))
    for planned in context.plan.by_type.get(DOCDB, ()):
        _docdb(context, keys, planned)
    for planned in context.plan.by_type.get(MEMORYDB, ()):
        _memorydb(context, keys, planned)
    for planned in context.plan.by_type.get(DAX, ()):
        cluster = _dax(context, planned)
        if cluster is not None and access is not None:
            arn = _arn(context, cluster, planned, service="dax", prefix="cache/", name=("cluster_name",))
            access.append(StoreFacts(cluster.id, arn, frozenset(), None, planned.address,
                                     facets=dax_cluster_facets(arn)))
    return orphans


def _arn(context: Context, resource: Resource, planned: PlannedResource, *, service: str, prefix: str,
         name: tuple[str, ...]) -> str:
    """The store's ARN, or while it is known only after apply every ARN it may get (any
    account; any name where the name is not planned): more reach, never less."""
    if resource.id.startswith("arn:"):
        return resource.id
    found = value(planned, name)
    return (f"arn:aws:{service}:{context.region(planned) or '*'}:*:{prefix}"
            f"{found if isinstance(found, str) and found else '*'}")


def _vault_policies(context: Context) -> tuple[dict[str, tuple[Any, PlannedResource]], list[str]]:
    """Each planned vault's policy (a document, or Unknown), by the vault's address."""
    plan = context.plan
    vaults = plan.by_type.get(VAULT, ())
    by_name = {value(v, ("name",)): v for v in vaults if isinstance(value(v, ("name",)), str)}
    found: dict[str, tuple[Any, PlannedResource]] = {}
    orphans: list[str] = []
    for planned in plan.by_type.get(VAULT_POLICY, ()):
        traced = trace(plan, planned, expression(planned, ("backup_vault_name",)), frozenset({VAULT}))
        vault = traced.resource
        if vault is None:
            literal = traced.constant if traced.has_constant else value(planned, ("backup_vault_name",))
            vault = by_name.get(literal) if isinstance(literal, str) else None
        if vault is None:
            orphans.append(planned.address)
            continue
        document: Any = policy_document(planned, ("policy",))
        if document is None:  # a policy resource without its policy: not one the plan shows
            document = after_apply(f"{planned.address}: policy")
        found[vault.address] = (document, planned)
    return found, orphans


def _exposure(policy: Any) -> dict[str, Any]:
    if policy is None:
        return dict(NEVER_PUBLIC)
    if is_unknown(policy):
        return {"blocked": policy, "grants": policy}
    grants = list(public_grants(policy))
    return {"blocked": not grants, "grants": grants}


def _docdb(context: Context, keys: KeyBook, planned: PlannedResource) -> None:
    encrypted = known_bool(value(planned, ("storage_encrypted",)), False)
    choice = keys.choose(planned, ("kms_key_id",)) if encrypted is not False else DEFAULT
    engine = value(planned, ("engine",))
    attributes: dict[str, Any] = {
        "engine": "docdb" if engine is None else engine,
        "encryption": encryption(encrypted, "aws:kms", choice),
        "public_access": dict(NEVER_PUBLIC),
        "deletion_protection": known_bool(value(planned, ("deletion_protection",)), False),
    }
    retention = value(planned, ("backup_retention_period",))
    attributes["backup_retention_days"] = 1 if retention is None else retention
    tls, group = _docdb_tls(context, planned)
    attributes["secure_transport_required"] = tls
    add_store(context, planned, "aws.rds.db_cluster", "database", attributes, *((group,) if group else ()))


def _docdb_tls(context: Context, planned: PlannedResource) -> tuple[Any, PlannedResource | None]:
    """Whether the cluster's parameter group requires TLS, and the group when the plan holds it."""
    plan = context.plan
    path = ("db_cluster_parameter_group_name",)
    traced = trace(plan, planned, expression(planned, path), frozenset({DOCDB_PARAMETERS}))
    group = traced.resource
    if group is None:
        name = traced.constant if traced.has_constant else value(planned, path)
        if name is None or (isinstance(name, str) and name.startswith(docdb_params.DEFAULT_GROUPS)):
            return True, None  # the default group: TLS enabled
        group = next((g for g in plan.by_type.get(DOCDB_PARAMETERS, ()) if value(g, ("name",)) == name), None)
        if group is None:
            unheld = Unknown(f"{planned.address}: tls of parameter group {name}, "
                             "which the plan does not hold")
            return unheld, None
    for parameter in value(group, ("parameter",)) or ():
        if isinstance(parameter, dict) and parameter.get("name") == "tls":
            return docdb_params.requires_tls(parameter.get("value")), group
    return True, group


def _memorydb(context: Context, keys: KeyBook, planned: PlannedResource) -> None:
    choice = keys.choose(planned, ("kms_key_arn",))
    attributes: dict[str, Any] = {
        "engine": value(planned, ("engine",)),
        "encryption": dict(SERVICE_OWNED) if choice == DEFAULT else encryption(True, "aws:kms", choice),
        "public_access": dict(NEVER_PUBLIC),
        "secure_transport_required": known_bool(value(planned, ("tls_enabled",)), True),
    }
    retention = value(planned, ("snapshot_retention_limit",))
    if isinstance(retention, int) or is_unknown(retention):
        attributes["backup_retention_days"] = retention
    add_store(context, planned, "aws.memorydb.cluster", "database", attributes)


def _dax(context: Context, planned: PlannedResource) -> Resource | None:
    enabled = known_bool(value(planned, ("server_side_encryption", 0, "enabled")), False)
    endpoint = value(planned, ("cluster_endpoint_encryption_type",))
    tls: Any = endpoint if is_unknown(endpoint) else (endpoint or "NONE") == "TLS"
    at_rest: dict[str, Any]
    if is_unknown(enabled):
        at_rest = {"at_rest": enabled, "algorithm": enabled, "key": None, "key_manager": enabled}
    else:
        at_rest = dict(SERVICE_OWNED) if enabled else encryption(False, None, DEFAULT)
    attributes = {"engine": "dax", "encryption": at_rest, "public_access": dict(NEVER_PUBLIC),
                  "secure_transport_required": tls}
    return add_store(context, planned, "aws.dax.cluster", "database", attributes)


__all__ = ["ARN_TYPES", "TYPES", "collect"]
