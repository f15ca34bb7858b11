"""A real moto server on a free loopback port, for the AWS provider's tests.

The provider talks to it over HTTP exactly as it would to AWS, through ``AWS_ENDPOINT_URL``.
Each test starts from an empty estate (moto's reset API) and seeds what it needs with boto3.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3

from . import aws_replay

REGION = "eu-west-3"
ACCOUNT = "123456789012"  # moto's default account


#: moto's catalogue of public images comes with hundreds of snapshots the default account owns,
#: which no real account has: left out, so each estate holds the snapshots its test makes. moto
#: serves a service only in the regions its copy of the SDK's region table lists, and answers
#: 500 elsewhere, which AWS never does (a region without the service has no endpoint): every
#: service is served in every region, and a test makes an endpoint unreachable where it needs one.
SERVER_ENVIRONMENT = {**os.environ, "MOTO_EC2_LOAD_DEFAULT_AMIS": "false", "MOTO_ALLOW_NONEXISTENT_REGION": "true"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def moto_server() -> Iterator[str]:
    """Start moto's server (:mod:`moto_main`: a handful of regions enabled) in a subprocess;
    yield its endpoint; stop it."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("moto_main.py")), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=SERVER_ENVIRONMENT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError("moto server did not start") from None
                time.sleep(0.1)
        yield endpoint
    finally:
        process.terminate()
        try:
            process.wait(timeout=2)
        except subprocess.TimeoutExpired:  # a request thread held open by a keep-alive client
            process.kill()
            process.wait(timeout=10)


def reset(endpoint: str) -> None:
    aws_replay.clear()
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    # Clearing a large estate takes the server a while on a loaded machine.
    urllib.request.urlopen(request, timeout=60).close()


