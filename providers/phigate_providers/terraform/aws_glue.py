"""The Glue Data Catalog of a plan, as the AWS provider reads it live
(:mod:`phigate_providers.aws.glue`): one ``aws.glue.data_catalog`` ``database`` store per region
(and catalog id) where the plan manages a database, a table, the encryption settings or the
resource policy.

- Encryption: ``aws_glue_data_catalog_encryption_settings``' ``encryption_at_rest``:
  ``SSE-KMS`` and ``SSE-KMS-WITH-SERVICE-ROLE`` encrypt under ``sse_aws_kms_key_id`` (the
  AWS-managed ``aws/glue`` key when unset), ``DISABLED`` leaves metadata in clear. The settings
  are the catalog's, not a database's: a plan that does not manage them does not tell them, and
  the catalog's encryption is unknown. Whether connection passwords are returned encrypted is
  kept in ``raw`` under the live reader's key (no store policy asks it).
- Exposure and reach: ``aws_glue_resource_policy`` of the region, as live; a plan that does not
  manage it does not tell it either: exposure unknown, readers unseen.
- Class: its databases' (a ``data_class`` parameter, else tag), combined as live
  (:func:`phigate_providers.aws.glue.catalog_class`); a database known only after apply, or
  outside the plan (a table's), leaves it unknown unless a known one is clinical: an error,
  never a guess. Databases the catalog holds beyond the plan are the audit's to see.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from phigate.api import Resource, Unknown
from phigate_providers.aws.glue_catalog import (
    CATALOG,
    CLASS_TAG,
    CLINICAL,
    ENCRYPTING_MODES,
    KIND,
    catalog_class,
)
from phigate_providers.aws.read_actions import data_catalog_facets
from phigate_providers.terraform.context import Context
from phigate_providers.terraform.iam import StoreFacts, account_of
from phigate_providers.terraform.keys import DEFAULT, KeyBook, encryption
from phigate_providers.terraform.plan import PlannedResource
from phigate_providers.terraform.store_values import combined, document, exposure, facts_of, text, undecided
from phigate_providers.terraform.values import expression, is_unknown, trace, value

SETTINGS, DATABASE = "aws_glue_data_catalog_encryption_settings", "aws_glue_catalog_database"
TABLE, POLICY = "aws_glue_catalog_table", "aws_glue_resource_policy"
TYPES = frozenset({SETTINGS, DATABASE, TABLE, POLICY})
_AT_REST = ("data_catalog_encryption_settings", 0, "encryption_at_rest", 0)
_PASSWORDS = ("data_catalog_encryption_settings", 0, "connection_password_encryption", 0)
#: A catalog: its region and the account (catalog id) a resource names, None for the plan's own
#: (when not known).
Where = tuple[str | None, str | None]


def collect(context: Context, keys: KeyBook) -> list[StoreFacts]:
    """Every catalog the plan writes to; how the access analysis reads them."""
    plan = context.plan
    named = {_catalog_id(p) for t in (SETTINGS, DATABASE, TABLE) for p in plan.by_type.get(t, ())} - {None}
    own = account_of(context) or (next(iter(named)) if len(named) == 1 else None)
    groups: dict[Where, dict[str, list[PlannedResource]]] = {}
    for tf_type in (SETTINGS, DATABASE, TABLE, POLICY):
        for planned in plan.by_type.get(tf_type, ()):
            # Unset, the catalog id is the plan's own account (shown as such once in the state).
            owner = _catalog_id(planned) if tf_type != POLICY else None
            where = (context.region(planned), None if owner == own else owner)
            groups.setdefault(where, {}).setdefault(tf_type, []).append(planned)
    facts: list[StoreFacts] = []
    for where, parts in sorted(groups.items(), key=lambda item: (str(item[0][0]), str(item[0][1]))):
        found = _catalog(context, keys, (where[0], where[1] or own), parts)
        if found is not None:
            facts.append(found)
    return facts


def _catalog_id(planned: PlannedResource) -> str | None:
    """The account whose catalog a resource writes to, when it names one (unset: its own)."""
    found = value(planned, ("catalog_id",))
    return found if isinstance(found, str) and found else None


def _catalog(context: Context, keys: KeyBook, where: Where, parts: dict[str, list[PlannedResource]]
             ) -> StoreFacts | None:
    region, account = where
    arn = f"arn:aws:glue:{region or '*'}:{account or '*'}:catalog"
    rid = arn if region and account else f"{context.plan.label}#glue-catalog-{region or 'unknown-region'}"
    settings = parts.get(SETTINGS, [])
    policies = parts.get(POLICY, [])
    databases = parts.get(DATABASE, [])
    sources = [*settings, *databases, *parts.get(TABLE, []), *policies]
    first = sources[0]
    what = f"the Glue Data Catalog of {region or 'its region'}"
    policy: Any
    if policies:
        policy = combined([document(p, ("policy",)) for p in policies])
        if policy is None:
            policy = Unknown(f"{policies[0].address}: its policy is not in the plan")
    else:
        policy = Unknown(f"{what}: its resource policy is not managed by the plan "
                         f"(no {POLICY}), so who may read it is not known")
    attributes: dict[str, Any] = {"encryption": _encryption(keys, settings, what),
                                  "public_access": exposure(policy)}
    raw = context.raw(first, *sources[1:])
    if settings:
        raw["ConnectionPasswordEncryption"] = _passwords(settings[0])
    tag = _class(context, databases, parts.get(TABLE, []))
    if isinstance(tag, Unknown):
        context.error(first, rid, KIND, CATALOG, f"{what}: its data class cannot be told ({tag.reason})")
        return None
    # Named after what decides it: its settings, else its first database.
    name = (settings or databases or sources)[0].address
    resource = Resource(id=rid, type=CATALOG, kind=KIND, provider="aws", scope=context.plan.label,
                        region=region, name=name, tags={CLASS_TAG: tag} if tag else {},
                        attributes=attributes, raw=raw)
    key = attributes["encryption"].get("key")
    context.add(resource, sources, [key] if isinstance(key, str) else [])
    return facts_of(resource, first, arn, policy, data_catalog_facets)


def _encryption(keys: KeyBook, settings: list[PlannedResource], what: str) -> dict[str, Any]:
    """The metadata's encryption, as live: under the key named (``aws/glue`` when none), or none."""
    if not settings:
        return undecided(Unknown(f"{what}: its encryption settings are not managed by the plan "
                                 f"(no {SETTINGS}), so they are not known"))
    planned = settings[0]
    mode = text(planned, (*_AT_REST, "catalog_encryption_mode"))
    if isinstance(mode, Unknown):
        return undecided(mode)
    if (mode or "DISABLED") not in ENCRYPTING_MODES:
        return encryption(False, None, DEFAULT)
    # No key named: the AWS-managed aws/glue key (named by its alias: the same).
    return encryption(True, "aws:kms", keys.choose(planned, (*_AT_REST, "sse_aws_kms_key_id")))


