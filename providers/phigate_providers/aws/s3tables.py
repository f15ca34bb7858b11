"""S3 Tables tables as ``table`` stores: Apache Iceberg tables in table buckets, where analytics
copies of patient records land.

Each table is the store (its bucket is their container: an empty bucket holds nothing). Its
encryption is the table's own (``GetTableEncryption``: ``aws:kms`` under ``kmsKeyArn``, ``AES256``
under S3-managed keys), which its bucket's default gave it at creation or which was set for it.
Its exposure is its bucket's policy and its own table policy together: one document, parsed for
``public_access`` and given to the access analysis (``s3tables:GetTableData`` reads it;
``s3tables:PutTablePolicy`` and ``PutTableBucketPolicy`` let a principal grant itself read). Its
class is its own tags over its bucket's (a label both give differently keeps both).

A bucket whose tables cannot be listed is an error on its tables' kind; a table whose
encryption, policy or tags cannot be read is yielded without them, its error recorded. A policy
(the bucket's or the table's) that was not read leaves the table's exposure undecided.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from phigate.api import Resource
from phigate_providers.aws import policy_stores
from phigate_providers.aws.calls import ApiFailure, call, pages
from phigate_providers.aws.context import Account, jsonable
from phigate_providers.aws.copies import merge_tags
from phigate_providers.aws.kms import KeyDirectory
from phigate_providers.aws.offered import where_offered
from phigate_providers.aws.read_actions import s3_table_facets

TABLE = "aws.s3tables.table"
TYPES = (TABLE,)
KIND = "table"
OPERATIONS = {
    ("s3tables", "ListTableBuckets"): "s3tables:ListTableBuckets",
    ("s3tables", "GetTableBucketPolicy"): "s3tables:GetTableBucketPolicy",
    ("s3tables", "ListTables"): "s3tables:ListTables",
    ("s3tables", "GetTableEncryption"): "s3tables:GetTableEncryption",
    ("s3tables", "GetTablePolicy"): "s3tables:GetTablePolicy",
    ("s3tables", "ListTagsForResource"): "s3tables:ListTagsForResource",
}
#: What S3 Tables answers for a policy that does not exist.
NO_POLICY = ("NotFoundException",)
#: S3-managed keys (SSE-S3): the provider's, named by no key resource.
SSE_S3 = {"at_rest": True, "algorithm": "AES256", "key": None, "key_manager": "provider"}


def collect_region(account: Account, region: str, keys: KeyDirectory) -> list[Resource]:
    """The tables of every table bucket of ``region``. Raises ApiFailure when the buckets, or
    one bucket's tables, cannot be listed."""
    reader = _Reader(account, region, keys, account.client("s3tables", region))
    buckets = where_offered(account, region,
                            lambda: list(pages(reader.client, "ListTableBuckets", "tableBuckets")))
    return [table for bucket in buckets for table in reader.bucket(bucket)]


#: A policy document, None when there is none, or the failure that kept it unread.
Policy = str | ApiFailure | None


@dataclass(frozen=True)
class _Reader:
    """One region's reads."""

    account: Account
    region: str
    keys: KeyDirectory
    client: Any

    def bucket(self, bucket: dict[str, Any]) -> list[Resource]:
        arn, what = str(bucket["arn"]), f"table bucket {bucket['name']}"
        policy = self.policy("GetTableBucketPolicy", what, arn, tableBucketARN=arn)
        tags = self.tags(arn, what) or {}
        return [self.table(bucket, policy, tags, table)
                for table in pages(self.client, "ListTables", "tables", tableBucketARN=arn)]

    def table(self, bucket: dict[str, Any], bucket_policy: Policy, bucket_tags: dict[str, str],
              table: dict[str, Any]) -> Resource:
        arn = str(table["tableARN"])
        namespace = ".".join(str(n) for n in table.get("namespace") or ())
        where = {"tableBucketARN": bucket["arn"], "namespace": namespace, "name": table["name"]}
        name = f"{bucket['name']}/{namespace}/{table['name']}"
        what = f"S3 table {name}"
        attributes: dict[str, Any] = {}
        raw: dict[str, Any] = {"bucket": jsonable(bucket), **jsonable(table)}
        try:
            answer = call(self.client, "GetTableEncryption", **where) or {}
            found = answer.get("encryptionConfiguration") or {}
            raw["encryptionConfiguration"] = found
            attributes["encryption"] = encryption(found, self.keys, self.region, self.account.account_id)
        except ApiFailure as failure:
            self.failed(failure, f"{what} encryption", arn)
        own_policy = self.policy("GetTablePolicy", what, arn, **where)
        if not isinstance(bucket_policy, ApiFailure) and not isinstance(own_policy, ApiFailure):
            document = combined(bucket_policy, own_policy)
            exposed = policy_stores.exposure(self.account, self.region, arn=arn, document=document, what=what,
                                             types=TYPES, service="s3tables", operation="GetTablePolicy",
                                             kind=KIND)
            policy_stores.with_policy(attributes, raw, exposed, document)
        tags = merge_tags(bucket_tags, self.tags(arn, what) or {})
        return self.account.resource(arn, TABLE, KIND, region=self.region, name=name, attributes=attributes,
                                     tags=tags, raw=raw)

    def policy(self, operation: str, what: str, resource_id: str, **params: Any) -> Policy:
        try:
            answer = call(self.client, operation, absent=NO_POLICY, **params) or {}
            return answer.get("resourcePolicy") or None
        except ApiFailure as failure:
            self.failed(failure, f"{what} policy", resource_id)
            return failure

    def tags(self, arn: str, what: str) -> dict[str, str] | None:
        try:
            listed = (call(self.client, "ListTagsForResource", resourceArn=arn) or {}).get("tags") or {}
        except ApiFailure as failure:
            self.failed(failure, f"{what} tags", arn)
            return None
        return {str(k): str(v) for k, v in listed.items()}

    def failed(self, failure: ApiFailure, what: str, resource_id: str) -> None:
        self.account.failed(failure, what, kinds=(KIND,), types=TYPES, region=self.region,
                            resource_id=resource_id)


def combined(*documents: str | None) -> str | None:
    """The bucket's and the table's policies as one document (None when neither exists). Text
    that does not parse as JSON is returned as is, for its error to be reported."""
    present = [d for d in documents if d]
    if len(present) <= 1:
        return present[0] if present else None
    statements: list[Any] = []
    for document in present:
        try:
            found = json.loads(document)["Statement"]
        except (ValueError, KeyError, TypeError):
            return document
        statements += found if isinstance(found, list) else [found]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def encryption(config: dict[str, Any], keys: KeyDirectory, region: str, own_account: str) -> dict[str, Any]:
    """``aws:kms`` under the key named, else S3-managed keys (every table is encrypted)."""
    if config.get("sseAlgorithm") == "aws:kms":
        key = config.get("kmsKeyArn")
        return keys.encryption(True, str(key) if key else None, region, own_account)
    return dict(SSE_S3)


store_access = policy_stores.store_access(s3_table_facets)

__all__ = ["OPERATIONS", "TYPES", "collect_region", "combined", "encryption", "store_access"]
