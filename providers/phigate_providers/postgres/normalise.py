"""Catalog rows → phigate resources: ids, tags from comments, and each kind's attributes.

Ids: server ``postgres://HOST:PORT``, schema ``…/DB/SCHEMA``, table ``…/DB/SCHEMA/TABLE``,
role ``…/role/NAME``; a '/' or '%' inside a name is percent-encoded so ids stay unambiguous.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote

from phigate.api import Resource
from phigate.classify import labels_in_text
from phigate_providers.postgres.queries import RoleRow, SchemaRow, TableRow

PROVIDER = "postgres"
TYPES = {"db_server": "postgres.server", "db_schema": "postgres.schema", "table": "postgres.table",
         "principal": "postgres.role"}

_TRUE = frozenset({"on", "true", "yes", "1"})
_FALSE = frozenset({"off", "false", "no", "0", ""})
_PGAUDIT_CLASSES = frozenset({"read", "write", "function", "role", "ddl", "misc", "misc_set"})


def segment(name: str) -> str:
    return quote(name, safe="$")


def database_id(server: str, database: str) -> str:
    return f"{server}/{segment(database)}"


def schema_id(server: str, database: str, schema: str) -> str:
    return f"{database_id(server, database)}/{segment(schema)}"


def table_id(server: str, database: str, schema: str, table: str) -> str:
    return f"{schema_id(server, database, schema)}/{segment(table)}"


def role_id(server: str, role: str) -> str:
    return f"{server}/role/{segment(role)}"


def comment_tags(comment: str | None) -> dict[str, str]:
    """Labels written anywhere in a comment ('PMS notes. data_class=clinical', '[data_class=x]',
    'data_class: x'), as the classifier reads them."""
    return labels_in_text(comment)


def server_attributes(settings: Mapping[str, str]) -> dict[str, Any]:
    """The db_server attributes the visible settings decide; an unseen setting decides nothing."""
    attrs: dict[str, Any] = {}
    if "server_version" in settings:
        attrs["version"] = settings["server_version"]
    if "ssl" in settings:
        attrs["ssl"] = _on(settings["ssl"])
    if "password_encryption" in settings:
        value = settings["password_encryption"]
        attrs["password_encryption"] = "md5" if value.lower() in _TRUE else value  # 'on' meant md5
    if "log_connections" in settings:
        attrs["log_connections"] = connections_logged(settings["log_connections"])
    if "log_disconnections" in settings:
        attrs["log_disconnections"] = _on(settings["log_disconnections"])
    if "log_statement" in settings:
        attrs["log_statement"] = settings["log_statement"]
    pgaudit = pgaudit_loaded(settings)
    if pgaudit is not None:
        attrs["pgaudit"] = pgaudit
    logging: dict[str, bool] = {}
    if "log_connections" in attrs:
        logging["access_logs"] = attrs["log_connections"]
    if attrs.get("log_statement") == "all":
        logging["data_events"] = True
    elif pgaudit is not None:
        logging["data_events"] = pgaudit and (pgaudit_logs_reads(settings.get("pgaudit.log", "none"))
                                              or bool(settings.get("pgaudit.role")))
    if logging:
        attrs["logging"] = logging
    return attrs


def connections_logged(value: str) -> bool:
    """log_connections: a boolean up to PostgreSQL 17, a list of aspects from 18 on; connections
    count as logged when the authorization line (who connected to which database) is written."""
    lowered = value.strip().lower()
    if lowered in _TRUE or lowered == "all":
        return True
    if lowered in _FALSE:
        return False
    aspects = {part.strip() for part in lowered.split(",")}
    return bool(aspects & {"authorization", "all"})


def pgaudit_loaded(settings: Mapping[str, str]) -> bool | None:
    if "shared_preload_libraries" not in settings:
        return None  # hidden without pg_read_all_settings
    libraries = {part.strip().strip('"').lower() for part in settings["shared_preload_libraries"].split(",")}
    return "pgaudit" in libraries


def pgaudit_logs_reads(value: str) -> bool:
    """pgaudit.log is a list of classes, 'all', and '-class' exclusions, applied in order."""
    chosen: set[str] = set()
    for term in (t.strip().lower() for t in value.split(",")):
        excluded = term.startswith("-")
        names = _PGAUDIT_CLASSES if term.lstrip("-") == "all" else {term.lstrip("-")}
        chosen = chosen - names if excluded else chosen | names
    return "read" in chosen


def server(server_id: str, host: str, attrs: Mapping[str, Any], settings: Mapping[str, str],
           region: str | None) -> Resource:
    return Resource(id=server_id, type=TYPES["db_server"], kind="db_server", provider=PROVIDER,
                    scope=server_id, region=region, name=host, attributes=dict(attrs),
                    raw={**settings, "host": host})


def schema(server_id: str, database: str, row: SchemaRow, region: str | None) -> Resource:
    return Resource(id=schema_id(server_id, database, row.name), type=TYPES["db_schema"],
                    kind="db_schema", provider=PROVIDER, scope=server_id, region=region,
                    name=f"{database}.{row.name}", tags=comment_tags(row.comment),
                    attributes={"database": database, "owner": row.owner}, raw={"comment": row.comment})


def table(server_id: str, database: str, row: TableRow, schema_tags: Mapping[str, str], *,
          region: str | None, encryption: Mapping[str, Any] | None) -> Resource:
    """A table; its schema's comment tags are the defaults its own comment overrides."""
    public = row.public_column_grant or any(grantee == "PUBLIC" for grantee, _ in row.grants)
    attrs: dict[str, Any] = {
        "database": database,
        "schema": schema_id(server_id, database, row.schema),
        "owner": row.owner,
        "row_security": {"enabled": row.rls_enabled, "forced": row.rls_forced},
        "grants": [{"grantee": grantee, "privileges": list(privileges)}
                   for grantee, privileges in row.grants],
        "public_access": {"blocked": not public, "grants": ["PUBLIC"] if public else []},
        "encrypted_columns": list(row.bytea_columns),
    }
    raw: dict[str, Any] = {"comment": row.comment, "relkind": row.relkind,
                           "relrowsecurity": row.rls_enabled, "relforcerowsecurity": row.rls_forced}
    if encryption is not None:
        attrs["encryption"] = dict(encryption)
        raw["encryption_source"] = "phigate config (declared, not observed)"
    return Resource(id=table_id(server_id, database, row.schema, row.name), type=TYPES["table"],
                    kind="table", provider=PROVIDER, scope=server_id, region=region,
                    name=f"{database}.{row.schema}.{row.name}",
                    tags={**schema_tags, **comment_tags(row.comment)}, attributes=attrs, raw=raw)


