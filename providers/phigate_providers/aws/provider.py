"""The AWS provider: accounts → concurrent, read-only collection → normalised resources."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from phigate.api import CollectionError, InputError, Provider, Record, Resource, RunContext, Scope
from phigate_providers import wirelogs
from phigate_providers.aws import estate, offered, operations, services
from phigate_providers.aws.account_run import AccountRun
from phigate_providers.aws.calls import ApiFailure
from phigate_providers.aws.context import PROVIDER, Account
from phigate_providers.aws.foreign_copies import ForeignSources
from phigate_providers.aws.needs import STORE_KINDS, Needs
from phigate_providers.aws.session import (
    Clients,
    Tuning,
    assumed_session,
    base_session,
    caller_account,
    organization_accounts,
)
from phigate_providers.content.options import ContentOptions

_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_ACCOUNT = re.compile(r"^\d{12}$")
DEFAULT_REGION = "us-east-1"


#: The keys of ``providers: {aws: …}`` in phigate.yaml.
KNOWN_SETTINGS = frozenset({"regions", "accounts", "workers", "max_attempts", "org_role", "profile",
                            "external_id", "sample_content", "content_sample"})


@dataclass(frozen=True)
class Settings:
    profile: str | None = None
    regions: tuple[str, ...] = ()
    accounts: tuple[str, ...] = ()
    org_role: str | None = None
    external_id: str | None = None
    workers: int = 16
    max_attempts: int = 8


class AwsProvider:
    """Live AWS accounts through boto3 (profiles, the default chain, AWS_ENDPOINT_URL)."""

    name: ClassVar[str] = PROVIDER
    description: ClassVar[str] = (
        "AWS accounts, live and read-only: S3, KMS, IAM, RDS and Aurora with their snapshots and "
        "kept backups, Redshift and its snapshots, OpenSearch, ElastiCache, DynamoDB and its backups, "
        "EBS volumes and snapshots, EC2 images, EFS, FSx, S3 Glacier vaults, SQS, SNS, "
        "CloudWatch Logs, Kinesis, Firehose, CloudTrail; several "
        "accounts through Organizations and sts:AssumeRole"
    )
    permissions: ClassVar[tuple[str, ...]] = operations.permissions()

    def __init__(self, settings: Settings, content: ContentOptions | None = None,
                 classify: Callable[[Resource], str] | None = None) -> None:
        self.settings = settings
        #: Content sampling (off unless asked for) and the classification it spares clinical
        #: buckets by: the config's, as the engine will apply it.
        self._content = content or ContentOptions()
        self._classify = classify
        #: The accounts to read, each with whether it is reported (else read as context).
        self._accounts: list[tuple[Account, bool]] | None = None
        self._account_errors: list[CollectionError] = []
        self._accounts_unseen: list[str] = []
        #: A slice of an organization scan: the one account it reads.
        self._only: str | None = None
        self._notices: list[str] = []
        self._fields: Mapping[str, frozenset[str]] | None = None
        self._classes: Mapping[str, Mapping[str, frozenset[str]]] = {}
        self._report: Callable[[str], None] | None = None

    def notices(self) -> list[str]:
        """What the scope left unread that a residency check might want (information)."""
        return list(self._notices)

    def watch(self, report: Callable[[str], None]) -> None:
        """Report the API calls made, per account, while collecting."""
        self._report = report

    def restrict(self, fields: Mapping[str, frozenset[str]]) -> None:
        """Read only what the run's policies need (see :func:`phigate.run.fields_needed`)."""
        self._fields = fields

    def restrict_classes(self, classes: Mapping[str, Mapping[str, frozenset[str]]]) -> None:
        """Read what only some data classes need only for buckets of those classes (see
        :class:`phigate.api.RestrictableByClass`)."""
        self._classes = classes

    @classmethod
    def permissions_document(cls, sample_content: bool = False) -> str:
        """The audit policy; with ``sample_content``, plus the object reads sampling makes."""
        if not sample_content:
            return operations.policy_document()
        from phigate_providers.aws.sampling import policy_statement

        return operations.policy_document(policy_statement())

    @classmethod
    def claims(cls, target: str) -> bool:
        return False  # live provider: no files

    @classmethod
    def configure(cls, targets: list[str], context: RunContext) -> list[Provider]:
        settings, option = context.settings, context.option
        unknown = sorted(str(k) for k in settings if k not in KNOWN_SETTINGS)
        if unknown:  # a typo ("regionz") would silently widen the scan to every region
            hint = difflib.get_close_matches(unknown[0], sorted(KNOWN_SETTINGS), n=1)
            raise InputError(f"providers.aws: unknown setting '{unknown[0]}'"
                             + (f" (did you mean '{hint[0]}'?)" if hint else "")
                             + f"; known: {', '.join(sorted(KNOWN_SETTINGS))}")

        regions = tuple(option("region", "regions") or ())
        for region in regions:
            if not _REGION.match(str(region)):
                raise InputError(f"aws: '{region}' is not an AWS region name (e.g. eu-west-3)")
        accounts = tuple(str(a) for a in option("account", "accounts") or ())
        for account in accounts:
            if not _ACCOUNT.match(account):
                raise InputError(f"aws: '{account}' is not a 12-digit AWS account id")
        workers = option("aws_workers", "workers") or 16
        if not isinstance(workers, int) or not 1 <= workers <= 256:
            raise InputError(f"aws: workers must be an integer from 1 to 256, not {workers!r}")
        attempts = option("aws_max_attempts", "max_attempts") or 8
        if not isinstance(attempts, int) or not 1 <= attempts <= 20:
            raise InputError(f"aws: max_attempts must be an integer from 1 to 20, not {attempts!r}")
        org_role = option("org_role", "org_role")
        if accounts and not org_role:
            raise InputError("aws: --account needs --org-role (the role to assume in each account)")
        content = ContentOptions.from_options(PROVIDER, context.options, settings)
        # Classified as the engine will: clinical buckets are not sampled, and health data outside
        # the asked regions is reported all the same.
        classify = context.classify
        provider: Provider = cls(
            Settings(
                profile=option("aws_profile", "profile"),
                regions=regions,
                accounts=accounts,
                org_role=org_role,
                external_id=option("external_id", "external_id"),
                workers=workers,
                max_attempts=attempts,
            ),
            content,
            classify,
        )
        return [provider]

    def slices(self) -> list[Provider]:
        """One provider per account of the organization, for a distributed scan (each assumes the
        role in its own account on its worker); a single-account audit is one slice. Regions
        are not split. Principals' reads and edges are not computed by the slices: each sends back
        its stores, identities, managed policies and runners (:meth:`collect_part`) and
        :meth:`join` analyses them together in the client, so cross-account grants and role
        chaining count as in a local run."""
        if not self.settings.org_role or self._only is not None:
            return [self]
        region = self.settings.regions[0] if self.settings.regions else DEFAULT_REGION
        try:
            base = base_session(self.settings.profile, region)
            ids, unseen, _ = self._account_ids(base, base.region_name or region)
        except Exception:  # listing fails again in collect(), where it becomes a collection error
            return [self]
        if unseen:
            return [self]  # some accounts could not be listed: collect() reports it
        parts: list[Provider] = []
        for account_id in ids:
            part = AwsProvider(self.settings, self._content, self._classify)
            part._only = account_id
            part._fields = self._fields
            part._classes = self._classes
            parts.append(part)
        return parts

    @property
    def slice_account(self) -> str | None:
        """The one account this slice of an organization scan reads (None: not a slice)."""
        return self._only

    def scopes(self) -> list[Scope]:
        with wirelogs.quiet(wirelogs.AWS):  # resolving calls STS (and Organizations)
            accounts = [account for account, reported in self._resolve() if reported]
        if not accounts:
            if self._only is not None and not self._reported(self._only):
                return []  # a slice read only as context
            return [Scope(PROVIDER, self._only or self.settings.profile or "default credentials",
                          self.settings.regions)]
        return [Scope(PROVIDER, a.account_id, a.regions) for a in accounts]

    def collect(self) -> Iterator[Record]:
        facts = estate.EstateFacts()
        yield from self._collect(facts)
        with wirelogs.quiet(wirelogs.AWS):
            yield from estate.join([facts])

    def collect_part(self) -> tuple[list[Record], estate.EstateFacts]:
        """A slice's records, principals left out, and what the join needs of it."""
        facts = estate.EstateFacts()
        return list(self._collect(facts)), facts

    def join(self, parts: Sequence[estate.EstateFacts], lost: Sequence[Provider]) -> Iterator[Record]:
        """The principals of every slice, their reads and edges over every slice's facts;
        ``lost`` are the slices that could not be collected: their accounts are unseen."""
        unseen = [f"aws account {getattr(part, 'slice_account', None) or 'of a lost slice'} "
                  "(not collected: its slice failed)" for part in lost]
        yield from estate.join(parts, unseen)

    def _collect(self, facts: estate.EstateFacts) -> Iterator[Record]:
        with wirelogs.quiet(wirelogs.AWS):  # botocore's DEBUG logs carry tokens and responses
            accounts = self._resolve()
            yield from self._account_errors
            facts.unseen += self._accounts_unseen
            # Sampling classifies buckets by their content too: every bucket then has every read.
            needs = Needs.from_fields(self._fields, {} if self._content.enabled else self._classes)
            sampler = self._content.sampler() if needs.content else None  # one key per run
            foreign = ForeignSources([a.account_id for a, _ in accounts], self._classify)
            for account, reported in accounts:
                if self._report is not None:
                    account.clients.on_call = _call_reporter(self._report, account.account_id)
                run = AccountRun(account, self.settings.workers, needs, sampler, self._classify,
                                 reported=reported)
                yield from foreign.passing(run.run())
                facts.parts.append(run.facts)
                self._notices += offered.notices(account)
            yield from foreign.rest()
            regions = self.settings.regions
            if regions and needs.residency and any(reported for _, reported in accounts):
                regional = [service.name for service in services.COLLECTED if service.kind in STORE_KINDS]
                self._notices.append(
                    f"aws: {', '.join(regional)} are reported in {', '.join(regions)} only; "
                    "S3 buckets and DynamoDB tables holding health data elsewhere are reported, "
                    "those are not: scan every region to check their residency too")

    def _reported(self, account_id: str) -> bool:
        """Whether an account's resources are reported: those asked (``--account``), else all."""
        return not self.settings.accounts or account_id in self.settings.accounts

    def _account_ids(self, base: Any, home: str) -> tuple[list[str], list[str], list[CollectionError]]:
        """The organization's accounts to read, what could not be listed and its error. With
        ``--account`` and an access analysis, the others are read too (as context): a bucket
        policy of one account may grant a role of another, and roles are assumed across accounts."""
        asked = list(self.settings.accounts)
        if asked and not Needs.from_fields(self._fields).access:
            return asked, [], []
        try:
            listed = organization_accounts(base, home)
        except ApiFailure as failure:
            if not asked:
                raise
            error = CollectionError(
                PROVIDER, failure.describe("the organization's other accounts (for the access analysis)"),
                kinds=("principal",), permission=failure.permission)
            return asked, [f"the organization's accounts other than {', '.join(asked)} (not listed: "
                           f"{failure.describe('ListAccounts')})"], [error]
        return sorted(set(listed) | set(asked)), [], []

    def _resolve(self) -> list[tuple[Account, bool]]:
        """The accounts to read, each with whether it is reported (resolved once; failures
        become collection errors)."""
        if self._accounts is not None:
            return self._accounts
        tuning = Tuning(workers=self.settings.workers, max_attempts=self.settings.max_attempts)
        region = self.settings.regions[0] if self.settings.regions else DEFAULT_REGION
        self._accounts = []
        try:
            base = base_session(self.settings.profile, region)
            home = base.region_name or region
            if not self.settings.org_role:
                own = caller_account(base, home)
                self._accounts.append((Account(own, Clients(base, tuning), self.settings.regions, home),
                                       True))
                return self._accounts
            if self._only is not None:
                ids = [self._only]
            else:
                ids, unseen, errors = self._account_ids(base, home)
                self._accounts_unseen += unseen
                self._account_errors += errors
        except ApiFailure as failure:
            self._account_errors.append(
                CollectionError(PROVIDER, failure.describe("AWS credentials"), permission=failure.permission)
            )
            return self._accounts
        except Exception as exc:  # a broken profile or config file: botocore's own message
            self._account_errors.append(
                CollectionError(PROVIDER, f"AWS session: {type(exc).__name__}: {exc}")
            )
            return self._accounts
        for account_id in ids:
            reported = self._reported(account_id)
            role_arn = f"arn:aws:iam::{account_id}:role/{self.settings.org_role}"
            try:
                session = assumed_session(base, role_arn, self.settings.external_id, home)
            except ApiFailure as failure:
                what = f"account {account_id} (assuming {role_arn})"
                self._account_errors.append(
                    CollectionError(
                        PROVIDER,
                        failure.describe(what if reported else f"{what}, read for the access analysis"),
                        scope=account_id if reported else "",
                        kinds=() if reported else ("principal",),
                        permission=failure.permission,
                    )
                )
                self._accounts_unseen.append(f"aws account {account_id} (not read: {failure.describe(what)})")
                continue
            account = Account(account_id, Clients(session, tuning), self.settings.regions, home)
            self._accounts.append((account, reported))
        return self._accounts


def _call_reporter(report: Callable[[str], None], account_id: str) -> Callable[[int], None]:
    return lambda calls: report(f"aws {account_id}: {calls} API calls…")


__all__ = ["AwsProvider"]
