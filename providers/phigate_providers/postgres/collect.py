"""One server's scan: settings, pg_hba rules, roles, then every database's schemas and tables.

Anything the scanning role could not see becomes a CollectionError naming what is missing;
a resource read only in part is yielded without the unread attributes, never with a guess.
With content sampling on, each non-clinical table is sampled on its database's connection as
it is read (its ``content_sample``, or an error naming the grant it lacked).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from phigate.api import CollectionError, Record, Resource
from phigate_providers.postgres import hba, normalise, queries
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
    """What one database showed; ``unread`` says why its tables or its privileges are unknown."""

    name: str
    tables_read: bool = False
    clinical: bool = False
    #: role → ids of the tables its own privileges can read; connecting: roles with CONNECT.
    readable: dict[str, set[str]] = field(default_factory=dict)
    connecting: set[str] = field(default_factory=set)
    unread: Unreadable | None = None


def collect_server(target: ServerTarget, classify: Classify,
                   sampler: Sampler | None = None) -> Iterator[Record]:
    """Everything one server shows; ``sampler`` (content sampling on) samples its non-clinical
    tables."""
    try:
        conn = open_connection(target)
    except Unreadable as exc:  # nothing of the server was seen: every policy over it is an error
        yield _error(target.label, exc, ALL_KINDS, resource_id=target.label)
        return
    try:
        yield from _collect(conn, target, classify, sampler)
    finally:
        conn.close()


def _collect(conn: Connection, target: ServerTarget, classify: Classify,
             sampler: Sampler | None) -> Iterator[Record]:
    server = conn.server_id
    settings = _attempt(queries.settings, conn)
    rules = _attempt(queries.hba_rules, conn)
    roles = _attempt(queries.roles, conn)
    reach = _attempt(queries.reachable_roles, conn)
    names: list[str] | Unreadable = list(target.databases) or _attempt(queries.databases, conn)
    unlisted: Unreadable | None = None  # why databases beyond those scanned may exist unseen
    if isinstance(names, Unreadable):
        yield _error(server, names, DATABASE_KINDS)
        unlisted, names = names, [conn.database]  # at least the database we are connected to
    scans: list[DatabaseScan] = []
    for name in names:
        scan = DatabaseScan(name)
        scans.append(scan)
        yield from _scan_database(conn, target, server, scan, classify, sampler=sampler)
    yield from _server(conn, target, server, settings=settings, rules=rules, scans=scans, unlisted=unlisted)
    yield from _roles(target, server, roles, reach, scans, unlisted=unlisted)


def _scan_database(bootstrap: Connection, target: ServerTarget, server: str, scan: DatabaseScan,
                   classify: Classify, *, sampler: Sampler | None = None) -> Iterator[Record]:
    try:
        conn = bootstrap if scan.name == bootstrap.database else open_connection(target, scan.name)
    except Unreadable as exc:
        yield _unread_database(server, scan, exc)
        return
    try:
        try:
            schema_rows, table_rows = queries.schemas(conn), queries.tables(conn)
        except Unreadable as exc:
            yield _unread_database(server, scan, exc)
            return
        scan.tables_read = True
        schema_tags = {}
        for row in schema_rows:
            resource = normalise.schema(server, scan.name, row, target.region)
            schema_tags[row.name] = dict(resource.tags)
            yield resource
        ids = {}
        for table_row in table_rows:
            resource = normalise.table(server, scan.name, table_row, schema_tags.get(table_row.schema, {}),
                                       region=target.region, encryption=target.encryption)
            ids[(table_row.schema, table_row.name)] = resource.id
            clinical = classify(resource) == "clinical"
            scan.clinical = scan.clinical or clinical
            if sampler is not None and not clinical:  # clinical tables are expected to hold it
                yield from _sampled(conn, resource, table_row.schema, table_row.name, sampler)
                continue
            yield resource
        _read_privileges(conn, scan, ids)
    finally:
        if conn is not bootstrap:
            conn.close()


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


def _read_privileges(conn: Connection, scan: DatabaseScan, ids: dict[tuple[str, str], str]) -> None:
    """Who may connect to the database and read which of its tables (for can_read)."""
    try:
        readable = queries.readable_tables(conn)
        scan.connecting = queries.connecting_roles(conn)
    except Unreadable as exc:
        scan.unread = Unreadable(f"database {scan.name}: {exc.message}", exc.permission)
        return
    scan.readable = {role: {ids[pair] for pair in pairs if pair in ids} for role, pairs in readable.items()}


def _unread_database(server: str, scan: DatabaseScan, cause: Unreadable) -> CollectionError:
    scan.unread = Unreadable(f"database {scan.name}: {cause.message}", cause.permission)
    return _error(server, scan.unread, DATABASE_KINDS, resource_id=normalise.database_id(server, scan.name))


def _server(conn: Connection, target: ServerTarget, server: str, *,
            settings: dict[str, str] | Unreadable, rules: list[queries.HbaRow] | Unreadable,
            scans: Sequence[DatabaseScan], unlisted: Unreadable | None = None) -> Iterator[Record]:
    seen = settings if isinstance(settings, dict) else {}
    attrs = normalise.server_attributes(seen)
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
        yield _error(server, Unreadable(f"pg_hba.conf line {broken[0].line}: {broken[0].error}; the rules "
                                        "in force cannot be told from the file"), ("db_server",),
                     resource_id=server)
    else:
        attrs["hba_rules"] = [hba.rule_attributes(r) for r in rules]
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
           reach: dict[str, set[str]] | Unreadable, scans: Sequence[DatabaseScan], *,
           unlisted: Unreadable | None = None) -> Iterator[Record]:
    """Roles with can_read: every table of every scanned database that the role may connect to
    and read with its own privileges or those of a role it inherits or may SET ROLE to."""
    if isinstance(roles, Unreadable):
        yield _error(server, roles, ("principal",))
        return
    unread = unlisted or next((s.unread for s in scans if s.unread), None)
    cause = reach if isinstance(reach, Unreadable) else unread
    reachable = {} if isinstance(reach, Unreadable) else reach
    for row in roles:
        if cause is not None:  # a partial can_read could hide a class of data: leave it out
            yield normalise.role(server, row, None, target.region)
            yield _error(server, cause, ("principal",), resource_id=normalise.role_id(server, row.name),
                         prefix="can_read left out: ")
            continue
        can_read: set[str] = set()
        for scan in scans:
            if row.name in scan.connecting:
                for via in reachable.get(row.name, {row.name}):
                    can_read |= scan.readable.get(via, set())
        yield normalise.role(server, row, can_read, target.region)


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
