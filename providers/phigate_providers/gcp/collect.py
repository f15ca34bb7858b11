"""One run over every project: buckets with their IAM policies, their CMEK keys, then principals.

Listing pages are read in order; each bucket's IAM policy and each distinct key are read from a
bounded thread pool while the listing goes on. Buckets are yielded in listing order through a
bounded window of pending reads, so memory stays flat however large the project. Principals
come last: a member's access is known only once every bucket of every project has been read.

Nothing unread passes: a denied listing is a scope-wide error over the kinds it would have
shown; a denied IAM policy leaves its bucket without public grants and its policy unseen (so
the access policies are ``error``, not ``pass``); a key that cannot be read is yielded with
only what its use as a CMEK proves, plus an error. With content sampling on, each non-clinical
bucket is sampled in the same pool, within the same window; a sample that could not be read
leaves ``content_sample`` out and adds an error.

For the access graph (when a selected policy reads principals), each project's ancestry, the
IAM policies of the project, its folders and organisation, its service accounts and their own
policies, and the definitions of roles the built-in table does not hold are read in the same
pool; a policy that cannot be read is an error plus an ``access_unseen`` entry on every
principal (anyone may be granted there). The ancestry, the policies above and the IAM deny
policies are also read when a selected policy reads public access, before the project's stores
are yielded: public grants there reach the stores below (:mod:`phigate_providers.gcp.hierarchy`).
The config's projects that ``--project`` left out are read the same way, their resources
yielded as :class:`phigate.api.Context`.
"""

from __future__ import annotations

import functools
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from phigate.api import CollectionError, Context, Record, Resource
from phigate.clock import report_time
from phigate_providers.gcp.access import Binding, RoleBook
from phigate_providers.gcp.api import Api
from phigate_providers.gcp.failures import Failure, describe
from phigate_providers.gcp.graph import Principals
from phigate_providers.gcp.hierarchy import POLICY_PERMISSIONS, Hierarchy, expose
from phigate_providers.gcp.keys import HMAC_PERMISSION, access_keys, hmac_keys
from phigate_providers.gcp.keys import PERMISSION as KEYS_PERMISSION
from phigate_providers.gcp.normalise import (
    BUCKET_TYPE,
    FOLLOWS_ABOVE,
    KEY_NAME,
    KEY_TYPE,
    POLICY_TYPE,
    PROVIDER,
    bucket_resource,
    bucket_uniform,
    key_resource,
    policy_id,
    policy_resource,
)
from phigate_providers.gcp.settings import ROLE_NAME, SERVICES, GcpSettings
from phigate_providers.gcp.stores import NAMES, Found, read

if TYPE_CHECKING:
    from phigate_providers.content.sampling import Sampler

#: Kinds a project's bucket listing would have shown (principals and keys come from buckets).
PROJECT_KINDS = ("object_store", "access_policy", "principal", "key")
MEMBER_TYPES = ("gcp.iam.member", "gcp.iam.service_account")
#: Pending reads kept per worker: enough to keep the pool busy, small enough to stay flat.
WINDOW_PER_WORKER = 4
#: A read skipped because no selected policy needs it (not a failure: nothing is claimed).
NOT_READ = Failure("not read: no selected policy needs it")
T = TypeVar("T")
#: A bucket's content sample: the bucket carrying it, or unchanged with the error to report.
Sampled = tuple[Resource, CollectionError | None]
#: A bucket's access: its IAM policy, and its managed folders with theirs (None: it can have none).
Access = tuple[dict[str, Any] | Failure, list[tuple[str, dict[str, Any]]] | Failure | None]

#: Reads asked for per service account: its policy, its keys, and per project its HMAC keys.
Pending = tuple[list[tuple[str, str, Future[dict[str, Any] | Failure]]],
                list[tuple[str, str, Future[list[dict[str, Any]] | Failure]]],
                dict[str, Future[list[dict[str, Any]] | Failure]]]


