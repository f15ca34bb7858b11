"""CloudTrail: is API access logged account-wide, which buckets' data events are recorded, and
which services' read-only management events (S3 Glacier's vault reads)?"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from phigate.api import Resource
from phigate_providers.aws.calls import ApiFailure, call
from phigate_providers.aws.context import Account
from phigate_providers.aws.trail_selectors import (
    MANAGEMENT_SOURCES,
    S3_OBJECT,
    advanced_read_scopes,
    advanced_records_reads,
    basic_records_reads,
    bucket_scope,
)


@dataclass
class Trail:
    name: str
    home_region: str
    multi_region: bool
    logging: bool
    #: S3 data-event scopes that record reads: "" (every bucket) or "bucket/prefix" strings.
    s3_read_scopes: list[str] = field(default_factory=list)
    #: Event sources (of :data:`MANAGEMENT_SOURCES`) whose read-only management events it records.
    management_reads: frozenset[str] = frozenset()


def trails(account: Account, regions: Iterable[str]) -> list[Trail]:
    """Trails that record events of ``regions``, with status and selectors: those at home in
    one of them, and the multi-region and organization trails at home elsewhere (listed in each
    region as shadows; read in their home region, where their status is kept). A scan narrowed
    to one region is then logged by the account's trail in another. Raises ApiFailure."""
    asked = tuple(regions)
    found: dict[str, Trail] = {}
    for region in asked:
        client = account.client("cloudtrail", region)
        response = call(client, "DescribeTrails", includeShadowTrails=True) or {}
        for item in response.get("trailList", []):
            home = str(item.get("HomeRegion") or region)
            arn = item.get("TrailARN", item["Name"])
            if arn in found or (home != region and home in asked):
                continue  # read once, in its home region's turn
            at_home = client if home == region else account.client("cloudtrail", home)
            try:
                status = call(at_home, "GetTrailStatus", Name=arn) or {}
                selectors = call(at_home, "GetEventSelectors", TrailName=arn) or {}
            except ApiFailure:
                if home == region and str(arn).split(":")[4:5] in ([account.account_id], []):
                    raise  # the account's own trail, at home here: unread, the logging is unknown
                # A shadow (another region's, or the organization's trail in a member account)
                # that cannot be read here shows no logging, and is left out: what it would log
                # fails, never passes.
                continue
            found[arn] = Trail(
                str(item["Name"]),
                home,
                bool(item.get("IsMultiRegionTrail")),
                bool(status.get("IsLogging")),
                _s3_read_scopes(selectors),
                _management_reads(selectors),
            )
    return list(found.values())


def _s3_read_scopes(selectors: dict[str, Any]) -> list[str]:
    scopes: list[str] = []
    for selector in selectors.get("EventSelectors") or []:
        if selector.get("ReadWriteType", "All") == "WriteOnly":
            continue
        for resource in selector.get("DataResources", []):
            if resource.get("Type") == S3_OBJECT:
                scopes.extend(bucket_scope(v) for v in resource.get("Values", []))
    for selector in selectors.get("AdvancedEventSelectors") or []:
        fields = {f.get("Field"): f for f in selector.get("FieldSelectors", [])}
        scopes.extend(advanced_read_scopes(fields))
    return scopes


def _management_reads(selectors: dict[str, Any]) -> frozenset[str]:
    """The sources whose read-only management events some selector records (none when the
    answer lists no selector: AWS always lists those in force)."""
    found = set()
    for source in MANAGEMENT_SOURCES:
        for selector in selectors.get("EventSelectors") or []:
            if basic_records_reads(selector.get("ReadWriteType"), selector.get("IncludeManagementEvents"),
                                   selector.get("ExcludeManagementEventSources") or (), source):
                found.add(source)
        for selector in selectors.get("AdvancedEventSelectors") or []:
            fields = {f.get("Field"): f for f in selector.get("FieldSelectors", [])}
            if advanced_records_reads(fields, source):
                found.add(source)
    return frozenset(found)


def records_reads(trail_list: list[Trail], source: str, region: str) -> bool:
    """A logging trail (multi-region, or at home in ``region``) records the read-only
    management events ``source`` sends from ``region``."""
    return any(trail.logging and (trail.multi_region or trail.home_region == region)
               and source in trail.management_reads for trail in trail_list)


def covers(trail_list: list[Trail], bucket: str, region: str) -> bool:
    """A logging trail records object reads for ``bucket`` (all of it, not a prefix only)."""
    for trail in trail_list:
        if not trail.logging or not (trail.multi_region or trail.home_region == region):
            continue
        for scope in trail.s3_read_scopes:
            if scope == "" or scope.rstrip("/") == bucket:
                return True
    return False


def account_logging(trail_list: list[Trail]) -> dict[str, Any]:
    multi = [t for t in trail_list if t.multi_region and t.logging]
    return {
        "audit_trail": {"multi_region": bool(multi), "trails": sorted(t.name for t in trail_list)},
        "logging": {
            "access_logs": bool(multi),
            "data_events": any(t.multi_region and t.logging and "" in t.s3_read_scopes for t in trail_list),
        },
    }


def account_resource(account: Account, trail_list: list[Trail] | None, buckets: list[Resource]) -> Resource:
    """The account, with its logging (unknown when the trails could not be read); data events
    count as logged for every bucket when each reported bucket's are."""
    attributes: dict[str, Any] = {}
    if trail_list is not None:
        attributes = account_logging(trail_list)
        if not attributes["logging"]["data_events"] and buckets:
            # From the trails, not the buckets' logging: a bucket of a class no policy judges
            # the logging of has none read.
            attributes["logging"]["data_events"] = all(
                b.region is not None and b.name is not None and covers(trail_list, b.name, b.region)
                for b in buckets
            )
    return account.resource(
        f"arn:{account.partition}:iam::{account.account_id}:root",
        "aws.account",
        "account",
        region=None,
        name=account.account_id,
        attributes=attributes,
    )


__all__ = ["Trail", "account_logging", "account_resource", "covers", "records_reads",
           "trails"]
