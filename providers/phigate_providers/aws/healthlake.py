"""AWS HealthLake FHIR data stores as ``database`` stores: patient records by their very format.

A FHIR data store is clinical whatever its tags say: its resources (Patient, Observation,
Condition …) are patient records, and a tag is a claim nobody checks. A ``data_class`` tag is
kept beside (``clinical,administrative``: the strictest wins), never instead. A store of
synthetic data belongs in an account of its own, or under a waiver that says so.

HealthLake encrypts every data store: under the customer's key
(``SseConfiguration.KmsEncryptionConfig.CmkType`` ``CUSTOMER_MANAGED_KMS_KEY``, ``KmsKeyId``)
or under a key HealthLake owns (``AWS_OWNED_KMS_KEY``, or no configuration: ``key_manager:
provider``). It has no resource policy: never public. Principals read it through the FHIR API
(``healthlake:ReadResource``, ``SearchWithGet``, ``SearchWithPost``, ``GetCapabilities`` is not a
read) and export it whole (``healthlake:StartFHIRExportJob``). A store using SMART on FHIR also
lets in the users of its identity provider, with the provider's tokens: like a database's own
logins, they are not IAM principals and are not in the access graph (the strategy is in ``raw``).

Deleted stores, and stores whose creation failed, hold nothing and are not yielded; nor are
stores looked for where HealthLake is not offered (:mod:`.offered`).
"""

from __future__ import annotations

from typing import Any

from phigate.api import Resource
from phigate_providers.aws.calls import ApiFailure, call, token_pages
from phigate_providers.aws.context import Account, jsonable, tag_map
from phigate_providers.aws.copies import merge_tags
from phigate_providers.aws.kms import KeyDirectory
from phigate_providers.aws.offered import where_offered
from phigate_providers.aws.policydoc import PolicyDocument
from phigate_providers.aws.read_actions import Facet, fhir_store_facets

DATASTORE = "aws.healthlake.fhir_datastore"
TYPES = (DATASTORE,)
KIND = "database"
OPERATIONS = {
    ("healthlake", "ListFHIRDatastores"): "healthlake:ListFHIRDatastores",
    ("healthlake", "ListTagsForResource"): "healthlake:ListTagsForResource",
}
#: Statuses of a store that holds no data.
EMPTY_STATUSES = frozenset({"DELETED", "CREATE_FAILED"})
CUSTOMER_KEY = "CUSTOMER_MANAGED_KMS_KEY"


def collect_region(account: Account, region: str, keys: KeyDirectory) -> list[Resource]:
    """The FHIR data stores of ``region`` (none where HealthLake is not offered). Raises
    ApiFailure when they cannot be listed."""
    client = account.client("healthlake", region)
    listed = where_offered(account, region, lambda: _listed(client))
    return [_datastore(account, region, keys, client, item) for item in listed
            if str(item.get("DatastoreStatus")) not in EMPTY_STATUSES]


def _listed(client: Any) -> list[dict[str, Any]]:
    """Every data store (ListFHIRDatastores has no paginator in the SDK)."""
    return list(token_pages(client, "ListFHIRDatastores", "DatastorePropertiesList"))


def _datastore(account: Account, region: str, keys: KeyDirectory, client: Any,
               item: dict[str, Any]) -> Resource:
    store_id = str(item["DatastoreId"])
    arn = str(item.get("DatastoreArn") or account.arn("healthlake", region, f"datastore/fhir/{store_id}"))
    attributes: dict[str, Any] = {
        "engine": f"fhir-{str(item.get('DatastoreTypeVersion') or 'R4').lower()}",
        "encryption": encryption(item, keys, region, account.account_id),
        "public_access": {"blocked": True, "grants": []},
    }
    own: dict[str, str] = {}
    try:
        own = tag_map((call(client, "ListTagsForResource", ResourceARN=arn) or {}).get("Tags"))
    except ApiFailure as failure:
        # Its class stands without them (clinical); only its other tags are not known.
        account.failed(failure, f"HealthLake data store {store_id} tags", kinds=(KIND,), types=TYPES,
                       region=region, resource_id=arn)
    name = str(item.get("DatastoreName") or store_id)
    return account.resource(arn, DATASTORE, KIND, region=region, name=name, attributes=attributes,
                            tags=merge_tags({"data_class": "clinical"}, own),
                            raw=jsonable(item))


def encryption(item: dict[str, Any], keys: KeyDirectory, region: str, own_account: str) -> dict[str, Any]:
    """Under the customer's key named, else under a key HealthLake owns."""
    config = (item.get("SseConfiguration") or {}).get("KmsEncryptionConfig") or {}
    if config.get("CmkType") == CUSTOMER_KEY:
        key = config.get("KmsKeyId")
        return keys.encryption(True, str(key) if key else None, region, own_account)
    return {"at_rest": True, "algorithm": "aws:kms", "key": None, "key_manager": "provider"}


def store_access(resource: Resource) -> tuple[tuple[Facet, ...], PolicyDocument | None]:
    """Read through the FHIR API and exports under identity policies (no resource policy)."""
    return fhir_store_facets(resource.id), None


__all__ = ["OPERATIONS", "TYPES", "collect_region", "encryption", "store_access"]
