"""The postgres provider's command line, as data: read without importing psycopg."""

from __future__ import annotations

from phigate.api import Option, ProviderSpec
from phigate_providers.content.options import OPTIONS as SAMPLING

SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")

SPEC = ProviderSpec(extra="postgres", options=(
    Option("--dsn", "dsn", metavar="DSN", repeatable=True,
           help="PostgreSQL connection string, URI or 'service=NAME' (repeatable; replaces the "
                "config's servers); keep passwords in ~/.pgpass or PGPASSWORD"),
    Option("--pg-database", "pg_database", metavar="NAME", repeatable=True,
           help="database to scan (repeatable; default: every database that accepts connections)"),
    Option("--pg-sslmode", "pg_sslmode", choices=SSLMODES,
           help="libpq sslmode for every PostgreSQL connection"),
    Option("--pg-sslrootcert", "pg_sslrootcert", metavar="FILE",
           help="CA certificate(s) to verify PostgreSQL servers with"),
    *SAMPLING,
))

__all__ = ["SPEC", "SSLMODES"]
