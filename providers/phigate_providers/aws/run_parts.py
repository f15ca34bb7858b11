"""The parts of one account's collection: the jobs per region, the stores found and their split
by scope, what is read outside the reported regions for the access analysis.

Kept apart from :mod:`.account_run`, which drives them; they ask the run through its public
methods (:meth:`~.account_run.AccountRun.in_scope`, ``holds_health_data``, ``as_context``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from phigate.api import Resource
from phigate_providers.aws import runners, s3
from phigate_providers.aws.access_facts import TableRead
from phigate_providers.aws.calls import ApiFailure
from phigate_providers.aws.context import Account
from phigate_providers.aws.services import Service

if TYPE_CHECKING:
    from phigate_providers.aws.account_run import AccountRun

T = TypeVar("T")
#: What runs code as a role, listed per region for the escalation edges.
RUNNERS = (("Lambda functions", runners.functions), ("EC2 instances", runners.instances))


@dataclass
class Found:
    """The stores of one account as read, split by whether they are reported."""

    buckets: list[s3.BucketFacts]
    tables: list[TableRead]
    outside_tables: list[TableRead]
    block: s3.AccountBlock
    inside: list[s3.BucketFacts] = field(default_factory=list)
    outside: list[s3.BucketFacts] = field(default_factory=list)
    promoted: list[s3.BucketFacts] = field(default_factory=list)
    promoted_tables: list[TableRead] = field(default_factory=list)

    def split(self, run: AccountRun) -> None:
        """Reported buckets (a bucket that could not be located counts as one), the others, and
        those of the others that hold health data when residency is checked."""
        for facts in self.buckets:
            if not facts.region or run.in_scope(facts.region):
                self.inside.append(facts)
            elif run.holds_health_data(run.as_context(facts, record=False)):
                self.promoted.append(facts)
            else:
                self.outside.append(facts)
        self.promoted_tables = [t for t in self.outside_tables if run.holds_health_data(t[0])]
        self.outside_tables = [t for t in self.outside_tables if t not in self.promoted_tables]

    def table_resources(self) -> list[Resource]:
        """The tables read, reported or not: sources of their backups."""
        return [t for t, _, _ in (*self.tables, *self.outside_tables) if t is not None]

    @property
    def extra_regions(self) -> tuple[str, ...]:
        regions = {f.region for f in self.promoted}
        regions |= {t.region for t, _, _ in self.promoted_tables if t is not None and t.region}
        return tuple(sorted(regions))


@dataclass
class Outside:
    """What is read outside the reported regions for the access analysis (and residency)."""

    tables: list[TableRead] = field(default_factory=list)
    #: The stores of the services principals read through IAM (databases, snapshots), per service.
    stores: dict[Service, list[Resource]] = field(default_factory=dict)
    runners: dict[str, dict[str, Future[list[runners.Runner]]]] = field(default_factory=dict)


class Jobs:
    """Submits per-region listings of the kinds a run needs."""

    def __init__(self, run: AccountRun, lists: ThreadPoolExecutor, regions: tuple[str, ...]) -> None:
        self.run, self.lists, self.regions = run, lists, regions

    def per_region(
        self, kind: str, job: Callable[..., T], *args: Any, regions: tuple[str, ...] | None = None
    ) -> dict[str, Future[T]]:
        if not self.run.needs.kind(kind):
            return {}
        chosen = self.regions if regions is None else regions
        return {r: self.lists.submit(job, self.run.account, r, *args) for r in chosen}


def settle_outside(
    outside: Account, jobs: Mapping[Service, Mapping[str, Future[list[Resource]]]]
) -> dict[Service, list[Resource]]:
    """The registry's stores read outside the reported regions, per service; a region whose
    listing failed is recorded on ``outside`` (failures kept apart: they bear on the access
    analysis only)."""
    found: dict[Service, list[Resource]] = {}
    for service, per_region in jobs.items():
        found[service] = []
        for region, job in per_region.items():
            try:
                found[service] += job.result()
            except ApiFailure as failure:
                outside.failed(failure, f"{service.name} in {region}", kinds=service.kinds,
                               types=service.types, region=region)
    return found


__all__ = ["RUNNERS", "Found", "Jobs", "Outside", "settle_outside"]
