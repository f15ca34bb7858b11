"""The stores beyond Cloud Storage, one service of one project at a time: what was read, as data.

Each reader runs in a worker and returns a :class:`Found`: resources, collection errors, and
what the access graph and the key reads need (stores, grants, authorized views, keys, and what
could not be read). The collection applies it in its own thread, in order.

Nothing unread passes: a listing that fails is an error over every kind it would have shown in
the project; an item that cannot be read is an error naming it; an IAM policy (or a BigQuery ACL
entry of a shape not understood) that cannot be read leaves the store without its public grants
(``public_access`` left out) and every principal's reach open (``access_unseen``).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from phigate.api import CollectionError, Record, Resource
from phigate_providers.gcp import store_kinds as kinds
from phigate_providers.gcp.access import Binding, public_members
from phigate_providers.gcp.api import Api
from phigate_providers.gcp.authorized import Public, public_through
from phigate_providers.gcp.failures import Failure, check_complete, describe
from phigate_providers.gcp.links import Link
from phigate_providers.gcp.settings import PERMISSIONS, SERVICES

BIGQUERY = "https://bigquery.googleapis.com/bigquery/v2/"
SQL_ADMIN = "https://sqladmin.googleapis.com/v1/"
COMPUTE = "https://compute.googleapis.com/compute/v1/"
HEALTHCARE = "https://healthcare.googleapis.com/v1/"
POLICY_V3 = {"options": {"requestedPolicyVersion": 3}}
HEALTHCARE_V3 = "?options.requestedPolicyVersion=3"
#: Answers meaning the service's API is off in the project (Google's machine reasons).
DISABLED = ("accessNotConfigured", "SERVICE_DISABLED")
#: Kinds and types each service's project-wide listing would have shown.
SHOWN: Mapping[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "bigquery": (("database", "table", "principal"), (kinds.DATASET_TYPE, kinds.TABLE_TYPE)),
    "sql": (("database", "db_server", "principal"), (kinds.SQL_TYPE, kinds.SQL_SERVER_TYPE)),
    "compute": (("volume", "principal"), (kinds.DISK_TYPE, kinds.SNAPSHOT_TYPE, kinds.IMAGE_TYPE)),
    "healthcare": (("database", "principal"), tuple(kinds.HEALTHCARE_TYPES.values())),
}
NAMES = {"bigquery": "BigQuery", "sql": "Cloud SQL", "compute": "Compute Engine",
         "healthcare": "Healthcare API"}
#: What an error covers: (kinds, types).
Shown = tuple[tuple[str, ...], tuple[str, ...]]
BQ_ALL: Shown = (("database", "table"), (kinds.DATASET_TYPE, kinds.TABLE_TYPE))
BQ_TABLES: Shown = (("table",), (kinds.TABLE_TYPE,))


@dataclass
class Found:
    """What one reader saw, for the collection to apply in order."""

    project: str
    #: Whether stores' own IAM policies are read (no selected policy reads public access or
    #: principals: they are not, and nothing is claimed about them).
    iam: bool = True
    records: list[Record] = field(default_factory=list)
    #: (store id, service, noun, parent, holds data)
    stores: list[tuple[str, str, str, str | None, bool]] = field(default_factory=list)
    grants: list[tuple[str, list[Binding]]] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    #: Why some store's grants are unknown, and the permission a denial names.
    unknown: list[tuple[str, str | None]] = field(default_factory=list)

    def store(self, resource_id: str, service: str, noun: str, *, parent: str | None = None,
              holds_data: bool = True) -> None:
        self.stores.append((resource_id, service, noun, parent, holds_data))

    def error(self, what: str, failure: Failure, permission: str, shown: Shown, *,
              resource_id: str | None = None, region: str | None = None, unknown: str | None = None) -> None:
        """An error for what could not be read; with ``unknown``, grants there are unknown too."""
        disabled = any(reason in failure.reason for reason in DISABLED)
        needs = None if disabled else failure.needs(permission)  # a switched-off API, not a role
        hint = ("; the API is not enabled in the project: enable it (reading changes nothing) or "
                "leave the service out with providers.gcp.services" if disabled else "")
        message = f"{what}: {failure.described(needs)}{hint}" + (f"; {unknown}" if unknown else "")
        self.records.append(CollectionError(
            provider=kinds.PROVIDER, scope=self.project, region=region, kinds=shown[0], types=shown[1],
            resource_id=resource_id, permission=needs, message=message))
        if unknown:
            self.unknown.append((f"{what}: {failure.described(needs)}", needs))

    def policy(self, api: Api, url: str, on: str, *, what: str, permission: str, shown: Shown,
               body: dict[str, Any] | None = None, resource_id: str | None = None,
               region: str | None = None) -> list[Binding] | None:
        """The bindings of ``on``'s IAM policy, granted in the graph; None when it was not read
        (not needed, or failed: then an error, and grants there are unknown)."""
        if not self.iam:
            return None
        try:
            bindings = kinds.bindings(api.iam(url, body))
        except Exception as exc:
            self.error(f"{what}: cannot read its IAM policy", describe(exc), permission, shown,
                       resource_id=resource_id, region=region,
                       unknown="public grants and who can read it are unknown")
            return None
        self.grants.append((on, bindings))
        return bindings


class ListingFailed(Exception):
    """A project-wide listing failed: ``permission`` is the one its denial names."""

    def __init__(self, permission: str, cause: Exception) -> None:
        super().__init__(permission)
        self.permission, self.cause = permission, cause


def _listing(permission: str, read_: Callable[[], list[dict[str, Any]]]) -> list[dict[str, Any]]:
    try:
        return read_()
    except Exception as exc:
        raise ListingFailed(permission, exc) from exc


def read(service: str, api: Api, project: str, iam: bool = True) -> Found:
    """One service of one project; a failure to list is reported, never raised."""
    found = Found(project, iam)
    try:
        READERS[service](api, project, found)
    except Exception as exc:  # a project-wide listing, or an answer of another shape
        failed = exc.cause if isinstance(exc, ListingFailed) else exc
        permission = exc.permission if isinstance(exc, ListingFailed) else PERMISSIONS[service][0]
        found.error(f"project {project}: cannot list its {NAMES[service]} resources", describe(failed),
                    permission, SHOWN[service], unknown="who can read them is unknown")
    return found


# --- BigQuery ------------------------------------------------------------------------------

@dataclass
class _Seen:
    """What one project's BigQuery reads saw of who reads what publicly: each dataset's and
    view's own public members (None: unread), and datasets whose tables were not all read."""

    own: dict[str, Public] = field(default_factory=dict)
    incomplete: set[str] = field(default_factory=set)
    #: Table snapshots and clones → the table they copy.
    bases: dict[str, str] = field(default_factory=dict)


