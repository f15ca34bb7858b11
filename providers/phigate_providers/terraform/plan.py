"""A ``terraform show -json`` plan, indexed: planned resources with their changes and configuration.

What each resource will look like after apply comes from three places of the document:
``planned_values`` (the values, without those known only after apply), ``resource_changes`` (the
actions, and ``after_unknown`` naming the values known only after apply) and ``configuration``
(the expressions as written: which attribute the configuration sets, and which other resources
it references). Deleted resources appear only in ``resource_changes``: they are not planned, so
they are not here.

Reading stays faithful to what apply will do: a change whose planned values are missing is read
from its ``after``; an attribute a created resource leaves unset takes the provider's documented
default (:mod:`~phigate_providers.terraform.defaults`); an update keeps the prior value of what it
does not touch. A plan that errored or is incomplete is read all the same, and says so
(:attr:`Plan.problems`): its evidence is incomplete as a whole. Terraform before 1.8 does not
mark a ``-target`` plan incomplete; such a plan is told by the resources its configuration
declares once that it neither plans nor changes.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from phigate.api import InputError
from phigate_providers.terraform import defaults
from phigate_providers.terraform.document import check as check_shape

#: Actions after which a resource exists with new settings (a replacement includes "create").
CHANGING = frozenset({"create", "update"})
#: Actions after which the resource is no longer managed by the configuration.
_GONE = frozenset({("delete",), ("forget",)})


@dataclass(slots=True)
class PlannedResource:
    """One managed resource instance as it will be after apply.

    - ``module``: the module instance path (``module.a[0].module.b``), "" at the root.
    - ``values``: planned values (known ones only); ``unknown``: ``after_unknown`` (``True`` where
      a value is known only after apply, nested like the values).
    - ``expressions``: the configuration's expressions for this resource ({} when the plan has no
      configuration); ``actions``: the planned actions (``no-op`` when the plan lists none).
    """

    address: str
    type: str
    name: str
    module: str
    index: Any
    values: dict[str, Any]
    unknown: Any
    expressions: dict[str, Any]
    actions: tuple[str, ...]
    provider_key: str | None

    @property
    def changing(self) -> bool:
        """Created, updated or replaced by this plan."""
        return not CHANGING.isdisjoint(self.actions)


@dataclass(slots=True)
class ModuleConfig:
    """A module's configuration: its resources' expressions, its calls, outputs and variables."""

    resources: dict[str, Mapping[str, Any]] = field(default_factory=dict)  # "type.name" -> block
    calls: dict[str, Mapping[str, Any]] = field(default_factory=dict)       # name -> module_call
    outputs: Mapping[str, Any] = field(default_factory=dict)


class Plan:
    """The plan's managed resources by address and type, with what resolving references needs."""

    def __init__(self, document: Mapping[str, Any], label: str) -> None:
        self.label = label
        self.format_version = str(document.get("format_version", ""))
        configuration = _mapping(document.get("configuration"))
        self.has_configuration = bool(configuration)
        self.modules: dict[str, ModuleConfig] = {}
        #: Configuration paths of modules called with count or for_each (maybe not at all).
        self._repeated_modules: set[str] = set()
        self._index_modules(_mapping(configuration.get("root_module")), "")
        self.provider_configs: Mapping[str, Any] = _mapping(configuration.get("provider_config"))
        self.variables: dict[str, Any] = {
            name: entry["value"] for name, entry in _mapping(document.get("variables")).items()
            if isinstance(entry, Mapping) and "value" in entry}
        changes = {c["address"]: c for c in document.get("resource_changes") or ()
                   if isinstance(c, Mapping) and isinstance(c.get("address"), str) and not c.get("deposed")}
        #: Why the plan cannot stand for the estate after apply (errored, incomplete …): each
        #: makes the whole plan's evidence incomplete.
        self.problems: list[str] = _plan_problems(document)
        self.resources: list[PlannedResource] = []
        planned = _mapping(document.get("planned_values"))
        listed: set[str] = set()
        for raw in _module_resources(_mapping(planned.get("root_module"))):
            address = raw.get("address")
            if isinstance(address, str):
                listed.add(address)
                self._add(raw, changes.get(address))
        # What the changes leave behind ("after") where the planned values lack it: a plan cut
        # or filtered by hand must not read as a smaller estate.
        missing = 0
        for address, change in changes.items():
            details = _mapping(change.get("change"))
            actions = tuple(details.get("actions") or ())
            if address in listed or change.get("mode", "managed") != "managed" or actions in _GONE:
                continue
            after = details.get("after")
            if isinstance(after, Mapping):
                self._add({**change, "values": after}, change)
            else:
                missing += 1
        if missing:
            self.problems.append(f"{missing} resource change(s) without planned values: what they "
                                 "leave after apply is not in the plan")
        if not self.resources and not changes and not self.has_configuration:
            # `terraform show -json` always writes the configuration: without it, nothing tells
            # the plan of an empty configuration from one emptied by hand.
            self.problems.append("the plan holds no resource and no configuration: nothing tells an empty "
                                 "configuration from a plan cut by hand; write it with "
                                 "`terraform show -json PLANFILE`")
        left_out = self._left_out(changes.keys()) if document.get("complete") is not False else []
        if left_out:
            self.problems.append(
                f"{len(left_out)} resource(s) the configuration declares are neither planned nor changed "
                f"({', '.join(left_out[:3])}{' …' if len(left_out) > 3 else ''}): a plan made with -target "
                "(Terraform before 1.8 does not say so) or cut by hand; plan the whole configuration")
        self.by_address = {r.address: r for r in self.resources}
        self.by_type: dict[str, list[PlannedResource]] = {}
        self._instances: dict[tuple[str, str], list[PlannedResource]] = {}
        for resource in self.resources:
            self.by_type.setdefault(resource.type, []).append(resource)
            key = (config_path(resource.module), f"{resource.type}.{resource.name}")
            self._instances.setdefault(key, []).append(resource)

    def _left_out(self, changed: Iterable[str]) -> list[str]:
        """Managed resources the configuration declares exactly once (no ``count`` or
        ``for_each``, in modules called once) that the plan neither plans nor changes: a
        targeted or cut plan, which must not read as a smaller estate."""
        present: set[tuple[str, str]] = set()
        for address in (*(r.address for r in self.resources), *changed):
            module, rtype, name, _ = split_address(address)
            present.add((config_path(module), f"{rtype}.{name}"))
        return sorted(f"{path}.{local}".lstrip(".")
                      for path, config in self.modules.items() if path not in self._repeated_modules
                      for local, block in config.resources.items()
                      if _declared_once(local, block) and (path, local) not in present)

    def _index_modules(self, module: Mapping[str, Any], path: str, repeated: bool = False) -> None:
        if repeated:
            self._repeated_modules.add(path)
        config = ModuleConfig(outputs=_mapping(module.get("outputs")))
        for block in module.get("resources") or ():
            if isinstance(block, Mapping) and isinstance(block.get("address"), str):
                config.resources[block["address"]] = block
        for name, call in _mapping(module.get("module_calls")).items():
            if isinstance(call, Mapping):
                config.calls[name] = call
                self._index_modules(_mapping(call.get("module")), f"{path}.module.{name}".lstrip("."),
                                    repeated or "count_expression" in call or "for_each_expression" in call)
        self.modules[path] = config

    def _add(self, raw: Mapping[str, Any], change: Mapping[str, Any] | None) -> None:
        address = raw.get("address")
        if raw.get("mode", "managed") != "managed" or not isinstance(address, str):
            return
        module, rtype, name, index = split_address(address)
        details = _mapping((change or {}).get("change"))
        actions = tuple(details.get("actions") or ("no-op",))
        if actions in _GONE:
            return
        rtype = str(raw.get("type") or rtype)
        block = self.modules.get(config_path(module), ModuleConfig()).resources.get(f"{rtype}.{name}", {})
        expressions = dict(_mapping(block.get("expressions")))
        provider = block.get("provider_config_key")
        values = dict(_mapping(raw.get("values")))
        unknown = details.get("after_unknown") or {}
        if isinstance(unknown, Mapping) and self.has_configuration:
            unknown = dict(unknown)
            if "create" in actions:
                defaults.apply(rtype, values, unknown, expressions)
            elif actions == ("update",):
                _keep_prior(values, unknown, _mapping(details.get("before")), expressions)
        self.resources.append(PlannedResource(
            address=address, type=rtype, name=str(raw.get("name") or name),
            module=module, index=index, values=values, unknown=unknown, expressions=expressions,
            actions=actions, provider_key=provider if isinstance(provider, str) else None))

    def instances(self, module: str, local: str) -> list[PlannedResource]:
        """Planned instances of the resource ``type.name`` declared in ``module`` (any instance
        path of that module declaration)."""
        return self._instances.get((config_path(module), local), [])

    def module_config(self, module: str) -> ModuleConfig | None:
        return self.modules.get(config_path(module))

    def call_of(self, module: str) -> tuple[str, Mapping[str, Any]] | None:
        """The parent module instance and the call block that instantiated ``module``."""
        if not module:
            return None
        parent, _, last = module.rpartition(".module.")
        if not _:
            parent, last = "", module.removeprefix("module.")
        name = last.split("[", 1)[0]
        config = self.module_config(parent)
        call = config.calls.get(name) if config else None
        return (parent, call) if call is not None else None


