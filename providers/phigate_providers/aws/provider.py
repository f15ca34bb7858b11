"""The AWS provider: accounts → concurrent, read-only collection → normalised resources."""

from __future__ import annotations

import argparse
import dataclasses
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from phigate.api import CollectionError, InputError, Provider, Record, Resource, Scope
from phigate.classify import Classifier
from phigate.config import load_config
from phigate_providers import wirelogs
from phigate_providers.aws import operations
from phigate_providers.aws.account_run import AccountRun, Needs
from phigate_providers.aws.calls import ApiFailure
from phigate_providers.aws.context import PROVIDER, Account
from phigate_providers.aws.estate import Estate
from phigate_providers.aws.session import (
    Clients,
    Tuning,
    assumed_session,
    base_session,
    caller_account,
    organization_accounts,
)
from phigate_providers.content.options import ContentOptions
from phigate_providers.content.options import add_arguments as add_sampling_arguments

_REGION = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d+$")
_ACCOUNT = re.compile(r"^\d{12}$")
DEFAULT_REGION = "us-east-1"


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
        "AWS accounts, live and read-only: S3, KMS, IAM, RDS, DynamoDB, EBS, "
        "CloudTrail; several accounts through Organizations and sts:AssumeRole"
    )
    permissions: ClassVar[tuple[str, ...]] = operations.permissions()

    def __init__(self, settings: Settings, content: ContentOptions | None = None,
                 classify: Callable[[Resource], str] | None = None) -> None:
        self.settings = settings
        #: Content sampling (off unless asked for) and the classification it spares clinical
        #: buckets by: the config's, as the engine will apply it.
        self._content = content or ContentOptions()
        self._classify = classify
        self._accounts: list[Account] | None = None
        self._account_errors: list[CollectionError] = []
        self._fields: Mapping[str, frozenset[str]] | None = None
        self._report: Callable[[str], None] | None = None

    def watch(self, report: Callable[[str], None]) -> None:
        """Report the API calls made, per account, while collecting."""
        self._report = report

    def restrict(self, fields: Mapping[str, frozenset[str]]) -> None:
        """Read only what the run's policies need (see :func:`phigate.run.fields_needed`)."""
        self._fields = fields

    @classmethod
    def permissions_document(cls, sample_content: bool = False) -> str:
        """The audit policy; with ``sample_content``, plus the object reads sampling makes."""
        if not sample_content:
            return operations.policy_document()
        from phigate_providers.aws.sampling import policy_statement

        return operations.policy_document(policy_statement())

    @classmethod
    def add_arguments(cls, parser: argparse._ArgumentGroup) -> None:
        parser.add_argument(
            "--aws-profile", metavar="NAME", help="named AWS profile (default: the credential chain)"
        )
        parser.add_argument(
            "--region",
            action="append",
            default=None,
            metavar="REGION",
            help="AWS region to audit (repeatable; default: every enabled region)",
        )
        parser.add_argument(
            "--org-role",
            metavar="ROLE",
            help="audit every account of the AWS Organization by assuming this role name",
        )
        parser.add_argument(
            "--account",
            action="append",
            default=None,
            metavar="ID",
            help="with --org-role: only these account ids (repeatable)",
        )
        parser.add_argument(
            "--external-id", metavar="ID", help="external id to present when assuming --org-role"
        )
        parser.add_argument(
            "--aws-workers", type=int, metavar="N", help="concurrent API calls per account (16)"
        )
        parser.add_argument(
            "--aws-max-attempts",
            type=int,
            metavar="N",
            help="attempts per API call, retries included, with adaptive backoff (8)",
        )
        add_sampling_arguments(parser)

    @classmethod
    def claims(cls, target: str) -> bool:
        return False  # live provider: no files

    @classmethod
    def configure(
        cls, targets: list[str], options: argparse.Namespace, settings: Mapping[str, Any]
    ) -> list[Provider]:
        def option(name: str, key: str) -> Any:
            value = getattr(options, name, None)
            return value if value is not None else settings.get(key)

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
        content = ContentOptions.from_options(PROVIDER, options, settings)
        classify = None
        if content.enabled:  # clinical buckets are not sampled: classified as the engine will
            classify = Classifier(load_config(getattr(options, "config", None))).data_class
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
        are not split: an account's effective access is computed over all its stores."""
        if not self.settings.org_role:
            return [self]
        region = self.settings.regions[0] if self.settings.regions else DEFAULT_REGION
        try:
            base = base_session(self.settings.profile, region)
            ids = list(self.settings.accounts) or organization_accounts(base, base.region_name or region)
        except Exception:  # listing fails again in collect(), where it becomes a collection error
            return [self]
        parts: list[Provider] = []
        for account_id in ids:
            part = AwsProvider(dataclasses.replace(self.settings, accounts=(account_id,)), self._content,
                               self._classify)
            part._fields = self._fields
            parts.append(part)
        return parts

    def scopes(self) -> list[Scope]:
        with wirelogs.quiet(wirelogs.AWS):  # resolving calls STS (and Organizations)
            accounts = self._resolve()
        if not accounts:
            return [Scope(PROVIDER, self.settings.profile or "default credentials", self.settings.regions)]
        return [Scope(PROVIDER, a.account_id, a.regions) for a in accounts]

    def collect(self) -> Iterator[Record]:
        with wirelogs.quiet(wirelogs.AWS):  # botocore's DEBUG logs carry tokens and responses
            yield from self._account_errors
            needs = Needs.from_fields(self._fields)
            sampler = self._content.sampler() if needs.content else None  # one key per run
            estate = Estate()  # principals are decided over every account, once all are read
            for account in self._resolve():
                if self._report is not None:
                    account.clients.on_call = _call_reporter(self._report, account.account_id)
                yield from AccountRun(account, self.settings.workers, needs, sampler, self._classify,
                                      estate=estate).run()
            yield from estate.principals()

    def _resolve(self) -> list[Account]:
        """The accounts to audit (resolved once; failures become collection errors)."""
        if self._accounts is not None:
            return self._accounts
        tuning = Tuning(workers=self.settings.workers, max_attempts=self.settings.max_attempts)
        region = self.settings.regions[0] if self.settings.regions else DEFAULT_REGION
        self._accounts = []
        try:
            base = base_session(self.settings.profile, region)
            home = base.region_name or region
            if not self.settings.org_role:
                self._accounts.append(
                    Account(caller_account(base, home), Clients(base, tuning), self.settings.regions, home)
                )
                return self._accounts
            ids = list(self.settings.accounts) or organization_accounts(base, home)
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
            role_arn = f"arn:aws:iam::{account_id}:role/{self.settings.org_role}"
            try:
                session = assumed_session(base, role_arn, self.settings.external_id, home)
            except ApiFailure as failure:
                self._account_errors.append(
                    CollectionError(
                        PROVIDER,
                        failure.describe(f"account {account_id} (assuming {role_arn})"),
                        scope=account_id,
                        permission=failure.permission,
                    )
                )
                continue
            self._accounts.append(Account(account_id, Clients(session, tuning), self.settings.regions, home))
        return self._accounts


def _call_reporter(report: Callable[[str], None], account_id: str) -> Callable[[int], None]:
    return lambda calls: report(f"aws {account_id}: {calls} API calls…")


__all__ = ["AwsProvider"]
