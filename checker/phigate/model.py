"""Policies, findings and run results: immutable values the engine and reporters share."""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from phigate.identity import resource_key

if TYPE_CHECKING:
    from phigate.conditions import Condition
    from phigate.paths import Inverse
    from phigate.waivers import Waiver


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
