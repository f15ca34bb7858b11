"""JSON Schema validation of located documents, reported as precise ``FILE:LINE:COL`` problems."""

from __future__ import annotations

import difflib
from collections.abc import Callable
from functools import cache
from typing import Any

import jsonschema

from phigate.problems import Problem, json_pointer
from phigate.schema_files import document_schema, kind_schema
from phigate.yamlsafe import Located


@cache
def validator(name: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(document_schema(name))


@cache
def kind_validator(kind: str) -> jsonschema.Draft202012Validator:
    return jsonschema.Draft202012Validator(kind_schema(kind))


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
