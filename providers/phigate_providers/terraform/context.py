"""What every mapping of one plan shares: resource ids, tags, regions, and what it produced.

Ids follow the live providers wherever the plan knows the real-world id (an S3 bucket is
``arn:aws:s3:::NAME``, a GCS bucket ``gs://NAME``, a key, role or database its ARN), so that one
policy parameter (a break-glass role ARN, an allowed member) means the same on the plan and on
the live estate. A resource whose real-world id is known only after apply is identified by its
Terraform address. Every resource carries its address as ``name`` (what reports show), so
findings can be traced back to the plan whatever the id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from phigate.api import CollectionError, Resource, Unknown
from phigate_providers.terraform.plan import Plan, PlannedResource
from phigate_providers.terraform.values import after_apply, is_unknown, trace, value

PROVIDER = "terraform"
#: Tags a provider computes (known only after apply in some plans) -> the resource's own tags and
#: the provider configuration's defaults they are made of.
MERGED_TAGS = {"tags_all": ("tags", "default_tags"), "effective_labels": ("labels", "default_labels")}
#: The cloud each Terraform provider's resources live in: the ``provider`` of the resources,
#: as the live providers name it (so provider-scoped frameworks judge plan resources too).
CLOUDS = {"aws": "aws", "google": "gcp"}


def cloud_of(resource_type: str) -> str:
    return CLOUDS.get(resource_type.split("_", 1)[0], resource_type.split("_", 1)[0])


@dataclass(slots=True)
class Built:
    """A normalised resource and the planned resources it was built from (its address first)."""

    resource: Resource
    sources: tuple[str, ...]
    #: Ids of the resources its verdicts depend on (its key, the stores it reads …).
    depends_on: tuple[str, ...] = ()
    #: Named by the plan but not managed by it (a key given by ARN): context for references,
    #: never judged (the plan does not decide its settings).
    outside: bool = False


@dataclass
class Context:
    """One plan being mapped: ids by address, what was produced, what could not be seen."""

    plan: Plan
    locations: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)
    built: list[Built] = field(default_factory=list)
    errors: list[CollectionError] = field(default_factory=list)
    #: Stub resources for things the plan names but does not manage (a key given by ARN).
    stubs: dict[str, Built] = field(default_factory=dict)
    #: Each normalised resource by the address of the planned resource it was built from.
    by_source: dict[str, Resource] = field(default_factory=dict)
    #: Real-world ids several planned resources would have (one bucket name twice): id -> addresses.
    shared_ids: dict[str, list[str]] = field(default_factory=dict)
    #: The data class the engine will give a resource (the run's classification), where the
    #: mapping needs it (the access graph's "data of a class that matters"); None: not known.
    classify: Callable[[Resource], str] | None = None

    def id_of(self, resource: PlannedResource) -> str:
        return self.ids.get(resource.address, resource.address)

    def assign_ids(self, candidates: Iterable[tuple[PlannedResource, str | None]]) -> None:
        """Real-world ids where known and unique in the plan; the address otherwise."""
        wanted = [(r, rid) for r, rid in candidates if rid]
        seen: dict[str, int] = {}
        for _, rid in wanted:
            seen[rid] = seen.get(rid, 0) + 1
        for resource, rid in wanted:
            if rid is not None and seen[rid] == 1:
                self.ids[resource.address] = rid
            elif rid is not None:
                self.shared_ids.setdefault(rid, []).append(resource.address)

    def raw(self, resource: PlannedResource, *others: PlannedResource) -> dict[str, Any]:
        """What reports and raw-reading policies may use: addresses, types and actions, never
        values (planned values hold secrets such as database passwords in clear)."""
        raw: dict[str, Any] = {"address": resource.address, "terraform_type": resource.type,
                               "actions": list(resource.actions), "module": resource.module or None}
        if others:
            raw["joined"] = [{"address": o.address, "terraform_type": o.type, "actions": list(o.actions)}
                             for o in others]
        location = self.locations.get(resource.address)
        if location is not None:
            raw["location"] = dict(location)
        return raw

    def provider_config(self, resource: PlannedResource) -> Mapping[str, Any] | None:
        """The configuration block of the provider that manages ``resource`` (None: not in the
        plan)."""
        key = resource.provider_key or resource.type.split("_", 1)[0]
        configs = self.plan.provider_configs
        config = configs.get(key) or configs.get(key.rsplit(":", 1)[-1])
        return config if isinstance(config, Mapping) else None

    def region(self, resource: PlannedResource) -> str | None:
        """The resource's own region when it reports one, else its provider configuration's."""
        own = resource.values.get("region")
        if isinstance(own, str) and own:
            return own
        config = self.provider_config(resource) or {}
        expr = (config.get("expressions") or {}).get("region")
        if not isinstance(expr, Mapping):
            return None
        target = trace(self.plan, resource, expr)
        return target.constant if target.has_constant and isinstance(target.constant, str) else None

    def tags(self, resource: PlannedResource, names: tuple[str, ...]) -> dict[str, str] | Unknown:
        """Tags (or labels): the first of ``names`` the plan shows (``tags_all`` and
        ``effective_labels`` hold the provider's default ones too); Unknown when that one, or a
        value in it, is known only after apply. A ``tags_all`` (``effective_labels``) left unknown
        is the resource's ``tags`` (``labels``) over the provider's ``default_tags``
        (``default_labels``), when the configuration shows both."""
        for name in names:
            found = value(resource, (name,))
            unknown = is_unknown(found) or _has_unknown(resource.unknown, name)
            if unknown and name in MERGED_TAGS:
                return self._merged(resource, *MERGED_TAGS[name])
            if unknown:
                return after_apply(f"{resource.address}.{name}")
            if isinstance(found, Mapping):
                return _strings(found)
        return {}

    def _merged(self, resource: PlannedResource, own_name: str,
                defaults_name: str) -> dict[str, str] | Unknown:
        own = value(resource, (own_name,))
        if is_unknown(own) or _has_unknown(resource.unknown, own_name):
            return after_apply(f"{resource.address}.{own_name}")
        defaults = self.default_tags(resource, defaults_name)
        if isinstance(defaults, Unknown):
            return defaults
        return {**defaults, **(_strings(own) if isinstance(own, Mapping) else {})}

    def default_tags(self, resource: PlannedResource, name: str = "default_tags") -> dict[str, str] | Unknown:
        """The ``default_tags`` (Google: ``default_labels``) of the provider configuration
        managing ``resource`` ({} when it sets none); Unknown when the plan does not show the
        configuration, or they are an expression it cannot resolve (a variable without a value,
        a local, a computed map)."""
        config = self.provider_config(resource)
        if config is None and self.plan.has_configuration and not self._configures(resource):
            # No provider block of that provider anywhere in the configuration (the implicit,
            # empty one): default tags can only be written in a provider block, so there are none.
            return {}
        if config is None:
            return Unknown(f"{resource.address}: tags known only after apply and the provider "
                           f"configuration (its {name}) is not in the plan")
        found = (config.get("expressions") or {}).get(name)
        if not found:
            return {}
        expr: Any = found
        if isinstance(found, list):  # a block (default_tags { tags = … }): its tags
            block = found[0] if isinstance(found[0], Mapping) else {}
            if "tags" not in block:
                return {}
            expr = block["tags"]
        target = trace(self.plan, resource, expr if isinstance(expr, Mapping) else None)
        if target.has_constant and isinstance(target.constant, Mapping):
            return _strings(target.constant)
        if target.has_constant and target.constant is None:
            return {}
        return Unknown(f"{resource.address}: the provider's {name} are known only after apply "
                       f"({target.opaque or 'not a map'})")

    def _configures(self, resource: PlannedResource) -> bool:
        """Whether the configuration has any provider block (any alias, any module) of the
        provider managing ``resource``."""
        def local_name(key: str) -> str:  # "module:aws.alias" -> "aws"
            return key.rsplit(":", 1)[-1].split(".", 1)[0]

        name = local_name(resource.provider_key or resource.type.split("_", 1)[0])
        return any(isinstance(c, Mapping) and (c.get("name") == name or local_name(k) == name)
                   for k, c in self.plan.provider_configs.items())

    def tags_unknown(self, resource: PlannedResource, kind: str, rid: str, what: str) -> None:
        """A resource whose tags are known only after apply cannot be classified: it is not
        yielded (a guessed class would decide class-dependent policies wrongly), only an error."""
        self.errors.append(CollectionError(
            provider=PROVIDER, scope=self.plan.label, kinds=(kind,), types=(what,), resource_id=rid,
            message=f"{resource.address}: tags known only after apply, its data class cannot be told"))

    def error(self, resource: PlannedResource, rid: str, kind: str, rtype: str, message: str) -> None:
        self.errors.append(CollectionError(provider=PROVIDER, scope=self.plan.label, kinds=(kind,),
                                           types=(rtype,), resource_id=rid,
                                           message=f"{resource.address}: {message}"))

    def add(self, resource: Resource, sources: Iterable[PlannedResource],
            depends_on: Iterable[str] = ()) -> None:
        built = Built(resource, tuple(s.address for s in sources), tuple(depends_on))
        self.built.append(built)
        if built.sources:
            self.by_source.setdefault(built.sources[0], resource)

    def encryption_of(self, planned: PlannedResource) -> Any:
        """The normalised ``encryption`` of the store built from ``planned`` (None: none built)."""
        found = self.by_source.get(planned.address)
        return found.attributes.get("encryption") if found is not None else None


def _strings(tags: Mapping[Any, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in tags.items() if v is not None}


def _has_unknown(unknown: Any, name: str) -> bool:
    """``after_unknown`` flags the attribute or something inside it."""
    if not isinstance(unknown, dict):
        return False
    found = unknown.get(name)
    return found is True or (isinstance(found, dict) and any(v is True for v in found.values()))


__all__ = ["CLOUDS", "PROVIDER", "Built", "Context", "cloud_of"]
