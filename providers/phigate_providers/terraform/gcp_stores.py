"""BigQuery datasets and tables, Cloud SQL instances, Compute Engine disks and snapshots and
Healthcare API stores of a plan, in the gcp provider's normalised shape (same kinds, types, ids
where the project is known, and attributes).

An attribute the configuration leaves unset takes the Google provider's documented default (a
dataset without ``access`` blocks gets BigQuery's default entries, none public; an instance
without ``ssl_mode`` accepts connections without TLS; ``ipv4_enabled`` is true; a disk without
``disk_encryption_key`` uses a Google-managed key); one known only after apply stays
:class:`~phigate.api.Unknown`. Public grants come from the stores' own blocks and from the
plan's IAM resources on them (``google_bigquery_dataset_iam_member`` …); one whose store cannot
be told, or whose members are known only after apply, leaves the public grants of every store it
may name unknown. The same bindings (and a dataset's access entries, authorized views included)
feed the plan's access graph (:mod:`phigate_providers.terraform.gcp_graph`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from phigate.api import Resource, Unknown
from phigate_providers.gcp import store_kinds as kinds
from phigate_providers.gcp.access import PUBLIC_MEMBERS
from phigate_providers.terraform.context import Context
from phigate_providers.terraform.gcs import bindings_of, cmek
from phigate_providers.terraform.plan import PlannedResource
from phigate_providers.terraform.values import (
    after_apply,
    configured,
    expression,
    is_unknown,
    known_bool,
    trace,
    value,
)

DATASET, TABLE = "google_bigquery_dataset", "google_bigquery_table"
DATASET_ID = ("dataset_id",)
SQL = "google_sql_database_instance"
DISKS = {"google_compute_disk": kinds.DISK_TYPE, "google_compute_region_disk": kinds.DISK_TYPE}
SNAPSHOT = "google_compute_snapshot"
HEALTHCARE_DATASET = "google_healthcare_dataset"
HEALTHCARE_STORES = {"google_healthcare_fhir_store": "fhirStores",
                     "google_healthcare_dicom_store": "dicomStores",
                     "google_healthcare_hl7_v2_store": "hl7V2Stores"}
ROLES = ("member", "binding", "policy")
#: IAM resources whose public members make a store public: type → (store types, the attribute
#: naming the store).
IAM: Mapping[str, tuple[tuple[str, ...], str]] = {
    **{f"google_bigquery_dataset_iam_{k}": ((DATASET,), "dataset_id") for k in ROLES},
    "google_bigquery_dataset_access": ((DATASET,), "dataset_id"),
    **{f"google_bigquery_table_iam_{k}": ((TABLE,), "table_id") for k in ROLES},
    **{f"google_healthcare_dataset_iam_{k}": ((HEALTHCARE_DATASET,), "dataset_id") for k in ROLES},
    **{f"{store}_iam_{k}": ((store,), f"{store.removeprefix('google_healthcare_')}_id")
       for store in HEALTHCARE_STORES for k in ROLES},
    **{f"google_compute_disk_iam_{k}": (("google_compute_disk",), "name") for k in ROLES},
    **{f"google_compute_snapshot_iam_{k}": ((SNAPSHOT,), "name") for k in ROLES},
}
#: Types mapped here.
TYPES = (DATASET, TABLE, SQL, *DISKS, SNAPSHOT, HEALTHCARE_DATASET, *HEALTHCARE_STORES, *IAM)
#: Where a store's name comes from, for the ids the live provider gives it.
NAME = {DATASET: "dataset_id", SQL: "name", SNAPSHOT: "name", **dict.fromkeys(DISKS, "name")}


def real_id(context: Context, planned: PlannedResource) -> str | None:
    """The id the gcp provider gives the store, when the plan knows its project and name."""
    project = project_of(context, planned)
    if project is None:
        return None
    if planned.type == TABLE:
        dataset, table = value(planned, ("dataset_id",)), value(planned, ("table_id",))
        ok = isinstance(dataset, str) and isinstance(table, str)
        return kinds.table_id(project, str(dataset), str(table)) if ok else None
    name = value(planned, (NAME[planned.type],)) if planned.type in NAME else None
    if not isinstance(name, str) or not name:
        return None
    if planned.type == DATASET:
        return kinds.dataset_id(project, name)
    if planned.type == SQL:
        return f"//cloudsql.googleapis.com/projects/{project}/instances/{name}"
    if planned.type == SNAPSHOT:
        return f"//compute.googleapis.com/projects/{project}/global/snapshots/{name}"
    scope = "zones" if planned.type == "google_compute_disk" else "regions"
    where = value(planned, (scope[:-1],))
    if not isinstance(where, str):
        return None
    return f"//compute.googleapis.com/projects/{project}/{scope}/{where}/disks/{name}"


def collect(context: Context) -> None:
    public = _public_grants(context)
    plan = context.plan
    datasets = {d.address: d for d in plan.by_type.get(DATASET, ())}
    for planned in datasets.values():
        _dataset(context, planned, public)
    for planned in plan.by_type.get(TABLE, ()):
        _table(context, planned, public)
    for planned in plan.by_type.get(SQL, ()):
        _sql(context, planned)
    for tf_type in (*DISKS, SNAPSHOT):
        for planned in plan.by_type.get(tf_type, ()):
            _volume(context, planned)
    for tf_type, collection in HEALTHCARE_STORES.items():
        for planned in plan.by_type.get(tf_type, ()):
            _healthcare(context, planned, collection, public)


# --- public grants -------------------------------------------------------------------------

def _public_grants(context: Context) -> dict[str, list[str] | Unknown]:
    """Public members the plan's IAM resources grant, by the store's address; an IAM resource
    whose store cannot be told makes every store of its type Unknown."""
    grants: dict[str, list[str] | Unknown] = {}
    for address, parts in iam_parts(context).items():
        if isinstance(parts, Unknown):
            grants[address] = parts
            continue
        for planned in parts:
            _merge(grants, address, _members(planned))
    return grants


def iam_parts(context: Context) -> dict[str, list[PlannedResource] | Unknown]:
    """The plan's IAM resources on each store, by the store's address; Unknown for every store
    an IAM resource may name when which one it names cannot be told."""
    plan = context.plan
    parts: dict[str, list[PlannedResource] | Unknown] = {}
    for tf_type, (targets, attribute) in IAM.items():
        for planned in plan.by_type.get(tf_type, ()):
            store = trace(plan, planned, expression(planned, (attribute,)), frozenset(targets)).resource
            if store is None:
                store = by_literal(context, planned, targets, attribute)
            if store is not None:
                found = parts.setdefault(store.address, [])
                if isinstance(found, list):
                    found.append(planned)
                continue
            unknown = Unknown(f"{planned.address}: the store it grants on cannot be told from the plan")
            for target in (s for t in targets for s in plan.by_type.get(t, ())):
                parts[target.address] = unknown
    return parts


def _members(planned: PlannedResource) -> list[str] | Unknown:
    if planned.type == "google_bigquery_dataset_access":
        entry = _access_member(planned.values, planned.unknown)
        return entry if is_unknown(entry) else [entry] if entry in PUBLIC_MEMBERS else []
    found = bindings_of([planned])
    if isinstance(found, Unknown):
        return found
    return sorted({m for b in found for m in b.members if m in PUBLIC_MEMBERS})


def by_literal(context: Context, planned: PlannedResource, targets: tuple[str, ...],
                attribute: str) -> PlannedResource | None:
    """The planned store an IAM resource names by a literal (its name, or its full id)."""
    literal = value(planned, (attribute,))
    if not isinstance(literal, str) or not literal:
        return None
    for tf_type in targets:
        for store in context.plan.by_type.get(tf_type, ()):
            names = {found for found in (value(store, ("id",)), value(store, ("name",)),
                                         value(store, DATASET_ID), value(store, ("table_id",)))
                     if isinstance(found, str) and found}
            same_dataset = tf_type != TABLE or value(store, DATASET_ID) == value(planned, DATASET_ID)
            if (literal in names or literal.rsplit("/", 1)[-1] in names) and same_dataset:
                return store
    return None


def _merge(grants: dict[str, list[str] | Unknown], address: str, found: list[str] | Unknown) -> None:
    current = grants.get(address, [])
    if isinstance(current, Unknown):
        return
    grants[address] = found if isinstance(found, Unknown) else sorted({*current, *found})


def _public(own: list[str] | Unknown, *more: list[str] | Unknown | None) -> dict[str, Any]:
    found: list[str] | Unknown = own
    for other in more:
        if other is None or isinstance(found, Unknown):
            continue
        found = other if isinstance(other, Unknown) else sorted({*found, *other})
    if isinstance(found, Unknown):
        return {"blocked": found, "grants": found}
    return {"blocked": not found, "grants": found}


# --- BigQuery ------------------------------------------------------------------------------

def _dataset(context: Context, planned: PlannedResource, public: Mapping[str, list[str] | Unknown]) -> None:
    attributes = {
        "engine": "bigquery",
        "encryption": _key(context, planned, ("default_encryption_configuration", 0, "kms_key_name"),
                           ("default_encryption_configuration",)),
        "public_access": _public(_access_blocks(planned), public.get(planned.address)),
    }
    # Google's provider creates a dataset in the US when the configuration names no location.
    location = value(planned, ("location",))
    _add(context, planned, (kinds.DATASET_TYPE, "database"), attributes,
         "us" if location is None else location, labels=("effective_labels", "labels"))


def _access_blocks(planned: PlannedResource) -> list[str] | Unknown:
    """Public members of a dataset's ``access`` blocks (unset: BigQuery's defaults, none public,
    or the entries the dataset already has)."""
    blocks = value(planned, ("access",))
    if is_unknown(blocks):
        return [] if not configured(planned, ("access",)) and "create" in planned.actions else blocks
    found: list[str] = []
    for index, block in enumerate(blocks if isinstance(blocks, list) else ()):
        unknown = planned.unknown.get("access") if isinstance(planned.unknown, Mapping) else None
        member = _access_member(block, unknown[index] if isinstance(unknown, list) and index < len(unknown)
                                else None)
        if is_unknown(member):
            return after_apply(f"{planned.address}.access")
        if member in PUBLIC_MEMBERS:
            found.append(str(member))
    return sorted(set(found))


def _access_member(block: Any, unknown: Any) -> str | Unknown | None:
    """The IAM member of an access block or ``google_bigquery_dataset_access`` (None: a view,
    dataset or routine, or a user, group or domain: never public)."""
    if not isinstance(block, Mapping):
        return None
    for name in ("special_group", "iam_member"):
        if isinstance(unknown, Mapping) and unknown.get(name) is True:
            return Unknown(f"{name} known only after apply")
    special, member = block.get("special_group"), block.get("iam_member")
    if special == "allAuthenticatedUsers":
        return "allAuthenticatedUsers"
    return str(member) if isinstance(member, str) and member else None


def _table(context: Context, planned: PlannedResource, public: Mapping[str, list[str] | Unknown]) -> None:
    view = value(planned, ("view",))
    if isinstance(view, list) and view:  # a view holds no data, as the live provider reports
        return
    dataset = trace(context.plan, planned, expression(planned, DATASET_ID), frozenset({DATASET})).resource
    if dataset is None:
        dataset = by_literal(context, planned, (DATASET,), "dataset_id")
    path = ("encryption_configuration", 0, "kms_key_name")
    encryption = _key(context, planned, path, ("encryption_configuration",))
    if encryption["key"] is None and not configured(planned, path):
        # Unset: a new table takes its dataset's default key when it is made.
        if dataset is not None:
            encryption = _key(context, dataset, ("default_encryption_configuration", 0, "kms_key_name"),
                              ("default_encryption_configuration",))
        elif "create" in planned.actions:
            unknown = Unknown(f"{planned.address}: takes its dataset's default key, not in the plan")
            encryption = {"at_rest": True, "algorithm": unknown, "key": unknown, "key_manager": unknown}
    dataset_public = _public(_access_blocks(dataset), public.get(dataset.address))["grants"] if dataset else \
        Unknown(f"{planned.address}: its dataset is not in the plan")
    attributes: dict[str, Any] = {"encryption": encryption,
                                  "public_access": _public(dataset_public, public.get(planned.address))}
    name = value(planned, ("dataset_id",))
    if isinstance(name, str):
        attributes["database"] = name
    location = value(dataset, ("location",)) if dataset is not None else None
    # A table holds its dataset's data: it carries the dataset's labels under its own.
    inherited = context.tags(dataset, ("effective_labels", "labels")) if dataset is not None else None
    if isinstance(inherited, dict):
        inherited = {k: v for k, v in inherited.items() if k != "goog-terraform-provisioned"}
    _add(context, planned, (kinds.TABLE_TYPE, "table"), attributes,
         ("us" if location is None else location) if dataset is not None else None,
         labels=("effective_labels", "labels"), inherited=inherited)


# --- Cloud SQL -----------------------------------------------------------------------------

def _primary_labels(context: Context, planned: PlannedResource) -> Mapping[str, str] | Unknown | None:
    """The labels of the instance a read replica copies (``master_instance_name``), when the
    plan holds it: a replica holds its primary's data, so it carries them under its own."""
    primary = trace(context.plan, planned, expression(planned, ("master_instance_name",)), frozenset({SQL}))
    if primary.resource is None:
        return None
    found = value(primary.resource, ("settings", 0, "user_labels"))
    return found if isinstance(found, Unknown) else {str(k): str(v) for k, v in (found or {}).items()}


