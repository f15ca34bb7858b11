"""One access graph per run: who can read which store, directly or through other identities.

Providers describe edges on ``principal`` resources (see the kind's schema): ``can_read`` (stores
read directly, escalations that let the principal grant itself read included), ``can_become``
(principals whose access it can obtain: assume, impersonate, ``SET ROLE``, inherit, create their
credentials, run code as them) and ``access_unseen`` (scopes that could not be read where it may
reach stores). The graph spans every provider, region, account, project and database of the run,
Context records included, and its closure is what segmentation policies judge:

- a principal reads what it reads directly and whatever any principal it can become reads,
  transitively (cycles included: mutually assumable roles read the same);
- a ``can_become`` target that is not in the inventory, or an ``access_unseen`` scope anywhere
  along the way, leaves the reach open: an ``unseen:`` entry is added to ``can_read``, which no
  store matches, so "reads clinical data" stays undecided unless a seen store already decides it;
- what a principal reads without multi-factor authentication (``can_read_without_mfa``) is
  closed the same way over the edges it can take without it (``can_become_without_mfa``); a
  principal that does not state them reads and becomes as much without MFA as with it, which
  can only over-approximate (its reach without MFA is never more than its reach).

The closure runs once, over strongly connected components in reverse topological order, so it
costs one pass over the edges plus the set unions; components without reads of their own share
their successor's set instead of copying it. Paths for evidence are found only for findings,
by a breadth-first search from the principal.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from phigate.api import UNSEEN, Resource

#: Attributes of ``principal`` the graph reads, and the two it replaces with their closure.
EDGE_FIELDS = frozenset({"can_read", "can_read_via_wildcard", "can_read_via", "can_become",
                         "can_become_via", "access_unseen", "can_read_without_mfa",
                         "can_become_without_mfa"})
REACH_FIELDS = frozenset({"can_read", "can_read_via_wildcard", "can_read_without_mfa"})

_EMPTY: frozenset[str] = frozenset()


class _Node(NamedTuple):
    """A principal's own edges (a tuple: one is made for every principal of the estate)."""

    reads: tuple[str, ...]
    wildcard: tuple[str, ...]
    read_via: Mapping[str, str]
    become: tuple[str, ...]
    become_via: Mapping[str, str]
    unseen: tuple[str, ...]
    #: The name the provider gave, for the principal's label in paths (see ``short_label``).
    name: str | None
    #: Set when the principal's own reads were not read: it does not make its own seen lists
    #: undecided, but whoever can become it may reach anything.
    opaque: str | None = None
    #: What it reads and becomes without MFA, when the provider tells them apart (None: as
    #: ``reads`` and ``become``).
    reads_without_mfa: tuple[str, ...] | None = None
    become_without_mfa: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Reach:
    """A principal's effective reach: stores, those through wildcards, and what was not seen."""

    reads: frozenset[str]
    wildcard: frozenset[str]
    unseen: frozenset[str]

    def can_read(self) -> list[str]:
        return sorted(self.reads) + sorted(UNSEEN + u for u in self.unseen)

    def can_read_via_wildcard(self) -> list[str]:
        return sorted(self.wildcard) + sorted(UNSEEN + u for u in self.unseen)


def _strings(value: Any) -> tuple[str, ...]:
    if type(value) is not list or not value:
        return ()
    return tuple(v for v in value if type(v) is str)


def _mapping(value: Any) -> Mapping[str, str]:
    return value if type(value) is dict else {}


