"""Cloud Storage's JSON → phigate's normalised kinds (``object_store``, ``access_policy``, ``key``).

Pure functions of what the API returned. Defaults follow the API's documented meaning of an
absent field (no ``versioning`` block: versioning off; no ``logging`` block: no access logs);
what the API did not report at all is left out, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from phigate.api import Resource
from phigate_providers.gcp.access import Binding, public_members

PROVIDER = "gcp"
BUCKET_TYPE = "gcp.storage.bucket"
POLICY_TYPE = "gcp.storage.bucket_iam_policy"
KEY_TYPE = "gcp.kms.crypto_key"
DAY = 86_400
#: Bucket fields kept in ``raw`` (configuration, never object data or ACL entries).
RAW_BUCKET_FIELDS = ("location", "locationType", "storageClass", "iamConfiguration", "encryption",
                     "versioning", "retentionPolicy", "softDeletePolicy", "logging", "projectNumber")
#: Public access prevention values that follow the organisation policy (Cloud Storage's JSON
#: API: ``inherited``; ``unspecified`` is its older name; absent, the same default).
FOLLOWS_ABOVE = frozenset({"inherited", "unspecified", None})
KEY_NAME = re.compile(r"^projects/(?P<project>[^/]+)/locations/(?P<location>[^/]+)/keyRings/[^/]+"
                      r"/cryptoKeys/(?P<key>[^/]+)$")


def bucket_id(name: str) -> str:
    return f"gs://{name}"


def policy_id(name: str) -> str:
    return f"gs://{name}/iam-policy"


def bucket_resource(project: str, data: Mapping[str, Any], bindings: Sequence[Binding] | None, *,
                    enforced_above: bool = False) -> Resource:
    """One bucket; ``bindings`` None when its IAM policy could not be read (grants left out);
    ``enforced_above``: the organisation policy in effect on its project enforces public access
    prevention, which a bucket left ``inherited`` (or ``unspecified``) then follows."""
    name = str(data["name"])
    location = data.get("location")
    iam = _mapping(data.get("iamConfiguration"))
    prevention = iam.get("publicAccessPrevention")
    public_access: dict[str, Any] = {
        "blocked": prevention == "enforced" or (enforced_above and prevention in FOLLOWS_ABOVE)}
    if bindings is not None:
        public_access["grants"] = public_members(bindings)
    attributes: dict[str, Any] = {
        "encryption": _encryption(data),
        "public_access": public_access,
        "acls_disabled": _uniform_access(iam),
        # Cloud Storage has no per-bucket switch for plain HTTP; its JSON API answers HTTPS only
        # (the XML API's plain-HTTP endpoint is discussed in docs/providers/gcp.md).
        "secure_transport_required": True,
        "versioning": _mapping(data.get("versioning")).get("enabled") is True,
        "retention": _retention(_mapping(data.get("retentionPolicy"))),
        "logging": {"access_logs": bool(_mapping(data.get("logging")).get("logBucket")),
                    # Data Access audit logs are project configuration this provider does not read.
                    "data_events": False},
    }
    soft_delete = data.get("softDeletePolicy")
    if isinstance(soft_delete, Mapping):
        seconds = _int(soft_delete.get("retentionDurationSeconds", 0))
        if seconds is not None:
            attributes["soft_delete_days"] = seconds // DAY
    labels = _mapping(data.get("labels"))
    return Resource(
        id=bucket_id(name), type=BUCKET_TYPE, kind="object_store", provider=PROVIDER, scope=project,
        region=str(location).lower() if location else None, name=name,
        tags={str(k): str(v) for k, v in labels.items()}, attributes=attributes,
        raw={k: data[k] for k in RAW_BUCKET_FIELDS if k in data})


def policy_resource(project: str, bucket: Resource, data: Mapping[str, Any],
                    bindings: Sequence[Binding]) -> Resource:
    """A bucket's IAM policy: one Allow statement per binding (role, maybe under a condition)."""
    target = bucket.id
    return Resource(
        id=f"{target}/iam-policy", type=POLICY_TYPE, kind="access_policy", provider=PROVIDER,
        scope=project, region=bucket.region, name=f"{bucket.name} IAM policy",
        attributes={
            "attached_to": sorted({m for b in bindings for m in b.members}),
            # A bucket policy grants on one bucket, never every action on every resource.
            "full_admin": False,
            "target": target,
            "statements": [{"effect": "Allow", "actions": [b.role], "resources": [target],
                            "conditional": b.condition is not None} for b in bindings],
            "bindings": [{"role": b.role, "members": list(b.members), "conditional": b.condition is not None}
                         for b in bindings],
        },
        raw={"bindings": [dict(b) for b in data.get("bindings") or () if isinstance(b, Mapping)],
             "version": data.get("version")})


