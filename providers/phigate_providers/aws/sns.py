"""SNS topics as ``stream`` stores: a topic keeps a message only until it is delivered, but it
carries patient data to every subscriber.

Encryption at rest is SSE-KMS under the key the topic names (``KmsMasterKeyId``;
``alias/aws/sns`` is the AWS-managed one); a topic naming none stores its messages unencrypted
by SNS's own account. The topic policy gives its public exposure and, to the access analysis,
the accounts it lets subscribe (:mod:`.policy_stores`).

A topic whose attributes cannot be read is yielded without encryption and exposure, its error
recorded; one whose tags cannot be read is yielded untagged with an error.
"""

from __future__ import annotations

from typing import Any

from phigate.api import Resource
from phigate_providers.aws import policy_stores
from phigate_providers.aws.calls import ApiFailure, call, pages
from phigate_providers.aws.context import Account, jsonable, tag_map
from phigate_providers.aws.kms import KeyDirectory
from phigate_providers.aws.read_actions import topic_facets
from phigate_providers.aws.tag_index import store_tags

TOPIC = "aws.sns.topic"
TYPES = (TOPIC,)
OPERATIONS = {
    ("sns", "ListTopics"): "sns:ListTopics",
    ("sns", "GetTopicAttributes"): "sns:GetTopicAttributes",
    ("sns", "ListTagsForResource"): "sns:ListTagsForResource",
}
AWS_MANAGED_KEY = "alias/aws/sns"


def collect_region(account: Account, region: str, keys: KeyDirectory) -> list[Resource]:
    """The topics of ``region``. Raises ApiFailure when they cannot be listed."""
    client = account.client("sns", region)
    return [_topic(account, region, keys, client, str(item["TopicArn"]))
            for item in pages(client, "ListTopics", "Topics")]


def _topic(account: Account, region: str, keys: KeyDirectory, client: Any, arn: str) -> Resource:
    name = arn.rsplit(":", 1)[-1]
    what = f"SNS topic {name}"
    attributes: dict[str, Any] = {}
    raw: dict[str, Any] = {}
    try:
        response = call(client, "GetTopicAttributes", TopicArn=arn)
        assert response is not None
        found: dict[str, Any] = response.get("Attributes") or {}
        key = found.get("KmsMasterKeyId")
        attributes["encryption"] = keys.encryption(bool(key), str(key) if key else None, region,
                                                   account.account_id, default=AWS_MANAGED_KEY)
        document = found.get("Policy")
        raw.update({k: v for k, v in jsonable(found).items() if k != "Policy"})
        exposed = policy_stores.exposure(account, region, arn=arn, document=document, what=what, types=TYPES,
                                         service="sns", operation="GetTopicAttributes")
        policy_stores.with_policy(attributes, raw, exposed, document)
    except ApiFailure as failure:
        account.failed(failure, f"{what} attributes", kinds=(policy_stores.KIND,), types=TYPES, region=region,
                       resource_id=arn)
    tags: dict[str, str] = {}
    try:
        tags = store_tags(account, region, arn, lambda: tag_map(
            (call(client, "ListTagsForResource", ResourceArn=arn) or {}).get("Tags")))
    except ApiFailure as failure:
        account.failed(failure, f"{what} tags", kinds=(policy_stores.KIND,), types=TYPES, region=region,
                       resource_id=arn)
    return account.resource(arn, TOPIC, policy_stores.KIND, region=region, name=name, attributes=attributes,
                            tags=tags, raw=raw)


store_access = policy_stores.store_access(topic_facets)

__all__ = ["OPERATIONS", "TYPES", "collect_region", "store_access"]
