"""Which S3 object reads a CloudTrail event selector records, shared by the live and plan readers.

Free of any cloud SDK import: plans are read without one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

S3_OBJECT = "AWS::S3::Object"

#: Advanced-selector fields whose meaning is understood; any other (eventName, eventSource …)
#: narrows what is recorded, so the selector is not taken to record every read.
_UNDERSTOOD_FIELDS = frozenset({"eventCategory", "resources.type", "readOnly", "resources.ARN"})


def advanced_read_scopes(fields: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The S3 read scopes one advanced event selector records (API spelling: ``Equals``,
    ``StartsWith`` …). A selector it cannot fully read (an exclusion such as ``NotStartsWith``,
    a filter on event names) counts as recording nothing: coverage is never assumed."""
    if set(fields) - _UNDERSTOOD_FIELDS:
        return []
    if fields.get("eventCategory", {}).get("Equals") != ["Data"]:
        return []
    if S3_OBJECT not in (fields.get("resources.type", {}).get("Equals") or []):
        return []
    read_only = fields.get("readOnly")
    if read_only is not None and _operators(read_only) and read_only.get("Equals") != ["true"]:
        return []
    arn_field = fields.get("resources.ARN")
    if arn_field is None or not _operators(arn_field):
        return [""]
    if _operators(arn_field) - {"Equals", "StartsWith"}:
        return []
    listed = [*(arn_field.get("StartsWith") or []), *(arn_field.get("Equals") or [])]
    return [bucket_scope(v) for v in listed if isinstance(v, str)]


def _operators(field: Mapping[str, Any]) -> set[str]:
    """The operators a field selector sets (a plan lists the unset ones as null or empty)."""
    return {name for name, values in field.items() if name != "Field" and values}


def bucket_scope(value: str) -> str:
    """'arn:aws:s3' and 'arn:aws:s3:::' mean every bucket; 'arn:aws:s3:::b/' one bucket."""
    return value.split(":::", 1)[1] if ":::" in value else ""


__all__ = ["S3_OBJECT", "advanced_read_scopes", "bucket_scope"]
