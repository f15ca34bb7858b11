"""Manual Redshift snapshots of a Terraform plan (``aws_redshift_cluster_snapshot``), read with the
type, kind and attributes the AWS provider gives the live ones, so the gate and the audit agree:
a ``database`` store encrypted as its cluster is, carrying its cluster's class under its own,
never public, restored by the roles whose policies allow it.

The plans are written in the shape ``terraform show -json`` gives for the ``hashicorp/aws``
provider (see :mod:`tests.test_terraform_aws_backup`); the live reader's agreement is checked in
:mod:`tests.test_terraform_aws_glue` against the moto server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from phigate.api import CollectionError, Unknown
from phigate.validation import kind_validator

from .conftest import CliResult
from .test_terraform_aws_backup import CLINICAL, REGION, block, plan_file, ref, role
from .test_terraform_provider import collect, outcomes

Cli = Callable[..., CliResult]
KEY = block("aws_kms_key.warehouse", {"description": "warehouse", "enable_key_rotation": True},
            unknown={"key_id": True})


def cluster(name: str, *, key: dict[str, Any] | None = None, tags: dict[str, str] | None = None) -> dict[str, Any]:
    values: dict[str, Any] = {"cluster_identifier": name, "node_type": "ra3.xlplus", "encrypted": key is not None,
                              "publicly_accessible": False, "tags": tags or {}, "tags_all": tags or {}}
    return block(f"aws_redshift_cluster.{name}", values, unknown={"kms_key_id": True},
                 expressions={"kms_key_id": key} if key else {})


def snapshot(name: str, of: str, *, tags: dict[str, str] | None = None) -> dict[str, Any]:
    """A snapshot of the planned cluster ``of`` (an address) or of a cluster named by literal."""
    values: dict[str, Any] = {"snapshot_identifier": name, "tags": tags or {}, "tags_all": tags or {}}
    expressions: dict[str, Any] = {}
    unknown: dict[str, Any] = {"kms_key_id": True, "owner_account": True}
    if of.startswith("aws_"):
        unknown["cluster_identifier"] = True
        expressions["cluster_identifier"] = ref(of, "cluster_identifier")
    else:
        values["cluster_identifier"] = of
    return block(f"aws_redshift_cluster_snapshot.{name}", values, unknown=unknown, expressions=expressions)


def test_a_snapshot_is_a_database_encrypted_and_classed_as_its_cluster(tmp_path: Path) -> None:
    found, records, _ = collect(plan_file(
        tmp_path, KEY, cluster("warehouse", key=ref("aws_kms_key.warehouse"), tags=CLINICAL),
        cluster("reporting", tags={"team": "finance"}),
        snapshot("before-migration", "aws_redshift_cluster.warehouse", tags={"purpose": "migration"}),
        snapshot("monthly", "reporting", tags={"data_class": "administrative"})))
    assert not [r for r in records if isinstance(r, CollectionError)]
    kept, monthly = (found[f"aws_redshift_cluster_snapshot.{n}"] for n in ("before-migration", "monthly"))
    assert (kept.type, kept.kind, kept.region) == ("aws.redshift.snapshot", "database", REGION)
    assert kept.attributes["encryption"] == found["aws_redshift_cluster.warehouse"].attributes["encryption"] == {
        "at_rest": True, "algorithm": "aws:kms", "key": found["aws_kms_key.warehouse"].id, "key_manager": "customer"}
    # Named by its literal identifier: the cluster of the plan all the same, in clear.
    assert monthly.attributes["encryption"]["at_rest"] is False
    assert kept.tags == {**CLINICAL, "purpose": "migration"}
    assert monthly.tags == {"team": "finance", "data_class": "administrative"}
    for found_snapshot in (kept, monthly):
        assert found_snapshot.attributes["engine"] == "redshift"
        assert found_snapshot.attributes["public_access"] == {"blocked": True, "grants": []}
        assert not list(kind_validator("database").iter_errors(dict(found_snapshot.attributes)))


def test_a_snapshot_of_a_cluster_outside_the_plan_is_undecided(tmp_path: Path) -> None:
    found, _, _ = collect(plan_file(tmp_path, snapshot("audit", "legacy-dw", tags=CLINICAL)))
    encrypted = found["aws_redshift_cluster_snapshot.audit"].attributes["encryption"]
    assert isinstance(encrypted["at_rest"], Unknown) and "legacy-dw" in encrypted["at_rest"].reason


def test_the_gate_judges_snapshots_and_roles_restoring_them(tmp_path: Path, cli: Cli) -> None:
    path = plan_file(tmp_path, cluster("reporting", tags=CLINICAL), snapshot("monthly", "aws_redshift_cluster.reporting"),
                     *role("restorer", "redshift:RestoreFromClusterSnapshot"))
    found, _, _ = collect(path)
    snapshot_id = found["aws_redshift_cluster_snapshot.monthly"].id
    assert snapshot_id in found["aws_iam_role.restorer"].attributes["can_read"]
    result = cli("scan", str(path), "--only", "PHI-ENC-001", "--format", "json")
    assert ("fail", "PHI-ENC-001", "aws_redshift_cluster_snapshot.monthly") in outcomes(result)
