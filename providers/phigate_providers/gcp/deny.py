"""IAM deny policies (IAM v2): what they take away from the grants of allow policies.

A deny policy is attached to a project, folder or organisation and applies to every resource
below it. Each rule denies permissions (spelt ``storage.googleapis.com/objects.get``, wildcards
allowed) to principals (spelt ``principal://goog/subject/alice@x``,
``principalSet://goog/group/g@x``, ``principalSet://goog/public:all`` …), except some principals
and some permissions, maybe under a condition. Shapes from Google's reference of the IAM v2 API
(https://cloud.google.com/iam/docs/reference/rest/v2/policies, ``DenyRule``).

Only what is certainly denied is subtracted, so a deny can turn a ``fail`` into a ``pass`` only
when it applies for sure: a rule under a condition (which depends on resource tags, not read
here), a principal set whose members are not known (a Cloud Identity customer, a workforce
pool), or an exception that may hold the member (a group whose members are not known) leaves
the grant counted, as if the deny were not there.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

#: Everyone, signed in or not (every member of an allow policy is in it).
PUBLIC_ALL = "principalSet://goog/public:all"
#: A deny rule's principal identifiers, as allow policies spell the same members.
PREFIXES = (("principal://goog/subject/", "user:"),
            ("principal://iam.googleapis.com/projects/-/serviceAccounts/", "serviceAccount:"),
            ("principalSet://goog/group/", "group:"))
#: Services whose permission names do not start with their host's first label.
SERVICE_NAMES = {"cloudresourcemanager": "resourcemanager", "sqladmin": "cloudsql"}


class Membership(Protocol):
    """What is known of who is in a group (a directory export, or nothing)."""

    def holds(self, container: str, member: str) -> bool:
        """``member`` is certainly in ``container``."""

    def may_hold(self, container: str, member: str) -> bool:
        """``member`` may be in ``container`` (not known otherwise)."""


class NoExport:
    """No directory export: a container may hold any member IAM lets it hold, none certainly."""

    def holds(self, container: str, member: str) -> bool:
        return False

    def may_hold(self, container: str, member: str) -> bool:
        if member in ("allUsers", "allAuthenticatedUsers") or member.startswith("deleted:"):
            return False  # the public as a whole is in no group (some of it may be: still denied)
        if member.startswith("project"):
            return True  # a project's role holders: some may be in any container
        return member.startswith("user:") if container.startswith("domain:") else True


@dataclass(frozen=True)
class DenyRule:
    """One deny rule, its principals as allow policies spell them (``user:a@x``, ``group:g@x``,
    ``serviceAccount:s@x``, or ``*`` for everyone) and its permissions in their allow spelling
    (``storage.objects.get``, maybe with wildcards)."""

    principals: frozenset[str]
    exceptions: frozenset[str]
    permissions: tuple[str, ...]
    exception_permissions: tuple[str, ...] = ()
    condition: str | None = None

    def denies(self, member: str, permission: str, groups: Membership) -> bool:
        """Whether this rule certainly denies ``permission`` to ``member``."""
        if self.condition is not None:
            return False
        if not any(fnmatch.fnmatchcase(permission, p) for p in self.permissions):
            return False
        if any(fnmatch.fnmatchcase(permission, p) for p in self.exception_permissions):
            return False
        lowered = member.lower()
        if not ("*" in self.principals or lowered in self.principals
                or any(_container(p) and groups.holds(p, member) for p in self.principals)):
            return False
        return not any(e in (lowered, "*") or (_container(e) and groups.may_hold(e, member))
                       for e in self.exceptions)


def _container(member: str) -> bool:
    return member.startswith(("group:", "principalSet:", "domain:"))


def member_of(identifier: str) -> str:
    """A deny rule's principal identifier as allow policies spell the member (lower-cased), ``*``
    for everyone; an identifier of another form (a Cloud Identity customer, a workforce or
    workload identity pool) is kept as written, lower-cased, standing for members not known."""
    if identifier == PUBLIC_ALL:
        return "*"
    for prefix, member in PREFIXES:
        if identifier.startswith(prefix):
            return member + identifier.removeprefix(prefix).lower()
    return identifier


def permission_of(denied: str) -> str:
    """``storage.googleapis.com/objects.get`` → ``storage.objects.get``;
    ``cloudresourcemanager.googleapis.com/projects.setIamPolicy`` →
    ``resourcemanager.projects.setIamPolicy``; wildcards kept (``storage.googleapis.com/*`` →
    ``storage.*``)."""
    host, slash, rest = denied.partition("/")
    if not slash:
        return denied
    service = host.split(".", 1)[0]
    service = SERVICE_NAMES.get(service, service)
    return f"{service}.{rest}" if rest != "*" else f"{service}.*"


def rules_from_api(policy: Mapping[str, Any]) -> list[DenyRule]:
    """A deny policy's rules (``policies.get``); a rule of another shape raises ValueError: it
    could hide a grant phigate would otherwise subtract wrongly, or not at all."""
    found: list[DenyRule] = []
    rules = policy.get("rules", [])
    if not isinstance(rules, list):
        raise ValueError("a deny policy of another shape")
    for rule in rules:
        deny = rule.get("denyRule") if isinstance(rule, Mapping) else None
        if not isinstance(deny, Mapping):
            raise ValueError("a deny rule of another shape")
        lists = {}
        for field in ("deniedPrincipals", "exceptionPrincipals", "deniedPermissions", "exceptionPermissions"):
            values = deny.get(field, [])
            if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
                raise ValueError("a deny rule of another shape")
            lists[field] = values
        condition = deny.get("denialCondition")
        label = None
        if isinstance(condition, Mapping) and (condition.get("expression") or condition.get("title")):
            label = str(condition.get("title") or condition.get("expression"))
        found.append(DenyRule(
            principals=frozenset(member_of(p) for p in lists["deniedPrincipals"]),
            exceptions=frozenset(member_of(p) for p in lists["exceptionPrincipals"]),
            permissions=tuple(permission_of(p) for p in lists["deniedPermissions"]),
            exception_permissions=tuple(permission_of(p) for p in lists["exceptionPermissions"]),
            condition=label))
    return found


class Denials:
    """Deny rules by attachment point (``projects/P``, ``folders/F``, ``organizations/O``)."""

    def __init__(self) -> None:
        self._at: dict[str, list[DenyRule]] = {}

    def add(self, at: str, rules: Iterable[DenyRule]) -> None:
        self._at.setdefault(at, []).extend(rules)

    def __bool__(self) -> bool:
        return any(self._at.values())

    def at_any(self, attachments: Iterable[str]) -> bool:
        """Whether some rule is attached to one of ``attachments``."""
        return any(self._at.get(at) for at in attachments)

    def denied(self, member: str, permissions: Iterable[str], attachments: Iterable[str],
               groups: Membership | None = None) -> bool:
        """Whether every one of ``permissions`` (at least one) is certainly denied to ``member``
        on a resource below ``attachments`` (its project, folders and organisation)."""
        rules = [rule for at in attachments for rule in self._at.get(at, ())]
        wanted = list(permissions)
        known = groups or NoExport()
        return bool(rules and wanted) and all(any(r.denies(member, p, known) for r in rules) for p in wanted)


__all__ = ["PUBLIC_ALL", "Denials", "DenyRule", "Membership", "NoExport", "member_of", "permission_of",
           "rules_from_api"]
