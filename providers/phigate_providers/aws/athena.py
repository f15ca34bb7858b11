"""Athena workgroups as ``database`` stores: query results are copies of the rows a query
read, patient records included, written where the workgroup says.

A workgroup is a store when it says where its results go: an output location
(``ResultConfiguration.OutputLocation``) or Athena's managed query results. One that says
neither stores nothing of its own (each query names its location, a bucket judged as such) and
is not yielded.

Encryption at rest is the workgroup's result encryption only when it enforces its configuration
(``EnforceWorkGroupConfiguration``): otherwise every query may override the location and the
encryption (``EnableMinimumEncryptionConfiguration`` keeps the algorithm's floor, never the key),
and what is guaranteed is Amazon S3's own floor: every new object encrypted under S3-managed keys
(SSE-S3, the provider's). Enforced, ``SSE_KMS`` and ``CSE_KMS`` encrypt under ``KmsKey``,
``SSE_S3`` and no configuration under S3-managed keys (the output bucket's default key is not
credited: it is judged on the bucket, and may change without the workgroup); managed results
under ``KmsKey`` or a key Athena owns. A workgroup has no resource policy: it is never public;
its results are read by ``athena:GetQueryResults`` under identity policies. Its class is its
tags'; a workgroup whose tags cannot be read is yielded untagged, its error recorded.
"""

from __future__ import annotations

from typing import Any

from phigate.api import Resource
from phigate_providers.aws.calls import ApiFailure, call, token_pages
from phigate_providers.aws.context import Account, jsonable, tag_map
from phigate_providers.aws.kms import KeyDirectory
from phigate_providers.aws.policydoc import PolicyDocument
from phigate_providers.aws.read_actions import Facet, workgroup_facets

WORKGROUP = "aws.athena.workgroup"
TYPES = (WORKGROUP,)
KIND = "database"
OPERATIONS = {
    ("athena", "ListWorkGroups"): "athena:ListWorkGroups",
    ("athena", "GetWorkGroup"): "athena:GetWorkGroup",
    ("athena", "ListTagsForResource"): "athena:ListTagsForResource",
}
KMS_OPTIONS = frozenset({"SSE_KMS", "CSE_KMS"})
#: What S3 guarantees for every new object whatever the writer asks: S3-managed keys.
S3_FLOOR = {"at_rest": True, "algorithm": "AES256", "key": None, "key_manager": "provider"}


def collect_region(account: Account, region: str, keys: KeyDirectory) -> list[Resource]:
    """The workgroups of ``region`` that store results. Raises ApiFailure when they cannot be
    listed."""
    client = account.client("athena", region)
    found: list[Resource] = []
    for name in _names(client):
        try:
            group = (call(client, "GetWorkGroup", WorkGroup=name) or {}).get("WorkGroup") or {}
        except ApiFailure as failure:
            # Whether it stores results is not known: yielded without encryption, never left out.
            arn = account.arn("athena", region, f"workgroup/{name}")
            account.failed(failure, f"Athena workgroup {name}", kinds=(KIND,), types=TYPES, region=region,
                           resource_id=arn)
            group = {"Name": name}
        resource = _workgroup(account, region, keys, client, group, read="Configuration" in group)
        if resource is not None:
            found.append(resource)
    return found


def _names(client: Any) -> list[str]:
    """Every workgroup's name (ListWorkGroups has no paginator in the SDK)."""
    return [str(g["Name"]) for g in token_pages(client, "ListWorkGroups", "WorkGroups")]


def _workgroup(account: Account, region: str, keys: KeyDirectory, client: Any,
               group: dict[str, Any], *, read: bool) -> Resource | None:
    configuration = group.get("Configuration") or {}
    results = configuration.get("ResultConfiguration") or {}
    managed = configuration.get("ManagedQueryResultsConfiguration") or {}
    if read and not results.get("OutputLocation") and not managed.get("Enabled"):
        return None
    name = str(group["Name"])
    arn = account.arn("athena", region, f"workgroup/{name}")
    attributes: dict[str, Any] = {"engine": "athena", "public_access": {"blocked": True, "grants": []}}
    if read:
        attributes["encryption"] = encryption(configuration, keys, region, account.account_id)
    tags: dict[str, str] = {}
    try:
        tags = tag_map((call(client, "ListTagsForResource", ResourceARN=arn) or {}).get("Tags"))
    except ApiFailure as failure:
        account.failed(failure, f"Athena workgroup {name} tags", kinds=(KIND,), types=TYPES, region=region,
                       resource_id=arn)
    return account.resource(arn, WORKGROUP, KIND, region=region, name=name, attributes=attributes, tags=tags,
                            raw=jsonable(group))


def encryption(configuration: dict[str, Any], keys: KeyDirectory, region: str,
               own_account: str) -> dict[str, Any]:
    """The results' encryption the workgroup guarantees (S3's floor unless it enforces its own)."""
    if not configuration.get("EnforceWorkGroupConfiguration"):
        return dict(S3_FLOOR)
    managed = configuration.get("ManagedQueryResultsConfiguration") or {}
    if managed.get("Enabled"):
        key = (managed.get("EncryptionConfiguration") or {}).get("KmsKey")
        if key:
            return keys.encryption(True, str(key), region, own_account)
        return {"at_rest": True, "algorithm": "aws:kms", "key": None, "key_manager": "provider"}
    chosen = (configuration.get("ResultConfiguration") or {}).get("EncryptionConfiguration") or {}
    option = str(chosen.get("EncryptionOption") or "")
    if option in KMS_OPTIONS:
        # No key named is refused by Athena for these options: an unknown key, never a guess.
        key = str(chosen["KmsKey"]) if chosen.get("KmsKey") else None
        found = keys.encryption(True, key, region, own_account)
        return {**found, "algorithm": option}
    return dict(S3_FLOOR)


def store_access(resource: Resource) -> tuple[tuple[Facet, ...], PolicyDocument | None]:
    """Results read under identity policies (a workgroup has no resource policy)."""
    return workgroup_facets(resource.id), None


__all__ = ["OPERATIONS", "TYPES", "collect_region", "encryption", "store_access"]
