"""One account's share of the access analysis: its stores, its identities, what was not read.

Kept until every account is read, since each principal's effective access depends on every store
and every principal of every account (cross-account grants, role chaining, escalation);
:mod:`.estate` joins them. Picklable and small: a distributed slice sends it back beside its
records, so it holds policy documents and ARNs, never resources' raw responses beyond the
principals' own records.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from phigate.api import CollectionError, Resource
from phigate_providers.aws import iam, s3
from phigate_providers.aws.access import PolicyDocument, Store
from phigate_providers.aws.calls import ApiFailure
from phigate_providers.aws.context import PROVIDER, Account
from phigate_providers.aws.escalation import ManagedPolicy, Member
from phigate_providers.aws.read_actions import Facet, bucket_facets, is_escalation, table_facets
from phigate_providers.aws.runners import Runner
from phigate_providers.aws.services import Service

#: A table as read: the resource (None: unreadable), its resource policy, whether that is known.
TableRead = tuple[Resource | None, PolicyDocument | None, bool]


@dataclass
class AccessFacts:
    """One account's share of the access analysis, kept until every account is read."""

    account_id: str
    #: Whether the account is reported (else its principals are context records).
    reported: bool
    stores: list[Store] = field(default_factory=list)
    #: Each principal without its access yet, and what the graph knows of it (its identity None:
    #: its policy documents are unreadable, or no access analysis was asked for).
    principals: list[tuple[Resource, Member]] = field(default_factory=list)
    #: Customer managed policies and the principals they are attached to.
    policies: list[ManagedPolicy] = field(default_factory=list)
    #: Functions and instances running as a role (the role resolved).
    runners: list[Runner] = field(default_factory=list)
    #: Where runners could not be listed (or their role resolved): a gap for identities that may
    #: change what they run.
    gaps: list[str] = field(default_factory=list)
    #: Scopes whose stores or identities could not be read: every principal may reach them.
    unseen: list[str] = field(default_factory=list)
    #: Per account a store is shared with (a snapshot), each such store and how it is read.
    shared: dict[str, dict[str, str]] = field(default_factory=dict)
    #: Entries of ``unseen`` that concern one store (its resource policy not read, its readers
    #: not decided by IAM), and that store: a policy about another data class is not blinded.
    about: dict[str, str] = field(default_factory=dict)

    def _unseen_store(self, entry: str, store: str) -> None:
        self.unseen.append(entry)
        self.about[entry] = store

    def add_buckets(self, listed: bool, buckets: list[s3.BucketFacts]) -> None:
        """The buckets whose policy is known, as stores; the others (and a failed listing) unseen.
        Object ACLs are no way in where a bucket is known to disable them."""
        if not listed:
            self.unseen.append(f"aws account {self.account_id} S3 buckets (not listed)")
        for facts in buckets:
            if not facts.policy_known:
                where = f" region {facts.region}" if facts.region else ""
                self._unseen_store(f"aws account {self.account_id}{where} S3 bucket {facts.name} "
                                   f"(bucket policy not read{_why(facts.failures)})", facts.arn)
                continue
            facets = bucket_facets(facts.arn, object_acls=s3.acls_disabled(facts) is not True)
            self.stores.append(Store.of(facts.arn, facets, self.account_id, facts.policy))

    def add_tables(self, tables: list[TableRead]) -> None:
        """The tables whose resource policy is known, as stores; the others unseen (an unreadable
        one through its error, see :meth:`add_unseen_stores`)."""
        for table, policy, known in tables:
            if table is None:
                continue
            if not known:
                self._unseen_store(f"aws account {self.account_id} region {table.region} "
                                   f"DynamoDB table {table.name} (resource policy not read)", table.id)
                continue
            self.stores.append(Store.of(table.id, table_facets(table.id), self.account_id, policy))

    def add_stores(self, service: Service, resources: Iterable[Resource], unread: Iterable[str]) -> None:
        """The stores of a service read region by region that principals read through IAM (an
        RDS database with IAM logins or the Data API, a snapshot), each with its ways in; one
        whose ways in are not known, and the regions whose listing failed (``unread``), unseen."""
        assert service.access is not None
        for region in unread:
            self.unseen.append(f"aws account {self.account_id} region {region} {service.name} (not listed)")
        for resource in resources:
            found = service.access(resource)
            if isinstance(found, str):
                self._unseen_store(f"aws account {self.account_id} region {resource.region} "
                                   f"{resource.id} ({found})", resource.id)
            elif found is not None:
                facets, policy = found
                self.stores.append(Store.of(resource.id, facets, self.account_id, policy))
                self._shared(resource, facets[0])

    def _shared(self, resource: Resource, facet: Facet) -> None:
        """The other accounts a store is shared with (``raw["shared_with"]``; ``all`` is public
        exposure, judged on the store), for the join to name those outside the run."""
        reads = sorted(a for a in facet.actions if not is_escalation(a))
        how = f"shared with the account: {', '.join(reads)}"
        for account in resource.raw.get("shared_with") or ():
            if account not in ("all", self.account_id):
                self.shared.setdefault(str(account), {})[resource.id] = how

    def add_unseen_stores(self, errors: Iterable[CollectionError], seen: set[str]) -> None:
        """Stores whose read failed and that were never yielded: principals may reach them."""
        for error in errors:
            store = {"object_store", "table", "database", "volume", "stream"} & set(error.kinds)
            if store and error.resource_id and error.resource_id not in seen:
                where = f" region {error.region}" if error.region else ""
                self.unseen.append(f"aws account {error.scope}{where} {error.resource_id} "
                                   f"(not read: {error.message})")

    def add_principals(self, account: Account, facts: iam.IamFacts | None, access: bool) -> None:
        """Each principal, its access left to the run-wide analysis (see :mod:`.estate`), and the
        managed policies with their holders (AWS-managed ones cannot be changed, only detached).
        One whose policy documents do not parse is an error, and no identity to analyse. IAM not read: every
        principal may be reachable through roles there."""
        if facts is None:
            if access:
                self.unseen.append(f"aws account {self.account_id}: IAM roles and their trust policies "
                                   "(not read)")
            return
        for principal in facts.principals:
            if principal.unreadable:
                account.errors.append(
                    CollectionError(
                        PROVIDER,
                        f"{principal.arn}: policy documents could not be parsed: "
                        f"{', '.join(principal.unreadable)}",
                        scope=account.account_id,
                        kinds=("principal",),
                        resource_id=principal.arn,
                    )
                )
            identity = principal.identity(self.account_id) if access and not principal.unreadable else None
            member = Member(principal.arn, principal.principal_type, self.account_id, identity,
                            tuple(principal.member_of), principal.trust)
            self.principals.append((iam.principal_resource(account, principal, None), member))
        for resource in facts.policy_resources:
            if resource.type == "aws.iam.policy":
                holders = tuple(resource.attributes.get("attached_to", ()))
                mine = f":{self.account_id}:" in resource.id  # AWS managed ones cannot be changed
                self.policies.append(ManagedPolicy(resource.id, self.account_id, holders, changeable=mine))

    def add_runners(self, found: Iterable[Runner], gaps: Iterable[str], profiles: Mapping[str, str]) -> None:
        """Functions and instances running as a role, an instance's profile resolved through
        IAM's ``profiles`` (a profile IAM does not name is a gap), and where listings failed."""
        self.gaps += gaps
        for runner in found:
            if not runner.by_profile:
                self.runners.append(runner)
            elif runner.role in profiles:
                self.runners.append(replace(runner, role=profiles[runner.role], by_profile=False))
            else:
                self.gaps.append(f"aws account {self.account_id}: {runner.arn} runs as {runner.role} "
                                 "(its role not known)")


def _why(failures: list[ApiFailure]) -> str:
    return f": {failures[0]}" if failures else ""


__all__ = ["AccessFacts", "TableRead"]
