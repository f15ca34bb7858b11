"""Content sampling of PostgreSQL tables (``--sample-content``): a few rows of each
non-clinical table, each row read as JSON (column names are context: ``date_naissance: …``) and
cut to a byte bound, scanned in one batch (see :mod:`phigate_providers.content.sampling`).

The audit role holds no table privilege; sampling needs ``SELECT`` on the tables it samples
(:func:`grant_sql`), nothing else. Rows come from ``TABLESAMPLE SYSTEM`` on large tables (a
few pages, not a scan), else the first rows, in the provider's read-only transactions under its
statement timeout. When row-level security may hide rows from the role, the sample would say
"nothing found" about rows it never saw: it is an error instead. Server messages about the
sampling query are not passed on (a data error may quote a value).
"""

from __future__ import annotations

import json

from phigate.api import CollectionError, Resource
from phigate_providers.content.extract import flatten
from phigate_providers.content.options import incomplete, with_sample
from phigate_providers.content.sampling import SampleIncomplete, Sampler
from phigate_providers.postgres.connect import Connection, Unreadable

PROVIDER = "postgres"
#: Table kinds that have a ctid (an id for the evidence hash) and take TABLESAMPLE.
_SAMPLED_KINDS = frozenset({"r", "m", "p"})
#: Below this many estimated rows per wanted row, reading the first rows is cheaper.
_SPARSE = 10


def grant_sql(tables: list[tuple[str, str]], role: str = "phigate_scanner") -> str:
    """The grants sampling needs: USAGE on each schema, SELECT on each (schema, table)."""
    schemas = sorted({schema for schema, _ in tables})
    lines = [f"GRANT USAGE ON SCHEMA {_quoted(schema)} TO {_quoted(role)};" for schema in schemas]
    lines += [f"GRANT SELECT ON {_quoted(schema)}.{_quoted(table)} TO {_quoted(role)};"
              for schema, table in tables]
    return "\n".join(lines)


def sample_table(conn: Connection, resource: Resource, schema: str, table: str,
                 sampler: Sampler) -> tuple[Resource, CollectionError | None]:
    """The table with its ``content_sample`` attribute; or, when its rows could not all be
    seen, the table unchanged and the error to report. ``conn`` is connected to its database."""
    try:
        rows = _rows(conn, schema, table, sampler.settings.max_rows, sampler.settings.max_row_bytes)
        sample = sampler.sample_rows(resource.id, rows)  # within the table's time budget
    except SampleIncomplete as failure:
        return resource, incomplete(PROVIDER, f"table {schema}.{table}", resource, failure)
    return with_sample(resource, sample), None


def _rows(conn: Connection, schema: str, table: str, limit: int, row_bytes: int) -> list[tuple[str, str]]:
    relation = f"{_quoted(schema)}.{_quoted(table)}"
    facts = _read(conn, "SELECT c.relkind::text, c.relrowsecurity, c.relforcerowsecurity, "
                        "pg_catalog.pg_has_role(c.relowner, 'USAGE'), r.rolsuper OR r.rolbypassrls, "
                        "c.reltuples::float8 FROM pg_catalog.pg_class c "
                        "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace "
                        "CROSS JOIN pg_catalog.pg_roles r "
                        "WHERE n.nspname = %s AND c.relname = %s AND r.rolname = current_user",
                  (schema, table), "the table's row-level security")
    if not facts:
        raise SampleIncomplete("the table is gone or not visible", f"USAGE on schema {schema}")
    kind, rls, forced, owns, bypass, reltuples = facts[0]
    estimate = float(reltuples) if isinstance(reltuples, int | float) else -1.0
    if rls and not bypass and (forced or not owns):
        raise SampleIncomplete("row-level security may hide rows from the scanning role",
                               f"BYPASSRLS, or a policy letting the role read every row of {schema}.{table}")
    row_id = "t.ctid::text" if kind in _SAMPLED_KINDS else "''"
    # Identifiers quoted by _quoted; values are parameters.
    select = f"SELECT {row_id}, pg_catalog.left(pg_catalog.row_to_json(t)::text, %s) FROM {relation} AS t"
    rows: list[tuple[str, str]] = []
    if kind in _SAMPLED_KINDS and estimate > limit * _SPARSE:
        percent = min(100.0, max(0.0001, 100.0 * 3 * limit / estimate))
        rows = _fetch(conn, f"{select} TABLESAMPLE SYSTEM (%s) LIMIT %s", (row_bytes, percent, limit), table)
    if len(rows) < limit:  # small, never analysed, or the pages drawn held too few rows
        rows = _fetch(conn, f"{select} LIMIT %s", (row_bytes, limit), table)
    return [(row_id or f"row {number}", text) for number, (row_id, text) in enumerate(rows)]


def _fetch(conn: Connection, sql: str, params: tuple[object, ...], table: str) -> list[tuple[str, str]]:
    rows = _read(conn, sql, params, f"rows of {table}")
    return [(str(row_id), _flattened(str(text or ""))) for row_id, text in rows]


def _flattened(row: str) -> str:
    """A row's JSON as "column: value; …" (a cut one, past the byte bound, as it is)."""
    try:
        return flatten(json.loads(row))
    except ValueError:
        return row


def _read(conn: Connection, sql: str, params: tuple[object, ...], what: str) -> list[tuple[object, ...]]:
    try:
        return conn.rows(sql, params, what=what)
    except Unreadable as exc:
        if exc.permission is not None:
            raise SampleIncomplete(f"cannot read {what}: permission denied", exc.permission) from None
        raise SampleIncomplete(f"cannot read {what}") from None


def _quoted(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


__all__ = ["grant_sql", "sample_table"]
