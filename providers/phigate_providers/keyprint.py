"""A fingerprint for a long-lived key's id, shared by every provider that lists keys.

Findings and snapshots name a key by this short hash, never by its id: enough to tell two keys
apart and to follow one across runs (hash the id you hold to find it), nothing to sign in with.
"""

from __future__ import annotations

import hashlib


def key_hash(key_id: str) -> str:
    """``sha256:`` and the first 16 hex digits of the SHA-256 of ``key_id``."""
    return "sha256:" + hashlib.sha256(key_id.encode()).hexdigest()[:16]


__all__ = ["key_hash"]
