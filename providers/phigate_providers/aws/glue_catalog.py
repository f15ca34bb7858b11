"""What the live reader (:mod:`.glue`) and the plan reader, which loads no cloud SDK, share about
the Glue Data Catalog: its type, the modes that encrypt it, its class from its databases'."""

from __future__ import annotations

CATALOG = "aws.glue.data_catalog"
KIND = "database"
#: Metadata encryption modes that encrypt under a KMS key.
ENCRYPTING_MODES = frozenset({"SSE-KMS", "SSE-KMS-WITH-SERVICE-ROLE"})
CLASS_TAG = "data_class"
CLINICAL = "clinical"


def catalog_class(classes: list[str | None]) -> str | None:
    """The catalog's ``data_class`` from its databases': every class found (the strictest wins),
    clinical whenever one is, and none when a database without a class could hold anything
    stricter than those found."""
    found = sorted({c for c in classes if c})
    if not found:
        return None
    if None in classes and CLINICAL not in {part.strip().lower() for c in found for part in c.split(",")}:
        return None
    return ",".join(found)


__all__ = ["CATALOG", "CLASS_TAG", "CLINICAL", "ENCRYPTING_MODES", "KIND", "catalog_class"]
