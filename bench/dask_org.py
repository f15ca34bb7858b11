"""An organisation of many AWS accounts, collected in this process or on a Dask cluster.

Seeds a moto server (a real HTTP endpoint on a free loopback port) with an AWS Organization of
``--accounts`` accounts, each with clinical, administrative and public buckets, a customer key,
and roles whose inline policies read across classes. Then, each in a fresh subprocess:

* local: ``phigate.run.scan`` with the AWS provider auditing every account through an assumed
  role (``--org-role``), accounts one after another, each with its own bounded pools;
* dask: the same provider split into one slice per account (the slicing proposed for the AWS
  provider, implemented here by ``SlicedAwsProvider``) on a ``LocalCluster`` of ``--workers``
  worker processes, the records merged in account order and evaluated in the client.

The two runs must give the same findings. Wall time, the client's CPU and peak RSS, and the moto
server's CPU are printed. Every call goes to the loopback server; nothing leaves the machine.

usage: python bench/dask_org.py [--accounts 50] [--workers 2] [--json]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import resource
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
for _src in ("checker", "providers", ""):
    if str(ROOT / _src) not in sys.path:
        sys.path.insert(0, str(ROOT / _src))

REGION = "eu-west-3"
ROLE = "OrganizationAccountAccessRole"


def peak_mb() -> float:
    """This process's peak resident memory. ``VmHWM`` starts afresh at exec; ``ru_maxrss`` would
    carry the parent's peak into the child (Linux folds the forked memory's high-water mark in)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# --------------------------------------------------------------------------------------------
# The organisation
# --------------------------------------------------------------------------------------------

def seed(endpoint: str, accounts: int) -> list[str]:
    """An organization of ``accounts`` accounts (the management account included), seeded."""
    from tests.aws_server import client

    organizations = client(endpoint, "organizations")
    organizations.create_organization(FeatureSet="ALL")
    ids = [client(endpoint, "sts").get_caller_identity()["Account"]]
    for number in range(accounts - 1):
        status = organizations.create_account(Email=f"audit+{number}@example.org",
                                              AccountName=f"practice-{number}")
        ids.append(status["CreateAccountStatus"]["AccountId"])
    for account_id in ids:
        _seed_account(endpoint, account_id)
    return sorted(ids)


def _seed_account(endpoint: str, account_id: str) -> None:
    import boto3
    from tests.aws_server import client

    credentials = client(endpoint, "sts").assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/{ROLE}", RoleSessionName="seed")["Credentials"]

    def made(service: str) -> Any:
        return boto3.client(service, endpoint_url=endpoint, region_name=REGION,
                            aws_access_key_id=credentials["AccessKeyId"],
                            aws_secret_access_key=credentials["SecretAccessKey"],
                            aws_session_token=credentials["SessionToken"])

    s3, kms, iam = made("s3"), made("kms"), made("iam")
    # moto builds an account's EC2, RDS and DynamoDB backends on their first call (seconds each,
    # server side): built here, so the runs measure collection rather than the server's set-up.
    made("ec2").get_ebs_encryption_by_default()
    made("rds").describe_db_instances()
    made("dynamodb").list_tables()
    key = kms.create_key(Description="clinical")["KeyMetadata"]["Arn"]
    buckets = {"notes": "clinical", "scans": "clinical", "invoices": "administrative", "site": "public"}
    for suffix, data_class in buckets.items():
        name = f"acct-{account_id}-{suffix}"
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": "data_class", "Value": data_class}]})
        rule: dict[str, Any] = ({"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms",
                                                                       "KMSMasterKeyID": key}}
                                if suffix == "notes" else
                                {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}})
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [rule]})
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"Service": "ec2.amazonaws.com"}}]})
    for role, reads in (("clinical-app", ["notes", "scans"]), ("reporting", ["notes", "invoices"])):
        iam.create_role(RoleName=role, AssumeRolePolicyDocument=trust)
        document = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "s3:GetObject",
            "Resource": [f"arn:aws:s3:::acct-{account_id}-{suffix}/*" for suffix in reads]}]}
        iam.put_role_policy(RoleName=role, PolicyName="read", PolicyDocument=json.dumps(document))


# --------------------------------------------------------------------------------------------
# The slicing proposed for the AWS provider
# --------------------------------------------------------------------------------------------

