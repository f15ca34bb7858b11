"""Policies, conditions' contract, findings and waivers: immutable values the engine, the gate
and the reporters share. Nothing here imports a layer above (``docs/architecture.md``)."""

from __future__ import annotations

import datetime as dt
import enum
import fnmatch
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from phigate.api import Unknown
from phigate.identity import resource_key


class Severity(enum.IntEnum):
    INFO = 0
    LOW = 1
    MEDIUM = 2
    HIGH = 3
    CRITICAL = 4

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        return cls[text.upper()]


class Status(enum.StrEnum):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    SKIP = "skip"
    WAIVED = "waived"


@dataclass(frozen=True, slots=True)
class Inverse:
    """Derived list: ids of resources of ``kinds`` whose ``of`` path holds the current id."""

    of: str
    kinds: tuple[str, ...]


class Index(Protocol):
    """What evaluation needs from the inventory to follow references."""

    def lookup(self, resource_id: str) -> dict[str, Any] | None: ...

    def inverse(self, relation: Inverse, resource_id: str, provider: str) -> list[str] | Unknown: ...


class Condition:
    """A compiled condition node (the nodes themselves live in :mod:`phigate.conditions`).

    ``test(subject, index)`` is a plain closure built once per node, specialised for what the
    node reads: the hot path calls it millions of times, so it is an attribute, not a method.
    """

    __slots__ = ("test",)
    test: Callable[[Any, Index], bool | None]

    def explain(self, subject: Any, index: Index, positive: bool, out: list[Observation]) -> bool | None:
        """Like ``test``, appending the observations that led to the outcome."""
        raise NotImplementedError

    def describe(self) -> str:
        """A short human reading of the condition, for messages."""
        raise NotImplementedError

    def fold(self, known: Mapping[str, Any]) -> Condition | bool:
        """This condition with the resource fields in ``known`` fixed (constant folding).

        The engine plans per (kind, type, data class, provider): leaves on those fields are
        decided once per plan, so a policy that cannot apply is skipped without a call, and one
        whose applicability is settled is not asked again. Never changes an outcome.
        """
        return self


@dataclass(frozen=True, slots=True)
class Policy:
    """A compiled policy: conditions are built once, nothing is parsed per resource."""

    id: str
    title: str
    severity: Severity
    kinds: frozenset[str]
    types: tuple[str, ...]
    where: Condition | None
    check: Condition
    controls: Mapping[str, tuple[str, ...]]
    rationale: str
    remediation: Mapping[str, str]
    params: Mapping[str, Any]
    source: str
    #: Policies that follow references or derived lists wait for the whole inventory.
    needs_index: bool = False
    #: Whether ``where`` alone follows references (else it is decided as the stream goes by).
    where_needs_index: bool = False
    #: Top-level fields the policy reads on its own resource: what a buffered copy keeps.
    local_fields: frozenset[str] = frozenset()
    #: (kind, field) pairs read on referenced resources: what the slim index must keep.
    remote_fields: frozenset[tuple[str, str]] = frozenset()
    inverses: frozenset[Inverse] = frozenset()
    #: Loaded and listed, evaluated only when a run asks for it (see :mod:`phigate.optin`).
    opt_in: bool = False
    #: What a failure means in words, with placeholders (see the policy schema's ``message``).
    message: str | None = None

    def remedy(self, provider: str) -> str:
        """What to do, for a resource of ``provider``: its own remediation, else the default."""
        found = self.remediation
        return found.get(provider) or found.get("default") or next(iter(found.values()), "")

    def applies_to_type(self, resource_type: str) -> bool:
        if not self.types:
            return True
        return any(resource_type == t or (t.endswith("*") and resource_type.startswith(t[:-1]))
                   for t in self.types)


@dataclass(frozen=True, slots=True)
class ResourceRef:
    """What a finding says about its resource (never its raw data)."""

    id: str
    type: str
    kind: str
    provider: str
    scope: str = ""
    region: str | None = None
    name: str | None = None
    data_class: str | None = None
    #: Where the resource is declared, when the source knows (a Terraform file and line).
    file: str | None = None
    line: int | None = None
    #: The Terraform address of a resource read from a plan (its ``scope`` is then the plan's
    #: path as ``phigate.identity.plan_scope`` gives it).
    address: str | None = None

    @property
    def key(self) -> str:
        """What identifies the resource from one run to the next (``identity.resource_key``)."""
        return resource_key(self.provider, self.scope, self.id, self.address)


@dataclass(frozen=True, slots=True)
class Observation:
    """One piece of evidence: an attribute path, the test applied and the value seen."""

    path: str
    op: str
    expected: Any
    observed: Any
    outcome: str  # "true", "false" or "error"
    note: str = ""
    #: This observation weighs against compliance (false where true was needed, or vice versa).
    against: bool = False
    #: The label a quantifier was given (``as``), for the policy's message.
    label: str = ""


@dataclass(frozen=True, slots=True)
class Waiver:
    """Accepted risk (:mod:`phigate.waivers` reads and applies them): one policy, the resources
    whose failures (or, when it says so, errors) it accepts, a reason, an owner, an expiry."""

    policy: str
    #: A resource id or Terraform address, or a glob pattern over either.
    resource: str
    reason: str
    owner: str
    #: The last day the waiver applies.
    expires: dt.date
    scope: str | None = None
    provider: str | None = None
    #: ``FILE:LINE`` where the waiver is written, so reports point at the entry to edit.
    source: str = ""
    #: The outcome it covers: failures, or (only when written ``status: error``) errors.
    status: Status = Status.FAIL

    def matches(self, finding: Finding) -> bool:
        r = finding.resource
        return (finding.policy_id == self.policy
                and (_id_or_glob(r.id, self.resource)
                     or (r.address is not None and _id_or_glob(r.address, self.resource)))
                and (self.scope is None or _id_or_glob(r.scope, self.scope))
                and (self.provider is None or r.provider == self.provider))

    @property
    def covers(self) -> str:
        """What it waives, in words: ``failure`` or ``error``."""
        return "error" if self.status is Status.ERROR else "failure"

    def expired(self, today: dt.date) -> bool:
        return self.expires < today

    def __str__(self) -> str:
        return f"{self.reason} (owner: {self.owner}; expires {self.expires.isoformat()})"


def _id_or_glob(value: str, pattern: str) -> bool:
    # The exact comparison first: ids may hold glob metacharacters ("[", "?") meant literally.
    return value == pattern or fnmatch.fnmatchcase(value, pattern)


@dataclass(frozen=True, slots=True)
class Finding:
    policy_id: str
    title: str
    severity: Severity
    status: Status
    resource: ResourceRef
    message: str
    evidence: tuple[Observation, ...] = ()
    controls: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    #: The waiver (reason, owner, expiry, where it is written) that made a failure ``waived``.
    waiver: Waiver | None = None

    def sort_key(self) -> tuple[str, str, str]:
        return (self.policy_id, self.resource.id, self.status.value)

    @property
    def fingerprint(self) -> str:
        """A stable id for "this policy on this resource", the same across runs and commits
        whatever the status or message: what baselines, waivers and code scanning track."""
        return finding_id(self.policy_id, self.resource.key)


def finding_id(policy_id: str, resource_key: str) -> str:
    """The id of one policy on one resource (``ResourceRef.key``): a finding's, a baseline's."""
    return hashlib.sha256(f"{policy_id}\x00{resource_key}".encode()).hexdigest()[:32]


def is_waived_error(finding: Finding) -> bool:
    """A waived finding that was an error: evidence phigate did not see, accepted by a waiver."""
    return finding.waiver is not None and finding.waiver.status is Status.ERROR
