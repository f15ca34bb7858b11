"""Credentials, accounts and clients.

boto3 resolves profiles, the default credential chain and endpoint overrides
(``AWS_ENDPOINT_URL`` and its per-service variants) by itself; this module adds what a
multi-account audit needs: the accounts of an AWS Organization reached by assuming a named role
(with an external id), refreshable assumed credentials for long runs, and one thread-safe cache of
clients per (account, service, region) with adaptive retries and bounded connection pools.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.credentials import RefreshableCredentials
from botocore.session import get_session

from phigate_providers.aws import timestamps
from phigate_providers.aws.calls import call, pages

USER_AGENT = "phigate"


@dataclass(frozen=True)
class Tuning:
    """Concurrency and retry settings shared by every client of a run."""

    workers: int = 16
    max_attempts: int = 8
    connect_timeout: float = 10.0
    read_timeout: float = 30.0


class Clients:
    """boto3 clients of one account, created once per (service, region) and shared by threads
    (clients are thread-safe; creating them is not, hence the lock)."""

    def __init__(self, session: boto3.Session, tuning: Tuning) -> None:
        self._session = session
        self._lock = threading.Lock()
        self._clients: dict[tuple[str, str], Any] = {}
        #: API calls made so far (for the progress line), and who wants to hear about them.
        self.calls = 0
        self.on_call: Callable[[int], None] | None = None
        self._config = Config(
            retries={"mode": "adaptive", "max_attempts": tuning.max_attempts},
            max_pool_connections=max(10, tuning.workers * 2),
            connect_timeout=tuning.connect_timeout,
            read_timeout=tuning.read_timeout,
            user_agent_extra=USER_AGENT,
            # The parameters are the collectors' own, not a user's: checking each against the
            # service model before every request only costs time.
            parameter_validation=False,
        )

    def get(self, service: str, region: str) -> Any:
        key = (service, region)
        client = self._clients.get(key)
        if client is None:
            with self._lock:
                client = self._clients.get(key)
                if client is None:
                    client = self._made(
                        service,
                        self._session.client(
                            service, region_name=region, config=self._service_config(service)
                        ),
                    )
                    self._clients[key] = client
        return client

    def _service_config(self, service: str) -> Config:
        return self._config

    def _count(self, **_: Any) -> None:
        self.calls += 1  # a lost increment between threads only blurs a progress line
        if self.on_call is not None and self.calls % 250 == 0:
            self.on_call(self.calls)

    def _made(self, service: str, client: Any) -> Any:
        client.meta.events.register("before-call", self._count)
        if service == "s3control" and _endpoint_overridden("S3_CONTROL"):
            # S3 Control's endpoint rules put the account id in front of the host; an
            # overridden endpoint (an AWS-compatible server) is addressed as given.
            client.meta.events.register("before-send.s3-control", strip_account_prefix)
        return client


def strip_account_prefix(request: Any, **_: Any) -> None:
    scheme, _, rest = request.url.partition("://")
    host, slash, path = rest.partition("/")
    first, dot, remainder = host.partition(".")
    if first.isdigit() and len(first) == 12 and dot:
        request.url = f"{scheme}://{remainder}{slash}{path}"


def _endpoint_overridden(service_env: str) -> bool:
    return bool(os.environ.get(f"AWS_ENDPOINT_URL_{service_env}") or os.environ.get("AWS_ENDPOINT_URL"))


def base_session(profile: str | None, region: str | None) -> boto3.Session:
    """The caller's session: a named profile or the default credential chain."""
    return boto3.Session(botocore_session=_botocore_session(), profile_name=profile, region_name=region)


def _botocore_session() -> Any:
    """A botocore session whose clients parse answers' timestamps the fast way (:mod:`.timestamps`)."""
    botocore_session = get_session()
    timestamps.install(botocore_session)
    return botocore_session


def assumed_session(
    base: boto3.Session, role_arn: str, external_id: str | None, region: str
) -> boto3.Session:
    """A session whose credentials come from ``sts:AssumeRole`` and refresh before expiry."""
    sts = base.client("sts", region_name=region)

    def refresh() -> dict[str, str]:
        params: dict[str, Any] = {"RoleArn": role_arn, "RoleSessionName": "phigate-audit"}
        if external_id:
            params["ExternalId"] = external_id
        response = call(sts, "AssumeRole", **params)
        assert response is not None  # AssumeRole has no "absent" answer
        creds = response["Credentials"]
        return {
            "access_key": creds["AccessKeyId"],
            "secret_key": creds["SecretAccessKey"],
            "token": creds["SessionToken"],
            "expiry_time": creds["Expiration"].isoformat(),
        }

    credentials = RefreshableCredentials.create_from_metadata(
        metadata=refresh(), refresh_using=refresh, method="sts-assume-role"
    )
    botocore_session = _botocore_session()
    botocore_session._credentials = credentials  # the documented way has no public setter
    botocore_session.set_config_variable("region", region)
    return boto3.Session(botocore_session=botocore_session)


def caller_account(session: boto3.Session, region: str) -> str:
    identity = call(session.client("sts", region_name=region), "GetCallerIdentity")
    assert identity is not None
    return str(identity["Account"])


def organization_accounts(session: boto3.Session, region: str) -> list[str]:
    """Ids of the organization's active accounts (from the management or a delegated account)."""
    client = session.client("organizations", region_name=region)
    return sorted(
        str(a["Id"])
        for a in pages(client, "ListAccounts", "Accounts")
        if a.get("Status", "ACTIVE") == "ACTIVE"
    )


__all__ = ["Clients", "Tuning", "assumed_session", "base_session", "caller_account", "organization_accounts"]