def sliced_provider_class() -> type:
    from phigate_providers.aws.provider import DEFAULT_REGION, AwsProvider
    from phigate_providers.aws.session import base_session, organization_accounts

    class SlicedAwsProvider(AwsProvider):
        """``AwsProvider`` with ``slices()``: one provider per account of the organization."""

        def slices(self) -> list[AwsProvider]:
            if not self.settings.org_role:
                return [self]
            region = self.settings.regions[0] if self.settings.regions else DEFAULT_REGION
            try:
                base = base_session(self.settings.profile, region)
                ids = list(self.settings.accounts) or organization_accounts(base, base.region_name or region)
            except Exception:  # listing fails again in collect(), where it becomes an error
                return [self]
            parts = []
            for account_id in ids:
                part = AwsProvider(dataclasses.replace(self.settings, accounts=(account_id,)))
                if self._fields is not None:
                    part.restrict(self._fields)
                parts.append(part)
            return parts

    return SlicedAwsProvider


# --------------------------------------------------------------------------------------------
# Measurements
# --------------------------------------------------------------------------------------------

def measure(executor: str, workers: int) -> dict[str, Any]:
    from phigate.config import Config
    from phigate.load import bundled_pack, load_policies
    from phigate.run import scan

    provider_class = sliced_provider_class()
    options = argparse.Namespace(region=[REGION], org_role=ROLE)
    (provider,) = provider_class.configure([], options, {})
    policies = load_policies([bundled_pack()])
    w0, c0 = time.perf_counter(), time.process_time()
    if executor == "dask":
        from phigate.executors.cluster import ClusterCollection

        result = scan([ClusterCollection([provider], workers=workers)], policies, Config())
    else:
        result = scan([provider], policies, Config())
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    return {
        "wall_s": wall, "client_cpu_s": cpu,
        "peak_rss_mb": peak_mb(),
        "scopes": len(result.scopes), "resources": result.resources_seen,
        "collection_errors": [e.message for e in result.collection_errors],
        "findings": sorted((f.policy_id, f.resource.id, f.status.value, f.message) for f in result.findings),
        "counts": {pid: {s.value: n for s, n in c.items() if n} for pid, c in result.counts.items()},
    }


def _child(executor: str, workers: int, environment: Mapping[str, str]) -> dict[str, Any]:
    command = [sys.executable, str(Path(__file__).resolve()), "--measure", executor,
               "--workers", str(workers)]
    done = subprocess.run(command, capture_output=True, text=True, check=False,
                          env={**os.environ, **environment})
    if done.returncode != 0:
        raise SystemExit(f"measurement '{executor}' failed:\n{done.stderr[-4000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def run(args: argparse.Namespace) -> dict[str, Any]:
    import psutil
    from tests.aws_server import environment, moto_server, patched_environment

    report: dict[str, Any] = {"accounts": args.accounts, "workers": args.workers}
    with moto_server() as endpoint, patched_environment(environment(endpoint)):
        server = next(p for p in psutil.Process().children() if "moto.server" in " ".join(p.cmdline()))
        w0 = time.perf_counter()
        report["seeded_accounts"] = len(seed(endpoint, args.accounts))
        report["seed_wall_s"] = time.perf_counter() - w0
        for executor in ("local", "dask"):
            before = sum(server.cpu_times()[:2])
            figures = _child(executor, args.workers, environment(endpoint))
            figures["server_cpu_s"] = sum(server.cpu_times()[:2]) - before
            report[executor] = figures
    local, remote = report["local"], report["dask"]
    report["same_findings"] = local["findings"] == remote["findings"] and local["counts"] == remote["counts"]
    report["failures"] = sum(1 for f in local["findings"] if f[2] == "fail")
    return report


def _print(report: dict[str, Any]) -> None:
    print(f"accounts: {report['seeded_accounts']} (seeded in {report['seed_wall_s']:.0f} s); "
          f"resources: {report['local']['resources']}; failures: {report['failures']}")
    print(f"{'executor':<22} {'wall':>8} {'client cpu':>11} {'client peak':>12} {'moto cpu':>9} errors")
    for executor in ("local", "dask"):
        row = report[executor]
        label = executor if executor == "local" else f"dask ({report['workers']} workers)"
        print(f"{label:<22} {row['wall_s']:>7.1f}s {row['client_cpu_s']:>10.1f}s "
              f"{row['peak_rss_mb']:>10.0f}MB {row['server_cpu_s']:>8.1f}s {len(row['collection_errors'])}")
    print(f"same findings: {report['same_findings']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--measure", choices=["local", "dask"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.measure:
        figures = measure(args.measure, args.workers)
        print(json.dumps(figures, default=str))
        return 0
    report = run(args)
    if args.json:
        runs = {e: {k: v for k, v in report[e].items() if k != "findings"} for e in ("local", "dask")}
        print(json.dumps({k: v for k, v in report.items() if k not in runs} | runs, indent=2, default=str))
    else:
        _print(report)
    return 0 if report["same_findings"] else 1


if __name__ == "__main__":
    sys.exit(main())
