"""BigQuery, Cloud SQL, Compute Engine and the Healthcare API as recorded: no emulator serves
them, so their replies are replayed at their real addresses through ``responses`` (the same
``requests`` transport, authorized session, retries and failure reports the provider uses).

Shapes as the REST references document them and the APIs answer (ids, e-mail addresses and
keys replaced):

- BigQuery v2 (https://cloud.google.com/bigquery/docs/reference/rest/v2/datasets, …/tables):
  ``datasets.list`` → ``{"kind": "bigquery#datasetList", "etag", "datasets": [{"kind":
  "bigquery#dataset", "id": "P:D", "datasetReference": {"datasetId", "projectId"}, "labels",
  "location"}], "nextPageToken"}`` (no ``datasets`` key at all when the project has none);
  ``datasets.get`` → the dataset with ``access`` entries (``role`` in the legacy spelling
  READER/WRITER/OWNER, one of ``userByEmail``, ``groupByEmail``, ``domain``, ``specialGroup``,
  ``iamMember``, or ``view``/``dataset``/``routine`` without a role) and
  ``defaultEncryptionConfiguration: {"kmsKeyName"}``; ``tables.list`` → ``{"kind":
  "bigquery#tableList", "tables": [{"kind": "bigquery#table", "id": "P:D.T", "tableReference":
  {"projectId", "datasetId", "tableId"}, "type": "TABLE" | "VIEW" | …}], "totalItems"}``;
  ``tables.get`` → the table with ``encryptionConfiguration``, ``labels``, ``location``,
  ``view: {"query", "useLegacySql"}``, a table snapshot's ``snapshotDefinition:
  {"baseTableReference": {"projectId", "datasetId", "tableId"}, "snapshotTime"}``; ``tables.getIamPolicy`` → ``{"version": 1, "etag": "ACAB"}``
  when nobody is granted on the table.
- Cloud SQL Admin v1 (https://cloud.google.com/sql/docs/postgres/admin-api/rest/v1/instances):
  ``instances.list`` → ``{"items": [DatabaseInstance]}`` (``{}`` without instances), each with
  ``databaseVersion`` (POSTGRES_16 …), ``region``, ``diskEncryptionConfiguration: {"kmsKeyName",
  "kind": "sql#diskEncryptionConfiguration"}``, ``settings.ipConfiguration`` (``ipv4Enabled``,
  ``authorizedNetworks: [{"value", "name", "kind": "sql#aclEntry"}]``, ``requireSsl``,
  ``sslMode``), ``settings.databaseFlags: [{"name", "value"}]``, ``settings.userLabels``,
  ``settings.backupConfiguration``, ``settings.deletionProtectionEnabled``; a read replica has
  ``instanceType: READ_REPLICA_INSTANCE`` and ``masterInstanceName: "P:I"``.
- Compute Engine v1 (https://cloud.google.com/compute/docs/reference/rest/v1/disks, …/snapshots):
  ``disks.aggregatedList`` → ``{"kind": "compute#diskAggregatedList", "items": {"zones/Z":
  {"disks": [Disk]}, "zones/Y": {"warning": {"code": "NO_RESULTS_ON_PAGE", …}}}, "unreachables"?}``;
  a disk's ``diskEncryptionKey.kmsKeyName`` names the key VERSION used
  (``…/cryptoKeys/K/cryptoKeyVersions/1``); ``snapshots.list`` → ``{"items": [Snapshot]}`` with
  ``storageLocations`` and ``snapshotEncryptionKey``; ``images.list``
  (https://cloud.google.com/compute/docs/reference/rest/v1/images) → ``{"items": [Image]}`` with
  ``sourceDisk`` or ``sourceSnapshot`` (URLs), ``storageLocations``, ``imageEncryptionKey``;
  ``getIamPolicy`` (GET) → ``{"version": 1,
  "etag": "ACAB"}`` when nobody is granted.
- Healthcare API v1 (https://cloud.google.com/healthcare-api/docs/reference/rest/v1/
  projects.locations.datasets): ``locations.list`` → ``{"locations": [{"name", "locationId"}]}``;
  ``datasets.list`` → ``{"datasets": [{"name": "projects/P/locations/L/datasets/D", "timeZone",
  "encryptionSpec": {"kmsKeyName"}}]}``; ``fhirStores.list`` → ``{"fhirStores": [{"name", "version":
  "R4", "labels", …}]}`` (likewise ``dicomStores``, ``hl7V2Stores``); ``getIamPolicy`` (GET).
- Errors: ``{"error": {"code": 403, "message": "…", "status": "PERMISSION_DENIED", "errors":
  [{"reason": "accessNotConfigured" …}]}}`` when the API is not enabled in the project.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import responses

BIGQUERY = "https://bigquery.googleapis.com/bigquery/v2"
SQL = "https://sqladmin.googleapis.com/v1"
COMPUTE = "https://compute.googleapis.com/compute/v1"
HEALTHCARE = "https://healthcare.googleapis.com/v1"
HOSTS = re.compile(r"^https://(?:bigquery|sqladmin|compute|healthcare)\.googleapis\.com/.*$")
#: Listings answered empty unless a test recorded more (a path, without its query).
LISTINGS = (re.compile(r"^/bigquery/v2/projects/[^/]+/datasets$"), re.compile(r"/tables$"),
            re.compile(r"^/v1/projects/[^/]+/instances$"), re.compile(r"/aggregated/disks$"),
            re.compile(r"/global/snapshots$"), re.compile(r"/global/images$"),
            re.compile(r"^/v1/projects/[^/]+/locations$"),
            re.compile(r"/datasets$"), re.compile(r"/(?:fhirStores|dicomStores|hl7V2Stores)$"))
EMPTY_POLICY = {"version": 1, "etag": "ACAB"}


def disabled() -> dict[str, Any]:
    """The answer of an API not enabled in the project."""
    return {"error": {"code": 403, "message": "BigQuery API has not been used in project 123 before or it is disabled.",
                      "status": "PERMISSION_DENIED",
                      "errors": [{"message": "…", "domain": "usageLimits", "reason": "accessNotConfigured"}]}}


@dataclass
class Stores:
    """What the four APIs answer, by URL path: a JSON object, a list of pages, or an HTTP status."""

    replies: dict[str, Any] = field(default_factory=dict)
    #: Statuses answered, in turn, before a path's reply (transient failures).
    failures: dict[str, list[int]] = field(default_factory=dict)
    #: Requests answered, as (method, path).
    seen: list[tuple[str, str]] = field(default_factory=list)

    def register(self, mock: responses.RequestsMock) -> None:
        for method in (responses.GET, responses.POST):
            mock.add_callback(method, HOSTS, callback=self._reply)

    # --- BigQuery ------------------------------------------------------------------------

    def dataset(self, project: str, name: str, *, location: str = "europe-west9", key: str | None = None,
                labels: dict[str, str] | None = None, access: list[dict[str, Any]] | None = None) -> str:
        base = f"/bigquery/v2/projects/{project}/datasets"
        reference = {"datasetId": name, "projectId": project}
        listing = self.replies.setdefault(base, {"kind": "bigquery#datasetList", "etag": "Oy8/8VU1hDHJ1Ks4ajTKxw=="})
        listing.setdefault("datasets", []).append({
            "kind": "bigquery#dataset", "id": f"{project}:{name}", "datasetReference": reference,
            "labels": labels or {}, "location": location})
        body: dict[str, Any] = {
            "kind": "bigquery#dataset", "etag": "Z2FmZXRhZw==", "id": f"{project}:{name}",
            "selfLink": f"{BIGQUERY}/projects/{project}/datasets/{name}", "datasetReference": reference,
            "access": access if access is not None else [
                {"role": "WRITER", "specialGroup": "projectWriters"},
                {"role": "OWNER", "specialGroup": "projectOwners"},
                {"role": "OWNER", "userByEmail": f"terraform@{project}.iam.gserviceaccount.com"},
                {"role": "READER", "specialGroup": "projectReaders"}],
            "creationTime": "1764583200000", "lastModifiedTime": "1764583200000", "location": location,
            "type": "DEFAULT", "maxTimeTravelHours": "168"}
        if labels:
            body["labels"] = labels
        if key:
            body["defaultEncryptionConfiguration"] = {"kmsKeyName": key}
        self.replies[f"{base}/{name}"] = body
        return f"//bigquery.googleapis.com/projects/{project}/datasets/{name}"

    def table(self, project: str, dataset: str, name: str, *, key: str | None = None,
              labels: dict[str, str] | None = None, view: str | None = None,
              policy: dict[str, Any] | int | None = None, location: str = "europe-west9",
              snapshot_of: tuple[str, str, str] | None = None) -> str:
        base = f"/bigquery/v2/projects/{project}/datasets/{dataset}/tables"
        reference = {"projectId": project, "datasetId": dataset, "tableId": name}
        kind = "VIEW" if view else "SNAPSHOT" if snapshot_of else "TABLE"
        listing = self.replies.setdefault(base, {"kind": "bigquery#tableList", "etag": "wAlH6K1NMMp0TwqQEX9ZSQ==",
                                                 "totalItems": 0})
        listing.setdefault("tables", []).append({"kind": "bigquery#table", "id": f"{project}:{dataset}.{name}",
                                                 "tableReference": reference, "type": kind,
                                                 "creationTime": "1764583200000"})
        listing["totalItems"] += 1
        body: dict[str, Any] = {
            "kind": "bigquery#table", "etag": "8bPgCyLSb+rEQnd4l1b1Gg==", "id": f"{project}:{dataset}.{name}",
            "selfLink": f"{BIGQUERY}/projects/{project}/datasets/{dataset}/tables/{name}",
            "tableReference": reference, "type": kind, "location": location,
            "creationTime": "1764583200000", "lastModifiedTime": "1764583200000"}
        if snapshot_of:  # a table snapshot names the table it copies
            body["snapshotDefinition"] = {"baseTableReference": dict(zip(
                ("projectId", "datasetId", "tableId"), snapshot_of, strict=True)),
                "snapshotTime": "2025-12-01T02:00:00Z"}
        if view:
            body["view"] = {"query": view, "useLegacySql": False}
        else:
            body.update({"schema": {"fields": [{"name": "patient_id", "type": "STRING", "mode": "NULLABLE"}]},
                         "numBytes": "52428800", "numRows": "120000"})
        if labels:
            body["labels"] = labels
        if key:
            body["encryptionConfiguration"] = {"kmsKeyName": key}
        self.replies[f"{base}/{name}"] = body
        if policy is not None:
            self.replies[f"{base}/{name}:getIamPolicy"] = policy
        return f"//bigquery.googleapis.com/projects/{project}/datasets/{dataset}/tables/{name}"

    # --- Cloud SQL -----------------------------------------------------------------------

    def sql(self, project: str, name: str, *, version: str = "POSTGRES_16", region: str = "europe-west9",
            key: str | None = None, networks: tuple[str, ...] = (), public_ip: bool = False,
            ssl_mode: str | None = "ENCRYPTED_ONLY", flags: dict[str, str] | None = None,
            labels: dict[str, str] | None = None, replica_of: str | None = None) -> str:
        ip: dict[str, Any] = {"ipv4Enabled": public_ip, "privateNetwork": f"projects/{project}/global/networks/default",
                              "requireSsl": ssl_mode is not None and ssl_mode != "ALLOW_UNENCRYPTED_AND_ENCRYPTED",
                              "authorizedNetworks": [{"value": n, "name": f"net-{i}", "kind": "sql#aclEntry"}
                                                     for i, n in enumerate(networks)]}
        if ssl_mode is not None:
            ip["sslMode"] = ssl_mode
        instance: dict[str, Any] = {
            "kind": "sql#instance", "state": "RUNNABLE", "databaseVersion": version, "name": name,
            "project": project, "region": region, "gceZone": f"{region}-b", "instanceType": "CLOUD_SQL_INSTANCE",
            "connectionName": f"{project}:{region}:{name}", "backendType": "SECOND_GEN",
            "selfLink": f"{SQL}/projects/{project}/instances/{name}",
            "settings": {
                "kind": "sql#settings", "tier": "db-custom-2-7680", "availabilityType": "REGIONAL",
                "ipConfiguration": ip, "userLabels": labels or {},
                "databaseFlags": [{"name": k, "value": v} for k, v in (flags or {}).items()],
                "backupConfiguration": {"kind": "sql#backupConfiguration", "enabled": True, "startTime": "02:00",
                                        "backupRetentionSettings": {"retentionUnit": "COUNT", "retainedBackups": 14},
                                        "pointInTimeRecoveryEnabled": True},
                "deletionProtectionEnabled": True}}
        if replica_of:  # a read replica names its primary as PROJECT:INSTANCE
            instance.update({"instanceType": "READ_REPLICA_INSTANCE", "masterInstanceName": f"{project}:{replica_of}",
                             "replicaConfiguration": {"kind": "sql#replicaConfiguration", "failoverTarget": False}})
        if key:
            instance["diskEncryptionConfiguration"] = {"kmsKeyName": key, "kind": "sql#diskEncryptionConfiguration"}
            instance["diskEncryptionStatus"] = {"kmsKeyVersionName": f"{key}/cryptoKeyVersions/1",
                                                "kind": "sql#diskEncryptionStatus"}
        self.replies.setdefault(f"/v1/projects/{project}/instances", {}).setdefault("items", []).append(instance)
        return f"//cloudsql.googleapis.com/projects/{project}/instances/{name}"

    # --- Compute Engine ------------------------------------------------------------------

    def disk(self, project: str, name: str, *, zone: str = "europe-west9-a", key: str | None = None,
             labels: dict[str, str] | None = None, policy: dict[str, Any] | int | None = None,
             source: str | None = None) -> str:
        """A disk, maybe restored from ``source`` (a snapshot's or image's ``projects/P/…`` path)."""
        path = f"projects/{project}/zones/{zone}/disks/{name}"
        disk: dict[str, Any] = {
            "kind": "compute#disk", "id": "4865176349015364710", "name": name, "sizeGb": "200",
            "zone": f"{COMPUTE}/projects/{project}/zones/{zone}", "status": "READY",
            "selfLink": f"{COMPUTE}/{path}", "type": f"{COMPUTE}/projects/{project}/zones/{zone}/diskTypes/pd-balanced",
            "users": [f"{COMPUTE}/projects/{project}/zones/{zone}/instances/pms-app-1"],
            "labels": labels or {}, "labelFingerprint": "42WmSpB8rSM=", "physicalBlockSizeBytes": "4096"}
        if key:
            disk["diskEncryptionKey"] = {"kmsKeyName": f"{key}/cryptoKeyVersions/1"}
        if source:
            field_ = "sourceImage" if "/global/images/" in source else "sourceSnapshot"
            disk.update({field_: f"{COMPUTE}/{source}", f"{field_}Id": "7386311947263523812"})
        listing = self.replies.setdefault(f"/compute/v1/projects/{project}/aggregated/disks", {
            "kind": "compute#diskAggregatedList", "id": f"projects/{project}/aggregated/disks",
            "items": {"zones/us-central1-a": {"warning": {
                "code": "NO_RESULTS_ON_PAGE", "message": "There are no results for scope 'zones/us-central1-a' "
                "on this page.", "data": [{"key": "scope", "value": "zones/us-central1-a"}]}}}})
        listing["items"].setdefault(f"zones/{zone}", {"disks": []})["disks"].append(disk)
        if policy is not None:
            self.replies[f"/compute/v1/{path}/getIamPolicy"] = policy
        return f"//compute.googleapis.com/{path}"

    def snapshot(self, project: str, name: str, *, locations: tuple[str, ...] = ("eu",), key: str | None = None,
                 labels: dict[str, str] | None = None, policy: dict[str, Any] | int | None = None) -> str:
        snapshot: dict[str, Any] = {
            "kind": "compute#snapshot", "id": "7386311947263523812", "name": name, "status": "READY",
            "sourceDisk": f"{COMPUTE}/projects/{project}/zones/europe-west9-a/disks/pms-data",
            "diskSizeGb": "200", "storageBytes": "9461440512", "storageLocations": list(locations),
            "selfLink": f"{COMPUTE}/projects/{project}/global/snapshots/{name}", "labels": labels or {},
            "snapshotType": "STANDARD"}
        if key:
            snapshot["snapshotEncryptionKey"] = {"kmsKeyName": f"{key}/cryptoKeyVersions/1"}
        listing = self.replies.setdefault(f"/compute/v1/projects/{project}/global/snapshots", {
            "kind": "compute#snapshotList", "id": f"projects/{project}/global/snapshots"})
        listing.setdefault("items", []).append(snapshot)
        if policy is not None:
            self.replies[f"/compute/v1/projects/{project}/global/snapshots/{name}/getIamPolicy"] = policy
        return f"//compute.googleapis.com/projects/{project}/global/snapshots/{name}"

    def image(self, project: str, name: str, *, source: str, locations: tuple[str, ...] = ("eu",),
              labels: dict[str, str] | None = None, policy: dict[str, Any] | int | None = None) -> str:
        """An image made from ``source`` (a disk's or snapshot's ``projects/P/…`` path)."""
        field_ = "sourceSnapshot" if "/global/snapshots/" in source else "sourceDisk"
        image: dict[str, Any] = {
            "kind": "compute#image", "id": "5310422683419520122", "name": name, "status": "READY",
            "sourceType": "RAW", field_: f"{COMPUTE}/{source}", f"{field_}Id": "4865176349015364710",
            "diskSizeGb": "200", "archiveSizeBytes": "4318402816", "storageLocations": list(locations),
            "selfLink": f"{COMPUTE}/projects/{project}/global/images/{name}", "labels": labels or {},
            "labelFingerprint": "42WmSpB8rSM=", "family": "pms", "creationTimestamp": "2025-12-01T03:00:00.000-08:00"}
        listing = self.replies.setdefault(f"/compute/v1/projects/{project}/global/images", {
            "kind": "compute#imageList", "id": f"projects/{project}/global/images"})
        listing.setdefault("items", []).append(image)
        if policy is not None:
            self.replies[f"/compute/v1/projects/{project}/global/images/{name}/getIamPolicy"] = policy
        return f"//compute.googleapis.com/projects/{project}/global/images/{name}"

    # --- Healthcare API ------------------------------------------------------------------

    def healthcare(self, project: str, dataset: str, *, location: str = "europe-west4", key: str | None = None,
                   policy: dict[str, Any] | int | None = None) -> str:
        locations = self.replies.setdefault(f"/v1/projects/{project}/locations", {"locations": []})
        if location not in [loc["locationId"] for loc in locations["locations"]]:
            locations["locations"].append({"name": f"projects/{project}/locations/{location}",
                                           "locationId": location})
        name = f"projects/{project}/locations/{location}/datasets/{dataset}"
        body: dict[str, Any] = {"name": name, "timeZone": "Europe/Paris"}
        if key:
            body["encryptionSpec"] = {"kmsKeyName": key}
        self.replies.setdefault(f"/v1/projects/{project}/locations/{location}/datasets", {}).setdefault(
            "datasets", []).append(body)
        if policy is not None:
            self.replies[f"/v1/{name}:getIamPolicy"] = policy
        return name

    def healthcare_store(self, dataset: str, collection: str, name: str, *, labels: dict[str, str] | None = None,
                         policy: dict[str, Any] | int | None = None) -> str:
        full = f"{dataset}/{collection}/{name}"
        store: dict[str, Any] = {"name": full, "labels": labels or {}}
        if collection == "fhirStores":
            store.update({"version": "R4", "enableUpdateCreate": True, "disableReferentialIntegrity": False})
        self.replies.setdefault(f"/v1/{dataset}/{collection}", {}).setdefault(collection, []).append(store)
        if policy is not None:
            self.replies[f"/v1/{full}:getIamPolicy"] = policy
        return f"//healthcare.googleapis.com/{full}"

    # --- answering -----------------------------------------------------------------------

    def _reply(self, request: Any) -> tuple[int, dict[str, str], str]:
        url = urlsplit(request.url)
        path = unquote(url.path)
        self.seen.append((request.method, path))
        if request.method == "POST":
            assert path.endswith(":getIamPolicy"), path  # nothing but the read-only POST
            assert json.loads(request.body or b"{}") == {"options": {"requestedPolicyVersion": 3}}
        reply = self.failures[path].pop(0) if self.failures.get(path) else self.replies.get(path)
        if reply is None:
            if path.endswith(("getIamPolicy", ":getIamPolicy")):
                reply = EMPTY_POLICY
            elif any(p.search(path) for p in LISTINGS):
                reply = {}
            else:
                reply = 404
        if isinstance(reply, list):  # pages: the token is the next page's index
            index = int(parse_qs(url.query).get("pageToken", ["0"])[0])
            page = dict(reply[index])
            if index + 1 < len(reply):
                page["nextPageToken"] = str(index + 1)
            reply = page
        if isinstance(reply, int):
            return reply, {"Content-Type": "application/json"}, json.dumps(
                {"error": {"code": reply, "message": "The caller does not have permission (caller@example.org)",
                           "status": {403: "PERMISSION_DENIED", 404: "NOT_FOUND"}.get(reply, "UNAVAILABLE")}})
        if "error" in reply:
            return int(reply["error"]["code"]), {"Content-Type": "application/json"}, json.dumps(reply)
        return 200, {"Content-Type": "application/json"}, json.dumps(reply)


__all__ = ["Stores", "disabled"]
