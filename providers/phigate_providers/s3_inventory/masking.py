"""Object keys shown as evidence, masked: enough to find the object, not to read its name.

Object keys in clinical buckets often carry what the objects are about (a patient's name, a
date of birth, a diagnosis in a file name). A finding keeps the first path segment (usually a
folder such as ``notes/`` or ``2019/``) and replaces the rest with a short hash of the whole
key, which the bucket's owner can match against the report (``sha256(key)``, first 12 hex
digits) while a reader of the finding cannot recover it.
"""

from __future__ import annotations

import hashlib
from urllib.parse import unquote_plus

DIGITS = 12


def decode(key: str, file_format: str) -> str:
    """CSV reports write keys URL-encoded (a space as ``+``); Parquet and ORC as they are."""
    return unquote_plus(key) if file_format == "CSV" else key


def mask(key: str) -> str:
    """``notes/2019/dupont-jean.pdf`` → ``notes/…#<12 hex>``; a key without ``/`` keeps nothing."""
    digest = hashlib.sha256(key.encode("utf-8", errors="surrogatepass")).hexdigest()[:DIGITS]
    head, slash, _ = key.partition("/")
    return f"{head}/…#{digest}" if slash else f"…#{digest}"


__all__ = ["decode", "mask"]
