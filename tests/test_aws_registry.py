"""The AWS service registry: the permissions are exactly its operations, every service it reads
region by region yields a known kind, and the analysis the plan reader shares is SDK-free."""

from __future__ import annotations

import ast
import subprocess
import sys

from phigate.api import KINDS, Resource
from phigate_providers import aws
from phigate_providers.aws import operations, services
from phigate_providers.aws.read_actions import SNAPSHOT_ESCALATION, SNAPSHOT_READ, is_escalation

from .conftest import ROOT

TERRAFORM = ROOT / "providers" / "phigate_providers" / "terraform"


def test_the_operations_table_is_the_core_calls_and_every_services_own() -> None:
    declared: dict[tuple[str, str], str] = dict(services.CORE_OPERATIONS)
    for service in services.SERVICES:
        assert not set(service.operations) & set(declared), f"{service.name} declares an operation twice"
        declared.update(service.operations)
    assert declared == operations.OPERATIONS
    assert operations.permissions() == tuple(sorted({a for a in declared.values() if a}))
    assert all(operations.is_read(name) for (_, name) in declared if name != "AssumeRole")


def test_every_service_read_region_by_region_yields_a_known_kind_under_its_own_types() -> None:
    seen: set[str] = set()
    for service in services.COLLECTED:
        assert service.kind in KINDS and service.regional
        assert service.types and not seen & set(service.types), service.name
        seen |= set(service.types)


def test_snapshots_are_read_restoring_or_copying_them_and_reshared_as_an_escalation() -> None:
    for rtype in ("aws.rds.db_snapshot", "aws.rds.db_cluster_snapshot", "aws.ec2.snapshot", "aws.ec2.image",
                  "aws.redshift.snapshot"):
        assert SNAPSHOT_READ[rtype] and not any(is_escalation(a) for a in SNAPSHOT_READ[rtype])
        assert all(is_escalation(a) for a in SNAPSHOT_ESCALATION[rtype])


def test_a_copy_takes_its_sources_tags_under_its_own_only_when_its_source_was_read() -> None:
    database = Resource("arn:db", "aws.rds.db_instance", "database", "aws", tags={"data_class": "clinical"})
    by_name = {service.name: service for service in services.COLLECTED}
    volumes, databases = by_name["EBS volumes"], by_name["RDS databases"]

    def snapshot(source: str, **tags: str) -> Resource:
        return Resource(f"arn:snap:{source}", "aws.rds.db_snapshot", "database", "aws", tags=tags,
                        raw={"source": source})

    found = services.with_source_tags({databases: [database, snapshot("arn:db"), snapshot("arn:db", team="x"),
                                                   snapshot("arn:gone")],
                                       volumes: [snapshot("arn:db", data_class="public")]})
    _, inherited, both, orphan = found[databases]
    assert inherited.tags == {"data_class": "clinical"} and both.tags == {"data_class": "clinical", "team": "x"}
    assert orphan.tags == {}  # its source not read: its own tags decide
    assert found[volumes][0].tags == {"data_class": "clinical,public"}  # the strictest class wins


def test_the_plan_reader_imports_only_the_sdk_free_analysis_which_loads_no_sdk() -> None:
    imported: set[str] = set()
    for path in TERRAFORM.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("phigate_providers.aws."):
                imported.add(str(node.module).rsplit(".", 1)[1])
    assert imported and imported <= set(aws.SDK_FREE)
    code = ("import sys\n"
            "for name in ('boto3', 'botocore'):\n"
            "    sys.modules[name] = None\n"
            + "".join(f"import phigate_providers.aws.{module}\n" for module in aws.SDK_FREE))
    result = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