def _sql(context: Context, planned: PlannedResource) -> None:
    ip = ("settings", 0, "ip_configuration", 0)
    ipv4 = known_bool(value(planned, (*ip, "ipv4_enabled")), True)
    networks = value(planned, (*ip, "authorized_networks"))
    if networks is not None and not isinstance(networks, list | Unknown):
        networks = Unknown(f"{planned.address}: authorized networks of another shape")
    if is_unknown(networks) or is_unknown(ipv4):
        open_: Any = networks if is_unknown(networks) else ipv4
    else:
        values = [n.get("value") for n in networks or () if isinstance(n, Mapping)]
        open_ = kinds.open_networks(v for v in values if isinstance(v, str)) if ipv4 else []
        if any(v is None for v in values):
            open_ = after_apply(f"{planned.address}: an authorized network")
    mode, require = value(planned, (*ip, "ssl_mode")), value(planned, (*ip, "require_ssl"))
    secure: Any
    if isinstance(mode, str) or configured(planned, (*ip, "ssl_mode")):
        secure = mode if is_unknown(mode) else mode in kinds.TLS_ONLY
    elif isinstance(require, bool) or configured(planned, (*ip, "require_ssl")):
        secure = require if is_unknown(require) else require is True
    elif "create" in planned.actions:  # neither set: the API's default, ALLOW_UNENCRYPTED_AND_ENCRYPTED
        secure = False
    else:
        secure = mode if is_unknown(mode) else False
    version = value(planned, ("database_version",))
    engine = version.split("_", 1)[0].lower() if isinstance(version, str) else None
    backup = value(planned, ("settings", 0, "backup_configuration", 0, "enabled"))
    kept = value(planned, ("settings", 0, "backup_configuration", 0, "backup_retention_settings", 0,
                           "retained_backups"))
    database = {
        "engine": {"postgres": "postgresql"}.get(engine or "", engine),
        "encryption": _key(context, planned, ("encryption_key_name",), None),
        "public_access": {"blocked": open_ if is_unknown(open_) else not open_, "grants": open_},
        "deletion_protection": known_bool(value(planned, ("settings", 0, "deletion_protection_enabled")),
                                          False),
        "backup_retention_days": backup if is_unknown(backup) else
        (kept if isinstance(kept, int) or is_unknown(kept) else 7) if backup else 0,
    }
    region = value(planned, ("region",))
    built = _add(context, planned, (kinds.SQL_TYPE, "database"), database,
                 region if region is not None else context.region(planned), labels=None,
                 inherited=_primary_labels(context, planned))
    if built is None:
        return
    flags = value(planned, ("settings", 0, "database_flags"))
    server: dict[str, Any] = {"ssl": True, "secure_transport_required": secure,
                              "version": version if isinstance(version, str) else None}
    if flags is not None and not isinstance(flags, list | Unknown):
        flags = Unknown(f"{planned.address}: database flags of another shape")
    if is_unknown(flags):
        server["logging"] = flags
    else:
        named = {str(f.get("name")): str(f.get("value", "")).lower()
                 for f in flags or () if isinstance(f, Mapping)}
        server.update(kinds.server_logging(engine, named, {}))
    resource = Resource(id=f"{built.id}/server", type=kinds.SQL_SERVER_TYPE, kind="db_server", provider="gcp",
                        scope=built.scope, region=built.region, name=f"{planned.address} (server)",
                        tags=built.tags,
                        attributes=server, raw=context.raw(planned))
    context.add(resource, (planned,))


