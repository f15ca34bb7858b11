"""The edges of the access graph one server shows: which tables each role reads, how, and which
roles it can become.

A role's direct reads (``can_read``) are the server's own answer to "may this role SELECT the
table and use its schema" (grants to the role, to PUBLIC, inherited from groups; superusers and
pg_read_all_data), widened by what the catalogs tell the server's answer leaves out:

- a view reads its tables with its owner's rights (the reader's own with ``security_invoker``),
  views of views followed to the tables they end at;
- reading a partitioned or parent table reads its partitions' and children's rows;
- an owner may always grant itself SELECT on its tables;
- members of pg_read_all_data and of the roles that reach the server's files or programs
  (pg_execute_server_program, pg_read_server_files, pg_write_server_files) read every table of
  the cluster, through a SET ROLE as well as by inheritance; so does a CREATEROLE role up to
  PostgreSQL 15, which can grant itself those roles, and a REPLICATION role (a base backup); and
  a role that may run a function reaching the server's files (pg_read_binary_file, lo_import…)
  or ALTER SYSTEM a setting the server runs (archive_command…);
- TRIGGER on a table reads the rows written to it (a trigger of one's own sees them);
- a CREATEDB role reads what pg_database_owner reads in a template it can clone.

What a role reaches whose class no catalog tells (foreign tables, user mappings, large objects)
is left unseen (``access_unseen``), never read as nothing.

What a role can obtain beyond its own rights is an edge (``can_become``) that the engine follows:
memberships it inherits, may SET ROLE to or holds ADMIN on; every non-superuser role for
CREATEROLE up to PostgreSQL 15; and the owner of each SECURITY DEFINER function it can make run
(EXECUTE, also what views, column defaults and row-level-security policies call; a write firing
a trigger; DDL firing an event trigger), since the function's body, unknowable in general, runs
with its owner's rights; and the owner of each table or view whose INSERT, UPDATE or DELETE rule
it can fire, whose actions run with that owner's rights.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from phigate.api import STRICTNESS
from phigate.classify import UNCLASSIFIED
from phigate_providers.postgres.queries import (
    PREDEFINED_READERS,
    ForeignAccess,
    FunctionRow,
    MembershipRow,
    RelationRow,
    RoleRow,
)

#: Relation kinds holding rows: tables, partitioned tables, materialized views.
STORE_KINDS = frozenset({"r", "p", "m"})
#: Predefined roles that reach the server's files or programs: privileged (PHI-IAM-006).
SERVER_ACCESS_ROLES = ("pg_execute_server_program", "pg_read_server_files", "pg_write_server_files")
#: The role the owner of the current database is a member of (PostgreSQL 14+).
DATABASE_OWNER = "pg_database_owner"
#: The first release where CREATEROLE no longer lets a role grant itself any non-superuser role.
CREATEROLE_BOUNDED = 160000

_INHERITS, _SET_ROLE, _ADMIN = ("member (inherits)", "SET ROLE",
                                "ADMIN option (can grant itself the role with SET)")
_MEMBERSHIP_ORDER = (_INHERITS, _SET_ROLE, _ADMIN)

_EVERY_TABLE = {
    "pg_read_all_data": "pg_read_all_data",
    "pg_execute_server_program": "pg_execute_server_program (COPY … TO PROGRAM runs commands as the "
                                 "server's system user, who reads every table's files)",
    "pg_read_server_files": "pg_read_server_files (reads every table's files)",
    "pg_write_server_files": "pg_write_server_files (can rewrite the server's configuration and "
                             "files, then read every table)",
}


@dataclass(frozen=True)
class Read:
    """How a role reads a store; ``wildcard`` when only through a grant to everyone or to future
    tables (PUBLIC, default privileges, pg_read_all_data)."""

    how: str
    wildcard: bool = False


@dataclass
class Cluster:
    """What the whole server says about roles: cluster-wide, read once."""

    version: int
    roles: Sequence[RoleRow]
    memberships: Sequence[MembershipRow]
    #: role → predefined roles of PREDEFINED_READERS it is a member of (directly or not).
    predefined: Mapping[str, set[str]]
    #: role → settings the server runs or loads that it may ALTER SYSTEM (PostgreSQL 15+).
    parameters: Mapping[str, set[str]] = field(default_factory=dict)
    inherited: dict[str, set[str]] = field(init=False)
    superusers: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        self.inherited = _inheritance(self.memberships)
        self.superusers = frozenset(r.name for r in self.roles if r.superuser)

    def createrole_unbounded(self, role: RoleRow) -> bool:
        """Up to PostgreSQL 15, CREATEROLE grants any non-superuser role, to itself too."""
        return role.create_role and not role.superuser and self.version < CREATEROLE_BOUNDED

    def every_table_reach(self, role: RoleRow) -> dict[str, str]:
        """The predefined roles through which ``role`` reads every table, with how."""
        reached = {p: _EVERY_TABLE[p] for p in self.predefined.get(role.name, ()) if p in _EVERY_TABLE}
        if role.replication:
            reached["REPLICATION"] = ("REPLICATION (a base backup or the WAL stream carries every "
                                      "table's rows)")
        if self.createrole_unbounded(role):
            for predefined in PREDEFINED_READERS:
                reached.setdefault(predefined, f"CREATEROLE (can grant itself {predefined}; "
                                               "PostgreSQL 15 and earlier)")
        for parameter in sorted(self.parameters.get(role.name, ())):
            reached[f"ALTER SYSTEM on {parameter}"] = (
                f"ALTER SYSTEM on {parameter} (sets what the server runs or loads as its system user, "
                "who reads every table's files)")
        return reached

    def server_access(self, role: RoleRow) -> list[str]:
        """The server-access predefined roles it holds or, by CREATEROLE, can grant itself."""
        reached = set(self.predefined.get(role.name, ()))
        if self.createrole_unbounded(role):
            reached |= set(SERVER_ACCESS_ROLES)
        granted = [f"ALTER SYSTEM on {p}" for p in sorted(self.parameters.get(role.name, ()))]
        return sorted(reached & set(SERVER_ACCESS_ROLES)) + granted

    def becomes(self, role: RoleRow) -> dict[str, str]:
        """Roles (predefined ones left out: their effect is in can_read) whose rights ``role``
        can obtain through memberships or CREATEROLE, with how."""
        edges: dict[str, str] = {}
        for grant in self.memberships:
            if grant.member != role.name or grant.role.startswith("pg_"):
                continue
            # From 16 one membership may be granted several times (by different grantors):
            # the plainest way wins, whatever the order of the rows.
            for allowed, how in ((grant.inherit, _INHERITS), (grant.set, _SET_ROLE), (grant.admin, _ADMIN)):
                if allowed:
                    known = edges.get(grant.role)
                    if known is None or _MEMBERSHIP_ORDER.index(how) < _MEMBERSHIP_ORDER.index(known):
                        edges[grant.role] = how
                    break
        if self.createrole_unbounded(role):
            for other in self.roles:
                if not other.superuser and other.name != role.name:
                    edges.setdefault(other.name, "CREATEROLE (can grant itself any non-superuser "
                                                 "role; PostgreSQL 15 and earlier)")
        return edges


@dataclass
class Database:
    """One database's catalog facts about access."""

    relations: Sequence[RelationRow]
    #: (role, relation oid, USAGE on its schema) for each role that may SELECT the relation.
    privileges: Iterable[tuple[str, int, bool]]
    grantees: Mapping[int, set[str]]
    #: (owner, schema or None, grantee) of default privileges granting SELECT on future tables.
    defaults: Iterable[tuple[str, str | None, str]]
    functions: Sequence[FunctionRow]
    #: (role, function oid, None for EXECUTE | the table whose trigger calls it | '' for DDL).
    callers: Iterable[tuple[str, int, str | None]]
    #: (role, relation owner, relation, rule): writes that run a rule's actions as the owner.
    rule_writers: Iterable[tuple[str, str, str, str]] = ()
    #: (role, table oid, held by name) for each role that may create triggers on a table.
    triggers: Iterable[tuple[str, int, bool]] = ()
    foreign: ForeignAccess = field(default_factory=lambda: ForeignAccess({}, {}, {}, {}))
    #: role → how many large objects it may read.
    large_objects: Mapping[str, int] = field(default_factory=dict)
    #: (role, signature, what it does) for the file functions of pg_catalog a role may run.
    file_functions: Iterable[tuple[str, str, str]] = ()
    #: (role, catalog) for the roles that may read every role's password hash.
    hash_readers: Iterable[tuple[str, str]] = ()
    #: (function owner, relation owner, relation, index or None, function): functions the server
    #: runs as a relation's owner (index expressions, materialized views' queries).
    owner_runs: Iterable[tuple[str, str, str, str | None, str]] = ()


