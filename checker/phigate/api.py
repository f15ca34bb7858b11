"""The plugin contract: what a provider yields and how it is described.

Providers live outside the engine (``phigate_providers`` or third-party packages) and are
found through the ``phigate.providers`` entry point group. A provider turns what it reads into
:class:`Resource` records of a normalised *kind*; anything it could not read is yielded as a
:class:`CollectionError` so that the engine reports ``error`` instead of silently passing.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

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
#: Prefix of the entries of a principal's closed reach that stand for stores the run could not
#: see (an ``access_unseen`` scope): the engine writes them, conditions read them.
UNSEEN = "unseen: "


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


# -- what a provider package declares, readable without importing the provider or its SDK --

OptionKind = Literal["text", "integer", "path", "flag"]


@dataclass(frozen=True, slots=True)
class Option:
    """One command-line option of a provider, as data: the CLI builds its parser from these
    without importing any provider, and hands the values to ``configure`` in
    :attr:`RunContext.options` under ``dest`` (absent or None: not given on the command line)."""

    flag: str
    dest: str
    help: str
    kind: OptionKind = "text"
    metavar: str | None = None
    #: Given several times, the values are a list.
    repeatable: bool = False
    choices: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ProviderSpec:
    """What the module a ``phigate.providers`` entry point names declares as ``SPEC``, and must
    be able to declare without the provider's SDK installed."""

    #: The pip extra that installs what the provider needs (``aws`` → ``phigate[aws]``).
    extra: str = ""
    options: tuple[Option, ...] = ()
    #: Whether positional TARGETs may belong to it (its ``claims`` is asked); a live provider's
    #: class, and so its SDK, is then never loaded unless the run names it.
    takes_targets: bool = False


#: Data classes from strictest to weakest; a configured class not listed ranks just above
#: unclassified. Where labels, or a copy and its source, disagree, the strictest applies.
STRICTNESS: tuple[str, ...] = ("clinical", "administrative", "public")


def strictest(first: str, *others: str) -> str:
    """The strictest of the data classes given (the first, between equals)."""
    chosen = first
    for data_class in others:
        if class_rank(data_class) < class_rank(chosen):
            chosen = data_class
    return chosen


def class_rank(data_class: str) -> int:
    """Where ``data_class`` stands in :data:`STRICTNESS` (0: strictest; unclassified last)."""
    if data_class in STRICTNESS:
        return STRICTNESS.index(data_class)
    return len(STRICTNESS) + (data_class == "unclassified")


class DataClassifier(Protocol):
    """The engine's classifier as providers see it (``phigate.classify.Classifier``)."""

    def data_class(self, resource: Resource) -> str:
        """The data class the engine gives ``resource``."""


@dataclass(frozen=True)
class RunContext:
    """What ``configure`` builds a provider from: the run's loaded config and the classifier the
    engine applies (so a provider that classifies early, to spare clinical stores from content
    sampling or to judge its own TLS rules, agrees with the findings), the provider's command-line
    options (``Option.dest`` → value; None or absent: not given) and its config section.
    ``phigate.selection.run_context`` (also ``phigate.testing.run_context``) builds one."""

    #: The run's ``phigate.config.Config`` (typed loosely: the contract sits below the config).
    config: Any
    classifier: DataClassifier
    options: Mapping[str, Any] = field(default_factory=dict)
    settings: Mapping[str, Any] = field(default_factory=dict)

    def option(self, dest: str, setting: str | None = None) -> Any:
        """The command line's value when given, else the config section's ``setting``."""
        value = self.options.get(dest)
        if value is None and setting is not None:
            return self.settings.get(setting)
        return value

    def classify(self, resource: Resource) -> str:
        """The data class the engine will give ``resource``."""
        return self.classifier.data_class(resource)


@runtime_checkable
class Provider(Protocol):
    """A source of resources, behind the ``phigate.providers`` entry point.

    Class attributes describe the provider for ``phigate providers``; ``permissions`` lists
    every read-only permission it needs (it must never call anything else). Its command-line
    options are data (:class:`ProviderSpec`), not code. The optional hooks below
    (:class:`Restrictable`, :class:`RestrictableByClass`, :class:`Watchable`, :class:`WithNotices`,
    :class:`Sliceable`, :class:`WithPermissionsDocument`) are used when present; the contract is
    checked when the entry point loads (:func:`provider_problems`).
    """

    name: ClassVar[str]
    description: ClassVar[str]
    permissions: ClassVar[tuple[str, ...]]

    @classmethod
    def claims(cls, target: str) -> bool:
        """True when a positional TARGET (a path) belongs to this provider, by its content."""

    @classmethod
    def configure(cls, targets: list[str], context: RunContext) -> Sequence[Provider]:
        """Build instances from claimed targets and the run's context (options, config section)."""

    def scopes(self) -> list[Scope]:
        """What this instance covers."""

    def collect(self) -> Iterator[Record]:
        """Yield resources and collection errors. Must not raise for what it could not read."""


