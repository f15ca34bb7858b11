"""Which key encrypts a store, and who manages it, as far as the plan tells.

The configuration is what tells a chosen key from a default one. A store that sets no key is
encrypted (when it is) with the service's AWS-managed key (``aws/s3``, ``aws/rds``, ``aws/ebs``,
``aws/dynamodb``): the provider-managed default, whatever ARN the planned values show for it. A
key the configuration chooses is followed: a reference to a planned ``aws_kms_key`` (or an
``aws_kms_alias`` of one) is that key, customer-managed; an alias under ``alias/aws/`` is
AWS-managed; any other key given by ARN, id or alias (a variable, a data source, a literal) is
customer-managed, since AWS-managed keys are used by leaving the key unset and only customer
keys carry other aliases. A chosen key known only after apply, and not traceable to a planned
key, is unknown: the policies that need it are ``error``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from phigate.api import Resource, Unknown
from phigate_providers.terraform.context import Built, Context
from phigate_providers.terraform.iam import account_of
from phigate_providers.terraform.plan import PlannedResource
from phigate_providers.terraform.values import Path, after_apply, expression, is_unknown, trace, value

AWS_ALIAS_PREFIX = "alias/aws/"
KEY_TYPES = frozenset({"aws_kms_key", "aws_kms_alias"})


@dataclass(frozen=True, slots=True)
class KeyChoice:
    """``key``: the key's id (None: none named, the provider holds it); ``manager``: 'customer',
    'provider', or Unknown."""

    key: str | Unknown | None
    manager: str | Unknown | None


DEFAULT = KeyChoice(None, "provider")


class KeyBook:
    """Planned keys and aliases by every name a store may use for them."""

    def __init__(self, context: Context) -> None:
        self.context = context
        plan = context.plan
        self._by_ref: dict[str, PlannedResource] = {}
        for key in plan.by_type.get("aws_kms_key", ()):
            for attribute in ("arn", "key_id", "id"):
                found = key.values.get(attribute)
                if isinstance(found, str) and found:
                    self._by_ref[found] = key
        self._aliases: dict[str, PlannedResource] = {}
        for alias in plan.by_type.get("aws_kms_alias", ()):
            target = self.alias_target(alias)
            name = alias.values.get("name")
            if target is not None and isinstance(name, str):
                self._aliases[name] = target

    def is_planned(self, ref: str) -> bool:
        """``ref`` (an ARN, key id or alias) names a key of the plan."""
        alias = ref.split(":", 5)[-1] if ref.startswith("arn:") else ref
        return ref in self._by_ref or alias in self._aliases

    def alias_target(self, alias: PlannedResource) -> PlannedResource | None:
        traced = trace(self.context.plan, alias, expression(alias, ("target_key_id",)),
                       frozenset({"aws_kms_key"}))
        if traced.resource is not None:
            return traced.resource
        found = alias.values.get("target_key_id")
        return self._by_ref.get(found) if isinstance(found, str) else None

    def choose(self, store: PlannedResource, path: Path) -> KeyChoice:
        """The key ``store`` names at ``path``."""
        plan = self.context.plan
        expr = expression(store, path)
        planned = value(store, path)
        chosen: Any = planned
        if expr is not None and (expr.get("references") or "constant_value" in expr):
            traced = trace(plan, store, expr, KEY_TYPES)
            if traced.resource is not None:
                found = traced.resource
                key = self.alias_target(found) if found.type == "aws_kms_alias" else found
                if key is None:
                    return KeyChoice(after_apply(f"{store.address}: key of {found.address}"), "customer")
                return KeyChoice(self.context.id_of(key), "customer")
            if traced.has_constant:
                chosen = traced.constant
        elif plan.has_configuration:
            return DEFAULT  # not set: the service's AWS-managed key
        elif not (isinstance(planned, str) and planned in self._by_ref):
            # Without the configuration, a key ARN in the values may be a default one.
            if planned in (None, ""):
                return DEFAULT
            return KeyChoice(planned if isinstance(planned, str) else after_apply(store.address),
                             Unknown("the plan has no configuration: cannot tell a chosen key "
                                     "from the service default"))
        return self.named(chosen, store)

    def named(self, ref: Any, store: PlannedResource) -> KeyChoice:
        """The key a value names (an ARN, a key id, an alias), chosen by someone."""
        if is_unknown(ref):
            return KeyChoice(ref, ref)
        if ref in (None, ""):
            return DEFAULT
        if not isinstance(ref, str):
            reason = Unknown(f"{store.address}: the key is not a string")
            return KeyChoice(reason, reason)
        if ref.startswith(AWS_ALIAS_PREFIX) or f":{AWS_ALIAS_PREFIX}" in ref:
            return DEFAULT
        key = self._by_ref.get(ref)
        alias = ref.split(":", 5)[-1] if ref.startswith("arn:") else ref
        key = key or self._aliases.get(alias)
        if key is not None:
            return KeyChoice(self.context.id_of(key), "customer")
        self._stub(ref, store)
        return KeyChoice(ref, self._manager_of(ref, store))

    def _manager_of(self, ref: str, store: PlannedResource) -> Any:
        """A key named by the ARN of another account is never the data owner's customer key:
        whoever holds that account decides who may decrypt. Where the plan's own account is not
        known, a key ARN naming an account cannot be told apart."""
        owner = ref.split(":", 5)[4] if ref.startswith("arn:") and ref.count(":") >= 5 else ""
        if not owner:
            return "customer"
        account = account_of(self.context)
        if account is None:
            return Unknown(f"{store.address}: its key belongs to account {owner}, and the plan's own "
                           "account is not known")
        return "customer" if owner == account else "provider"

    def _stub(self, ref: str, store: PlannedResource) -> None:
        """A key the plan names but does not manage: read as context (never judged: its settings
        are not the plan's), so that what it encrypts is seen together, with nothing but what
        naming it tells."""
        if ref in self.context.stubs:
            self.context.stubs[ref].sources += (store.address,)
            return
        region = ref.split(":")[3] if ref.startswith("arn:") and ref.count(":") >= 5 else None
        aliases = [ref.split(":", 5)[-1]] if "alias/" in ref else []
        resource = Resource(id=ref, type="aws.kms.key", kind="key", provider="aws",
                            scope=self.context.plan.label, region=region or None, name=ref,
                            attributes={"manager": "customer", "aliases": aliases},
                            raw={"named_by": store.address, "planned": False})
        self.context.stubs[ref] = Built(resource, (store.address,), outside=True)


def gcs_key_stub(context: Context, name: str, store: PlannedResource) -> None:
    """A Cloud KMS key named as a bucket's default key, as the gcp provider reports one it could
    not read: customer-managed (CMEK by definition), nothing else known."""
    if name in context.stubs:
        context.stubs[name].sources += (store.address,)
        return
    parts = name.split("/")
    location = parts[3] if len(parts) > 3 and parts[0] == "projects" else None
    resource = Resource(id=name, type="gcp.kms.crypto_key", kind="key", provider="gcp",
                        scope=context.plan.label, region=location, name=name,
                        attributes={"manager": "customer"}, raw={"named_by": store.address, "planned": False})
    context.stubs[name] = Built(resource, (store.address,), outside=True)


def encryption(at_rest: Any, algorithm: Any, choice: KeyChoice) -> dict[str, Any]:
    """The kinds' ``encryption`` object from what is known (Unknown values stay Unknown)."""
    if at_rest is False:
        return {"at_rest": False, "algorithm": None, "key": None, "key_manager": None}
    return {"at_rest": at_rest, "algorithm": algorithm, "key": choice.key, "key_manager": choice.manager}


__all__ = ["AWS_ALIAS_PREFIX", "DEFAULT", "KeyBook", "KeyChoice", "encryption", "gcs_key_stub"]
