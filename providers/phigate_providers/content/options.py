"""Turning content sampling on: the command-line options and config keys every live provider
shares, and what a provider asks before and after sampling one store.

Sampling is off unless ``--sample-content`` (or ``sample_content: true`` in the provider's
config section) turns it on: it reads stored data, which the rest of a scan never does, and
needs read permissions on the data that a least-privilege audit role does not hold.
Clinical stores are never sampled (they are expected to hold health data).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from phigate.api import CollectionError, InputError, Option, Resource

if TYPE_CHECKING:  # the detectors are compiled only when a run samples (see _sampling)
    from phigate_providers.content.sampling import SampleIncomplete, Sampler, SampleResult, SampleSettings

#: The shared flag that turns sampling on.
FLAG = "--sample-content"

#: The options every sampling provider declares (the command line shows them once).
OPTIONS: tuple[Option, ...] = (
    Option(FLAG, "sample_content", kind="flag",
           help="read a small sample of every non-clinical object store and table and look for "
                "health data in it (PHI-SEG-004); needs read access to the data"),
    Option("--sample-objects", "sample_objects", kind="integer", metavar="N",
           help="with --sample-content: objects read per store (20)"),
    Option("--sample-rows", "sample_rows", kind="integer", metavar="N",
           help="with --sample-content: rows read per table (200)"),
    Option("--sample-bytes", "sample_bytes", kind="integer", metavar="N",
           help="with --sample-content: bytes read at most per object (1048576)"),
)


@dataclass(frozen=True)
class ContentOptions:
    """Whether a provider samples content, and how much."""

    enabled: bool = False
    settings: SampleSettings = field(default_factory=lambda: _sampling().SampleSettings())

    @classmethod
    def from_options(cls, provider: str, options: Mapping[str, Any],
                     section: Mapping[str, Any]) -> ContentOptions:
        """From the command line (which wins) and the provider's config section
        (``sample_content: true``, ``content_sample: {objects: 20, include: ["*.csv"]}``)."""
        enabled = options.get("sample_content")
        if enabled is None:
            enabled = section.get("sample_content", False)
        if not isinstance(enabled, bool):
            raise InputError(f"{provider}: sample_content must be true or false")
        if enabled and importlib.util.find_spec("ahocorasick") is None:
            raise InputError(f"{provider}: --sample-content needs the content extra "
                             "(pip install 'phigate[content]')")
        values = dict(section.get("content_sample") or {})
        overrides = (("sample_objects", "objects"), ("sample_rows", "rows"), ("sample_bytes", "object_bytes"))
        for option, key in overrides:
            value = options.get(option)
            if value is not None:
                values[key] = value
        return cls(enabled, _sampling().settings_from(provider, values))

    def sampler(self) -> Sampler | None:
        """A sampler for one run (its own random key), or None when sampling is off."""
        return _sampling().Sampler(self.settings) if self.enabled else None


def wanted(resource: Resource, classify: Callable[[Resource], str]) -> bool:
    """Whether a store is sampled: every class but clinical (a public or an unclassified
    store holding health data is the finding). A class the provider set (a copy's, from its
    sources) is the engine's too."""
    return (resource.data_class or classify(resource)) != "clinical"


def with_sample(resource: Resource, result: SampleResult) -> Resource:
    """A copy of ``resource`` carrying the ``content_sample`` attribute."""
    return Resource(id=resource.id, type=resource.type, kind=resource.kind, provider=resource.provider,
                    scope=resource.scope, region=resource.region, name=resource.name, tags=resource.tags,
                    data_class=resource.data_class,
                    attributes={**resource.attributes, _sampling().ATTRIBUTE: result.attribute()},
                    raw=resource.raw)


def incomplete(provider: str, subject: str, resource: Resource, failure: SampleIncomplete) -> CollectionError:
    """The error for a store whose sample could not be completed (``subject`` names the store,
    never an object or a row: the failure's message was written without them)."""
    return CollectionError(
        provider=provider, message=f"{subject}: content sample incomplete: {failure.message}",
        scope=resource.scope, region=resource.region, kinds=(resource.kind,), types=(resource.type,),
        resource_id=resource.id, permission=failure.permission)


def _sampling() -> Any:
    """The sampling module, imported on first use."""
    from phigate_providers.content import sampling

    return sampling


__all__ = ["FLAG", "OPTIONS", "ContentOptions", "incomplete", "wanted", "with_sample"]
