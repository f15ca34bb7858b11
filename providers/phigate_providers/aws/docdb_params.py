"""DocumentDB's ``tls`` cluster parameter, as the live reader and the plan reader read it (SDK-free).

``enabled`` (and the versions ``tls1.2+``, ``tls1.3+``, ``fips-140-3``) requires TLS,
``disabled`` accepts connections in clear; the default groups (``default.docdb…``) have it
enabled, as AWS documents.
"""

from __future__ import annotations

DEFAULT_GROUPS = "default.docdb"
#: ``tls`` values that accept connections in clear.
IN_CLEAR = frozenset({"disabled"})


def requires_tls(value: object) -> bool:
    """Whether a ``tls`` value refuses clients without TLS (unset: the default, enabled)."""
    return str(value or "enabled").lower() not in IN_CLEAR


__all__ = ["DEFAULT_GROUPS", "IN_CLEAR", "requires_tls"]
