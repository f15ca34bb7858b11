"""How connections to clinical databases authenticate, on a real PostgreSQL server: pg_hba
rules with trust, password or md5 in front of clinical tables, password storage (PHI-AUTH-003)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from phigate_providers.postgres.hba import auth_methods, clinical_auth_methods, plaintext_admits
from phigate_providers.postgres.permissions import SCANNER_ROLE, permissions_sql
from phigate_providers.postgres.queries import HbaRow

from .conftest import CliResult
from .pg_server import Cluster, _chown

POLICY = "PHI-AUTH-003"
SCANNER_PASSWORD = "scanner-Passw0rd-for-tests"


@pytest.fixture(scope="module")
def clinic(pg: Cluster) -> Iterator[Cluster]:
    """A clinical database (a table labelled clinical) and an administrative one, and the
    least-privilege scanning role of the permissions document."""
    for name, schema, data_class in (("notes", "clinical", "clinical"), ("billing", "admin", "administrative")):
        pg.execute(f'CREATE DATABASE "{name}"')
        pg.execute(f"CREATE SCHEMA {schema}; CREATE TABLE {schema}.records (id int); "
                   f"COMMENT ON TABLE {schema}.records IS 'data_class={data_class}'", dbname=name)
    pg.execute(permissions_sql())
    pg.execute(f"ALTER ROLE {SCANNER_ROLE} PASSWORD '{SCANNER_PASSWORD}'")
    yield pg


@pytest.fixture
def scan(cli: Callable[..., CliResult], tmp_path: Path, clinic: Cluster
         ) -> Callable[..., tuple[CliResult, dict[str, Any]]]:
    def run(*rules: str, scanner: bool = True) -> tuple[CliResult, dict[str, Any]]:
        clinic.write_hba(rules)
        dsn = clinic.dsn(user=SCANNER_ROLE, password=SCANNER_PASSWORD) if scanner else clinic.dsn()
        report = tmp_path / "report.json"
        result = cli("scan", "--provider", "postgres", "--dsn", dsn, "--only", POLICY, "--show-passed",
                     "--format", f"json={report}", "--quiet")
        return result, json.loads(report.read_text())
    return run


def _finding(report: dict[str, Any]) -> dict[str, Any]:
    [finding] = [f for f in report["findings"] if f["policy_id"] == POLICY]
    return finding


SCRAM = "host all all 127.0.0.1/32 scram-sha-256"


def test_scram_in_front_of_clinical_databases_passes(scan: Any, clinic: Cluster) -> None:
    result, report = scan(SCRAM)
    assert result.code == 0, result.err
    assert _finding(report)["status"] == "pass"


@pytest.mark.parametrize("weak", [
    "host notes all 127.0.0.1/32 md5",
    "host all all 127.0.0.1/32 password",
    "host notes all 10.0.0.0/8 trust",
    "host notes all ::1/128 trust",
    "host notes all 10.0.0.0/8 ident",  # the client's own ident server names the user
])
def test_a_weak_method_admitting_a_clinical_database_fails(scan: Any, weak: str) -> None:
    result, report = scan(weak, SCRAM)
    assert result.code == 1, result.err
    finding = _finding(report)
    assert finding["status"] == "fail"
    method = weak.rsplit(" ", 1)[-1]
    assert method in json.dumps(finding["evidence"])


def test_weak_methods_for_administrative_databases_only_or_shadowed_rules_pass(scan: Any) -> None:
    """md5 for the billing database, and a trust rule every connection meets a SCRAM rule
    for every user and address first, admit no clinical connection."""
    result, report = scan("host billing all 127.0.0.1/32 md5", "host all all 0.0.0.0/0 scram-sha-256",
                          "host all all 10.0.0.0/8 trust")
    assert result.code == 0, result.err
    assert _finding(report)["status"] == "pass"


def test_unreadable_rules_are_an_error_never_a_pass(scan: Any, clinic: Cluster) -> None:
    clinic.execute(f"REVOKE SELECT ON pg_catalog.pg_hba_file_rules FROM {SCANNER_ROLE}")
    try:
        result, report = scan(SCRAM)
    finally:
        clinic.execute(f"GRANT SELECT ON pg_catalog.pg_hba_file_rules TO {SCANNER_ROLE}")
    assert result.code == 3, result.err
    assert _finding(report)["status"] == "error"
    assert any("pg_hba_file_rules" in (e["permission"] or "") for e in report["collection_errors"])


def test_md5_password_storage_fails_whatever_the_rules(scan: Any, clinic: Cluster) -> None:
    clinic.execute("ALTER SYSTEM SET password_encryption = 'md5'")
    clinic.execute("SELECT pg_reload_conf()")
    try:
        result, report = scan(SCRAM)
    finally:
        clinic.execute("ALTER SYSTEM RESET password_encryption")
        clinic.execute("SELECT pg_reload_conf()")
    assert result.code == 1, result.err
    assert "password_encryption" in json.dumps(_finding(report)["evidence"])


def test_a_database_whose_tables_were_not_read_leaves_a_weak_rule_undecided(
    scan: Any, clinic: Cluster
) -> None:
    clinic.execute(f"REVOKE CONNECT ON DATABASE billing FROM PUBLIC, {SCANNER_ROLE}")
    try:
        result, report = scan("host billing all 127.0.0.1/32 md5", SCRAM)
    finally:
        clinic.execute(f"GRANT CONNECT ON DATABASE billing TO PUBLIC, {SCANNER_ROLE}")
    assert result.code == 3, result.err
    assert _finding(report)["status"] == "error"
    assert any("authentication methods" in e["message"] for e in report["collection_errors"])


# --- the rule analysis, on rows as pg_hba_file_rules gives them -------------------------------

def _rule(line: int, kind: str, database: str, user: str, address: str | None, method: str) -> HbaRow:
    return HbaRow(line, kind, (database,), (user,), address, None, method, None)


def test_the_first_rule_for_every_user_takes_its_channel() -> None:
    rules = [
        _rule(1, "local", "all", "all", None, "peer"),
        _rule(2, "local", "all", "all", None, "trust"),  # never reached: line 1 takes the socket
        _rule(3, "hostssl", "all", "all", "0.0.0.0/0", "scram-sha-256"),
        _rule(4, "host", "notes", "all", "0.0.0.0/0", "md5"),  # still meets plain IPv4 connections
        _rule(5, "host", "notes", "dba", "::/0", "reject"),  # one user: takes nothing
        _rule(6, "host", "notes", "all", "::/0", "password"),
    ]
    assert auth_methods(rules, "notes") == {"peer", "scram-sha-256", "md5", "password"}
    assert auth_methods(rules, "billing") == {"peer", "scram-sha-256"}


def test_a_sameuser_rule_takes_no_channel() -> None:
    rules = [_rule(1, "host", "sameuser", "all", "0.0.0.0/0", "scram-sha-256"),
             _rule(2, "host", "all", "all", "0.0.0.0/0", "trust")]
    assert auth_methods(rules, "notes") == {"scram-sha-256", "trust"}


def test_an_unread_database_decides_only_when_its_methods_are_the_clinical_ones() -> None:
    rules = [_rule(1, "host", "archive", "all", "0.0.0.0/0", "md5"),
             _rule(2, "host", "all", "all", "0.0.0.0/0", "scram-sha-256")]
    assert clinical_auth_methods(rules, ["notes"], []) == ["scram-sha-256"]
    assert clinical_auth_methods(rules, ["notes"], ["archive"]) is None
    assert clinical_auth_methods(rules, ["notes"], ["billing"]) == ["scram-sha-256"]
    assert clinical_auth_methods(rules, ["notes"], [], unlisted=True) is None
    assert clinical_auth_methods(rules, [], []) == []


# --- rules as the server orders them, replication, rules that take only some connections ------

def test_rules_of_an_included_file_are_met_where_the_include_stands(scan: Any, clinic: Cluster) -> None:
    """PostgreSQL 16 reads ``include`` files in place: a weak rule on line 6 of a file included on
    line 2 is met before the main file's line 3. Ordering by line number alone would hide it
    behind the SCRAM rule for every address (pg_hba_file_rules' rule_number is the order)."""
    included = clinic.data / "weak.conf"
    included.write_text("# rules for the clinic's own network\n" * 5 + "host notes all 127.0.0.1/32 md5\n")
    _chown(included, clinic.run_as)
    result, report = scan("include weak.conf", "host all all 0.0.0.0/0 scram-sha-256")
    assert result.code == 1, result.err
    assert "md5" in json.dumps(_finding(report)["evidence"])


def test_a_weak_replication_rule_admits_every_database(scan: Any) -> None:
    """A physical replication connection streams the whole cluster (pg_basebackup), clinical
    databases included, and only rules naming ``replication`` match it: ``all`` never does."""
    result, report = scan("host all all 0.0.0.0/0 scram-sha-256", "host replication all 127.0.0.1/32 trust")
    assert result.code == 1, result.err
    assert "trust" in json.dumps(_finding(report)["evidence"])


def test_replication_rules_take_no_channel_of_ordinary_connections() -> None:
    rules = [_rule(1, "host", "replication", "all", "0.0.0.0/0", "scram-sha-256"),
             _rule(2, "host", "all", "all", "0.0.0.0/0", "md5"),
             _rule(3, "host", "replication", "all", "0.0.0.0/0", "trust")]  # taken by line 1
    assert auth_methods(rules, "notes") == {"scram-sha-256", "md5"}


@pytest.mark.parametrize("taker", ["sameuser", "@clinical_dbs", "/^no"])
def test_a_reject_for_some_databases_stops_no_plaintext_connection_to_others(taker: str) -> None:
    """``sameuser`` rejects only the connections whose user is named as the database; a file or a
    pattern is not assumed to name the database for certain. A later plaintext rule still admits
    the clinical database, as the authentication methods already say."""
    rules = [_rule(1, "host", taker, "all", "0.0.0.0/0", "reject"),
             _rule(2, "host", "all", "all", "0.0.0.0/0", "md5")]
    assert plaintext_admits(rules, "notes")
    assert auth_methods(rules, "notes") == {"md5"}
    assert not plaintext_admits([_rule(1, "host", "all", "all", "0.0.0.0/0", "reject"), rules[1]], "notes")


# --- passwords still stored as MD5 hashes -----------------------------------------------------

MD5_VIEW = "public.phigate_md5_password_roles"


@pytest.fixture
def legacy(clinic: Cluster) -> Iterator[str]:
    """A role whose password was set while password_encryption was md5: it keeps that hash after
    the server moved to SCRAM."""
    clinic.execute("SET password_encryption = 'md5'; CREATE ROLE legacy_app LOGIN PASSWORD 'Legacy-Passw0rd'")
    yield "legacy_app"
    clinic.execute("DROP ROLE legacy_app")


@pytest.mark.parametrize("scanner", [True, False], ids=["through the view", "superuser"])
def test_a_role_still_holding_an_md5_hash_fails_whatever_password_encryption_says(
        scan: Any, legacy: str, scanner: bool) -> None:
    result, report = scan(SCRAM, scanner=scanner)
    assert result.code == 1, result.err
    evidence = json.dumps(_finding(report)["evidence"])
    assert legacy in evidence and "md5%" not in evidence


@pytest.mark.parametrize("breach", [
    f"REVOKE SELECT ON {MD5_VIEW} FROM {SCANNER_ROLE}",
    f"ALTER VIEW {MD5_VIEW} OWNER TO {SCANNER_ROLE}",  # its owner's rights would be the scanner's own
], ids=["not readable", "not a superuser's"])
def test_md5_hashes_the_scanner_cannot_see_are_an_error_never_a_pass(
        scan: Any, clinic: Cluster, breach: str) -> None:
    clinic.execute(breach)
    try:
        result, report = scan(SCRAM)
    finally:
        clinic.execute(f"ALTER VIEW {MD5_VIEW} OWNER TO {clinic.superuser}; "
                       f"GRANT SELECT ON {MD5_VIEW} TO {SCANNER_ROLE}")
    assert result.code == 3, result.err
    assert _finding(report)["status"] == "error"
    assert any("phigate_md5_password_roles" in (e["permission"] or "") for e in report["collection_errors"])


def test_md5_hashes_are_read_only_for_the_policies_that_need_them(
        cli: Callable[..., CliResult], clinic: Cluster, tmp_path: Path) -> None:
    clinic.execute(f"REVOKE SELECT ON {MD5_VIEW} FROM {SCANNER_ROLE}")
    try:
        report = tmp_path / "tls.json"
        result = cli("scan", "--provider", "postgres", "--dsn",
                     clinic.dsn(user=SCANNER_ROLE, password=SCANNER_PASSWORD), "--only", "PHI-TLS-001",
                     "--format", f"json={report}", "--quiet")
    finally:
        clinic.execute(f"GRANT SELECT ON {MD5_VIEW} TO {SCANNER_ROLE}")
    assert not any("md5" in e["message"].lower() for e in json.loads(report.read_text())["collection_errors"])
    assert result.code in (0, 1), result.err


def test_a_rule_the_server_cannot_parse_is_an_error_naming_its_file_and_line(scan: Any, clinic: Cluster) -> None:
    """The server keeps the rules it loaded last when the file has an error, and
    pg_hba_file_rules shows the file on disk: which rules are in force is unknown."""
    clinic.write_hba([SCRAM])  # in force, and let the scanner in
    result, report = scan("host notes all 127.0.0.1/32 no-such-method", SCRAM)
    assert result.code == 3, result.err
    assert _finding(report)["status"] == "error"
    [error] = [e for e in report["collection_errors"] if "cannot be told from the file" in e["message"]]
    assert "pg_hba.conf line 2" in error["message"] and "no-such-method" in error["message"]
