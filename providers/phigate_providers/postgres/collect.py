"""One server's scan: settings, pg_hba rules, roles, then every database's schemas and tables.

Anything the scanning role could not see becomes a CollectionError naming what is missing;
a resource read only in part is yielded without the unread attributes, never with a guess.
With content sampling on, each non-clinical table is sampled on its database's connection as
it is read (its ``content_sample``, or an error naming the grant it lacked).

Every database of the cluster is read for access, since roles are cluster-wide: those outside
the databases asked for (``--pg-database``) are yielded as :class:`Context`, never reported on,
and a database that could not be read leaves every role's access there unseen (``access_unseen``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from phigate.api import CollectionError, Context, Record, Resource
from phigate_providers.postgres import access, hba, normalise, queries
from phigate_providers.postgres.connect import Connection, Unreadable, open_connection
from phigate_providers.postgres.options import ServerTarget

if TYPE_CHECKING:
    from phigate_providers.content.sampling import Sampler

#: Classifies a resource the way the engine will (the config's classification).
Classify = Callable[[Resource], str]

ALL_KINDS = ("db_server", "db_schema", "table", "principal")
DATABASE_KINDS = ("db_schema", "table")

T = TypeVar("T")


@dataclass
class DatabaseScan:
    """What one database showed. ``reported``: asked for (else read as context only);
    ``unread``: why roles' access to it is unknown."""

    name: str
    reported: bool = True
    tables_read: bool = False
    clinical: bool = False
    #: Marked as a template (cloned by CREATEDB roles).
    template: bool = False
    access: access.DatabaseAccess | None = None
    unread: Unreadable | None = None


def collect_server(target: ServerTarget, classify: Classify,
                   sampler: Sampler | None = None, *, md5_roles: bool = True) -> Iterator[Record]:
    """Everything one server shows; ``sampler`` (content sampling on) samples its non-clinical
    tables; ``md5_roles``: read which roles store an MD5 password hash (a policy needs it)."""
    try:
        conn = open_connection(target)
    except Unreadable as exc:  # nothing of the server was seen: every policy over it is an error
        yield _error(target.label, exc, ALL_KINDS, resource_id=target.label)
        return
    try:
        yield from _collect(conn, target, classify, sampler, md5_roles)
    finally:
        conn.close()


def _collect(conn: Connection, target: ServerTarget, classify: Classify,
             sampler: Sampler | None, md5_roles: bool) -> Iterator[Record]:
    server = conn.server_id
    settings = _attempt(queries.settings, conn)
    rules = _attempt(queries.hba_rules, conn)
    md5 = _attempt(queries.md5_password_roles, conn) if md5_roles else None
    roles = _attempt(queries.roles, conn)
    cluster = _cluster(conn, roles)
    listed = _attempt(queries.databases, conn)
    closed = _attempt(queries.closed_databases, conn)
    templates = _attempt(queries.template_databases, conn)
    unlisted: Unreadable | None = None  # why databases beyond those scanned may exist unseen
    if isinstance(listed, Unreadable):
        unlisted = listed
        if target.databases:  # what is reported is known; roles' reach beyond it is not
            yield _error(server, Unreadable(f"other databases could not be listed ({listed.message}); "
                                            "roles' access to them is unseen", listed.permission),
                         ("principal",))
        else:
            yield _error(server, listed, DATABASE_KINDS)
        names = list(target.databases) or [conn.database]  # at least the database we are connected to
    else:
        names = list(dict.fromkeys([*listed, *target.databases]))
    reported = set(target.databases or names)
    scans: list[DatabaseScan] = []
    for name in names:
        # Templates unknown: any database may be one a CREATEDB role clones.
        scan = DatabaseScan(name, reported=name in reported,
                            template=isinstance(templates, Unreadable) or name in templates)
        scans.append(scan)
        yield from _scan_database(conn, target, server, scan, classify, cluster=cluster, sampler=sampler)
    yield from _server(conn, target, server, settings=settings, rules=rules, scans=scans, unlisted=unlisted,
                       md5=md5)
    yield from _roles(target, server, roles, cluster, scans, unlisted=unlisted, closed=closed)


