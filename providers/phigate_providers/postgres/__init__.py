"""PostgreSQL provider (``--provider postgres``, ``phigate[postgres]``).

The provider class is loaded on first use: the command line reads its options (``SPEC``)
without psycopg, and psycopg itself is imported only when a scan starts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from phigate_providers.postgres.spec import SPEC

if TYPE_CHECKING:
    from phigate_providers.postgres.provider import PostgresProvider

__all__ = ["SPEC", "PostgresProvider"]


def __getattr__(name: str) -> Any:
    if name == "PostgresProvider":
        from phigate_providers.postgres.provider import PostgresProvider

        return PostgresProvider
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