# --- Compute Engine ------------------------------------------------------------------------

def _volume(context: Context, planned: PlannedResource) -> None:
    snapshot = planned.type == SNAPSHOT
    block = "snapshot_encryption_key" if snapshot else "disk_encryption_key"
    raw_key = value(planned, (block, 0, "raw_key"))
    rsa_key = value(planned, (block, 0, "rsa_encrypted_key"))
    if (isinstance(raw_key, str) and raw_key) or (isinstance(rsa_key, str) and rsa_key):
        encryption: dict[str, Any] = {"at_rest": True, "algorithm": "csek", "key": None,
                                      "key_manager": "customer"}
    else:
        encryption = _key(context, planned, (block, 0, "kms_key_self_link"), (block,))
        if isinstance(encryption.get("key"), str):
            encryption["key"] = kinds.KEY_VERSION.sub("", encryption["key"])
    if snapshot:
        locations = value(planned, ("storage_locations",))
        region: Any = (locations[0] if isinstance(locations, list) and len(locations) == 1 else
                       locations if is_unknown(locations) else None)
        size = value(planned, ("disk_size_gb",))
    else:
        zone = value(planned, ("zone",)) if planned.type == "google_compute_disk" else None
        region = (zone.rsplit("-", 1)[0] if isinstance(zone, str) else zone if is_unknown(zone) else None) \
            if planned.type == "google_compute_disk" else value(planned, ("region",))
        region = region if region is not None else context.region(planned)
        size = value(planned, ("size",))
    attributes: dict[str, Any] = {"encryption": encryption, "attached_to": [],
                                  "size_gb": size if isinstance(size, int) or is_unknown(size) else None}
    inherited: Mapping[str, str] | Unknown | None = None
    source = trace(context.plan, planned, expression(planned, ("source_disk",)), frozenset(DISKS)).resource \
        if snapshot else None
    if source is not None:  # a snapshot holds its disk's data: it carries the disk's labels
        built = context.by_source.get(source.address)
        inherited = built.tags if built is not None else Unknown(f"{source.address}: labels not known")
    _add(context, planned, (kinds.SNAPSHOT_TYPE if snapshot else DISKS[planned.type], "volume"), attributes,
         region, labels=("effective_labels", "labels"), inherited=inherited)