def key_resource(name: str, data: Mapping[str, Any] | None) -> Resource:
    """A Cloud KMS key named as a bucket's default key. A key named there is the customer's
    (CMEK) by definition; the rest comes from Cloud KMS and is left out when ``data`` is None."""
    match = KEY_NAME.match(name)
    project, location, short = ("", None, name)
    if match:
        project, location, short = match["project"], match["location"], match["key"]
    attributes: dict[str, Any] = {"manager": "customer"}
    raw: dict[str, Any] = {}
    tags: dict[str, str] = {}
    if data is not None:
        primary = _mapping(data.get("primary"))
        template = _mapping(data.get("versionTemplate"))
        attributes["aliases"] = []
        attributes["symmetric"] = data.get("purpose") == "ENCRYPT_DECRYPT"
        if primary.get("state"):
            attributes["state"] = str(primary["state"])
        spec = primary.get("algorithm") or template.get("algorithm")
        if spec:
            attributes["spec"] = str(spec)
        attributes["rotation_enabled"] = bool(data.get("rotationPeriod"))
        raw = {k: data[k] for k in ("purpose", "rotationPeriod", "nextRotationTime") if k in data}
        level = primary.get("protectionLevel") or template.get("protectionLevel")
        if level:
            raw["protectionLevel"] = level
        tags = {str(k): str(v) for k, v in _mapping(data.get("labels")).items()}
    return Resource(id=name, type=KEY_TYPE, kind="key", provider=PROVIDER, scope=project,
                    region=location, name=short, tags=tags, attributes=attributes, raw=raw)


def _encryption(data: Mapping[str, Any]) -> dict[str, Any]:
    key = _mapping(data.get("encryption")).get("defaultKmsKeyName")
    if key:
        return {"at_rest": True, "algorithm": "cmek", "key": str(key), "key_manager": "customer"}
    # Without a default key, Cloud Storage encrypts with keys Google holds.
    return {"at_rest": True, "algorithm": "google-managed", "key": None, "key_manager": "provider"}


def bucket_uniform(data: Mapping[str, Any]) -> bool:
    """Uniform bucket-level access: IAM alone decides (and managed folders can exist)."""
    return _uniform_access(_mapping(data.get("iamConfiguration")))


def _uniform_access(iam: Mapping[str, Any]) -> bool:
    uniform = _mapping(iam.get("uniformBucketLevelAccess")) or _mapping(iam.get("bucketPolicyOnly"))
    return uniform.get("enabled") is True


def _retention(policy: Mapping[str, Any]) -> dict[str, Any]:
    seconds = _int(policy.get("retentionPeriod", 0)) or 0
    if seconds <= 0:
        return {"enabled": False, "locked": False, "days": None}
    return {"enabled": True, "locked": policy.get("isLocked") is True, "days": seconds // DAY}


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _int(value: Any) -> int | None:
    """The API writes int64 values as strings."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


__all__ = ["BUCKET_TYPE", "KEY_TYPE", "POLICY_TYPE", "bucket_id", "bucket_resource", "bucket_uniform",
           "key_resource", "policy_id", "policy_resource"]
