"""MemoryDB snapshots of a Terraform plan, read as the live reader reads them: databases encrypted
as their cluster (or under the key they name), classed by it, never public, read by whoever may
restore or copy them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from phigate.api import Unknown
from phigate.validation import kind_validator

from .conftest import CliResult
from .test_terraform_aws_backup import CLINICAL, REGION, block, plan_file, ref
from .test_terraform_provider import collect, outcomes


def _plan(tmp_path: Path) -> Path:
    return plan_file(
        tmp_path,
        block("aws_kms_key.records", {"description": "records", "tags": CLINICAL, "tags_all": CLINICAL}),
        block("aws_memorydb_cluster.sessions", {"name": "sessions", "node_type": "db.t4g.small",
                                                "acl_name": "open-access", "tags": CLINICAL, "tags_all": CLINICAL}),
        # Of the cluster, by reference; another under a customer key; one of a cluster outside the plan.
        block("aws_memorydb_snapshot.nightly", {"name": "sessions-nightly", "tags": {}, "tags_all": {}},
              expressions={"cluster_name": ref("aws_memorydb_cluster.sessions", "name")}),
        block("aws_memorydb_snapshot.keyed", {"name": "sessions-keyed", "cluster_name": "sessions", "tags": {},
                                              "tags_all": {}},
              unknown={"kms_key_arn": True}, expressions={"kms_key_arn": ref("aws_kms_key.records")}),
        block("aws_memorydb_snapshot.elsewhere", {"name": "other-nightly", "cluster_name": "other", "tags": {},
                                                  "tags_all": {}}),
    )


def test_memorydb_snapshots_are_databases_encrypted_and_classed_as_their_cluster(tmp_path: Path) -> None:
    found, errors, _ = collect(_plan(tmp_path))
    assert errors == []
    nightly, keyed, elsewhere = (found[f"aws_memorydb_snapshot.{n}"] for n in ("nightly", "keyed", "elsewhere"))
    assert (nightly.kind, nightly.type, nightly.region) == ("database", "aws.memorydb.snapshot", REGION)
    assert nightly.attributes["encryption"] == {"at_rest": True, "algorithm": "AES256", "key": None,
                                                "key_manager": "provider"}  # its cluster's: a key MemoryDB owns
    assert keyed.attributes["encryption"]["key"] == found["aws_kms_key.records"].id
    assert keyed.attributes["encryption"]["key_manager"] == "customer"
    # A cluster outside the plan: encrypted all the same, under a key the plan does not tell.
    assert elsewhere.attributes["encryption"]["at_rest"] is True
    assert isinstance(elsewhere.attributes["encryption"]["key_manager"], Unknown)
    assert nightly.tags["data_class"] == keyed.tags["data_class"] == "clinical"  # their cluster's (by name too)
    assert "data_class" not in elsewhere.tags
    assert nightly.attributes["public_access"] == {"blocked": True, "grants": []}
    assert not list(kind_validator("database").iter_errors(
        {k: v for k, v in nightly.attributes.items() if v is not None}))


def test_store_policies_judge_planned_memorydb_snapshots(tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    found = {(p, a): s for s, p, a in outcomes(cli("scan", str(_plan(tmp_path)), "--format", "json"))}
    assert found[("PHI-ENC-002", "aws_memorydb_snapshot.nightly")] == "fail"
    assert ("PHI-ENC-002", "aws_memorydb_snapshot.keyed") not in found  # passes: not reported
    # Of a cluster outside the plan, untagged: unclassified, and reported.
    assert found[("PHI-CLASS-001", "aws_memorydb_snapshot.elsewhere")] == "fail"