def _passwords(planned: PlannedResource) -> dict[str, Any]:
    """Whether connection passwords are returned encrypted, as the live reader keeps it."""
    returned = value(planned, (*_PASSWORDS, "return_connection_password_encrypted"))
    key = value(planned, (*_PASSWORDS, "aws_kms_key_id"))
    return {"ReturnConnectionPasswordEncrypted": returned if isinstance(returned, bool) else None,
            "AwsKmsKeyId": key if isinstance(key, str) and key else None}


def _class(context: Context, databases: list[PlannedResource],
           tables: list[PlannedResource]) -> str | Unknown | None:
    """The catalog's class from the plan's databases, and the databases its tables name."""
    classes: list[str | None] = []
    unknown: Unknown | None = None
    for database in databases:
        found = _database_class(context, database)
        if isinstance(found, Unknown):
            unknown = unknown or found
        else:
            classes.append(found)
    for missing in _outside(context, databases, tables):
        unknown = unknown or missing
    if not databases and unknown is None:
        unknown = Unknown("the plan manages none of its databases")
    if unknown is None:
        return catalog_class(classes)
    known = catalog_class([c for c in classes if c])
    if known and CLINICAL in {part.strip().lower() for part in known.split(",")}:
        return known  # clinical whatever the others are
    return unknown


def _database_class(context: Context, database: PlannedResource) -> str | Unknown | None:
    """A database's class: its ``data_class`` parameter, else its tag."""
    parameter = value(database, ("parameters", CLASS_TAG))
    if is_unknown(parameter):
        return parameter
    if parameter:
        return str(parameter)
    tags = context.tags(database, ("tags_all", "tags"))
    if isinstance(tags, Unknown):
        return tags
    return tags.get(CLASS_TAG) or None


def _outside(context: Context, databases: list[PlannedResource], tables: Iterable[PlannedResource]
             ) -> Iterable[Unknown]:
    """Why a table's database is not one of the plan's (its class unknown)."""
    names = {n for n in (value(d, ("name",)) for d in databases) if isinstance(n, str)}
    for table in tables:
        traced = trace(context.plan, table, expression(table, ("database_name",)), frozenset({DATABASE}))
        if traced.resource is not None:
            continue
        name = traced.constant if traced.has_constant else value(table, ("database_name",))
        if not isinstance(name, str) or name not in names:
            named = f" {name}" if isinstance(name, str) else ""
            yield Unknown(f"{table.address}: its database{named} is not in the plan")


__all__ = ["TYPES", "collect"]