def _cluster(conn: Connection, roles: list[queries.RoleRow] | Unreadable) -> access.Cluster | Unreadable:
    """Cluster-wide facts about roles: memberships and the predefined roles they reach."""
    if isinstance(roles, Unreadable):
        return roles
    try:
        return access.Cluster(conn.version_num, roles, queries.memberships(conn),
                              queries.predefined_reach(conn), queries.parameter_grants(conn))
    except Unreadable as exc:
        return exc


def _scan_database(bootstrap: Connection, target: ServerTarget, server: str, scan: DatabaseScan,
                   classify: Classify, *, cluster: access.Cluster | Unreadable,
                   sampler: Sampler | None = None) -> Iterator[Record]:
    try:
        conn = bootstrap if scan.name == bootstrap.database else open_connection(target, scan.name)
    except Unreadable as exc:
        yield _unread_database(server, scan, exc)
        return
    try:
        try:
            schema_rows, table_rows = queries.schemas(conn), queries.tables(conn)
            relations = queries.relations(conn)
        except Unreadable as exc:
            yield _unread_database(server, scan, exc)
            return
        scan.tables_read = True
        schema_tags = {}
        for row in schema_rows:
            resource = normalise.schema(server, scan.name, row, target.region)
            schema_tags[row.name] = dict(resource.tags)
            yield _reported(scan, resource)
        oids = {(r.schema, r.name): r.oid for r in relations}
        store_ids = {r.oid: normalise.table_id(server, scan.name, r.schema, r.name)
                     for r in relations if r.relkind in access.STORE_KINDS}
        tables: list[tuple[queries.TableRow, Resource]] = []
        for table_row in table_rows:
            tables.append((table_row, normalise.table(server, scan.name, table_row,
                                                      schema_tags.get(table_row.schema, {}),
                                                      region=target.region, encryption=target.encryption)))
        own = {oids[(row.schema, row.name)]: classify(resource) for row, resource in tables
               if (row.schema, row.name) in oids}
        derived = access.derived_classes(relations, own)
        for table_row, as_read in tables:
            oid = oids.get((table_row.schema, table_row.name))
            resource = as_read
            if oid in derived:
                data_class, origin = derived[oid]
                resource = normalise.classified(as_read, data_class, [store_ids[o] for o in origin])
            clinical = (resource.data_class or classify(resource)) == "clinical"
            scan.clinical = scan.clinical or clinical
            if scan.reported and sampler is not None and not clinical:  # clinical tables hold it
                yield from _sampled(conn, resource, table_row.schema, table_row.name, sampler)
                continue
            yield _reported(scan, resource)
        if not isinstance(cluster, Unreadable):
            yield from _read_access(conn, server, scan, cluster=cluster, relations=relations,
                                    store_ids=store_ids)
    finally:
        if conn is not bootstrap:
            conn.close()


def _reported(scan: DatabaseScan, resource: Resource) -> Record:
    """The resource, or its context record when its database is outside those asked for."""
    return resource if scan.reported else Context(resource)


def _sampled(conn: Connection, table: Resource, schema: str, name: str, sampler: Sampler) -> Iterator[Record]:
    """The table with its ``content_sample``; or without it, and the error saying why."""
    from phigate_providers.postgres.sampling import sample_table

    try:
        sampled, error = sample_table(conn, table, schema, name, sampler)
    except Exception as exc:  # a defect, not a denial: an error for this table, never a pass
        # Only the exception's type: its message could quote a row.
        sampled, error = table, CollectionError(
            provider=normalise.PROVIDER, message=f"table {schema}.{name}: content sample failed "
            f"({type(exc).__name__})", scope=table.scope, region=table.region, kinds=("table",),
            types=(table.type,), resource_id=table.id)
    yield sampled
    if error is not None:
        yield error


