"""What to scan: command-line options and the config section turned into checked server targets.

Every mistake here is the user's input, reported as one ``InputError`` line (exit 2) that never
repeats a connection string, since one may hold a password.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from phigate.api import InputError
from phigate_providers.postgres.spec import SSLMODES

SECTION = "providers.postgres"
SETTING_KEYS = ("dsns", "databases", "sslmode", "sslrootcert", "sslcert", "sslkey",
                "statement_timeout", "connect_timeout", "region", "encryption",
                "sample_content", "content_sample")  # the last two: phigate_providers.content
SERVER_KEYS = ("dsn", "databases", "region", "encryption")
ENCRYPTION_KEYS = ("at_rest", "key_manager", "key", "algorithm")
DEFAULT_STATEMENT_TIMEOUT = 30
DEFAULT_CONNECT_TIMEOUT = 10


@dataclass(frozen=True)
class ServerTarget:
    """One server to scan. ``label`` is its id before connecting (``postgres://HOST:PORT``)."""

    dsn: str
    label: str
    connect_params: Mapping[str, str] = field(default_factory=dict)
    #: Databases to scan; empty means every database that accepts connections.
    databases: tuple[str, ...] = ()
    #: Where the server runs and how its storage is encrypted: facts PostgreSQL cannot report,
    #: declared by the operator in the config, applied as given.
    region: str | None = None
    encryption: Mapping[str, Any] | None = None
    statement_timeout: int = DEFAULT_STATEMENT_TIMEOUT
    secrets: tuple[str, ...] = ()


def targets_from(options: Mapping[str, Any], settings: Mapping[str, Any]) -> list[ServerTarget]:
    """Server targets from ``--dsn`` options and the config section, checked."""
    if not isinstance(settings, Mapping):
        raise InputError(f"{SECTION}: expected a mapping of settings")
    _no_unknown(settings, SETTING_KEYS, SECTION)
    common = _common(options, settings)
    configured = _configured_servers(settings)
    given = options.get("dsn") or []
    # --dsn replaces the configured servers, as --region replaces configured regions; a server
    # the config also names keeps its settings there (region, encryption, databases).
    by_dsn = {entry.get("dsn"): entry for entry in configured}
    entries = [by_dsn.get(d, {"dsn": d}) for d in given] if given else configured
    if not entries:
        raise InputError("postgres: nothing to scan; give --dsn or providers.postgres.dsns in the config")
    cli_databases = tuple(options.get("pg_database") or ())
    targets = []
    for number, entry in enumerate(entries, start=1):
        where = f"postgres server #{number}"
        dsn = entry.get("dsn")
        if not isinstance(dsn, str) or not dsn.strip():
            raise InputError(f"{where}: 'dsn' must be a non-empty connection string")
        parsed = _parse_dsn(dsn, where)
        databases = cli_databases or _names(entry.get("databases", common["databases"]), where)
        params = dict(common["params"])
        if "connect_timeout" in parsed and "connect_timeout" not in settings:
            del params["connect_timeout"]  # the connection string's own wins over the default
        targets.append(ServerTarget(
            dsn=dsn, label=label_for(parsed), connect_params=params, databases=databases,
            region=_optional_str(entry.get("region", common["region"]), f"{where}: region"),
            encryption=_encryption(entry.get("encryption", common["encryption"]), where),
            statement_timeout=common["statement_timeout"],
            secrets=tuple(s for s in (parsed.get("password"), os.environ.get("PGPASSWORD")) if s)))
    return targets


def _configured_servers(settings: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    configured = settings.get("dsns", [])
    if not isinstance(configured, list):
        raise InputError(f"{SECTION}.dsns: expected a list of connection strings")
    entries: list[Mapping[str, Any]] = []
    for index, entry in enumerate(configured):
        where = f"{SECTION}.dsns[{index}]"
        if isinstance(entry, str):
            entries.append({"dsn": entry})
        elif isinstance(entry, Mapping):
            _no_unknown(entry, SERVER_KEYS, where)
            entries.append(entry)
        else:
            raise InputError(f"{where}: expected a connection string or a mapping with 'dsn'")
    return entries


def label_for(parsed: Mapping[str, str]) -> str:
    """``postgres://HOST:PORT`` from a parsed connection string, as libpq would resolve it
    (first host, environment defaults; a Unix socket directory counts as localhost)."""
    host = (parsed.get("host") or parsed.get("hostaddr") or os.environ.get("PGHOST") or "").split(",")[0]
    port = (parsed.get("port") or os.environ.get("PGPORT") or "").split(",")[0] or "5432"
    if not host and parsed.get("service"):
        return f"postgres://service:{parsed['service']}"
    if not host or host.startswith("/"):
        host = "localhost"
    return server_id(host, port)


def server_id(host: str, port: str | int) -> str:
    host = host.lower()
    return f"postgres://[{host}]:{port}" if ":" in host else f"postgres://{host}:{port}"


def _common(options: Mapping[str, Any], settings: Mapping[str, Any]) -> dict[str, Any]:
    params: dict[str, str] = {}
    sslmode = options.get("pg_sslmode") or settings.get("sslmode")
    if sslmode is not None:
        if sslmode not in SSLMODES:
            raise InputError(f"{SECTION}.sslmode: expected one of {', '.join(SSLMODES)}")
        params["sslmode"] = sslmode
    for key in ("sslrootcert", "sslcert", "sslkey"):
        value = options.get(f"pg_{key}") or settings.get(key)
        if value is not None:
            params[key] = _optional_str(value, f"{SECTION}.{key}") or ""
    params["connect_timeout"] = str(_seconds(settings, "connect_timeout", DEFAULT_CONNECT_TIMEOUT))
    return {"params": params, "databases": settings.get("databases", []),
            "region": settings.get("region"), "encryption": settings.get("encryption"),
            "statement_timeout": _seconds(settings, "statement_timeout", DEFAULT_STATEMENT_TIMEOUT)}


def _parse_dsn(dsn: str, where: str) -> dict[str, str]:
    from psycopg import ProgrammingError
    from psycopg.conninfo import conninfo_to_dict

    try:
        parsed = conninfo_to_dict(dsn)
    except ProgrammingError:
        # libpq's own message quotes the string, password included: say it in our words.
        raise InputError(f"{where}: not a valid PostgreSQL connection string or URI "
                         "(key=value pairs, postgresql://… or service=NAME)") from None
    return {key: str(value) for key, value in parsed.items()}


def _names(value: Any, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise InputError(f"{where}: 'databases' must be a list of database names")
    return tuple(value)


def _seconds(settings: Mapping[str, Any], key: str, default: int) -> int:
    value = settings.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InputError(f"{SECTION}.{key}: expected a positive number of seconds")
    return value


def _optional_str(value: Any, where: str) -> str | None:
    if value is not None and not (isinstance(value, str) and value):
        raise InputError(f"{where}: expected a non-empty string")
    return value


def _encryption(value: Any, where: str) -> Mapping[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise InputError(f"{where}: 'encryption' must be a mapping ({', '.join(ENCRYPTION_KEYS)})")
    _no_unknown(value, ENCRYPTION_KEYS, f"{where}: encryption")
    if not isinstance(value.get("at_rest"), bool):
        raise InputError(f"{where}: encryption.at_rest must be true or false")
    if value.get("key_manager") not in ("customer", "provider", None):
        raise InputError(f"{where}: encryption.key_manager must be customer, provider or null")
    for key in ("key", "algorithm"):
        _optional_str(value.get(key), f"{where}: encryption.{key}")
    return {"at_rest": value["at_rest"], "algorithm": value.get("algorithm"),
            "key": value.get("key"), "key_manager": value.get("key_manager")}


def _no_unknown(mapping: Mapping[str, Any], known: Sequence[str], where: str) -> None:
    unknown = sorted(str(k) for k in mapping if k not in known)
    if unknown:
        raise InputError(f"{where}: unknown key '{unknown[0]}' (known: {', '.join(known)})")