# --- Healthcare API ------------------------------------------------------------------------

def _healthcare(context: Context, planned: PlannedResource, collection: str,
                public: Mapping[str, list[str] | Unknown]) -> None:
    dataset = trace(context.plan, planned, expression(planned, ("dataset",)),
                    frozenset({HEALTHCARE_DATASET})).resource
    if dataset is None:
        dataset = by_literal(context, planned, (HEALTHCARE_DATASET,), "dataset")
    if dataset is None:  # its key and location are the dataset's, not in the plan
        unknown = Unknown(f"{planned.address}: its dataset is not in the plan")
        encryption: dict[str, Any] = {"at_rest": True, "algorithm": unknown, "key": unknown,
                                      "key_manager": unknown}
        region: Any = unknown
        grants: Any = unknown
    else:
        encryption = _key(context, dataset, ("encryption_spec", 0, "kms_key_name"), ("encryption_spec",))
        region = value(dataset, ("location",))
        grants = public.get(dataset.address, [])
    engine = {"fhirStores": "fhir", "dicomStores": "dicom", "hl7V2Stores": "hl7v2"}[collection]
    attributes = {"engine": engine, "encryption": encryption,
                  "public_access": _public(grants, public.get(planned.address))}
    _add(context, planned, (kinds.HEALTHCARE_TYPES[collection], "database"), attributes, region,
         labels=("effective_labels", "labels"))


