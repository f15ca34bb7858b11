"""User-managed keys of Google service accounts in a plan (``google_service_account_key``), as the
gcp provider reads them live (:mod:`phigate_providers.gcp.keys`): ``access_keys`` of the
service account's ``principal``, which PHI-AUTH-005 judges.

A key names its account in ``service_account_id`` (an email, ``projects/P/serviceAccounts/EMAIL``,
or a reference to a ``google_service_account`` of the plan, whose email is its ``account_id`` at
its project when not yet known). A key the plan creates is made by the apply: created today,
age 0, active (``valid_before`` is years away); a key already in the state has its
``valid_after`` and ``valid_before``. As for AWS users' access keys, a plan shows the keys its
configuration manages; keys made elsewhere are the audit's to see. A key whose account cannot be
told (a unique id, a value known only after apply) may belong to any service account of the plan:
their ``access_keys`` are then unknown, never empty. Key names are never kept: a fingerprint of
the key id when the state knows it.

A Cloud Storage HMAC key (``google_storage_hmac_key``) is a long-lived key of the account its
``service_account_email`` names, as live: made by the apply, active unless its ``state`` says
``INACTIVE``; in the state, its ``time_created`` and ``access_id`` (fingerprinted).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from phigate.api import Resource, Unknown
from phigate.clock import report_time
from phigate_providers.gcp.keys import access_key, hmac_keys
from phigate_providers.terraform.context import Context
from phigate_providers.terraform.gcp_stores import project_of
from phigate_providers.terraform.plan import PlannedResource
from phigate_providers.terraform.values import after_apply, expression, is_unknown, trace, value

KEY, ACCOUNT, HMAC = "google_service_account_key", "google_service_account", "google_storage_hmac_key"
TYPES = frozenset({KEY, HMAC})
SERVICE_ACCOUNT = "gcp.iam.service_account"


@dataclass
class ServiceAccountKeys:
    """The plan's keys by the member of their service account."""

    keys: dict[str, list[dict[str, Any]] | Unknown] = field(default_factory=dict)
    sources: dict[str, list[PlannedResource]] = field(default_factory=dict)
    #: Why any service account of the plan may hold a key the plan does not tie to it.
    anywhere: Unknown | None = None

    def of(self, member: str) -> list[dict[str, Any]] | Unknown:
        """``access_keys`` of ``member``, a service account."""
        found = self.keys.get(member, [])
        if is_unknown(found):
            return found
        return self.anywhere if self.anywhere is not None else found

    def add_to(self, principal: Resource, attributes: dict[str, Any]) -> list[PlannedResource]:
        """A service account's ``access_keys`` into ``attributes``; the key resources they come from."""
        if principal.type != SERVICE_ACCOUNT:
            return []
        attributes["access_keys"] = self.of(principal.id)
        return self.sources.get(principal.id, [])


def collect(context: Context) -> ServiceAccountKeys:
    """Every planned key, by its account's member (oldest first, as live)."""
    found = ServiceAccountKeys()
    now = report_time()
    planned_keys = [(p, "service_account_id") for p in context.plan.by_type.get(KEY, ())]
    planned_keys += [(p, "service_account_email") for p in context.plan.by_type.get(HMAC, ())]
    for planned, names in planned_keys:
        member = _member(context, planned, names)
        if isinstance(member, Unknown):
            found.anywhere = found.anywhere or member
            continue
        found.sources.setdefault(member, []).append(planned)
        entry = _entry(planned, now) if planned.type == KEY else _hmac_entry(planned, member, now)
        listed = found.keys.setdefault(member, [])
        if isinstance(entry, Unknown):
            found.keys[member] = entry
        elif isinstance(listed, list):
            listed.append(entry)
    for listed in found.keys.values():
        if isinstance(listed, list):  # oldest first, as live
            listed.sort(key=lambda e: (e.get("created") or "", e.get("id_hash", "")))
    return found


def _member(context: Context, planned: PlannedResource, names: str) -> str | Unknown:
    """``serviceAccount:EMAIL`` of the key's account (named by the attribute ``names``), or why
    it is not known."""
    plan = context.plan
    traced = trace(plan, planned, expression(planned, (names,)), frozenset({ACCOUNT}))
    account = traced.resource
    if account is not None:
        email = value(account, ("email",))
        if isinstance(email, str) and email:
            return f"serviceAccount:{email}"
        name, project = value(account, ("account_id",)), project_of(context, account)
        if isinstance(name, str) and name and project:
            return f"serviceAccount:{name}@{project}.iam.gserviceaccount.com"
        return after_apply(f"{planned.address}: the email of {account.address}")
    named = traced.constant if traced.has_constant else value(planned, (names,))
    if is_unknown(named):
        return named
    if not isinstance(named, str) or not named:
        return after_apply(f"{planned.address}: its service account")
    tail = named.rsplit("/", 1)[-1]
    if "@" not in tail:
        return Unknown(f"{planned.address}: its service account is named by its unique id, which the plan "
                       "does not tie to an email")
    return f"serviceAccount:{tail}"


def _entry(planned: PlannedResource, now: dt.datetime) -> dict[str, Any] | Unknown:
    """The key as the live reader lists it (``validAfterTime``, ``validBeforeTime``)."""
    listed: dict[str, Any] = {}
    if "create" in planned.actions:
        listed["validAfterTime"] = now.isoformat()
    else:
        created = value(planned, ("valid_after",))
        if not isinstance(created, str) or not created:
            return Unknown(f"{planned.address}.valid_after: not a date the plan shows")
        listed["validAfterTime"] = created
        expires = value(planned, ("valid_before",))
        if isinstance(expires, str) and expires:
            listed["validBeforeTime"] = expires
    name = value(planned, ("name",))
    entry = access_key({**listed, "name": name if isinstance(name, str) else ""}, now)
    if not (isinstance(name, str) and name):
        del entry["id_hash"]  # the apply names it
    return entry


def _hmac_entry(planned: PlannedResource, member: str, now: dt.datetime) -> dict[str, Any] | Unknown:
    """The HMAC key as the live reader lists it (``state``, ``timeCreated``, ``accessId``)."""
    state = value(planned, ("state",))
    if is_unknown(state):
        return state
    created = now.isoformat() if "create" in planned.actions else value(planned, ("time_created",))
    if not isinstance(created, str) or not created:
        return Unknown(f"{planned.address}.time_created: not a date the plan shows")
    access = value(planned, ("access_id",))
    email = member.removeprefix("serviceAccount:")
    listed = {"serviceAccountEmail": email, "state": state if isinstance(state, str) else "ACTIVE",
              "timeCreated": created, "accessId": access if isinstance(access, str) else ""}
    [entry] = hmac_keys([listed], now)[email]
    if not (isinstance(access, str) and access):
        del entry["id_hash"]  # the apply names it
    return entry


__all__ = ["HMAC", "KEY", "TYPES", "ServiceAccountKeys", "collect"]
