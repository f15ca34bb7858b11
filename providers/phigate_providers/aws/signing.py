"""A principal's reach with and without multi-factor authentication.

Where a statement bearing on a principal reads an MFA condition key (``aws:MultiFactorAuthPresent``,
``aws:MultiFactorAuthAge``: the "force MFA" Deny on a user, its group, its boundary or a store;
an Allow of ``sts:AssumeRole`` only with MFA), what it reads depends on how its requests are
signed (:class:`~.conditions.Mfa`). Its reach is then analysed once per way it can sign: its
``can_read`` and ``can_become`` are what any way gives, ``can_read_without_mfa`` and
``can_become_without_mfa`` what the ways without MFA give. A user's long-lived keys carry no MFA
key at all, and get temporary credentials without MFA too (``sts:GetSessionToken``,
``sts:AssumeRole``); a role is only ever used through a session, which says whether MFA was used.
Shared by the live provider and the Terraform plan reader, so the gate and the audit agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from phigate_providers.aws.access import AccessAnalyzer
from phigate_providers.aws.conditions import Mfa
from phigate_providers.aws.escalation import EscalationGraph, Member


@dataclass
class SignedReach:
    """What a principal reads and becomes, over every way it can sign its requests."""

    can_read_via: dict[str, str] = field(default_factory=dict)
    can_read_via_wildcard: list[str] = field(default_factory=list)
    undecided_conditions: list[str] = field(default_factory=list)
    can_become: dict[str, str] = field(default_factory=dict)
    access_unseen: list[str] = field(default_factory=list)
    #: Set only where MFA bears on its reach.
    can_read_without_mfa: list[str] | None = None
    can_become_without_mfa: list[str] | None = None

    def attributes(self, become_id: Mapping[str, str] | None = None) -> dict[str, Any]:
        """The ``principal`` kind's reach attributes; ``become_id`` maps ARNs to resource ids."""
        ids = become_id or {}
        become = {ids.get(arn, arn): how for arn, how in self.can_become.items()}
        found: dict[str, Any] = {
            "can_read": sorted(self.can_read_via),
            "can_read_via_wildcard": self.can_read_via_wildcard,
            "can_read_via": dict(sorted(self.can_read_via.items())),
            "undecided_conditions": self.undecided_conditions,
            "can_become": sorted(become),
            "can_become_via": dict(sorted(become.items())),
        }
        if self.can_read_without_mfa is not None and self.can_become_without_mfa is not None:
            found["can_read_without_mfa"] = self.can_read_without_mfa
            found["can_become_without_mfa"] = sorted({ids.get(a, a) for a in self.can_become_without_mfa})
        return found


def signed_reach(member: Member, reads: AccessAnalyzer, graph: EscalationGraph,
                 access_keys: Any = None) -> SignedReach:
    """``member``'s reach (its identity known), per way it signs where MFA bears on it.

    ``access_keys``: the user's keys as read (a list), anything else when not read. Requests
    signed with keys are counted for a user that holds a key (active or not: it may be turned
    on), whose keys were not read, or that may create one for itself without MFA.
    """
    assert member.identity is not None
    ways: tuple[Mfa | None, ...]
    if not (reads.reads_mfa(member.identity) or graph.reads_mfa(member)):
        ways = (None,)
    elif member.kind == "role" or (member.kind == "user" and type(access_keys) is list and not access_keys
                                   and not graph.may_create_own_keys(member, Mfa.WITHOUT)):
        ways = (Mfa.WITHOUT, Mfa.WITH)
    else:
        ways = (Mfa.LONG_TERM, Mfa.WITHOUT, Mfa.WITH)
    found = SignedReach()
    named: set[str] = set()
    wildcard: set[str] = set()
    undecided: set[str] = set()
    read_without: set[str] = set()
    become_without: set[str] = set()
    for way in ways:
        access = reads.read_access(member.identity, mfa=way)
        edges = graph.edges(member, reads, access.can_read, mfa=way)
        reached = {**access.can_read_via, **edges.can_read_via}
        for store, how in reached.items():
            found.can_read_via.setdefault(store, how)
        wildcard.update(access.can_read_via_wildcard)
        named.update(set(access.can_read) - set(access.can_read_via_wildcard))
        undecided.update(access.undecided_conditions, edges.undecided_conditions)
        for target, how in edges.can_become.items():
            found.can_become.setdefault(target, how)
        if way is not Mfa.WITH:
            read_without.update(reached)
            become_without.update(edges.can_become)
        found.access_unseen.extend(u for u in edges.access_unseen if u not in found.access_unseen)
    found.can_read_via_wildcard = sorted(wildcard - named)
    found.undecided_conditions = sorted(undecided)
    if ways != (None,):
        found.can_read_without_mfa = sorted(read_without)
        found.can_become_without_mfa = sorted(become_without)
    return found


__all__ = ["SignedReach", "signed_reach"]
