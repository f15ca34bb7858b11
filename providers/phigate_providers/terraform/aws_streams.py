"""SQS queues, SNS topics, CloudWatch Logs log groups, Kinesis data streams and Firehose delivery
streams of a plan, as the AWS provider reads them live (:mod:`phigate_providers.aws.sqs`,
``.sns``, ``.logs``, ``.kinesis``): ``stream`` stores with the same types, encryption, exposure
and ways in for the access analysis.

Encryption follows the services' documented behaviour: a queue naming a key is SSE-KMS, else
SSE-SQS unless ``sqs_managed_sse_enabled = false`` (SQS encrypts new queues by default since
October 2022); a topic is unencrypted unless it names a key; a log group is always encrypted (by
keys CloudWatch Logs owns when it names none); a data stream only with ``encryption_type =
"KMS"``; a delivery stream only with an enabled ``server_side_encryption`` block (a key Firehose
owns unless ``key_type = "CUSTOMER_MANAGED_CMK"``). A delivery stream reading from a data stream
stores nothing (its data stream does): it is not yielded, as live.

Exposure is the store's resource policy: its own attribute (``policy``) together with the policy
resources naming it (``aws_sqs_queue_policy``, ``aws_sns_topic_policy``,
``aws_kinesis_resource_policy``; for log groups the ``aws_cloudwatch_log_resource_policy``
documents of their region whose statements cover the group, as live). A topic created without
a policy gets SNS's default one (everyone, on condition of the owner account), as live reads it.
"""

from __future__ import annotations

import json
from typing import Any

from phigate.api import Unknown
from phigate_providers.aws.arn import has_wildcard
from phigate_providers.aws.policydoc import PolicyDocument, parse_policy
from phigate_providers.aws.read_actions import (
    data_stream_facets,
    log_group_facets,
    queue_facets,
    topic_facets,
)
from phigate_providers.aws.store_policies import covering
from phigate_providers.terraform.aws_stores import add_store
from phigate_providers.terraform.context import Context
from phigate_providers.terraform.iam import PLACEHOLDER_ACCOUNT, StoreFacts, account_of
from phigate_providers.terraform.keys import DEFAULT, KeyBook, encryption
from phigate_providers.terraform.plan import PlannedResource
from phigate_providers.terraform.store_joins import Joins, join, named_by
from phigate_providers.terraform.store_values import (
    block,
    combined,
    document,
    exposure,
    facts_of,
    flag,
    text,
    undecided,
    wrong_type,
)
from phigate_providers.terraform.values import after_apply, is_unknown, value

QUEUE, QUEUE_POLICY = "aws_sqs_queue", "aws_sqs_queue_policy"
TOPIC, TOPIC_POLICY = "aws_sns_topic", "aws_sns_topic_policy"
LOG_GROUP, LOG_POLICY = "aws_cloudwatch_log_group", "aws_cloudwatch_log_resource_policy"
DATA_STREAM, STREAM_POLICY = "aws_kinesis_stream", "aws_kinesis_resource_policy"
DELIVERY_STREAM = "aws_kinesis_firehose_delivery_stream"
STORES = frozenset({QUEUE, TOPIC, LOG_GROUP, DATA_STREAM, DELIVERY_STREAM})
TYPES = frozenset({*STORES, QUEUE_POLICY, TOPIC_POLICY, LOG_POLICY, STREAM_POLICY})
KIND = "stream"
#: Keys the services own: encrypted, under no key resource.
SSE_SQS = {"at_rest": True, "algorithm": "SSE-SQS", "key": None, "key_manager": "provider"}
LOGS_OWNED = {"at_rest": True, "algorithm": "AES256", "key": None, "key_manager": "provider"}
FIREHOSE_OWNED = {"at_rest": True, "algorithm": "aws:kms", "key": None, "key_manager": "provider"}


