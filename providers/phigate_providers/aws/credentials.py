"""How IAM users and the root user sign in: console password, MFA devices, access keys.

Read per user (``GetLoginProfile``, ``ListMFADevices``, ``ListAccessKeys``) and, for the root
user, from the account summary (``GetAccountSummary``). The credential report would answer in
two calls, but producing it (``GenerateCredentialReport``) is not a read and the report may be
hours old; the per-user reads are current and read-only, and run in the account's item pool.

What is kept is what authentication policies judge, and nothing that lets anyone sign in: an
access key appears as a short hash of its id (enough to tell two keys apart across runs, not to
name the key in a report), its creation date, its age in days when read, and whether it is active.
A read that fails leaves out only the attribute it would have given, with an error naming the
user and the action refused.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from typing import TYPE_CHECKING, Any

from phigate.api import Resource
from phigate.clock import report_time
from phigate_providers.aws import iam
from phigate_providers.aws.calls import ApiFailure, call, pages
from phigate_providers.aws.context import Account
from phigate_providers.keyprint import key_hash

if TYPE_CHECKING:
    from phigate_providers.aws.account_run import AccountRun

#: Attributes of ``principal`` this module gives IAM users.
USER_ATTRIBUTES = frozenset({"console_access", "mfa", "access_keys"})
#: Attribute of ``account`` it gives the account (its root user).
ROOT_ATTRIBUTE = "root_user"
#: Kinds whose failed reads leave a store of the account unseen (by the root user too).
_STORE_KINDS = frozenset({"object_store", "table", "database", "volume", "stream"})
#: ``GetLoginProfile`` answers this when the user has no console password.
_NO_PROFILE = ("NoSuchEntity",)


def _day(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    return None


def access_key(item: dict[str, Any], now: dt.datetime) -> dict[str, Any]:
    """One entry of ``access_keys`` from a ``ListAccessKeys`` item."""
    created = _day(item.get("CreateDate"))
    entry: dict[str, Any] = {
        "id_hash": key_hash(str(item.get("AccessKeyId", ""))),
        "active": item.get("Status") == "Active",
    }
    if created is not None:
        entry["created"] = created.date().isoformat()
        entry["age_days"] = max(0, (now - created).days)
    return entry


def _console_access(client: Any, name: str, now: dt.datetime) -> dict[str, Any]:
    return {"console_access": call(client, "GetLoginProfile", _NO_PROFILE, UserName=name) is not None}


def _mfa(client: Any, name: str, now: dt.datetime) -> dict[str, Any]:
    devices = pages(client, "ListMFADevices", "MFADevices", UserName=name)
    return {"mfa": {"enabled": any(True for _ in devices)}}


def _access_keys(client: Any, name: str, now: dt.datetime) -> dict[str, Any]:
    keys = sorted(pages(client, "ListAccessKeys", "AccessKeyMetadata", UserName=name),
                  key=lambda k: str(k.get("CreateDate")))
    return {"access_keys": [access_key(k, now) for k in keys]}


#: Each read, and what it tells: a failed one leaves only its own attribute out.
_READS: tuple[tuple[str, Callable[[Any, str, dt.datetime], dict[str, Any]]], ...] = (
    ("console password", _console_access),
    ("MFA devices", _mfa),
    ("access keys", _access_keys),
)


def user_attributes(account: Account, arn: str, name: str, now: dt.datetime) -> dict[str, Any]:
    """A user's sign-in facts; a read that fails is recorded on the account, naming the user,
    and leaves its attribute out."""
    client = account.client("iam")
    found: dict[str, Any] = {}
    for what, read in _READS:
        try:
            found.update(read(client, name, now))
        except ApiFailure as failure:
            account.failed(failure, f"{what} of {arn}", kinds=("principal",), types=("aws.iam.user",),
                           resource_id=arn)
    return found


def read_users(account: Account, users: Iterable[tuple[str, str]],
               pool: Executor) -> dict[str, dict[str, Any]]:
    """Each user's sign-in facts by ARN (``users``: ARN and name), read in ``pool``."""
    now = report_time()

    def read(user: tuple[str, str]) -> tuple[str, dict[str, Any]]:
        return user[0], user_attributes(account, user[0], user[1], now)

    return dict(pool.map(read, list(users)))


def iam_and_sign_in(account: Account, sign_in: bool, pool: Executor) -> iam.IamFacts:
    """The account's IAM and, with ``sign_in``, how each user signs in (read in ``pool``).
    Raises ApiFailure when IAM's authorization dump cannot be read."""
    facts = iam.collect(account)
    if sign_in:
        users = [p for p in facts.principals if p.principal_type == "user"]
        found = read_users(account, ((p.arn, p.name) for p in users), pool)
        for principal in users:
            principal.sign_in = found.get(principal.arn, {})
    return facts


def with_root(run: AccountRun, resource: Resource, held: Iterable[str]) -> Resource:
    """The account with its root user's sign-in facts and ``stores``: every store of the account
    the run saw (``held``, context included), which the root user reads. ``stores`` is left out
    when some store of the account could not be listed or read, or when stores beyond the asked
    regions were not read: the root user reads those too."""
    if not run.needs.root_user:
        return resource
    attributes = dict(resource.attributes)
    root = root_user(run.account)
    if root is not None:
        attributes[ROOT_ATTRIBUTE] = root
    known = set(held)
    missed = [e for e in [*run.account.errors, *run.outside.errors]
              if _STORE_KINDS & set(e.kinds) and e.resource_id not in known]
    whole = run.needs.everywhere or not run.account.regions
    if not missed and whole:
        attributes["stores"] = sorted(known)
    return dataclasses.replace(resource, attributes=attributes)


def root_user(account: Account) -> dict[str, Any] | None:
    """The root user's MFA and access keys, from the account summary; None when it cannot be
    read (the failure is recorded against the account resource)."""
    rid = f"arn:{account.partition}:iam::{account.account_id}:root"
    try:
        response = call(account.client("iam"), "GetAccountSummary")
    except ApiFailure as failure:
        account.failed(failure, "the root user's MFA and access keys (account summary)",
                       kinds=("account",), types=("aws.account",), resource_id=rid)
        return None
    summary = (response or {}).get("SummaryMap", {})
    if "AccountMFAEnabled" not in summary or "AccountAccessKeysPresent" not in summary:
        account.failed(ApiFailure("iam", "GetAccountSummary", "the summary lacks the root user's MFA "
                                  "and access keys"), "the root user's MFA and access keys",
                       kinds=("account",), types=("aws.account",), resource_id=rid)
        return None
    return {
        "mfa_enabled": summary["AccountMFAEnabled"] == 1,
        "access_keys_present": summary["AccountAccessKeysPresent"] == 1,
    }


__all__ = ["ROOT_ATTRIBUTE", "USER_ATTRIBUTES", "access_key", "iam_and_sign_in", "read_users", "root_user",
           "user_attributes", "with_root"]
