"""What identifies a resource from one run to the next, whatever the command line looked like.

Finding ids (``Finding.fingerprint``), baselines and waivers' ``scope`` rely on it. Most
providers name a resource's scope by what it is (an account, a project, a database server), the
same in every run. A Terraform plan's resources are scoped by the plan file, named as the user
typed it (``plan.json``, ``./plan.json``, ``infra/plan.json``, ``/home/ci/repo/infra/plan.json``):
for them the scope is the plan's path relative to the root of the git work tree holding it
(``infra/plan.json`` from any folder), or its absolute path outside any work tree; and within
that scope a planned resource is its Terraform address, which, unlike the real-world id the
plan may know only after apply, is the same before and after the resource exists.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from phigate.api import Resource

#: What ``raw`` holds on a resource read from a Terraform plan (``raw["terraform_type"]``).
PLAN_MARK = "terraform_type"
#: The provider whose scopes are plan files (``Scope.provider``).
PLAN_PROVIDER = "terraform"


def plan_address(raw: Mapping[str, Any]) -> str | None:
    """The Terraform address of a resource read from a plan; None for any other resource."""
    address = raw.get("address")
    return address if PLAN_MARK in raw and isinstance(address, str) and address else None


def reported_raw(raw: Mapping[str, Any]) -> Mapping[str, Any]:
    """Of the raw data, what findings report, kept in slim copies: where the resource is
    declared (``raw["location"]``) and, for a planned resource, its Terraform address."""
    location = raw.get("location")
    kept = {"location": location} if location is not None else {}
    if PLAN_MARK in raw:
        kept.update({"address": raw.get("address"), PLAN_MARK: raw[PLAN_MARK]})
    return kept


def plan_scope(label: str) -> str:
    """The plan file ``label`` names, as the same text from any working folder (see above);
    ``label`` itself when it names no file (a plan read from elsewhere)."""
    return _plan_scope(label, Path.cwd())


@lru_cache(maxsize=256)
def _plan_scope(label: str, cwd: Path) -> str:
    path = Path(label)
    try:
        real = (cwd / path).resolve()  # an absolute path stays itself
        if not real.is_file():
            return label
        for folder in real.parents:
            if (folder / ".git").exists():  # a folder, or a file in a linked work tree
                return real.relative_to(folder).as_posix()
    except OSError:
        return label
    return real.as_posix()


def scope_and_address(resource: Resource,
                      plan_scopes: Collection[str] = ()) -> tuple[str, str | None]:
    """The scope a finding on ``resource`` carries, and its Terraform address if planned.

    ``plan_scopes`` are the run's plan files as given (``Scope.scope`` of ``PLAN_PROVIDER``): a
    resource a plan implies without declaring it (a key named by ARN, a member of an IAM
    binding) has no address, its id is its identity, but its scope is still the plan's.
    """
    address = plan_address(resource.raw)
    if address is not None or resource.scope in plan_scopes:
        return plan_scope(resource.scope), address
    return resource.scope, None


def key_of(resource: Resource, plan_scopes: Collection[str] = ()) -> str:
    """``resource_key`` of a collected resource: what its findings' ``ResourceRef.key`` is."""
    scope, address = scope_and_address(resource, plan_scopes)
    return resource_key(resource.provider, scope, resource.id, address)


def resource_key(provider: str, scope: str, rid: str, address: str | None = None) -> str:
    """One resource, the same text in every run: provider, scope and id, or for a planned
    resource provider, plan scope (``plan_scope``) and address."""
    if address is None:
        return "\x00".join((provider, scope, rid))
    return "\x00".join((provider, scope, "terraform address", address))


__all__ = ["PLAN_MARK", "PLAN_PROVIDER", "key_of", "plan_address", "plan_scope", "reported_raw",
           "resource_key", "scope_and_address"]
