"""S3 Tables tables of a Terraform plan, read with the type, kind and attributes the AWS provider
gives the live ones (:mod:`phigate_providers.aws.s3tables`), so the gate and the audit agree:
each table a ``table`` store, encrypted as it says or as its bucket does (S3-managed keys by
default), exposed by its bucket's policy and its own, classified by its tags over its bucket's.

The plans are written in the shape ``terraform show -json`` gives for the ``hashicorp/aws``
provider (see :mod:`tests.test_terraform_aws_backup`). ``encryption_configuration`` is an object
attribute there, optional and computed: unset, it is known only after apply; referencing a key
of the plan, the configuration keeps one expression for the whole object."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from phigate.api import CollectionError, Unknown
from phigate.validation import kind_validator

from .conftest import CliResult
from .test_terraform_aws_backup import CLINICAL, PARTNER, REGION, block, plan_file, policy, ref, role
from .test_terraform_provider import collect, outcomes

Cli = Callable[..., CliResult]
ADMIN = {"data_class": "administrative"}
KEY = block("aws_kms_key.lake", {"description": "clinical lake", "enable_key_rotation": True},
            unknown={"key_id": True})
LAKE_ARN = f"arn:aws:s3tables:{REGION}:123456789012:bucket/shared-lake"
EVERYONE_READS = {"Effect": "Allow", "Principal": "*", "Action": "s3tables:GetTableData", "Resource": "*"}


def bucket(name: str, *, tags: dict[str, str] | None = None, encryption: Any = None) -> dict[str, Any]:
    """A new table bucket: ``encryption`` a dict of literals, a reference to a key (aws:kms under
    it), or unset (known only after apply)."""
    values: dict[str, Any] = {"name": name, **({"tags": tags, "tags_all": tags} if tags is not None else {})}
    unknown: dict[str, Any] = {}
    expressions: dict[str, Any] = {}
    if encryption is None:
        unknown["encryption_configuration"] = True
    elif "references" in encryption:
        values["encryption_configuration"] = {"sse_algorithm": "aws:kms"}
        unknown["encryption_configuration"] = {"kms_key_arn": True}
        expressions["encryption_configuration"] = encryption
    else:
        values["encryption_configuration"] = encryption
    return block(f"aws_s3tables_table_bucket.{name.replace('-', '_')}", values, unknown=unknown,
                 expressions=expressions)


def table(name: str, lake: str, *, tags: dict[str, str] | None = None, encryption: Any = None) -> dict[str, Any]:
    """A new table of the planned bucket ``lake`` (its address), or of a literal bucket ARN."""
    values: dict[str, Any] = {"name": name, "namespace": "notes", "format": "ICEBERG",
                              **({"tags": tags, "tags_all": tags} if tags is not None else {})}
    unknown: dict[str, Any] = {"encryption_configuration": True}
    expressions: dict[str, Any] = {}
    if lake.startswith("arn:"):
        values["table_bucket_arn"] = lake
    else:
        unknown["table_bucket_arn"] = True
        expressions["table_bucket_arn"] = ref(lake)
    if encryption is not None:
        values["encryption_configuration"] = encryption
        del unknown["encryption_configuration"]
    return block(f"aws_s3tables_table.{name}", values, unknown=unknown, expressions=expressions)


def bucket_policy(lake: str, *statements: dict[str, Any]) -> dict[str, Any]:
    text = policy(*statements)
    return block(f"aws_s3tables_table_bucket_policy.{lake.split('.')[1]}", {"resource_policy": text},
                 unknown={"table_bucket_arn": True}, expressions={"table_bucket_arn": ref(lake)})


def table_policy(name: str, lake: str, *statements: dict[str, Any]) -> dict[str, Any]:
    """A table policy naming its table by literal name and namespace."""
    text = policy(*statements)
    return block(f"aws_s3tables_table_policy.{name}", {"name": name, "namespace": "notes", "resource_policy": text},
                 unknown={"table_bucket_arn": True}, expressions={"table_bucket_arn": ref(lake)})


CLINICAL_LAKE = "aws_s3tables_table_bucket.clinical"
OPEN_LAKE = "aws_s3tables_table_bucket.open"


def estate() -> list[dict[str, Any]]:
    """A clinical bucket under the plan's key shared with a partner, holding a table under its
    bucket's key and one under S3-managed keys a table policy opens to everyone; an open bucket
    with the default encryption."""
    return [
        KEY,
        bucket("clinical", tags=CLINICAL, encryption=ref("aws_kms_key.lake")),
        bucket_policy(CLINICAL_LAKE, {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{PARTNER}:root"},
                                      "Action": "s3tables:GetTableData", "Resource": "*"}),
        table("encounters", CLINICAL_LAKE),
        table("scratch", CLINICAL_LAKE, tags=ADMIN, encryption={"sse_algorithm": "AES256", "kms_key_arn": None}),
        table_policy("scratch", CLINICAL_LAKE, EVERYONE_READS),
        bucket("open"),
        table("events", OPEN_LAKE),
    ]


def test_tables_are_encrypted_as_they_say_else_as_their_bucket_else_by_s3(tmp_path: Path) -> None:
    found, records, _ = collect(plan_file(tmp_path, *estate()))
    assert not [r for r in records if isinstance(r, CollectionError)]
    tables = {a: r for a, r in found.items() if a.startswith("aws_s3tables_table.")}
    assert {(r.type, r.kind, r.region) for r in tables.values()} == {("aws.s3tables.table", "table", REGION)}
    # Buckets are containers: not stores of their own, as live.
    assert not [a for a in found if a.startswith("aws_s3tables_table_bucket")]
    # The bucket's key, referenced in the object the configuration writes, is the plan's key.
    assert tables["aws_s3tables_table.encounters"].attributes["encryption"] == {
        "at_rest": True, "algorithm": "aws:kms", "key": found["aws_kms_key.lake"].id, "key_manager": "customer"}
    sse_s3 = {"at_rest": True, "algorithm": "AES256", "key": None, "key_manager": "provider"}
    assert tables["aws_s3tables_table.scratch"].attributes["encryption"] == sse_s3  # its own
    assert tables["aws_s3tables_table.events"].attributes["encryption"] == sse_s3  # the documented default
    for found_table in tables.values():
        assert not list(kind_validator("table").iter_errors(dict(found_table.attributes)))


def test_a_table_is_exposed_by_its_buckets_policy_and_its_own_together(tmp_path: Path) -> None:
    elsewhere = block("aws_s3tables_table_policy.elsewhere", {
        "name": "visits", "namespace": "notes", "table_bucket_arn": LAKE_ARN, "resource_policy": policy(EVERYONE_READS)})
    found, _, provider = collect(plan_file(tmp_path, *estate(), table_policy("missing", OPEN_LAKE, EVERYONE_READS),
                                           elsewhere))
    assert found["aws_s3tables_table.scratch"].attributes["public_access"] == {"blocked": False, "grants": ["*"]}
    # The partner account is not everyone.
    assert found["aws_s3tables_table.encounters"].attributes["public_access"] == {"blocked": True, "grants": []}
    assert found["aws_s3tables_table.events"].attributes["public_access"] == {"blocked": True, "grants": []}
    joined = {j["address"] for j in found["aws_s3tables_table.scratch"].raw["joined"]}
    assert joined == {CLINICAL_LAKE, "aws_s3tables_table_bucket_policy.clinical", "aws_s3tables_table_policy.scratch"}
    # Policies of tables the plan does not hold (in its buckets or others) are named, not evaluated.
    assert all(any(f"aws_s3tables_table_policy.{name}" in notice for notice in provider.notices())
               for name in ("missing", "elsewhere"))


def test_a_table_takes_its_buckets_class_under_its_own(tmp_path: Path) -> None:
    found, _, _ = collect(plan_file(tmp_path, *estate()))
    assert found["aws_s3tables_table.encounters"].tags == CLINICAL
    # Both give a class: both are kept (the strictest wins), as live.
    assert found["aws_s3tables_table.scratch"].tags == {"data_class": "clinical,administrative"}
    assert found["aws_s3tables_table.events"].tags == {}


def test_a_policy_known_only_after_apply_leaves_the_exposure_unknown(tmp_path: Path) -> None:
    generated = block("aws_s3tables_table_bucket_policy.open", {}, unknown={"table_bucket_arn": True,
                                                                          "resource_policy": True},
                      expressions={"table_bucket_arn": ref(OPEN_LAKE),
                                   "resource_policy": {"references": ["data.aws_iam_policy_document.x.json"]}})
    found, _, _ = collect(plan_file(tmp_path, bucket("open"), table("events", OPEN_LAKE), generated))
    exposure = found["aws_s3tables_table.events"].attributes["public_access"]
    assert isinstance(exposure["blocked"], Unknown) and "after apply" in exposure["blocked"].reason


def test_a_table_of_a_bucket_outside_the_plan_is_an_error_not_a_guess(tmp_path: Path) -> None:
    found, records, _ = collect(plan_file(tmp_path, table("visits", LAKE_ARN, tags=CLINICAL)))
    assert "aws_s3tables_table.visits" not in found
    errors = [r for r in records if isinstance(r, CollectionError)]
    assert [(e.types, e.kinds) for e in errors] == [(("aws.s3tables.table",), ("table",))]
    assert "shared-lake is not in the plan" in errors[0].message


def test_a_kms_key_of_the_bucket_known_only_after_apply_and_not_planned_is_unknown(tmp_path: Path) -> None:
    lake = bucket("open", encryption={"references": ["var.lake_key"]})
    found, _, _ = collect(plan_file(tmp_path, lake, table("events", OPEN_LAKE)))
    encrypted = found["aws_s3tables_table.events"].attributes["encryption"]
    assert (encrypted["at_rest"], encrypted["algorithm"]) == (True, "aws:kms")
    assert isinstance(encrypted["key_manager"], Unknown)


def test_the_gate_judges_tables_and_the_roles_reading_them(tmp_path: Path, cli: Cli) -> None:
    # A key whose ARN the plan shows tells the account (the bucket policy names accounts).
    known = block("aws_kms_key.known", {"arn": f"arn:aws:kms:{REGION}:123456789012:key/1f2e"}, unknown={"arn": False})
    path = plan_file(tmp_path, known, *estate(), *role("analyst", "s3tables:GetTableData"),
                     *role("lake-admin", "s3tables:PutTableBucketPolicy"))
    found, _, _ = collect(path)
    analyst, admin = found["aws_iam_role.analyst"].attributes, found["aws_iam_role.lake-admin"].attributes
    encounters = found["aws_s3tables_table.encounters"].id
    assert encounters in analyst["can_read"]
    assert admin["can_read_via"][encounters] == "s3tables:PutTableBucketPolicy (can grant itself read)"
    result = cli("scan", str(path), "--only", "PHI-ENC-001", "--only", "PHI-ENC-002", "--only", "PHI-IAM-002",
                 "--format", "json")
    failed = {(p, a) for s, p, a in outcomes(result) if s == "fail" and a.startswith("aws_s3tables")}
    assert failed == {("PHI-IAM-002", "aws_s3tables_table.scratch"),
                      ("PHI-ENC-002", "aws_s3tables_table.scratch")}  # clinical by its bucket, S3-managed keys
    assert json.loads(result.out)["findings"]