def _bigquery(api: Api, project: str, found: Found) -> None:
    seen = _Seen()
    _datasets(api, project, found, seen)
    _widen_public(project, found, seen)
    _inherit_bases(found, seen)


def _inherit_bases(found: Found, seen: _Seen) -> None:
    """A table snapshot or clone holds its base table's data: it carries the base's labels
    under its own (a chain of copies, to its first table), where the base was read."""
    tables = {r.id: (i, r) for i, r in enumerate(found.records)
              if isinstance(r, Resource) and r.type == kinds.TABLE_TYPE}
    tags = {table: record.tags for table, (_, record) in tables.items()}
    for _ in range(len(seen.bases)):  # one more link of a chain each time round
        for copy, base in seen.bases.items():
            if copy in tables and base in tables:
                tags[copy] = kinds.merged_labels(tags[base], tables[copy][1].tags)
    for table, (index, record) in tables.items():
        if tags[table] != record.tags:
            found.records[index] = dataclasses.replace(record, tags=tags[table])


def _datasets(api: Api, project: str, found: Found, seen: _Seen) -> None:
    base = f"{BIGQUERY}projects/{quote(project, safe='')}/datasets"
    datasets = _listing("bigquery.datasets.get",
                        lambda: api.items(f"{base}?all=true", "datasets", "maxResults"))
    for item in datasets:  # hidden datasets too
        dataset = _text(_mapping(item.get("datasetReference")).get("datasetId"))
        if dataset is None:
            raise ValueError("a dataset without its id")
        dataset_id = kinds.dataset_id(project, dataset)
        url = f"{base}/{quote(dataset, safe='')}"
        try:
            data = api.get(url)
        except Exception as exc:
            found.error(f"BigQuery dataset {project}.{dataset}: cannot read it", describe(exc),
                        "bigquery.datasets.get", BQ_ALL, resource_id=dataset_id,
                        unknown="who can read it is unknown")
            seen.own[dataset_id] = None
            continue
        bindings, links, strange = kinds.dataset_acl(project, data.get("access"))
        region = kinds.location(data.get("location"))
        if strange:
            entries = "entry" if strange == 1 else "entries"
            found.error(f"BigQuery dataset {project}.{dataset}: {strange} access {entries} of a shape "
                        "phigate does not know", Failure("not understood"), "bigquery.datasets.get", BQ_ALL,
                        resource_id=dataset_id,
                        region=region, unknown="who can read it is unknown")
        public = None if strange else public_members(bindings)
        seen.own[dataset_id] = None if public is None else frozenset(public)
        resource = kinds.dataset_resource(project, data, public)
        found.records.append(resource)
        found.store(dataset_id, "bigquery", "dataset")
        found.grants.append((dataset_id, bindings))
        found.links.extend(Link(reader, dataset_id, how) for reader, how in links)
        found.keys.extend(kinds.keys_of(resource))
        _tables(api, (project, dataset, url), (public, region, resource.tags), found, seen)