@dataclass
class DatabaseAccess:
    """What one database adds to each role (by name): store id → Read, role name → how."""

    reads: dict[str, dict[str, Read]] = field(default_factory=lambda: defaultdict(dict))
    becomes: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    #: Every store of the database (read by members of the predefined readers).
    stores: list[str] = field(default_factory=list)
    #: role → what it reaches here whose class cannot be known (rows of foreign tables, remote
    #: servers through user mappings, large objects), each said in words.
    unseen: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    #: role → file functions of pg_catalog it may run here (signature → what it does): every
    #: table of the cluster is within its reach.
    file_functions: dict[str, dict[str, str]] = field(default_factory=lambda: defaultdict(dict))
    #: The database's name, and whether it is a template (CREATEDB roles clone it and own the
    #: copy); set by the caller.
    name: str = ""
    template: bool = False
    #: Names the database in ``unseen`` entries ("postgres HOST:PORT database DB"); set by the caller.
    label: str = ""


def database_access(db: Database, cluster: Cluster, store_ids: Mapping[int, str]) -> DatabaseAccess:
    """Each role's reads of this database's stores (``store_ids``: oid → resource id)."""
    reader = _Reader(db, cluster)
    result = DatabaseAccess(stores=[store_ids[o] for o in sorted(store_ids)])
    owned: dict[str, set[int]] = defaultdict(set)
    for rel in db.relations:
        owned[rel.owner].add(rel.oid)
    for role in sorted(reader.usable.keys() | owned.keys()):
        for oid, read in reader.selects_of(role, owned.get(role, set())):
            if oid in store_ids:
                _merge(result.reads[role], store_ids[oid], read)
            elif reader.rels[oid].relkind == "f":
                _unseen(result, role, reader.foreign_rows(oid, read))
    _trigger_reads(db, reader, result, store_ids)
    _foreign_reach(db, result)
    for role, signature, what in db.file_functions:
        result.file_functions[role][signature] = what
    for role, count in sorted(db.large_objects.items()):
        _unseen(result, role, f"{count} large object(s) it may read, whose content has no class")
    _becomes(db, reader, cluster, result)
    return result