# --- shared --------------------------------------------------------------------------------

def _key(context: Context, planned: PlannedResource, path: tuple[str | int, ...],
         block: tuple[str, ...] | None) -> dict[str, Any]:
    """``encryption`` from the key at ``path``; a key the configuration does not set, computed by
    the provider for a new store, is none: Google-managed."""
    unset = not configured(planned, path) and (block is None or not configured(planned, (*block, 0)))
    if unset and "create" in planned.actions and is_unknown(value(planned, path)):
        return {"at_rest": True, "algorithm": "google-managed", "key": None, "key_manager": "provider"}
    return cmek(context, planned, path, block)


def _add(context: Context, planned: PlannedResource, what: tuple[str, str], attributes: dict[str, Any],
         region: Any, *, labels: tuple[str, ...] | None,
         inherited: Mapping[str, str] | Unknown | None = None) -> Resource | None:
    """Add the store (``what``: its type and kind) unless its labels (or ``inherited``, those of
    the store it copies) are known only after apply."""
    rtype, kind = what
    rid = context.id_of(planned)
    if labels is None:  # Cloud SQL: settings.user_labels
        found = value(planned, ("settings", 0, "user_labels"))
        tags: Any = found if is_unknown(found) else {str(k): str(v) for k, v in (found or {}).items()}
    else:
        tags = context.tags(planned, labels)
    if is_unknown(tags) or isinstance(inherited, Unknown):
        context.tags_unknown(planned, kind, rid, rtype)
        return None
    own = {k: v for k, v in tags.items() if k != "goog-terraform-provisioned"}
    tags = kinds.merged_labels(inherited or {}, own)
    resource = Resource(id=rid, type=rtype, kind=kind, provider="gcp", scope=context.plan.label,
                        region=region.lower() if isinstance(region, str) else None, name=planned.address,
                        tags=tags, attributes=attributes, raw=context.raw(planned))
    key = attributes["encryption"].get("key")
    context.add(resource, (planned,), [key] if isinstance(key, str) else [])
    return resource


def project_of(context: Context, planned: PlannedResource) -> str | None:
    own = value(planned, ("project",))
    if isinstance(own, str) and own:
        return own
    config = context.provider_config(planned) or {}
    expr = (config.get("expressions") or {}).get("project")
    if not isinstance(expr, Mapping):
        return None
    target = trace(context.plan, planned, expr)
    return target.constant if target.has_constant and isinstance(target.constant, str) else None


__all__ = ["DATASET", "DATASET_ID", "DISKS", "HEALTHCARE_DATASET", "HEALTHCARE_STORES", "IAM", "SNAPSHOT",
           "TABLE", "TYPES", "by_literal", "collect", "iam_parts", "project_of", "real_id"]
