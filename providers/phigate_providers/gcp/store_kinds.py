"""BigQuery, Cloud SQL, Compute Engine and Healthcare API JSON → phigate's normalised kinds.

Pure functions of what the REST APIs returned (field names as in Google's API references:
https://cloud.google.com/bigquery/docs/reference/rest/v2/datasets, …/v2/tables,
https://cloud.google.com/sql/docs/postgres/admin-api/rest/v1/instances,
https://cloud.google.com/compute/docs/reference/rest/v1/disks, …/v1/snapshots,
https://cloud.google.com/healthcare-api/docs/reference/rest/v1/projects.locations.datasets).

- a BigQuery dataset is a ``database``, its tables ``table`` (views hold no data: they are not
  reported, they lead the access graph to what they are authorized on);
- a Cloud SQL instance is a ``database`` (its data) and a ``db_server`` (its connections);
- a Compute Engine disk or snapshot is a ``volume``;
- a Healthcare API FHIR, DICOM or HL7v2 store is a ``database``, encrypted by its dataset's key.

Ids are Google's full resource names (``//bigquery.googleapis.com/projects/P/datasets/D`` …).
Labels are tags (so ``data_class`` labels classify). An absent field means what the API
reference documents for it (no ``encryptionConfiguration``: Google-managed keys); a store
without a switch against public exposure has ``public_access.blocked`` exactly when no grant
to everyone was seen (as a PostgreSQL table without a PUBLIC grant).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import Any

from phigate.api import Resource
from phigate_providers.gcp.access import Binding

PROVIDER = "gcp"
DATASET_TYPE = "gcp.bigquery.dataset"
TABLE_TYPE = "gcp.bigquery.table"
SQL_TYPE = "gcp.sql.instance"
SQL_SERVER_TYPE = "gcp.sql.server"
DISK_TYPE = "gcp.compute.disk"
SNAPSHOT_TYPE = "gcp.compute.snapshot"
IMAGE_TYPE = "gcp.compute.image"
HEALTHCARE_TYPES = {"fhirStores": "gcp.healthcare.fhir_store", "dicomStores": "gcp.healthcare.dicom_store",
                    "hl7V2Stores": "gcp.healthcare.hl7v2_store"}
HEALTHCARE_NOUNS = {"fhirStores": "FHIR store", "dicomStores": "DICOM store", "hl7V2Stores": "HL7v2 store"}
HEALTHCARE_DATASET = re.compile(r"^projects/[^/]+/locations/[^/]+/datasets/[^/]+$")
#: BigQuery's legacy dataset roles, as the API writes them back (``roles/bigquery.dataViewer`` …).
LEGACY_ROLES = {"READER": "roles/bigquery.dataViewer", "WRITER": "roles/bigquery.dataEditor",
                "OWNER": "roles/bigquery.dataOwner"}
#: ``specialGroup`` values: the project's basic-role holders (IAM's convenience members), everyone.
SPECIAL_GROUPS = {"projectReaders": "projectViewer:{project}", "projectWriters": "projectEditor:{project}",
                  "projectOwners": "projectOwner:{project}", "allAuthenticatedUsers": "allAuthenticatedUsers"}
#: A key version (``…/cryptoKeyVersions/N``) names the key it belongs to.
KEY_VERSION = re.compile(r"/cryptoKeyVersions/[^/]+$")
#: Cloud SQL's ``sslMode`` values refusing connections without TLS.
TLS_ONLY = frozenset({"ENCRYPTED_ONLY", "TRUSTED_CLIENT_CERTIFICATE_REQUIRED"})
COMPUTE_LINK = re.compile(r"^https://(?:www|compute)\.googleapis\.com/compute/v1/(?P<path>projects/[^/]+/"
                          r"(?:(?:zones|regions)/[^/]+/disks|global/(?:snapshots|images))/[^/]+)$")


# --- ids -----------------------------------------------------------------------------------

def dataset_id(project: str, dataset: str) -> str:
    return f"//bigquery.googleapis.com/projects/{project}/datasets/{dataset}"


def table_id(project: str, dataset: str, table: str) -> str:
    return f"{dataset_id(project, dataset)}/tables/{table}"


def healthcare_id(name: str) -> str:
    return f"//healthcare.googleapis.com/{name}"


def compute_path(link: Any) -> str | None:
    """``projects/P/zones/Z/disks/D`` (or ``regions/R``) of a disk's ``selfLink``, or
    ``projects/P/global/snapshots/S`` (``images/I``) of a snapshot's or image's."""
    found = COMPUTE_LINK.match(link) if isinstance(link, str) else None
    return found["path"] if found else None


def location(value: Any) -> str | None:
    """A location as the residency policy lists them (lower case: ``eu``, ``europe-west9``)."""
    return str(value).lower() if isinstance(value, str) and value else None


# --- BigQuery ------------------------------------------------------------------------------

def dataset_acl(project: str, access: Any) -> tuple[list[Binding], list[tuple[str, str]], int]:
    """A dataset's ``access`` entries: bindings (one per entry), links (reader id, how) from
    authorized views, datasets and routines, and how many entries had a shape not understood
    (each could be a grant: never skipped silently)."""
    bindings: list[Binding] = []
    links: list[tuple[str, str]] = []
    strange = 0
    for item in access if isinstance(access, list) else ():
        entry = _mapping(item)
        if any(key in entry for key in AUTHORIZED):
            link = _authorized(entry)
            if link is None:
                strange += 1
            else:
                links.append(link)
            continue
        member, role = _member(project, entry), entry.get("role")
        if member is None or not isinstance(role, str) or not role:
            strange += 1
            continue
        binding: dict[str, Any] = {"role": LEGACY_ROLES.get(role, role), "members": [member]}
        if isinstance(entry.get("condition"), Mapping):
            binding["condition"] = entry["condition"]
        bindings.append(Binding.from_api(binding))
    return bindings, links, strange


#: Access entries authorizing a view, every view of a dataset, or a routine, on the dataset.
AUTHORIZED = ("view", "dataset", "routine")


def _authorized(entry: Mapping[str, Any]) -> tuple[str, str] | None:
    """(reader id, how) of an authorized view, dataset or routine entry; None if malformed."""
    if "view" in entry:
        ref = _ref(_mapping(entry["view"]), "tableId")
        return (table_id(*ref), f"authorized view {'.'.join(ref)}") if ref else None
    if "dataset" in entry:
        # Every view of that dataset, over-approximated as whoever reads the dataset.
        ref = _ref(_mapping(_mapping(entry["dataset"]).get("dataset")), None)
        return (dataset_id(*ref), f"authorized dataset {'.'.join(ref)}") if ref else None
    # A routine runs for whoever may call it: over-approximated as whoever reads its dataset.
    ref = _ref(_mapping(entry["routine"]), "routineId")
    return (dataset_id(ref[0], ref[1]), f"authorized routine {'.'.join(ref)}") if ref else None


def _member(project: str, entry: Mapping[str, Any]) -> str | None:
    email = entry.get("userByEmail")
    if isinstance(email, str) and email:
        return f"{'serviceAccount' if email.lower().endswith('.gserviceaccount.com') else 'user'}:{email}"
    for key, prefix in (("groupByEmail", "group:"), ("domain", "domain:")):
        value = entry.get(key)
        if isinstance(value, str) and value:
            return prefix + value
    special = entry.get("specialGroup")
    if isinstance(special, str) and special in SPECIAL_GROUPS:
        return SPECIAL_GROUPS[special].format(project=project)
    member = entry.get("iamMember")
    return member if isinstance(member, str) and member else None


def _ref(reference: Mapping[str, Any], last: str | None) -> tuple[str, ...] | None:
    fields = ("projectId", "datasetId", *((last,) if last else ()))
    values = tuple(reference.get(f) for f in fields)
    return values if all(isinstance(v, str) and v for v in values) else None  # type: ignore[return-value]


def dataset_resource(project: str, data: Mapping[str, Any], public: list[str] | None) -> Resource:
    reference = _mapping(data.get("datasetReference"))
    name = str(reference.get("datasetId"))
    attributes: dict[str, Any] = {
        "engine": "bigquery",
        "encryption": _encryption(_mapping(data.get("defaultEncryptionConfiguration")).get("kmsKeyName")),
    }
    if public is not None:
        attributes["public_access"] = {"blocked": not public, "grants": public}
    return Resource(
        id=dataset_id(project, name), type=DATASET_TYPE, kind="database", provider=PROVIDER, scope=project,
        region=location(data.get("location")), name=f"{project}.{name}", tags=_labels(data),
        attributes=attributes,
        raw={k: data[k] for k in ("location", "defaultEncryptionConfiguration", "defaultTableExpirationMs",
                                  "storageBillingModel") if k in data})


def is_view(data: Mapping[str, Any]) -> bool:
    """A logical view holds no data (a materialized view does, and is a table here)."""
    return data.get("type") == "VIEW"


def table_resource(project: str, dataset: str, data: Mapping[str, Any], public: list[str] | None, *,
                   region: str | None, inherited: Mapping[str, str] | None = None) -> Resource:
    """A table; ``inherited``: the labels of its dataset, or of the table it snapshots or clones
    (a table holds its dataset's data, and a copy its base's), carried under its own."""
    name = str(_mapping(data.get("tableReference")).get("tableId"))
    attributes: dict[str, Any] = {
        "database": f"{project}.{dataset}",
        # Set from the dataset's default key when the table was made, or given for the table;
        # without it the table is encrypted with keys Google holds.
        "encryption": _encryption(_mapping(data.get("encryptionConfiguration")).get("kmsKeyName")),
    }
    if public is not None:
        attributes["public_access"] = {"blocked": not public, "grants": public}
    return Resource(
        id=table_id(project, dataset, name), type=TABLE_TYPE, kind="table", provider=PROVIDER, scope=project,
        region=location(data.get("location")) or region, name=f"{project}.{dataset}.{name}",
        tags=merged_labels(inherited or {}, _labels(data)),
        attributes=attributes,
        raw={k: data[k] for k in ("type", "location", "encryptionConfiguration", "numRows", "numBytes")
             if k in data})


def base_table(data: Mapping[str, Any]) -> str | None:
    """The table a table snapshot or clone copies (``snapshotDefinition`` or ``cloneDefinition``
    ``.baseTableReference``), by id."""
    for definition in ("snapshotDefinition", "cloneDefinition"):
        ref = _ref(_mapping(_mapping(data.get(definition)).get("baseTableReference")), "tableId")
        if ref:
            return table_id(*ref)
    return None


def bindings(policy: Mapping[str, Any]) -> list[Binding]:
    return [Binding.from_api(b) for b in policy.get("bindings") or () if isinstance(b, Mapping)]


# --- Cloud SQL -----------------------------------------------------------------------------

def sql_resources(project: str, data: Mapping[str, Any],
                  primary: Mapping[str, str] | None = None) -> tuple[Resource, Resource]:
    """The instance as a ``database`` (its data) and as a ``db_server`` (its connections);
    ``primary``: the labels of the instance a read replica copies, when it was read (a replica
    holds its primary's data, so it carries them under its own)."""
    name = str(data["name"])
    settings = _mapping(data.get("settings"))
    ip = _mapping(settings.get("ipConfiguration"))
    networks = [n.get("value") for n in _list(ip.get("authorizedNetworks")) if isinstance(n, Mapping)]
    open_ = open_networks(networks) if ip.get("ipv4Enabled") is True else []
    backup = _mapping(settings.get("backupConfiguration"))
    retention = _mapping(backup.get("backupRetentionSettings"))
    # One automated backup a day: the number kept is the days they cover (7 by default).
    counted = retention.get("retentionUnit", "COUNT") == "COUNT"
    kept = _int(retention.get("retainedBackups", 7)) if counted else None
    version = str(data.get("databaseVersion") or "")
    engine = version.split("_", 1)[0].lower() or None
    resource_id = f"//cloudsql.googleapis.com/projects/{project}/instances/{name}"
    region = location(data.get("region"))
    tags = merged_labels(primary or {}, sql_labels(data))
    database = Resource(
        id=resource_id, type=SQL_TYPE, kind="database", provider=PROVIDER, scope=project, region=region,
        name=name, tags=tags, attributes={
            "engine": {"postgres": "postgresql"}.get(engine or "", engine),
            "encryption": _encryption(_mapping(data.get("diskEncryptionConfiguration")).get("kmsKeyName")),
            # Reachable from every address: a public IP with an authorized network 0.0.0.0/0.
            "public_access": {"blocked": not open_, "grants": open_},
            "deletion_protection": settings.get("deletionProtectionEnabled") is True,
            "backup_retention_days": kept if backup.get("enabled") is True else 0,
        },
        raw={"databaseVersion": version, "ipv4Enabled": ip.get("ipv4Enabled") is True,
             **({"masterInstanceName": data["masterInstanceName"]} if data.get("masterInstanceName") else {}),
             "authorizedNetworks": [str(n) for n in networks], "instanceType": data.get("instanceType")})
    flags = {str(f.get("name")): str(f.get("value", "")).lower() for f in _list(settings.get("databaseFlags"))
             if isinstance(f, Mapping)}
    server = Resource(
        id=f"{resource_id}/server", type=SQL_SERVER_TYPE, kind="db_server", provider=PROVIDER, scope=project,
        region=region, name=name, tags=tags,
        attributes={"version": version or None, **_server(engine, ip, flags, settings)},
        raw={"sslMode": ip.get("sslMode"), "requireSsl": ip.get("requireSsl"), "databaseFlags": flags})
    return database, server


def open_networks(values: Iterable[Any]) -> list[str]:
    """The authorized networks that together admit every address of IPv4 or IPv6: one written
    ``0.0.0.0/0`` (or ``1.2.3.4/0``, ``::/0``), or several that cover it between them
    (``0.0.0.0/1`` and ``128.0.0.0/1``)."""
    v4: dict[str, ipaddress.IPv4Network] = {}
    v6: dict[str, ipaddress.IPv6Network] = {}
    for text in values:
        try:
            network = ipaddress.ip_network(str(text).strip(), strict=False)
        except ValueError:
            continue  # the API accepts CIDR ranges and addresses only
        if isinstance(network, ipaddress.IPv4Network):
            v4[str(text)] = network
        else:
            v6[str(text)] = network
    found = _whole(v4, list(ipaddress.collapse_addresses(v4.values())))
    found += _whole(v6, list(ipaddress.collapse_addresses(v6.values())))
    return sorted(found)


def _whole(networks: Mapping[str, ipaddress.IPv4Network | ipaddress.IPv6Network],
           collapsed: list[ipaddress.IPv4Network] | list[ipaddress.IPv6Network]) -> list[str]:
    """The networks of one family that admit every address: those written /0, else all of them
    when together they cover the family (``collapsed``: their union)."""
    every = [text for text, network in networks.items() if network.prefixlen == 0]
    return every or (list(networks) if [n.prefixlen for n in collapsed] == [0] else [])


def _server(engine: str | None, ip: Mapping[str, Any], flags: Mapping[str, str],
            settings: Mapping[str, Any]) -> dict[str, Any]:
    """TLS and logging. Cloud SQL always offers TLS; ``sslMode`` (or, before it, ``requireSsl``)
    says whether it refuses connections without it. Logging comes from the database flags,
    whose documented defaults are off."""
    mode = ip.get("sslMode")
    secure = mode in TLS_ONLY if isinstance(mode, str) else ip.get("requireSsl") is True
    return {"ssl": True, "secure_transport_required": secure, **server_logging(engine, flags, settings)}


def server_logging(engine: str | None, flags: Mapping[str, str],
                   settings: Mapping[str, Any]) -> dict[str, Any]:
    """Logging attributes of a ``db_server`` from an instance's database flags (lower-cased
    values; documented defaults: off) and, for SQL Server, its audit configuration."""
    attributes: dict[str, Any] = {}
    if engine == "postgres":
        on = {name for name, value in flags.items() if value == "on"}
        pgaudit = "cloudsql.enable_pgaudit" in on
        audited = {c.strip().lstrip("-") for c in flags.get("pgaudit.log", "").split(",") if c.strip()}
        attributes.update({
            "log_connections": "log_connections" in on,
            "log_disconnections": "log_disconnections" in on,
            "log_statement": flags.get("log_statement", "none"),
            "pgaudit": pgaudit,
            "logging": {"access_logs": "log_connections" in on,
                        "data_events": pgaudit and bool(audited & {"read", "all"})},
        })
    elif engine == "mysql":
        audit = flags.get("cloudsql_mysql_audit") in ("on", "force_plus_permanent")
        general = flags.get("general_log") == "on"
        attributes["logging"] = {"access_logs": audit or general, "data_events": audit}
    elif engine == "sqlserver":
        logged = bool(_mapping(settings.get("sqlServerAuditConfig")).get("bucket"))
        attributes["logging"] = {"access_logs": logged, "data_events": logged}
    return attributes


# --- Compute Engine ------------------------------------------------------------------------

def disk_resource(project: str, data: Mapping[str, Any]) -> Resource:
    path = compute_path(data.get("selfLink")) or ""
    zone_or_region = path.split("/")[3] if path else ""
    # A zonal disk lives in its zone's region (europe-west9-a → europe-west9).
    region = location(zone_or_region.rsplit("-", 1)[0] if "/zones/" in path else zone_or_region)
    return Resource(
        id=f"//compute.googleapis.com/{path}", type=DISK_TYPE, kind="volume", provider=PROVIDER,
        scope=project, region=region, name=str(data["name"]), tags=_labels(data),
        attributes={"encryption": _disk_encryption(_mapping(data.get("diskEncryptionKey"))),
                    "size_gb": _int(data.get("sizeGb")),
                    "attached_to": [_instance_id(u) for u in _list(data.get("users")) if isinstance(u, str)]},
        raw={k: data[k] for k in ("sizeGb", "type", "zone", "region", "sourceSnapshot", "sourceImage")
             if k in data})


def snapshot_resource(project: str, data: Mapping[str, Any],
                      source: Mapping[str, str] | None = None) -> Resource:
    """A snapshot; ``source``: the labels of the disk it copies, when that disk was read (a
    snapshot holds its source's data, so it carries them under its own)."""
    return _copy(project, data, source, ("snapshots", SNAPSHOT_TYPE, "snapshotEncryptionKey"))


def image_resource(project: str, data: Mapping[str, Any],
                   source: Mapping[str, str] | None = None) -> Resource:
    """An image (https://cloud.google.com/compute/docs/reference/rest/v1/images): a copy of the
    disk, snapshot or image it was made from, whose labels it carries under its own."""
    return _copy(project, data, source, ("images", IMAGE_TYPE, "imageEncryptionKey"))


def _copy(project: str, data: Mapping[str, Any], source: Mapping[str, str] | None,
          what: tuple[str, str, str]) -> Resource:
    """A snapshot or an image (``what``: its collection, type and encryption key field)."""
    collection, type_, key = what
    locations = [str(s).lower() for s in _list(data.get("storageLocations")) if isinstance(s, str)]
    return Resource(
        id=f"//compute.googleapis.com/projects/{project}/global/{collection}/{data['name']}", type=type_,
        kind="volume", provider=PROVIDER, scope=project,
        # Several locations cannot be judged by one region: left out, so residency is undecided.
        region=locations[0] if len(locations) == 1 else None, name=str(data["name"]),
        tags=merged_labels(source or {}, _labels(data)),
        attributes={"encryption": _disk_encryption(_mapping(data.get(key))),
                    "size_gb": _int(data.get("diskSizeGb")), "attached_to": []},
        raw={k: data[k] for k in ("diskSizeGb", "storageLocations", "sourceDisk", "sourceSnapshot",
                                  "sourceImage", "snapshotType", "family") if k in data})


def sql_labels(data: Mapping[str, Any]) -> dict[str, str]:
    """An instance's own labels (``settings.userLabels``)."""
    return {str(k): str(v) for k, v in _mapping(_mapping(data.get("settings")).get("userLabels")).items()}


def primary_name(data: Mapping[str, Any]) -> str | None:
    """The instance a read replica copies (``masterInstanceName``: ``P:I``, or ``I`` alone)."""
    name = data.get("masterInstanceName")
    return name.rsplit(":", 1)[-1] if isinstance(name, str) and name else None


def merged_labels(inherited: Mapping[str, str], own: Mapping[str, str]) -> dict[str, str]:
    """A copy's labels over its source's; a label both give differently keeps both values (the
    strictest class wins), as snapshots of the Terraform plan reader carry theirs."""
    merged = dict(inherited)
    for key, found in own.items():
        merged[key] = found if merged.get(key, found) == found else f"{merged[key]},{found}"
    return merged


def _disk_encryption(key: Mapping[str, Any]) -> dict[str, Any]:
    name = key.get("kmsKeyName")
    if isinstance(name, str) and name:
        return _encryption(KEY_VERSION.sub("", name))
    if key.get("sha256") or key.get("rawKey") or key.get("rsaEncryptedKey"):
        # A customer-supplied key (CSEK): the customer's, held nowhere phigate can read.
        return {"at_rest": True, "algorithm": "csek", "key": None, "key_manager": "customer"}
    return _encryption(None)


def _instance_id(link: str) -> str:
    return "//compute.googleapis.com/" + link.split("/compute/v1/", 1)[-1]


# --- Healthcare API ------------------------------------------------------------------------

def healthcare_resource(project: str, collection: str, data: Mapping[str, Any], dataset: Mapping[str, Any],
                        *, public: list[str] | None, region: str | None) -> Resource:
    """A FHIR, DICOM or HL7v2 store, encrypted by its dataset's key (``encryptionSpec``)."""
    name = str(data["name"])
    attributes: dict[str, Any] = {
        "engine": {"fhirStores": "fhir", "dicomStores": "dicom", "hl7V2Stores": "hl7v2"}[collection],
        "encryption": _encryption(_mapping(dataset.get("encryptionSpec")).get("kmsKeyName")),
    }
    if public is not None:
        attributes["public_access"] = {"blocked": not public, "grants": public}
    raw = {k: data[k] for k in ("version", "complexDataTypeReferenceParsing", "notificationConfigs")
           if k in data}
    return Resource(id=healthcare_id(name), type=HEALTHCARE_TYPES[collection], kind="database",
                    provider=PROVIDER, scope=project, region=region, name=name.rsplit("/", 1)[-1],
                    tags=_labels(data), attributes=attributes, raw=raw)


# --- shared --------------------------------------------------------------------------------

def _encryption(key: Any) -> dict[str, Any]:
    if isinstance(key, str) and key:
        return {"at_rest": True, "algorithm": "cmek", "key": key, "key_manager": "customer"}
    # Without a customer key, Google encrypts the data with keys it holds.
    return {"at_rest": True, "algorithm": "google-managed", "key": None, "key_manager": "provider"}


def keys_of(resource: Resource) -> list[str]:
    """The Cloud KMS key a store names, to be read as a ``key``."""
    key = _mapping(resource.attributes.get("encryption")).get("key")
    return [key] if isinstance(key, str) and key else []


def _labels(data: Mapping[str, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in _mapping(data.get("labels")).items()}


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    """A list the API documents: absent is empty; another shape could hide an entry (an open
    network, a grant), so it fails the read (ValueError: "unexpected answer")."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError("a list of another shape")
    return value


def _int(value: Any) -> int | None:
    """The APIs write int64 values as strings."""
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


__all__ = ["DATASET_TYPE", "DISK_TYPE", "HEALTHCARE_TYPES", "IMAGE_TYPE", "SNAPSHOT_TYPE", "SQL_SERVER_TYPE",
           "SQL_TYPE", "TABLE_TYPE", "bindings", "dataset_acl", "dataset_resource", "disk_resource",
           "healthcare_resource", "image_resource", "snapshot_resource", "sql_resources", "table_resource"]