def collect(context: Context, keys: KeyBook) -> tuple[list[StoreFacts], list[str]]:
    """Every planned stream store; how the access analysis reads them; the policy resources
    naming stores outside the plan."""
    facts: list[StoreFacts] = []
    queue_joins = join(context, QUEUE_POLICY, "queue_url", {QUEUE}, named_by("url", "id", "name", tail="/"))
    topic_joins = join(context, TOPIC_POLICY, "arn", {TOPIC}, named_by("arn", "id"))
    stream_joins = join(context, STREAM_POLICY, "resource_arn", {DATA_STREAM}, named_by("arn", "id"))
    for planned in context.plan.by_type.get(QUEUE, ()):
        facts += _store(context, planned, "aws.sqs.queue", _queue_encryption(keys, planned), queue_joins,
                        own="policy", arn=_arn(context, planned, "sqs", ""), facets=queue_facets)
    for planned in context.plan.by_type.get(TOPIC, ()):
        facts += _store(context, planned, "aws.sns.topic", _named_key(keys, planned, "kms_master_key_id"),
                        topic_joins, own="policy", arn=_arn(context, planned, "sns", ""), facets=topic_facets)
    for planned in context.plan.by_type.get(DATA_STREAM, ()):
        facts += _store(context, planned, "aws.kinesis.stream", _stream_encryption(keys, planned),
                        stream_joins, own=None, arn=_arn(context, planned, "kinesis", "stream/"),
                        facets=data_stream_facets)
    groups, group_orphans = _log_groups(context, keys)
    for planned in context.plan.by_type.get(DELIVERY_STREAM, ()):
        _delivery_stream(context, keys, planned)
    orphans = queue_joins.orphans + topic_joins.orphans + stream_joins.orphans + group_orphans
    return facts + groups, orphans


def _arn(context: Context, planned: PlannedResource, service: str, prefix: str) -> Any:
    """The store's ARN; while it is known only after apply, that of its name in any account
    (the account is not in the plan); Unknown when the name is too."""
    arn = value(planned, ("arn",))
    if isinstance(arn, str) and arn.startswith("arn:"):
        return arn
    name = value(planned, ("name",))
    if not isinstance(name, str) or not name:
        return after_apply(f"{planned.address}: its name")
    return f"arn:aws:{service}:{context.region(planned) or '*'}:*:{prefix}{name}"


def _store(context: Context, planned: PlannedResource, rtype: str, encrypted: dict[str, Any], joins: Joins, *,
           own: str | None, arn: Any, facets: Any) -> list[StoreFacts]:
    joined = joins.of(planned)
    documents = [document(p, ("policy",)) for p in joined]
    if own is not None:
        documents.append(_own_policy(context, planned, own, replaced=bool(joined)))
    policy = combined([*documents, joins.undecided])
    attributes = {"encryption": encrypted, "public_access": exposure(policy)}
    resource = add_store(context, planned, rtype, KIND, attributes, *joined)
    if resource is None:
        return []
    return [facts_of(resource, planned, arn, policy, facets)]


def _own_policy(context: Context, planned: PlannedResource, attribute: str, *,
                replaced: bool) -> PolicyDocument | Unknown | None:
    """The store's own policy attribute; for a topic created without one, SNS's default policy,
    unless a topic policy resource of the plan replaces it."""
    found = document(planned, (attribute,))
    if planned.type == TOPIC and is_unknown(found) and _created_without(context, planned, attribute):
        if replaced:
            return None
        arn = _arn(context, planned, "sns", "")
        account = account_of(context) or PLACEHOLDER_ACCOUNT
        resource = arn if isinstance(arn, str) else f"arn:aws:sns:{context.region(planned) or '*'}:*:*"
        return parse_policy(_default_topic_policy(resource, account), name=f"{planned.address} (SNS default)")
    return found


def _default_topic_policy(arn: str, account: str) -> dict[str, Any]:
    """The policy SNS gives a topic created without one: the owner account's, as the live reader
    reads it back."""
    return {"Version": "2008-10-17", "Id": "__default_policy_ID", "Statement": [{
        "Sid": "__default_statement_ID", "Effect": "Allow", "Principal": {"AWS": "*"},
        "Action": ["SNS:GetTopicAttributes", "SNS:SetTopicAttributes", "SNS:AddPermission",
                   "SNS:RemovePermission", "SNS:DeleteTopic", "SNS:Subscribe", "SNS:ListSubscriptionsByTopic",
                   "SNS:Publish"],
        "Resource": arn, "Condition": {"StringEquals": {"AWS:SourceOwner": account}}}]}