def load_document(data: Any, label: str) -> Plan:
    """The plan of a parsed document; InputError when it is not a plan, or not of a plan's shape."""
    if not is_plan(data) and is_state(data):
        raise InputError("this is Terraform state (what exists now), not a plan (what the apply will "
                         "make): run `terraform plan -out tfplan`, then `terraform show -json tfplan > "
                         "plan.json`", label)
    if not is_plan(data):
        raise InputError("not a Terraform plan: expected the JSON of `terraform show -json PLANFILE` "
                         "(an object with format_version and planned_values or resource_changes)", label)
    check_shape(data, label)
    return Plan(data, label)


def _declared_once(local: str, block: Mapping[str, Any]) -> bool:
    """A managed resource block without ``count`` or ``for_each``: exactly one instance."""
    return (block.get("mode", "managed") == "managed" and local.split(".", 1)[0] not in ("data", "ephemeral")
            and "count_expression" not in block and "for_each_expression" not in block)


def _plan_problems(data: Mapping[str, Any]) -> list[str]:
    found = []
    if data.get("errored") is True:
        found.append("the plan errored (terraform plan stopped on an error): it does not hold every "
                     "change; fix the error and plan again")
    if data.get("complete") is False:
        found.append("the plan is incomplete (`complete: false`: a -target plan, or changes deferred to "
                     "a later plan); what it leaves out is not judged: plan the whole configuration")
    return found


