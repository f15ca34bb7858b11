"""One account's collection: which reads a run needs, then the reads, concurrently.

Listings run in a pool per account; per-item reads (each bucket's settings, each table) in a
second pool, so a listing never waits on a pool its own items fill. Stores are normalised once
the key directory and the trails are known. Principals' reads and edges are left to
:mod:`.estate`, which analyses every account's stores and principals at once. With content
sampling on, the non-clinical buckets are sampled in the item pool once normalised.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Generator, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from phigate.api import CollectionError, Context, Record, Resource
from phigate_providers.aws import (
    cloudtrail,
    copies,
    dynamodb,
    dynamodb_exports,
    ec2,
    iam,
    kms,
    rds_exports,
    runners,
    s3,
    s3_regions,
    services,
)
from phigate_providers.aws.access_facts import AccessFacts, TableRead
from phigate_providers.aws.calls import ApiFailure
from phigate_providers.aws.context import Account
from phigate_providers.aws.credentials import iam_and_sign_in, with_root
from phigate_providers.aws.needs import Needs
from phigate_providers.aws.run_parts import RUNNERS, Found, Jobs, Outside, settle_outside

if TYPE_CHECKING:
    from phigate_providers.content.sampling import Sampler

T = TypeVar("T")
#: Classifies a resource the way the engine will (the config's classification).
Classify = Callable[[Resource], str]
#: The classes a residency policy is about: a store holding them is reported wherever it is.
HEALTH_CLASSES = frozenset({"clinical", "administrative"})


class AccountRun:
    """One account's collection: listings run concurrently, then stores are normalised (they
    need the key directory and trails). Principals are left to :mod:`.estate`, once every account
    is read; what they need is in :attr:`facts` when :meth:`run` ends.

    Only the asked regions (all enabled ones by default) are reported; when the access analysis
    needs them, the stores of the other regions are read too (S3 buckets are listed globally,
    DynamoDB tables region by region), only as far as the analysis does (tags, resource policy),
    and yielded as context. A store there that the classification puts in a health class is
    reported all the same, read in full: residency is never narrowed by the scope. An account
    read only as context (``reported=False``) yields nothing else than context."""

    def __init__(self, account: Account, workers: int, needs: Needs, sampler: Sampler | None = None,
                 classify: Classify | None = None, *, reported: bool = True) -> None:
        self.account = account
        self.workers = workers
        self.needs = needs
        self.keys = kms.KeyDirectory()
        #: Samples the non-clinical buckets' content (off: None, and nothing is read).
        self.sampler = sampler if needs.content and needs.kind("object_store") and reported else None
        self.classify = classify
        self.reported = reported
        #: The same account for reads outside the reported scope: their failures are kept apart,
        #: since they bear on the access analysis only.
        self.outside = dataclasses.replace(account, errors=[])
        self.facts = AccessFacts(account.account_id, reported)
        self._enabled_lock = threading.Lock()
        self._enabled_regions: tuple[str, ...] | ApiFailure | None = None
        self._enabled_recorded = False

    def run(self) -> Iterator[Record]:
        account, needs = self.account, self.needs
        reported, others = self._regions()
        with (
            ThreadPoolExecutor(max(4, self.workers // 2), thread_name_prefix="phigate-aws") as lists,
            ThreadPoolExecutor(self.workers, thread_name_prefix="phigate-aws-item") as items,
        ):
            jobs = Jobs(self, lists, reported)
            object_stores = needs.kind("object_store")
            key_jobs = jobs.per_region("key", kms.collect_region, self.keys)
            bucket_list = lists.submit(s3_regions.list_buckets, account) if object_stores else None
            block = lists.submit(s3.account_block, account) if object_stores and self.reported else None
            tag_jobs = jobs.per_region("object_store", s3.bulk_tags)
            iam_job = (lists.submit(iam_and_sign_in, account, needs.sign_in, items)
                       if needs.kind("principal") or needs.kind("access_policy") else None)
            trails_job = (
                lists.submit(cloudtrail.trails, account, reported) if needs.trails and reported else None
            )
            # Tables are listed, and exports too (the buckets they land in), meanwhile.
            table_lists, export_jobs = (jobs.per_region("table", dynamodb.list_tables), {
                what: jobs.per_region("object_store", job) for what, job in EXPORTS.items()})
            # Bucket and table settings are read while the keys are listed (reading needs no
            # key; normalising does), so the slowest part starts first.
            buckets_job = lists.submit(self._buckets, bucket_list, block, tag_jobs, items, export_jobs)
            # Other regions' tables (context) need no key either: listed and read meanwhile too,
            # with their runners (functions, instances) and databases for the access analysis.
            outside_job = lists.submit(self._outside_reads, others, items)
            runner_jobs = {what: jobs.per_region("principal", job) if needs.access else {}
                           for what, job in RUNNERS}
            # Stores are normalised against the key directory: keys first.
            yield from self._settle_all(key_jobs, "KMS keys", ("key",), kms.KEY_TYPES)
            tables_job = lists.submit(self._tables, table_lists, items, account)
            # Every service read region by region (the registry's), against the key directory.
            service_jobs = {service: jobs.per_region(service.kind, service.read, self.keys)
                            for service in services.COLLECTED}
            listed, account_block, buckets = buckets_job.result()
            outside = outside_job.result()
            found = Found(buckets, *self._labelled_tables(tables_job.result(), outside.tables), account_block)
            # The trails decide some stores' logging (Glacier's): settled before those are.
            trails = self._settle(trails_job, "CloudTrail trails", ("account", "object_store"), ())
            collected = services.with_source_tags({
                service: service.with_trails(
                    list(self._settle_all(per_region, service.name, service.kinds, service.types)), trails)
                for service, per_region in service_jobs.items()},
                [*found.table_resources(), *(r for read in outside.stores.values() for r in read)],
                self.classify)
            for read in collected.values():
                yield from read
            outside.stores = services.with_source_tags(outside.stores, found.table_resources(), self.classify)
            yield from (Context(store) for read in outside.stores.values() for store in read)
            found.split(self)
            if found.extra_regions:
                trails = yield from self._promote(found, trails, jobs, items)
            # Stores yielded (reported or context): a read of one that failed leaves it partly seen.
            seen = {r.id for read in (*collected.values(), *outside.stores.values()) for r in read}
            bucket_resources = yield from self._store_records(
                found, trails, seen, items,
                self._lineage(export_jobs, [*collected.values(), *outside.stores.values(),
                                            found.table_resources()]))
            if needs.kind("account") and self.reported:
                yield with_root(self, cloudtrail.account_resource(account, trails, bucket_resources), seen)
            facts_iam = self._settle(
                iam_job,
                "IAM identities and policies",
                ("principal", "access_policy"),
                iam.POLICY_TYPES + iam.PRINCIPAL_TYPES,
            )
            if facts_iam is not None:
                for policy_resource in facts_iam.policy_resources:
                    yield policy_resource if self.reported else Context(policy_resource)
            self.facts.add_principals(account, facts_iam, needs.access)
            if needs.access:
                self._hand_over(listed is not None, found)
                for service, per_region in service_jobs.items():
                    if service.access is not None:
                        unread = [r for r, job in per_region.items() if job.exception() is not None]
                        read = [*collected[service], *outside.stores.get(service, [])]
                        self.facts.add_stores(service, read, unread)
                profiles = facts_iam.instance_profiles if facts_iam is not None else {}
                self.facts.add_runners(*self._runners(runner_jobs, outside.runners), profiles)
        if self.reported:
            yield from account.errors
        yield from self._outside_errors(seen)
        if needs.access:
            self.facts.add_unseen_stores([*account.errors, *self.outside.errors], seen)

    def _promote(
        self, found: Found, trails: list[cloudtrail.Trail] | None, jobs: Jobs, items: ThreadPoolExecutor
    ) -> Generator[Record, None, list[cloudtrail.Trail] | None]:
        """Read in full the health data found outside the reported regions (it is reported):
        its regions' keys (as context) and trails, then the rest of its settings."""
        extra = found.extra_regions
        key_jobs = jobs.per_region("key", kms.collect_region, self.keys, regions=extra)
        for key in self._settle_all(key_jobs, "KMS keys", ("key",), kms.KEY_TYPES):
            yield Context(key)
        if trails is not None and self.needs.trails:
            more = self._settle(
                jobs.lists.submit(cloudtrail.trails, self.account, extra),
                "CloudTrail trails", ("account", "object_store"), ())
            trails = None if more is None else trails + more
        full = s3.operations_for(self.needs.bucket_attributes)
        list(items.map(lambda f: s3.read_settings(self.account, f, full, found.block), found.promoted))
        found.inside += found.promoted
        found.tables += self._reread(found.promoted_tables, items)
        return trails

    def _labelled_tables(self, inside: list[TableRead], outside: list[TableRead]
                         ) -> tuple[list[TableRead], list[TableRead]]:
        """Tables (reported, then outside) with the tags, and when stricter the class, of the
        global-table replicas they copy (:func:`.dynamodb.replica_arns`)."""
        reads = [*inside, *outside]
        labelled = iter(copies.labelled([t for t, _, _ in reads if t is not None], self.classify))
        relabelled = [(next(labelled) if t is not None else None, policy, known)
                      for t, policy, known in reads]
        return relabelled[:len(inside)], relabelled[len(inside):]

    def _exports(self, jobs: Mapping[str, Mapping[str, Future[rds_exports.Exports]]]
                 ) -> rds_exports.Exports | None:
        """The buckets exports landed in, from every region read; None when a region's exports
        could not be read (recorded as an error on every bucket: any may hold one)."""
        per_region: dict[str, rds_exports.Exports] = {}
        failed = False
        for what, per in jobs.items():
            for region, job in per.items():
                try:
                    per_region[f"{what} {region}"] = job.result()
                except ApiFailure as failure:
                    self.account.failed(failure, f"{what} in {region} (which buckets hold them)",
                                        kinds=("object_store",), types=s3.BUCKET_TYPES)
                    failed = True
        return None if failed else rds_exports.merged(per_region)

    def _lineage(self, export_jobs: Mapping[str, Mapping[str, Future[rds_exports.Exports]]],
                 stores: list[list[Resource]]) -> Callable[[list[Resource]], list[Resource]]:
        """What classes buckets by what was copied into them: each names the snapshots exported
        to it and carries their tags (and their databases') and, when stricter, their class
        (:mod:`.copies`; ``stores``: the registry's, read)."""
        exports = self._exports(export_jobs)
        sources = [store for read in stores for store in read]

        def classed(buckets: list[Resource]) -> list[Resource]:
            if not exports:
                return buckets
            named = [rds_exports.with_exports(bucket, exports) for bucket in buckets]
            return copies.labelled([*sources, *named], self.classify)[len(sources):]

        return classed

    def _store_records(
        self, found: Found, trails: list[cloudtrail.Trail] | None, seen: set[str], items: ThreadPoolExecutor,
        lineage: Callable[[list[Resource]], list[Resource]] = lambda buckets: buckets,
    ) -> Generator[Record, None, list[Resource]]:
        """Buckets and tables, normalised: reported ones as resources, the others as context;
        buckets classed by what was copied into them (``lineage``)."""
        coverage = s3.Coverage(
            None if trails is None else (lambda bucket, region: cloudtrail.covers(trails, bucket, region))
        )
        normalised = (s3.normalise(self.account, facts, self.keys, found.block, coverage)
                      for facts in found.inside)
        bucket_resources = lineage([r for r in normalised if r is not None])
        for resource in bucket_resources:
            seen.add(resource.id)
            if self.sampler is None:
                yield resource
        outside = (self.as_context(facts) for facts in found.outside)
        for resource in lineage([r for r in outside if r is not None]):
            seen.add(resource.id)
            yield Context(resource)
        if self.sampler is not None:
            from phigate_providers.aws import sampling  # the SDK's errors: loaded only when sampling

            yield from sampling.sample_buckets(self.account, bucket_resources, self.sampler, items,
                                               self.classify)
        for table, _, _ in found.tables:
            if table is not None:
                seen.add(table.id)
                yield table
        for table, _, _ in found.outside_tables:
            if table is not None:
                seen.add(table.id)
                yield Context(table)
        return bucket_resources

    def as_context(self, facts: s3.BucketFacts, *, record: bool = True) -> Resource | None:
        """A bucket outside the reported scope, with what was read of it; its failed reads are
        recorded (apart) unless ``record`` is false (it is only being classified)."""
        account = self.outside if record else dataclasses.replace(self.outside, errors=[])
        return s3.normalise(account, facts, self.keys, s3.AccountBlock(None), s3.Coverage(None))

    def in_scope(self, region: str) -> bool:
        """Whether the account's resources in ``region`` are reported (no asked region: all)."""
        return self.reported and (not self.account.regions or region in self.account.regions)

    def holds_health_data(self, resource: Resource | None) -> bool:
        """A store outside the reported regions that holds health data (when residency is
        checked: it is then reported all the same)."""
        if resource is None or not (self.reported and self.needs.residency):
            return False
        classify = self.classify or _tagged_class
        return (resource.data_class or classify(resource)) in HEALTH_CLASSES

    def _reread(
        self, found: list[TableRead], items: ThreadPoolExecutor
    ) -> list[TableRead]:
        """Tables read as context, read again as reported ones (their region's keys now known)."""
        by_region: dict[str, list[str]] = {}
        for table, _, _ in found:
            if table is not None and table.region and table.name:
                by_region.setdefault(table.region, []).append(table.name)
        again = []
        for region, names in sorted(by_region.items()):
            again += dynamodb.collect_region(self.account, region, names, self.keys, items)
        return again

    def _outside_errors(self, seen: set[str]) -> Iterator[CollectionError]:
        """Failures of the reads outside the reported scope. They bear on the access analysis
        (principals' ``access_unseen``, and an error on principals); one that leaves a store
        unseen, when residency is checked, also leaves unknown whether health data is there."""
        residency = self.reported and self.needs.residency
        # An account read only as context: all its reads are outside the reported scope.
        for error in self.outside.errors if self.reported else [*self.account.errors, *self.outside.errors]:
            if residency and error.resource_id not in seen and "principal" not in error.kinds:
                yield error  # a store never seen: whether it holds health data is unknown
            yield dataclasses.replace(
                error,
                message=f"{error.message} (outside the reported scope, read for the access analysis)",
                kinds=("principal",),
                types=iam.PRINCIPAL_TYPES,
                resource_id=None,
            )
            if error.resource_id is None:
                where = f" region {error.region}" if error.region else ""
                self.facts.unseen.append(f"aws account {error.scope}{where} (not read: {error.message})")

    def _buckets(
        self,
        bucket_list: Future[list[s3_regions.Listed]] | None,
        block: Future[s3.AccountBlock] | None,
        tag_jobs: Mapping[str, Future[dict[str, dict[str, str]]]],
        items: ThreadPoolExecutor,
        export_jobs: Mapping[str, Mapping[str, Future[rds_exports.Exports]]] | None = None,
    ) -> tuple[list[s3_regions.Listed] | None, s3.AccountBlock, list[s3.BucketFacts]]:
        """The bucket listing, the account's block-public-access and every bucket's settings:
        all of them in the reported regions; tags and policy (what the access analysis and the
        classification need) elsewhere, when the analysis or residency needs them."""
        listed = self._settle(bucket_list, "S3 buckets", ("object_store",), s3.BUCKET_TYPES)
        account_block = block.result() if block is not None else s3.AccountBlock(None)
        unplaced = [name for name, region, _ in listed or () if region is None]
        if len(unplaced) > 1:  # a listing without regions (not AWS): place them by region, if it can
            located = s3_regions.regions_by_filter(self.account, self._enabled(record=False))
            listed = [(name, region or located.get(name), created) for name, region, created in listed or ()]
        everywhere = self.needs.everywhere or not self.reported
        full = s3.operations_for(self.needs.bucket_attributes)
        # Elsewhere: what the access analysis reads, and the key, when stores' encryption is read.
        # A bucket yielded without its key might share any key, for all the engine can tell, and
        # every key-sharing decision of the reported regions would be unknown.
        elsewhere = {"encryption"} & self.needs.bucket_attributes
        light = s3.operations_for(elsewhere | {"can_read"} if self.needs.access else elsewhere)
        # Tags of the other regions holding buckets, in bulk too (the listing names the region).
        more_tags = {
            region: items.submit(s3.bulk_tags, self.account, region)
            for region in sorted({r for _, r, _ in listed or () if r and r not in tag_jobs})
            if everywhere and not self.in_scope(region)
        }

        def plan(region: str) -> list[str] | None:
            if self.in_scope(region):
                return full
            return light if everywhere else None

        buckets = s3.read_buckets(
            self.account,
            listed or [],
            plan,
            items,
            tags=self._bucket_tags({**tag_jobs, **more_tags}),
            block=account_block,
            narrow=self._narrow(export_jobs or {}),
        )
        return listed, account_block, buckets

    def _narrow(self, export_jobs: Mapping[str, Mapping[str, Future[rds_exports.Exports]]]
                ) -> s3.Narrow | None:
        """The reads a reported bucket's class needs, when some attribute is needed for some
        classes only (None: every bucket has every read). A bucket is classified as the engine
        will classify it, from its name and tags; never without the run's classifier. A bucket
        exports landed in takes the class of what was copied into it, known only later: it is
        read in full, as every bucket is when the exports could not be listed."""
        by_class, classify = self.needs.bucket_classes, self.classify
        if not by_class or classify is None or self.sampler is not None:
            return None
        needs, account = self.needs, self.account

        def narrow(facts: s3.BucketFacts, operations: list[str]) -> list[str]:
            if not self.in_scope(facts.region):
                return operations  # read as context (or promoted later, then read in full)
            landed = _export_destinations(export_jobs)
            if landed is None or facts.name in landed:
                return operations
            data_class = classify(s3.labelled(account, facts))
            wanted = set(s3.operations_for(needs.bucket_attributes_for(data_class)))
            return [op for op in operations if op in wanted]

        return narrow

    def _bucket_tags(
        self, jobs: Mapping[str, Future[dict[str, dict[str, str]]]]
    ) -> dict[str, dict[str, dict[str, str]]]:
        """Bucket tags read in bulk, per region; a region whose bulk read failed is left out
        (its buckets' tags are then read one by one)."""
        found = {}
        for region, job in jobs.items():
            try:
                found[region] = job.result()
            except ApiFailure:
                continue
        return found

    def _tables(
        self, table_lists: Mapping[str, Future[list[str]]], items: ThreadPoolExecutor, account: Account
    ) -> list[TableRead]:
        """Each region's tables; ``account`` records the failures (the run's own, or the one
        kept apart for reads outside the reported scope)."""
        tables: list[TableRead] = []
        for region, job in table_lists.items():
            try:
                names = job.result()
            except ApiFailure as failure:
                account.failed(failure, f"DynamoDB tables in {region}", kinds=("table",),
                               types=dynamodb.TABLE_TYPES, region=region)
                if account is self.account:
                    self.facts.unseen.append(f"aws account {account.account_id} region {region} "
                                             f"(not read: {failure.describe('DynamoDB tables')})")
                continue
            tables += dynamodb.collect_region(account, region, names, self.keys, items)
        return tables

    def _regions(self) -> tuple[tuple[str, ...], bool]:
        """The reported regions, and whether the other enabled regions are read too (for the
        access analysis or residency; they are listed meanwhile, see :meth:`_outside_tables`)."""
        asked = self.account.regions if self.reported else ()
        if asked:
            return asked, self.needs.everywhere
        if not self.reported:
            return (), self.needs.access
        return self._enabled() or (self.account.home_region,), False

    def _enabled(self, *, record: bool = True) -> tuple[str, ...]:
        """The regions enabled for the account, listed once; none when they cannot be listed
        (the failure recorded once, by a caller that needs them: ``record``)."""
        with self._enabled_lock:
            if self._enabled_regions is None:
                try:
                    self._enabled_regions = tuple(ec2.enabled_regions(self.account))
                except ApiFailure as failure:
                    self._enabled_regions = failure
            found = self._enabled_regions
            if not isinstance(found, ApiFailure):
                return found
            if record and not self._enabled_recorded:
                self._enabled_recorded = True
                self._enabled_failed(found)
            return ()

    def _enabled_failed(self, failure: ApiFailure) -> None:
        asked = self.account.regions if self.reported else ()
        if asked:
            what = f"regions other than {', '.join(asked)}"
            kinds: tuple[str, ...] = ("principal", "table")
        elif self.reported:
            what = "enabled regions (auditing the home region only)"
            kinds = ("region_settings", "volume", "database", "table", "stream", "key", "principal")
        else:
            what = "enabled regions (reading the home region only)"
            kinds = ("principal",)
        self.account.failed(failure, what, kinds=kinds, types=())
        self.facts.unseen.append(f"aws account {self.account.account_id} {what.split(' (')[0]} "
                                 f"(not read: {failure.describe('DescribeRegions')})")

    def _outside_reads(self, others: bool, items: ThreadPoolExecutor) -> Outside:
        """The tables of the enabled regions outside the reported ones, read as context; when
        the access analysis needs them, the stores principals read through IAM (databases,
        snapshots: context) and the runners too."""
        found = Outside()
        if not others:
            return found
        enabled = self._enabled()
        if self.reported:
            regions = tuple(r for r in enabled if not self.in_scope(r))
        else:
            regions = enabled or (self.account.home_region,)
        if self.needs.access:
            found.runners = {what: {r: items.submit(job, self.account, r) for r in regions}
                             for what, job in RUNNERS}
            stores = {service: {r: items.submit(service.read, self.outside, r, self.keys) for r in regions}
                      for service in services.COLLECTED
                      if service.access is not None and self.needs.kind(service.kind)}
        if self.needs.kind("table"):
            jobs = {r: items.submit(dynamodb.list_tables, self.outside, r) for r in regions}
            found.tables = self._tables(jobs, items, self.outside)
        if self.needs.access:
            found.stores = settle_outside(self.outside, stores)
        return found

    def _hand_over(self, listed: bool, found: Found) -> None:
        """The buckets and tables read, in every region, to the access analysis (see
        :mod:`.estate`); the registry's stores follow, service by service."""
        self.facts.add_buckets(listed, found.inside + found.outside)
        self.facts.add_tables(found.tables + found.outside_tables)

    def _runners(self, *jobs: Mapping[str, Mapping[str, Future[list[runners.Runner]]]]
                 ) -> tuple[list[runners.Runner], list[str]]:
        """Functions and instances running as a role, and where they could not be listed (an
        error, and a gap for identities that may change what they run)."""
        found: list[runners.Runner] = []
        gaps: list[str] = []
        for listings in jobs:
            for what, per_region in listings.items():
                for region, job in per_region.items():
                    listed = self._settle(job, what, ("principal",), iam.PRINCIPAL_TYPES, region)
                    if listed is None:
                        gaps.append(f"aws account {self.account.account_id} region {region}: "
                                    f"{what} (not read)")
                    else:
                        found += listed
        return found, gaps

    def _settle(
        self,
        job: Future[T] | None,
        what: str,
        kinds: tuple[str, ...],
        types: tuple[str, ...],
        region: str | None = None,
    ) -> T | None:
        if job is None:
            return None
        try:
            return job.result()
        except ApiFailure as failure:
            label = f"{what} in {region}" if region else what
            self.account.failed(failure, label, kinds=kinds, types=types, region=region)
            return None

    def _settle_all(
        self, jobs: Mapping[str, Future[Any]], what: str, kinds: tuple[str, ...], types: tuple[str, ...]
    ) -> Iterator[Resource]:
        for region, job in jobs.items():
            found = self._settle(job, what, kinds, types, region)
            if isinstance(found, Resource):
                yield found
            elif found is not None:
                yield from found

#: What copies data into buckets, read per region: what a failure names, and the reader.
def _export_destinations(jobs: Mapping[str, Mapping[str, Future[rds_exports.Exports]]]) -> set[str] | None:
    """The buckets exports landed in, in every region read; None when some region's exports
    could not be listed (any bucket may hold one; the failure is recorded where they are
    merged). The jobs were submitted before the buckets' reads, so they are under way."""
    landed: set[str] = set()
    for per_region in jobs.values():
        for job in per_region.values():
            try:
                landed.update(job.result())
            except ApiFailure:
                return None
    return landed


EXPORTS: Mapping[str, Callable[[Account, str], rds_exports.Exports]] = {
    "RDS snapshot exports": rds_exports.list_region,
    "DynamoDB table exports": dynamodb_exports.list_region,
}


def _tagged_class(resource: Resource) -> str:
    """Without the configuration's classification: the ``data_class`` tag, as by default."""
    value = resource.tags.get("data_class", "")
    return value if value in HEALTH_CLASSES else "unclassified"


__all__ = ["AccessFacts", "AccountRun", "Needs"]