class AccessGraph:
    """Principals and their edges, added as the stream goes by; closed once it has ended."""

    def __init__(self) -> None:
        self._nodes: dict[str, _Node] = {}
        self._reach: dict[str, Reach] | None = None
        self._reach_without_mfa: dict[str, Reach] | None = None
        #: access_unseen entry → the one store it concerns (None: named differently by two).
        self._about: dict[str, str | None] = {}
        #: Each node's reads as a set, made when a path first asks (see :meth:`paths`).
        self._read_sets: dict[str, frozenset[str]] = {}

    def __len__(self) -> int:
        return len(self._nodes)

    def add(self, resource: Resource) -> None:
        """Record a principal's edges (a later record of the same id adds to the first)."""
        a = resource.attributes
        get = a.get
        reads = get("can_read")
        # Reads not read (or known only after apply): whoever can become it may reach anything,
        # so their reach stays open, never an empty list that passes.
        opaque = (None if type(reads) is list
                  else f"what '{short_label(resource.id, resource.name)}' reads was not seen")
        about = get("access_unseen_about")
        if type(about) is dict:
            for entry, store in about.items():
                if type(store) is str:
                    known = self._about.setdefault(entry, store)
                    if known != store:
                        self._about[entry] = None
        reads_without = get("can_read_without_mfa")
        become_without = get("can_become_without_mfa")
        node = _Node(_strings(reads), _strings(get("can_read_via_wildcard")),
                     _mapping(get("can_read_via")), _strings(get("can_become")),
                     _mapping(get("can_become_via")), _strings(get("access_unseen")), resource.name,
                     opaque,
                     _strings(reads_without) if type(reads_without) is list else None,
                     _strings(become_without) if type(become_without) is list else None)
        old = self._nodes.get(resource.id)
        if old is not None:
            node = _Node(old.reads + node.reads, old.wildcard + node.wildcard,
                         {**old.read_via, **node.read_via}, old.become + node.become,
                         {**old.become_via, **node.become_via}, old.unseen + node.unseen, old.name,
                         old.opaque if node.opaque is None else node.opaque,
                         _join_without(old.reads_without_mfa, old.reads, node.reads_without_mfa, node.reads),
                         _join_without(old.become_without_mfa, old.become, node.become_without_mfa,
                                       node.become))
        self._nodes[resource.id] = node
        self._read_sets.pop(resource.id, None)
        self._reach = None
        self._reach_without_mfa = None

    def reach(self, principal: str) -> Reach | None:
        """The effective reach of ``principal``; None when it was never added."""
        if self._reach is None:
            self._reach = self._close()
        return self._reach.get(principal)

    def about(self, entry: str) -> str | None:
        """The one store an ``access_unseen`` entry concerns, when its provider named it."""
        return self._about.get(entry)

    def reach_without_mfa(self, principal: str) -> Reach | None:
        """What ``principal`` reaches without multi-factor authentication; None when it was
        never added. Where no principal tells the two apart, its reach."""
        if self._reach_without_mfa is None:
            if not any(n.reads_without_mfa is not None or n.become_without_mfa is not None
                       for n in self._nodes.values()):
                if self._reach is None:
                    self._reach = self._close()
                self._reach_without_mfa = self._reach  # told apart nowhere: the same closure
            else:
                self._reach_without_mfa = self._close({
                    name: node._replace(
                        reads=node.reads if node.reads_without_mfa is None else node.reads_without_mfa,
                        become=node.become if node.become_without_mfa is None else node.become_without_mfa)
                    for name, node in self._nodes.items()})
        return self._reach_without_mfa.get(principal)

    def has_edges(self, principal: str) -> bool:
        """Whether the closure can differ from the principal's own attributes."""
        node = self._nodes.get(principal)
        return node is not None and bool(node.become or node.unseen)

    def _close(self, nodes: Mapping[str, _Node] | None = None) -> dict[str, Reach]:
        nodes = self._nodes if nodes is None else nodes
        reach: dict[str, Reach] = {}
        as_target: dict[str, Reach] = {}  # what becoming it gives: its reach, opaque included
        for component in _components(nodes):
            reads: set[str] = set()
            wildcard: set[str] = set()
            unseen: set[str] = set()
            shared: Reach | None = None
            members = set(component)
            successors: list[Reach] = []
            for name in component:
                node = nodes[name]
                reads.update(node.reads)
                wildcard.update(node.wildcard)
                unseen.update(node.unseen)
                if node.opaque is not None and len(component) > 1:
                    unseen.add(node.opaque)  # the other members can become it
                for target in node.become:
                    if target in members:
                        continue
                    found = as_target.get(target)
                    if found is None:  # not in the inventory: its reach is unknown
                        unseen.add(f"principal '{target}' is not in the inventory")
                    else:
                        successors.append(found)
            if len(successors) == 1 and not reads and not wildcard and not unseen:
                shared = successors[0]  # nothing of its own: the successor's sets, not a copy
            else:
                for found in successors:
                    reads.update(found.reads)
                    wildcard.update(found.wildcard)
                    unseen.update(found.unseen)
                shared = Reach(frozenset(reads), frozenset(wildcard), frozenset(unseen))
            opaque = frozenset(o for name in component if (o := nodes[name].opaque) is not None)
            given = shared if not opaque or len(component) > 1 else Reach(
                shared.reads, shared.wildcard, shared.unseen | opaque)
            for name in component:
                reach[name] = shared
                as_target[name] = given
        return reach

    def paths(self, principal: str, stores: Iterable[str],
              describe_store: Any = None) -> dict[str, str]:
        """For each of ``stores`` the principal reaches, the shortest chain that reaches it,
        e.g. ``user/ops → (sts:AssumeRole) role/etl → s3:GetObject → exemplum-notes``."""
        wanted = dict.fromkeys(stores)
        found: dict[str, str] = {}
        start = self._nodes.get(principal)
        if start is None or not wanted:
            return found
        parent: dict[str, tuple[str, str] | None] = {principal: None}
        queue = deque([principal])
        while queue and len(found) < len(wanted):
            name = queue.popleft()
            node = self._nodes[name]
            # A finding asks for a few stores, a principal may read thousands: the smaller side
            # is walked.
            if len(wanted) < len(node.reads):
                reads = self._read_set(name, node)
                hits = [store for store in wanted if store in reads and store not in found]
            else:
                hits = [store for store in node.reads if store in wanted and store not in found]
            for store in hits:
                if store not in found:
                    chain = self._chain(name, parent)
                    how = node.read_via.get(store, "read")
                    shown = describe_store(store) if describe_store is not None else short_label(store)
                    found[store] = f"{chain} → {how} → {shown}"
            for target in node.become:
                if target not in parent and target in self._nodes:
                    parent[target] = (name, node.become_via.get(target, "can become"))
                    queue.append(target)
        return found

    def _read_set(self, name: str, node: _Node) -> frozenset[str]:
        reads = self._read_sets.get(name)
        if reads is None:
            reads = self._read_sets[name] = frozenset(node.reads)
        return reads

    def _chain(self, name: str, parent: Mapping[str, tuple[str, str] | None]) -> str:
        steps: list[str] = []
        at: str | None = name
        while at is not None:
            link = parent[at]
            label = short_label(at, self._nodes[at].name)
            if link is None:
                steps.append(label)
                at = None
            else:
                steps.append(f"({link[1]}) {label}")
                at = link[0]
        return " → ".join(reversed(steps))


