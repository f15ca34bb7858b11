"""AWS Backup vaults and their policies, DocumentDB, MemoryDB and DAX clusters of a Terraform plan,
read with the attributes the AWS provider gives the live stores, so the gate and the audit agree.

The plan is written here in the shape ``terraform show -json`` gives for the ``hashicorp/aws``
provider 5.x (format 1.2: ``planned_values`` without what is known only after apply,
``resource_changes`` with ``after_unknown``, ``configuration`` with the expressions): a new
resource's ``arn`` and ``id`` are known only after apply, and so is a reference to a key of the
same plan."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from phigate.api import Resource, Unknown
from phigate.validation import kind_validator

from .conftest import CliResult
from .test_terraform_provider import collect, outcomes

REGION = "eu-west-3"
PARTNER = "111122223333"
CLINICAL = {"data_class": "clinical"}
Cli = Callable[..., CliResult]


def block(address: str, values: dict[str, Any], *, unknown: dict[str, Any] | None = None,
          expressions: dict[str, Any] | None = None) -> dict[str, Any]:
    """A planned resource to create: its values, what is known only after apply, its expressions
    (constants for the values unless given)."""
    constants = {k: {"constant_value": v} for k, v in values.items() if v is not None}
    return {"address": address, "values": values, "unknown": {"arn": True, "id": True, **(unknown or {})},
            "expressions": {**constants, **(expressions or {})}}


def ref(address: str, attribute: str = "arn") -> dict[str, Any]:
    return {"references": [f"{address}.{attribute}", address]}


def plan_file(tmp_path: Path, *blocks: dict[str, Any]) -> Path:
    resources, changes, configured = [], [], []
    for b in blocks:
        rtype, name = b["address"].split(".")
        common = {"address": b["address"], "mode": "managed", "type": rtype, "name": name,
                  "provider_name": "registry.terraform.io/hashicorp/aws"}
        resources.append({**common, "schema_version": 0, "values": b["values"], "sensitive_values": {}})
        changes.append({**common, "change": {"actions": ["create"], "before": None, "after": b["values"],
                                             "after_unknown": b["unknown"], "before_sensitive": False,
                                             "after_sensitive": {}}})
        configured.append({"address": b["address"], "mode": "managed", "type": rtype, "name": name,
                           "provider_config_key": "aws", "expressions": b["expressions"], "schema_version": 0})
    document = {
        "format_version": "1.2", "terraform_version": "1.11.4",
        "planned_values": {"root_module": {"resources": resources}}, "resource_changes": changes,
        "configuration": {"provider_config": {"aws": {
            "name": "aws", "full_name": "registry.terraform.io/hashicorp/aws",
            "expressions": {"region": {"constant_value": REGION}}}},
            "root_module": {"resources": configured}},
        "applyable": True, "complete": True, "errored": False}
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(document))
    return path


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


KEY = block("aws_kms_key.backups", {"description": "clinical backups", "enable_key_rotation": True},
            unknown={"key_id": True})


def estate() -> list[dict[str, Any]]:
    """Vaults under the plan's key or the AWS-managed one, opened by a policy or shared with a
    partner; DocumentDB, MemoryDB and DAX clusters with and without encryption and TLS."""
    keyed = {"kms_key_arn": True}
    return [
        KEY,
        block("aws_backup_vault.clinical", {"name": "clinical-vault", "tags": CLINICAL, "tags_all": CLINICAL},
              unknown=keyed, expressions={"kms_key_arn": ref("aws_kms_key.backups")}),
        block("aws_backup_vault.open", {"name": "open-vault", "tags": CLINICAL, "tags_all": CLINICAL}),
        block("aws_backup_vault_policy.open", {"backup_vault_name": "open-vault", "policy": policy(
            {"Effect": "Allow", "Principal": "*", "Action": "backup:StartRestoreJob", "Resource": "*"})},
            expressions={"backup_vault_name": ref("aws_backup_vault.open", "name")}),
        block("aws_backup_vault_policy.partner", {"backup_vault_name": "clinical-vault", "policy": policy(
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{PARTNER}:root"},
             "Action": "backup:CopyFromBackupVault", "Resource": "*"})}),
        block("aws_backup_vault_policy.stray", {"backup_vault_name": "elsewhere", "policy": policy(
            {"Effect": "Allow", "Principal": "*", "Action": "backup:StartRestoreJob", "Resource": "*"})}),
        block("aws_docdb_cluster.records", {"cluster_identifier": "records-docs", "engine": "docdb",
                                            "storage_encrypted": True, "tags": CLINICAL, "tags_all": CLINICAL},
              unknown={"kms_key_id": True}, expressions={"kms_key_id": ref("aws_kms_key.backups")}),
        block("aws_docdb_cluster.legacy", {"cluster_identifier": "legacy-docs", "tags": CLINICAL,
                                           "tags_all": CLINICAL, "db_cluster_parameter_group_name": "docs-no-tls"}),
        block("aws_docdb_cluster_parameter_group.no_tls", {"name": "docs-no-tls", "family": "docdb5.0", "parameter": [
            {"name": "tls", "value": "disabled", "apply_method": "pending-reboot"}]}),
        block("aws_memorydb_cluster.sessions", {"name": "sessions", "node_type": "db.t4g.small",
                                                "acl_name": "open-access", "tls_enabled": False,
                                                "tags": CLINICAL, "tags_all": CLINICAL}),
        block("aws_memorydb_cluster.records", {"name": "records-cache", "node_type": "db.t4g.small",
                                               "acl_name": "open-access", "tags": CLINICAL, "tags_all": CLINICAL},
              unknown={"kms_key_arn": True}, expressions={"kms_key_arn": ref("aws_kms_key.backups")}),
        block("aws_dax_cluster.secure", {"cluster_name": "daxclinical", "node_type": "dax.t3.small",
                                         "replication_factor": 1, "server_side_encryption": [{"enabled": True}],
                                         "cluster_endpoint_encryption_type": "TLS", "tags": CLINICAL,
                                         "tags_all": CLINICAL}),
        block("aws_dax_cluster.plain", {"cluster_name": "daxplain", "node_type": "dax.t3.small",
                                        "replication_factor": 1, "tags": CLINICAL, "tags_all": CLINICAL}),
    ]


def stores(tmp_path: Path) -> tuple[dict[str, Resource], Any]:
    found, _, provider = collect(plan_file(tmp_path, *estate()))
    return found, provider


def test_vaults_are_volumes_under_their_key_and_their_policys_exposure(tmp_path: Path) -> None:
    found, provider = stores(tmp_path)
    clinical, opened = found["aws_backup_vault.clinical"], found["aws_backup_vault.open"]
    assert (clinical.kind, clinical.type, clinical.region) == ("volume", "aws.backup.vault", REGION)
    assert clinical.attributes["encryption"] == {"at_rest": True, "algorithm": "aws:kms",
                                                 "key": found["aws_kms_key.backups"].id, "key_manager": "customer"}
    # No key named: the AWS-managed aws/backup key, as the live reader says.
    assert opened.attributes["encryption"] == {"at_rest": True, "algorithm": "aws:kms", "key": None,
                                               "key_manager": "provider"}
    # Its policy joined by reference opens it; the partner's, joined by literal name, does not.
    assert opened.attributes["public_access"] == {"blocked": False, "grants": ["*"]}
    assert clinical.attributes["public_access"] == {"blocked": True, "grants": []}
    assert all(not list(kind_validator("volume").iter_errors(dict(v.attributes))) for v in (clinical, opened))
    # A policy of a vault the plan does not hold is named, not evaluated.
    assert any("aws_backup_vault_policy.stray" in notice for notice in provider.notices())


def test_documentdb_memorydb_and_dax_clusters_take_the_providers_defaults(tmp_path: Path) -> None:
    found, _ = stores(tmp_path)
    records, legacy = found["aws_docdb_cluster.records"], found["aws_docdb_cluster.legacy"]
    assert (records.type, records.attributes["engine"]) == ("aws.rds.db_cluster", "docdb")
    assert records.attributes["encryption"]["key_manager"] == "customer"
    assert legacy.attributes["encryption"]["at_rest"] is False  # storage_encrypted defaults to false
    assert legacy.attributes["public_access"] == {"blocked": True, "grants": []}
    # No group named: the default one, TLS on; the plan's own group turns it off.
    assert (records.attributes["secure_transport_required"], legacy.attributes["secure_transport_required"]) == (
        True, False)
    sessions, cache = found["aws_memorydb_cluster.sessions"], found["aws_memorydb_cluster.records"]
    assert sessions.attributes["encryption"] == {"at_rest": True, "algorithm": "AES256", "key": None,
                                                 "key_manager": "provider"}
    assert cache.attributes["encryption"]["key_manager"] == "customer"
    # tls_enabled defaults to true.
    assert (sessions.attributes["secure_transport_required"], cache.attributes["secure_transport_required"]) == (
        False, True)
    secure, plain = found["aws_dax_cluster.secure"], found["aws_dax_cluster.plain"]
    assert secure.attributes["encryption"] == sessions.attributes["encryption"]
    assert plain.attributes["encryption"]["at_rest"] is False
    assert (secure.attributes["secure_transport_required"], plain.attributes["secure_transport_required"]) == (
        True, False)
    clusters = (records, legacy, sessions, cache, secure, plain)
    assert all(not list(kind_validator("database").iter_errors(dict(c.attributes))) for c in clusters)


def test_the_store_policies_gate_the_plan_as_they_judge_the_estate(tmp_path: Path, cli: Cli) -> None:
    result = cli("scan", str(plan_file(tmp_path, *estate())), "--only", "PHI-ENC-001", "--only", "PHI-ENC-002",
                 "--only", "PHI-IAM-002", "--format", "json")
    failed = {(p, a) for s, p, a in outcomes(result) if s == "fail"}
    assert failed == {
        ("PHI-IAM-002", "aws_backup_vault.open"),
        ("PHI-ENC-002", "aws_backup_vault.open"),  # the AWS-managed aws/backup key
        ("PHI-ENC-001", "aws_docdb_cluster.legacy"), ("PHI-ENC-002", "aws_docdb_cluster.legacy"),
        ("PHI-ENC-002", "aws_memorydb_cluster.sessions"),  # a key MemoryDB owns
        ("PHI-ENC-002", "aws_dax_cluster.secure"),  # DAX takes no customer key
        ("PHI-ENC-001", "aws_dax_cluster.plain"), ("PHI-ENC-002", "aws_dax_cluster.plain"),
    }
    assert not {s for s, _, _ in outcomes(result)} - {"pass", "fail"}


def test_a_documentdb_parameter_group_outside_the_plan_leaves_tls_unknown(tmp_path: Path) -> None:
    cluster = block("aws_docdb_cluster.shared", {"cluster_identifier": "shared-docs", "tags": CLINICAL,
                                                 "tags_all": CLINICAL, "db_cluster_parameter_group_name": "team-docs"})
    found, _, _ = collect(plan_file(tmp_path, cluster))
    tls = found["aws_docdb_cluster.shared"].attributes["secure_transport_required"]
    assert isinstance(tls, Unknown) and "team-docs, which the plan does not hold" in str(tls)


def test_a_vault_policy_known_only_after_apply_leaves_the_exposure_unknown(tmp_path: Path) -> None:
    vault = block("aws_backup_vault.archive", {"name": "archive", "tags": CLINICAL, "tags_all": CLINICAL})
    generated = block("aws_backup_vault_policy.archive", {"backup_vault_name": "archive"},
                      unknown={"policy": True},
                      expressions={"backup_vault_name": ref("aws_backup_vault.archive", "name"),
                                   "policy": {"references": ["data.aws_iam_policy_document.archive.json"]}})
    found, _, _ = collect(plan_file(tmp_path, vault, generated))
    exposure = found["aws_backup_vault.archive"].attributes["public_access"]
    assert "after apply" in str(exposure["blocked"]) and "after apply" in str(exposure["grants"])


def role(name: str, action: str) -> list[dict[str, Any]]:
    trust = policy({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                    "Action": "sts:AssumeRole"})
    grant = policy({"Effect": "Allow", "Action": action, "Resource": "*"})
    return [block(f"aws_iam_role.{name}", {"name": name, "path": "/", "assume_role_policy": trust, "tags": {},
                                           "tags_all": {}, "inline_policy": [], "managed_policy_arns": []}),
            block(f"aws_iam_role_policy.{name}", {"name": name, "policy": grant},
                  expressions={"role": ref(f"aws_iam_role.{name}", "id")})]


def test_dax_clusters_and_vault_policies_are_ways_in_for_the_plans_roles(tmp_path: Path) -> None:
    # A key whose ARN the plan shows tells the account (resource policies name accounts).
    key = block("aws_kms_key.known", {"arn": f"arn:aws:kms:{REGION}:123456789012:key/1f2e", "description": "known"},
                unknown={"arn": False})
    stores = [b for b in estate() if b["address"] in (
        "aws_backup_vault.clinical", "aws_backup_vault.open", "aws_backup_vault_policy.open",
        "aws_dax_cluster.secure", "aws_kms_key.backups")]
    found, _, _ = collect(plan_file(tmp_path, key, *stores, *role("cache", "dax:GetItem"),
                                    *role("vault-admin", "backup:PutBackupVaultAccessPolicy")))
    cache, admin = found["aws_iam_role.cache"].attributes, found["aws_iam_role.vault-admin"].attributes
    dax_id, clinical_id, open_id = (found[a].id for a in (
        "aws_dax_cluster.secure", "aws_backup_vault.clinical", "aws_backup_vault.open"))
    assert dax_id in cache["can_read"] and clinical_id not in cache["can_read"]
    # As live: a vault is read by restoring what it holds, or by rewriting its policy; the one
    # open to everyone by anyone.
    assert admin["can_read_via"][clinical_id] == "backup:PutBackupVaultAccessPolicy (can grant itself read)"
    assert open_id in cache["can_read"] and dax_id not in admin["can_read"]