#: What a dataset's tables take from it: its public members, region and labels.
Around = tuple[list[str] | None, str | None, Mapping[str, str]]


def _tables(api: Api, where: tuple[str, str, str], around: Around, found: Found, seen: _Seen) -> None:
    """The dataset's tables (``where``: project, dataset, dataset URL; ``around``: the dataset's
    public members, region and labels), each with its IAM policy."""
    project, dataset, url = where
    public, region, labels = around
    dataset_id = kinds.dataset_id(project, dataset)
    try:
        listed = api.items(f"{url}/tables", "tables", "maxResults")
    except Exception as exc:
        found.error(f"BigQuery dataset {project}.{dataset}: cannot list its tables", describe(exc),
                    "bigquery.tables.list", BQ_TABLES, region=region, unknown="who can read them is unknown")
        seen.incomplete.add(dataset_id)
        return
    for item in listed:
        table = _text(_mapping(item.get("tableReference")).get("tableId"))
        if table is None:
            found.error(f"BigQuery dataset {project}.{dataset}: a table without its id",
                        Failure("unexpected answer"), "bigquery.tables.list", BQ_TABLES, region=region,
                        unknown="who can read it is unknown")
            seen.incomplete.add(dataset_id)
            continue
        table_id = kinds.table_id(project, dataset, table)
        table_url = f"{url}/tables/{quote(table, safe='')}"
        try:
            data = api.get(table_url)
        except Exception as exc:
            found.error(f"BigQuery table {project}.{dataset}.{table}: cannot read it", describe(exc),
                        "bigquery.tables.get", BQ_TABLES, resource_id=table_id, region=region,
                        unknown="who can read it is unknown")
            seen.incomplete.add(dataset_id)
            continue
        view = kinds.is_view(data)
        found.store(table_id, "bigquery", "view" if view else "table", parent=dataset_id, holds_data=not view)
        bindings = found.policy(api, f"{table_url}:getIamPolicy", table_id, body=POLICY_V3,
                                what=f"BigQuery table {project}.{dataset}.{table}",
                                permission="bigquery.tables.getIamPolicy", shown=BQ_TABLES,
                                resource_id=table_id, region=region)
        if view:  # a view holds no data: it leads to what it is authorized on (a Link)
            seen.own[table_id] = None if bindings is None else frozenset(public_members(bindings))
            continue
        grants = None if public is None or bindings is None else sorted({*public, *public_members(bindings)})
        resource = kinds.table_resource(project, dataset, data, grants, region=region, inherited=labels)
        base = kinds.base_table(data)
        if base is not None:
            seen.bases[resource.id] = base
        found.records.append(resource)
        found.keys.extend(kinds.keys_of(resource))


def _widen_public(project: str, found: Found, seen: _Seen) -> None:
    """Datasets read through authorized views, datasets or routines are as public as those are
    (their tables too); where those could not all be seen, public access is left out, with an
    error saying why."""
    through = public_through(found.links, seen.own, frozenset(seen.incomplete), project)
    for index, record in enumerate(list(found.records)):
        if not isinstance(record, Resource) or record.type not in (kinds.DATASET_TYPE, kinds.TABLE_TYPE):
            continue
        extra = through.get(record.id.split("/tables/", 1)[0], frozenset())
        exposure = record.attributes.get("public_access")
        if extra == frozenset() or not isinstance(exposure, Mapping):
            continue
        attributes = dict(record.attributes)
        if extra is None:
            del attributes["public_access"]
            if record.type == kinds.DATASET_TYPE:
                why = Failure("read through authorized views, datasets or routines not all seen (of another "
                              "project, or unread)")
                found.error(f"BigQuery dataset {record.name}: public grants unknown", why,
                            "bigquery.datasets.get", BQ_ALL, resource_id=record.id, region=record.region)
        else:
            grants = sorted({*exposure.get("grants", ()), *extra})
            attributes["public_access"] = {"blocked": not grants, "grants": grants}
        found.records[index] = dataclasses.replace(record, attributes=attributes)