def _becomes(db: Database, reader: _Reader, cluster: Cluster, result: DatabaseAccess) -> None:
    """The roles whose rights each role can obtain in this database: owners of the code it can
    make run with their rights, and every login role for whoever reads the password hashes."""
    for role, oid, table in db.callers:
        function = reader.definers.get(oid)
        if function is not None and function.owner != role:
            result.becomes[role].setdefault(function.owner, _runs(function, table))
    for role, owner, relation, index, runs in db.owner_runs:
        # Its owner may replace the body, which the server then runs with the relation owner's rights.
        how = (f"owns {runs}, which index {index} of {relation} runs as the table's owner "
               "(ANALYZE, autovacuum, REINDEX)" if index else
               f"owns {runs}, which materialized view {relation} runs as its owner on REFRESH")
        result.becomes[role].setdefault(owner, how)
    for role, catalog in db.hash_readers:
        # An MD5 hash logs in as its role where pg_hba asks for md5; any hash can be cracked offline.
        for other in cluster.roles:
            if other.login and other.name != role:
                result.becomes[role].setdefault(other.name, f"SELECT on {catalog} (reads its password hash)")
    for role, owner, relation, rule in db.rule_writers:
        if owner != role:
            how = f"writes {relation}, firing rule {rule} (runs as its owner)"
            result.becomes[role].setdefault(owner, how)


def _trigger_reads(db: Database, reader: _Reader, result: DatabaseAccess,
                   store_ids: Mapping[int, str]) -> None:
    """TRIGGER on a table reads the rows written to it from then on."""
    for role, oid, named in db.triggers:
        rel = reader.rels.get(oid)
        if rel is None or rel.relkind not in STORE_KINDS or rel.owner == role:
            continue
        # A trigger function of its own runs as whoever writes the table, with the new and old
        # rows in hand: it can copy every row written from then on wherever its author reads.
        read = Read(f"TRIGGER on {_name(rel)} (a trigger of its own sees every row written from then on)",
                    wildcard=not named)
        for target, how in [(oid, read), *reader.children_of(oid, read)]:
            if target in store_ids:
                _merge(result.reads[role], store_ids[target], how)


