"""An organisation of many AWS accounts, collected in this process or on a Dask cluster.

Seeds a moto server (a real HTTP endpoint on a free loopback port) with an AWS Organization of
``--accounts`` accounts, each with clinical, administrative and public buckets, a customer key,
and roles whose inline policies read across classes. Then, each in a fresh subprocess:

* local: ``phigate.run.scan`` with the AWS provider auditing every account through an assumed
  role (``--org-role``), accounts one after another, each with its own bounded pools;
* dask: the same provider split into one slice per account (``AwsProvider.slices``) on a
  ``LocalCluster`` of ``--workers`` worker processes, the records merged in account order and
  evaluated in the client.

The two runs must give the same findings. Wall time, the client's CPU and peak RSS, and the moto
server's CPU are printed. Every call goes to the loopback server; nothing leaves the machine.

usage: python bench/dask_org.py [--accounts 50] [--workers 2] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from _measure import in_child, peak_mb

ROOT = Path(__file__).resolve().parent.parent
for _src in ("checker", "providers", ""):
    if str(ROOT / _src) not in sys.path:
        sys.path.insert(0, str(ROOT / _src))

REGION = "eu-west-3"
ROLE = "OrganizationAccountAccessRole"


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
# Measurements
# --------------------------------------------------------------------------------------------

def measure(executor: str, workers: int) -> dict[str, Any]:
    from phigate.config import Config
    from phigate.load import bundled_pack, load_policies
    from phigate.run import scan
    from phigate.selection import run_context
    from phigate_providers.aws.provider import AwsProvider

    (provider,) = AwsProvider.configure([], run_context(options={"region": [REGION], "org_role": ROLE}))
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


def run(args: argparse.Namespace) -> dict[str, Any]:
    import psutil
    from tests.aws_server import environment, moto_server, patched_environment

    report: dict[str, Any] = {"accounts": args.accounts, "workers": args.workers}
    with moto_server() as endpoint, patched_environment(environment(endpoint)):
        server = next(p for p in psutil.Process().children() if "moto_main.py" in " ".join(p.cmdline()))
        w0 = time.perf_counter()
        report["seeded_accounts"] = len(seed(endpoint, args.accounts))
        report["seed_wall_s"] = time.perf_counter() - w0
        for executor in ("local", "dask"):
            before = sum(server.cpu_times()[:2])
            figures = in_child(__file__, executor, ["--workers", str(args.workers)], environment(endpoint))
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
