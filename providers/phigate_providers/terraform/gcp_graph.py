"""The plan's BigQuery, Compute Engine and Healthcare API stores in the access graph: the
bindings of their IAM resources and of a dataset's access entries (authorized views, datasets
and routines as links), which :func:`phigate_providers.terraform.gcs.collect` closes with the
buckets' grants. A binding on a dataset reaches its tables, on a Healthcare dataset its stores."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from phigate.api import Unknown
from phigate_providers.gcp import store_kinds as kinds
from phigate_providers.gcp.access import Binding
from phigate_providers.terraform.context import Context
from phigate_providers.terraform.gcp_stores import (
    DATASET,
    DATASET_ID,
    DISKS,
    HEALTHCARE_DATASET,
    HEALTHCARE_STORES,
    SNAPSHOT,
    TABLE,
    by_literal,
    iam_parts,
    project_of,
)
from phigate_providers.terraform.gcs import bindings_of
from phigate_providers.terraform.plan import PlannedResource
from phigate_providers.terraform.values import configured, expression, is_unknown, trace, value

#: What the access graph knows of each store type: (service, noun).
GRAPH = {DATASET: ("bigquery", "dataset"), TABLE: ("bigquery", "table"),
         **dict.fromkeys(DISKS, ("compute", "disk")), SNAPSHOT: ("compute", "snapshot"),
         HEALTHCARE_DATASET: ("healthcare", "Healthcare API dataset"),
         **{t: ("healthcare", kinds.HEALTHCARE_NOUNS[c]) for t, c in HEALTHCARE_STORES.items()}}


@dataclass(frozen=True)
class GraphStore:
    """A store of the plan as the access graph sees it: its bindings (Unknown when they cannot
    all be told), what it belongs to, and what reads it through an authorized view."""

    id: str
    address: str
    service: str
    noun: str
    bindings: list[Binding] | Unknown
    parent: str | None = None
    holds_data: bool = True
    links: tuple[tuple[str, str], ...] = ()
    sources: tuple[PlannedResource, ...] = ()


def graph(context: Context) -> list[GraphStore]:
    """The stores built by :func:`collect` (and Healthcare datasets, views: what leads to data),
    with the bindings of their IAM resources and BigQuery access entries."""
    plan = context.plan
    parts = iam_parts(context)
    found: list[GraphStore] = []
    for tf_type, (service, noun) in GRAPH.items():
        for planned in plan.by_type.get(tf_type, ()):
            view = tf_type == TABLE and bool(value(planned, ("view",)))
            leads = view or tf_type == HEALTHCARE_DATASET
            if not leads and planned.address not in context.by_source:
                continue  # not built (labels known only after apply): an error already
            own = parts.get(planned.address, [])
            bindings: list[Binding] | Unknown = own if isinstance(own, Unknown) else _bindings(own)
            links: list[tuple[str, str]] = []
            if tf_type == DATASET and not isinstance(bindings, Unknown):
                entries = _access_entries(context, planned)
                if isinstance(entries, Unknown):
                    bindings = entries
                else:
                    bindings, links = [*bindings, *entries[0]], entries[1]
            found.append(GraphStore(
                id=context.id_of(planned), address=planned.address, service=service, noun=noun,
                bindings=bindings, parent=_parent(context, planned), holds_data=not leads,
                links=tuple(links), sources=tuple(own) if isinstance(own, list) else ()))
    return found


def _bindings(parts: list[PlannedResource]) -> list[Binding] | Unknown:
    access = [p for p in parts if p.type == "google_bigquery_dataset_access"]
    found = bindings_of([p for p in parts if p not in access])
    if isinstance(found, Unknown):
        return found
    for planned in access:
        entry = _entry(planned.values)
        project = value(planned, ("project",))
        bindings, _, strange = kinds.dataset_acl(project if isinstance(project, str) else "", [entry])
        unknown = planned.unknown if isinstance(planned.unknown, Mapping) else {}
        if strange or any(unknown.get(field) for field in ENTRY_FIELDS):
            return Unknown(f"{planned.address}: an access entry known only after apply")
        found.extend(bindings)
    return found


def _access_entries(context: Context, planned: PlannedResource
                    ) -> tuple[list[Binding], list[tuple[str, str]]] | Unknown:
    """A dataset's ``access`` blocks as bindings and authorized-view links (unset at creation:
    BigQuery's default entries, the project's basic-role holders: no edge the project's own
    grants do not give already)."""
    blocks = value(planned, ("access",))
    if is_unknown(blocks):
        if not configured(planned, ("access",)) and "create" in planned.actions:
            return [], []
        return blocks
    project = project_of(context, planned) or ""
    bindings, links, strange = kinds.dataset_acl(project, [_entry(b) for b in blocks or ()])
    if strange:
        return Unknown(f"{planned.address}: an access block phigate cannot read")
    return bindings, links


#: The fields of an access entry (a member, or what it authorizes).
ENTRY_FIELDS = ("role", "user_by_email", "group_by_email", "domain", "special_group", "iam_member", "view",
                "dataset", "routine")


def _entry(block: Any) -> dict[str, Any]:
    """A Terraform access block (or ``google_bigquery_dataset_access``) in the API's spelling."""
    block = block if isinstance(block, Mapping) else {}
    names = {"role": "role", "user_by_email": "userByEmail", "group_by_email": "groupByEmail",
             "domain": "domain", "special_group": "specialGroup", "iam_member": "iamMember"}
    entry: dict[str, Any] = {api: block[tf] for tf, api in names.items() if block.get(tf)}
    refs = {"projectId": "project_id", "datasetId": "dataset_id", "tableId": "table_id",
            "routineId": "routine_id"}
    for kind in ("view", "routine"):
        first = _first(block.get(kind))
        if first:
            entry[kind] = {api: first.get(tf) for api, tf in refs.items() if first.get(tf)}
    dataset = _first(block.get("dataset"))
    if dataset:
        inner = _first(dataset.get("dataset"))
        entry["dataset"] = {"dataset": {api: inner.get(tf) for api, tf in refs.items() if inner.get(tf)}}
    condition = _first(block.get("condition"))
    if condition:
        entry["condition"] = dict(condition)
    return entry


def _first(blocks: Any) -> Mapping[str, Any]:
    first = blocks[0] if isinstance(blocks, list) and blocks else None
    return first if isinstance(first, Mapping) else {}


def _parent(context: Context, planned: PlannedResource) -> str | None:
    """The dataset a table, or a Healthcare store, belongs to (grants on it reach them)."""
    if planned.type == TABLE:
        found = trace(context.plan, planned, expression(planned, DATASET_ID), frozenset({DATASET})).resource
        found = found or by_literal(context, planned, (DATASET,), "dataset_id")
    elif planned.type in HEALTHCARE_STORES:
        found = trace(context.plan, planned, expression(planned, ("dataset",)),
                      frozenset({HEALTHCARE_DATASET})).resource
        found = found or by_literal(context, planned, (HEALTHCARE_DATASET,), "dataset")
    else:
        return None
    return context.id_of(found) if found is not None else None


__all__ = ["GRAPH", "GraphStore", "graph"]
