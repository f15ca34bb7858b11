"""One account's collection: which reads a run needs, then the reads, concurrently.

Listings run in a pool per account; per-item reads (each bucket's settings, each table) in a
second pool, so a listing never waits on a pool its own items fill. Stores are normalised once
the key directory and the trails are known, and principals last, when every store is. With
content sampling on, the non-clinical buckets are sampled in the item pool once normalised.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from phigate.api import CollectionError, Record, Resource
from phigate_providers.aws import cloudtrail, dynamodb, ec2, iam, kms, rds, runners, s3
from phigate_providers.aws.access import PolicyDocument, Store
from phigate_providers.aws.calls import ApiFailure
from phigate_providers.aws.context import PROVIDER, Account
from phigate_providers.aws.estate import Estate
from phigate_providers.aws.read_actions import bucket_facets, database_facets, table_facets
from phigate_providers.content.options import wanted

if TYPE_CHECKING:
    from phigate_providers.content.sampling import Sampler

T = TypeVar("T")
#: Classifies a resource the way the engine will (the config's classification).
Classify = Callable[[Resource], str]
#: Every normalised attribute a bucket can carry; all are read unless a run needs fewer.
BUCKET_ATTRIBUTES = frozenset(s3.READS_FOR)
@dataclass(frozen=True)
class Needs:
    """What one run must read: kinds (None: all) and the bucket attributes to fetch."""

    kinds: frozenset[str] | None
    bucket_attributes: frozenset[str]
    access: bool  # principals' effective read access
    #: Buckets' ``content_sample``, when sampling is on (no selected policy reads it: not taken).
    content: bool = True

    @classmethod
    def from_fields(cls, fields: Mapping[str, frozenset[str]] | None) -> Needs:
        if fields is None:
            return cls(None, BUCKET_ATTRIBUTES, True)
        kinds = set(fields)
        access = bool(
            {"can_read", "can_read_via_wildcard", "undecided_conditions"} & fields.get("principal", set())
        )
        attributes = set(fields.get("object_store", frozenset()) & BUCKET_ATTRIBUTES)
        if access:
            attributes.add("can_read")
            kinds |= {"object_store", "table", "database"}  # every store a principal may read
        if fields.get("key") or any("encryption" in fields.get(k, ()) for k in STORE_KINDS):
            kinds.add("key")  # who manages a store's key is told by the key directory
        content = "content_sample" in fields.get("object_store", frozenset())
        return cls(frozenset(kinds), frozenset(attributes), access, content)

    def kind(self, kind: str) -> bool:
        return self.kinds is None or kind in self.kinds

    @property
    def trails(self) -> bool:
        return self.kind("account") or "logging" in self.bucket_attributes


STORE_KINDS = ("object_store", "database", "table", "volume")


class AccountRun:
    """One account's collection: listings run concurrently, then stores are normalised (they
    need the key directory and trails), then principals (they need every store)."""

    def __init__(self, account: Account, workers: int, needs: Needs, sampler: Sampler | None = None,
                 classify: Classify | None = None, *, estate: Estate | None = None) -> None:
        self.account = account
        #: Shared by the accounts of one run (principals are emitted by it, after them all).
        self.estate = estate
        self.workers = workers
        self.needs = needs
        self.keys = kms.KeyDirectory()
        #: Samples the non-clinical buckets' content (off: None, and nothing is read).
        self.sampler = sampler if needs.content and needs.kind("object_store") else None
        self.classify = classify

    def run(self) -> Iterator[Record]:
        account, needs = self.account, self.needs
        regions = self._regions()
        scan_regions = regions or (account.home_region,)
        with (
            ThreadPoolExecutor(max(4, self.workers // 2), thread_name_prefix="phigate-aws") as lists,
            ThreadPoolExecutor(self.workers, thread_name_prefix="phigate-aws-item") as items,
        ):

            def per_region(kind: str, job: Callable[..., T], *args: Any) -> dict[str, Future[T]]:
                return (
                    {r: lists.submit(job, account, r, *args) for r in scan_regions}
                    if needs.kind(kind)
                    else {}
                )

            key_jobs = per_region("key", kms.collect_region, self.keys)
            bucket_list = (
                lists.submit(s3.list_buckets, account, regions or None)
                if needs.kind("object_store")
                else None
            )
            block = lists.submit(s3.account_block, account) if needs.kind("object_store") else None
            tag_jobs = per_region("object_store", s3.bulk_tags)
            iam_job = (
                lists.submit(iam.collect, account)
                if needs.kind("principal") or needs.kind("access_policy")
                else None
            )
            runner_jobs = {
                what: per_region("principal", job) for what, job in (
                    ("Lambda functions", runners.functions), ("EC2 instances", runners.instances))
            }
            trails_job = lists.submit(cloudtrail.trails, account, scan_regions) if needs.trails else None
            settings_jobs = per_region("region_settings", ec2.region_settings)
            table_lists = per_region("table", dynamodb.list_tables)
            # Bucket and table settings are read while the keys are listed (reading needs no
            # key; normalising does), so the slowest part starts first.
            buckets_job = lists.submit(self._buckets, bucket_list, block, tag_jobs, items, regions)
            # Stores are normalised against the key directory: keys first.
            yield from self._settle_all(key_jobs, "KMS keys", ("key",), kms.KEY_TYPES)
            tables_job = lists.submit(self._tables, table_lists, items)
            volume_jobs = per_region("volume", ec2.volumes, self.keys)
            database_jobs = per_region("database", rds.collect_region, self.keys)
            listed, account_block, buckets = buckets_job.result()
            tables, tables_complete = tables_job.result()
            yield from self._settle_all(
                settings_jobs, "EBS encryption by default", ("region_settings",), ec2.SETTINGS_TYPES
            )
            yield from self._settle_all(volume_jobs, "EBS volumes", ("volume",), ec2.VOLUME_TYPES)
            databases = list(
                self._settle_all(database_jobs, "RDS databases", ("database",), rds.DATABASE_TYPES)
            )
            yield from databases
            trails = self._settle(trails_job, "CloudTrail trails", ("account", "object_store"), ())
            coverage = s3.Coverage(
                None if trails is None else (lambda bucket, region: cloudtrail.covers(trails, bucket, region))
            )
            stores: list[Store] = []
            bucket_resources = []
            for facts in buckets:
                resource = s3.normalise(account, facts, self.keys, account_block, coverage)
                if resource is not None:
                    bucket_resources.append(resource)
                    if self.sampler is None:
                        yield resource
                stores.append(_bucket_store(facts, resource, account.account_id))
            if self.sampler is not None:
                yield from self._sampled(bucket_resources, self.sampler, items)
            for table, policy, _ in tables:
                if table is not None:
                    yield table
                    stores.append(Store.of(table.id, table_facets(table.id), account.account_id, policy))
            if needs.kind("account"):
                yield self._account_resource(trails, bucket_resources)
            stores += _database_stores(databases, account.account_id)
            complete = (
                listed is not None
                and all(self._settled(job) for job in database_jobs.values())
                and tables_complete
                and all(f.policy_known for f in buckets)
                and all(known for _, _, known in tables)
            )
            facts_iam = self._settle(
                iam_job,
                "IAM identities and policies",
                ("principal", "access_policy"),
                iam.POLICY_TYPES + iam.PRINCIPAL_TYPES,
            )
            if facts_iam is not None:
                yield from facts_iam.policy_resources
            yield from self._hand_over(facts_iam, stores, complete, self._runners(runner_jobs))
        yield from account.errors

    def _runners(
        self, jobs: Mapping[str, Mapping[str, Future[list[runners.Runner]]]]
    ) -> tuple[list[runners.Runner], list[str]]:
        """Functions and instances running as a role, and where they could not be listed (an
        error, and a gap for identities that may change what they run)."""
        found: list[runners.Runner] = []
        gaps: list[str] = []
        for what, per_region in jobs.items():
            for region, job in per_region.items():
                listed = self._settle(job, what, (), (), region)
                if listed is None:
                    gaps.append(f"aws account {self.account.account_id} region {region}: {what} (not read)")
                else:
                    found += listed
        return found, gaps

    def _hand_over(
        self,
        facts: iam.IamFacts | None,
        stores: list[Store],
        complete: bool,
        code_runners: tuple[list[runners.Runner], list[str]],
    ) -> Iterator[Record]:
        """Principals are decided over every account of the run: the estate emits them once all
        are read (here, when this run is an estate of its own)."""
        estate = self.estate or Estate()
        estate.add(self.account, facts, stores, complete, code_runners)
        if self.estate is None:
            yield from estate.principals()

    def _sampled(
        self, buckets: list[Resource], sampler: Sampler, items: ThreadPoolExecutor
    ) -> Iterator[Record]:
        """The buckets, each non-clinical one with its ``content_sample`` (or, when its listing
        or a read failed, without it and with the error), in their order."""
        classify = self.classify or (lambda resource: "unclassified")
        jobs = [(bucket, items.submit(self._sample, bucket, sampler) if wanted(bucket, classify) else None)
                for bucket in buckets]
        for bucket, job in jobs:
            if job is None:
                yield bucket
                continue
            sampled, error = job.result()
            yield sampled
            if error is not None:
                yield error

    def _sample(self, bucket: Resource, sampler: Sampler) -> tuple[Resource, CollectionError | None]:
        from phigate_providers.aws import sampling

        try:
            return sampling.sample_bucket(self.account.client("s3", bucket.region), bucket, sampler)
        except Exception as exc:  # a defect, not a denial: an error for this bucket, never a pass
            # Only the exception's type: its message could quote what was read.
            return bucket, CollectionError(
                PROVIDER, f"S3 bucket {bucket.name}: content sample failed ({type(exc).__name__})",
                scope=self.account.account_id, region=bucket.region, kinds=("object_store",),
                types=(bucket.type,), resource_id=bucket.id)

    def _buckets(
        self,
        bucket_list: Future[list[tuple[str, str | None, str | None]]] | None,
        block: Future[s3.AccountBlock] | None,
        tag_jobs: Mapping[str, Future[dict[str, dict[str, str]]]],
        items: ThreadPoolExecutor,
        regions: tuple[str, ...],
    ) -> tuple[list[tuple[str, str | None, str | None]] | None, s3.AccountBlock, list[s3.BucketFacts]]:
        """The bucket listing, the account's block-public-access and every bucket's settings."""
        listed = self._settle(bucket_list, "S3 buckets", ("object_store",), s3.BUCKET_TYPES)
        account_block = block.result() if block is not None else s3.AccountBlock(None)
        buckets = s3.read_buckets(
            self.account,
            listed or [],
            self.needs.bucket_attributes,
            items,
            regions=regions or None,
            tags=self._bucket_tags(tag_jobs),
            block=account_block,
        )
        return listed, account_block, buckets

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
        self, table_lists: Mapping[str, Future[list[str]]], items: ThreadPoolExecutor
    ) -> tuple[list[tuple[Resource | None, PolicyDocument | None, bool]], bool]:
        tables: list[tuple[Resource | None, PolicyDocument | None, bool]] = []
        complete = True
        for region, job in table_lists.items():
            names = self._settle(job, "DynamoDB tables", ("table",), dynamodb.TABLE_TYPES, region)
            if names is None:
                complete = False
                continue
            tables += dynamodb.collect_region(self.account, region, names, self.keys, items)
        return tables, complete

    def _regions(self) -> tuple[str, ...]:
        if self.account.regions:
            return self.account.regions
        try:
            return tuple(ec2.enabled_regions(self.account))
        except ApiFailure as failure:
            self.account.failed(
                failure,
                "enabled regions (auditing the home region only)",
                kinds=("region_settings", "volume", "database", "table", "key"),
                types=(),
            )
            return ()

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

    @staticmethod
    def _settled(job: Future[Any]) -> bool:
        """The job's listing was read (its failure was recorded by :meth:`_settle`)."""
        return job.exception() is None

    def _settle_all(
        self, jobs: Mapping[str, Future[Any]], what: str, kinds: tuple[str, ...], types: tuple[str, ...]
    ) -> Iterator[Resource]:
        for region, job in jobs.items():
            found = self._settle(job, what, kinds, types, region)
            if isinstance(found, Resource):
                yield found
            elif found is not None:
                yield from found

    def _account_resource(self, trails: list[cloudtrail.Trail] | None, buckets: list[Resource]) -> Resource:
        account = self.account
        attributes: dict[str, Any] = {}
        if trails is not None:
            attributes = cloudtrail.account_logging(trails)
            if not attributes["logging"]["data_events"] and buckets:
                attributes["logging"]["data_events"] = all(
                    b.attributes.get("logging", {}).get("data_events") is True for b in buckets
                )
        return account.resource(
            f"arn:{account.partition}:iam::{account.account_id}:root",
            "aws.account",
            "account",
            region=None,
            name=account.account_id,
            attributes=attributes,
        )


def _bucket_store(facts: s3.BucketFacts, resource: Resource | None, account_id: str) -> Store:
    """A bucket as a store: object ACLs are no way in where it disables them (when that was read)."""
    acls = resource is None or resource.attributes.get("acls_disabled") is not True
    return Store.of(facts.arn, bucket_facets(facts.arn, object_acls=acls), account_id, facts.policy)


def _database_stores(databases: list[Resource], account_id: str) -> list[Store]:
    found = (_database_store(d, account_id) for d in databases)
    return [store for store in found if store is not None]


def _database_store(resource: Resource, account_id: str) -> Store | None:
    """An RDS database as a store, when it can be read through IAM (IAM database logins or the
    Data API); None otherwise (its own users and grants are not IAM's)."""
    raw = resource.raw
    resource_id = raw.get("DbiResourceId") or raw.get("DbClusterResourceId")
    facets = database_facets(
        resource.id,
        resource_id=str(resource_id) if resource_id else None,
        iam_auth=bool(raw.get("IAMDatabaseAuthenticationEnabled")),
        data_api=bool(raw.get("HttpEndpointEnabled")),
    )
    if not facets:
        return None
    return Store.of(resource.id, facets, account_id)


__all__ = ["AccountRun", "Needs"]
