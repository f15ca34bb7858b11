"""What a project inherits from above: the IAM policies and deny policies of the project, its
folders and its organisation, read once per name over the run, and the public exposure they give
every store of the project.

Bindings on a project, folder or organisation apply to every resource below. ``allUsers`` or
``allAuthenticatedUsers`` bound there to a role that reads a service's data makes every store of
that service below public, unless a deny policy above the project certainly takes the read away
from everyone (:mod:`phigate_providers.gcp.deny`), or, for a bucket, public access prevention is
enforced (it stops the public however they are granted). A policy above that could not be read
leaves each store's public grants unknown (an error naming it) unless what was seen already
decides: a store already public, a bucket whose prevention is enforced. Deny policies that could
not be read only take nothing away (a notice, never an error: at worst a ``fail`` a deny would
have turned into a ``pass``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from phigate.api import CollectionError, Resource
from phigate_providers.gcp.access import PUBLIC_MEMBERS, SERVICE_OF_TYPE, Binding, RoleBook
from phigate_providers.gcp.api import Api
from phigate_providers.gcp.deny import Denials, DenyRule, rules_from_api
from phigate_providers.gcp.failures import Failure, describe
from phigate_providers.gcp.settings import ROLE_NAME

PROVIDER = "gcp"
#: The permission each policy read needs, by the kind of resource holding the policy.
POLICY_PERMISSIONS = {"projects": "resourcemanager.projects.getIamPolicy",
                      "folders": "resourcemanager.folders.getIamPolicy",
                      "organizations": "resourcemanager.organizations.getIamPolicy"}
ANCESTRY_PERMISSION = "resourcemanager.projects.get"
DENY_PERMISSION = "iam.denypolicies.list"  # and iam.denypolicies.get: either denial
T = TypeVar("T")


@dataclass(frozen=True)
class Unread:
    """A read above a project that failed: what, how, and the permission a denial names."""

    what: str
    failure: Failure
    permission: str

    @property
    def needs(self) -> str | None:
        return self.failure.needs(self.permission)

    def described(self) -> str:
        return f"{self.what}: {self.failure.described(self.needs)}"


@dataclass
class Exposure:
    """What a project's stores inherit: public bindings above them, the deny rules that apply,
    and the reads above that failed (their public grants are then unknown)."""

    attachments: tuple[str, ...]
    public: list[tuple[str, Binding]] = field(default_factory=list)  # (where, binding)
    denials: Denials = field(default_factory=Denials)
    unread: list[Unread] = field(default_factory=list)

    def grants(self, service: str, roles: RoleBook) -> list[str]:
        """Public members bound above to a role that reads a ``service``'s data (or a role not
        described: it may), and not certainly denied it."""
        found: set[str] = set()
        for _, binding in self.public:
            if roles.knows(binding.role) and roles.reading(binding.role, service) is None:
                continue
            for member in binding.members:
                if member in PUBLIC_MEMBERS and not self.denials.denied(
                        member, roles.to_deny(binding.role, service), self.attachments):
                    found.add(member)
        return sorted(found)


class Hierarchy:
    """Reads above projects, each once, in the pool; results come back as data."""

    def __init__(self, api: Api, pool: ThreadPoolExecutor) -> None:
        self._api = api
        self._pool = pool
        self._ancestries: dict[str, Future[list[str] | Failure]] = {}
        self._policies: dict[str, Future[dict[str, Any] | Failure]] = {}
        self._denies: dict[str, Future[list[DenyRule] | Failure]] = {}
        self._exposures: dict[str, Exposure] = {}

    def want(self, project: str) -> None:
        """Start reading what the project inherits (its ancestry, its own policies)."""
        if project not in self._ancestries:
            self._ancestries[project] = self._pool.submit(_attempt, self._api.ancestry, project)
            self.policy(f"projects/{project}")
            self.denies(f"projects/{project}")

    def ancestry(self, project: str) -> list[str] | Failure:
        self.want(project)
        return self._ancestries[project].result()

    def policy(self, name: str) -> Future[dict[str, Any] | Failure]:
        if name not in self._policies:
            self._policies[name] = self._pool.submit(_attempt, self._api.resource_policy, name)
        return self._policies[name]

    def denies(self, name: str) -> Future[list[DenyRule] | Failure]:
        if name not in self._denies:
            self._denies[name] = self._pool.submit(_attempt, self._deny_rules, name)
        return self._denies[name]

    def _deny_rules(self, name: str) -> list[DenyRule]:
        return [rule for policy in self._api.deny_policies(name) for rule in rules_from_api(policy)]

    def names(self, project: str) -> tuple[str, ...]:
        """The project and its ancestors, nearest first (the project alone if unread); each one's
        policies are asked for."""
        ancestry = self.ancestry(project)
        names = (f"projects/{project}",) if isinstance(ancestry, Failure) else tuple(ancestry)
        for name in names:
            self.policy(name)
            self.denies(name)
        return names

    def exposure(self, project: str, roles: RoleBook) -> Exposure:
        """What the project's stores inherit (waits for the reads, once per project); roles of
        public bindings the book does not describe are read from IAM (one that cannot be read
        counts as reading every store)."""
        if project in self._exposures:
            return self._exposures[project]
        names = self.names(project)
        exposure = Exposure(names)
        ancestry = self.ancestry(project)
        if isinstance(ancestry, Failure):
            exposure.unread.append(Unread(f"project {project}: cannot read its folders and organisation",
                                          ancestry, ANCESTRY_PERMISSION))
        for name in names:
            policy = self.policy(name).result()
            if isinstance(policy, Failure):
                exposure.unread.append(Unread(f"{name}: cannot read the IAM policy", policy,
                                              POLICY_PERMISSIONS[name.split("/", 1)[0]]))
            else:
                exposure.public.extend((name, b) for b in bindings(policy)
                                       if PUBLIC_MEMBERS.intersection(b.members))
            rules = self.denies(name).result()
            if not isinstance(rules, Failure):
                exposure.denials.add(name, rules)
        unknown = sorted({b.role for _, b in exposure.public
                          if not roles.knows(b.role) and ROLE_NAME.match(b.role)})
        for role, future in [(r, self._pool.submit(_attempt, self._api.role, r)) for r in unknown]:
            permissions = future.result()
            if not isinstance(permissions, Failure):
                roles.learn(role, permissions)
        self._exposures[project] = exposure
        return exposure

    def deny_failures(self) -> list[tuple[str, Failure]]:
        """Deny policies that could not be read, by attachment point."""
        return [(name, result) for name, future in sorted(self._denies.items())
                if isinstance(result := future.result(), Failure)]


def expose(resource: Resource, exposure: Exposure,
           roles: RoleBook) -> tuple[Resource, CollectionError | None]:
    """``resource`` with the public grants its project inherits folded into ``public_access``;
    with an error when reads above failed and nothing seen decides its exposure."""
    seen = resource.attributes.get("public_access")
    service = next((s for prefix, s in SERVICE_OF_TYPE if resource.type.startswith(prefix)), None)
    if not isinstance(seen, Mapping) or "grants" not in seen or service is None:
        return resource, None  # its own grants unread: unknown already
    bucket = service == "storage"
    if bucket and seen.get("blocked") is True:
        return resource, None  # public access prevention stops the public however granted
    own = list(seen["grants"])
    grants = sorted({*own, *exposure.grants(service, roles)})
    if exposure.unread and not grants:
        unread = exposure.unread[0]
        attributes = dict(resource.attributes)
        if bucket:  # its prevention setting is still known
            attributes["public_access"] = {k: v for k, v in seen.items() if k != "grants"}
        else:  # these services' ``blocked`` means "no grant", unknown as well
            del attributes["public_access"]
        error = CollectionError(
            provider=PROVIDER, scope=resource.scope, region=resource.region, kinds=(resource.kind,),
            types=(resource.type,), resource_id=resource.id, permission=unread.needs,
            message=f"{resource.id}: public grants unknown: {unread.described()}")
        return dataclasses.replace(resource, attributes=attributes), error
    if grants == own:
        return resource, None
    public_access = {**seen, "grants": grants}
    if not bucket:
        public_access["blocked"] = False
    attributes = {**resource.attributes, "public_access": public_access}
    return dataclasses.replace(resource, attributes=attributes), None


def bindings(policy: Mapping[str, Any]) -> list[Binding]:
    return [Binding.from_api(b) for b in policy.get("bindings") or () if isinstance(b, Mapping)]


def _attempt(read: Callable[[str], T], name: str) -> T | Failure:
    try:
        return read(name)
    except Exception as exc:
        return describe(exc)


__all__ = ["POLICY_PERMISSIONS", "Exposure", "Hierarchy", "Unread", "bindings", "expose"]
