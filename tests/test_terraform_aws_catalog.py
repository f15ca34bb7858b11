"""Athena workgroups of a Terraform plan, read as the aws provider reports the live ones.

The plan is written here in the shape ``terraform show -json`` gives for the ``hashicorp/aws``
provider 5.x (format 1.2): nested blocks as one-element lists, a new key's ``arn`` known only
after apply (``after_unknown``) and followed through the configuration's reference."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .conftest import CliResult
from .test_terraform_provider import collect

Cli = Callable[..., CliResult]


def block(address: str, values: dict[str, Any], *, unknown: dict[str, Any] | None = None,
          expressions: dict[str, Any] | None = None) -> dict[str, Any]:
    rtype, name = address.split(".")
    return {"address": address, "type": rtype, "name": name, "values": values, "unknown": unknown or {},
            "expressions": expressions or {}}


def plan_file(tmp_path: Path, *blocks: dict[str, Any]) -> Path:
    resources, changes, configured = [], [], []
    for b in blocks:
        common = {"address": b["address"], "mode": "managed", "type": b["type"], "name": b["name"],
                  "provider_name": "registry.terraform.io/hashicorp/aws"}
        resources.append({**common, "schema_version": 0, "values": b["values"], "sensitive_values": {}})
        changes.append({**common, "change": {"actions": ["create"], "before": None, "after": b["values"],
                                             "after_unknown": {"id": True, "arn": True, **b["unknown"]},
                                             "before_sensitive": False, "after_sensitive": {}}})
        configured.append({"address": b["address"], "mode": "managed", "type": b["type"], "name": b["name"],
                           "provider_config_key": "aws", "expressions": b["expressions"], "schema_version": 0})
    document = {
        "format_version": "1.2", "terraform_version": "1.11.4",
        "planned_values": {"root_module": {"resources": resources}}, "resource_changes": changes,
        "configuration": {"provider_config": {"aws": {
            "name": "aws", "full_name": "registry.terraform.io/hashicorp/aws",
            "expressions": {"region": {"constant_value": "eu-west-3"}}}},
            "root_module": {"resources": configured}},
        "applyable": True, "complete": True, "errored": False}
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(document))
    return path


def workgroup(name: str, tag: str | None, *, enforce: bool | None = True, option: str | None = None,
              key: str | None = None, output: bool = True) -> dict[str, Any]:
    """A workgroup writing to s3://exemplum-results/NAME/ with ``option`` under ``key`` (the
    address of a planned key, referenced)."""
    chosen: dict[str, Any] = {"encryption_option": option, "kms_key_arn": None}
    chosen_expr: dict[str, Any] = {"encryption_option": {"constant_value": option}}
    if key:
        chosen_expr["kms_key_arn"] = {"references": [f"{key}.arn", key]}
    results: dict[str, Any] = {"output_location": f"s3://exemplum-results/{name}/" if output else None,
                               "encryption_configuration": [chosen] if option else []}
    results_expr: dict[str, Any] = {"encryption_configuration": [chosen_expr] if option else []}
    if output:
        results_expr["output_location"] = {"constant_value": results["output_location"]}
    configuration: dict[str, Any] = {"result_configuration": [results], "enforce_workgroup_configuration":
                                     True if enforce is None else enforce}
    configuration_expr: dict[str, Any] = {"result_configuration": [results_expr]}
    if enforce is not None:
        configuration_expr["enforce_workgroup_configuration"] = {"constant_value": enforce}
    tags = {"data_class": tag} if tag else {}
    unknown = {"configuration": [{"result_configuration": [{"encryption_configuration": [
        {"kms_key_arn": True}]}]}]} if key else {}
    return block(f"aws_athena_workgroup.{name.replace('-', '_')}",
                 {"name": name, "configuration": [configuration], "tags": tags, "tags_all": tags},
                 unknown=unknown, expressions={"name": {"constant_value": name},
                                               "configuration": [configuration_expr]})


def estate(tmp_path: Path) -> Path:
    key = block("aws_kms_key.results", {"enable_key_rotation": True, "tags": {}, "tags_all": {}})
    return plan_file(tmp_path, key,
                     workgroup("clinical-results", "clinical", enforce=None, option="SSE_KMS", key=key["address"]),
                     workgroup("adhoc", "clinical", enforce=False, option="SSE_KMS", key=key["address"]),
                     workgroup("reports", "administrative", option="SSE_S3"),
                     workgroup("console", None, output=False))


def test_planned_workgroups_are_databases_under_the_encryption_they_enforce(tmp_path: Path) -> None:
    found, errors, _ = collect(estate(tmp_path))
    assert errors == []
    results, adhoc, reports = (found[f"aws_athena_workgroup.{n}"] for n in ("clinical_results", "adhoc", "reports"))
    assert (results.kind, results.type) == ("database", "aws.athena.workgroup")
    # Enforced by the provider's default; the key of the plan, customer-managed.
    assert results.attributes["encryption"] == {"at_rest": True, "algorithm": "SSE_KMS",
                                                "key": found["aws_kms_key.results"].id, "key_manager": "customer"}
    # Not enforced: a query may override it, S3's floor holds.
    floor = {"at_rest": True, "algorithm": "AES256", "key": None, "key_manager": "provider"}
    assert adhoc.attributes["encryption"] == reports.attributes["encryption"] == floor
    assert results.attributes["public_access"] == {"blocked": True, "grants": []}
    assert results.tags == {"data_class": "clinical"}
    # No output location: each query names where its results go, nothing stored of its own.
    assert "aws_athena_workgroup.console" not in found


def test_the_gate_judges_planned_workgroups_as_the_live_scan_does(tmp_path: Path, cli: Cli) -> None:
    result = cli("scan", str(estate(tmp_path)), "--only", "PHI-ENC-002", "--only", "PHI-ENC-001", "--show-passed",
                 "--format", "json")
    outcomes = {(f["policy_id"], f["resource"]["name"]): f["status"] for f in result.json()["findings"]}
    assert outcomes[("PHI-ENC-002", "aws_athena_workgroup.clinical_results")] == "pass"
    assert outcomes[("PHI-ENC-002", "aws_athena_workgroup.adhoc")] == "fail"
    assert outcomes[("PHI-ENC-001", "aws_athena_workgroup.reports")] == "pass"
    assert result.code == 1


def test_a_workgroup_whose_enforcement_is_known_only_after_apply_is_undecided(tmp_path: Path) -> None:
    planned = workgroup("late", "clinical", option="SSE_KMS")
    planned["unknown"] = {"configuration": [{"enforce_workgroup_configuration": True}]}
    planned["values"]["configuration"][0]["enforce_workgroup_configuration"] = None
    found, _, _ = collect(plan_file(tmp_path, planned))
    encryption = found["aws_athena_workgroup.late"].attributes["encryption"]
    assert type(encryption["key_manager"]).__name__ == "Unknown"
