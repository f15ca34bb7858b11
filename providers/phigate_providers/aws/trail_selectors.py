"""What a CloudTrail event selector records, shared by the live and plan readers: which S3
object reads (data events), and whether a service's read-only management events (S3 Glacier's
vault reads: Glacier has no data events).

Free of any cloud SDK import: plans are read without one.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

S3_OBJECT = "AWS::S3::Object"
#: The event source of S3 Glacier's calls (InitiateJob, GetJobOutput, DescribeVault …).
GLACIER = "glacier.amazonaws.com"
#: The services whose read-only management events are looked for in the selectors: those whose
#: stores' reads are management events (Glacier has no data events).
MANAGEMENT_SOURCES = (GLACIER,)

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


def basic_records_reads(read_write_type: Any, include_management: Any, excluded: Collection[Any],
                        source: str) -> bool:
    """Whether a basic event selector records ``source``'s read-only management events: it
    includes management events (the API's default: None), is not write-only (``All`` when not
    given), and does not exclude ``source``."""
    return (include_management in (None, True) and read_write_type in (None, "All", "ReadOnly")
            and source not in excluded)


def advanced_records_reads(fields: Mapping[str, Mapping[str, Any]], source: str) -> bool:
    """Whether one advanced event selector (API spelling) records ``source``'s read-only
    management events: every field it sets matches such an event. A field or operator it cannot
    read for one (``eventName`` …) counts as recording nothing: coverage is never assumed."""
    if "eventCategory" not in fields:
        return False
    event = {"eventCategory": "Management", "readOnly": "true", "eventSource": source}
    return all(name in event and _matches(field, event[name]) for name, field in fields.items())


#: How an advanced field selector's operators test one value (its values: a list of strings).
_TESTS = {
    "Equals": lambda value, given: value in given,
    "NotEquals": lambda value, given: value not in given,
    "StartsWith": lambda value, given: any(value.startswith(g) for g in given),
    "NotStartsWith": lambda value, given: not any(value.startswith(g) for g in given),
    "EndsWith": lambda value, given: any(value.endswith(g) for g in given),
    "NotEndsWith": lambda value, given: not any(value.endswith(g) for g in given),
}


def _matches(field: Mapping[str, Any], value: str) -> bool:
    """Every operator the field selector sets holds for ``value`` (an unknown one: not known)."""
    operators = _operators(field)
    for name in operators:
        given = field[name]
        if name not in _TESTS or not isinstance(given, list) or not all(isinstance(g, str) for g in given):
            return False
        if not _TESTS[name](value, given):
            return False
    return bool(operators)


def _operators(field: Mapping[str, Any]) -> set[str]:
    """The operators a field selector sets (a plan lists the unset ones as null or empty)."""
    return {name for name, values in field.items() if name != "Field" and values}


def bucket_scope(value: str) -> str:
    """'arn:aws:s3' and 'arn:aws:s3:::' mean every bucket; 'arn:aws:s3:::b/' one bucket."""
    return value.split(":::", 1)[1] if ":::" in value else ""


__all__ = ["GLACIER", "MANAGEMENT_SOURCES", "S3_OBJECT", "advanced_read_scopes", "advanced_records_reads",
           "basic_records_reads", "bucket_scope"]
