"""User-managed keys of service accounts, as ``principal.access_keys``.

Read with ``projects.serviceAccounts.keys.list`` filtered to ``keyTypes=USER_MANAGED``
(permission ``iam.serviceAccountKeys.list``): Google-managed keys rotate themselves and never
leave Google, so only the keys someone downloaded are long-lived credentials. A key is kept as a
fingerprint of its id, its creation date (``validAfterTime``), its age in days when read, and
whether it can still sign in (not disabled, not past ``validBeforeTime``); never its name in
clear nor any key material.

Cloud Storage HMAC keys are long-lived credentials of a service account too: an access id and a
secret that sign requests to Cloud Storage's XML API as the account, from anywhere, until they
are deactivated ("HMAC keys", Cloud Storage). They are listed per project
(``projects.hmacKeys.list``, permission ``storage.hmacKeys.list``) and kept the same way: a
fingerprint of the access id, ``timeCreated``, and whether the key is ``ACTIVE``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from phigate_providers.keyprint import key_hash

PERMISSION = "iam.serviceAccountKeys.list"
HMAC_PERMISSION = "storage.hmacKeys.list"


def _instant(value: Any) -> dt.datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)


def access_key(key: Mapping[str, Any], now: dt.datetime) -> dict[str, Any]:
    """One ``access_keys`` entry from a key as the API lists it."""
    created, expires = _instant(key.get("validAfterTime")), _instant(key.get("validBeforeTime"))
    entry: dict[str, Any] = {
        "id_hash": key_hash(str(key.get("name", "")).rsplit("/", 1)[-1]),
        "active": key.get("disabled") is not True and (expires is None or expires > now),
    }
    if created is not None:
        entry["created"] = created.date().isoformat()
        entry["age_days"] = max(0, (now - created).days)
    return entry


def access_keys(listed: Sequence[Mapping[str, Any]], now: dt.datetime) -> list[dict[str, Any]]:
    """The user-managed keys among ``listed``, oldest first (a system-managed one the filter
    let through is skipped: it is not a long-lived credential)."""
    mine = [k for k in listed if k.get("keyType", "USER_MANAGED") == "USER_MANAGED"]
    entries = [access_key(k, now) for k in mine]
    return sorted(entries, key=lambda e: (e.get("created") or "", e["id_hash"]))


def hmac_keys(listed: Sequence[Mapping[str, Any]], now: dt.datetime) -> dict[str, list[dict[str, Any]]]:
    """The HMAC keys among ``listed`` (a project's listing), by the service account e-mail each
    signs in as, as ``access_keys`` entries. A deleted key (listed only when asked) signs nothing."""
    found: dict[str, list[dict[str, Any]]] = {}
    for key in listed:
        email = key.get("serviceAccountEmail")
        if not isinstance(email, str) or key.get("state") == "DELETED":
            continue
        created = _instant(key.get("timeCreated"))
        entry: dict[str, Any] = {"id_hash": key_hash(str(key.get("accessId", ""))),
                                 "active": key.get("state") == "ACTIVE"}
        if created is not None:
            entry["created"] = created.date().isoformat()
            entry["age_days"] = max(0, (now - created).days)
        found.setdefault(email, []).append(entry)
    return found


__all__ = ["HMAC_PERMISSION", "PERMISSION", "access_key", "access_keys", "hmac_keys"]