def _created_without(context: Context, planned: PlannedResource, attribute: str) -> bool:
    return ("create" in planned.actions and context.plan.has_configuration
            and attribute not in planned.expressions)


def _named_key(keys: KeyBook, planned: PlannedResource, attribute: str) -> dict[str, Any]:
    """Encrypted under the key ``attribute`` names (an AWS-managed alias included), else not."""
    key = value(planned, (attribute,))
    if key is None or key == "":
        return encryption(False, None, DEFAULT)
    if not isinstance(key, str) and not is_unknown(key):
        return undecided(wrong_type(planned, (attribute,), "a key ARN, id or alias", key))
    return encryption(True, "aws:kms", keys.choose(planned, (attribute,)))


def _queue_encryption(keys: KeyBook, planned: PlannedResource) -> dict[str, Any]:
    if text(planned, ("kms_master_key_id",)) is not None:
        return _named_key(keys, planned, "kms_master_key_id")
    sse = flag(planned, ("sqs_managed_sse_enabled",), True)  # SQS's default for new queues
    if is_unknown(sse):
        return undecided(sse)
    return dict(SSE_SQS) if sse else encryption(False, None, DEFAULT)


def _stream_encryption(keys: KeyBook, planned: PlannedResource) -> dict[str, Any]:
    kind = text(planned, ("encryption_type",))
    if is_unknown(kind):
        return undecided(kind)
    if kind in (None, "NONE"):
        return encryption(False, None, DEFAULT)
    if kind != "KMS":
        return undecided(wrong_type(planned, ("encryption_type",), '"KMS" or "NONE"', kind))
    if text(planned, ("kms_key_id",)) is None:
        return undecided(Unknown(f"{planned.address}.kms_key_id: KMS encryption without a key"))
    return _named_key(keys, planned, "kms_key_id")


def _log_groups(context: Context, keys: KeyBook) -> tuple[list[StoreFacts], list[str]]:
    """Log groups with the statements of the plan's log resource policies that cover them: a
    policy scoped to one group (``resource_arn``) applies to it; an account policy to every
    group of its region its statements name."""
    scoped = join(context, LOG_POLICY, "resource_arn", {LOG_GROUP},
                  named_by("arn", "name", tail="log-group:"), optional=True)
    shared = [(p, _statements(p)) for p in context.plan.by_type.get(LOG_POLICY, ())
              if value(p, ("resource_arn",)) is None and "resource_arn" not in p.expressions]
    facts: list[StoreFacts] = []
    account = account_of(context)
    for planned in context.plan.by_type.get(LOG_GROUP, ()):
        key = value(planned, ("kms_key_id",))
        encrypted = LOGS_OWNED if key in (None, "") else _named_key(keys, planned, "kms_key_id")
        arn = _group_arn(context, planned, account)
        region = context.region(planned)
        reason: Unknown | None = scoped.undecided
        sources = list(scoped.of(planned))
        statements: list[dict[str, Any]] = []
        for policy in sources:
            found = _statements(policy)
            if isinstance(found, Unknown):
                reason = reason or found
            else:
                statements += found
        for policy, found in shared:
            if context.region(policy) not in (region, None) and region is not None:
                continue  # an account policy of another region
            if isinstance(found, Unknown):
                reason = reason or found
            elif not isinstance(arn, str):
                if found:
                    reason = reason or Unknown(f"{planned.address}: its name is known only after apply, so "
                                               f"which statements of {policy.address} cover it is not")
            elif applying := [s for s in found if _covers(s, arn)]:
                sources.append(policy)
                statements += applying
        merged: PolicyDocument | Unknown | None = reason
        if reason is None and statements:
            merged = parse_policy({"Version": "2012-10-17", "Statement": statements},
                                  name=f"log resource policies covering {planned.address}")
        attributes = {"encryption": encrypted, "public_access": exposure(merged)}
        resource = add_store(context, planned, "aws.logs.log_group", KIND, attributes, *sources)
        if resource is not None:
            facts.append(facts_of(resource, planned, arn, merged, log_group_facets))
    return facts, scoped.orphans


