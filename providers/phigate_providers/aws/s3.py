"""S3 buckets: what each bucket's configuration says, read concurrently, one call per setting.

Reading and normalising are separate: the normalised bucket needs facts from other services
(who manages its KMS key, whether a trail logs its data events), so :func:`read_buckets` only
gathers, and :func:`normalise` builds the resource once those are known.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from phigate.api import Resource
from phigate_providers.aws.access import (
    PolicyDocument,
    PolicySyntaxError,
    denies_insecure_transport,
    parse_policy,
    public_grants,
)
from phigate_providers.aws.calls import ApiFailure, call
from phigate_providers.aws.context import Account, jsonable, tag_map
from phigate_providers.aws.kms import KeyDirectory
from phigate_providers.aws.public import acl_grant
from phigate_providers.aws.s3_regions import Listed, location_region
from phigate_providers.aws.tag_index import tagged

BUCKET_TYPES = ("aws.s3.bucket",)
PUBLIC_ACCESS_FLAGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")

#: Which reads each normalised attribute needs (tags are always read: classification).
READS_FOR: dict[str, tuple[str, ...]] = {
    "encryption": ("GetBucketEncryption",),
    "public_access": ("GetPublicAccessBlock", "GetBucketPolicy", "GetBucketAcl"),
    "acls_disabled": ("GetBucketOwnershipControls",),
    "secure_transport_required": ("GetBucketPolicy",),
    "versioning": ("GetBucketVersioning",),
    "logging": ("GetBucketLogging",),
    "retention": ("GetObjectLockConfiguration",),
    "can_read": ("GetBucketPolicy",),  # resource policies grant read access too
}

_ABSENT = {
    "GetBucketEncryption": ("ServerSideEncryptionConfigurationNotFoundError",),
    "GetPublicAccessBlock": ("NoSuchPublicAccessBlockConfiguration",),
    "GetBucketPolicy": ("NoSuchBucketPolicy",),
    "GetBucketOwnershipControls": ("OwnershipControlsNotFoundError",),
    "GetBucketTagging": ("NoSuchTagSet",),
    "GetObjectLockConfiguration": ("ObjectLockConfigurationNotFoundError",),
}
_UNREAD = object()


@dataclass
class BucketFacts:
    name: str
    region: str
    created: str | None
    #: Operation name → response (None: the setting is absent). A failed read is missing here
    #: and listed in ``failures``.
    responses: dict[str, dict[str, Any] | None] = field(default_factory=dict)
    failures: list[ApiFailure] = field(default_factory=list)
    policy: PolicyDocument | None = None
    policy_error: str | None = None

    @property
    def arn(self) -> str:
        return f"arn:aws:s3:::{self.name}"

    def read(self, operation: str) -> Any:
        return self.responses.get(operation, _UNREAD)

    @property
    def policy_known(self) -> bool:
        """The bucket policy was read and understood (resource-based grants are known)."""
        return self.read("GetBucketPolicy") is not _UNREAD and self.policy_error is None


@dataclass(frozen=True)
class AccountBlock:
    """The account-level block-public-access flags (None: could not be read)."""

    flags: dict[str, bool] | None
    failure: ApiFailure | None = None


def account_block(account: Account) -> AccountBlock:
    try:
        response = call(
            account.client("s3control"),
            "GetPublicAccessBlock",
            absent=("NoSuchPublicAccessBlockConfiguration",),
            AccountId=account.account_id,
        )
    except ApiFailure as failure:
        # Reported on each bucket it leaves undecided (see normalise), not account-wide.
        return AccountBlock(None, failure)
    config = (response or {}).get("PublicAccessBlockConfiguration", {})
    return AccountBlock({flag: bool(config.get(flag)) for flag in PUBLIC_ACCESS_FLAGS})


def bulk_tags(account: Account, region: str) -> dict[str, dict[str, str]]:
    """Tags of the region's buckets in a few pages of the tagging API instead of one call per
    bucket (buckets it does not return are read one by one). Raises ApiFailure."""
    return {arn.split(":::", 1)[1]: tags for arn, tags in tagged(account, region, ["s3"]).items()
            if arn.startswith("arn:") and ":::" in arn}


#: The reads one bucket needs, given its region; None: the bucket is not read at all.
Plan = Callable[[str], list[str] | None]
#: Of the reads planned for a bucket whose tags were read, those its class needs.
Narrow = Callable[[BucketFacts, list[str]], list[str]]


def read_buckets(
    account: Account,
    listed: list[Listed],
    plan: Plan,
    pool: Executor,
    *,
    tags: Mapping[str, Mapping[str, Mapping[str, str]]],
    block: AccountBlock,
    narrow: Narrow | None = None,
) -> list[BucketFacts]:
    """Read every bucket's settings, concurrently: those ``plan`` asks for its region (a bucket
    whose region the listing did not name is located first), of which ``narrow``, when given,
    keeps those the bucket's class needs. ``tags`` holds the tags read in bulk per region;
    buckets elsewhere have theirs read one by one."""

    def one(entry: Listed) -> BucketFacts | None:
        name, region, created = entry
        facts = BucketFacts(name, region or "", created)
        if region is None:
            if not _read(account, facts, "GetBucketLocation", account.home_region):
                return facts
            facts.region = location_region(facts.responses["GetBucketLocation"])
        operations = plan(facts.region)
        if operations is None:
            return None
        bulk = tags.get(facts.region, {}).get(name)
        if bulk is not None:
            tag_set = [{"Key": k, "Value": v} for k, v in bulk.items()]
            facts.responses["GetBucketTagging"] = {"TagSet": tag_set}
        if narrow is not None:
            operations = narrowed(account, facts, operations, narrow)
        read_settings(account, facts, operations, block)
        return facts

    return [facts for facts in pool.map(one, listed) if facts is not None]


def read_settings(account: Account, facts: BucketFacts, operations: list[str], block: AccountBlock) -> None:
    """Read what ``operations`` name and is not read yet (a second call reads only the rest)."""
    # A bucket the tagging API did not return is read on its own: an untagged bucket and one
    # the index has not caught up with look alike there, and a clinical bucket must never be
    # taken for an unclassified one.
    ownership = "GetBucketOwnershipControls" in operations
    for operation in operations:
        if operation in facts.responses:
            continue
        if operation in _ACL_READS and not ownership and _ignored_acls(facts, block):
            continue  # public ACLs are ignored: neither ownership nor the ACL can matter
        if operation == "GetBucketAcl" and _acls_ineffective(facts, block):
            continue
        if operation == "GetObjectLockConfiguration" and _never_versioned(facts):
            facts.responses[operation] = None  # no Object Lock configuration, as AWS documents
            continue
        _read(account, facts, operation, facts.region)
    _parse_policy(facts)


def narrowed(account: Account, facts: BucketFacts, operations: list[str], narrow: Narrow) -> list[str]:
    """The planned reads the bucket's class needs: its tags are read first, since they give the
    class; when they cannot be read, every planned read is made (the class is unknown)."""
    if "GetBucketTagging" in operations and "GetBucketTagging" not in facts.responses:
        _read(account, facts, "GetBucketTagging", facts.region)
    if facts.read("GetBucketTagging") is _UNREAD:
        return [op for op in operations if op != "GetBucketTagging"]  # failed once: recorded
    return narrow(facts, operations)


def labelled(account: Account, facts: BucketFacts) -> Resource:
    """The bucket as its classification sees it (name and tags), before its settings are read."""
    return account.resource(facts.arn, "aws.s3.bucket", "object_store", region=facts.region or None,
                            name=facts.name, attributes={},
                            tags=tag_map((facts.read("GetBucketTagging") or {}).get("TagSet")))


def operations_for(attributes: Iterable[str]) -> list[str]:
    """The bucket reads the normalised ``attributes`` need, in the order they are made."""
    return _operations(frozenset(attributes))


def _operations(wanted: frozenset[str]) -> list[str]:
    needed = {"GetBucketTagging"}
    for attribute in wanted:
        needed.update(READS_FOR.get(attribute, ()))
    # Ownership is read before the ACL so the ACL can be skipped when ACLs are disabled.
    order = [
        "GetBucketTagging",
        "GetBucketEncryption",
        "GetPublicAccessBlock",
        "GetBucketPolicy",
        "GetBucketOwnershipControls",
        "GetBucketAcl",
        "GetBucketVersioning",
        "GetBucketLogging",
        "GetObjectLockConfiguration",
    ]
    return [op for op in order if op in needed]


def _read(account: Account, facts: BucketFacts, operation: str, region: str) -> bool:
    try:
        facts.responses[operation] = call(
            account.client("s3", region or account.home_region),
            operation,
            absent=_ABSENT.get(operation, ()),
            Bucket=facts.name,
        )
    except ApiFailure as failure:
        facts.failures.append(failure)
        return False
    return True


def _parse_policy(facts: BucketFacts) -> None:
    response = facts.read("GetBucketPolicy")
    if response is _UNREAD or response is None or facts.policy is not None:
        return
    try:
        facts.policy = parse_policy(response.get("Policy", "{}"))
    except PolicySyntaxError as exc:
        facts.policy_error = str(exc)


_ACL_READS = ("GetBucketOwnershipControls", "GetBucketAcl")


def _ignored_acls(facts: BucketFacts, block: AccountBlock) -> bool:
    """Block-public-access (the bucket's or the account's) makes S3 ignore public ACLs."""
    if block.flags is not None and block.flags["IgnorePublicAcls"]:
        return True
    bucket_block = facts.read("GetPublicAccessBlock")
    return bucket_block is not _UNREAD and bool(
        (bucket_block or {}).get("PublicAccessBlockConfiguration", {}).get("IgnorePublicAcls")
    )


def _acls_ineffective(facts: BucketFacts, block: AccountBlock) -> bool:
    """ACLs cannot make the bucket public: disabled (BucketOwnerEnforced) or ignored."""
    return acls_disabled(facts) is True or _ignored_acls(facts, block)


def _never_versioned(facts: BucketFacts) -> bool:
    """Versioning was read and is not enabled: then Object Lock is off, since AWS turns it on
    only in versioned buckets and never lets a bucket with Object Lock suspend versioning."""
    versioning = facts.read("GetBucketVersioning")
    return versioning is not _UNREAD and (versioning or {}).get("Status") != "Enabled"


def acls_disabled(facts: BucketFacts) -> bool | None:
    """Whether the bucket disables ACLs (object ownership enforced); None when not read."""
    response = facts.read("GetBucketOwnershipControls")
    if response is _UNREAD:
        return None
    rules = (response or {}).get("OwnershipControls", {}).get("Rules", [])
    return any(rule.get("ObjectOwnership") == "BucketOwnerEnforced" for rule in rules)


@dataclass(frozen=True)
class Coverage:
    """Which buckets CloudTrail data events cover (None: trails could not be read)."""

    covers: Callable[[str, str], bool] | None


def normalise(
    account: Account, facts: BucketFacts, keys: KeyDirectory, block: AccountBlock, coverage: Coverage
) -> Resource | None:
    """The bucket as an ``object_store``; None (and an error) when its tags are unreadable,
    since an unclassified guess would decide every class-dependent policy wrongly."""
    for failure in facts.failures:
        account.failed(
            failure,
            f"S3 bucket {facts.name}",
            kinds=("object_store",),
            types=BUCKET_TYPES,
            region=facts.region or None,
            resource_id=facts.arn,
        )
    tagging = facts.read("GetBucketTagging")
    if tagging is _UNREAD or not facts.region:
        return None
    attributes: dict[str, Any] = {}
    encryption = _encryption(account, facts, keys)
    if encryption is not None:
        attributes["encryption"] = encryption
    public = _public_access(facts, block)
    if public is not None:
        attributes["public_access"] = public
    if block.failure is not None and "blocked" not in (public or {}):
        account.failed(
            block.failure,
            f"S3 bucket {facts.name}: account-level block public access",
            kinds=("object_store",),
            types=BUCKET_TYPES,
            region=facts.region,
            resource_id=facts.arn,
        )
    disabled = acls_disabled(facts)
    if disabled is not None:
        attributes["acls_disabled"] = disabled
    if facts.read("GetBucketPolicy") is not _UNREAD and facts.policy_error is None:
        attributes["secure_transport_required"] = denies_insecure_transport(facts.policy, facts.name)
    versioning = facts.read("GetBucketVersioning")
    if versioning is not _UNREAD:
        attributes["versioning"] = (versioning or {}).get("Status") == "Enabled"
    logging = facts.read("GetBucketLogging")
    if logging is not _UNREAD:
        attributes["logging"] = {"access_logs": bool((logging or {}).get("LoggingEnabled"))}
        if coverage.covers is not None:
            attributes["logging"]["data_events"] = coverage.covers(facts.name, facts.region)
    lock = facts.read("GetObjectLockConfiguration")
    if lock is not _UNREAD:
        attributes["retention"] = _retention(lock)
    if facts.policy_error is not None:
        account.failed(
            ApiFailure("s3", "GetBucketPolicy", facts.policy_error),
            f"S3 bucket {facts.name} policy",
            kinds=("object_store",),
            types=BUCKET_TYPES,
            region=facts.region,
            resource_id=facts.arn,
        )
    raw = {op: jsonable(response) for op, response in facts.responses.items() if op != "GetBucketTagging"}
    raw["CreationDate"] = facts.created
    return account.resource(
        facts.arn,
        "aws.s3.bucket",
        "object_store",
        region=facts.region,
        name=facts.name,
        attributes=attributes,
        tags=tag_map((tagging or {}).get("TagSet")),
        raw=raw,
    )


def _encryption(account: Account, facts: BucketFacts, keys: KeyDirectory) -> dict[str, Any] | None:
    response = facts.read("GetBucketEncryption")
    if response is _UNREAD:
        return None
    rules = (response or {}).get("ServerSideEncryptionConfiguration", {}).get("Rules", [])
    default = rules[0].get("ApplyServerSideEncryptionByDefault", {}) if rules else {}
    algorithm = default.get("SSEAlgorithm") or "AES256"  # no configuration: SSE-S3 since January 2023
    if not algorithm.startswith("aws:kms"):
        return {"at_rest": True, "algorithm": algorithm, "key": None, "key_manager": "provider"}
    ref = default.get("KMSMasterKeyID") or "alias/aws/s3"  # no key named: the AWS-managed one
    encryption: dict[str, Any] = {"at_rest": True, "algorithm": algorithm, "key": keys.arn(ref, facts.region)}
    manager = keys.manager(ref, facts.region, account.account_id)
    if manager is not None:
        encryption["key_manager"] = manager
    return encryption


def _public_access(facts: BucketFacts, block: AccountBlock) -> dict[str, Any] | None:
    bucket_block = facts.read("GetPublicAccessBlock")
    bucket_flags = None
    if bucket_block is not _UNREAD:
        config = (bucket_block or {}).get("PublicAccessBlockConfiguration", {})
        bucket_flags = {flag: bool(config.get(flag)) for flag in PUBLIC_ACCESS_FLAGS}
    # Effective flags: the bucket's OR the account's. Unknown only if neither settles it.
    blocked: bool | None
    if block.flags is not None and all(block.flags.values()):
        blocked = True
    elif bucket_flags is not None and block.flags is not None:
        blocked = all(bucket_flags[f] or block.flags[f] for f in PUBLIC_ACCESS_FLAGS)
    elif bucket_flags is not None and all(bucket_flags.values()):
        blocked = True
    else:
        blocked = None
    grants = _public_grants(facts, block)
    if blocked is None and grants is None:
        return None
    public: dict[str, Any] = {}
    if blocked is not None:
        public["blocked"] = blocked
    if grants is not None:
        public["grants"] = grants
    return public


def _public_grants(facts: BucketFacts, block: AccountBlock) -> list[str] | None:
    """Everyone-grants in the bucket policy and (unless ACLs are disabled) its ACL."""
    if facts.read("GetBucketPolicy") is _UNREAD or facts.policy_error is not None:
        return None
    found = list(public_grants(facts.policy))
    if not _acls_ineffective(facts, block):
        acl = facts.read("GetBucketAcl")
        if acl is _UNREAD:
            return None
        for grant in (acl or {}).get("Grants", []):
            public = acl_grant(grant.get("Grantee", {}).get("URI"), grant.get("Permission", ""))
            if public is not None:
                found.append(public)
    return sorted(set(found))


def _retention(lock: dict[str, Any] | None) -> dict[str, Any]:
    config = (lock or {}).get("ObjectLockConfiguration", {})
    rule = config.get("Rule", {}).get("DefaultRetention", {})
    days = rule.get("Days") or (rule.get("Years", 0) * 365) or None
    return {
        "enabled": config.get("ObjectLockEnabled") == "Enabled",
        "locked": rule.get("Mode") == "COMPLIANCE",
        "days": days,
    }


__all__ = [
    "AccountBlock",
    "BucketFacts",
    "Coverage",
    "account_block",
    "acls_disabled",
    "labelled",
    "narrowed",
    "normalise",
    "operations_for",
    "read_buckets",
    "read_settings",
]
