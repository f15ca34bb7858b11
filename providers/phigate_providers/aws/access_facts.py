"""One account's share of the access analysis: its stores, its identities, what was not read.

Kept until every account is read, since each principal's effective access depends on every store
of every account (cross-account grants); :mod:`.estate` joins them. Picklable: a distributed
slice sends it back beside its records.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from phigate.api import CollectionError, Resource
from phigate_providers.aws import iam, s3
from phigate_providers.aws.access import Identity, PolicyDocument, Store
from phigate_providers.aws.calls import ApiFailure
from phigate_providers.aws.context import PROVIDER, Account

DYNAMODB_READ = frozenset(
    {
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:Query",
        "dynamodb:Scan",
        "dynamodb:PartiQLSelect",
        "dynamodb:ExportTableToPointInTime",
    }
)
S3_READ = frozenset({"s3:GetObject", "s3:GetObjectVersion"})
#: A table as read: the resource (None: unreadable), its resource policy, whether that is known.
TableRead = tuple[Resource | None, PolicyDocument | None, bool]


@dataclass
class AccessFacts:
    """One account's share of the access analysis, kept until every account is read: each
    principal's effective access depends on every store of every account (cross-account grants).
    Picklable: a distributed slice sends it back beside its records."""

    account_id: str
    #: Whether the account is reported (else its principals are context records).
    reported: bool
    stores: list[Store] = field(default_factory=list)
    #: Each principal without its access yet, and its identity (None: its policies are unreadable).
    principals: list[tuple[Resource, Identity | None]] = field(default_factory=list)
    #: Scopes whose stores could not be read: every principal may reach stores there.
    unseen: list[str] = field(default_factory=list)

    def add_buckets(self, listed: bool, buckets: list[s3.BucketFacts]) -> None:
        """The buckets whose policy is known, as stores; the others (and a failed listing) unseen."""
        if not listed:
            self.unseen.append(f"aws account {self.account_id} S3 buckets (not listed)")
        for facts in buckets:
            if not facts.policy_known:
                where = f" region {facts.region}" if facts.region else ""
                self.unseen.append(f"aws account {self.account_id}{where} S3 bucket {facts.name} "
                                   f"(bucket policy not read{_why(facts.failures)})")
                continue
            self.stores.append(Store(id=facts.arn, content_arn=f"{facts.arn}/*", read_actions=S3_READ,
                                     account=self.account_id, resource_policy=facts.policy))

    def add_tables(self, tables: list[TableRead]) -> None:
        """The tables whose resource policy is known, as stores; the others unseen (an unreadable
        one through its error, see :meth:`add_unseen_stores`)."""
        for table, policy, known in tables:
            if table is None:
                continue
            if not known:
                self.unseen.append(f"aws account {self.account_id} region {table.region} "
                                   f"DynamoDB table {table.name} (resource policy not read)")
                continue
            self.stores.append(Store(id=table.id, content_arn=table.id, read_actions=DYNAMODB_READ,
                                     account=self.account_id, resource_policy=policy))

    def add_unseen_stores(self, errors: Iterable[CollectionError], seen: set[str]) -> None:
        """Stores whose read failed and that were never yielded: principals may reach them."""
        for error in errors:
            store = {"object_store", "table"} & set(error.kinds)
            if store and error.resource_id and error.resource_id not in seen:
                where = f" region {error.region}" if error.region else ""
                self.unseen.append(f"aws account {error.scope}{where} {error.resource_id} "
                                   f"(not read: {error.message})")

    def add_principals(self, account: Account, facts: iam.IamFacts, access: bool) -> None:
        """Each principal, its access left to the estate-wide analysis (see :mod:`.estate`); one
        whose policy documents do not parse is an error, and no identity to analyse."""
        for principal in facts.principals:
            identity = None
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
            elif access:
                identity = principal.identity(account.account_id)
            self.principals.append((iam.principal_resource(account, principal, None), identity))


def _why(failures: list[ApiFailure]) -> str:
    return f": {failures[0]}" if failures else ""


__all__ = ["DYNAMODB_READ", "S3_READ", "AccessFacts", "TableRead"]
