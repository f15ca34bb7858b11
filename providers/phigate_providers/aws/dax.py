"""DAX clusters as ``database`` stores: DynamoDB Accelerator caches the items its tables serve.

Encryption at rest is ``SSEDescription.Status``: ``ENABLED`` is under a key DAX owns (DAX takes
no customer key: the provider's, named by no key resource), ``DISABLED`` is none; any other state
(enabling, disabling, not reported) is undecided. ``ClusterEndpointEncryptionType`` decides
``secure_transport_required`` (``TLS``, or ``NONE``: clients connect in clear). A cluster lives
in a VPC: never public. DAX authorises every request with IAM, so its readers are the
principals allowed its item reads on the cluster (it has no resource policy).

DAX is not offered in every region: a region holds no cluster when the SDK's region table does
not list it for DAX and its endpoint there cannot be reached (:mod:`.offered`); every region is
called, so one opened after the SDK was built is read all the same.

A cluster whose tags cannot be read is yielded untagged with an error, so its class is
undecided rather than taken from nothing.
"""

from __future__ import annotations

from typing import Any

from phigate.api import Resource
from phigate_providers.aws.calls import ApiFailure, call, pages
from phigate_providers.aws.context import Account, jsonable, tag_map
from phigate_providers.aws.kms import KeyDirectory
from phigate_providers.aws.offered import where_offered
from phigate_providers.aws.policydoc import PolicyDocument
from phigate_providers.aws.read_actions import Facet, dax_cluster_facets

CLUSTER = "aws.dax.cluster"
TYPES = (CLUSTER,)
KIND = "database"
OPERATIONS = {
    ("dax", "DescribeClusters"): "dax:DescribeClusters",
    ("dax", "ListTags"): "dax:ListTags",
}
#: At-rest states that decide: encrypted or not.
SSE_STATES = {"ENABLED": True, "DISABLED": False}
#: Endpoint encryption types that decide whether clients must use TLS.
ENDPOINT_TLS = {"TLS": True, "NONE": False}


def collect_region(account: Account, region: str, keys: KeyDirectory) -> list[Resource]:
    """The clusters of ``region`` (none where DAX is not offered). Raises ApiFailure when they
    cannot be listed."""
    client = account.client("dax", region)
    listed = where_offered(account, region, lambda: list(pages(client, "DescribeClusters", "Clusters")))
    return [_cluster(account, region, keys, client, item) for item in listed]


def _cluster(account: Account, region: str, keys: KeyDirectory, client: Any,
             item: dict[str, Any]) -> Resource:
    name = str(item["ClusterName"])
    arn = str(item.get("ClusterArn") or account.arn("dax", region, f"cache/{name}"))
    attributes: dict[str, Any] = {"engine": "dax", "public_access": {"blocked": True, "grants": []}}
    encrypted = SSE_STATES.get(str((item.get("SSEDescription") or {}).get("Status")))
    if encrypted is not None:
        attributes["encryption"] = (
            {"at_rest": True, "algorithm": "AES256", "key": None, "key_manager": "provider"} if encrypted
            else keys.encryption(False, None, region, account.account_id))
    tls = ENDPOINT_TLS.get(str(item.get("ClusterEndpointEncryptionType")))
    if tls is not None:
        attributes["secure_transport_required"] = tls
    tags: dict[str, str] = {}
    try:
        tags = tag_map((call(client, "ListTags", ResourceName=arn) or {}).get("Tags"))
    except ApiFailure as failure:
        account.failed(failure, f"DAX cluster {name} tags", kinds=(KIND,), types=TYPES, region=region,
                       resource_id=arn)
    return account.resource(arn, CLUSTER, KIND, region=region, name=name, attributes=attributes, tags=tags,
                            raw=jsonable(item))


def store_access(resource: Resource) -> tuple[tuple[Facet, ...], PolicyDocument | None]:
    """Read through the cluster by whoever the identity policies allow its item reads."""
    return dax_cluster_facets(resource.id), None


__all__ = ["OPERATIONS", "TYPES", "collect_region", "store_access"]
