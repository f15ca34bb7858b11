"""OpenSearch Service domains as ``database`` stores: search indexes over notes and records.

Encryption at rest is the domain's (``EncryptionAtRestOptions``, under ``KmsKeyId``; the
AWS-managed ``aws/es`` key when it names none). The access policy gives its exposure: an allow
to everyone without a condition narrowing it is public for a domain with a public endpoint, and
not for one inside a VPC (the VPC's network comes first). The policy feeds the access analysis
as a bucket policy does. It refuses unencrypted connections when it enforces HTTPS and
encrypts traffic between its nodes.

Domains are described five at a time (the API's limit). A domain whose tags cannot be read is
yielded untagged, its error recorded; a policy that does not parse leaves ``public_access`` out.
"""

from __future__ import annotations

from typing import Any

from phigate.api import Resource
from phigate_providers.aws import policy_stores
from phigate_providers.aws.calls import ApiFailure, call
from phigate_providers.aws.context import Account, jsonable, tag_map
from phigate_providers.aws.kms import KeyDirectory
from phigate_providers.aws.read_actions import search_domain_facets
from phigate_providers.aws.tag_index import store_tags

DOMAIN = "aws.opensearch.domain"
TYPES = (DOMAIN,)
KIND = "database"
OPERATIONS = {
    ("opensearch", "ListDomainNames"): "es:ListDomainNames",
    ("opensearch", "DescribeDomains"): "es:DescribeDomains",
    ("opensearch", "ListTags"): "es:ListTags",
}
AWS_MANAGED_KEY = "alias/aws/es"
_BATCH = 5


def collect_region(account: Account, region: str, keys: KeyDirectory) -> list[Resource]:
    """The domains of ``region``. Raises ApiFailure when they cannot be listed or described."""
    client = account.client("opensearch", region)
    names = [str(d["DomainName"]) for d in (call(client, "ListDomainNames") or {}).get("DomainNames") or ()]
    found: list[Resource] = []
    for start in range(0, len(names), _BATCH):
        described = call(client, "DescribeDomains", DomainNames=names[start:start + _BATCH]) or {}
        found += [_domain(account, region, keys, client, status)
                  for status in described.get("DomainStatusList") or ()]
    return found


def _domain(account: Account, region: str, keys: KeyDirectory, client: Any,
            status: dict[str, Any]) -> Resource:
    name = str(status["DomainName"])
    arn = str(status.get("ARN") or account.arn("es", region, f"domain/{name}"))
    at_rest = status.get("EncryptionAtRestOptions") or {}
    encrypted = bool(at_rest.get("Enabled"))
    attributes: dict[str, Any] = {
        "engine": status.get("EngineVersion"),
        "encryption": keys.encryption(encrypted, at_rest.get("KmsKeyId") if encrypted else None, region,
                                      account.account_id, default=AWS_MANAGED_KEY),
    }
    if (transport := _secure_transport(status)) is not None:
        attributes["secure_transport_required"] = transport
    raw = {k: v for k, v in jsonable(status).items() if k != "AccessPolicies"}
    document = status.get("AccessPolicies") or None
    # A VPC domain has a VPC endpoint (``Endpoints.vpc``) and subnets, and no public endpoint.
    vpc = status.get("VPCOptions") or {}
    in_vpc = bool(vpc.get("VPCId") or vpc.get("SubnetIds")) or "vpc" in (status.get("Endpoints") or {})
    what = f"OpenSearch domain {name}"
    exposed = policy_stores.exposure(account, region, arn=arn, document=document, what=what, types=TYPES,
                                     service="opensearch", operation="DescribeDomains", kind=KIND)
    if exposed is not None and in_vpc:
        exposed = {"blocked": True, "grants": []}  # reachable from its VPC only
    policy_stores.with_policy(attributes, raw, exposed, document)
    tags: dict[str, str] = {}
    try:
        tags = store_tags(account, region, arn,
                          lambda: tag_map((call(client, "ListTags", ARN=arn) or {}).get("TagList")))
    except ApiFailure as failure:
        account.failed(failure, f"{what} tags", kinds=(KIND,), types=TYPES, region=region, resource_id=arn)
    return account.resource(arn, DOMAIN, KIND, region=region, name=name, attributes=attributes, tags=tags,
                            raw=raw)


def _secure_transport(status: dict[str, Any]) -> bool | None:
    """Plain HTTP refused at the endpoint (``EnforceHTTPS``) and between the domain's nodes
    (node-to-node encryption): any TLS policy is TLS. None when either setting is missing."""
    endpoint, nodes = status.get("DomainEndpointOptions"), status.get("NodeToNodeEncryptionOptions")
    if not isinstance(endpoint, dict) or not isinstance(nodes, dict):
        return None
    return endpoint.get("EnforceHTTPS") is True and nodes.get("Enabled") is True


store_access = policy_stores.store_access(search_domain_facets)

__all__ = ["OPERATIONS", "TYPES", "collect_region", "store_access"]