def _foreign_reach(db: Database, result: DatabaseAccess) -> None:
    """USAGE on a foreign server with a user mapping the role may use (its own or PUBLIC's) lets
    it create foreign tables there or open dblink connections: remote rows, of unknown class."""
    for server, name in sorted(db.foreign.servers.items()):
        mapped = db.foreign.mappings.get(server, set())
        for role in sorted(db.foreign.users.get(server, ())):
            mapping = role if role in mapped else "PUBLIC" if "PUBLIC" in mapped else None
            if mapping is not None:
                _unseen(result, role, f"USAGE on foreign server {name} with a user mapping for {mapping}: "
                                      "it reaches whatever the mapping's remote user reads")


def _unseen(result: DatabaseAccess, role: str, what: str) -> None:
    if what not in result.unseen[role]:
        result.unseen[role].append(what)


def _runs(function: FunctionRow, table: str | None) -> str:
    if table is None:
        return f"EXECUTE SECURITY DEFINER {function.signature}"
    if table:
        return f"writes {table}, firing SECURITY DEFINER trigger {function.signature}"
    return f"runs DDL, firing SECURITY DEFINER event trigger {function.signature}"


class _Reader:
    """One database's relations and privileges, indexed for the questions database_access asks."""

    def __init__(self, db: Database, cluster: Cluster) -> None:
        self.cluster = cluster
        self.grantees = db.grantees
        self.rels = {r.oid: r for r in db.relations}
        self.definers = {f.oid: f for f in db.functions}
        self.foreign = db.foreign
        self.selects: dict[str, set[int]] = defaultdict(set)
        self.usable: dict[str, set[int]] = defaultdict(set)
        for role, oid, usage in db.privileges:
            self.selects[role].add(oid)
            if usage:
                self.usable[role].add(oid)
        self.defaults: dict[tuple[str, str | None], set[str]] = defaultdict(set)
        for owner, schema, grantee in db.defaults:
            self.defaults[(owner, schema)].add(grantee)
        self.children: dict[int, list[int]] = defaultdict(list)
        for rel in db.relations:
            for parent in rel.parents:
                self.children[parent].append(rel.oid)

    def grant_read(self, role: str, rel: RelationRow) -> Read:
        """How ``role``, which may SELECT ``rel`` (or owns it), came by it: the plainest grant."""
        granted = self.grantees.get(rel.oid, set())
        what = _name(rel)
        if role == rel.owner:
            return Read(f"owner of {what}")
        by_default = self.defaults.get((rel.owner, rel.schema), set()) | self.defaults.get(
            (rel.owner, None), set())
        if role in granted:
            return _defaulted(Read(f"SELECT on {what}"), role, by_default, rel.owner)
        groups = sorted(g for g in granted if g in self.cluster.inherited.get(role, ()))
        if groups:
            return _defaulted(Read(f"SELECT on {what} (granted to {groups[0]}, inherited)"), groups[0],
                              by_default, rel.owner)
        if role in self.cluster.superusers:  # reads it whatever is granted to everyone
            return Read("superuser")
        if "PUBLIC" in granted:
            return Read(f"SELECT on {what} (granted to PUBLIC)", wildcard=True)
        if "pg_read_all_data" in self.cluster.predefined.get(role, ()):
            return Read("pg_read_all_data", wildcard=True)
        return Read(f"SELECT on {what}")

    def may_select(self, role: str, oid: int) -> bool:
        """The privilege check a view's query makes on what it reads (no schema USAGE needed)."""
        rel = self.rels.get(oid)
        return oid in self.selects.get(role, ()) or (rel is not None and rel.owner == role)

    def through(self, view: RelationRow, checker: str, path: str,
                seen: frozenset[int]) -> Iterator[tuple[int, str]]:
        """(store oid, how) for each store ``view`` reads when ``checker`` queries it."""
        runs_as = checker if view.security_invoker else view.owner
        step = f"{path}view {_name(view)} " + (
            "(security_invoker)" if view.security_invoker else f"(owner {view.owner})")
        for oid in view.reads:
            rel = self.rels.get(oid)
            if rel is None or oid in seen or not self.may_select(runs_as, oid):
                continue
            if rel.relkind in STORE_KINDS or rel.relkind == "f":
                yield oid, f"SELECT through {step}"
            elif rel.relkind == "v":
                yield from self.through(rel, runs_as, f"{step}, ", seen | {oid})

    def selects_of(self, role: str, owned: set[int]) -> list[tuple[int, Read]]:
        """(store or foreign table oid, how) for what ``role`` reads: the plainest way first, the
        relation's own grant, then through a view, then as the partition or child of one read."""
        direct: list[tuple[int, Read]] = []
        viewed: list[tuple[int, Read]] = []
        for rel in (self.rels[o] for o in sorted(self.usable.get(role, set()) | owned)):
            readable = rel.oid in self.usable.get(role, ())
            if (rel.relkind in STORE_KINDS or rel.relkind == "f") and (readable or rel.owner == role):
                direct.append((rel.oid, self.grant_read(role, rel)))
            elif rel.relkind == "v" and readable:
                # Reading through a view is a wildcard when reading the view is.
                view = self.grant_read(role, rel)
                for target, how in self.through(rel, role, "", frozenset({rel.oid})):
                    wildcard = Read(f"{how}, itself read by {view.how}", wildcard=True)
                    viewed.append((target, wildcard if view.wildcard else Read(how)))
        found = direct + viewed
        return found + [pair for store in found for pair in self.children_of(*store)]

    def foreign_rows(self, oid: int, read: Read) -> str:
        """Why reading foreign table ``oid`` leaves the reach open: its rows live elsewhere."""
        server = self.foreign.servers.get(self.foreign.tables.get(oid, -1), "unknown")
        return (f"foreign table {_name(self.rels[oid])} of server {server} ({read.how}): its rows are "
                "read from elsewhere, of a class this server cannot tell")

    def children_of(self, oid: int, read: Read) -> Iterator[tuple[int, Read]]:
        """The store's partitions and inheritance children, read with it (SELECT on a parent
        returns its children's rows; their own privileges are not checked)."""
        stack, seen = list(self.children.get(oid, ())), {oid}
        while stack:
            child = stack.pop()
            if child in seen:
                continue
            seen.add(child)
            yield child, Read(f"{read.how} (rows of {_name(self.rels[child])} through parent "
                              f"{_name(self.rels[oid])})", read.wildcard)
            stack.extend(self.children.get(child, ()))