@dataclass(frozen=True)
class Reads:
    """Which optional reads the selected policies need (the bucket listing is always read)."""

    iam: bool = True  # bucket IAM policies: public grants, access policies, principals
    graph: bool = True  # policies above buckets, service accounts, roles: principals only
    kms: bool = True  # key metadata beyond what a key's use as a CMEK proves
    content: bool = True  # buckets' content_sample, when sampling is on
    stores: bool = True  # BigQuery, Cloud SQL, Compute Engine and Healthcare API stores
    store_iam: bool = True  # their own IAM policies: public access, principals
    keys: bool = True  # service accounts' user-managed keys (principals' access_keys)
    #: Policies above the stores (project, folders, organisation, deny policies): principals,
    #: and stores' public access (a public grant there reaches every store below).
    above: bool = True

    @classmethod
    def for_fields(cls, fields: Mapping[str, frozenset[str]]) -> Reads:
        """From the attributes each kind's selected policies read (``Provider.restrict``)."""
        iam = ("access_policy" in fields or "principal" in fields
               or "public_access" in fields.get("object_store", frozenset()))
        # A key's ``encrypts`` is derived by the engine and ``manager`` is known without a read.
        kms = bool(fields.get("key", frozenset()) - {"encrypts", "manager"})
        content = "content_sample" in fields.get("object_store", frozenset())
        stores = bool(fields.keys() & {"database", "table", "volume", "db_server", "key", "principal"})
        store_iam = "principal" in fields or any("public_access" in fields.get(kind, frozenset())
                                                 for kind in ("database", "table", "volume"))
        keys = "access_keys" in fields.get("principal", frozenset())
        public = any("public_access" in fields.get(kind, frozenset())
                     for kind in ("object_store", "database", "table", "volume"))
        return cls(iam=iam, graph="principal" in fields, kms=kms, content=content, stores=stores,
                   store_iam=store_iam, keys=keys, above=public or "principal" in fields)