#: Attributes an update recomputes from others even when the configuration does not set them.
_RECOMPUTED = frozenset({"tags_all"})


def _keep_prior(values: dict[str, Any], unknown: dict[str, Any], before: Mapping[str, Any],
                expressions: Mapping[str, Any]) -> None:
    """An update leaves what it does not touch as it was: an attribute the configuration does
    not set, flagged unknown, keeps its prior value (the provider recomputes it, to the same)."""
    for attribute, flag in list(unknown.items()):
        if (flag is True and attribute not in expressions and attribute not in _RECOMPUTED
                and before.get(attribute) is not None):
            values[attribute] = before[attribute]
            del unknown[attribute]


def is_plan(data: Any) -> bool:
    return (isinstance(data, Mapping) and "format_version" in data
            and ("planned_values" in data or "resource_changes" in data))


def is_state(data: Any) -> bool:
    """``terraform show -json`` of the state (``values``), or a ``.tfstate`` file."""
    return isinstance(data, Mapping) and (
        ("format_version" in data and isinstance(data.get("values"), Mapping))
        or ("lineage" in data and "serial" in data))


def split_address(address: str) -> tuple[str, str, str, Any]:
    """(module instance path, type, name, instance key) of a resource instance address.

    ``module.a["x.y"].aws_s3_bucket.b[0]`` → (``module.a["x.y"]``, ``aws_s3_bucket``, ``b``, 0).
    Dots inside brackets belong to keys, not to the address.
    """
    parts = segments(address)
    if parts and parts[0] == "data":
        parts = parts[1:]
    module_parts: list[str] = []
    while len(parts) > 2 and parts[0] == "module":
        module_parts += parts[:2]
        parts = parts[2:]
    if len(parts) < 2:
        return ".".join(module_parts), "", address, None
    rtype, rest = parts[0], ".".join(parts[1:])
    name, index = rest, None
    if rest.endswith("]") and "[" in rest:
        name, key = rest.split("[", 1)
        index = _key(key[:-1])
    return ".".join(module_parts), rtype, name, index


def config_path(module: str) -> str:
    """A module instance path without its instance keys: the path of its configuration."""
    if "[" not in module:
        return module
    return ".".join(part.split("[", 1)[0] for part in segments(module))


def segments(address: str) -> list[str]:
    """An address split at its dots, keys in brackets kept whole."""
    if "[" not in address:
        return address.split(".")
    parts: list[str] = []
    current: list[str] = []
    depth = 0
    quoted = False
    for char in address:
        if char == '"' and depth:
            quoted = not quoted
        elif not quoted and char == "[":
            depth += 1
        elif not quoted and char == "]":
            depth -= 1
        if char == "." and not depth and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _key(text: str) -> Any:
    if text.startswith('"') and text.endswith('"'):
        return text[1:-1]
    try:
        return int(text)
    except ValueError:
        return text


def _module_resources(module: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    for raw in module.get("resources") or ():
        if isinstance(raw, Mapping):
            yield raw
    for child in module.get("child_modules") or ():
        if isinstance(child, Mapping):
            yield from _module_resources(child)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


__all__ = [
    "CHANGING",
    "ModuleConfig",
    "Plan",
    "PlannedResource",
    "config_path",
    "is_plan",
    "is_state",
    "load_document",
    "segments",
    "split_address",
]
