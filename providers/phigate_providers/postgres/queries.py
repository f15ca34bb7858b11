"""Catalog queries, each returning plain rows. None of them reads a table's contents: they read
pg_catalog, settings and pg_hba_file_rules, and ask privilege functions about other roles."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from phigate_providers.postgres.connect import Connection

#: Settings a server resource is built from; ``pgaudit.*`` are read too when they exist.
SETTINGS = ("server_version", "ssl", "password_encryption", "log_connections",
            "log_disconnections", "log_statement", "shared_preload_libraries")

#: Relations holding rows of their own: tables, partitioned tables, materialized views.
_RELKINDS = "('r', 'p', 'm')"
_USER_SCHEMA = ("n.nspname NOT IN ('pg_catalog', 'information_schema') "
                "AND n.nspname NOT LIKE 'pg\\_toast%' AND n.nspname NOT LIKE 'pg\\_temp\\_%'")


@dataclass(frozen=True)
class HbaRow:
    line: int
    type: str
    databases: tuple[str, ...]
    users: tuple[str, ...]
    address: str | None
    netmask: str | None
    method: str | None
    error: str | None


@dataclass(frozen=True)
class RoleRow:
    name: str
    login: bool
    superuser: bool
    create_role: bool
    bypass_rls: bool
    inherit: bool
    valid_until: str | None
    member_of: tuple[str, ...]


@dataclass(frozen=True)
class SchemaRow:
    name: str
    owner: str
    comment: str | None


@dataclass(frozen=True)
class TableRow:
    schema: str
    name: str
    relkind: str
    owner: str
    rls_enabled: bool
    rls_forced: bool
    comment: str | None
    #: (grantee, privileges) from the table's ACL; PUBLIC for grants to everyone.
    grants: tuple[tuple[str, tuple[str, ...]], ...]
    public_column_grant: bool
    bytea_columns: tuple[str, ...]


def settings(conn: Connection) -> dict[str, str]:
    """The visible settings among SETTINGS and pgaudit's. A setting the role may not see is
    simply absent from pg_settings (shared_preload_libraries needs pg_read_all_settings)."""
    rows = conn.rows("SELECT name, setting FROM pg_catalog.pg_settings "
                        "WHERE name = ANY(%s) OR name LIKE 'pgaudit.%%'", (list(SETTINGS),),
                        what="server settings")
    return {str(name): str(value) for name, value in rows}


def hba_rules(conn: Connection) -> list[HbaRow]:
    rows = conn.rows("SELECT line_number, type, database, user_name, address, netmask, auth_method, "
                        "error FROM pg_catalog.pg_hba_file_rules ORDER BY line_number",
                        what="pg_hba_file_rules")
    return [HbaRow(int(line), str(kind or ""), tuple(dbs or ()), tuple(users or ()), address, netmask,
                   method, error)
            for line, kind, dbs, users, address, netmask, method, error in rows]


def databases(conn: Connection) -> list[str]:
    rows = conn.rows("SELECT datname FROM pg_catalog.pg_database "
                        "WHERE datallowconn AND NOT datistemplate ORDER BY datname", what="pg_database")
    return [str(name) for (name,) in rows]


def roles(conn: Connection) -> list[RoleRow]:
    """Every role but the predefined ones (pg_*), which cannot be changed; what they grant shows
    in the can_read of their members."""
    rows = conn.rows(
        "SELECT r.rolname, r.rolcanlogin, r.rolsuper, r.rolcreaterole, r.rolbypassrls, r.rolinherit, "
        "r.rolvaliduntil::text, ARRAY(SELECT g.rolname FROM pg_catalog.pg_auth_members m "
        "JOIN pg_catalog.pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid ORDER BY 1) "
        "FROM pg_catalog.pg_roles r WHERE r.rolname !~ '^pg_' ORDER BY r.rolname", what="pg_roles")
    return [RoleRow(str(name), bool(login), bool(sup), bool(create), bool(bypass), bool(inherit),
                    until, tuple(member_of or ()))
            for name, login, sup, create, bypass, inherit, until, member_of in rows]


def reachable_roles(conn: Connection) -> dict[str, set[str]]:
    """Role → the roles whose privileges it can use: its own, those it inherits and those it may
    SET ROLE to (any membership before PostgreSQL 16, the SET option from 16 on)."""
    mode = "SET" if conn.version_num >= 160000 else "MEMBER"
    rows = conn.rows("SELECT r.rolname, g.rolname FROM pg_catalog.pg_roles r "
                        "JOIN pg_catalog.pg_roles g ON pg_catalog.pg_has_role(r.oid, g.oid, %s) "
                        "WHERE r.rolname !~ '^pg_'", (mode,), what="role memberships")
    reach: dict[str, set[str]] = defaultdict(set)
    for role, target in rows:
        reach[str(role)].add(str(target))
    return dict(reach)


def schemas(conn: Connection) -> list[SchemaRow]:
    rows = conn.rows(
        "SELECT n.nspname, pg_catalog.pg_get_userbyid(n.nspowner), "
        "pg_catalog.obj_description(n.oid, 'pg_namespace') FROM pg_catalog.pg_namespace n "
        f"WHERE {_USER_SCHEMA} ORDER BY n.nspname", what="pg_namespace")
    return [SchemaRow(str(name), str(owner), comment) for name, owner, comment in rows]


def tables(conn: Connection) -> list[TableRow]:
    rows = conn.rows(
        "SELECT n.nspname, c.relname, c.relkind::text, pg_catalog.pg_get_userbyid(c.relowner), "
        "c.relrowsecurity, c.relforcerowsecurity, pg_catalog.obj_description(c.oid, 'pg_class'), "
        "ARRAY(SELECT ARRAY[CASE WHEN a.grantee = 0 THEN 'PUBLIC' "
        "ELSE pg_catalog.pg_get_userbyid(a.grantee) END, a.privilege_type] "
        "FROM pg_catalog.aclexplode(COALESCE(c.relacl, pg_catalog.acldefault('r', c.relowner))) a), "
        "EXISTS (SELECT 1 FROM pg_catalog.pg_attribute at "
        "CROSS JOIN LATERAL pg_catalog.aclexplode(at.attacl) x "
        "WHERE at.attrelid = c.oid AND at.attacl IS NOT NULL AND x.grantee = 0), "
        "ARRAY(SELECT at.attname::text FROM pg_catalog.pg_attribute at "
        "JOIN pg_catalog.pg_type t ON t.oid = at.atttypid "
        "WHERE at.attrelid = c.oid AND at.attnum > 0 AND NOT at.attisdropped "
        "AND 'pg_catalog.bytea'::regtype IN (t.oid, t.typbasetype) ORDER BY at.attnum) "
        "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        f"WHERE c.relkind IN {_RELKINDS} AND {_USER_SCHEMA} ORDER BY n.nspname, c.relname",
        what="pg_class")
    return [TableRow(str(schema), str(name), str(kind), str(owner), bool(rls), bool(forced), comment,
                     _grants(acl), bool(public_columns), tuple(bytea or ()))
            for schema, name, kind, owner, rls, forced, comment, acl, public_columns, bytea in rows]


def readable_tables(conn: Connection) -> dict[str, set[tuple[str, str]]]:
    """Role (predefined ones included) → the (schema, table) pairs of this database its own
    privileges let it read: USAGE on the schema and SELECT on the table or on some column.
    Superusers and members of pg_read_all_data are answered yes by the server itself."""
    rows = conn.rows(
        "SELECT r.rolname, n.nspname, c.relname FROM pg_catalog.pg_class c "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace CROSS JOIN pg_catalog.pg_roles r "
        f"WHERE c.relkind IN {_RELKINDS} AND {_USER_SCHEMA} "
        "AND pg_catalog.has_schema_privilege(r.oid, n.oid, 'USAGE') "
        "AND pg_catalog.has_any_column_privilege(r.oid, c.oid, 'SELECT')", what="table privileges")
    readable: dict[str, set[tuple[str, str]]] = defaultdict(set)
    for role, schema, table in rows:
        readable[str(role)].add((str(schema), str(table)))
    return dict(readable)


def connecting_roles(conn: Connection) -> set[str]:
    rows = conn.rows("SELECT rolname FROM pg_catalog.pg_roles "
                        "WHERE pg_catalog.has_database_privilege(oid, current_database(), 'CONNECT')",
                        what="database privileges")
    return {str(name) for (name,) in rows}


def _grants(acl: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    by_grantee: dict[str, list[str]] = defaultdict(list)
    for grantee, privilege in acl or ():
        by_grantee[str(grantee)].append(str(privilege))
    return tuple((grantee, tuple(privileges)) for grantee, privileges in sorted(by_grantee.items()))