def derived_classes(relations: Sequence[RelationRow],
                    own: Mapping[int, str]) -> dict[int, tuple[str, list[int]]]:
    """Stores classified like their sources, where that is stricter than their own class:
    partitions and inheritance children like their parents, materialized views like the
    strictest store their query reads (through views). oid → (class, the oids it comes from)."""
    rels = {r.oid: r for r in relations}
    memo: dict[int, str] = {}

    def sources(rel: RelationRow, seen: frozenset[int]) -> Iterator[int]:
        yield from (p for p in rel.parents if p in rels)
        if rel.relkind in ("m", "v"):
            for oid in rel.reads:
                dep = rels.get(oid)
                if dep is None or oid in seen:
                    continue
                if dep.relkind == "v":
                    yield from sources(dep, seen | {oid})
                else:
                    yield oid

    def strictest(oid: int, seen: frozenset[int]) -> str:
        if oid in memo:
            return memo[oid]
        found = own.get(oid, UNCLASSIFIED)
        for source in sources(rels[oid], seen):
            if source not in seen:
                found = min(found, strictest(source, seen | {source}), key=_strictness)
        memo[oid] = found
        return found

    derived: dict[int, tuple[str, list[int]]] = {}
    for oid, data_class in own.items():
        if oid not in rels:
            continue
        stricter = strictest(oid, frozenset({oid}))
        if _strictness(stricter) < _strictness(data_class):
            origin = sorted({s for s in sources(rels[oid], frozenset({oid}))
                             if strictest(s, frozenset({oid, s})) == stricter})
            derived[oid] = (stricter, origin)
    return derived


def _strictness(data_class: str) -> int:
    """The classifier's order, strictest first; a configured class it does not list ranks just
    above unclassified."""
    if data_class in STRICTNESS:
        return STRICTNESS.index(data_class)
    return len(STRICTNESS) + (data_class == UNCLASSIFIED)