# --- Cloud SQL -----------------------------------------------------------------------------

def _sql(api: Api, project: str, found: Found) -> None:
    url = f"{SQL_ADMIN}projects/{quote(project, safe='')}/instances"
    instances = _listing("cloudsql.instances.list", lambda: api.items(url, "items", "maxResults"))
    if any(_text(data.get("name")) is None for data in instances):
        raise ValueError("an instance without its name")
    # A read replica holds its primary's data: it carries the primary's labels under its own.
    labels = {str(data["name"]): kinds.sql_labels(data) for data in instances}
    for data in instances:
        database, server = kinds.sql_resources(project, data, labels.get(kinds.primary_name(data) or ""))
        found.records.extend((database, server))
        found.store(database.id, "sql", "instance")
        found.keys.extend(kinds.keys_of(database))


# --- Compute Engine ------------------------------------------------------------------------

def _compute(api: Api, project: str, found: Found) -> None:
    base = f"{COMPUTE}projects/{quote(project, safe='')}"
    disks = _listing("compute.disks.list", lambda: _aggregated(api, f"{base}/aggregated/disks", "disks"))
    listed = {collection: _listing(f"compute.{collection}.list", functools.partial(
        api.items, f"{base}/global/{collection}", "items", "maxResults")) for collection in COPIES}
    volumes: dict[str, tuple[Resource, list[str]]] = {}  # by path: the volume, the paths it copies
    for data in disks:
        path = kinds.compute_path(data.get("selfLink"))
        if path is None or _text(data.get("name")) is None:
            raise ValueError("a disk without its name or link")
        volumes[path] = kinds.disk_resource(project, data), _sources(data, ("sourceSnapshot", "sourceImage"))
    for collection, (make, fields) in COPIES.items():
        for data in listed[collection]:
            name = _text(data.get("name"))
            if name is None:
                raise ValueError(f"a {collection[:-1]} without its name")
            path = f"projects/{project}/global/{collection}/{name}"
            volumes[path] = make(project, data), _sources(data, fields)
    # A copy holds its source's data: it carries the source's labels under its own (a disk
    # restored from a snapshot or image, a snapshot of a disk, an image of any), down a chain.
    tags = {path: volume.tags for path, (volume, _) in volumes.items()}
    for _ in range(len(volumes)):
        for path, (volume, sources) in volumes.items():
            source = next((tags[s] for s in sources if s in tags and s != path), None)
            if source is not None:
                tags[path] = kinds.merged_labels(source, volume.tags)
    for path, (volume, _) in volumes.items():
        _volume(api, dataclasses.replace(volume, tags=tags[path]), path, found)


def _sources(data: Mapping[str, Any], fields: tuple[str, ...]) -> list[str]:
    """The paths of what a disk, snapshot or image was made from."""
    return [path for path in (kinds.compute_path(data.get(name)) for name in fields) if path is not None]


#: Copies of disks: how each is made into a resource, and the fields naming what it copies.
COPIES: Mapping[str, tuple[Callable[[str, Mapping[str, Any]], Resource], tuple[str, ...]]] = {
    "snapshots": (kinds.snapshot_resource, ("sourceDisk",)),
    "images": (kinds.image_resource, ("sourceDisk", "sourceSnapshot", "sourceImage")),
}


def _volume(api: Api, resource: Resource, path: str, found: Found) -> None:
    noun = {kinds.SNAPSHOT_TYPE: "snapshot", kinds.IMAGE_TYPE: "image"}.get(resource.type, "disk")
    bindings = found.policy(api, f"{COMPUTE}{path}/getIamPolicy?optionsRequestedPolicyVersion=3", resource.id,
                            what=resource.id, permission=f"compute.{noun}s.getIamPolicy",
                            shown=(("volume",), (resource.type,)), resource_id=resource.id,
                            region=resource.region)
    if bindings is not None:  # unread: public access left out, so it is undecided, never private
        public = public_members(bindings)
        resource = dataclasses.replace(resource, attributes={
            **resource.attributes, "public_access": {"blocked": not public, "grants": public}})
    found.records.append(resource)
    found.store(resource.id, "compute", noun)
    found.keys.extend(kinds.keys_of(resource))


