"""The plugin contract: what a provider yields and how it is described.

Providers live outside the engine (``phigate_providers`` or third-party packages) and are
found through the ``phigate.providers`` entry point group. A provider turns what it reads into
:class:`Resource` records of a normalised *kind*; anything it could not read is yielded as a
:class:`CollectionError` so that the engine reports ``error`` instead of silently passing.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol, runtime_checkable

#: The normalised kinds. Each has a JSON Schema in ``phigate/schemas/kinds``.
KINDS: tuple[str, ...] = (
    "account",
    "region_settings",
    "object_store",
    "database",
    "table",
    "volume",
    "stream",
    "key",
    "principal",
    "access_policy",
    "db_server",
    "db_schema",
    "object_inventory",
)

#: Data classes a classification step can give a resource.
DATA_CLASSES: tuple[str, ...] = ("clinical", "administrative", "public", "unclassified")


@dataclass(frozen=True, slots=True)
class Unknown:
    """A value the source cannot know yet (e.g. a Terraform value known only after apply).

    Any comparison that reads it is ``error``, never ``pass``.
    """

    reason: str = "unknown"


@dataclass(frozen=True, init=False)
class Resource:
    """One normalised resource.

    ``attributes`` hold the kind's normalised attributes (validated by the kind's schema);
    references to other resources are their ids. ``raw`` is what the source returned, for
    policies written against provider-native ``types``.
    """

    id: str
    type: str
    kind: str
    provider: str
    scope: str = ""
    region: str | None = None
    name: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    data_class: str | None = None
    attributes: Mapping[str, Any] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict)

    def __init__(self, id: str, type: str, kind: str, provider: str, scope: str = "",  # noqa: PLR0917
                 region: str | None = None, name: str | None = None,
                 tags: Mapping[str, str] | None = None, data_class: str | None = None,
                 attributes: Mapping[str, Any] | None = None,
                 raw: Mapping[str, Any] | None = None) -> None:
        # Frozen all the same (assignment raises), but built with one store instead of the
        # eleven guarded ones a generated frozen __init__ makes: a scan builds millions.
        object.__setattr__(self, "__dict__", {
            "id": id, "type": type, "kind": kind, "provider": provider, "scope": scope,
            "region": region, "name": name, "tags": {} if tags is None else tags,
            "data_class": data_class, "attributes": {} if attributes is None else attributes,
            "raw": {} if raw is None else raw})

    def with_data_class(self, data_class: str) -> Resource:
        """A copy carrying ``data_class`` (what classification gives every resource)."""
        fields = dict(self.__dict__)
        fields["data_class"] = data_class
        copy = object.__new__(Resource)
        object.__setattr__(copy, "__dict__", fields)
        return copy


#: Top-level resource fields a policy path may start with (besides the kind's attributes).
COMMON_FIELDS: frozenset[str] = frozenset(
    {"id", "type", "kind", "provider", "scope", "region", "name", "tags", "data_class", "raw"}
)


@dataclass(frozen=True, slots=True)
class CollectionError:
    """Something a provider could not read. It turns into ``error`` findings.

    ``kinds``/``types`` name what is affected, so every policy that would have looked at it
    reports ``error`` for ``resource_id`` (or for the whole scope when that is ``None``).
    When the provider could read part of a resource, it yields the resource without the
    attributes it could not read (never a guess) and an error naming ``resource_id``: policies
    that need the missing attributes are then ``error``, the others decide on what was seen.
    """

    provider: str
    message: str
    scope: str = ""
    region: str | None = None
    kinds: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    resource_id: str | None = None
    permission: str | None = None


@dataclass(frozen=True, slots=True)
class Context:
    """A resource read only as context: outside the scope the run reports on (another region,
    database, project or account), yet reachable by identities inside it. It feeds references
    and the access graph, and never gets findings of its own: narrowing a scan narrows what is
    reported, never what is reasoned about."""

    resource: Resource


Record = Resource | CollectionError | Context


@dataclass(frozen=True, slots=True)
class Scope:
    """What a provider instance covers, for the report (an account, a project, a file …)."""

    provider: str
    scope: str
    regions: tuple[str, ...] = ()


class InputError(Exception):
    """A problem with user input (a target, a file, an option) that a provider detected.

    The CLI reports it and exits 2; ``location`` is ``FILE:LINE:COL`` where known.
    """

    def __init__(self, message: str, location: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.location = location

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


@runtime_checkable
class Provider(Protocol):
    """A source of resources.

    Class attributes describe the provider for ``phigate providers``; ``permissions`` lists
    every read-only permission it needs (it must never call anything else). A provider may
    also define a classmethod ``permissions_document() -> str`` returning a ready-to-apply
    grant of exactly those permissions (an IAM policy document, SQL creating a role …), which
    ``phigate providers --permissions NAME`` prints instead of the list. A provider may define
    ``restrict(fields: Mapping[str, frozenset[str]])``: before collection, the run tells it which
    top-level attributes of each kind the selected policies read, so it can skip the reads of
    the others (a policy reading an attribute left out decides ``error``, never ``pass``).
    A live provider may define ``watch(report: Callable[[str], None])`` to be given a function
    it can call, from any thread, with a one-line status during long collections, and
    ``notices() -> list[str]``, read once its collection ends, for what it read but did not
    evaluate (information the report shows, never an error).
    """

    name: ClassVar[str]
    description: ClassVar[str]
    permissions: ClassVar[tuple[str, ...]]

    @classmethod
    def add_arguments(cls, parser: argparse._ArgumentGroup) -> None:
        """Declare the provider's own command-line options."""

    @classmethod
    def claims(cls, target: str) -> bool:
        """True when a positional TARGET (a path) belongs to this provider, by its content."""

    @classmethod
    def configure(
        cls, targets: list[str], options: argparse.Namespace, settings: Mapping[str, Any]
    ) -> list[Provider]:
        """Build instances from claimed targets, options and the config file's section."""

    def scopes(self) -> list[Scope]:
        """What this instance covers."""

    def collect(self) -> Iterator[Record]:
        """Yield resources and collection errors. Must not raise for what it could not read."""