class Collection:
    """One pass over the configured projects; ``records()`` may be consumed once."""

    def __init__(self, settings: GcpSettings, api: Api, reads: Reads | None = None,
                 report: Callable[[str], None] | None = None, *, sampler: Sampler | None = None,
                 classify: Callable[[Resource], str] | None = None) -> None:
        self._settings = settings
        self._api = api
        self._reads = reads or Reads()
        self._report = report
        self._sampler = sampler if self._reads.content else None
        self._classify = classify or (lambda resource: "unclassified")
        #: Each bucket's data class, for the graph's "reaches data of another class" (without a
        #: classifier each bucket is a class of its own: the strictest reading).
        self._classes: dict[str, str] = {}
        self._roles = RoleBook(settings.roles)
        self._principals = Principals(self._roles, directory=settings.groups,
                                      classify=self._class_of if classify else None,
                                      reported=settings.projects, accounts_read=self._reads.graph)
        self._keys: dict[str, Future[dict[str, Any] | Failure]] = {}
        self._context = frozenset(settings.context_projects)
        self._graph: dict[str, Future[list[str] | Failure]] = {}  # service-account listings
        self._hierarchy: Hierarchy | None = None  # set once the pool runs
        #: What was read but could not be used, said once the collection ends.
        self.notices: list[str] = []
        #: Per project, whether the organisation policy in effect enforces public access
        #: prevention (read once a bucket follows it; unread or failed: the bucket's own setting).
        self._prevention: dict[str, Future[bool | Failure]] = {}

    def records(self) -> Iterator[Record]:
        workers = self._settings.workers
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="phigate-gcp")
        try:
            self._hierarchy = Hierarchy(self._api, pool)
            for project in (*self._settings.projects, *self._settings.context_projects):
                if self._reads.above:
                    self._hierarchy.want(project)
                if self._reads.graph:
                    self._graph[project] = pool.submit(_attempt, self._api.service_accounts, project)
                stores = self._want_stores(project, pool)
                records = self._project(project, pool, workers * WINDOW_PER_WORKER)
                yield from (_as_context(r) for r in records) if project in self._context else records
                for pending in stores:
                    found = self._found(pending.result(), pool)
                    yield from (_as_context(r) for r in found) if project in self._context else found
            for name in sorted(self._keys):
                yield from self._key(name, self._keys[name].result())
            if self._reads.graph:
                yield from self._above_buckets(pool, self._hierarchy)
            if self._reads.above:
                self.notices.extend(
                    f"gcp {name}: cannot read its IAM deny policies: "
                    f"{failure.described(failure.needs('iam.denypolicies.list'))}; what they deny is counted "
                    "as granted" for name, failure in self._hierarchy.deny_failures())
        finally:
            pool.shutdown(wait=True, cancel_futures=True)
            self._api.close()
        if not self._reads.graph:
            return  # no selected policy judges principals: their roles were not read, nor are they
        for record in self._principals.records():
            if isinstance(record, Resource) and record.id in self._principals.context:
                yield Context(record)  # named only outside the projects reported on
            else:
                yield record

    def _above_buckets(self, pool: ThreadPoolExecutor, hierarchy: Hierarchy) -> Iterator[CollectionError]:
        """Ancestries, policies and deny policies of projects, folders, organisations, service
        accounts' policies, roles."""
        owner: dict[str, str] = {}  # a name above projects → the scope its errors are reported in
        accounts: list[tuple[str, str, Future[dict[str, Any] | Failure]]] = []
        keys: list[tuple[str, str, Future[list[dict[str, Any]] | Failure]]] = []
        hmac: dict[str, Future[list[dict[str, Any]] | Failure]] = {}  # per project
        for project, listing in self._graph.items():
            names = hierarchy.ancestry(project)
            if isinstance(names, Failure):
                yield self._unread(project, f"project {project}: cannot read its folders and organisation",
                                   names, "resourcemanager.projects.get", "grants inherited from them")
            else:
                self._principals.ancestry(project, names)
                for name in names[1:]:
                    owner.setdefault(name, project)
            hierarchy.names(project)  # every policy above it asked for
            own = hierarchy.policy(f"projects/{project}").result()
            yield from self._policy(project, f"projects/{project}", own)
            yield from self._accounts(project, listing.result(), pool, (accounts, keys, hmac))
        for name in sorted(owner):
            yield from self._policy(owner[name], name, hierarchy.policy(name).result())
        for name in sorted({*owner, *(f"projects/{p}" for p in self._graph)}):
            rules = hierarchy.denies(name).result()
            if not isinstance(rules, Failure):
                self._principals.deny(name, rules)
        for project, email, pending in accounts:
            result = pending.result()
            if isinstance(result, Failure):
                yield self._unread(project, f"serviceAccount:{email}: cannot read its IAM policy", result,
                                   "iam.serviceAccounts.getIamPolicy", "who can act as it")
            else:
                self._principals.service_account_policy(project, email, _bindings(result))
        for project, email, pending_keys in keys:
            yield from self._account_keys(project, email, pending_keys.result(), hmac[project].result())
        self._read_roles(pool)

    def _accounts(self, project: str, emails: list[str] | Failure, pool: ThreadPoolExecutor,
                  pending: Pending) -> Iterator[CollectionError]:
        """The project's service accounts: their policies, and their keys when wanted, asked for."""
        accounts, keys, hmac = pending
        if isinstance(emails, Failure):
            yield self._unread(project, f"project {project}: cannot list its service accounts", emails,
                               "iam.serviceAccounts.list", "who can act as them")
            return
        self._principals.service_accounts(project, emails)
        read = functools.partial(self._api.service_account_policy, project)
        accounts.extend((project, email, pool.submit(_attempt, read, email)) for email in sorted(emails))
        if self._reads.keys:
            listed = functools.partial(self._api.service_account_keys, project)
            keys.extend((project, email, pool.submit(_attempt, listed, email)) for email in sorted(emails))
            hmac[project] = pool.submit(_attempt, self._api.hmac_keys, project)

    def _want_stores(self, project: str, pool: ThreadPoolExecutor) -> list[Future[Found]]:
        """The project's other stores, a service per worker; one left out is unseen in the graph."""
        if not self._reads.stores:
            return []
        for service in SERVICES:
            if service not in self._settings.services:
                self._principals.unseen(f"gcp project {project}: {NAMES[service]} not read (left out by "
                                        "providers.gcp.services)")
        return [pool.submit(read, service, self._api, project, self._reads.store_iam)
                for service in self._settings.services]

    def _found(self, found: Found, pool: ThreadPoolExecutor) -> Iterator[Record]:
        """What a service reader saw: its records, then what it adds to the graph and the keys."""
        for item in found.records:
            record, unknown = item, None
            if isinstance(item, Resource) and item.kind != "db_server":
                record, unknown = self._inherited(item)
                self._classes[record.id] = self._classify(record)
            yield record
            if unknown is not None:
                yield unknown
        principals = self._principals
        for store_id, service, noun, parent, holds_data in found.stores:
            principals.store(found.project, store_id, service, noun, parent=parent, holds_data=holds_data)
        for on, bindings in found.grants:
            principals.grant(found.project, on, bindings)
        read = {*self._settings.projects, *self._settings.context_projects}
        for link in found.links:
            principals.authorized(link.reader, link.source, link.how)
            elsewhere = link.reader.split("/")[4] if link.reader.count("/") >= 4 else ""
            if elsewhere not in read:  # who reads it there was never seen
                principals.unseen_readers(link.source, f"{link.source}: read through {link.how} of project "
                                          f"{elsewhere}, which was not read: who reads through it is not "
                                          f"known (add {elsewhere} to providers.gcp.projects)")
        for reason, permission in found.unknown:
            principals.unknown(reason, permission)
        for key in found.keys:
            self._want_key_name(key, pool)

    def _account_keys(self, project: str, email: str, result: list[dict[str, Any]] | Failure,
                      hmac: list[dict[str, Any]] | Failure) -> Iterator[CollectionError]:
        """A service account's user-managed keys and the project's HMAC keys for it; either
        unread, its ``access_keys`` is left out."""
        member = f"serviceAccount:{email}"
        for failure, permission, what in ((result, KEYS_PERMISSION, "its user-managed keys"),
                                          (hmac, HMAC_PERMISSION, f"the HMAC keys of project {project}")):
            if isinstance(failure, Failure):
                needs = failure.needs(permission)
                yield CollectionError(provider=PROVIDER, scope=project, kinds=("principal",),
                                      types=("gcp.iam.service_account",), resource_id=member,
                                      permission=needs,
                                      message=f"{member}: cannot list {what}: {failure.described(needs)}")
        if not isinstance(result, Failure) and not isinstance(hmac, Failure):
            now = report_time()
            self._principals.service_account_keys(
                member, [*access_keys(result, now), *hmac_keys(hmac, now).get(email, [])])

    def _inherited(self, store: Resource) -> tuple[Resource, CollectionError | None]:
        """The store with the public grants its project inherits from above (policies of the
        project, its folders and organisation), when a selected policy reads them."""
        if not self._reads.above or self._hierarchy is None or "public_access" not in store.attributes:
            return store, None
        return expose(store, self._hierarchy.exposure(store.scope or "", self._roles), self._roles)

    def _class_of(self, store: str) -> str:
        return self._classes.get(store, store)

    def _policy(self, project: str, name: str, result: dict[str, Any] | Failure) -> Iterator[CollectionError]:
        if isinstance(result, Failure):
            yield self._unread(project, f"{name}: cannot read the IAM policy", result,
                               POLICY_PERMISSIONS[name.split("/", 1)[0]], "what its grants reach")
        else:
            self._principals.resource_policy(name, _bindings(result))

    def _unread(self, project: str, what: str, failure: Failure, permission: str,
                unknown: str) -> CollectionError:
        """A read above the buckets failed: anyone may be granted there."""
        needs = failure.needs(permission)
        self._principals.unseen(f"gcp {what}: {failure.described(needs)}")
        return CollectionError(provider=PROVIDER, scope=project, kinds=("principal",), types=MEMBER_TYPES,
                               permission=needs, message=f"{what}: {failure.described(needs)}; {unknown} "
                                                         "is unknown")

    def _read_roles(self, pool: ThreadPoolExecutor) -> None:
        """Roles the table does not describe, read from IAM; one that cannot be read stays unknown
        (its members' access is undecided, reported with them)."""
        wanted = self._principals.roles_to_read()
        pending = {role: pool.submit(_attempt, self._api.role, role)
                   for role in wanted if ROLE_NAME.match(role)}
        for role in wanted:
            result = pending[role].result() if role in pending else Failure("not a role name")
            if isinstance(result, Failure):
                self._principals.role_failed(role, result.described(result.needs("iam.roles.get")))
            else:
                self._roles.learn(role, result)

    def _project(self, project: str, pool: ThreadPoolExecutor, window_size: int) -> Iterator[Record]:
        window: deque[tuple[dict[str, Any], Future[Access], Future[Sampled] | None]]
        window = deque()
        pages = self._api.bucket_pages(project)
        listed = 0
        while True:
            try:
                page = next(pages)
            except StopIteration:
                break
            except Exception as exc:  # any failure to list is reported, never raised
                failure = describe(exc)
                permission = failure.needs("storage.buckets.list")
                yield CollectionError(
                    provider=PROVIDER, scope=project, kinds=PROJECT_KINDS, permission=permission,
                    message=f"project {project}: cannot list buckets: {failure.described(permission)}")
                self._principals.unknown(f"project {project}: cannot list every bucket: "
                                         f"{failure.described(permission)}", permission)
                break
            listed += len(page)
            if self._report is not None:
                self._report(f"gcp {project}: {listed} bucket(s) listed")
            for data in page:
                name = data.get("name")
                if not isinstance(name, str) or not name:  # the API names every bucket
                    yield CollectionError(provider=PROVIDER, scope=project, kinds=PROJECT_KINDS,
                                          message=f"project {project}: the listing holds a bucket without "
                                                  "a name; it could not be read")
                    self._principals.unknown(f"project {project}: a bucket could not be read", None)
                    continue
                unread: Access = (NOT_READ, None)
                access = pool.submit(self._access, data) if self._reads.iam else _done(unread)
                if self._reads.iam and project not in self._prevention and _follows_above(data):
                    self._prevention[project] = pool.submit(_attempt, self._api.public_access_prevention,
                                                            project)
                window.append((data, access, self._want_sample(project, data, pool)))
                self._want_key(data, pool)
                while len(window) >= window_size:
                    yield from self._bucket(project, *window.popleft())
        while window:
            yield from self._bucket(project, *window.popleft())

    def _access(self, data: Mapping[str, Any]) -> Access:
        """The bucket's IAM policy and, on a bucket with uniform access (the only kind that can
        hold managed folders), its managed folders' policies; failures come back as data."""
        name = str(data["name"])
        folders = _attempt(self._api.managed_folders, name) if bucket_uniform(data) else None
        return _attempt(self._api.iam_policy, name), folders

    def _want_sample(self, project: str, data: Mapping[str, Any],
                     pool: ThreadPoolExecutor) -> Future[Sampled] | None:
        """A sample of the bucket's objects, unless sampling is off or the bucket is clinical."""
        if self._sampler is None:
            return None
        from phigate_providers.content.options import wanted

        bucket = bucket_resource(project, data, None)  # its id, name and labels: what sampling needs
        return pool.submit(self._sample, bucket, self._sampler) if wanted(bucket, self._classify) else None

    def _sample(self, bucket: Resource, sampler: Sampler) -> Sampled:
        from phigate_providers.gcp.sampling import sample_bucket

        try:
            return sample_bucket(self._api.storage(), bucket, sampler)
        except Exception as exc:  # a defect, not a denial: an error for this bucket, never a pass
            # Only the exception's type: its message could quote what was read.
            return bucket, CollectionError(
                provider=PROVIDER, scope=bucket.scope, region=bucket.region, kinds=("object_store",),
                types=(BUCKET_TYPE,), resource_id=bucket.id,
                message=f"bucket {bucket.name}: content sample failed ({type(exc).__name__})")

    def _want_key(self, data: Mapping[str, Any], pool: ThreadPoolExecutor) -> None:
        encryption = data.get("encryption")
        name = encryption.get("defaultKmsKeyName") if isinstance(encryption, Mapping) else None
        if isinstance(name, str) and name:
            self._want_key_name(name, pool)

    def _want_key_name(self, name: str, pool: ThreadPoolExecutor) -> None:
        if name not in self._keys:
            if not self._reads.kms:
                self._keys[name] = _done(NOT_READ)
            elif KEY_NAME.match(name):
                self._keys[name] = pool.submit(_attempt, self._api.kms_key, name)
            else:
                self._keys[name] = _done(Failure("not a Cloud KMS key name"))

    def _bucket(self, project: str, data: dict[str, Any], pending: Future[Access],
                sample: Future[Sampled] | None) -> Iterator[Record]:
        policy, folders = pending.result()
        # An organisation policy that could not be read leaves the bucket's own setting: at worst
        # a bucket it protects fails PHI-IAM-002, never the reverse.
        above = self._prevention[project].result() is True if _follows_above(data) and \
            project in self._prevention else False
        # Every listed bucket is a store grants above it reach, whatever its own policy.
        listed = bucket_resource(project, data, None, enforced_above=above)
        self._classes[listed.id] = self._classify(listed)
        self._principals.store(project, listed.id)
        if policy is NOT_READ:  # no selected policy reads access: none is claimed
            yield from _with_sample(listed, sample)
            return
        if isinstance(policy, Failure):
            bucket = listed
            yield from _with_sample(bucket, sample)
            yield from self._unread_policy(project, bucket.id, str(data["name"]), bucket.region, policy)
            return
        bindings = _bindings(policy)
        if isinstance(folders, Failure):  # grants under prefixes unknown: public ones included
            bucket = listed
            yield from _with_sample(bucket, sample)
            yield from self._unread_folders(project, bucket, folders)
        else:
            inside = [(folder, _bindings(p)) for folder, p in folders or ()]
            bucket = bucket_resource(project, data, bindings + [b for _, found in inside for b in found],
                                     enforced_above=above)
            bucket, unknown = self._inherited(bucket)
            yield from _with_sample(bucket, sample)
            if unknown is not None:
                yield unknown
            for folder, found in inside:
                self._principals.add(project, bucket.id, found, folder=folder)
        yield policy_resource(project, bucket, policy, bindings)
        self._principals.add(project, bucket.id, bindings)
        if not bucket_uniform(data):
            self._principals.acl_readers(bucket.id, public=not bucket.attributes["public_access"]["blocked"])

    def _unread_policy(self, project: str, bucket: str, name: str, region: str | None,
                       failure: Failure) -> Iterator[Record]:
        permission = failure.needs("storage.buckets.getIamPolicy")
        why = f"{bucket}: cannot read the IAM policy: {failure.described(permission)}"
        yield CollectionError(
            provider=PROVIDER, scope=project, region=region, kinds=("object_store",), types=(BUCKET_TYPE,),
            resource_id=bucket, permission=permission, message=f"{why}; public grants unknown")
        yield CollectionError(
            provider=PROVIDER, scope=project, region=region, kinds=("access_policy", "principal"),
            types=(POLICY_TYPE, *MEMBER_TYPES), resource_id=policy_id(name), permission=permission,
            message=f"{why}; who can read the bucket is unknown")
        self._principals.unknown(why, permission)

    def _unread_folders(self, project: str, bucket: Resource, failure: Failure) -> Iterator[Record]:
        permission = failure.needs("storage.managedFolders.list")  # or …getIamPolicy: either denial
        why = f"{bucket.id}: cannot read its managed folders' IAM policies: {failure.described(permission)}"
        yield CollectionError(
            provider=PROVIDER, scope=project, region=bucket.region, kinds=("object_store",),
            types=(BUCKET_TYPE,), resource_id=bucket.id, permission=permission,
            message=f"{why}; public grants unknown")
        self._principals.unknown(why, permission)

    def _key(self, name: str, result: dict[str, Any] | Failure) -> Iterator[Record]:
        if result is NOT_READ:
            yield key_resource(name, None)
            return
        if not isinstance(result, Failure):
            yield key_resource(name, result)
            return
        key = key_resource(name, None)
        yield key
        permission = result.needs("cloudkms.cryptoKeys.get")
        yield CollectionError(
            provider=PROVIDER, scope=key.scope, region=key.region, kinds=("key",), types=(KEY_TYPE,),
            resource_id=name, permission=permission,
            message=f"{name}: cannot read the key: {result.described(permission)}")


