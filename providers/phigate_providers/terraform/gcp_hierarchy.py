"""Grants of the plan on folders and organisations (``google_folder_iam_*``,
``google_organization_iam_*``) and its IAM deny policies (``google_iam_deny_policy``), as the gcp
provider reads them live (:mod:`phigate_providers.gcp.hierarchy`).

A plan does not say which projects lie below a folder, so a grant on a folder or an organisation
is counted as reaching every Google store of the plan (and, as live, projects not audited: its
members' reach is not all seen). A deny policy is subtracted only from grants on the very folder
or organisation it is attached to: everything such a grant reaches is below that attachment
point, whereas whether a store of the plan is below it is not known. A deny rule whose values are
known only after apply takes nothing away.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from phigate.api import Resource, Unknown
from phigate_providers.gcp.access import PUBLIC_MEMBERS, READ_BY_SERVICE, SERVICE_OF_TYPE, Binding, RoleBook
from phigate_providers.gcp.deny import Denials, rules_from_api
from phigate_providers.terraform.context import Context
from phigate_providers.terraform.gcs import bindings_of
from phigate_providers.terraform.plan import PlannedResource
from phigate_providers.terraform.values import is_unknown, value

#: IAM resources by where they grant, and the attribute naming it.
HOLDERS = {"folders": ("google_folder_iam_", "folder"),
           "organizations": ("google_organization_iam_", "org_id")}
KINDS = ("member", "binding", "policy")
DENY = "google_iam_deny_policy"
TYPES = (*(f"{prefix}{kind}" for prefix, _ in HOLDERS.values() for kind in KINDS), DENY)


@dataclass
class Above:
    """The plan's grants above projects, by folder or organisation, and its deny rules."""

    bindings: dict[str, list[Binding]] = field(default_factory=dict)
    sources: dict[str, list[PlannedResource]] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)  # grants known only after apply
    denials: Denials = field(default_factory=Denials)

    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self.bindings))

    def public(self, service: str, roles: RoleBook) -> list[str]:
        """Public members granted above on a role that reads a ``service``'s data (or that no
        one describes), not certainly denied it where granted."""
        found: set[str] = set()
        for name, bound in self.bindings.items():
            for binding in bound:
                if roles.knows(binding.role) and roles.reading(binding.role, service) is None:
                    continue
                found.update(m for m in binding.members if m in PUBLIC_MEMBERS
                             and not self.denials.denied(m, roles.to_deny(binding.role, service), (name,)))
        return sorted(found)

    def granted(self, roles: RoleBook) -> dict[str, list[Binding]]:
        """The bindings, each member of one left out where the deny policy attached to the same
        folder or organisation certainly takes away all its role gives (reads and becoming)."""
        kept: dict[str, list[Binding]] = {}
        for name, bound in self.bindings.items():
            for binding in bound:
                members = tuple(m for m in binding.members
                                if not self._neutralised(m, binding.role, name, roles))
                if members:
                    kept.setdefault(name, []).append(dataclasses.replace(binding, members=members))
        return kept

    def expose(self, context: Context, roles: RoleBook) -> None:
        """The plan's stores with the public grants above them in ``public_access``; unknown where
        grants above are known only after apply and nothing seen decides (a bucket enforcing
        public access prevention, a store already public)."""
        unknown = Unknown("; ".join(self.unknown)) if self.unknown else None
        for built in context.built:
            resource = built.resource
            service = next((s for prefix, s in SERVICE_OF_TYPE if resource.type.startswith(prefix)), None)
            seen = resource.attributes.get("public_access")
            if (service is None or built.outside or not isinstance(seen, Mapping)
                    or not isinstance(seen.get("grants"), list)):
                continue
            bucket = service == "storage"
            if bucket and seen.get("blocked") is True:
                continue
            grants = sorted({*seen["grants"], *self.public(service, roles)})
            if unknown is not None and not grants:
                exposure: dict[str, Any] = {**seen, "grants": unknown}
                if not bucket:
                    exposure["blocked"] = unknown
            elif grants != seen["grants"]:
                exposure = {**seen, "grants": grants, **({} if bucket else {"blocked": False})}
            else:
                continue
            _replace(context, built, dataclasses.replace(resource, attributes={**resource.attributes,
                                                                               "public_access": exposure}))

    def _neutralised(self, member: str, role: str, name: str, roles: RoleBook) -> bool:
        if not roles.knows(role):
            return False
        wanted: list[str | None] = [s for s in READ_BY_SERVICE if roles.reading(role, s)]
        wanted += [None] if roles.becoming(role) else []
        denials = self.denials
        return bool(wanted) and all(denials.denied(member, roles.to_deny(role, s), (name,)) for s in wanted)


def read(context: Context) -> Above:
    """The plan's folder and organisation IAM resources and deny policies."""
    above = Above()
    plan = context.plan
    for kind, (prefix, attribute) in HOLDERS.items():
        for tf_kind in KINDS:
            for planned in plan.by_type.get(f"{prefix}{tf_kind}", ()):
                holder = value(planned, (attribute,))
                name = (f"{kind}/{str(holder).removeprefix(kind + '/')}" if isinstance(holder, str | int)
                        else f"{kind}/{planned.address}")  # created by the plan: known after apply
                found = bindings_of([planned])
                if isinstance(found, Unknown):
                    above.unknown.append(f"{planned.address}: {found.reason}")
                    continue
                above.bindings.setdefault(name, []).extend(found)
                above.sources.setdefault(name, []).append(planned)
    for planned in plan.by_type.get(DENY, ()):
        parent, rules = value(planned, ("parent",)), value(planned, ("rules",))
        if not isinstance(parent, str) or is_unknown(rules) or not isinstance(rules, list):
            continue  # not known before apply: nothing is taken away
        at = unquote(parent).removeprefix("cloudresourcemanager.googleapis.com/")
        try:
            above.denials.add(at, rules_from_api({"rules": [_rule(r) for r in rules]}))
        except ValueError:
            continue  # a rule of another shape (values known only after apply): nothing taken away
    return above


def _rule(block: Any) -> dict[str, Any]:
    """A Terraform ``rules`` block in the API's spelling."""
    deny = _first(block.get("deny_rule") if isinstance(block, Mapping) else None)
    names = {"denied_principals": "deniedPrincipals", "exception_principals": "exceptionPrincipals",
             "denied_permissions": "deniedPermissions", "exception_permissions": "exceptionPermissions"}
    rule: dict[str, Any] = {api: deny.get(tf) or [] for tf, api in names.items()}
    condition = _first(deny.get("denial_condition"))
    if condition:
        rule["denialCondition"] = {k: v for k, v in condition.items() if k in ("title", "expression")}
    return {"denyRule": rule}


def _first(blocks: Any) -> Mapping[str, Any]:
    first = blocks[0] if isinstance(blocks, list) and blocks else None
    return first if isinstance(first, Mapping) else {}


def _replace(context: Context, built: Any, resource: Resource) -> None:
    old = built.resource
    built.resource = resource
    for address, found in list(context.by_source.items()):
        if found is old:
            context.by_source[address] = resource


__all__ = ["DENY", "TYPES", "Above", "read"]
