"""Whether AWS databases refuse connections without TLS, read live from the moto server: RDS
instances and Aurora clusters from their (cluster) parameter groups, Redshift from its
``require_ssl``, OpenSearch from HTTPS enforcement and node-to-node encryption, ElastiCache from
its transit encryption mode; judged by PHI-TLS-001 for clinical databases only.

moto lists no parameter of a default group (AWS lists them with their values): there the
documented engine default decides, which these tests show. Redshift parameter groups cannot be
changed on moto: a group requiring TLS is replayed in the shape AWS answers.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from phigate.api import CollectionError, Resource
from phigate.cli import main
from phigate.snapshot import error_from_json, resource_from_json
from phigate_providers.aws.provider import AwsProvider, Settings
from phigate_providers.aws.transport_rules import decide
from tests.aws_server import ACCOUNT, REGION, _Body, client, inject_faults, refusing, reset

PASSWORD = "Not-a-real-secret-4"


def db_arn(name: str) -> str:
    return f"arn:aws:rds:{REGION}:{ACCOUNT}:db:{name}"


def cluster_arn(name: str) -> str:
    return f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:{name}"


def tags(data_class: str) -> list[dict[str, str]]:
    return [{"Key": "data_class", "Value": data_class}]


def seed(aws: Callable[..., Any]) -> None:
    """Clinical and administrative databases of every engine family, each with its group set
    to require TLS, left to its default, or set against it."""
    rds = aws("rds")
    for name, family, parameter, value in (("pg14-forced", "postgres14", "rds.force_ssl", "1"),
                                           ("pg16-off", "postgres16", "rds.force_ssl", "0"),
                                           ("mysql-forced", "mysql8.0", "require_secure_transport", "ON")):
        rds.create_db_parameter_group(DBParameterGroupName=name, DBParameterGroupFamily=family, Description=name)
        rds.modify_db_parameter_group(DBParameterGroupName=name, Parameters=[
            {"ParameterName": parameter, "ParameterValue": value, "ApplyMethod": "immediate"}])
    instances = (("pms", "postgres", "14.10", "pg14-forced", "clinical"),
                 ("pms-replica", "postgres", "14.10", "pg14-forced", "clinical"),
                 ("pms-legacy", "postgres", "14.10", None, "clinical"),
                 ("notes", "postgres", "16.3", None, "clinical"),
                 ("notes-off", "postgres", "16.3", "pg16-off", "clinical"),
                 ("billing", "mysql", "8.0.35", None, "administrative"),
                 ("agenda", "mysql", "8.0.35", "mysql-forced", "clinical"),
                 ("imaging", "sqlserver-se", "15.00", None, "clinical"),
                 ("prescriptions", "oracle-ee", "19.0.0.0", None, "clinical"))
    for name, engine, version, group, data_class in instances:
        rds.create_db_instance(DBInstanceIdentifier=name, DBInstanceClass="db.t3.micro", Engine=engine,
                               EngineVersion=version, MasterUsername="admin", MasterUserPassword=PASSWORD,
                               AllocatedStorage=20, Tags=tags(data_class),
                               **({"DBParameterGroupName": group} if group else {}))
    rds.create_db_cluster_parameter_group(DBClusterParameterGroupName="aurora-forced",
                                          DBParameterGroupFamily="aurora-postgresql16", Description="tls")
    rds.modify_db_cluster_parameter_group(DBClusterParameterGroupName="aurora-forced", Parameters=[
        {"ParameterName": "rds.force_ssl", "ParameterValue": "1", "ApplyMethod": "immediate"}])
    rds.create_db_cluster(DBClusterIdentifier="records", Engine="aurora-postgresql", EngineVersion="16.4",
                          MasterUsername="admin", MasterUserPassword=PASSWORD,
                          DBClusterParameterGroupName="aurora-forced", Tags=tags("clinical"))
    rds.create_db_instance(DBInstanceIdentifier="records-1", DBInstanceClass="db.r5.large",
                           Engine="aurora-postgresql", DBClusterIdentifier="records", Tags=tags("clinical"))
    # On its default cluster group, which the emulator names but does not describe.
    rds.create_db_cluster(DBClusterIdentifier="archive", Engine="aurora-postgresql", EngineVersion="16.4",
                          MasterUsername="admin", MasterUserPassword=PASSWORD, Tags=tags("administrative"))
    aws("redshift").create_cluster(ClusterIdentifier="warehouse", NodeType="dc2.large", MasterUsername="admin",
                                   MasterUserPassword=PASSWORD, Tags=tags("clinical"))
    opensearch = aws("opensearch")
    opensearch.create_domain(DomainName="notes-search", TagList=tags("clinical"),
                             DomainEndpointOptions={"EnforceHTTPS": True,
                                                    "TLSSecurityPolicy": "Policy-Min-TLS-1-2-2019-07"},
                             NodeToNodeEncryptionOptions={"Enabled": True})
    opensearch.create_domain(DomainName="intake-search", TagList=tags("clinical"),
                             DomainEndpointOptions={"EnforceHTTPS": True},
                             NodeToNodeEncryptionOptions={"Enabled": False})
    elasticache = aws("elasticache")
    for name, transit in (("sessions", {"TransitEncryptionEnabled": True, "TransitEncryptionMode": "required"}),
                          ("migrating", {"TransitEncryptionEnabled": True, "TransitEncryptionMode": "preferred"}),
                          ("plain", {})):
        elasticache.create_replication_group(ReplicationGroupId=name, ReplicationGroupDescription=name,
                                             Engine="redis", CacheNodeType="cache.t3.micro", Tags=tags("clinical"),
                                             **transit)


def collect() -> tuple[dict[str, Resource], list[CollectionError]]:
    records = list(AwsProvider(Settings(regions=(REGION,))).collect())
    return ({r.id: r for r in records if isinstance(r, Resource)},
            [r for r in records if isinstance(r, CollectionError)])


@pytest.fixture(scope="module")
def estate(endpoint: str, tmp_path_factory: pytest.TempPathFactory
           ) -> Iterator[tuple[dict[str, Resource], list[CollectionError], dict[str, Any]]]:
    """The seeded estate read live once into a snapshot, and the snapshot scanned."""
    reset(endpoint)
    seed(lambda service, region=REGION: client(endpoint, service, region))
    folder = tmp_path_factory.mktemp("tls")
    snapshot, out = folder / "estate.json", folder / "report.json"
    assert main(["collect", "--provider", "aws", "--region", REGION, "--quiet", "--output", str(snapshot)]) == 0
    main(["scan", str(snapshot), "--quiet", "--show-passed", "--only", "PHI-TLS-001", "--format", f"json={out}"])
    document = json.loads(snapshot.read_text())
    found = {r.id: r for r in map(resource_from_json, document["resources"])}
    yield found, [error_from_json(e) for e in document["errors"]], json.loads(out.read_text())


def required(found: dict[str, Resource], rid: str) -> bool | None:
    value = found[rid].attributes.get("secure_transport_required")
    assert value is None or isinstance(value, bool)
    return value


def tls_statuses(report: dict[str, Any]) -> dict[str, str]:
    return {f["resource"]["id"]: f["status"] for f in report["findings"] if f["policy_id"] == "PHI-TLS-001"}


# --- documented defaults --------------------------------------------------------------------------

@pytest.mark.parametrize(("engine", "version", "expected"), [
    ("postgres", "14.10", False),
    ("postgres", "15.2", True),
    ("postgres", "16.3", True),
    ("aurora-postgresql", "16.4", False),
    ("mysql", "8.0.35", False),
    ("mysql", "8.4.3", False),
    ("mysql", "9.7.0", True),
    ("mysql", "9.1.0", None),  # between the documented ranges
    ("mariadb", "10.11.6", False),
    ("mariadb", "11.8.3", True),
    ("aurora-mysql", "5.7.mysql_aurora.2.11.2", False),
    ("aurora-mysql", "8.0.mysql_aurora.3.05.2", False),
    ("aurora-mysql", "8.4.7", True),
    ("sqlserver-ee", "15.00.4345.5.v1", False),
    ("redshift", None, False),
    ("oracle-ee", "19.0.0.0", None),
    ("db2-se", "11.5.9.0", None),
    ("postgres", "", None),
])
def test_a_group_that_sets_no_value_has_the_engines_documented_default(
        engine: str, version: str | None, expected: bool | None) -> None:
    assert decide(engine, version, "default", {}).required is expected


def test_a_value_the_group_states_beats_the_default_and_a_pending_requirement_is_undecided() -> None:
    assert decide("postgres", "16.3", "g", {"rds.force_ssl": "0"}).required is False
    assert decide("postgres", "14.10", "g", {"rds.force_ssl": "1"}).required is True
    assert decide("mysql", "8.0.35", "g", {"require_secure_transport": "ON"}).required is True
    assert decide("redshift", None, "g", {"require_ssl": "true"}).required is True
    # Until the server restarts with it, a requirement is not the server's; a refusal to
    # require TLS is (the server takes plain connections either way).
    pending = decide("postgres", "14.10", "g", {"rds.force_ssl": "1"}, in_force=False)
    assert pending.required is None and "pending reboot" in pending.evidence["reason"]
    assert decide("postgres", "14.10", "g", {"rds.force_ssl": "0"}, in_force=False).required is False


# --- read live --------------------------------------------------------------------------------------

def test_rds_instances_read_their_parameter_group_or_the_documented_default(estate: Any) -> None:
    found, errors, _ = estate
    assert [e for e in errors if e.kinds == ("database",)] == []
    assert required(found, db_arn("pms")) is True  # rds.force_ssl = 1 set on PostgreSQL 14
    assert required(found, db_arn("pms-legacy")) is False  # default.postgres14: 0
    assert required(found, db_arn("notes")) is True  # default.postgres16: 1 from PostgreSQL 15 on
    assert required(found, db_arn("notes-off")) is False  # turned off on PostgreSQL 16
    assert required(found, db_arn("agenda")) is True  # require_secure_transport = ON
    assert required(found, db_arn("billing")) is False  # default OFF
    assert required(found, db_arn("imaging")) is False  # SQL Server: rds.force_ssl 0
    assert found[db_arn("pms")].raw["secure_transport"] == {
        "parameter_group": "pg14-forced", "parameter": "rds.force_ssl", "value": "1", "source": "parameter group"}
    assert found[db_arn("notes")].raw["secure_transport"]["source"] == "documented default"


def test_oracle_is_left_undecided_never_taken_for_tls_only(estate: Any) -> None:
    found, _, report = estate
    assert "secure_transport_required" not in found[db_arn("prescriptions")].attributes
    assert tls_statuses(report)[db_arn("prescriptions")] == "error"


def test_aurora_members_take_their_clusters_parameter_group(estate: Any) -> None:
    found, errors, _ = estate
    assert required(found, cluster_arn("records")) is True
    # A default group holds the engine's defaults: Aurora PostgreSQL's rds.force_ssl is 0.
    assert required(found, cluster_arn("archive")) is False
    assert not [e for e in errors if e.resource_id == cluster_arn("archive")]
    assert required(found, db_arn("records-1")) is True
    assert found[db_arn("records-1")].raw["secure_transport"]["parameter_group"] == "aurora-forced"


def test_redshift_opensearch_and_elasticache_settings(estate: Any) -> None:
    found, _, _ = estate
    assert required(found, f"arn:aws:redshift:{REGION}:{ACCOUNT}:cluster:warehouse") is False
    domains = {r.name: r for r in found.values() if r.type == "aws.opensearch.domain"}
    assert domains["notes-search"].attributes["secure_transport_required"] is True
    # HTTPS at the endpoint, plain traffic between the nodes.
    assert domains["intake-search"].attributes["secure_transport_required"] is False
    caches = {r.name: r.attributes["secure_transport_required"] for r in found.values()
              if r.type == "aws.elasticache.replication_group"}
    assert caches == {"sessions": True, "migrating": False, "plain": False}


def test_phi_tls_001_fails_clinical_databases_that_accept_plain_connections_and_skips_others(
        estate: Any) -> None:
    _, _, report = estate
    status = tls_statuses(report)
    assert status[db_arn("pms")] == "pass"
    assert status[db_arn("notes")] == "pass"
    assert status[db_arn("pms-legacy")] == "fail"
    assert status[db_arn("imaging")] == "fail"
    assert status[db_arn("billing")] == "skip"  # administrative: not judged, whatever its setting
    assert status[cluster_arn("records")] == "pass"
    failing = next(f for f in report["findings"] if f["resource"]["id"] == db_arn("pms-legacy"))
    assert "rds.force_ssl" in failing["remediation"]


# --- what was not read -----------------------------------------------------------------------------

def test_a_parameter_group_that_cannot_be_read_is_an_error_for_each_database_using_it(
        estate: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []

    def fault(service: str, region: str, operation: str, request: Any) -> Any:
        if operation in {"DescribeDBParameters", "DescribeDBClusterParameters"}:
            calls.append(json.dumps(request.body.decode() if isinstance(request.body, bytes) else request.body))
        return refusing("DescribeDBParameters", "AccessDenied", 403, json_protocol=False)(
            service, region, operation, request)

    inject_faults(monkeypatch, fault)
    found, errors = collect()
    for name in ("pms", "pms-replica", "agenda", "notes"):
        assert "secure_transport_required" not in found[db_arn(name)].attributes
        assert any(e.resource_id == db_arn(name) and e.permission == "rds:DescribeDBParameters" for e in errors)
    # Read once per group (botocore retries nothing on a denial): pg14-forced for two instances.
    assert sum("pg14-forced" in c for c in calls) == 1
    # The cluster's group is another operation, which was allowed.
    assert found[cluster_arn("records")].attributes["secure_transport_required"] is True


def test_a_redshift_group_requiring_tls_is_read_as_aws_answers_it(
        estate: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    body = ("<DescribeClusterParametersResponse xmlns=\"http://redshift.amazonaws.com/doc/2012-12-01/\">"
            "<DescribeClusterParametersResult><Parameters>"
            "<Parameter><ParameterName>enable_user_activity_logging</ParameterName><ParameterValue>true"
            "</ParameterValue><Source>user</Source><DataType>boolean</DataType></Parameter>"
            "<Parameter><ParameterName>require_ssl</ParameterName><ParameterValue>true</ParameterValue>"
            "<Source>user</Source><DataType>boolean</DataType><ApplyType>static</ApplyType></Parameter>"
            "</Parameters></DescribeClusterParametersResult>"
            "<ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></DescribeClusterParametersResponse>")

    def recorded(service: str, region: str, operation: str, request: Any) -> AWSResponse | None:
        if operation != "DescribeClusterParameters":
            return None
        return AWSResponse("https://recorded", 200, {"Content-Type": "text/xml"}, _Body(body.encode()))

    inject_faults(monkeypatch, recorded)
    found, _ = collect()
    warehouse = found[f"arn:aws:redshift:{REGION}:{ACCOUNT}:cluster:warehouse"]
    assert warehouse.attributes["secure_transport_required"] is True
    assert warehouse.raw["secure_transport"]["value"] == "true"
