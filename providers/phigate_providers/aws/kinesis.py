"""Kinesis data streams and Firehose delivery streams as ``stream`` stores: records from devices
and applications, patient data among them, held for hours or days.

A data stream is encrypted when ``EncryptionType`` is ``KMS``, under ``KeyId``
(``alias/aws/kinesis`` is the AWS-managed key), and unencrypted otherwise. Its resource policy
gives its public exposure and, to the access analysis, the accounts it lets read
(:mod:`.policy_stores`). A delivery stream is encrypted under a key of the customer
(``CUSTOMER_MANAGED_CMK``) or one Firehose owns (``AWS_OWNED_CMK``), and unencrypted otherwise.
One reading from a data stream stores nothing at rest (AWS: the data stays in the data stream,
judged there): it is not a store and is not yielded. A delivery stream has no resource policy
and no read API: never public, and read where it delivers.

A stream whose encryption, policy or tags cannot be read is yielded without them, its error
recorded.
"""

from __future__ import annotations

from typing import Any

from phigate.api import Resource
from phigate_providers.aws import policy_stores
from phigate_providers.aws.calls import ApiFailure, call
from phigate_providers.aws.context import Account, jsonable, tag_map
from phigate_providers.aws.kms import KeyDirectory
from phigate_providers.aws.read_actions import data_stream_facets
from phigate_providers.aws.tag_index import store_tags

DATA_STREAM, DELIVERY_STREAM = "aws.kinesis.stream", "aws.firehose.delivery_stream"
TYPES = (DATA_STREAM,)
FIREHOSE_TYPES = (DELIVERY_STREAM,)
OPERATIONS = {
    ("kinesis", "ListStreams"): "kinesis:ListStreams",
    ("kinesis", "DescribeStreamSummary"): "kinesis:DescribeStreamSummary",
    ("kinesis", "ListTagsForStream"): "kinesis:ListTagsForStream",
    ("kinesis", "GetResourcePolicy"): "kinesis:GetResourcePolicy",
}
FIREHOSE_OPERATIONS = {
    ("firehose", "ListDeliveryStreams"): "firehose:ListDeliveryStreams",
    ("firehose", "DescribeDeliveryStream"): "firehose:DescribeDeliveryStream",
    ("firehose", "ListTagsForDeliveryStream"): "firehose:ListTagsForDeliveryStream",
}
AWS_MANAGED_KEY = "alias/aws/kinesis"
KIND = policy_stores.KIND


def collect_region(account: Account, region: str, keys: KeyDirectory) -> list[Resource]:
    """The data streams of ``region``. Raises ApiFailure when they cannot be listed."""
    client = account.client("kinesis", region)
    return [_data_stream(account, region, keys, client, name) for name in _stream_names(client)]


def _stream_names(client: Any) -> list[str]:
    """Every data stream's name. A page says ``HasMoreStreams``; the next one is asked by its
    ``NextToken`` or, where none is given (the older form, which some endpoints keep), by the
    last name seen: a stream past the first page is never left out unseen."""
    names: list[str] = []
    start: dict[str, str] = {}
    while True:
        listed = call(client, "ListStreams", **start) or {}
        found = [str(n) for n in listed.get("StreamNames") or ()]
        names += found
        if not listed.get("HasMoreStreams") or not (listed.get("NextToken") or found):
            return names
        start = ({"NextToken": str(listed["NextToken"])} if listed.get("NextToken")
                 else {"ExclusiveStartStreamName": found[-1]})


