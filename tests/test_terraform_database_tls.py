"""A planned RDS database refuses connections without TLS as the live reader would say: from
the parameter group the plan gives it (by reference or by name), else the engine's documented
default; unknown when the plan cannot tell. Variants of the clinic plan, whose clinical
``aws_db_instance.patients`` runs PostgreSQL 16 with no group."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from phigate.api import Resource, Unknown
from phigate_providers.terraform import TerraformProvider

from .conftest import DATA, ROOT, CliResult

PLAN = DATA / "terraform" / "clinic" / "plan.json"
PACK = ROOT / "policies" / "health"
PATIENTS = "aws_db_instance.patients"
Cli = Callable[..., CliResult]


def variant(tmp_path: Path, change: Callable[[dict[str, Any]], None]) -> Path:
    plan = json.loads(PLAN.read_text())
    change(plan)
    path = tmp_path / "plan.json"
    path.write_text(json.dumps(plan))
    return path


def _entries(plan: dict[str, Any], address: str) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """The planned values, the change and the configuration of ``address``."""
    planned = next(r for r in plan["planned_values"]["root_module"]["resources"] if r["address"] == address)
    change = next(c for c in plan["resource_changes"] if c["address"] == address)["change"]
    config = next(r for r in plan["configuration"]["root_module"]["resources"] if r["address"] == address)
    return planned, change, config


def unset(plan: dict[str, Any], address: str, name: str) -> None:
    planned, change, config = _entries(plan, address)
    for values in (planned["values"], change["before"], change["after"], config["expressions"]):
        values.pop(name, None)


def set_attribute(plan: dict[str, Any], address: str, name: str, value: Any, *,
                  expression: dict[str, Any] | None = None) -> None:
    planned, change, config = _entries(plan, address)
    planned["values"][name] = value
    change["after"][name] = value
    config["expressions"][name] = expression or {"constant_value": value}


def add_group(plan: dict[str, Any], name: str, parameters: list[dict[str, Any]] | None, *,
              unknown: bool = False) -> str:
    """An ``aws_db_parameter_group`` created by the plan; its parameters known after apply
    when ``unknown``."""
    address = f"aws_db_parameter_group.{name.replace('-', '_')}"
    values = {"name": name, "family": "postgres14", "parameter": parameters, "tags": {}, "tags_all": {}}
    common = {"address": address, "mode": "managed", "type": "aws_db_parameter_group",
              "name": address.split(".")[1], "provider_name": "registry.terraform.io/hashicorp/aws"}
    plan["planned_values"]["root_module"]["resources"].append({**common, "schema_version": 0, "values": values,
                                                               "sensitive_values": {}})
    plan["resource_changes"].append({**common, "change": {
        "actions": ["create"], "before": None, "after": values,
        "after_unknown": {"parameter": True} if unknown else {}}})
    plan["configuration"]["root_module"]["resources"].append({
        "address": address, "mode": "managed", "type": "aws_db_parameter_group", "name": common["name"],
        "provider_config_key": "aws", "expressions": {"name": {"constant_value": name}}, "schema_version": 0})
    return address


def patients(path: Path) -> Resource:
    found = [r for r in TerraformProvider(path).collect() if isinstance(r, Resource) and r.name == PATIENTS]
    assert len(found) == 1
    return found[0]


def tls_status(cli: Cli, path: Path) -> str:
    result = cli("scan", str(path), "--policies", str(PACK), "--only", "PHI-TLS-001", "--show-passed",
                 "--format", "json")
    return next(str(f["status"]) for f in result.json()["findings"] if f["resource"]["name"] == PATIENTS)


def test_a_group_the_plan_creates_with_force_ssl_makes_the_database_refuse_plain_connections(
        tmp_path: Path, cli: Cli) -> None:
    def forced(plan: dict[str, Any]) -> None:
        set_attribute(plan, PATIENTS, "engine_version", "14.9")  # off by default
        add_group(plan, "pms-tls", [{"name": "rds.force_ssl", "value": "1", "apply_method": "immediate"}])
        set_attribute(plan, PATIENTS, "parameter_group_name", "pms-tls")

    path = variant(tmp_path, forced)
    assert patients(path).attributes["secure_transport_required"] is True
    assert tls_status(cli, path) == "pass"


def test_a_group_referenced_by_expression_is_followed(tmp_path: Path) -> None:
    def referenced(plan: dict[str, Any]) -> None:
        address = add_group(plan, "pms-plain", [{"name": "rds.force_ssl", "value": "0", "apply_method": "immediate"},
                                                {"name": "log_connections", "value": "1", "apply_method": "immediate"}])
        set_attribute(plan, PATIENTS, "engine_version", "16.3")
        set_attribute(plan, PATIENTS, "parameter_group_name", None,
                      expression={"references": [f"{address}.name", address]})
        _entries(plan, PATIENTS)[1].setdefault("after_unknown", {})["parameter_group_name"] = True

    # The name is known only after apply: the reference alone leads to the group. PostgreSQL 16
    # would refuse plain connections by default; the group turns it off.
    assert patients(variant(tmp_path, referenced)).attributes["secure_transport_required"] is False


def test_without_a_group_the_documented_default_of_the_version_decides(tmp_path: Path, cli: Cli) -> None:
    for version, expected, status in (("16.3", True, "pass"), ("15", True, "pass"), ("14.9", False, "fail")):
        path = variant(tmp_path, lambda plan, v=version: set_attribute(plan, PATIENTS, "engine_version", v))
        assert patients(path).attributes["secure_transport_required"] is expected, version
        assert tls_status(cli, path) == status
    for version, expected in (("8.0.35", False), ("9.7.0", True)):  # require_secure_transport OFF, then ON
        def mysql(plan: dict[str, Any], v: str = version) -> None:
            set_attribute(plan, PATIENTS, "engine", "mysql")
            set_attribute(plan, PATIENTS, "engine_version", v)
        assert patients(variant(tmp_path, mysql)).attributes["secure_transport_required"] is expected


def test_what_the_plan_cannot_tell_is_unknown_never_a_pass(tmp_path: Path, cli: Cli) -> None:
    # No version: AWS picks one at apply, and PostgreSQL's default hangs on it.
    path = variant(tmp_path, lambda plan: unset(plan, PATIENTS, "engine_version"))
    unversioned = patients(path).attributes["secure_transport_required"]
    assert isinstance(unversioned, Unknown) and "engine_version" in unversioned.reason
    assert tls_status(cli, path) == "error"

    def elsewhere(plan: dict[str, Any]) -> None:
        set_attribute(plan, PATIENTS, "parameter_group_name", "shared-tls")

    outside = patients(variant(tmp_path, elsewhere)).attributes["secure_transport_required"]
    assert isinstance(outside, Unknown) and "'shared-tls' is not in the plan" in outside.reason

    def computed(plan: dict[str, Any]) -> None:
        add_group(plan, "pms-later", None, unknown=True)
        set_attribute(plan, PATIENTS, "parameter_group_name", "pms-later")

    assert isinstance(patients(variant(tmp_path, computed)).attributes["secure_transport_required"], Unknown)


def test_a_default_group_named_outright_is_the_engines_default(tmp_path: Path) -> None:
    def named(plan: dict[str, Any]) -> None:
        set_attribute(plan, PATIENTS, "engine_version", "16.3")
        set_attribute(plan, PATIENTS, "parameter_group_name", "default.postgres16")

    assert patients(variant(tmp_path, named)).attributes["secure_transport_required"] is True


def test_oracle_is_left_out_for_policies_to_report_error(tmp_path: Path) -> None:
    oracle = variant(tmp_path, lambda plan: set_attribute(plan, PATIENTS, "engine", "oracle-se2"))
    assert "secure_transport_required" not in patients(oracle).attributes