def environment(endpoint: str) -> dict[str, str]:
    """What the provider needs to reach the server with dummy credentials."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        # moto serves neither: their recorded answers are replayed (empty unless a test records).
        "AWS_ENDPOINT_URL_HEALTHLAKE": aws_replay.endpoint(),
        "AWS_ENDPOINT_URL_S3TABLES": aws_replay.endpoint(),
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def client(endpoint: str, service: str, region: str = REGION, credentials: dict[str, str] | None = None) -> Any:
    """A client of the server: moto's default account, or the session ``credentials`` (as STS
    answers them) act in."""
    keys = credentials or {"AccessKeyId": "testing", "SecretAccessKey": "testing"}
    made = boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=region,
        aws_access_key_id=keys["AccessKeyId"],
        aws_secret_access_key=keys["SecretAccessKey"],
        aws_session_token=keys.get("SessionToken"),
    )
    if service == "s3control":
        from phigate_providers.aws.session import strip_account_prefix

        made.meta.events.register("before-send.s3-control", strip_account_prefix)
    return made


#: The role Organizations creates in every account it creates.
ORG_ROLE = "OrganizationAccountAccessRole"


def member_account(endpoint: str, name: str = "practice") -> tuple[str, Callable[[str], Any]]:
    """A new organization with one member account (the server's default account manages it),
    and a client factory acting in the member through :data:`ORG_ROLE`."""
    organizations = client(endpoint, "organizations")
    organizations.create_organization(FeatureSet="ALL")
    member = str(organizations.create_account(Email=f"{name}@example.org", AccountName=name)[
        "CreateAccountStatus"]["AccountId"])
    credentials = client(endpoint, "sts").assume_role(
        RoleArn=f"arn:aws:iam::{member}:role/{ORG_ROLE}", RoleSessionName="seed")["Credentials"]
    return member, lambda service: client(endpoint, service, REGION, credentials)


@contextmanager
def patched_environment(values: dict[str, str]) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in (*values, "AWS_PROFILE", "AWS_SESSION_TOKEN")}
    os.environ.pop("AWS_PROFILE", None)
    os.environ.pop("AWS_SESSION_TOKEN", None)
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


#: ``fault(service, region, operation, request)``: a response to answer with, an exception to
#: raise, or None to let the request through.
Fault = Callable[[str, str, str, Any], Any]


def inject_faults(monkeypatch: Any, fault: Fault) -> None:
    """Answer (or fail) some of the provider's requests before they leave, through botocore's
    ``before-send`` event: the real retry and error handling then run on the injected answer."""
    from phigate_providers.aws.session import Clients

    original = Clients.get

    def get(self: Clients, service: str, region: str) -> Any:
        made = original(self, service, region)
        if not getattr(made, "_fault_injected", False):
            def before_send(request: Any, **kwargs: Any) -> Any:
                operation = kwargs.get("event_name", "").rsplit(".", 1)[-1]
                return fault(service, region, operation, request)
            made.meta.events.register("before-send", before_send)
            made._fault_injected = True
        return made

    monkeypatch.setattr(Clients, "get", get)


class _Body:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body

    def read(self, *_: Any, **__: Any) -> bytes:
        return self._body


def error_response(code: str, status: int, *, json_protocol: bool) -> Any:
    """An AWS error answer, in the JSON or the XML protocol."""
    from botocore.awsrequest import AWSResponse

    if json_protocol:
        body = json.dumps({"__type": code, "message": "injected"}).encode()
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-ErrorType": code}
    else:
        body = (f"<Response><Errors><Error><Code>{code}</Code><Message>injected</Message></Error>"
                f"</Errors></Response>").encode()
        headers = {"Content-Type": "text/xml"}
    return AWSResponse("https://injected", status, headers, _Body(body))


def refusing(operation: str, code: str, status: int, *, json_protocol: bool, service: str | None = None,
             region: str | None = None) -> Fault:
    """A fault answering ``operation`` (of ``service`` in ``region``, when given) with an error."""

    def fault(called: str, where: str, name: str, request: Any) -> Any:
        if name == operation and service in (None, called) and region in (None, where):
            return error_response(code, status, json_protocol=json_protocol)
        return None

    return fault


def moto_answer(request: Any) -> str:
    """What the server answers ``request``."""
    body = request.body.encode() if isinstance(request.body, str) else request.body
    forwarded = urllib.request.Request(request.url, data=body, headers=dict(request.headers.items()),
                                       method=request.method)
    with urllib.request.urlopen(forwarded, timeout=30) as answer:
        return str(answer.read().decode())


def collect_region(region: str = REGION) -> tuple[dict[str, Any], list[Any]]:
    """What the AWS provider reads of one region of the running server: its resources by id,
    and its collection errors."""
    from phigate.api import CollectionError, Resource
    from phigate_providers.aws.provider import AwsProvider, Settings

    records = list(AwsProvider(Settings(regions=(region,))).collect())
    found = {r.id: r for r in records if isinstance(r, Resource)}
    return found, [r for r in records if isinstance(r, CollectionError)]


def scan_region(tmp_path: Path, region: str = REGION) -> tuple[int, dict[str, Any]]:
    """``phigate scan`` of one region with the bundled pack: its exit code and JSON report."""
    from phigate.cli import main

    out = tmp_path / "report.json"
    code = main(["scan", "--provider", "aws", "--region", region, "--quiet", "--show-passed",
                 "--format", f"json={out}"])
    return code, json.loads(out.read_text())


def statuses(report: dict[str, Any], policy: str) -> dict[str, str]:
    """Each resource's outcome of ``policy`` in a JSON report."""
    return {f["resource"]["id"]: f["status"] for f in report["findings"] if f["policy_id"] == policy}


def role_allowed(iam: Any, name: str, action: str) -> str:
    """A role the account may assume, allowed ``action`` on everything; its ARN."""
    def document(*statements: dict[str, Any]) -> str:
        return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})

    trust = {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"}
    made = iam.create_role(RoleName=name, AssumeRolePolicyDocument=document(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="p",
                        PolicyDocument=document({"Effect": "Allow", "Action": action, "Resource": "*"}))
    return str(made)
