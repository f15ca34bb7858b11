"""Reading one planned attribute: its value, whether it is known only after apply, and what the
configuration wrote for it (a constant, or references that :func:`trace` follows to a resource).

Blocks are lists in planned values, in ``after_unknown`` and in configuration expressions alike,
so one path (``("rule", 0, "apply_server_side_encryption_by_default", 0, "kms_master_key_id")``)
reads all three.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard

from phigate.api import Unknown
from phigate_providers.terraform.plan import Plan, PlannedResource, split_address

#: The value is absent from the planned values and not flagged unknown: not set (null).
UNSET: Any = None
AFTER_APPLY = "known only after apply"
_MISSING = object()

Path = Sequence[str | int]


def after_apply(what: str) -> Unknown:
    return Unknown(f"{what}: {AFTER_APPLY}")


def value(resource: PlannedResource, path: Path) -> Any:
    """The planned value at ``path``: the value, :class:`Unknown` when known only after apply, or
    None when absent (unset)."""
    current: Any = resource.values
    unknown: Any = resource.unknown
    for step in path:
        if unknown is True:
            return after_apply(f"{resource.address}.{_dotted(path)}")
        unknown = _step(unknown, step)
        current = _step(current, step)
    if unknown is True:
        return after_apply(f"{resource.address}.{_dotted(path)}")
    return None if current is _MISSING else current


def is_unknown(found: Any) -> TypeGuard[Unknown]:
    return type(found) is Unknown


def known_bool(found: Any, default: bool) -> Any:
    """A boolean attribute: Unknown stays, unset takes the provider's documented default."""
    return default if found is None else found if is_unknown(found) else bool(found)


def expression(resource: PlannedResource, path: Path) -> Mapping[str, Any] | None:
    """The configuration's expression at ``path``; None when the configuration does not set it."""
    current: Any = resource.expressions
    for step in path:
        current = _step(current, step)
        if current is _MISSING:
            return None
    return current if isinstance(current, Mapping) else None


def configured(resource: PlannedResource, path: Path) -> bool:
    """The configuration sets the attribute at ``path`` (to a constant or an expression)."""
    found = expression(resource, path)
    return found is not None and (bool(found.get("references")) or "constant_value" in found)


def is_set(plan: Plan, resource: PlannedResource, path: Path) -> Any:
    """Whether the attribute at ``path`` will hold a value after apply: True or False when the
    plan tells, Unknown otherwise. A value known only after apply that the configuration takes
    from a resource of the same plan (a logging target bucket created alongside) is set: what
    it will be is unknown, that it will be something is not."""
    found = value(resource, path)
    if not is_unknown(found):
        return found not in (None, "", [], {})
    if trace(plan, resource, expression(resource, path)).resource is not None:
        return True
    return found


@dataclass(frozen=True, slots=True)
class Target:
    """Where an expression leads: a planned resource, a constant, or nowhere plain (``opaque``:
    a local, a computed expression, several candidates …; ``reason`` says which)."""

    resource: PlannedResource | None = None
    constant: Any = None
    has_constant: bool = False
    opaque: str | None = None


NOWHERE = Target(opaque="no reference")


def trace(plan: Plan, resource: PlannedResource, expr: Mapping[str, Any] | None,
          types: frozenset[str] | None = None, depth: int = 0) -> Target:
    """Follow an expression to the planned resource it references (of one of ``types`` when
    given), or to the constant it is (a literal, a root variable's value, a data source's literal
    ``name``/``key_id``)."""
    return _trace(plan, resource.module, resource.index, expr, types=types, depth=depth)


def _trace(plan: Plan, module: str, index: Any, expr: Mapping[str, Any] | None, *,
           types: frozenset[str] | None, depth: int) -> Target:
    if expr is None or depth > 8:
        return NOWHERE
    if "constant_value" in expr:
        return Target(constant=expr["constant_value"], has_constant=True)
    references = expr.get("references")
    if not isinstance(references, list):
        references = []
    found: dict[str, Target] = {}
    for reference in references:
        if not isinstance(reference, str):
            continue
        target = _reference(plan, module, index, reference, types=types, depth=depth)
        if target is None:
            continue
        key = (target.resource.address if target.resource is not None
               else repr(target.constant) if target.has_constant else str(target.opaque))
        found.setdefault(key, target)
        if target.resource is not None or target.has_constant:
            # Terraform lists one reference in several forms (x.y.arn, x.y): the first settles it.
            break
    if not found:
        return Target(opaque="references nothing in the plan") if references else NOWHERE
    if len(found) > 1:
        return Target(opaque="references several things")
    return next(iter(found.values()))