def _join_without(first: tuple[str, ...] | None, first_all: tuple[str, ...],
                  second: tuple[str, ...] | None, second_all: tuple[str, ...]) -> tuple[str, ...] | None:
    """Two records' lists without MFA, each defaulting to its full list."""
    if first is None and second is None:
        return None
    return (first_all if first is None else first) + (second_all if second is None else second)


def _components(nodes: Mapping[str, _Node]) -> list[list[str]]:
    """Strongly connected components of the ``can_become`` graph, successors first (Tarjan's
    algorithm, iterative: chains of thousands of roles must not exhaust the stack)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in sorted(nodes):
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:
            name, position = work.pop()
            if position == 0:
                index[name] = low[name] = counter
                counter += 1
                stack.append(name)
                on_stack.add(name)
            targets = nodes[name].become
            advanced = False
            while position < len(targets):
                target = targets[position]
                position += 1
                if target not in nodes:
                    continue
                if target not in index:
                    work.append((name, position))
                    work.append((target, 0))
                    advanced = True
                    break
                if target in on_stack:
                    low[name] = min(low[name], index[target])
            if advanced:
                continue
            if low[name] == index[name]:
                out.append(_pop_component(name, stack, on_stack))
            if work:
                caller = work[-1][0]
                low[caller] = min(low[caller], low[name])
    return out


def _pop_component(root: str, stack: list[str], on_stack: set[str]) -> list[str]:
    component = []
    while True:
        member = stack.pop()
        on_stack.discard(member)
        component.append(member)
        if member == root:
            return component


def short_label(resource_id: str, name: str | None = None) -> str:
    """A readable label: the resource part of an ARN (``role/etl``, ``exemplum-notes``), the
    name a provider gave, or the id."""
    if resource_id.startswith("arn:"):
        parts = resource_id.split(":", 5)
        if len(parts) == 6 and parts[5]:
            return parts[5]
    return name or resource_id


__all__ = ["EDGE_FIELDS", "REACH_FIELDS", "UNSEEN", "AccessGraph", "Reach", "short_label"]