def role(server_id: str, row: RoleRow, can_read: Iterable[str] | None, region: str | None) -> Resource:
    """A role; ``can_read`` None when some database's privileges could not be read (left out)."""
    attrs: dict[str, Any] = {
        "principal_type": "db_role", "login": row.login, "superuser": row.superuser,
        "create_role": row.create_role, "bypass_rls": row.bypass_rls, "member_of": list(row.member_of),
        "password_expires": row.valid_until is not None and row.valid_until != "infinity",
        # Grants name tables (ON ALL TABLES is expanded when granted): nothing is reached by a
        # wildcard, no other account can assume a role, no grant carries a condition.
        "can_read_via_wildcard": [], "third_party": False, "trusted_accounts": [],
        "external_id_required": None, "undecided_conditions": [],
    }
    if can_read is not None:
        attrs["can_read"] = sorted(can_read)
    return Resource(id=role_id(server_id, row.name), type=TYPES["principal"], kind="principal",
                    provider=PROVIDER, scope=server_id, region=region, name=row.name, attributes=attrs,
                    raw={"rolsuper": row.superuser, "rolcanlogin": row.login,
                         "rolcreaterole": row.create_role, "rolbypassrls": row.bypass_rls,
                         "rolinherit": row.inherit, "rolvaliduntil": row.valid_until})


def _on(value: str) -> bool:
    return value.strip().lower() in _TRUE
