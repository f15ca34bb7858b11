"""JSON Schema validation of located documents, reported as precise ``FILE:LINE:COL`` problems."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator
from functools import cache
from typing import Any

import jsonschema
import jsonschema_rs

from phigate.problems import Problem, json_pointer
from phigate.schema_files import document_schema, kind_schema
from phigate.yamlsafe import Located


def ecma_pattern(pattern: str) -> str:
    """``pattern`` for Python's ``re`` with ``$`` as JSON Schema means it.

    JSON Schema patterns are ECMA-262 regular expressions (as the compiled fast path runs them),
    where ``$`` ends the text; in Python's it also matches before a final newline, so
    ``"aws.s3.bucket\\n"`` would pass ``^…$``. Each ``$`` outside a character class and not
    escaped becomes ``\\Z`` (the end of the text alone).
    """
    out, in_class, escaped = [], False, False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "[":
            in_class = True
        elif char == "]":
            in_class = False
        elif char == "$" and not in_class:
            out.append(r"\Z")
            continue
        out.append(char)
    return "".join(out)


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(ecma_pattern(pattern))


def _pattern(validator: Any, pattern: str, instance: Any,
             schema: Any) -> Iterator[jsonschema.ValidationError]:
    if validator.is_type(instance, "string") and not _compiled(pattern).search(instance):
        yield jsonschema.ValidationError(f"{instance!r} does not match {pattern!r}")


#: The exact validator, which says where and why: Draft 2020-12, ``format`` an annotation only,
#: ``pattern`` with ECMA-262's ``$``.
ReferenceValidator = jsonschema.validators.extend(  # type: ignore[no-untyped-call]  # (untyped upstream)
    jsonschema.Draft202012Validator, {"pattern": _pattern})


def reference_validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    built: jsonschema.Draft202012Validator = ReferenceValidator(schema)
    return built


def fast_validator(schema: dict[str, Any], *, formats: bool = False) -> jsonschema_rs.Validator:
    """A compiled validator giving the reference validator's verdict (only the verdict): the
    same draft, nothing fetched for a remote ``$ref``, ``format`` likewise an annotation unless
    ``formats`` asserts it (stricter than the reference: what it refuses for a format alone,
    the reference passes, and the caller says so).

    ``is_valid`` raises ValueError for a value JSON has no type for (bytes, a date, a key that
    is not a string) where the schema looks at it: callers take that as invalid."""
    return jsonschema_rs.Draft202012Validator(schema, validate_formats=formats, offline=True)


@cache
def validator(name: str) -> jsonschema.Draft202012Validator:
    return reference_validator(document_schema(name))


@cache
def kind_validator(kind: str) -> jsonschema.Draft202012Validator:
    return reference_validator(kind_schema(kind))


def schema_problems(name: str, doc: Located, file: str,
                    skip: Callable[[tuple[Any, ...]], bool] | None = None,
                    base: tuple[Any, ...] = ()) -> list[Problem]:
    """Validate ``doc.data`` against a bundled schema; one problem per distinct error.

    ``skip`` drops errors under paths a more specific checker reports itself. ``base`` is the
    pointer prefix of ``doc.data`` inside the located document.
    """
    return errors_to_problems(validator(name).iter_errors(doc.data), doc, file, skip, base)


def errors_to_problems(errors: Any, doc: Located, file: str,
                       skip: Callable[[tuple[Any, ...]], bool] | None = None,
                       base: tuple[Any, ...] = ()) -> list[Problem]:
    problems = []
    for error in errors:
        path = tuple(error.absolute_path)
        if skip is not None and skip(path):
            continue
        problems.extend(_describe(error, doc, file, (*base, *path)))
    return problems


def _describe(error: jsonschema.ValidationError, doc: Located, file: str,
              path: tuple[Any, ...]) -> list[Problem]:
    pointer = json_pointer(path)
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        schema = error.schema if isinstance(error.schema, dict) else {}
        allowed = set(schema.get("properties", {}))
        out = []
        for key in sorted(set(error.instance) - allowed):
            child = json_pointer((*path, key))
            line, col = doc.key_at(child)
            hint = difflib.get_close_matches(key, sorted(allowed), n=1)
            extra = f" (did you mean '{hint[0]}'?)" if hint else ""
            out.append(Problem(file, line, col, f"unknown key '{key}'{extra}", child))
        return out
    if error.validator in ("oneOf", "anyOf") and error.context:
        best = jsonschema.exceptions.best_match(error.context)
        if best is not None and best is not error:
            return _describe(best, doc, file, (*path, *best.relative_path))
    line, col = doc.at(pointer)
    message = error.message
    if error.validator == "required":
        message = message.replace("is a required property", "is required")
    elif len(message) > 300:
        message = f"{error.validator} check failed: {message[:200]}…"
    return [Problem(file, line, col, message, pointer)]