def _defaulted(read: Read, grantee: str, by_default: set[str], owner: str) -> Read:
    """A grant default privileges would have made is a wildcard: the catalogs do not record
    whether it was granted by name or by the default."""
    if grantee in by_default:
        return Read(f"{read.how}, matching default privileges of {owner} for future tables", wildcard=True)
    return read


def _merge(reads: dict[str, Read], store: str, read: Read) -> None:
    """Keep one way a store is read; a named grant wins over a wildcard (which only counts when
    it is the only way)."""
    known = reads.get(store)
    if known is None or (known.wildcard and not read.wildcard):
        reads[store] = read


def _inheritance(memberships: Iterable[MembershipRow]) -> dict[str, set[str]]:
    """role → every role whose privileges it has by inheritance (transitively)."""
    direct: dict[str, set[str]] = defaultdict(set)
    for grant in memberships:
        if grant.inherit:
            direct[grant.member].add(grant.role)
    closed: dict[str, set[str]] = {}
    for role in list(direct):
        found: set[str] = set()
        stack = list(direct[role])
        while stack:
            group = stack.pop()
            if group not in found:
                found.add(group)
                stack.extend(direct.get(group, ()))
        closed[role] = found
    return closed


def _name(rel: RelationRow) -> str:
    return f"{rel.schema}.{rel.name}"



@dataclass
class RoleAccess:
    """One role's edges across the server: store id → Read, role name → how, unseen scopes."""

    reads: dict[str, Read] = field(default_factory=dict)
    becomes: dict[str, str] = field(default_factory=dict)
    unseen: list[str] = field(default_factory=list)
    server_access: list[str] = field(default_factory=list)


def role_access(role: RoleRow, cluster: Cluster, databases: Iterable[DatabaseAccess],
                unseen: Sequence[str]) -> RoleAccess:
    """``role``'s edges from every database read, and what could not be seen."""
    databases = list(databases)
    result = RoleAccess(unseen=list(unseen), server_access=cluster.server_access(role))
    every = cluster.every_table_reach(role)
    # EXECUTE on a file function is granted per database; the files are the whole cluster's.
    for db in databases:
        for signature, what in db.file_functions.get(role.name, {}).items():
            every.setdefault(f"EXECUTE {signature}", f"EXECUTE {signature} ({what})")
    result.server_access += sorted(how for how in every if how.startswith("EXECUTE "))
    for db in databases:
        for store, read in db.reads.get(role.name, {}).items():
            _merge(result.reads, store, read)
        result.unseen += [f"{db.label}: {what}" for what in db.unseen.get(role.name, ())]
        for how in every.values():
            for store in db.stores:
                _merge(result.reads, store, Read(how, wildcard=how == "pg_read_all_data"))
        if db.template and role.create_db and not role.superuser:
            _clones(result, db)
        for other, how in db.becomes.get(role.name, {}).items():
            if other.startswith("pg_"):
                _as_predefined(result, other, how, databases)
            else:
                result.becomes.setdefault(other, how)
    for other, how in cluster.becomes(role).items():
        result.becomes[other] = how  # memberships first: the plainest way
    result.becomes.pop(role.name, None)
    return result


def _clones(result: RoleAccess, template: DatabaseAccess) -> None:
    """A CREATEDB role may clone a template and own the copy: the copy's owner is a member of
    pg_database_owner there, and reads the copies of what that role reads in the template."""
    for store, read in template.reads.get(DATABASE_OWNER, {}).items():
        how = f"CREATEDB (clones template {template.name} and owns the copy, as {DATABASE_OWNER}: {read.how})"
        _merge(result.reads, store, Read(how, read.wildcard))


def _as_predefined(result: RoleAccess, predefined: str, how: str,
                   databases: Sequence[DatabaseAccess]) -> None:
    """A predefined role can own a SECURITY DEFINER function or a table with rules: who runs
    them acts as it. It is no principal of the inventory (pg_* roles are not listed), so what it
    reads is added to the role's own reads: its grants, and every table for the roles whose
    members read them all."""
    for db in databases:
        for store, read in db.reads.get(predefined, {}).items():
            _merge(result.reads, store, Read(f"{how}, as {predefined}: {read.how}", read.wildcard))
        if predefined in _EVERY_TABLE:
            for store in db.stores:
                _merge(result.reads, store, Read(f"{how}, as {_EVERY_TABLE[predefined]}"))