def _reference(plan: Plan, module: str, index: Any, reference: str, *,
               types: frozenset[str] | None, depth: int) -> Target | None:
    parts = reference.split(".")
    head = parts[0]
    if head == "var" and len(parts) >= 2:
        return _variable(plan, module, parts[1].split("[", 1)[0], types=types, depth=depth)
    if head == "module" and len(parts) >= 3:
        return _module_output(plan, module, f"{parts[1]}.{parts[2]}", types=types, depth=depth)
    if head == "data" and len(parts) >= 3:
        return _data_source(plan, module, f"{parts[1]}.{parts[2].split('[', 1)[0]}")
    if head in ("local", "each", "count", "path", "terraform", "self"):
        return Target(opaque=f"{head} value")
    if len(parts) < 2 or (types is not None and head not in types):
        return None
    _, rtype, name, wanted = split_address(".".join(parts[:2]))
    instances = plan.instances(module, f"{rtype}.{name}")
    instances = [r for r in instances if r.module == module] or instances
    if not instances:
        return Target(opaque=f"{rtype}.{name} is not planned")
    if wanted is not None:
        instances = [r for r in instances if r.index == wanted]
    elif len(instances) > 1 and index is not None:
        instances = [r for r in instances if r.index == index] or instances  # count.index pattern
    if len(instances) != 1:
        return Target(opaque=f"{rtype}.{name} has several instances")
    return Target(resource=instances[0])


def _variable(plan: Plan, module: str, name: str, *, types: frozenset[str] | None, depth: int) -> Target:
    if not module:
        if name in plan.variables:
            return Target(constant=plan.variables[name], has_constant=True)
        return Target(opaque=f"var.{name} has no value in the plan")
    called = plan.call_of(module)
    if called is None:
        return Target(opaque=f"var.{name}: module call not in the configuration")
    parent, call = called
    expr = _mapping(call.get("expressions")).get(name)
    if not isinstance(expr, Mapping):
        return Target(opaque=f"var.{name} keeps its default")
    return _trace(plan, parent, None, expr, types=types, depth=depth + 1)


def _module_output(plan: Plan, module: str, reference: str, *, types: frozenset[str] | None,
                   depth: int) -> Target:
    """``call.output`` of a module called from ``module``: the output's expression, inside it."""
    call, output = reference.split(".", 1)
    output = output.split("[", 1)[0]
    child = f"{module}.module.{call}".lstrip(".")
    config = plan.module_config(child)
    entry = _mapping(config.outputs.get(output)) if config else {}
    expr = entry.get("expression")
    if not isinstance(expr, Mapping):
        return Target(opaque=f"module.{call}.{output} is not in the configuration")
    return _trace(plan, child, None, expr, types=types, depth=depth + 1)


def _data_source(plan: Plan, module: str, local: str) -> Target:
    """A data source looking a key up by a literal name (``alias/aws/s3``) stands for that name."""
    config = plan.module_config(module)
    block = config.resources.get(f"data.{local}") if config else None
    expressions = _mapping((block or {}).get("expressions"))
    for attribute in ("key_id", "name"):
        literal = _mapping(expressions.get(attribute)).get("constant_value")
        if isinstance(literal, str) and literal:
            return Target(constant=literal, has_constant=True)
    return Target(opaque=f"data.{local}")


def _step(container: Any, step: str | int) -> Any:
    if isinstance(step, int):
        if isinstance(container, list) and -len(container) <= step < len(container):
            return container[step]
        return _MISSING
    if isinstance(container, dict):
        return container.get(step, _MISSING)
    return _MISSING


def _dotted(path: Path) -> str:
    return ".".join(str(p) for p in path)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


__all__ = ["AFTER_APPLY", "NOWHERE", "UNSET", "Target", "after_apply", "configured", "expression",
           "is_set", "is_unknown", "known_bool", "trace", "value"]
