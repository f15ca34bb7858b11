"""KMS keys, and the key directory other collectors use to say who manages a store's key."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from phigate.api import Resource
from phigate_providers.aws.calls import ApiFailure, call, pages
from phigate_providers.aws.context import Account, jsonable, tag_map

KEY_TYPES = ("aws.kms.key",)
AWS_ALIAS_PREFIX = "alias/aws/"


@dataclass(frozen=True)
class KeyFacts:
    arn: str
    manager: str  # 'customer' | 'provider'
    aliases: tuple[str, ...]


class KeyDirectory:
    """Keys seen, by ARN, key id and alias, per region; answers "who manages this key?".

    A store names its key by id, ARN, alias or alias ARN. A region whose keys could not be
    listed answers ``None`` (unknown), never a guess.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_ref: dict[tuple[str, str], KeyFacts] = {}
        self._listed: set[str] = set()

    def add_region(self, region: str, keys: Iterable[KeyFacts]) -> None:
        with self._lock:
            for key in keys:
                key_id = key.arn.rsplit("/", 1)[-1]
                for ref in (key.arn, key_id, *key.aliases):
                    self._by_ref[(region, ref)] = key
            self._listed.add(region)

    def resolve(self, ref: str | None, region: str) -> KeyFacts | None:
        """The key a store names, or None when it is unknown here."""
        if not ref:
            return None
        key_region = region
        if ref.startswith("arn:"):
            parts = ref.split(":", 5)
            if len(parts) < 6:
                return None  # not a key's ARN: unknown, never a key of this region
            key_region = parts[3] or region
            resource = parts[5]
            if resource.startswith("alias/"):
                ref = resource
        return self._by_ref.get((key_region, ref))

    def manager(self, ref: str | None, region: str, own_account: str) -> str | None:
        """'customer' or 'provider' for a store's key, as seen by the store's owner
        (``own_account``); None when it cannot be told.

        A key of another account is never the owner's customer-managed key: whoever holds that
        account decides who may decrypt (its key policy, its grants), so for the data owner it is
        a key someone else manages: 'provider', the value that never passes a "customer-managed
        key" check. That holds within one organisation too: the owner's account does not
        control the other account's key policy.
        """
        if not ref:
            return None
        if ref.startswith(AWS_ALIAS_PREFIX) or f":{AWS_ALIAS_PREFIX}" in ref:
            return "provider"
        parts = ref.split(":", 5)
        if parts[0] == "arn" and len(parts) == 6 and parts[4] not in ("", own_account):
            return "provider"
        found = self.resolve(ref, region)
        if found is not None:
            return found.manager
        return None

    def arn(self, ref: str | None, region: str) -> str | None:
        found = self.resolve(ref, region)
        if found is not None:
            return found.arn
        return ref if ref and ref.startswith("arn:") and ":alias/" not in ref else None


    def encryption(self, encrypted: bool, ref: str | None, region: str, own_account: str,
                   *, default: str | None = None) -> dict[str, Any]:
        """A store's normalised ``encryption``: ``ref`` names its key; ``default`` is the
        service's AWS-managed alias, which encrypts when no key is named. Who manages the key
        is left out (unknown) when the directory cannot tell."""
        if not encrypted:
            return {"at_rest": False, "algorithm": None, "key": None, "key_manager": None}
        found: dict[str, Any] = {"at_rest": True, "algorithm": "aws:kms", "key": self.arn(ref, region) or ref}
        named = ref or default
        manager = self.manager(named, region, own_account) if named else None
        if manager is not None:
            found["key_manager"] = manager
        return found


def collect_region(account: Account, region: str, directory: KeyDirectory) -> list[Resource]:
    """Every key of ``region``; fills ``directory``. Raises ApiFailure if keys cannot be listed."""
    client = account.client("kms", region)
    aliases: dict[str, list[str]] = {}
    for alias in pages(client, "ListAliases", "Aliases"):
        if alias.get("TargetKeyId"):
            aliases.setdefault(alias["TargetKeyId"], []).append(alias["AliasName"])
    resources: list[Resource] = []
    facts: list[KeyFacts] = []
    for listed in pages(client, "ListKeys", "Keys"):
        key_aliases = tuple(sorted(aliases.get(listed["KeyId"], ())))
        resource, fact = _key(account, region, client, listed, key_aliases)
        if resource is not None:
            resources.append(resource)
        if fact is not None:
            facts.append(fact)
    directory.add_region(region, facts)
    return resources


def _key(
    account: Account, region: str, client: Any, listed: dict[str, Any], aliases: tuple[str, ...]
) -> tuple[Resource | None, KeyFacts | None]:
    arn = listed.get("KeyArn") or account.arn("kms", region, f"key/{listed['KeyId']}")
    try:
        described = call(client, "DescribeKey", KeyId=arn)
    except ApiFailure as failure:
        account.failed(
            failure, f"KMS key {arn}", kinds=("key",), types=KEY_TYPES, region=region, resource_id=arn
        )
        return None, None
    assert described is not None
    meta = described["KeyMetadata"]
    # Aliases under alias/aws/ are reserved for AWS-managed keys, whatever else is reported.
    managed_by_aws = meta.get("KeyManager") == "AWS" or any(a.startswith(AWS_ALIAS_PREFIX) for a in aliases)
    manager = "provider" if managed_by_aws else "customer"
    spec = meta.get("KeySpec") or meta.get("CustomerMasterKeySpec") or "SYMMETRIC_DEFAULT"
    symmetric = spec == "SYMMETRIC_DEFAULT" and meta.get("KeyUsage", "ENCRYPT_DECRYPT") == "ENCRYPT_DECRYPT"
    state = str(meta.get("KeyState", "Enabled"))
    attributes: dict[str, Any] = {
        "manager": manager,
        "state": state,
        "spec": spec,
        "symmetric": symmetric,
        "aliases": list(aliases),
    }
    tags: dict[str, str] = {}
    if manager == "customer":
        # Each read on its own: a refused rotation status must not leave the tags unread too.
        # Yielded with what was read; the policies needing the rest are errors.
        try:
            if symmetric and state == "Enabled":
                rotation = call(client, "GetKeyRotationStatus", KeyId=arn)
                assert rotation is not None
                attributes["rotation_enabled"] = bool(rotation.get("KeyRotationEnabled"))
        except ApiFailure as failure:
            account.failed(
                failure, f"KMS key {arn}", kinds=("key",), types=KEY_TYPES, region=region, resource_id=arn
            )
        try:
            tags = tag_map(list(pages(client, "ListResourceTags", "Tags", KeyId=arn)), "TagKey", "TagValue")
        except ApiFailure as failure:
            account.failed(
                failure, f"KMS key {arn}", kinds=("key",), types=KEY_TYPES, region=region, resource_id=arn
            )
    fact = KeyFacts(arn, manager, aliases)
    resource = account.resource(
        arn,
        "aws.kms.key",
        "key",
        region=region,
        name=aliases[0] if aliases else listed["KeyId"],
        attributes=attributes,
        tags=tags,
        raw={"KeyMetadata": jsonable(meta), "Aliases": list(aliases)},
    )
    return resource, fact


__all__ = ["KeyDirectory", "KeyFacts", "collect_region"]