def _aggregated(api: Api, url: str, key: str) -> list[dict[str, Any]]:
    """An ``aggregatedList``: ``items`` maps each zone or region to its list (or a warning that
    it holds none), every page. A zone the API could not reach fails the listing."""
    found: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        body = api.get(url + "?maxResults=500" + (f"&pageToken={quote(token, safe='')}" if token else ""))
        check_complete(body)
        scopes = body.get("items", {})
        if not isinstance(scopes, Mapping):
            raise ValueError("an aggregated listing of another shape")
        for scoped in scopes.values():
            listed = _mapping(scoped).get(key, [])
            if not isinstance(listed, list) or not all(isinstance(item, Mapping) for item in listed):
                raise ValueError("an aggregated listing of another shape")
            # A scope's warning: none there (NO_RESULTS_ON_PAGE), or it could not be read
            # (UNREACHABLE …): its disks are then missing from the answer.
            check_complete(_mapping(scoped))
            found.extend(dict(item) for item in listed)
        token = body.get("nextPageToken") or None
        if token is None:
            return found


# --- Healthcare API ------------------------------------------------------------------------

def _healthcare(api: Api, project: str, found: Found) -> None:
    base = f"{HEALTHCARE}projects/{quote(project, safe='')}/locations"
    for location in _listing("healthcare.locations.list", lambda: api.items(base, "locations")):
        where = _text(location.get("locationId"))
        if where is None:
            raise ValueError("a location without its id")
        url = f"{base}/{quote(where, safe='')}/datasets"
        for data in _listing("healthcare.datasets.list", lambda: api.items(url, "datasets")):  # noqa: B023
            name = _text(data.get("name"))
            if name is None or not kinds.HEALTHCARE_DATASET.match(name):
                raise ValueError("a dataset without its name")
            _healthcare_dataset(api, project, data, name, found)


def _healthcare_dataset(api: Api, project: str, data: Mapping[str, Any], name: str, found: Found) -> None:
    dataset = kinds.healthcare_id(name)
    region = kinds.location(name.split("/")[3])
    found.store(dataset, "healthcare", "Healthcare API dataset", holds_data=False)
    key = _text(_mapping(data.get("encryptionSpec")).get("kmsKeyName"))
    if key:
        found.keys.append(key)
    # A failure names no store: every store of the project is in doubt (its public grants).
    bindings = found.policy(api, f"{HEALTHCARE}{name}:getIamPolicy{HEALTHCARE_V3}", dataset, what=dataset,
                            permission="healthcare.datasets.getIamPolicy", shown=SHOWN["healthcare"],
                            region=region)
    public = None if bindings is None else public_members(bindings)
    for collection, type_ in kinds.HEALTHCARE_TYPES.items():
        try:
            stores = api.items(f"{HEALTHCARE}{name}/{collection}", collection)
        except Exception as exc:
            found.error(f"{dataset}: cannot list its {kinds.HEALTHCARE_NOUNS[collection]}s", describe(exc),
                        f"healthcare.{collection}.list", (("database",), (type_,)), region=region,
                        unknown="who can read them is unknown")
            continue
        for store in stores:
            store_name = _text(store.get("name"))
            if store_name is None or not store_name.startswith(f"{name}/{collection}/"):
                raise ValueError("a store without its name")
            store_id = kinds.healthcare_id(store_name)
            found.store(store_id, "healthcare", kinds.HEALTHCARE_NOUNS[collection], parent=dataset)
            own = found.policy(api, f"{HEALTHCARE}{store_name}:getIamPolicy{HEALTHCARE_V3}", store_id,
                               what=store_id, permission=f"healthcare.{collection}.getIamPolicy",
                               shown=(("database",), (type_,)), resource_id=store_id, region=region)
            grants = None if public is None or own is None else sorted({*public, *public_members(own)})
            found.records.append(kinds.healthcare_resource(project, collection, store, data, public=grants,
                                                           region=region))


READERS: Mapping[str, Callable[[Api, str, Found], None]] = {
    "bigquery": _bigquery, "sql": _sql, "compute": _compute, "healthcare": _healthcare}


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


__all__ = ["PERMISSIONS", "SERVICES", "Found", "read"]