def _group_arn(context: Context, planned: PlannedResource, account: str | None) -> Any:
    """The group's ARN; its region or account ``*`` where the plan does not tell them."""
    arn = value(planned, ("arn",))
    if isinstance(arn, str) and arn.startswith("arn:"):
        return arn.removesuffix(":*")
    name = value(planned, ("name",))
    if not isinstance(name, str) or not name:
        return after_apply(f"{planned.address}: its name")
    return f"arn:aws:logs:{context.region(planned) or '*'}:{account or '*'}:log-group:{name}"


def _covers(statement: dict[str, Any], group_arn: str) -> bool:
    """The statement may apply to the group. A region or account the plan does not tell is
    each one a statement names, or any other (a ``*`` in an ARN pattern spans colons, so it is
    not matched pattern to pattern)."""
    resources = statement.get("Resource")
    patterns = [str(p) for p in (resources if isinstance(resources, list) else [resources])
                if isinstance(p, str)] if resources is not None else []
    parts = group_arn.split(":", 5)
    regions = {parts[3]} if parts[3] != "*" else {"unnamed-region-1", *_named(patterns, 3)}
    accounts = {parts[4]} if parts[4] != "*" else {"000000000000", *_named(patterns, 4)}
    return any(covering([statement], ":".join([*parts[:3], region, account, parts[5]]))
               for region in regions for account in accounts)


def _named(patterns: list[str], position: int) -> set[str]:
    """The literal values ARN patterns give at ``position`` (region 3, account 4)."""
    return {p.split(":")[position] for p in patterns
            if p.count(":") >= 5 and not has_wildcard(p.split(":")[position])}


def _statements(planned: PlannedResource) -> list[dict[str, Any]] | Unknown:
    """The statements of a log resource policy (its document checked against the grammar)."""
    found = document(planned, ("policy_document",))
    if found is None or is_unknown(found):
        return [] if found is None else found
    data = json.loads(str(value(planned, ("policy_document",))))
    statements = data.get("Statement") if isinstance(data, dict) else None
    if isinstance(statements, dict):
        return [statements]
    return statements if isinstance(statements, list) else []


def _delivery_stream(context: Context, keys: KeyBook, planned: PlannedResource) -> None:
    source = block(planned, "kinesis_source_configuration")
    if source is not None and not is_unknown(source):
        return  # reads from a data stream and stores nothing: the data stream is the store
    sse = block(planned, "server_side_encryption")
    encrypted: dict[str, Any]
    if is_unknown(sse):
        encrypted = undecided(sse)
    elif sse is None:
        encrypted = encryption(False, None, DEFAULT)
    else:
        enabled = flag(planned, ("server_side_encryption", 0, "enabled"), False)
        kind = text(planned, ("server_side_encryption", 0, "key_type"))
        if is_unknown(enabled):
            encrypted = undecided(enabled)
        elif enabled is False:
            encrypted = encryption(False, None, DEFAULT)
        elif is_unknown(kind):
            encrypted = undecided(kind)
        elif kind == "CUSTOMER_MANAGED_CMK":
            chosen = keys.choose(planned, ("server_side_encryption", 0, "key_arn"))
            encrypted = encryption(True, "aws:kms", chosen)
        elif kind in (None, "AWS_OWNED_CMK"):
            encrypted = dict(FIREHOSE_OWNED)
        else:
            encrypted = undecided(wrong_type(planned, ("server_side_encryption", 0, "key_type"),
                                              '"AWS_OWNED_CMK" or "CUSTOMER_MANAGED_CMK"', kind))
    if is_unknown(source):
        encrypted = undecided(source)  # it may store nothing, or be this store
    # No resource policy and no read API: never public, read where it delivers (as live).
    attributes = {"encryption": encrypted, "public_access": {"blocked": True, "grants": []}}
    add_store(context, planned, "aws.firehose.delivery_stream", KIND, attributes)


__all__ = ["STORES", "TYPES", "collect"]
