"""The Glue Data Catalog of each region as a ``database`` store: table definitions (column names,
partition values, locations) and the passwords of its connections to the databases that hold
patient records.

A region's catalog is a store once it holds a database; an empty catalog holds nothing and is
not yielded. Encryption at rest is the catalog's metadata encryption
(``EncryptionAtRest.CatalogEncryptionMode``): ``SSE-KMS`` and ``SSE-KMS-WITH-SERVICE-ROLE``
encrypt under ``SseAwsKmsKeyId`` (the AWS-managed ``aws/glue`` key when it names none),
``DISABLED`` leaves metadata in clear. Whether connection passwords are returned encrypted is
kept in ``raw`` (no store policy asks it). The catalog's resource policy gives its public
exposure and, to the access analysis, who reads its tables and connections.

Its class is its databases': a database's ``data_class`` parameter, else its tag. Several classes
keep them all (the strictest wins); one clinical database makes the catalog clinical; otherwise a
database without a class leaves the catalog unclassified (it may hold anything).

A catalog whose settings, policy or databases' tags cannot be read is yielded without what was
not read, each error recorded.
"""

from __future__ import annotations

from typing import Any

from phigate.api import Resource
from phigate_providers.aws import policy_stores
from phigate_providers.aws.calls import ApiFailure, call, pages
from phigate_providers.aws.context import Account, jsonable
from phigate_providers.aws.glue_catalog import CATALOG, CLASS_TAG, ENCRYPTING_MODES, KIND, catalog_class
from phigate_providers.aws.kms import KeyDirectory
from phigate_providers.aws.read_actions import data_catalog_facets

TYPES = (CATALOG,)
OPERATIONS = {
    ("glue", "GetDatabases"): "glue:GetDatabases",
    ("glue", "GetTags"): "glue:GetTags",
    ("glue", "GetDataCatalogEncryptionSettings"): "glue:GetDataCatalogEncryptionSettings",
    ("glue", "GetResourcePolicy"): "glue:GetResourcePolicy",
}
AWS_MANAGED_KEY = "alias/aws/glue"


def collect_region(account: Account, region: str, keys: KeyDirectory) -> list[Resource]:
    """The catalog of ``region``, when it holds a database. Raises ApiFailure when its databases
    cannot be listed."""
    client = account.client("glue", region)
    databases = list(pages(client, "GetDatabases", "DatabaseList"))
    if not databases:
        return []
    return [_catalog(account, region, keys, client, databases)]


def catalog_arn(partition: str, region: str, account_id: str) -> str:
    return f"arn:{partition}:glue:{region}:{account_id}:catalog"


def _catalog(account: Account, region: str, keys: KeyDirectory, client: Any,
             databases: list[dict[str, Any]]) -> Resource:
    arn = catalog_arn(account.partition, region, account.account_id)
    what = f"Glue Data Catalog of {region}"
    attributes: dict[str, Any] = {}
    raw: dict[str, Any] = {"databases": sorted(str(d["Name"]) for d in databases)}
    try:
        response = call(client, "GetDataCatalogEncryptionSettings") or {}
        settings = response.get("DataCatalogEncryptionSettings") or {}
        raw.update(jsonable(settings))
        attributes["encryption"] = encryption(settings, keys, region, account.account_id)
    except ApiFailure as failure:
        account.failed(failure, f"{what} encryption settings", kinds=(KIND,), types=TYPES, region=region,
                       resource_id=arn)
    try:
        # Without a policy, AWS answers EntityNotFoundException (and some servers an empty answer).
        policy = call(client, "GetResourcePolicy", absent=("EntityNotFoundException",))
        document = (policy or {}).get("PolicyInJson") or None
        exposed = policy_stores.exposure(account, region, arn=arn, document=document, what=what, types=TYPES,
                                         service="glue", operation="GetResourcePolicy", kind=KIND)
        policy_stores.with_policy(attributes, raw, exposed, document)
    except ApiFailure as failure:
        account.failed(failure, f"{what} resource policy", kinds=(KIND,), types=TYPES, region=region,
                       resource_id=arn)
    tag = catalog_class([_database_class(account, region, client, d, arn) for d in databases])
    return account.resource(arn, CATALOG, KIND, region=region, name=f"glue-catalog-{region}",
                            attributes=attributes, tags={CLASS_TAG: tag} if tag else {}, raw=raw)


def encryption(settings: dict[str, Any], keys: KeyDirectory, region: str, own_account: str) -> dict[str, Any]:
    """The metadata's encryption: under the key named (``aws/glue`` when none), or none."""
    at_rest = settings.get("EncryptionAtRest") or {}
    if str(at_rest.get("CatalogEncryptionMode") or "DISABLED") not in ENCRYPTING_MODES:
        return keys.encryption(False, None, region, own_account)
    key = at_rest.get("SseAwsKmsKeyId")
    return keys.encryption(True, str(key) if key else None, region, own_account, default=AWS_MANAGED_KEY)


def _database_class(account: Account, region: str, client: Any, database: dict[str, Any],
                    catalog: str) -> str | None:
    """A database's class: its ``data_class`` parameter, else its tag; None when it has none
    (or its tags could not be read, an error recorded)."""
    parameter = (database.get("Parameters") or {}).get(CLASS_TAG)
    if parameter:
        return str(parameter)
    name = str(database["Name"])
    owner = str(database.get("CatalogId") or account.account_id)
    try:
        database_arn = f"arn:{account.partition}:glue:{region}:{owner}:database/{name}"
        tags = (call(client, "GetTags", ResourceArn=database_arn) or {}).get("Tags") or {}
    except ApiFailure as failure:
        account.failed(failure, f"Glue database {name} tags", kinds=(KIND,), types=TYPES, region=region,
                       resource_id=catalog)
        return None
    found = tags.get(CLASS_TAG)
    return str(found) if found else None


store_access = policy_stores.store_access(data_catalog_facets)

__all__ = ["CATALOG", "OPERATIONS", "TYPES", "catalog_arn", "catalog_class", "collect_region", "encryption",
           "store_access"]
