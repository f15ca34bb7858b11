"""Catalog queries, each returning plain rows. None of them reads a table's contents: they read
pg_catalog, settings and pg_hba_file_rules, and ask privilege functions about other roles."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from phigate_providers.postgres.connect import Connection, Unreadable

#: Settings a server resource is built from; ``pgaudit.*`` are read too when they exist.
SETTINGS = ("server_version", "ssl", "password_encryption", "log_connections",
            "log_disconnections", "log_statement", "shared_preload_libraries")

#: Relations holding rows of their own: tables, partitioned tables, materialized views.
_RELKINDS = "('r', 'p', 'm')"
#: Relations a role may SELECT from: those, views and foreign tables.
_SELECTABLE = "('r', 'p', 'm', 'v', 'f')"
#: Predefined roles whose members read every table: pg_read_all_data by privilege, the others
#: by running programs or reading files as the server's system user (the tables' files).
PREDEFINED_READERS = ("pg_read_all_data", "pg_execute_server_program", "pg_read_server_files",
                      "pg_write_server_files")
#: Functions of pg_catalog that read or write the server's files once EXECUTE is granted (their
#: only check): the tables' data files are within reach, as for pg_read_server_files. Name → what.
FILE_FUNCTIONS = {
    "pg_read_file": "reads the server's files, the tables' too",
    "pg_read_binary_file": "reads the server's files, the tables' too",
    "lo_import": "reads the server's files, the tables' too",
    "lo_export": "writes the server's files: its configuration, then every table",
    # adminpack, installed in pg_catalog up to PostgreSQL 16
    "pg_file_write": "writes the server's files: its configuration, then every table",
    "pg_file_rename": "writes the server's files: its configuration, then every table",
}
#: Functions of extensions (in whatever schema they were installed) that reach the server as its
#: system user once EXECUTE is granted. Name → what.
EXTENSION_SERVER_FUNCTIONS = {
    # dblink: no password needed, so peer and trust rules or the system user's password file
    # admit it as any role
    "dblink_connect_u": "connects as the server's system user, whom local rules may admit as any role",
    # pg_walinspect, PostgreSQL 16+: the page images the write-ahead log carries
    "pg_get_wal_block_info": "reads the write-ahead log's page images, every table's rows",
}
#: Settings whose value the server runs or loads as its system user, or that decide who may
#: log in: ALTER SYSTEM on one (PostgreSQL 15+) reaches every table's files.
COMMAND_PARAMETERS = ("archive_command", "archive_library", "restore_command", "archive_cleanup_command",
                      "recovery_end_command", "ssl_passphrase_command", "shared_preload_libraries",
                      "session_preload_libraries", "local_preload_libraries", "dynamic_library_path",
                      "hba_file", "ident_file", "data_directory")
#: The predefined role whose members see the query text of every session (pg_stat_activity,
#: pg_stat_statements), literal values included.
QUERY_TEXT_READER = "pg_read_all_stats"
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
    #: The file holding the rule (PostgreSQL 16 and later: pg_hba.conf or a file it includes).
    file: str | None = None


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
    replication: bool = False
    create_db: bool = False


@dataclass(frozen=True)
class MembershipRow:
    member: str
    role: str
    inherit: bool
    set: bool
    admin: bool


@dataclass(frozen=True)
class RelationRow:
    """A table, partitioned table, materialized view, view or foreign table, with what its
    rewrite rule reads (views, materialized views) and the tables it inherits from."""

    oid: int
    schema: str
    name: str
    relkind: str
    owner: str
    security_invoker: bool
    #: Relations the view's query names (pg_depend on its rewrite rule). Functions it calls run
    #: only if the reader itself may EXECUTE them, as in its own queries: no edge of their own.
    reads: tuple[int, ...]
    parents: tuple[int, ...]


@dataclass(frozen=True)
class FunctionRow:
    oid: int
    signature: str
    owner: str


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
    """The rules in the order the server tries them. From PostgreSQL 16 pg_hba.conf may
    ``include`` other files, read where the directive stands, so line numbers of different files
    do not give the order: ``rule_number`` does ("the order in which each rule is considered
    until a match is found during authentication", pg_hba_file_rules; NULL on rows in error)."""
    order = "rule_number NULLS LAST, line_number" if conn.version_num >= 160000 else "line_number"
    source = "file_name" if conn.version_num >= 160000 else "NULL"
    rows = conn.rows(f"SELECT line_number, type, database, user_name, address, netmask, auth_method, "
                     f"error, {source} FROM pg_catalog.pg_hba_file_rules ORDER BY {order}",
                     what="pg_hba_file_rules")
    return [HbaRow(int(line), str(kind or ""), tuple(dbs or ()), tuple(users or ()), address, netmask,
                   method, error, file)
            for line, kind, dbs, users, address, netmask, method, error, file in rows]


#: The view of the permissions document naming the roles whose password is an MD5 hash.
MD5_ROLES_VIEW = "public.phigate_md5_password_roles"
MD5_ROLES_PERMISSION = (f"SELECT on pg_catalog.pg_authid (superusers), or SELECT on {MD5_ROLES_VIEW}, "
                        "a view a superuser owns (see the permissions document)")


def md5_password_roles(conn: Connection) -> list[str]:
    """The roles whose stored password is an MD5 hash (``rolpassword LIKE 'md5%'``), by name;
    no hash is fetched. pg_authid holds the hashes and only superusers read it; other scanners
    read the permissions document's view, which runs with its owner's rights, trusted only when
    a superuser owns it (anyone else's could show what it likes). Raises Unreadable when
    neither is open."""
    [(direct, delegated)] = conn.rows(
        "SELECT has_table_privilege('pg_catalog.pg_authid', 'SELECT'), "
        "COALESCE((SELECT c.relkind = 'v' AND o.rolsuper AND has_table_privilege(c.oid, 'SELECT') "
        "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_roles o ON o.oid = c.relowner "
        f"WHERE c.oid = to_regclass('{MD5_ROLES_VIEW}')), false)",
        what="who may read pg_authid")
    if direct:
        rows = conn.rows("SELECT rolname FROM pg_catalog.pg_authid WHERE rolpassword LIKE 'md5%' ORDER BY 1",
                         what="pg_authid")
    elif delegated:
        rows = conn.rows(f"SELECT rolname FROM {MD5_ROLES_VIEW} ORDER BY 1", what=MD5_ROLES_VIEW)
    else:
        raise Unreadable("cannot tell which roles store their password as an MD5 hash: pg_authid is "
                         f"readable by superusers only, and {MD5_ROLES_VIEW} is missing, not readable "
                         "or not a superuser's view", MD5_ROLES_PERMISSION)
    return [str(name) for (name,) in rows]


def databases(conn: Connection) -> list[str]:
    rows = conn.rows("SELECT datname FROM pg_catalog.pg_database "
                        "WHERE datallowconn ORDER BY datname", what="pg_database")
    return [str(name) for (name,) in rows]


def template_databases(conn: Connection) -> list[str]:
    """Databases marked as templates: any CREATEDB role may clone one and own the copy."""
    rows = conn.rows("SELECT datname FROM pg_catalog.pg_database WHERE datistemplate ORDER BY datname",
                     what="pg_database")
    return [str(name) for (name,) in rows]


def closed_databases(conn: Connection) -> list[str]:
    """Databases that refuse connections today, template0 aside (initdb's pristine copy). Their
    owner may allow connections again (ALTER DATABASE … ALLOW_CONNECTIONS) and CREATEDB roles
    clone a template with its grants: what they hold is unseen, not absent."""
    rows = conn.rows("SELECT datname FROM pg_catalog.pg_database "
                     "WHERE NOT datallowconn AND datname <> 'template0' ORDER BY datname",
                     what="pg_database")
    return [str(name) for (name,) in rows]


def roles(conn: Connection) -> list[RoleRow]:
    """Every role but the predefined ones (pg_*), which cannot be changed; what they grant shows
    in the can_read of their members."""
    rows = conn.rows(
        "SELECT r.rolname, r.rolcanlogin, r.rolsuper, r.rolcreaterole, r.rolbypassrls, r.rolinherit, "
        "r.rolvaliduntil::text, ARRAY(SELECT g.rolname FROM pg_catalog.pg_auth_members m "
        "JOIN pg_catalog.pg_roles g ON g.oid = m.roleid WHERE m.member = r.oid ORDER BY 1), "
        "r.rolreplication, r.rolcreatedb "
        "FROM pg_catalog.pg_roles r WHERE r.rolname !~ '^pg_' ORDER BY r.rolname", what="pg_roles")
    return [RoleRow(str(name), bool(login), bool(sup), bool(create), bool(bypass), bool(inherit),
                    until, tuple(member_of or ()), bool(replication), bool(createdb))
            for name, login, sup, create, bypass, inherit, until, member_of, replication, createdb in rows]


def memberships(conn: Connection) -> list[MembershipRow]:
    """Every grant of a role to a role. Before PostgreSQL 16 a member inherits when it is
    INHERIT itself and may always SET ROLE; from 16 on each grant carries its own options."""
    options = "m.inherit_option, m.set_option" if conn.version_num >= 160000 else "r.rolinherit, true"
    rows = conn.rows(
        f"SELECT r.rolname, g.rolname, {options}, m.admin_option FROM pg_catalog.pg_auth_members m "
        "JOIN pg_catalog.pg_roles r ON r.oid = m.member JOIN pg_catalog.pg_roles g ON g.oid = m.roleid "
        "ORDER BY 1, 2", what="role memberships")
    return [MembershipRow(str(member), str(role), bool(inherit), bool(set_), bool(admin))
            for member, role, inherit, set_, admin in rows]


def predefined_reach(conn: Connection) -> dict[str, set[str]]:
    """Role → the predefined roles among PREDEFINED_READERS and pg_read_all_stats it is a member
    of, directly or through groups, whatever the grants' options (a membership can be turned into
    their use)."""
    rows = conn.rows("SELECT r.rolname, p.rolname FROM pg_catalog.pg_roles r "
                     "JOIN pg_catalog.pg_roles p ON p.rolname = ANY(%s) AND p.oid <> r.oid "
                     "AND pg_catalog.pg_has_role(r.oid, p.oid, 'MEMBER') WHERE r.rolname !~ '^pg_'",
                     ([*PREDEFINED_READERS, QUERY_TEXT_READER],), what="predefined role memberships")
    reach: dict[str, set[str]] = defaultdict(set)
    for role, predefined in rows:
        reach[str(role)].add(str(predefined))
    return dict(reach)


def parameter_grants(conn: Connection) -> dict[str, set[str]]:
    """Role (superusers and predefined roles excluded) → the COMMAND_PARAMETERS it may ALTER
    SYSTEM (GRANT ALTER SYSTEM ON PARAMETER, PostgreSQL 15 and later; pg_parameter_acl)."""
    if conn.version_num < 150000:
        return {}
    rows = conn.rows("SELECT r.rolname, p.parname FROM pg_catalog.pg_parameter_acl p "
                     "CROSS JOIN pg_catalog.pg_roles r WHERE p.parname = ANY(%s) AND NOT r.rolsuper "
                     "AND r.rolname !~ '^pg_' "
                     "AND pg_catalog.has_parameter_privilege(r.oid, p.parname, 'ALTER SYSTEM')",
                     (list(COMMAND_PARAMETERS),), what="pg_parameter_acl")
    grants: dict[str, set[str]] = defaultdict(set)
    for role, parameter in rows:
        grants[str(role)].add(str(parameter))
    return dict(grants)


def file_function_executors(conn: Connection) -> list[tuple[str, str, str]]:
    """(role, function signature, what it does) for each role (superusers and predefined roles
    excluded) that may EXECUTE one of FILE_FUNCTIONS (of pg_catalog) or of
    EXTENSION_SERVER_FUNCTIONS (members of an extension) in this database."""
    rows = conn.rows("SELECT r.rolname, p.oid::regprocedure::text, p.proname FROM pg_catalog.pg_proc p "
                     "CROSS JOIN pg_catalog.pg_roles r WHERE ((p.pronamespace = 'pg_catalog'::regnamespace "
                     "AND p.proname = ANY(%s)) OR (p.proname = ANY(%s) AND EXISTS (SELECT 1 "
                     "FROM pg_catalog.pg_depend d WHERE d.classid = 'pg_catalog.pg_proc'::regclass "
                     "AND d.objid = p.oid AND d.refclassid = 'pg_catalog.pg_extension'::regclass "
                     "AND d.deptype = 'e'))) AND NOT r.rolsuper AND r.rolname !~ '^pg_' "
                     "AND pg_catalog.has_function_privilege(r.oid, p.oid, 'EXECUTE') ORDER BY 1, 2",
                     (list(FILE_FUNCTIONS), list(EXTENSION_SERVER_FUNCTIONS)),
                     what="file function privileges")
    what = {**FILE_FUNCTIONS, **EXTENSION_SERVER_FUNCTIONS}
    return [(str(role), str(signature), what[str(name)]) for role, signature, name in rows]


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


def relations(conn: Connection) -> list[RelationRow]:
    """Every selectable relation of the user's schemas, with its view dependencies and parents."""
    rows = conn.rows(
        "SELECT c.oid::int8, n.nspname, c.relname, c.relkind::text, pg_catalog.pg_get_userbyid(c.relowner), "
        "c.reloptions::text[], "
        "ARRAY(SELECT DISTINCT d.refobjid::int8 FROM pg_catalog.pg_rewrite w JOIN pg_catalog.pg_depend d "
        "ON d.classid = 'pg_catalog.pg_rewrite'::regclass AND d.objid = w.oid "
        "WHERE w.ev_class = c.oid AND d.refclassid = 'pg_catalog.pg_class'::regclass "
        "AND d.refobjid <> c.oid ORDER BY 1), "
        "ARRAY(SELECT i.inhparent::int8 FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid ORDER BY 1) "
        "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        f"WHERE c.relkind IN {_SELECTABLE} AND {_USER_SCHEMA} ORDER BY n.nspname, c.relname",
        what="pg_class, pg_rewrite and pg_inherits")
    return [RelationRow(int(oid), str(schema), str(name), str(kind), str(owner), _security_invoker(options),
                        tuple(int(x) for x in reads or ()), tuple(int(x) for x in parents or ()))
            for oid, schema, name, kind, owner, options, reads, parents in rows]


def select_privileges(conn: Connection) -> list[tuple[str, int, bool]]:
    """(role, relation oid, USAGE on its schema) for every role (predefined ones included) that
    may SELECT the relation or one of its columns. The server answers for inherited grants,
    superusers and pg_read_all_data. Relation oids are those of :func:`relations`."""
    rows = conn.rows(
        "SELECT r.rolname, c.oid::int8, pg_catalog.has_schema_privilege(r.oid, n.oid, 'USAGE') "
        "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "CROSS JOIN pg_catalog.pg_roles r "
        f"WHERE c.relkind IN {_SELECTABLE} AND {_USER_SCHEMA} "
        "AND pg_catalog.has_any_column_privilege(r.oid, c.oid, 'SELECT')", what="table privileges")
    return [(str(role), int(oid), bool(usage)) for role, oid, usage in rows]


def select_grantees(conn: Connection) -> dict[int, set[str]]:
    """Relation oid → the grantees of SELECT on it or on one of its columns (PUBLIC for 0)."""
    rows = conn.rows(
        "SELECT c.oid::int8, CASE WHEN a.grantee = 0 THEN 'PUBLIC' "
        "ELSE pg_catalog.pg_get_userbyid(a.grantee) END "
        "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "CROSS JOIN LATERAL pg_catalog.aclexplode(COALESCE(c.relacl, "
        "pg_catalog.acldefault('r', c.relowner))) a "
        f"WHERE c.relkind IN {_SELECTABLE} AND {_USER_SCHEMA} AND a.privilege_type = 'SELECT' "
        "UNION SELECT at.attrelid::int8, CASE WHEN x.grantee = 0 THEN 'PUBLIC' "
        "ELSE pg_catalog.pg_get_userbyid(x.grantee) END FROM pg_catalog.pg_attribute at "
        "CROSS JOIN LATERAL pg_catalog.aclexplode(at.attacl) x "
        "WHERE at.attacl IS NOT NULL AND x.privilege_type = 'SELECT'", what="table grants")
    grantees: dict[int, set[str]] = defaultdict(set)
    for oid, grantee in rows:
        grantees[int(oid)].add(str(grantee))
    return dict(grantees)


def default_select_grants(conn: Connection) -> list[tuple[str, str | None, str]]:
    """(owner, schema or None for every schema, grantee) of default privileges that give SELECT
    on the tables an owner creates later (ALTER DEFAULT PRIVILEGES … GRANT SELECT ON TABLES)."""
    rows = conn.rows(
        "SELECT pg_catalog.pg_get_userbyid(d.defaclrole), n.nspname, CASE WHEN a.grantee = 0 "
        "THEN 'PUBLIC' ELSE pg_catalog.pg_get_userbyid(a.grantee) END FROM pg_catalog.pg_default_acl d "
        "LEFT JOIN pg_catalog.pg_namespace n ON n.oid = d.defaclnamespace "
        "CROSS JOIN LATERAL pg_catalog.aclexplode(d.defaclacl) a "
        "WHERE d.defaclobjtype = 'r' AND a.privilege_type = 'SELECT' AND a.grantee <> d.defaclrole",
        what="pg_default_acl")
    return [(str(owner), None if schema is None else str(schema), str(grantee))
            for owner, schema, grantee in rows]


def definer_functions(conn: Connection) -> list[FunctionRow]:
    """SECURITY DEFINER functions and procedures of this database outside pg_catalog."""
    rows = conn.rows(
        "SELECT p.oid::int8, p.oid::regprocedure::text, pg_catalog.pg_get_userbyid(p.proowner) "
        "FROM pg_catalog.pg_proc p JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace "
        f"WHERE p.prosecdef AND {_USER_SCHEMA} ORDER BY 2", what="pg_proc")
    return [FunctionRow(int(oid), str(signature), str(owner)) for oid, signature, owner in rows]


def function_callers(conn: Connection) -> list[tuple[str, int, str | None]]:
    """(role, function oid, table or None) for each role (predefined ones excluded) that can make
    a SECURITY DEFINER function run: EXECUTE on it and USAGE on its schema (table None); or a
    write on a table with a trigger calling it (the table's name: a trigger's function runs
    whoever fires it, EXECUTE is checked only when the trigger is created); or, for an event
    trigger's function, any role (table ''), since any role may run some DDL (a temporary table)."""
    rows = conn.rows(
        "SELECT r.rolname, p.oid::int8, NULL::text FROM pg_catalog.pg_proc p "
        "JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace CROSS JOIN pg_catalog.pg_roles r "
        f"WHERE p.prosecdef AND {_USER_SCHEMA} AND r.rolname !~ '^pg_' "
        "AND pg_catalog.has_function_privilege(r.oid, p.oid, 'EXECUTE') "
        "AND pg_catalog.has_schema_privilege(r.oid, n.oid, 'USAGE') "
        "UNION SELECT r.rolname, p.oid::int8, n.nspname || '.' || c.relname FROM pg_catalog.pg_trigger t "
        "JOIN pg_catalog.pg_proc p ON p.oid = t.tgfoid AND p.prosecdef "
        "JOIN pg_catalog.pg_class c ON c.oid = t.tgrelid "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace CROSS JOIN pg_catalog.pg_roles r "
        f"WHERE NOT t.tgisinternal AND t.tgenabled <> 'D' AND {_USER_SCHEMA} AND r.rolname !~ '^pg_' "
        "AND pg_catalog.has_table_privilege(r.oid, c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE') "
        "UNION SELECT r.rolname, p.oid::int8, '' FROM pg_catalog.pg_event_trigger e "
        "JOIN pg_catalog.pg_proc p ON p.oid = e.evtfoid AND p.prosecdef CROSS JOIN pg_catalog.pg_roles r "
        "WHERE e.evtenabled <> 'D' AND r.rolname !~ '^pg_'", what="function and trigger privileges")
    return [(str(role), int(oid), None if table is None else str(table)) for role, oid, table in rows]


def rule_writers(conn: Connection) -> list[tuple[str, str, str, str]]:
    """(role, relation owner, relation, rule) for each role (predefined ones excluded) that may
    write a table or view carrying an INSERT, UPDATE or DELETE rule: the rule's actions run with
    the relation owner's rights."""
    rows = conn.rows(
        "SELECT DISTINCT r.rolname, pg_catalog.pg_get_userbyid(c.relowner), n.nspname || '.' || c.relname, "
        "w.rulename FROM pg_catalog.pg_rewrite w JOIN pg_catalog.pg_class c ON c.oid = w.ev_class "
        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace CROSS JOIN pg_catalog.pg_roles r "
        f"WHERE w.ev_type <> '1' AND w.ev_enabled <> 'D' AND {_USER_SCHEMA} AND r.rolname !~ '^pg_' "
        "AND pg_catalog.has_table_privilege(r.oid, c.oid, 'INSERT, UPDATE, DELETE') "
        "AND pg_catalog.has_schema_privilege(r.oid, n.oid, 'USAGE')", what="rules")
    return [(str(role), str(owner), str(relation), str(rule)) for role, owner, relation, rule in rows]


def owner_run_functions(conn: Connection) -> list[tuple[str, str, str, str | None, str]]:
    """(function owner, relation owner, relation, index or None, function) for each function of
    the user's schemas that the server runs as a relation's owner while someone else owns it: an
    index's expression or predicate (ANALYZE, autovacuum and REINDEX evaluate it as the table's
    owner) and a materialized view's query (REFRESH runs it as the view's owner). Whoever owns
    the function may replace its body, which then runs with the relation owner's rights."""
    function = ("JOIN pg_catalog.pg_proc p ON p.oid = d.refobjid "
                "JOIN pg_catalog.pg_namespace pn ON pn.oid = p.pronamespace")
    user_function = _USER_SCHEMA.replace("n.nspname", "pn.nspname")
    columns = ("pg_catalog.pg_get_userbyid(p.proowner), pg_catalog.pg_get_userbyid(t.relowner), "
               "n.nspname || '.' || t.relname")
    rows = conn.rows(
        f"SELECT DISTINCT {columns}, n.nspname || '.' || i.relname, p.oid::regprocedure::text "
        "FROM pg_catalog.pg_depend d "
        "JOIN pg_catalog.pg_class i ON i.oid = d.objid AND i.relkind IN ('i', 'I') "
        "JOIN pg_catalog.pg_index x ON x.indexrelid = i.oid JOIN pg_catalog.pg_class t ON t.oid = x.indrelid "
        f"JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace {function} "
        "WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.refclassid = 'pg_catalog.pg_proc'::regclass "
        f"AND p.proowner <> t.relowner AND {user_function} "
        f"UNION SELECT DISTINCT {columns}, NULL, p.oid::regprocedure::text FROM pg_catalog.pg_depend d "
        "JOIN pg_catalog.pg_rewrite w ON w.oid = d.objid "
        "JOIN pg_catalog.pg_class t ON t.oid = w.ev_class AND t.relkind = 'm' "
        f"JOIN pg_catalog.pg_namespace n ON n.oid = t.relnamespace {function} "
        "WHERE d.classid = 'pg_catalog.pg_rewrite'::regclass "
        "AND d.refclassid = 'pg_catalog.pg_proc'::regclass "
        f"AND p.proowner <> t.relowner AND {user_function} ORDER BY 1, 2, 3, 4 NULLS LAST, 5",
        what="functions run as a relation's owner")
    return [(str(function_owner), str(owner), str(relation), None if index is None else str(index),
             str(signature)) for function_owner, owner, relation, index, signature in rows]


def password_hash_readers(conn: Connection) -> list[tuple[str, str]]:
    """(role, catalog) for each role (superusers and predefined roles excluded) that may SELECT
    pg_authid or pg_shadow, which hold every role's password hash, in this database (a shared
    catalog's grants are kept per database)."""
    rows = conn.rows("SELECT r.rolname, c.relname FROM pg_catalog.pg_class c "
                     "CROSS JOIN pg_catalog.pg_roles r "
                     "WHERE c.oid IN ('pg_catalog.pg_authid'::regclass, 'pg_catalog.pg_shadow'::regclass) "
                     "AND NOT r.rolsuper AND r.rolname !~ '^pg_' "
                     "AND pg_catalog.has_table_privilege(r.oid, c.oid, 'SELECT') ORDER BY 1, 2",
                     what="password hash privileges")
    return [(str(role), f"pg_catalog.{name}") for role, name in rows]


def trigger_privileges(conn: Connection) -> list[tuple[str, int, bool]]:
    """(role, table oid, held by name) for each role (predefined ones excluded) that may create
    triggers on a table of the user's schemas: TRIGGER on it and USAGE on its schema. ``held by
    name``: through its ownership or a grant to it or a group it belongs to, not PUBLIC only."""
    rows = conn.rows(
        "SELECT r.rolname, c.oid::int8, pg_catalog.pg_has_role(r.oid, c.relowner, 'USAGE') "
        "OR EXISTS (SELECT 1 FROM pg_catalog.aclexplode(c.relacl) a WHERE a.grantee <> 0 "
        "AND a.privilege_type = 'TRIGGER' AND pg_catalog.pg_has_role(r.oid, a.grantee, 'USAGE')) "
        "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
        "CROSS JOIN pg_catalog.pg_roles r "
        f"WHERE c.relkind IN ('r', 'p') AND {_USER_SCHEMA} AND r.rolname !~ '^pg_' "
        "AND pg_catalog.has_table_privilege(r.oid, c.oid, 'TRIGGER') "
        "AND pg_catalog.has_schema_privilege(r.oid, n.oid, 'USAGE')", what="trigger privileges")
    return [(str(role), int(oid), bool(named)) for role, oid, named in rows]


@dataclass(frozen=True)
class ForeignAccess:
    """A database's foreign data: foreign table oid → its server, server oid → name, the users
    a user mapping exists for (PUBLIC for every role), and the roles with USAGE on each server."""

    tables: dict[int, int]
    servers: dict[int, str]
    mappings: dict[int, set[str]]
    users: dict[int, set[str]]


def foreign_access(conn: Connection) -> ForeignAccess:
    """Foreign servers, their foreign tables, user mappings (pg_user_mappings: which users have
    one, open to every role; their options, which hold credentials, are never read) and who has
    USAGE on each server (to create foreign tables on it or open dblink connections)."""
    servers = conn.rows("SELECT s.oid::int8, s.srvname FROM pg_catalog.pg_foreign_server s ORDER BY 2",
                        what="pg_foreign_server")
    if not servers:
        return ForeignAccess({}, {}, {}, {})
    tables = conn.rows("SELECT ftrelid::int8, ftserver::int8 FROM pg_catalog.pg_foreign_table",
                       what="pg_foreign_table")
    mappings = conn.rows("SELECT srvid::int8, CASE WHEN umuser = 0 THEN 'PUBLIC' ELSE usename END "
                         "FROM pg_catalog.pg_user_mappings", what="pg_user_mappings")
    users = conn.rows("SELECT s.oid::int8, r.rolname FROM pg_catalog.pg_foreign_server s "
                      "CROSS JOIN pg_catalog.pg_roles r WHERE r.rolname !~ '^pg_' "
                      "AND pg_catalog.has_server_privilege(r.oid, s.oid, 'USAGE')",
                      what="foreign server privileges")
    by_server: dict[int, set[str]] = defaultdict(set)
    for server, user in mappings:
        by_server[int(server)].add(str(user))
    with_usage: dict[int, set[str]] = defaultdict(set)
    for server, role in users:
        with_usage[int(server)].add(str(role))
    return ForeignAccess({int(t): int(s) for t, s in tables}, {int(o): str(n) for o, n in servers},
                         dict(by_server), dict(with_usage))


def large_object_readers(conn: Connection) -> dict[str, int]:
    """Role (predefined ones excluded) → how many large objects of this database it may read:
    its own, those granted to it (or to a group it belongs to, or PUBLIC), or all of them when
    ``lo_compat_privileges`` is on or (PostgreSQL 15+) it may set it. Only
    pg_largeobject_metadata is read, never the objects."""
    settable = ("OR pg_catalog.has_parameter_privilege(r.oid, 'lo_compat_privileges', 'SET, ALTER SYSTEM') "
                if conn.version_num >= 150000 else "")
    rows = conn.rows(
        "SELECT r.rolname, count(*) FROM pg_catalog.pg_largeobject_metadata l "
        "CROSS JOIN pg_catalog.pg_roles r WHERE r.rolname !~ '^pg_' AND ("
        f"current_setting('lo_compat_privileges')::bool OR r.rolsuper {settable}"
        "OR pg_catalog.pg_has_role(r.oid, l.lomowner, 'USAGE') "
        "OR EXISTS (SELECT 1 FROM pg_catalog.aclexplode(l.lomacl) a WHERE a.privilege_type = 'SELECT' "
        "AND (a.grantee = 0 OR pg_catalog.pg_has_role(r.oid, a.grantee, 'USAGE')))) GROUP BY 1",
        what="pg_largeobject_metadata")
    return {str(role): int(count) for role, count in rows}


def _security_invoker(options: Any) -> bool:
    """The view's security_invoker option, read as the server reads a boolean. Anything else
    (absent, false, unreadable) counts as the owner's rights, which reach more."""
    for option in options or ():
        key, _, value = str(option).partition("=")
        if key.strip().lower() == "security_invoker":
            value = value.strip().lower()
            return value in ("on", "1") or (bool(value) and ("true".startswith(value)
                                                             or "yes".startswith(value)))
    return False


def _grants(acl: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    by_grantee: dict[str, list[str]] = defaultdict(list)
    for grantee, privilege in acl or ():
        by_grantee[str(grantee)].append(str(privilege))
    return tuple((grantee, tuple(privileges)) for grantee, privileges in sorted(by_grantee.items()))