def _data_stream(account: Account, region: str, keys: KeyDirectory, client: Any, name: str) -> Resource:
    arn = account.arn("kinesis", region, f"stream/{name}")
    what = f"Kinesis stream {name}"
    attributes: dict[str, Any] = {}
    raw: dict[str, Any] = {}
    try:
        described = call(client, "DescribeStreamSummary", StreamName=name) or {}
        summary = described.get("StreamDescriptionSummary") or {}
        arn = str(summary.get("StreamARN") or arn)
        encrypted = summary.get("EncryptionType") == "KMS"
        key = summary.get("KeyId") if encrypted else None
        attributes["encryption"] = keys.encryption(encrypted, key, region, account.account_id,
                                                   default=AWS_MANAGED_KEY)
        raw.update(jsonable(summary))
    except ApiFailure as failure:
        account.failed(failure, f"{what} encryption", kinds=(KIND,), types=TYPES, region=region,
                       resource_id=arn)
    try:
        document = (call(client, "GetResourcePolicy", ResourceARN=arn) or {}).get("Policy") or None
        if document is not None and not document.strip("{} \n"):
            document = None  # "{}": no policy
        exposed = policy_stores.exposure(account, region, arn=arn, document=document, what=what, types=TYPES,
                                         service="kinesis", operation="GetResourcePolicy")
        policy_stores.with_policy(attributes, raw, exposed, document)
    except ApiFailure as failure:
        account.failed(failure, f"{what} policy", kinds=(KIND,), types=TYPES, region=region, resource_id=arn)
    tags: dict[str, str] = {}
    try:
        tags = store_tags(account, region, arn, lambda: tag_map(
            (call(client, "ListTagsForStream", StreamName=name) or {}).get("Tags")))
    except ApiFailure as failure:
        account.failed(failure, f"{what} tags", kinds=(KIND,), types=TYPES, region=region, resource_id=arn)
    return account.resource(arn, DATA_STREAM, KIND, region=region, name=name, attributes=attributes,
                            tags=tags, raw=raw)


store_access = policy_stores.store_access(data_stream_facets)


def collect_delivery_region(account: Account, region: str, keys: KeyDirectory) -> list[Resource]:
    """The delivery streams of ``region``. Raises ApiFailure when they cannot be listed."""
    client = account.client("firehose", region)
    names: list[str] = []
    more, start = True, dict[str, str]()
    while more:  # the listing pages by the last name, with no paginator
        listed = call(client, "ListDeliveryStreams", Limit=100, **start) or {}
        found = [str(n) for n in listed.get("DeliveryStreamNames") or ()]
        names += found
        more = bool(listed.get("HasMoreDeliveryStreams")) and bool(found)
        start = {"ExclusiveStartDeliveryStreamName": found[-1]} if found else {}
    streams = [_delivery_stream(account, region, keys, client, name) for name in names]
    return [r for r in streams if r is not None]


def _delivery_stream(account: Account, region: str, keys: KeyDirectory, client: Any,
                     name: str) -> Resource | None:
    arn = account.arn("firehose", region, f"deliverystream/{name}")
    what = f"Firehose delivery stream {name}"
    attributes: dict[str, Any] = {"public_access": {"blocked": True, "grants": []}}
    raw: dict[str, Any] = {}
    try:
        described = (call(client, "DescribeDeliveryStream", DeliveryStreamName=name) or {}).get(
            "DeliveryStreamDescription") or {}
        arn = str(described.get("DeliveryStreamARN") or arn)
        if described.get("DeliveryStreamType") == "KinesisStreamAsSource":
            return None  # stores nothing: its data stream does
        raw.update({k: v for k, v in jsonable(described).items() if k != "Destinations"})
        attributes["encryption"] = _delivery_encryption(described, keys, region, account.account_id)
    except ApiFailure as failure:
        account.failed(failure, f"{what} encryption", kinds=(KIND,), types=FIREHOSE_TYPES, region=region,
                       resource_id=arn)
    tags: dict[str, str] = {}
    try:
        tags = store_tags(account, region, arn, lambda: tag_map(
            (call(client, "ListTagsForDeliveryStream", DeliveryStreamName=name) or {}).get("Tags")))
    except ApiFailure as failure:
        account.failed(failure, f"{what} tags", kinds=(KIND,), types=FIREHOSE_TYPES, region=region,
                       resource_id=arn)
    return account.resource(arn, DELIVERY_STREAM, KIND, region=region, name=name, attributes=attributes,
                            tags=tags, raw=raw)


def _delivery_encryption(described: dict[str, Any], keys: KeyDirectory, region: str,
                         own_account: str) -> dict[str, Any]:
    config = described.get("DeliveryStreamEncryptionConfiguration") or {}
    if config.get("Status") in ("ENABLED", "ENABLING"):
        if config.get("KeyType") == "CUSTOMER_MANAGED_CMK":
            return keys.encryption(True, config.get("KeyARN"), region, own_account)
        return {"at_rest": True, "algorithm": "aws:kms", "key": None, "key_manager": "provider"}
    return keys.encryption(False, None, region, own_account)


__all__ = ["FIREHOSE_OPERATIONS", "FIREHOSE_TYPES", "OPERATIONS", "TYPES", "collect_delivery_region",
           "collect_region", "store_access"]
