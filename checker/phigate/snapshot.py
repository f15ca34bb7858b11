"""phigate's own inventory format: writing it, and validating what is read back.

A snapshot lets a supplier hand over its inventory instead of credentials, and lets an audit be
replayed. It keeps collection errors too, so a replay reports ``error`` wherever the original
collection could not see. Readers live in ``phigate_providers.snapshot``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict
from functools import cache
from typing import IO, Any

import jsonschema

from phigate import __version__
from phigate.api import KINDS, CollectionError, Context, Record, Resource, Scope, Unknown
from phigate.clock import report_time
from phigate.problems import Problem, json_pointer
from phigate.schema_files import document_schema, kind_schema
from phigate.validation import (
    errors_to_problems,
    fast_validator,
    kind_validator,
    reference_validator,
    validator,
)
from phigate.yamlsafe import Located, load_text

FORMAT_VERSION = 1
HEADER_KEY = "phigate_snapshot"


def header(scopes: Iterable[Scope]) -> dict[str, Any]:
    return {
        HEADER_KEY: FORMAT_VERSION,
        "created": report_time().isoformat(timespec="seconds"),
        "tool": {"name": "phigate", "version": __version__},
        "scopes": [{"provider": s.provider, "scope": s.scope, "regions": list(s.regions)}
                   for s in scopes],
    }


def resource_to_json(resource: Resource) -> dict[str, Any]:
    return {
        "id": resource.id, "type": resource.type, "kind": resource.kind,
        "provider": resource.provider, "scope": resource.scope, "region": resource.region,
        "name": resource.name, "tags": dict(resource.tags), "data_class": resource.data_class,
        "attributes": _known(resource.attributes), "raw": _known(resource.raw),
    }


_NOT_KNOWN = object()


def _known(value: Any) -> Any:
    """``value`` without what the source could not know (:class:`Unknown`): such an attribute is
    left out, so a replay reads it as not seen (``error``) just as the original run did. A list
    holding an unknown element is left out whole: a shorter list would read as complete."""
    if isinstance(value, Unknown):
        return _NOT_KNOWN
    if isinstance(value, Mapping):
        kept = {k: _known(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v is not _NOT_KNOWN}
    if isinstance(value, list | tuple):
        items = [_known(v) for v in value]
        return _NOT_KNOWN if any(v is _NOT_KNOWN for v in items) else items
    return value


def error_to_json(error: CollectionError) -> dict[str, Any]:
    data = asdict(error)
    data["kinds"], data["types"] = list(error.kinds), list(error.types)
    return data


def record_to_json(record: Record) -> dict[str, Any]:
    """One record as a JSON Lines snapshot writes it."""
    if isinstance(record, CollectionError):
        return {"error": error_to_json(record)}
    if isinstance(record, Context):
        return {"context": resource_to_json(record.resource)}
    return resource_to_json(record)


#: The last line of a JSON Lines snapshot whose header sets ``end_line``: its record count.
END_KEY = "phigate_snapshot_end"


def write_jsonl(records: Iterable[Record], scopes: Iterable[Scope], out: IO[str]) -> int:
    """Stream records as JSON Lines, then the end line; returns how many were written.

    A JSON Lines file cut after a complete record would read as a smaller estate: the header
    announces an end line with the count, so a reader tells a cut file from a whole one."""
    out.write(json.dumps({**header(scopes), "end_line": True}, sort_keys=True) + "\n")
    count = 0
    for record in records:
        line = record_to_json(record)
        out.write(json.dumps(line, sort_keys=True, ensure_ascii=False, default=str) + "\n")
        count += 1
    out.write(json.dumps({END_KEY: {"records": count}}) + "\n")
    return count


def write_document(records: Iterable[Record], scopes: Iterable[Scope], out: IO[str]) -> int:
    """Write one JSON document (resources sorted by id, for stable diffs)."""
    resources, context, errors = [], [], []
    for record in records:
        if isinstance(record, CollectionError):
            errors.append(error_to_json(record))
        elif isinstance(record, Context):
            context.append(resource_to_json(record.resource))
        else:
            resources.append(resource_to_json(record))
    doc = header(scopes)
    doc["resources"] = sorted(resources, key=lambda r: (r["id"], r["type"]))
    if context:  # read outside the reported scope: references and the access graph see them
        doc["context"] = sorted(context, key=lambda r: (r["id"], r["type"]))
    doc["errors"] = errors
    json.dump(doc, out, indent=2, sort_keys=True, ensure_ascii=False, default=str)
    out.write("\n")
    return len(resources) + len(errors)


class RecordValidator:
    """Validates records against the resource and kind schemas.

    The fast path is a compiled validator (jsonschema-rs: about a microsecond a resource); only
    a record it refuses is checked again by jsonschema, the reference, for every precise message.
    Both run Draft 2020-12 with ``format`` an annotation and ECMA-262 patterns, so they agree on
    every record a JSON or YAML reader can produce (``tests/test_snapshot_fast_path.py``).
    """

    def __init__(self) -> None:
        self._kinds, self._error = _fast_validators()

    def is_valid(self, data: Any) -> bool:
        if type(data) is dict and len(data) == 1 and "context" in data:
            inner = data["context"]
            return type(inner) is dict and "error" not in inner and self._is_valid(inner)
        return self._is_valid(data)

    def _is_valid(self, data: Any) -> bool:
        if type(data) is not dict:
            return False
        if "error" in data and len(data) == 1:
            validate, data = self._error, data["error"]
        else:
            kind = data.get("kind")
            found = self._kinds.get(kind) if type(kind) is str else None  # a list is unhashable
            if found is None:
                return False
            validate = found
        try:
            return validate(data)
        except ValueError:  # a value JSON has no type for: the reference path says which
            return False

    def problems(self, data: Any, located: Located, file: str, base: tuple[Any, ...]) -> list[Problem]:
        if type(data) is dict and len(data) == 1 and "context" in data:
            return self._problems(data["context"], located, file, (*base, "context"))
        return self._problems(data, located, file, base)

    def _problems(self, data: Any, located: Located, file: str, base: tuple[Any, ...]) -> list[Problem]:
        """Every problem of an invalid resource record at ``base``, located in ``file``."""
        found = errors_to_problems(validator("resource").iter_errors(data), located, file, base=base)
        kind = data.get("kind") if isinstance(data, dict) else None
        attributes = data.get("attributes", {}) if isinstance(data, dict) else {}
        if kind in KINDS:
            found += errors_to_problems(kind_validator(kind).iter_errors(attributes), located, file,
                                        base=(*base, "attributes"))
        return found or [Problem(file, *located.at(json_pointer(base)), "invalid record",
                                 json_pointer(base))]

    def error_problems(self, body: Any, located: Located, file: str,
                       base: tuple[Any, ...]) -> list[Problem]:
        """Every problem of an invalid collection-error record whose body sits at ``base``."""
        errors = _error_validator().iter_errors(body)
        return errors_to_problems(errors, located, file, base=base) or [
            Problem(file, *located.at(json_pointer(base)), "invalid error record", json_pointer(base))]


@cache
def _error_validator() -> jsonschema.Draft202012Validator:
    return reference_validator(document_schema("snapshot")["$defs"]["error"])


@cache
def _fast_validators() -> tuple[dict[str, Callable[[Any], bool]], Callable[[Any], bool]]:
    """One compiled validator per kind (envelope and attributes together: one call a record),
    and one for collection errors; compiled once per process (they hold no state)."""
    envelope = document_schema("resource")
    kinds: dict[str, Callable[[Any], bool]] = {}
    for kind in KINDS:
        schema = copy.deepcopy(envelope)
        schema["properties"]["kind"] = {"const": kind}
        schema["properties"]["attributes"] = kind_schema(kind)
        kinds[kind] = fast_validator(schema).is_valid
    error: Callable[[Any], bool] = fast_validator(document_schema("snapshot")["$defs"]["error"]).is_valid
    return kinds, error


#: The fields of a resource, as a record holding every one of them names them.
_FIELDS = frozenset(("id", "type", "kind", "provider", "scope", "region", "name", "tags",
                     "data_class", "attributes", "raw"))


def resource_from_json(data: dict[str, Any]) -> Resource:
    """Build a resource from a validated record."""
    if (len(data) == len(_FIELDS) and data.keys() == _FIELDS and type(data["tags"]) is dict
            and type(data["attributes"]) is dict and type(data["raw"]) is dict):
        # The usual record (writers write every field): it becomes the resource's own field
        # dict, as ``Resource`` keeps them, instead of being copied into a new one.
        resource: Resource = object.__new__(Resource)
        object.__setattr__(resource, "__dict__", data)
        return resource
    get = data.get  # positional arguments: this runs once per resource of the estate
    return Resource(data["id"], data["type"], data["kind"], data["provider"], get("scope", ""),
                    get("region"), get("name"), get("tags") or {}, get("data_class"),
                    get("attributes") or {}, get("raw") or {})


def error_from_json(data: dict[str, Any]) -> CollectionError:
    return CollectionError(
        provider=data["provider"], message=data["message"], scope=data.get("scope", ""),
        region=data.get("region"), kinds=tuple(data.get("kinds", ())),
        types=tuple(data.get("types", ())), resource_id=data.get("resource_id"),
        permission=data.get("permission"),
    )


def locate(text: str, file: str) -> Located:
    """Positions for a JSON/YAML text that failed validation (the slow path only)."""
    docs, _ = load_text(text, file)
    return docs[0] if docs else Located(None, {}, {})
