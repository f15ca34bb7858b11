"""The access graph of one run: every IAM member as ONE principal, with its edges.

Grants come from bucket policies, and (live provider) from the policies of projects, folders,
organisations and service accounts. A member reads a bucket granted to it on the bucket
(``can_read``) or on anything above it (``can_read_via_wildcard`` too: such a grant reaches
buckets created later); it can become a service account (``can_become``) when a role on the
account, or above it, lets it mint tokens, act as it, create its keys or rewrite its policy.
The engine closes the graph; this module only states the edges, each with how
(``can_read_via``, ``can_become_via``). An IAM deny policy above the store or account that
certainly takes away every way the role reads or becomes it removes the edge
(:mod:`phigate_providers.gcp.deny`).

Groups, domains and principal sets are members whose content IAM does not hold. With a
directory export (:mod:`phigate_providers.gcp.directory`) each listed member gets an edge to
the container ("member of"), and the engine joins its memberships. Without it, a principal that
MAY be in a container is marked ``access_unseen`` exactly where it matters: when the container
reaches data of a class the principal does not otherwise reach, its segmentation cannot be
decided. A user ``user:a@d`` is certainly in ``domain:d`` (an edge, no export needed).

Nothing unread passes: a policy that could not be read (a bucket's, :meth:`Principals.unknown`,
or one above the buckets, :meth:`Principals.unseen`) is an ``access_unseen`` entry on every
principal, plus a collection error; a role that could not be read, one on its members. The
engine's closure then leaves their segmentation undecided, unless what was seen already fails.
Readers nobody here has seen (a bucket's object ACLs, an authorized view of a project not read)
mark only the principals to whom the store's class matters (:meth:`Principals._matters`).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from phigate.api import CollectionError, Resource
from phigate_providers.gcp.access import PUBLIC_MEMBERS, READ_BY_SERVICE, Binding, RoleBook, classify_member
from phigate_providers.gcp.deny import Denials, DenyRule, NoExport
from phigate_providers.gcp.directory import Directory
from phigate_providers.gcp.links import Link, Store, follow_links
from phigate_providers.gcp.links import keep as _keep

PROVIDER = "gcp"
#: Where a grant sits, from the narrowest: the preferred way to say how a store is reached.
RANK = {"gs": 0, "store": 0, "serviceAccount": 0, "projects": 1, "folders": 2, "organizations": 3}
#: Convenience members of bucket policies and the basic roles whose holders they stand for
#: (a larger basic role counts as the smaller ones: an over-approximation, never an omission).
CONVENIENCE = {"projectViewer": ("roles/viewer", "roles/editor", "roles/owner"),
               "projectEditor": ("roles/editor", "roles/owner"),
               "projectOwner": ("roles/owner",)}
WHERE = {"gs": "the bucket", "serviceAccount": "the service account"}
CONTAINERS = ("group:", "domain:", "principalSet:")
#: Domains of Google-managed service agents (``service-N@gcp-sa-X.iam.gserviceaccount.com`` and
#: older ones): Google acts as them, no customer grant lets a principal do so.
SERVICE_AGENTS = re.compile(r"@(?:gcp-sa-[a-z0-9-]+\.iam|cloudservices|gs-project-accounts\.iam"
                            r"|container-engine-robot\.iam|compute-system\.iam)\.gserviceaccount\.com$")
EXPORT_HINT = "give a directory export with --gcp-groups FILE"
#: A data class reached, and whether through a grant above the stores (a wildcard).
Reached = tuple[str, bool]
#: Classes no principal policy judges: a principal reading them unseen changes no verdict.
IGNORED_CLASSES = frozenset({"unclassified", "public"})


@dataclass(frozen=True)
class Grant:
    """One member bound to one role on one resource (a bucket, project, folder, organisation
    or service account), maybe under a condition."""

    member: str
    role: str
    on: str  # gs://B, projects/P, folders/F, organizations/O, serviceAccount:E
    condition: str | None = None
    folder: str | None = None  # a managed folder of bucket ``on``: objects under its prefix


@dataclass
class _Node:
    """What the graph knows of one principal while it is being built."""

    projects: set[str] = field(default_factory=set)
    reads: dict[str, tuple[tuple[int, int, str], str]] = field(default_factory=dict)
    #: What leads to data without holding it (a view), reached like a store.
    through: dict[str, tuple[tuple[int, int, str], str]] = field(default_factory=dict)
    named: set[str] = field(default_factory=set)  # stores reached by a grant on the store itself
    becomes: dict[str, tuple[tuple[int, int, str], str]] = field(default_factory=dict)
    member_of: set[str] = field(default_factory=set)
    undecided: set[str] = field(default_factory=set)
    unknown_roles: set[str] = field(default_factory=set)
    unseen: set[str] = field(default_factory=set)


class Principals:
    """Accumulates grants over the run; yields the principals once everything is read."""

    def __init__(self, roles: RoleBook, *, classify: Callable[[str], str] | None = None,
                 directory: Directory | None = None, reported: Iterable[str] | None = None,
                 accounts_read: bool = False) -> None:
        self._roles = roles
        #: Service accounts and their policies were read for the projects of the run: an
        #: account of another project has a policy nobody here has seen.
        self._accounts_read = accounts_read
        #: A store's data class, by id (None: each store counts as a class of its own, the
        #: strictest reading of "reaches data it does not otherwise reach").
        self._classify = classify
        self._directory = directory or Directory()
        self._reported = tuple(reported) if reported is not None else None
        self._grants: list[Grant] = []
        self._stores: dict[str, dict[str, None]] = {}  # project → its stores, in listing order
        self._where: dict[str, Store] = {}  # what grants may name, stores and the rest
        self._leads: dict[str, list[str]] = {}  # project → what leads to data (views)
        self._children: dict[str, list[str]] = {}
        self._links: list[Link] = []
        self._ancestry: dict[str, tuple[str, ...]] = {}
        self._accounts: dict[str, set[str]] = {}
        self._bound: dict[str, set[str]] = {}  # member → projects whose policies name it
        #: Why some bucket's bindings are unknown (a listing cut short, an unread IAM policy):
        #: any member may be bound there, so no member's ``can_read`` is complete.
        self._unknown: list[tuple[str, str | None]] = []
        #: Policies above buckets that could not be read: any principal may be granted there.
        self._unseen: list[str] = []
        #: Stores read through something whose readers nobody here has seen (an authorized view
        #: of a project not read, object ACLs): (the stores, why, whether the public may be one).
        self._open: list[tuple[str, str, bool]] = []
        #: Gaps that concern one bucket (its object ACLs), and that bucket: the engine weighs
        #: them by its class, so a policy on other data is not left undecided by it.
        self._about: dict[str, str] = {}
        self._role_failures: dict[str, str] = {}
        #: The export's memberships, spelt as IAM spells the members (set by ``records``).
        self._listed: dict[str, frozenset[str]] = {}
        #: Principals yielded as context (bound only outside the projects reported on).
        self.context: set[str] = set()
        #: Service accounts' user-managed keys, where they were listed (``principal.access_keys``).
        self._access_keys: dict[str, list[dict[str, Any]]] = {}
        #: IAM deny policies by attachment point: what they certainly deny is not a read.
        self._denials = Denials()
        self._membership: tuple[Mapping[str, frozenset[str]], _Groups] | None = None
        #: Members named by a grant that gives them nothing (all denied): principals all the same.
        self._named: set[str] = set()

    # --- what was read ---------------------------------------------------------------------

    def store(self, project: str, store_id: str, service: str = "storage", noun: str = "bucket", *,
              parent: str | None = None, holds_data: bool = True) -> None:
        """A store of ``project`` (grants on the project and above reach it, and grants on
        ``parent``), or with ``holds_data`` False something that only leads to data."""
        self._where[store_id] = Store(project, service, noun, holds_data)
        if holds_data:
            self._stores.setdefault(project, {})[store_id] = None
        else:
            self._leads.setdefault(project, []).append(store_id)
        if parent is not None and store_id not in self._children.setdefault(parent, []):
            self._children[parent].append(store_id)

    def grant(self, project: str, on: str, bindings: Iterable[Binding]) -> None:
        """The IAM policy (or ACL, as bindings) of a store registered with :meth:`store`."""
        self._bind(project, on, bindings)

    def authorized(self, reader: str, source: str, how: str) -> None:
        """Whoever reads ``reader`` reads ``source`` (and what it holds) as well: ``how`` says
        through what (a BigQuery authorized view or dataset)."""
        self._links.append(Link(reader, source, how))

    def unseen_readers(self, source: str, why: str) -> None:
        """Whoever ``why`` names may read ``source`` (and what it holds), and who that is was not
        seen: a principal that does not otherwise reach data of its class is undecided."""
        self._open.append((source, why, False))

    def acl_readers(self, bucket: str, *, public: bool) -> None:
        """A bucket with fine-grained access control: its objects' ACLs, never read (that would
        mean listing every object), may grant any member read, the public ones too unless
        ``public`` is False (public access prevention enforced): as :meth:`unseen_readers`."""
        why = (f"{bucket}: fine-grained access control: object ACLs, which are not read, may grant "
               "anyone read of its objects (turn on uniform bucket-level access so object ACLs no longer "
               "grant access)")
        self._open.append((bucket, why, public))
        self._about[why] = bucket

    def add(self, project: str, bucket_id: str, bindings: Iterable[Binding], *,
            folder: str | None = None) -> None:
        """A bucket and its IAM policy, or the policy of one of its managed folders (reading
        objects under the folder's prefix reads the bucket's data)."""
        self.store(project, bucket_id)
        self._bind(project, bucket_id, bindings, folder)

    def resource_policy(self, name: str, bindings: Iterable[Binding]) -> None:
        """The policy of ``projects/P``, ``folders/F`` or ``organizations/O``."""
        project = name.removeprefix("projects/") if name.startswith("projects/") else None
        self._bind(project, name, bindings)

    def ancestry(self, project: str, names: Iterable[str]) -> None:
        """``project``'s ancestors, nearest first (``projects/P``, ``folders/F`` …, ``organizations/O``)."""
        self._ancestry[project] = tuple(names)

    def deny(self, at: str, rules: Iterable[DenyRule]) -> None:
        """The deny rules attached to ``projects/P``, ``folders/F`` or ``organizations/O``."""
        self._denials.add(at, rules)

    def members(self, members: Iterable[str]) -> None:
        """Members a policy names whose grants give them nothing: principals reading nothing."""
        self._named.update(members)

    def service_accounts(self, project: str, emails: Iterable[str]) -> None:
        """The service accounts of ``project`` (each a principal, bound anywhere or not)."""
        self._accounts.setdefault(project, set()).update(f"serviceAccount:{e}" for e in emails)

    def service_account_policy(self, project: str, email: str, bindings: Iterable[Binding]) -> None:
        self._bind(project, f"serviceAccount:{email}", bindings)

    def service_account_keys(self, member: str, keys: list[dict[str, Any]]) -> None:
        self._access_keys[member] = keys

    def unknown(self, reason: str, permission: str | None) -> None:
        """Some bucket's bindings could not be read: any member may be bound there (an
        ``access_unseen`` entry and an error for each)."""
        self._unknown.append((reason, permission))

    def unseen(self, scope: str) -> None:
        """A policy above the buckets could not be read (``scope`` says which, and why): every
        principal may reach more."""
        self._unseen.append(scope)

    def roles_to_read(self) -> list[str]:
        """Roles granted somewhere that the role book does not describe."""
        return sorted({g.role for g in self._grants if not self._roles.knows(g.role)})

    def role_failed(self, role: str, reason: str) -> None:
        self._role_failures[role] = reason

    def _bind(self, project: str | None, on: str, bindings: Iterable[Binding],
              folder: str | None = None) -> None:
        for binding in bindings:
            for member in binding.members:
                self._grants.append(Grant(member, binding.role, on, binding.condition, folder))
                if project is not None:  # above projects: the projects below, once known
                    self._bound.setdefault(member, set()).add(project)

    # --- the graph -------------------------------------------------------------------------

    def records(self) -> Iterator[Resource | CollectionError]:
        """Every principal, then its errors. A principal bound only in projects outside those
        reported on is yielded without errors and named in ``context`` before it is yielded."""
        nodes = self._nodes()
        for grant in self._grants:
            self._apply(grant, nodes)
        for node in nodes.values():  # reads through authorized views and datasets
            follow_links(node.reads, node.through, node.named, (self._links, self._children, self._where))
        self._memberships(nodes)
        self._undecided_memberships(nodes)
        for member in sorted(nodes):
            yield from self._principal(member, nodes[member])

    def _nodes(self) -> dict[str, _Node]:
        ids = {g.member for g in self._grants} | self._named
        ids.update(a for accounts in self._accounts.values() for a in accounts)
        # E-mail addresses are case-insensitive: the export's spelling may differ from IAM's.
        spelling = {m.lower(): m for m in sorted(ids)}
        listed: dict[str, set[str]] = {}
        for c, members in self._directory.members.items():  # spellings of one container: all listed
            same = listed.setdefault(spelling.get(c.lower(), c), set())
            same.update(spelling.get(m.lower(), m) for m in members)
        self._listed = {c: frozenset(members) for c, members in listed.items()}
        for container, members in self._listed.items():
            ids.add(container)
            ids.update(members)
        nodes = {member: _Node() for member in ids}
        for member, projects in self._bound.items():
            nodes[member].projects.update(projects)
        for project, accounts in self._accounts.items():
            for account in accounts:
                nodes[account].projects.add(project)
        return nodes

    def _projects_under(self, on: str) -> list[str]:
        if on.startswith("projects/"):
            return [on.removeprefix("projects/")]
        return sorted(p for p, names in self._ancestry.items() if on in names)

    def _apply(self, grant: Grant, nodes: dict[str, _Node]) -> None:
        node = nodes[grant.member]
        store = self._where.get(grant.on)
        if store is None and grant.on.startswith("gs://"):  # a bucket named only by its policy
            store = Store("", "storage", "bucket")
        kind = "store" if store is not None else grant.on.split(":", 1)[0].split("/", 1)[0]
        where = (f"the {store.noun}" if store is not None else
                 WHERE.get(kind, "") or grant.on.replace("s/", " ", 1))  # projects/P → project P
        if grant.folder is not None:
            where = f"managed folder {grant.folder} of the bucket"
        via = f"{grant.role} on {where}" + (f" (if {grant.condition})" if grant.condition else "")
        rank = (1 if grant.condition else 0, RANK.get(kind, 3), via)
        if not self._roles.knows(grant.role):
            node.unknown_roles.add(grant.role)
            why = self._role_failures.get(grant.role, "its permissions are not described")
            node.unseen.add(f"role {grant.role} (not read: {why})")
            return
        reading = (self._roles.reading(grant.role, store.service) if store is not None
                   else self._roles.reading_any(grant.role))
        becoming = self._roles.becoming(grant.role)
        if grant.condition is not None and (reading or becoming):
            node.undecided.add(f"{grant.on}{'/' + grant.folder if grant.folder else ''} {grant.role}: "
                               f"{grant.condition}")
        if store is not None:
            if reading and not self._denied(grant, store.service, store.project):
                for target in (grant.on, *self._children.get(grant.on, ())):
                    held = self._where.get(target, store)
                    _keep(node.reads if held.holds_data else node.through, target, rank, via)
                    node.named.add(target)
            return
        if kind == "serviceAccount":
            if becoming and grant.on in nodes and not self._denied(grant, None, self._project_of(grant.on)):
                _keep(node.becomes, grant.on, rank, f"{via}: {becoming}")
            return
        self._above(grant, node, nodes, (rank, via))

    def _above(self, grant: Grant, node: _Node, nodes: Mapping[str, _Node],
               how: tuple[tuple[int, int, str], str]) -> None:
        """A grant on a project, folder or organisation: every bucket and service account below."""
        rank, via = how
        kind = grant.on.split("/", 1)[0]
        reading, becoming = self._roles.reading_any(grant.role), self._roles.becoming(grant.role)
        projects = self._projects_under(grant.on)
        node.projects.update(projects)
        if kind != "projects" and (reading or becoming) and not self._neutralised(grant):
            node.unseen.add(f"gcp {grant.on}: projects under it that were not audited "
                            f"(reached by {grant.role})")
        for project in projects:
            if reading:
                for store in self._stores.get(project, ()):
                    service = self._where[store].service
                    if self._roles.reading(grant.role, service) and not self._denied(grant, service, project):
                        _keep(node.reads, store, rank, via)
                for view in self._leads.get(project, ()):  # a project-wide read queries views
                    service = self._where[view].service
                    if self._roles.reading(grant.role, service) and not self._denied(grant, service, project):
                        _keep(node.through, view, rank, via)
            if becoming and not self._denied(grant, None, project):
                for account in sorted(self._accounts.get(project, ())):
                    if account != grant.member:
                        _keep(node.becomes, account, rank, f"{via}: {becoming}")
            for convenience, roles in CONVENIENCE.items():
                target = f"{convenience}:{project}"
                if grant.role in roles and target in nodes and target != grant.member:
                    _keep(node.becomes, target, rank, f"{via} (convenience member {target})")

    def _denied(self, grant: Grant, service: str | None, project: str | None) -> bool:
        """Whether deny policies above ``project`` certainly take away what ``grant``'s role gives
        on a ``service``'s store there (None: becoming a service account)."""
        if not project:
            return False
        attachments = self._ancestry.get(project, (f"projects/{project}",))
        if not self._denials.at_any(attachments):  # the common case: nothing to take away
            return False
        return self._denials.denied(grant.member, self._roles.to_deny(grant.role, service), attachments,
                                    self._groups())

    def _neutralised(self, grant: Grant) -> bool:
        """Whether deny policies at or above a folder or organisation certainly take away
        everything ``grant``'s role reads or becomes there, in projects not audited too."""
        chain = next((names[names.index(grant.on):] for names in self._ancestry.values()
                      if grant.on in names), (grant.on,))
        if not self._denials.at_any(chain):
            return False
        groups, roles = self._groups(), self._roles
        wanted: list[str | None] = [s for s in READ_BY_SERVICE if roles.reading(grant.role, s)]
        wanted += [None] if roles.becoming(grant.role) else []
        denials = self._denials
        return all(denials.denied(grant.member, roles.to_deny(grant.role, s), chain, groups) for s in wanted)

    def _groups(self) -> _Groups:
        """The export's memberships for deny rules (built once the nodes are: ``_listed``)."""
        if self._membership is None or self._membership[0] is not self._listed:
            self._membership = (self._listed, _Groups(self._listed))
        return self._membership[1]

    def _project_of(self, account: str) -> str | None:
        return next((p for p, accounts in self._accounts.items() if account in accounts), None)

    def _memberships(self, nodes: dict[str, _Node]) -> None:
        """Edges a member → its container: listed in the export, or a user of the domain."""
        for container, members in self._listed.items():
            for member in members:
                if member != container:
                    nodes[member].member_of.add(container)
                    _keep(nodes[member].becomes, container, (0, 0, ""),
                          f"member of {container} (directory export)")
        for container in nodes:
            if container.startswith("domain:"):
                domain = container.removeprefix("domain:").lower()
                for member, node in nodes.items():
                    if member.startswith("user:") and member.lower().endswith(f"@{domain}"):
                        node.member_of.add(container)
                        _keep(node.becomes, container, (0, 0, ""), f"in {container} (its e-mail address)")

    def _undecided_memberships(self, nodes: dict[str, _Node]) -> None:
        """A principal that may be in a container of unknown membership, or may act as a service
        account whose own policy was not read, where that reaches data of a class it does not
        otherwise reach: its segmentation is undecided (``access_unseen``)."""
        unknown = {c: (f"{c}: membership not known, and ", f" ({EXPORT_HINT})")
                   for c in nodes if c.startswith(CONTAINERS) and c not in self._listed}
        if self._accounts_read:  # accounts bound here whose project's accounts were not read
            listed = {a for accounts in self._accounts.values() for a in accounts}
            unknown.update({a: (f"{a}: who can act as it is not known (its project was not read), and ", "")
                            for a in nodes if a.startswith("serviceAccount:") and a not in listed
                            and not SERVICE_AGENTS.search(a)})
        if not unknown and not self._open:
            return
        reach, gapped = self._classes(nodes), _gapped(nodes)
        self._open_reach(nodes, reach)
        for container, (subject, hint) in sorted(unknown.items()):
            extra, open_ = reach[container], container in gapped
            if not extra and not open_:
                continue
            # What it reaches is not all seen (a role not described, projects not audited): it
            # may reach data of any class, so whoever may be in it is undecided.
            why = subject + ("what it reaches is not all seen" if open_ else
                             "it reaches data this principal does not otherwise reach") + hint
            for member, node in nodes.items():
                if (member != container and container not in node.becomes and _may_contain(container, member)
                        and (open_ or not extra <= reach[member])):
                    node.unseen.add(why)

    def _open_reach(self, nodes: Mapping[str, _Node], reach: Mapping[str, frozenset[Reached]]) -> None:
        """Stores that principals not seen may read (:meth:`unseen_readers`, :meth:`acl_readers`):
        every principal that may be one of them, and for whom reading their class could change a
        verdict, is undecided."""
        for source, why, public in self._open:
            held = [s for s in (source, *self._children.get(source, ())) if s in self._where
                    and self._where[s].holds_data]
            extra = {self._classify(s) if self._classify is not None else s for s in held}
            for member, node in nodes.items():
                if member.startswith("deleted:") or (not public and (
                        member in PUBLIC_MEMBERS or member.startswith("project"))):
                    continue
                classes = {c for c, _ in reach[member]}
                if any(self._matters(c, classes) for c in extra):
                    node.unseen.add(why)

    def _matters(self, data_class: str, reached: set[str]) -> bool:
        """Whether reading data of ``data_class`` could change a verdict on a principal that
        reaches ``reached`` (seen). Without a classifier each store is a class of its own: any
        store not reached matters. With one, a class already reached changes nothing; data no
        principal policy judges (unclassified, public) neither; administrative data only
        matters beside clinical data (segmentation, PHI-SEG-002); any other class does."""
        if data_class in reached:
            return False
        if self._classify is None:
            return True
        if data_class == "administrative":
            return "clinical" in reached
        return data_class not in IGNORED_CLASSES

    def _classes(self, nodes: Mapping[str, _Node]) -> dict[str, frozenset[Reached]]:
        """Data classes each principal reaches through the edges seen here (a fixpoint), each
        with whether it is reached through a grant above buckets (``can_read_via_wildcard``)."""
        def of(store: str) -> str:
            return self._classify(store) if self._classify is not None else store

        reach = {m: {(of(s), s not in node.named) for s in node.reads} | {(of(s), False) for s in node.reads}
                 for m, node in nodes.items()}
        changed = True
        while changed:
            changed = False
            for member, node in nodes.items():
                for target in node.becomes:
                    if target in reach and not reach[target] <= reach[member]:
                        reach[member] |= reach[target]
                        changed = True
        return {m: frozenset(c) for m, c in reach.items()}

    def _principal(self, member: str, node: _Node) -> Iterator[Resource | CollectionError]:
        principal_type, rtype, name = classify_member(member)
        reported = self._reported
        inside = sorted(node.projects) if reported is None else [p for p in reported if p in node.projects]
        fallback = reported[0] if reported else ""
        scope = inside[0] if inside else (min(node.projects) if node.projects else fallback)
        attributes: dict[str, Any] = {
            "principal_type": principal_type,
            "login": member != "allUsers" and not member.startswith("deleted:"),
            "member_of": sorted(node.member_of),
            "undecided_conditions": sorted(node.undecided),
            # IAM grants name no cross-account trust to assume: the AWS-style trust attributes
            # have nothing to report.
            "third_party": False,
            "trusted_accounts": [],
            "external_id_required": None,
            "can_become": sorted(node.becomes),
            "can_become_via": {t: how for t, (_, how) in sorted(node.becomes.items())},
            "access_unseen": sorted(node.unseen | set(self._unseen) | {r for r, _ in self._unknown}),
        }
        # What was seen, always: a gap is named in ``access_unseen``, which leaves the engine's
        # closure open ("unseen: …" in can_read), so the principal is undecided unless what was
        # seen already makes it fail.
        attributes["can_read"] = sorted(node.reads)
        attributes["can_read_via_wildcard"] = sorted(set(node.reads) - node.named)
        attributes["can_read_via"] = {s: how for s, (_, how) in sorted(node.reads.items())}
        about = {entry: self._about[entry] for entry in attributes["access_unseen"] if entry in self._about}
        if about:
            attributes["access_unseen_about"] = about
        if member in self._access_keys:
            attributes["access_keys"] = self._access_keys[member]
        resource = Resource(id=member, type=rtype, kind="principal", provider=PROVIDER, scope=scope,
                            name=name, attributes=attributes)
        # Outside the projects reported on: context for the graph, never findings of its own.
        if reported is not None and node.projects and not inside:
            self.context.add(member)
            yield resource
            return
        yield resource
        if self._unknown:
            reason, permission = self._unknown[0]
            yield CollectionError(
                provider=PROVIDER, scope=scope, kinds=("principal",), types=(rtype,), resource_id=member,
                permission=permission, message=f"{member}: what it can read is unknown: {reason}")
        if node.unknown_roles:
            roles = ", ".join(sorted(node.unknown_roles))
            yield CollectionError(
                provider=PROVIDER, scope=scope, kinds=("principal",), types=(rtype,), resource_id=member,
                permission="iam.roles.get" if node.unknown_roles & self._role_failures.keys() else None,
                message=f"{member}: cannot tell what role(s) {roles} allow; list their permissions "
                        "under providers.gcp.roles in the config")


