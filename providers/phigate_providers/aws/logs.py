"""CloudWatch Logs log groups as ``stream`` stores: applications log what they handle, and a
log line may hold a patient's name or a note.

Log data is always encrypted at rest: under the KMS key the group names (``kmsKeyId``), or else
by CloudWatch Logs with keys it owns (the provider's, named by no key resource), as AWS
documents. A log group's exposure comes from the CloudWatch Logs resource policies: the
account's, read once per region, whose statements name the group (or a pattern covering it), and
the group's own (resource-scoped). They are combined into one document for the public exposure
(``public_access``) and the access analysis (:mod:`.policy_stores`).

A region's account policies that cannot be read leave every group of the region without
``public_access`` (an error each); a group whose own policy or tags cannot be read is yielded
without the exposure, or untagged, its error recorded.
"""

from __future__ import annotations

import json
from typing import Any

from phigate.api import Resource
from phigate_providers.aws import policy_stores
from phigate_providers.aws.calls import ApiFailure, call, pages
from phigate_providers.aws.context import Account, jsonable
from phigate_providers.aws.kms import KeyDirectory
from phigate_providers.aws.policydoc import PolicySyntaxError, parse_policy
from phigate_providers.aws.read_actions import log_group_facets
from phigate_providers.aws.store_policies import covering
from phigate_providers.aws.tag_index import store_tags

LOG_GROUP = "aws.logs.log_group"
TYPES = (LOG_GROUP,)
OPERATIONS = {
    ("logs", "DescribeLogGroups"): "logs:DescribeLogGroups",
    ("logs", "DescribeResourcePolicies"): "logs:DescribeResourcePolicies",
    ("logs", "ListTagsForResource"): "logs:ListTagsForResource",
}
#: The statements of the policies read, or why they were not.
Statements = list[dict[str, Any]] | ApiFailure


def collect_region(account: Account, region: str, keys: KeyDirectory) -> list[Resource]:
    """The log groups of ``region``. Raises ApiFailure when they cannot be listed."""
    client = account.client("logs", region)
    groups = list(pages(client, "DescribeLogGroups", "logGroups"))
    shared = _policy_statements(client, region) if groups else []
    return [_group(account, region, keys, client, item, shared=shared) for item in groups]


def _policy_statements(client: Any, region: str, **scope: str) -> Statements:
    """The statements of the resource policies of the account (or ``scope``'s resource), or
    why they are not known."""
    statements: list[dict[str, Any]] = []
    try:
        for policy in pages(client, "DescribeResourcePolicies", "resourcePolicies", **scope):
            name = f"CloudWatch Logs resource policy {policy.get('policyName')} in {region}"
            document = str(policy.get("policyDocument") or "")
            parse_policy(document, name=name)  # the grammar, checked before its statements are used
            found = json.loads(document).get("Statement") if document else None
            statements += found if isinstance(found, list) else [found] if isinstance(found, dict) else []
    except ApiFailure as failure:
        return failure
    except PolicySyntaxError as exc:
        return ApiFailure("logs", "DescribeResourcePolicies", str(exc))
    return statements


def _group(account: Account, region: str, keys: KeyDirectory, client: Any, item: dict[str, Any], *,
           shared: Statements) -> Resource:
    name = str(item["logGroupName"])
    arn = str(item.get("logGroupArn") or str(item.get("arn") or "").removesuffix(":*")
              or account.arn("logs", region, f"log-group:{name}"))
    what = f"CloudWatch Logs log group {name}"
    key = item.get("kmsKeyId")
    attributes: dict[str, Any] = {
        # Without a key of the customer's, CloudWatch Logs encrypts with keys it owns.
        "encryption": keys.encryption(True, str(key), region, account.account_id) if key else
        {"at_rest": True, "algorithm": "AES256", "key": None, "key_manager": "provider"},
    }
    raw: dict[str, Any] = jsonable(item)
    own = _policy_statements(client, region, resourceArn=arn, policyScope="RESOURCE")
    unread = shared if isinstance(shared, ApiFailure) else own if isinstance(own, ApiFailure) else None
    if unread is not None:
        account.failed(unread, f"{what} resource policies", kinds=(policy_stores.KIND,), types=TYPES,
                       region=region, resource_id=arn)
    else:
        assert not isinstance(shared, ApiFailure) and not isinstance(own, ApiFailure)
        statements = covering(shared + own, arn)
        document = json.dumps({"Version": "2012-10-17", "Statement": statements}) if statements else None
        exposed = policy_stores.exposure(account, region, arn=arn, document=document, what=what, types=TYPES,
                                         service="logs", operation="DescribeResourcePolicies")
        policy_stores.with_policy(attributes, raw, exposed, document)
    tags: dict[str, str] = {}
    try:
        tags = store_tags(account, region, arn, lambda: {
            str(k): str(v) for k, v in
            ((call(client, "ListTagsForResource", resourceArn=arn) or {}).get("tags") or {}).items()})
    except ApiFailure as failure:
        account.failed(failure, f"{what} tags", kinds=(policy_stores.KIND,), types=TYPES, region=region,
                       resource_id=arn)
    return account.resource(arn, LOG_GROUP, policy_stores.KIND, region=region, name=name,
                            attributes=attributes, tags=tags, raw=raw)


store_access = policy_stores.store_access(log_group_facets)

__all__ = ["OPERATIONS", "TYPES", "collect_region", "store_access"]
