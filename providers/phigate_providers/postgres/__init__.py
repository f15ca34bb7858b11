"""PostgreSQL provider (``--provider postgres``); psycopg is imported only when a scan starts."""

from phigate_providers.postgres.provider import PostgresProvider

__all__ = ["PostgresProvider"]