def _gapped(nodes: Mapping[str, _Node]) -> set[str]:
    """Principals whose reach is not all seen: their own ``access_unseen`` entries so far, or an
    edge to such a principal (a fixpoint)."""
    gapped = {m for m, node in nodes.items() if node.unseen}
    changed = True
    while changed:
        changed = False
        for member, node in nodes.items():
            if member not in gapped and not gapped.isdisjoint(node.becomes):
                gapped.add(member)
                changed = True
    return gapped


class _Groups:
    """Group memberships as the directory export lists them (a listed container is complete),
    for deny rules: whether a member is certainly, or may be, in a container."""

    def __init__(self, listed: Mapping[str, frozenset[str]]) -> None:
        self._listed = {c.lower(): frozenset(m.lower() for m in members) for c, members in listed.items()}

    def holds(self, container: str, member: str) -> bool:
        seen: set[str] = set()
        todo = [container.lower()]
        while todo:  # nested groups are members of their container
            current = todo.pop()
            if current in seen:
                continue
            seen.add(current)
            members = self._listed.get(current, frozenset())
            if member.lower() in members:
                return True
            todo.extend(m for m in members if m.startswith("group:"))
        if container.lower().startswith("domain:"):
            return member.lower().startswith("user:") and member.lower().endswith("@" + container[7:].lower())
        return False

    def may_hold(self, container: str, member: str, seen: frozenset[str] = frozenset()) -> bool:
        key = container.lower()
        if key in seen:
            return False
        if self.holds(container, member):
            return True
        if member.startswith("project"):
            return True  # a project's role holders (a convenience member): some may be in any container
        if key in self._listed:  # the export lists it whole: only a nested container not listed may
            nested = [m for m in self._listed[key] if m.startswith(CONTAINERS)]
            return any(self.may_hold(n, member, seen | {key}) for n in nested)
        return NoExport().may_hold(container, member)


def _may_contain(container: str, member: str) -> bool:
    """Whether IAM lets ``container`` hold ``member`` (a domain holds users only), or, for a
    service account, lets ``member`` be granted on it (any member but the public and convenience
    ones, which a service account's policy does not take)."""
    if member in PUBLIC_MEMBERS or member.startswith(("deleted:", "project")):
        return False
    if container.startswith("serviceAccount:"):
        return True
    if member.startswith(("domain:", "principalSet:")):
        return False
    if container.startswith("domain:"):
        return member.startswith("user:")
    return True


__all__ = ["Grant", "Link", "Principals", "Store"]