def _read_access(conn: Connection, server: str, scan: DatabaseScan, *, cluster: access.Cluster,
                 relations: list[queries.RelationRow], store_ids: dict[int, str]) -> Iterator[Record]:
    """Who reads which store of the database, and which SECURITY DEFINER functions they run."""
    try:
        database = access.Database(relations, queries.select_privileges(conn), queries.select_grantees(conn),
                                   queries.default_select_grants(conn), queries.definer_functions(conn),
                                   queries.function_callers(conn), queries.rule_writers(conn),
                                   queries.trigger_privileges(conn), queries.foreign_access(conn),
                                   queries.large_object_readers(conn), queries.file_function_executors(conn),
                                   queries.password_hash_readers(conn), queries.owner_run_functions(conn))
    except Unreadable as exc:
        scan.unread = exc
        yield _error(server, Unreadable(f"database {scan.name}: {exc.message}; roles' access to it is unseen",
                                        exc.permission),
                     ("principal",), resource_id=normalise.database_id(server, scan.name))
        return
    scan.access = access.database_access(database, cluster, store_ids)
    scan.access.label = f"{server.replace('postgres://', 'postgres ', 1)} database {scan.name}"
    scan.access.name, scan.access.template = scan.name, scan.template


def _unread_database(server: str, scan: DatabaseScan, cause: Unreadable) -> CollectionError:
    scan.unread = cause
    # Outside the databases asked for, only roles' access is at stake.
    kinds = DATABASE_KINDS if scan.reported else ("principal",)
    suffix = "" if scan.reported else " (read for roles' access only)"
    return _error(server, Unreadable(f"database {scan.name}{suffix}: {cause.message}", cause.permission),
                  kinds, resource_id=normalise.database_id(server, scan.name))


def _server(conn: Connection, target: ServerTarget, server: str, *,
            settings: dict[str, str] | Unreadable, rules: list[queries.HbaRow] | Unreadable,
            scans: Sequence[DatabaseScan], unlisted: Unreadable | None = None,
            md5: list[str] | Unreadable | None = None) -> Iterator[Record]:
    seen = settings if isinstance(settings, dict) else {}
    attrs = normalise.server_attributes(seen)
    if isinstance(md5, Unreadable):
        yield _error(server, md5, ("db_server",), resource_id=server)
    elif md5 is not None:
        attrs["md5_password_roles"] = md5
    if isinstance(settings, Unreadable):
        yield _error(server, settings, ("db_server",), resource_id=server)
    else:
        hidden = [name for name in queries.SETTINGS if name not in seen]
        if hidden:
            yield _error(server, Unreadable(f"cannot read setting(s) {', '.join(hidden)}; what they decide "
                                            "is left out", "pg_read_all_settings"),
                         ("db_server",), resource_id=server)
    if isinstance(rules, Unreadable):
        yield _error(server, rules, ("db_server",), resource_id=server, permission="SELECT on "
                     "pg_hba_file_rules and EXECUTE on pg_hba_file_rules()")
    elif broken := [r for r in rules if r.error]:
        where = broken[0].file or "pg_hba.conf"
        yield _error(server, Unreadable(f"{where} line {broken[0].line}: {broken[0].error}; the rules "
                                        "in force cannot be told from the file"), ("db_server",),
                     resource_id=server)
    else:
        attrs["hba_rules"] = [hba.rule_attributes(r) for r in rules]
        yield from _auth_methods(server, rules, scans, unlisted, attrs)
        unknown = [s.name for s in scans if not s.tables_read]
        exposed = hba.non_tls_clinical_access(rules, [s.name for s in scans if s.clinical], unknown)
        if exposed is None:
            admitted = ", ".join(n for n in unknown if hba.plaintext_admits(rules, n))
            yield _error(server, Unreadable(f"a non-TLS rule admits database(s) {admitted} whose tables "
                                            "could not be read"), ("db_server",), resource_id=server)
        elif exposed is False and unlisted is not None and _plaintext_rule(rules):
            # A database the listing did not show may hold clinical tables behind that rule.
            yield _error(server, Unreadable(f"a non-TLS rule may admit databases never listed "
                                            f"({unlisted.message})", unlisted.permission),
                         ("db_server",), resource_id=server)
        else:
            attrs["non_tls_clinical_access"] = exposed
    required = _secure_transport(attrs.get("ssl"), attrs.get("non_tls_clinical_access"))
    if required is not None:
        attrs["secure_transport_required"] = required
    yield normalise.server(server, conn.host, attrs, seen, target.region)


