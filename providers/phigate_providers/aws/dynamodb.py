"""DynamoDB tables as ``table`` resources."""

from __future__ import annotations

from concurrent.futures import Executor
from typing import Any

from phigate.api import Resource
from phigate_providers.aws.access import PolicyDocument, PolicySyntaxError, parse_policy, public_grants
from phigate_providers.aws.calls import ApiFailure, call, pages
from phigate_providers.aws.context import Account, jsonable, tag_map
from phigate_providers.aws.kms import KeyDirectory

TABLE_TYPES = ("aws.dynamodb.table",)


def list_tables(account: Account, region: str) -> list[str]:
    return list(pages(account.client("dynamodb", region), "ListTables", "TableNames"))


def collect_region(
    account: Account, region: str, names: list[str], keys: KeyDirectory, pool: Executor
) -> list[tuple[Resource | None, PolicyDocument | None, bool]]:
    """Each table (None when unreadable, with an error recorded), its resource policy, and
    whether that policy is known (read, or known to be absent)."""
    return list(pool.map(lambda name: _table(account, region, name, keys), names))


def _table(
    account: Account, region: str, name: str, keys: KeyDirectory
) -> tuple[Resource | None, PolicyDocument | None, bool]:
    client = account.client("dynamodb", region)
    arn = account.arn("dynamodb", region, f"table/{name}")
    try:
        described = call(client, "DescribeTable", TableName=name)
        assert described is not None
        table = described["Table"]
        arn = table.get("TableArn", arn)
        tags = tag_map(list(pages(client, "ListTagsOfResource", "Tags", ResourceArn=arn)))
    except ApiFailure as failure:
        account.failed(
            failure,
            f"DynamoDB table {name}",
            kinds=("table",),
            types=TABLE_TYPES,
            region=region,
            resource_id=arn,
        )
        return None, None, False
    attributes: dict[str, Any] = {"encryption": encryption(account, region, table, keys), "schema": None}
    policy: PolicyDocument | None = None
    known = False
    try:
        response = call(
            client,
            "GetResourcePolicy",
            absent=("PolicyNotFoundException", "ResourceNotFoundException"),
            ResourceArn=arn,
        )
        grants: list[str] = []
        if response is not None and response.get("Policy"):
            policy = parse_policy(response["Policy"])
            grants = list(public_grants(policy))
        attributes["public_access"] = {"blocked": not grants, "grants": grants}
        known = True
    except (ApiFailure, PolicySyntaxError) as exc:
        account.failed(
            exc if isinstance(exc, ApiFailure) else ApiFailure("dynamodb", "GetResourcePolicy", str(exc)),
            f"DynamoDB table {name} resource policy",
            kinds=("table",),
            types=TABLE_TYPES,
            region=region,
            resource_id=arn,
        )
    raw = jsonable(table)
    replicas = replica_arns(account, region, name, table)
    if replicas:
        raw["source"] = replicas
    resource = account.resource(
        arn,
        "aws.dynamodb.table",
        "table",
        region=region,
        name=name,
        attributes=attributes,
        tags=tags,
        raw=raw,
    )
    return resource, policy, known


def replica_arns(account: Account, region: str, name: str, table: dict[str, Any]) -> list[str]:
    """The other replicas of a global table (``Replicas``: tables of the same name in other
    regions, holding the same items, each tagged on its own): a replica carries their tags
    (:mod:`.copies`), so an untagged replica of a clinical table is clinical where it lies."""
    return [account.arn("dynamodb", str(r["RegionName"]), f"table/{name}")
            for r in table.get("Replicas") or () if r.get("RegionName") and r["RegionName"] != region]


def encryption(account: Account, region: str, table: dict[str, Any], keys: KeyDirectory) -> dict[str, Any]:
    """A table's (or its backup's) encryption from its ``SSEDescription``."""
    sse = table.get("SSEDescription") or {}
    if sse.get("Status") not in ("ENABLED", "UPDATING") or sse.get("SSEType") != "KMS":
        # No SSE description: encrypted with an AWS-owned key, always on.
        return {"at_rest": True, "algorithm": "AES256", "key": None, "key_manager": "provider"}
    ref = sse.get("KMSMasterKeyArn") or "alias/aws/dynamodb"
    encryption: dict[str, Any] = {"at_rest": True, "algorithm": "aws:kms", "key": keys.arn(ref, region)}
    manager = keys.manager(ref, region, account.account_id)
    if manager is not None:
        encryption["key_manager"] = manager
    return encryption


__all__ = ["TABLE_TYPES", "collect_region", "encryption", "list_tables", "replica_arns"]
