"""SQS queues as ``stream`` stores: messages wait in them, patient data included.

Encryption at rest is SSE-KMS when the queue names a key (``KmsMasterKeyId``; ``alias/aws/sqs``
is the AWS-managed one), SSE-SQS when ``SqsManagedSseEnabled`` is true (keys SQS owns: the
provider's, named by no key resource), and none otherwise. The queue policy gives its public
exposure and, to the access analysis, the accounts it lets in (:mod:`.policy_stores`).

A queue whose attributes cannot be read is yielded without encryption and exposure, its error
recorded; one whose tags cannot be read is yielded untagged with an error, so its class is
undecided rather than taken from nothing.
"""

from __future__ import annotations

from typing import Any

from phigate.api import Resource
from phigate_providers.aws import policy_stores
from phigate_providers.aws.calls import ApiFailure, call, pages
from phigate_providers.aws.context import Account, jsonable
from phigate_providers.aws.kms import KeyDirectory
from phigate_providers.aws.read_actions import queue_facets
from phigate_providers.aws.tag_index import store_tags

QUEUE = "aws.sqs.queue"
TYPES = (QUEUE,)
OPERATIONS = {
    ("sqs", "ListQueues"): "sqs:ListQueues",
    ("sqs", "GetQueueAttributes"): "sqs:GetQueueAttributes",
    ("sqs", "ListQueueTags"): "sqs:ListQueueTags",
}
AWS_MANAGED_KEY = "alias/aws/sqs"


def collect_region(account: Account, region: str, keys: KeyDirectory) -> list[Resource]:
    """The queues of ``region``. Raises ApiFailure when they cannot be listed."""
    client = account.client("sqs", region)
    return [_queue(account, region, keys, client, str(url))
            for url in pages(client, "ListQueues", "QueueUrls")]


def _queue(account: Account, region: str, keys: KeyDirectory, client: Any, url: str) -> Resource:
    name = url.rstrip("/").rsplit("/", 1)[-1]
    arn = account.arn("sqs", region, name)
    what = f"SQS queue {name}"
    attributes: dict[str, Any] = {}
    raw: dict[str, Any] = {"QueueUrl": url}
    try:
        response = call(client, "GetQueueAttributes", QueueUrl=url, AttributeNames=["All"])
        assert response is not None
        found: dict[str, Any] = response.get("Attributes") or {}
        arn = str(found.get("QueueArn") or arn)
        document = found.get("Policy")
        attributes["encryption"] = encryption(found, keys, region, account.account_id)
        raw.update({k: v for k, v in jsonable(found).items() if k != "Policy"})
        exposed = policy_stores.exposure(account, region, arn=arn, document=document, what=what, types=TYPES,
                                         service="sqs", operation="GetQueueAttributes")
        policy_stores.with_policy(attributes, raw, exposed, document)
    except ApiFailure as failure:
        account.failed(failure, f"{what} attributes", kinds=(policy_stores.KIND,), types=TYPES, region=region,
                       resource_id=arn)
    tags: dict[str, str] = {}
    try:
        tags = store_tags(account, region, arn,
                          lambda: _mapping(call(client, "ListQueueTags", QueueUrl=url), "Tags"))
    except ApiFailure as failure:
        account.failed(failure, f"{what} tags", kinds=(policy_stores.KIND,), types=TYPES, region=region,
                       resource_id=arn)
    return account.resource(arn, QUEUE, policy_stores.KIND, region=region, name=name, attributes=attributes,
                            tags=tags, raw=raw)


def _mapping(response: dict[str, Any] | None, key: str) -> dict[str, str]:
    return {str(k): str(v) for k, v in ((response or {}).get(key) or {}).items()}


def encryption(found: dict[str, Any], keys: KeyDirectory, region: str, own_account: str) -> dict[str, Any]:
    """SSE-KMS under the key named, SSE-SQS under keys SQS owns, or none."""
    key = found.get("KmsMasterKeyId")
    if key:
        return keys.encryption(True, str(key), region, own_account, default=AWS_MANAGED_KEY)
    if str(found.get("SqsManagedSseEnabled", "")).lower() == "true":
        return {"at_rest": True, "algorithm": "SSE-SQS", "key": None, "key_manager": "provider"}
    return keys.encryption(False, None, region, own_account)


store_access = policy_stores.store_access(queue_facets)

__all__ = ["OPERATIONS", "TYPES", "collect_region", "encryption", "store_access"]
