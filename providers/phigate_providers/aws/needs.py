"""What one run must read: the kinds, the bucket attributes, and whether beyond the asked scope.

The run tells the provider which attributes its policies read (``restrict``); reads for the
others are skipped, and stores outside the asked regions are read only when the access analysis
(principals' ``can_read``) or residency (stores' ``region``) needs them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from phigate_providers.aws import credentials, s3

#: Every normalised attribute a bucket can carry; all are read unless a run needs fewer.
BUCKET_ATTRIBUTES = frozenset(s3.READS_FOR)


@dataclass(frozen=True)
class Needs:
    """What one run must read: kinds (None: all) and the bucket attributes to fetch."""

    kinds: frozenset[str] | None
    bucket_attributes: frozenset[str]
    access: bool  # principals' effective read access
    #: Buckets' ``content_sample``, when sampling is on (no selected policy reads it: not taken).
    content: bool = True
    #: Stores' regions (residency): health data outside the asked regions is reported too.
    residency: bool = True
    #: How users sign in (console password, MFA, access keys).
    sign_in: bool = True
    #: The root user's MFA and keys, and the stores it reads (the account's).
    root_user: bool = True
    #: Bucket attributes only some data classes need, with those classes (the others: every class).
    bucket_classes: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @property
    def everywhere(self) -> bool:
        """Stores outside the asked regions must be read (access analysis or residency)."""
        return self.access or self.residency

    @classmethod
    def from_fields(cls, fields: Mapping[str, frozenset[str]] | None,
                    classes: Mapping[str, Mapping[str, frozenset[str]]] | None = None) -> Needs:
        if fields is None:
            return cls(None, BUCKET_ATTRIBUTES, True)
        kinds = set(fields)
        access = bool(
            {"can_read", "can_read_via_wildcard", "undecided_conditions"} & fields.get("principal", set())
        )
        attributes = set(fields.get("object_store", frozenset()) & BUCKET_ATTRIBUTES)
        if access:
            attributes.add("can_read")
            kinds |= set(STORE_KINDS)  # every store a principal may read
        if fields.get("key") or any("encryption" in fields.get(k, ()) for k in STORE_KINDS):
            kinds.add("key")  # who manages a store's key is told by the key directory
        content = "content_sample" in fields.get("object_store", frozenset())
        residency = any("region" in fields.get(kind, ()) for kind in STORE_KINDS)
        sign_in = bool(credentials.USER_ATTRIBUTES & fields.get("principal", set()))
        root_user = bool(ROOT_ATTRIBUTES & fields.get("account", set()))
        # The analysis reads bucket policies whatever the class: ``can_read`` stays unnarrowed.
        by_class = {name: frozenset(which) for name, which in (classes or {}).get("object_store", {}).items()
                    if name in attributes and name != "can_read"}
        return cls(frozenset(kinds), frozenset(attributes), access, content, residency, sign_in, root_user,
                   by_class)

    def bucket_attributes_for(self, data_class: str) -> frozenset[str]:
        """The bucket attributes to read for a bucket of ``data_class``."""
        return frozenset(name for name in self.bucket_attributes
                         if name not in self.bucket_classes or data_class in self.bucket_classes[name])

    def kind(self, kind: str) -> bool:
        return self.kinds is None or kind in self.kinds

    @property
    def trails(self) -> bool:
        return self.kind("account") or "logging" in self.bucket_attributes


STORE_KINDS = ("object_store", "database", "table", "volume", "stream")
#: The account's attributes that the root user's reads give (see :mod:`.credentials`).
ROOT_ATTRIBUTES = frozenset({credentials.ROOT_ATTRIBUTE, "stores"})


__all__ = ["BUCKET_ATTRIBUTES", "STORE_KINDS", "Needs"]