# -- optional hooks ----------------------------------------------------------------------------

@runtime_checkable
class Restrictable(Protocol):
    """Told before collection which top-level attributes of each kind the selected policies read,
    so it can skip the reads of the others (a policy reading an attribute left out decides
    ``error``, never ``pass``)."""

    def restrict(self, fields: Mapping[str, frozenset[str]]) -> None: ...


@runtime_checkable
class RestrictableByClass(Protocol):
    """Told after ``restrict`` which of those attributes only some data classes need: per kind,
    attribute → the classes (as ``RunContext.classify`` gives them) whose resources some
    selected policy reading it can apply to. An attribute not listed is needed for every class.
    A provider may skip such a read for a resource only once it knows the resource's class and
    that class is not listed; unsure (labels unread, a class of its own), it reads."""

    def restrict_classes(self, classes: Mapping[str, Mapping[str, frozenset[str]]]) -> None: ...


@runtime_checkable
class Watchable(Protocol):
    """Given a function it may call, from any thread, with a one-line status during long
    collections."""

    def watch(self, report: Callable[[str], None]) -> None: ...


@runtime_checkable
class WithNotices(Protocol):
    """Read once its collection ends: what it read but did not evaluate (information the report
    shows, never an error)."""

    def notices(self) -> list[str]: ...


@runtime_checkable
class Sliceable(Protocol):
    """Work that splits into independent parts for a distributed run: picklable providers that
    each collect on their own, whose records together, in this order, are the provider's."""

    def slices(self) -> Sequence[Provider]: ...


@runtime_checkable
class WithPermissionsDocument(Protocol):
    """A provider class with a ready-to-apply grant of exactly its ``permissions`` (an IAM policy
    document, SQL creating a role …), printed by ``phigate providers --permissions NAME``; a
    ``sample_content`` parameter, when it has one, adds what content sampling reads."""

    def permissions_document(self) -> str: ...


#: The optional hooks by name, for the check at load time.
HOOKS: tuple[str, ...] = ("restrict", "restrict_classes", "watch", "notices", "slices",
                          "permissions_document")


def provider_problems(candidate: object) -> list[str]:
    """What keeps ``candidate`` (what an entry point loaded) from being a provider class: empty
    when it honours the contract."""
    if not inspect.isclass(candidate):
        return [f"it is a {type(candidate).__name__}, not a provider class"]
    problems = [f"'{attr}' is not a string" for attr in ("name", "description")
                if not isinstance(getattr(candidate, attr, None), str)]
    permissions = getattr(candidate, "permissions", None)
    if not isinstance(permissions, tuple | list) or not all(isinstance(p, str) for p in permissions):
        problems.append("'permissions' is not a tuple of strings")
    problems += [f"'{method}' is missing or not callable" for method in ("claims", "scopes", "collect")
                 if not callable(getattr(candidate, method, None))]
    problems += [f"the optional hook '{hook}' is not callable" for hook in HOOKS
                 if getattr(candidate, hook, None) is not None and not callable(getattr(candidate, hook))]
    configure = getattr(candidate, "configure", None)
    if not callable(configure):
        problems.append("'configure' is missing or not callable")
    else:
        try:
            inspect.signature(configure).bind([], None)
        except TypeError:
            problems.append("'configure' does not take (targets, context): "
                            "options come in a RunContext, no longer as argparse values")
        except ValueError:  # no signature to read (a builtin): called as it is
            pass
    return problems


def reporter_problems(candidate: object) -> list[str]:
    """What keeps ``candidate`` from being a reporter class (``name``, ``render(result, out,
    *, color)``, made with no argument): empty when it honours the contract."""
    if not inspect.isclass(candidate):
        return [f"it is a {type(candidate).__name__}, not a reporter class"]
    problems = [] if isinstance(getattr(candidate, "name", None), str) else ["'name' is not a string"]
    render = getattr(candidate, "render", None)
    if not callable(render):
        problems.append("'render' is missing or not callable")
    else:
        try:
            inspect.signature(render).bind(None, None, None, color=False)
        except TypeError:
            problems.append("'render' does not take (result, out, *, color)")
        except ValueError:
            pass
    return problems