def _roles(target: ServerTarget, server: str, roles: list[queries.RoleRow] | Unreadable,
           cluster: access.Cluster | Unreadable, scans: Sequence[DatabaseScan], *,
           unlisted: Unreadable | None = None,
           closed: Sequence[str] | Unreadable = ()) -> Iterator[Record]:
    """Roles with their edges: what they read in every database read, whom they can become, and
    the databases whose access could not be seen."""
    if isinstance(roles, Unreadable):
        yield _error(server, roles, ("principal",))
        return
    if isinstance(cluster, Unreadable):  # memberships unknown: any can_read could be partial
        for row in roles:
            yield normalise.role(server, row, None, target.region)
            yield _error(server, cluster, ("principal",), resource_id=normalise.role_id(server, row.name),
                         prefix="can_read left out: ")
        return
    where = server.replace("postgres://", "postgres ", 1)
    unseen = [f"{where} databases not listed (not read: {unlisted.message})"] if unlisted else []
    unseen += [f"{where} database {s.name} (not read: {s.unread.message})" for s in scans if s.unread]
    # Its owner can allow connections again, and CREATEDB roles clone a template with its grants.
    if isinstance(closed, Unreadable):
        unseen.append(f"{where} databases refusing connections not listed (not read: {closed.message})")
    else:
        unseen += [f"{where} database {name} (does not accept connections, so its tables were not read; "
                   "its owner can open it again)" for name in closed]
    databases = [s.access for s in scans if s.access is not None]
    for row in roles:
        own = unseen + _query_texts(where, row, cluster)
        yield normalise.role(server, row, access.role_access(row, cluster, databases, own), target.region)


def _query_texts(where: str, row: queries.RoleRow, cluster: access.Cluster) -> list[str]:
    """pg_read_all_stats shows the text of every session's statements (pg_stat_activity,
    pg_stat_statements), with the values written in them: rows of any table, of no class. A
    role that reads every table already learns nothing more."""
    if queries.QUERY_TEXT_READER not in cluster.predefined.get(row.name, ()) or row.superuser \
            or cluster.every_table_reach(row):
        return []
    return [f"{where} query texts of every session ({queries.QUERY_TEXT_READER}: the values statements "
            "carry, from any table)"]


def _auth_methods(server: str, rules: Sequence[queries.HbaRow], scans: Sequence[DatabaseScan],
                  unlisted: Unreadable | None, attrs: dict[str, object]) -> Iterator[CollectionError]:
    """``clinical_auth_methods``: how connections to databases holding clinical tables may
    authenticate; an error instead when a database of unknown class may be reached otherwise."""
    unknown = [s.name for s in scans if not s.tables_read]
    methods = hba.clinical_auth_methods(rules, [s.name for s in scans if s.clinical], unknown,
                                        unlisted=unlisted is not None)
    if methods is not None:
        attrs["clinical_auth_methods"] = methods
        return
    cause = unlisted or next((s.unread for s in scans if s.unread is not None), None)
    why = (f"databases were not listed ({unlisted.message})" if unlisted
           else f"the tables of database(s) {', '.join(unknown)} could not be read")
    yield _error(server, Unreadable(f"which authentication methods admit clinical data is unknown: {why}",
                                    cause.permission if cause else None), ("db_server",), resource_id=server)


def _plaintext_rule(rules: Sequence[queries.HbaRow]) -> bool:
    """Some rule that is not reject lets a connection in without TLS (to some database)."""
    return any(r.type in hba.PLAINTEXT_TYPES and r.method != "reject" for r in rules)


def _secure_transport(ssl: bool | None, exposed: bool | None) -> bool | None:
    """ssl and not non_tls_clinical_access, in three-valued logic (None: unknown)."""
    if ssl is False or exposed is True:
        return False
    if ssl is True and exposed is False:
        return True
    return None


def _attempt(read: Callable[[Connection], T], conn: Connection) -> T | Unreadable:
    try:
        return read(conn)
    except Unreadable as exc:
        return exc


def _error(scope: str, cause: Unreadable, kinds: Sequence[str], *, resource_id: str | None = None,
           permission: str | None = None, prefix: str = "") -> CollectionError:
    return CollectionError(provider=normalise.PROVIDER, message=prefix + cause.message, scope=scope,
                           kinds=tuple(kinds), types=tuple(normalise.TYPES[k] for k in kinds),
                           resource_id=resource_id, permission=permission or cause.permission)