def _with_sample(bucket: Resource, sample: Future[Sampled] | None) -> Iterator[Record]:
    """The bucket, carrying its content sample when one was read; the sample's error after it."""
    if sample is None:
        yield bucket
        return
    sampled, error = sample.result()
    value = sampled.attributes.get("content_sample")
    if value is None:
        yield bucket
    else:
        yield Resource(id=bucket.id, type=bucket.type, kind=bucket.kind, provider=bucket.provider,
                       scope=bucket.scope, region=bucket.region, name=bucket.name, tags=bucket.tags,
                       data_class=bucket.data_class, raw=bucket.raw,
                       attributes={**bucket.attributes, "content_sample": value})
    if error is not None:
        yield error


def _follows_above(data: Mapping[str, Any]) -> bool:
    """The bucket's public access prevention is whatever the organisation policy says."""
    iam = data.get("iamConfiguration")
    return (iam.get("publicAccessPrevention") if isinstance(iam, Mapping) else None) in FOLLOWS_ABOVE


def _bindings(policy: Mapping[str, Any]) -> list[Binding]:
    return [Binding.from_api(b) for b in policy.get("bindings") or () if isinstance(b, Mapping)]


def _as_context(record: Record) -> Record:
    """A record of a project read for the graph only: its resources are context."""
    return Context(record) if isinstance(record, Resource) else record


def _done(value: T) -> Future[T]:
    future: Future[T] = Future()
    future.set_result(value)
    return future


def _attempt(read: Callable[[str], T], name: str) -> T | Failure:
    """Run one read in a worker; a failure comes back as data, never as an exception."""
    try:
        return read(name)
    except Exception as exc:
        return describe(exc)


__all__ = ["Collection"]
