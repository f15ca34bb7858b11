"""How planned IAM users sign in, as far as a plan shows it: ``aws_iam_user_login_profile``
gives a console password, ``aws_iam_access_key`` an access key.

A plan shows what its configuration manages, as it does for policies: a login profile or key
made elsewhere is not the plan's to show (the live audit sees it). MFA cannot be decided: no
resource assigns a device to a user (``aws_iam_virtual_mfa_device`` only creates one), so
``mfa`` is left out and a user with a planned console password who can read clinical data is
undecided. A key already in the state has its ``create_date``; a new one is created by the apply
(age 0). Key ids are never kept: a fingerprint of the id when the state knows it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from phigate.api import Unknown
from phigate.clock import report_time
from phigate_providers.keyprint import key_hash
from phigate_providers.terraform.plan import PlannedResource
from phigate_providers.terraform.values import is_unknown, value

LOGIN_PROFILE = "aws_iam_user_login_profile"
ACCESS_KEY = "aws_iam_access_key"
#: Whether a planned resource names the user (by reference or by name) in its ``user``.
Names = Callable[[PlannedResource], bool]


def _created(key: PlannedResource) -> dt.datetime | Unknown | None:
    """When the key was made: the state's ``create_date``; None when the apply makes it."""
    found = value(key, ("create_date",))
    if is_unknown(found) or found is None:
        return None if "create" in key.actions else after(key)
    try:
        created = dt.datetime.fromisoformat(str(found).replace("Z", "+00:00"))
    except ValueError:
        return after(key)
    return created if created.tzinfo else created.replace(tzinfo=dt.UTC)


def after(key: PlannedResource) -> Unknown:
    return Unknown(f"{key.address}.create_date: not a date the plan shows")


def access_key(key: PlannedResource, now: dt.datetime) -> dict[str, Any] | Unknown:
    """One ``access_keys`` entry, or Unknown when its age or status cannot be told."""
    status = value(key, ("status",))
    created = _created(key)
    if is_unknown(status):
        return status
    if isinstance(created, Unknown):
        return created
    entry: dict[str, Any] = {"active": status in (None, "Active")}
    key_id = value(key, ("id",))
    if isinstance(key_id, str) and key_id:
        entry["id_hash"] = key_hash(key_id)
    moment = created or now
    entry["created"] = moment.date().isoformat()
    entry["age_days"] = max(0, (now - moment).days)
    return entry


def user_attributes(by_type: dict[str, list[PlannedResource]], names: Names) -> tuple[dict[str, Any],
                                                                                   list[PlannedResource]]:
    """``console_access`` and ``access_keys`` of a planned user, and the resources they come from."""
    profiles = [p for p in by_type.get(LOGIN_PROFILE, ()) if names(p)]
    keys = [k for k in by_type.get(ACCESS_KEY, ()) if names(k)]
    now = report_time()
    entries = [access_key(k, now) for k in keys]
    unknown = next((e for e in entries if isinstance(e, Unknown)), None)
    attributes: dict[str, Any] = {
        "console_access": bool(profiles),
        "access_keys": unknown if unknown is not None else sorted(
            (e for e in entries if not isinstance(e, Unknown)), key=lambda e: str(e.get("created"))),
    }
    return attributes, [*profiles, *keys]


__all__ = ["ACCESS_KEY", "LOGIN_PROFILE", "access_key", "user_attributes"]
