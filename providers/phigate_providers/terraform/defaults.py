"""What a created resource will hold for the attributes its configuration leaves unset.

A plan marks many optional attributes of a new resource as known only after apply although
nothing but the provider's documented default can fill them: DynamoDB's
``server_side_encryption`` (an AWS-owned key), an Aurora cluster's ``storage_encrypted`` (false
unless serverless), a new bucket's ``versioning`` (off). Where the configuration does not set
the attribute, the table below gives that default, so the plan decides what it does decide.
An attribute the configuration sets (even to an expression known only after apply) keeps the
plan's value; so does any attribute of a resource that is not being created, and any attribute
of a plan without its configuration (nothing tells unset from set). ``docs/providers/terraform.md``
lists the same table with the providers' documentation for each entry.

Left out on purpose: EBS ``encrypted`` (the account's encryption-by-default setting decides; the
plan knows it only when it declares ``aws_ebs_encryption_by_default``) and S3 Block Public Access
(on for new buckets since April 2023, yet a guard the configuration does not declare is one
Terraform does not restore: it is read only from the plan's public access blocks).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Depends:
    """A default that depends on another attribute's planned value (``values[attribute]``,
    ``otherwise`` when that one is unset or not listed)."""

    attribute: str
    values: Mapping[Any, Any]
    otherwise: Any

    def resolve(self, planned: Mapping[str, Any]) -> Any:
        found = planned.get(self.attribute)
        try:
            return self.values.get(found, self.otherwise)
        except TypeError:  # an unhashable value: not one of the listed ones
            return self.otherwise


_NO_VERSIONING = [{"enabled": False, "mfa_delete": False}]

#: Per resource type: attribute -> the value a created resource takes when the configuration
#: leaves the attribute unset (a :class:`Depends` when that depends on another attribute).
CREATE_DEFAULTS: dict[str, dict[str, Any]] = {
    "aws_kms_key": {
        "key_usage": "ENCRYPT_DECRYPT",                  # symmetric encryption key
        "customer_master_key_spec": "SYMMETRIC_DEFAULT",
        "enable_key_rotation": False,
        "is_enabled": True,
        "multi_region": False,
    },
    "aws_dynamodb_table": {
        "server_side_encryption": [],                    # no block: an AWS-owned key, always on
        "point_in_time_recovery": [{"enabled": False}],
    },
    "aws_rds_cluster": {
        # false for provisioned clusters (the default engine mode), true for serverless v1
        "storage_encrypted": Depends("engine_mode", {"serverless": True}, False),
    },
    "aws_rds_cluster_instance": {"publicly_accessible": False},
    # A new role holds only the policies the plan gives it (inline and attachment resources).
    "aws_iam_role": {"inline_policy": [], "managed_policy_arns": []},
    "aws_db_instance": {"storage_encrypted": False, "publicly_accessible": False,
                        "deletion_protection": False},
    "aws_s3_bucket": {
        "server_side_encryption_configuration": [],      # S3 applies SSE-S3 (since January 2023)
        "versioning": _NO_VERSIONING,
        "logging": [],
        "acl": "private",                                # ACLs disabled for new buckets (April 2023)
        "grant": [],
        "object_lock_enabled": False,
        "object_lock_configuration": [],
        "policy": "",
    },
    # Stores read by aws_streams and aws_warehouses (their module docstrings say why).
    "aws_sqs_queue": {"sqs_managed_sse_enabled": Depends("kms_master_key_id", {None: True, "": True}, False),
                      "policy": ""},
    "aws_efs_file_system": {"encrypted": False},
    "aws_redshift_cluster": {"encrypted": True, "publicly_accessible": False},  # since January 2025
    "aws_opensearch_domain": {"encrypt_at_rest": [], "vpc_options": [], "access_policies": ""},
    "aws_elasticsearch_domain": {"encrypt_at_rest": [], "vpc_options": [], "access_policies": ""},
    "aws_elasticache_replication_group": {
        "at_rest_encryption_enabled": Depends("engine", {"valkey": True}, False)},
    "google_kms_crypto_key": {"purpose": "ENCRYPT_DECRYPT"},
    "google_storage_bucket": {
        "public_access_prevention": "inherited",
        "uniform_bucket_level_access": False,
        "versioning": [],
        "logging": [],
        "encryption": [],                                # Google-managed key
        "retention_policy": [],
        "soft_delete_policy": [{"retention_duration_seconds": 604_800}],  # 7 days (since 2024)
    },
}


def apply(resource_type: str, values: dict[str, Any], unknown: dict[str, Any],
          expressions: Mapping[str, Any]) -> None:
    """Fill, in place, the unset attributes of a created resource of ``resource_type`` that the
    plan leaves unknown, with the table's defaults."""
    table = CREATE_DEFAULTS.get(resource_type)
    if not table:
        return
    for attribute, default in table.items():
        if unknown.get(attribute) is not True or attribute in expressions:
            continue
        if isinstance(default, Depends) and unknown.get(default.attribute):
            continue  # what it depends on is known only after apply: so is the default
        values[attribute] = default.resolve(values) if isinstance(default, Depends) else default
        del unknown[attribute]


__all__ = ["CREATE_DEFAULTS", "Depends", "apply"]
