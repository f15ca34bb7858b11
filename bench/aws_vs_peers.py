"""phigate's AWS scan beside Cloud Custodian and Prowler, on one seeded moto estate.

One moto server (on a free loopback port, or ``--endpoint``) is seeded by the shared estate
generator (``../shared/bench/seed_aws.py``), which writes the truth: for each of nine rules, the
ids that must fail. Then each tool scans the same estate, one after another:

* ``phigate``: ``phigate scan --provider aws --region eu-west-3`` with the bundled pack;
* ``phigate-only``: the same, ``--only`` the seven policies the truth covers;
* ``c7n-none``: Cloud Custodian through ``run_c7n.sh`` with ``C7N_S3_AUGMENT=none`` (its fastest mode);
* ``c7n``: the same with Cloud Custodian's default bucket augmentation;
* ``prowler``: Prowler through ``run_prowler.sh``, with the two custom segmentation checks.

Each leg is measured with GNU time (wall, CPU seconds of the process and its children, peak RSS
of the largest process) plus the moto server's CPU seconds and the HTTP requests it logged during
the leg. Failing resources are normalised to the truth's ids and scored per rule (tp/fp/fn).

usage: python bench/aws_vs_peers.py [--scale 2000] [--seed S] [--tools phigate,c7n-none,...]
                                    [--endpoint URL [--truth FILE] [--moto-pid PID] [--moto-log FILE]]
                                    [--out DIR] [--baseline results.json] [--json FILE]

Exit status: 0 when every requested leg ran and was scored, 1 on a harness failure (moto, the
seeder or a tool did not run as expected), 2 on bad usage. Never on a ratio or an accuracy figure.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import importlib.util
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3

ROOT = Path(__file__).resolve().parent.parent
#: ``shared/bench`` beside the checkout (or beside a folder of checkouts)
SHARED_BENCH = next((p / "shared" / "bench" for p in ROOT.parents if (p / "shared" / "bench").is_dir()),
                    ROOT.parent / "shared" / "bench")
STORES_SEEDER = ROOT / "bench" / "seed_aws_stores.py"
C7N_STORES = ROOT / "bench" / "peers" / "c7n-stores.yml"
STORE_REGIONS = ("eu-west-3", "eu-west-2")  # the stores estate's: Paris and London
OUT = ROOT / "bench" / "out" / "aws-vs-peers"
BIN = Path(sys.executable).parent  # the venv phigate, moto and boto3 live in
PEERS = Path(os.environ.get("PEERS_DIR", "/work/peers"))
GNU_TIME = "/usr/bin/time"
REGION = "eu-west-3"
ACCOUNT = "123456789012"  # moto's default account
ALL_LEGS = ("phigate", "phigate-only", "c7n-none", "c7n", "prowler")
LEG_TIMEOUT_S = 3600


class HarnessError(Exception):
    """The benchmark could not run as intended; its figures would mean nothing."""


# --------------------------------------------------------------------------------------------
# Rules: truth key -> phigate policy and the resource category its truth ids name
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rule:
    truth_key: str
    policy_id: str
    category: str  # which resources of the policy's findings the truth covers


RULES = (
    Rule("s3_cmk_for_clinical", "PHI-ENC-002", "s3_bucket"),
    Rule("dynamodb_cmk_for_clinical", "PHI-ENC-002", "dynamodb_table"),
    Rule("s3_public_access_block", "PHI-IAM-002", "s3_bucket"),
    Rule("rds_storage_encrypted", "PHI-ENC-001", "rds_instance"),
    Rule("ebs_encrypted", "PHI-ENC-001", "ebs_volume"),
    Rule("kms_rotation", "PHI-ENC-003", "kms_key"),
    Rule("iam_no_star_star", "PHI-IAM-001", "iam_managed_policy"),
    Rule("segmentation_distinct_keys", "PHI-SEG-001", "s3_bucket"),
    Rule("segmentation_no_cross_reader", "PHI-SEG-002", "iam_role"),
)
POLICY_IDS = sorted({r.policy_id for r in RULES})

# phigate names resources by ARN; the truth uses bucket and table names, volume ids, role names
# and the full ARN of RDS instances, KMS keys and managed policies. Group 1, when present, is
# the truth's form; otherwise the whole ARN is.
_ARN = r"arn:aws[a-z-]*"
ID_FORMS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("s3_bucket", re.compile(rf"^{_ARN}:s3:::([^/]+)$")),
    ("dynamodb_table", re.compile(rf"^{_ARN}:dynamodb:[^:]*:\d*:table/([^/]+)$")),
    ("rds_instance", re.compile(rf"^{_ARN}:rds:[^:]*:\d*:db:[^:/]+$")),
    ("ebs_volume", re.compile(rf"^{_ARN}:ec2:[^:]*:\d*:volume/(vol-[0-9a-zA-Z]+)$")),
    ("kms_key", re.compile(rf"^{_ARN}:kms:[^:]*:\d*:key/[^/]+$")),
    ("iam_managed_policy", re.compile(rf"^{_ARN}:iam::\d+:policy/.+$")),
    ("iam_role", re.compile(rf"^{_ARN}:iam::\d+:role/(?:.*/)?([^/]+)$")),
)


def truth_form(resource_id: str) -> tuple[str, str] | None:
    """(category, id as the truth writes it) of a phigate resource id, or None if no rule's."""
    for category, pattern in ID_FORMS:
        match = pattern.match(resource_id)
        if match:
            return category, (match.group(1) if pattern.groups else resource_id)
    return None


# --------------------------------------------------------------------------------------------
# One leg's figures and scores
# --------------------------------------------------------------------------------------------

@dataclass
class Score:
    truth: int
    tp: int
    fp: int
    fn: int
    errors: int  # truth-covered resources the tool reported as not evaluable (never a fail)
    fp_examples: list[str] = field(default_factory=list)
    fn_examples: list[str] = field(default_factory=list)

    @property
    def exact(self) -> bool:
        return self.fp == 0 and self.fn == 0


@dataclass
class Leg:
    name: str
    label: str
    wall_s: float
    cpu_s: float
    peak_mb: float
    moto_cpu_s: float | None
    moto_requests: int | None
    load_start: str
    exit_code: int
    scores: dict[str, Score]  # only the rules the tool can express
    notes: list[str] = field(default_factory=list)
    started: str = ""
    earlier_run: str | None = None  # date of the run the figures come from, with --baseline
    #: with --stores: rules on the stores estate ("PHI-ENC-001" whole, "PHI-ENC-001 aws.sqs.queue")
    store_scores: dict[str, Score] = field(default_factory=dict)
    requests_per_resource: float | None = None  # phigate: moto requests / resources reported


def score(expected: Iterable[str], failed: set[str], errors: set[str]) -> Score:
    exp = set(expected)
    fp, fn = sorted(failed - exp), sorted(exp - failed)
    return Score(truth=len(exp), tp=len(failed & exp), fp=len(fp), fn=len(fn),
                 errors=len(errors & exp), fp_examples=fp[:5], fn_examples=fn[:5])


# --------------------------------------------------------------------------------------------
# Measuring
# --------------------------------------------------------------------------------------------

ANSI = re.compile(rb"\x1b\[[0-9;]*m")
REQUEST_LINE = re.compile(rb'"[A-Z]+ \S+ HTTP/[0-9.]+" \d{3}')


class Moto:
    """The moto server the legs share: its CPU clock and its request log, read between legs."""

    def __init__(self, endpoint: str, pid: int | None, log: Path | None) -> None:
        self.endpoint, self.pid, self.log = endpoint, pid, log

    def cpu_s(self) -> float | None:
        if self.pid is None:
            return None
        # /proc/PID/stat: fields 14 and 15 (utime, stime) in clock ticks, after "(comm)"
        fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def log_size(self) -> int | None:
        return self.log.stat().st_size if self.log else None

    def requests_since(self, offset: int | None) -> int | None:
        """HTTP requests moto logged after byte ``offset``: werkzeug's '"GET /path HTTP/1.1" 200'
        lines, coloured (ANSI escapes inside the quotes) when the status is not 2xx."""
        if self.log is None or offset is None:
            return None
        with self.log.open("rb") as f:
            f.seek(offset)
            return sum(1 for line in f if REQUEST_LINE.search(ANSI.sub(b"", line)))


def loadavg() -> str:
    return "/".join(Path("/proc/loadavg").read_text().split()[:3])


def gnu_time(path: Path) -> tuple[float, float, float]:
    """(wall s, CPU s, peak RSS MB) from a ``/usr/bin/time -v`` file."""
    text = path.read_text()

    def grab(label: str) -> str:
        match = re.search(rf"{re.escape(label)}.*?: (.+)", text)
        if not match:
            raise HarnessError(f"{path}: no '{label}' line")
        return match.group(1).strip()

    clock = grab("Elapsed (wall clock) time").split(":")  # [h:]m:s
    wall = sum(float(p) * 60 ** i for i, p in enumerate(reversed(clock)))
    cpu = float(grab("User time (seconds)")) + float(grab("System time (seconds)"))
    return wall, cpu, int(grab("Maximum resident set size (kbytes)")) / 1024


def tsv_figures(path: Path) -> dict[str, dict[str, float]]:
    """'#stage\\tkey=value…' lines of a peer script's summary.tsv, by stage."""
    rows: dict[str, dict[str, float]] = {}
    for line in path.read_text().splitlines():
        if line.startswith("#") and "=" in line:
            stage, *pairs = line[1:].split("\t")
            rows[stage] = {k: float(v) for k, v in (p.split("=", 1) for p in pairs)
                           if re.fullmatch(r"-?[\d.]+", v)}
    return rows


def aws_env(endpoint: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("AWS_SESSION_TOKEN", "AWS_PROFILE") and not k.startswith("AWS_ENDPOINT_URL_")}
    env.update(AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               AWS_DEFAULT_REGION=REGION, **replayed_endpoints())
    return env


@functools.cache
def replayed_endpoints() -> dict[str, str]:
    """The services moto does not serve (HealthLake; S3 Tables, which fail in its server mode),
    answered by the tests' replay server with an empty estate: none seeded, none found."""
    replay = sys.modules.get("aws_replay") or load_module(ROOT / "tests" / "aws_replay.py", "aws_replay")
    url = replay.endpoint()
    return {"AWS_ENDPOINT_URL_HEALTHLAKE": url, "AWS_ENDPOINT_URL_S3TABLES": url}


def run_logged(cmd: list[str], env: dict[str, str], log: Path, ok: Iterable[int] = (0,)) -> int:
    """Run a tool with its output in ``log``; a code outside ``ok`` is a harness failure."""
    with log.open("w") as out:
        try:
            proc = subprocess.run(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=LEG_TIMEOUT_S,
                                  check=False)
        except subprocess.TimeoutExpired as exc:
            raise HarnessError(f"{Path(cmd[0]).name} ran past {LEG_TIMEOUT_S} s") from exc
    if proc.returncode not in set(ok):
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-15:])
        raise HarnessError(f"{' '.join(cmd[:3])}… exited {proc.returncode} (log {log}):\n{tail}")
    return proc.returncode


# --------------------------------------------------------------------------------------------
# The legs
# --------------------------------------------------------------------------------------------

@dataclass
class Stores:
    """The estate of ``seed_aws_stores.py`` seeded beside the shared one, and its truth: per
    policy, the ids expected to fail and to be ``error``."""

    fail: dict[str, set[str]]
    error: dict[str, set[str]]
    types: dict[str, str]  # store id -> resource type
    created: set[str]
    forms: set[str]  # the created ids in the shared truth's forms, left out of its rules

    @classmethod
    def load(cls, path: Path) -> Stores:
        doc = json.loads(path.read_text())
        created = set(doc["created"])
        return cls({p: set(v["fail"]) for p, v in doc["policies"].items()},
                   {p: set(v["error"]) for p, v in doc["policies"].items()}, doc["types"], created,
                   {form[1] for form in map(truth_form, created) if form})

    def score(self, policy: str, failed: set[str], errors: set[str], rtype: str | None = None) -> Score:
        """``policy`` judged on the created resources (of ``rtype`` only, when given)."""
        def mine(ids: set[str]) -> set[str]:
            return {i for i in ids & self.created if rtype is None or self.types.get(i) == rtype}

        expected = mine(self.fail.get(policy, set()))
        found = score(expected, mine(failed), mine(errors))
        found.errors = len(mine(errors) - self.error.get(policy, set()))  # errors the truth does not expect
        return found


@dataclass
class Context:
    moto: Moto
    truth: dict[str, list[str]]
    truth_path: Path
    out: Path
    phigate: Path
    custodian: Path
    prowler: Path
    aws_managed_keys: set[str] = field(default_factory=set)
    stores: Stores | None = None

    def score(self, leg: Leg, rule: str, failed: set[str], errors: set[str]) -> None:
        if self.stores:  # the stores estate's resources are scored on its own truth
            failed, errors = failed - self.stores.forms, errors - self.stores.forms
        leg.scores[rule] = score(self.truth[rule], failed, errors)
        managed = (failed - set(self.truth[rule])) & self.aws_managed_keys
        if managed:
            leg.notes.append(f"{rule}: {len(managed)} of the fp: keys behind an alias/aws/ name "
                             "(AWS-managed; moto reports them as CUSTOMER, the truth leaves them out)")


def aws_managed_keys(endpoint: str) -> set[str]:
    """ARNs of the keys behind alias/aws/… (moto creates alias/aws/ebs for volumes encrypted
    without a key), to explain a tool's fp on kms_rotation."""
    kms = boto3.client("kms", endpoint_url=endpoint, region_name=REGION, aws_access_key_id="testing",
                       aws_secret_access_key="testing")
    arns = set()
    for page in kms.get_paginator("list_aliases").paginate():
        for alias in page["Aliases"]:
            if alias["AliasName"].startswith("alias/aws/") and alias.get("TargetKeyId"):
                prefix = alias["AliasArn"].split(":alias/", 1)[0]
                arns.add(f"{prefix}:key/{alias['TargetKeyId']}")
    return arns


#: what a leg's runner returns: wall s, CPU s, peak RSS MB, exit code
Figures = tuple[float, float, float, int]


def measured(ctx: Context, name: str, label: str, run: Callable[[Path], Figures]) -> Leg:
    """Run one leg in a fresh folder between two readings of moto's clock and log; unscored."""
    out = ctx.out / name
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    started = datetime.datetime.now().isoformat(timespec="seconds")
    load = loadavg()
    cpu0, log0 = ctx.moto.cpu_s(), ctx.moto.log_size()
    wall, cpu, peak, code = run(out)
    cpu1 = ctx.moto.cpu_s()
    moto_cpu = None if cpu0 is None or cpu1 is None else round(cpu1 - cpu0, 2)
    return Leg(name, label, wall, cpu, peak, moto_cpu, ctx.moto.requests_since(log0), load, code, {},
               started=started)


def leg_phigate(ctx: Context, name: str) -> Leg:
    only = name == "phigate-only"
    report = ctx.out / name / "report.json"

    def run(out: Path) -> Figures:
        regions = STORE_REGIONS if ctx.stores else (REGION,)
        cmd = [GNU_TIME, "-v", "-o", str(out / "time.txt"), str(ctx.phigate), "scan", "--provider", "aws",
               *(arg for region in regions for arg in ("--region", region)),
               "--format", f"json={report}", "--quiet"]
        wanted = sorted({*POLICY_IDS, *(ctx.stores.fail if ctx.stores else ())})
        for policy_id in wanted if only else ():
            cmd += ["--only", policy_id]
        # 1: failures found, 3: evidence incomplete (reported below); 2 or a crash: harness failure
        code = run_logged(cmd, aws_env(ctx.moto.endpoint), out / "stdout.log", ok=(0, 1, 3))
        return (*gnu_time(out / "time.txt"), code)

    leg = measured(ctx, name, "phigate --only" if only else "phigate", run)
    if not report.exists():
        tail = "\n".join((ctx.out / name / "stdout.log").read_text(errors="replace").splitlines()[-5:])
        raise HarnessError(f"phigate exited {leg.exit_code} without writing {report}:\n{tail}")
    doc = json.loads(report.read_text())
    failed: dict[str, set[str]] = {r.truth_key: set() for r in RULES}
    errored: dict[str, set[str]] = {r.truth_key: set() for r in RULES}
    unmapped = 0
    created = ctx.stores.created if ctx.stores else set()
    for finding in doc["findings"]:
        form = truth_form(finding["resource"]["id"])
        rules = [r for r in RULES if r.policy_id == finding["policy_id"]]
        if rules and form is None and finding["resource"]["id"] not in created:
            unmapped += 1
        for rule in rules:
            if form and form[0] == rule.category:
                if finding["status"] == "fail":
                    failed[rule.truth_key].add(form[1])
                elif finding["status"] == "error":
                    errored[rule.truth_key].add(form[1])
    summary = doc["summary"]
    leg.notes.append(f"exit {leg.exit_code}; {summary['resources']} resources, "
                     f"{summary['policies']} policies, {summary['fail']} fail, {summary['error']} error, "
                     f"{summary['collection_errors']} collection errors")
    if unmapped:
        leg.notes.append(f"{unmapped} findings of the scored policies name ids of no truth form")
    for r in RULES:
        ctx.score(leg, r.truth_key, failed[r.truth_key], errored[r.truth_key])
    if leg.moto_requests and summary["resources"]:
        leg.requests_per_resource = round(leg.moto_requests / summary["resources"], 2)
    if ctx.stores:
        score_stores(ctx.stores, leg, doc["findings"])
    return leg


def score_stores(stores: Stores, leg: Leg, findings: list[dict[str, Any]]) -> None:
    """phigate on the stores estate: each policy of its truth whole, and on each peer rule's type."""
    by: dict[tuple[str, str], set[str]] = {}
    for finding in findings:
        by.setdefault((finding["policy_id"], finding["status"]), set()).add(finding["resource"]["id"])
    for policy in sorted(stores.fail):
        failed, errors = by.get((policy, "fail"), set()), by.get((policy, "error"), set())
        leg.store_scores[policy] = stores.score(policy, failed, errors)
        for rule_policy, rtype in C7N_STORE_RULES.values():
            if rule_policy == policy:
                leg.store_scores[f"{policy} {rtype}"] = stores.score(policy, failed, errors, rtype)


def load_module(path: Path, name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise HarnessError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


def leg_c7n(ctx: Context, name: str) -> Leg:
    augment = "none" if name == "c7n-none" else "all"

    def run(out: Path) -> Figures:
        env = aws_env(ctx.moto.endpoint) | {"CUSTODIAN": str(ctx.custodian), "C7N_S3_AUGMENT": augment}
        env.pop("C7N_CACHE", None)
        code = run_logged(["bash", str(SHARED_BENCH / "run_c7n.sh"), ctx.moto.endpoint, str(out / "run"),
                           str(ctx.truth_path)], env, out / "stdout.log")
        # the scan is the two stages; `custodian validate` and the scoring are left out
        stages = tsv_figures(out / "run" / "summary.tsv")
        wall = stages["stage1"]["wall_s"] + stages["stage2"]["wall_s"]
        cpu = stages["stage1"]["cpu_s"] + stages["stage2"]["cpu_s"]
        peak = max(stages["stage1"]["max_rss_mb"], stages["stage2"]["max_rss_mb"])
        if ctx.stores:  # a third stage: the stores estate, in both its regions
            cmd = [GNU_TIME, "-v", "-o", str(out / "stores.time"), str(ctx.custodian), "run", "--dryrun",
                   "--cache", "memory", *(arg for region in STORE_REGIONS for arg in ("--region", region)),
                   "-s", str(out / "stores"), str(C7N_STORES)]
            # 1: some policy raised (reported as missing output below)
            run_logged(cmd, env, out / "stores.log", ok=(0, 1))
            stores_wall, stores_cpu, stores_peak = gnu_time(out / "stores.time")
            wall, cpu, peak = wall + stores_wall, cpu + stores_cpu, max(peak, stores_peak)
        return wall, cpu, peak, code

    leg = measured(ctx, name, f"c7n (augment {augment})", run)
    compare = load_module(SHARED_BENCH / "c7n" / "compare.py", "c7n_compare")
    for rule in RULES:
        resources = compare.load(str(ctx.out / name / "run"), rule.truth_key)
        if resources is not None:  # no policy of that name: the rule is not expressible
            failed = {res[compare.ID_FIELD[rule.truth_key]] for res in resources}
            ctx.score(leg, rule.truth_key, failed, set())
    leg.notes.append("segmentation_distinct_keys needs a second run joined through a file; "
                     f"{len(RULES) - len(leg.scores)} rule(s) not expressible")
    if ctx.stores:
        score_c7n_stores(ctx.stores, leg, ctx.out / name / "stores")
    return leg


#: c7n policy of ``bench/peers/c7n-stores.yml`` -> (phigate policy, store type) it is scored as
C7N_STORE_RULES: dict[str, tuple[str, str]] = {
    "PHI-ENC-001-rds-snapshot": ("PHI-ENC-001", "aws.rds.db_snapshot"),
    "PHI-IAM-002-rds-snapshot": ("PHI-IAM-002", "aws.rds.db_snapshot"),
    "PHI-ENC-001-rds-cluster-snapshot": ("PHI-ENC-001", "aws.rds.db_cluster_snapshot"),
    "PHI-ENC-001-ebs-snapshot": ("PHI-ENC-001", "aws.ec2.snapshot"),
    "PHI-IAM-002-ebs-snapshot": ("PHI-IAM-002", "aws.ec2.snapshot"),
    "PHI-ENC-001-efs": ("PHI-ENC-001", "aws.efs.file_system"),
    "PHI-ENC-001-redshift": ("PHI-ENC-001", "aws.redshift.cluster"),
    "PHI-IAM-002-redshift": ("PHI-IAM-002", "aws.redshift.cluster"),
    "PHI-ENC-001-elasticsearch": ("PHI-ENC-001", "aws.opensearch.domain"),
    "PHI-ENC-001-elasticache-group": ("PHI-ENC-001", "aws.elasticache.replication_group"),
    "PHI-ENC-001-sns": ("PHI-ENC-001", "aws.sns.topic"),
    "PHI-IAM-002-sns": ("PHI-IAM-002", "aws.sns.topic"),
    "PHI-ENC-002-log-group": ("PHI-ENC-002", "aws.logs.log_group"),
    "PHI-ENC-001-kinesis": ("PHI-ENC-001", "aws.kinesis.stream"),
    "PHI-ENC-001-firehose": ("PHI-ENC-001", "aws.firehose.delivery_stream"),
}


def c7n_store_id(region: str, resource: dict[str, Any]) -> str | None:
    """A c7n resource's id as phigate's (its ARN)."""
    for key in ("DBSnapshotArn", "DBClusterSnapshotArn", "FileSystemArn", "ARN", "TopicArn", "StreamARN",
                "DeliveryStreamARN"):
        if resource.get(key):
            return str(resource[key])
    if resource.get("SnapshotId"):
        return f"arn:aws:ec2:{region}::snapshot/{resource['SnapshotId']}"
    if resource.get("ClusterIdentifier"):
        account = resource.get("c7n:account", ACCOUNT)
        return f"arn:aws:redshift:{region}:{account}:cluster:{resource['ClusterIdentifier']}"
    if resource.get("arn"):  # a log group's, with its ':*'
        return str(resource["arn"]).removesuffix(":*")
    return None


def score_c7n_stores(stores: Stores, leg: Leg, out: Path) -> None:
    missing = []
    for name, (policy, rtype) in C7N_STORE_RULES.items():
        failed: set[str] = set()
        for region in STORE_REGIONS:
            path = out / region / name / "resources.json"
            if not path.exists():
                missing.append(f"{name} ({region})")
                continue
            failed |= {i for i in (c7n_store_id(region, r) for r in json.loads(path.read_text())) if i}
        leg.store_scores[f"{policy} {rtype}"] = stores.score(policy, failed, set(), rtype)
    if missing:
        leg.notes.append(f"stores: no output from {', '.join(missing)} (see stores.log)")
    leg.notes.append("stores: SQS not run (c7n reads queues at the AWS host their URL names, not the "
                     "endpoint); no c7n filter tells a customer key from an AWS-managed one, nor a key "
                     "shared across classes, nor who reads what")


def leg_prowler(ctx: Context) -> Leg:
    def run(out: Path) -> Figures:
        env = aws_env(ctx.moto.endpoint) | {"PROWLER": str(ctx.prowler), "PROWLER_CUSTOM": "1"}
        if ctx.moto.log:
            env["MOTO_LOG"] = str(ctx.moto.log)
        code = run_logged(["bash", str(SHARED_BENCH / "run_prowler.sh"), ctx.moto.endpoint, str(out / "run"),
                           str(ctx.truth_path)], env, out / "stdout.log")
        fig = tsv_figures(out / "run" / "summary.tsv")["run"]
        return fig["wall_s"], fig["cpu_s"], fig["max_rss_mb"], code

    leg = measured(ctx, "prowler", "prowler", run)
    out = ctx.out / "prowler"
    compare = load_module(SHARED_BENCH / "prowler" / "compare.py", "prowler_compare")
    findings = json.loads((out / "run" / "prowler.ocsf.json").read_text())
    for rule in RULES:
        checks, id_of, scope = compare.RULES[rule.truth_key]
        ran = [f for f in findings if f["metadata"]["event_code"] in checks]
        if not ran:  # no finding at all from the mapped checks: nothing to score
            continue
        in_scope = [f for f in ran if scope is None or compare.tags_of(f).get(scope[0]) == scope[1]]
        failed = {id_of(f) for f in in_scope if f["status_code"] == "FAIL"}
        manual = {id_of(f) for f in in_scope if f["status_code"] == "MANUAL"}
        ctx.score(leg, rule.truth_key, failed, manual)
    exit_line = next((ln for ln in (out / "stdout.log").read_text().splitlines()
                      if ln.startswith("prowler exit code")), "")
    leg.notes.append(f"{exit_line or 'no exit line'}; CMK rules post-filtered to data_class=clinical_notes; "
                     "segmentation rules are custom Python checks")
    return leg


# --------------------------------------------------------------------------------------------
# Availability of each leg's tool
# --------------------------------------------------------------------------------------------

def unavailable(name: str, args: argparse.Namespace) -> str | None:
    """Why a leg cannot run here, or None."""
    if name.startswith("phigate"):
        if not args.phigate.exists():
            return f"{args.phigate} not found"
        proc = subprocess.run([str(args.phigate), "providers"], capture_output=True, text=True, check=False)
        line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("aws:")), None)
        # a provider that cannot load is listed as "aws: 'aws' is broken…" / "'aws' needs a package…"
        if line is None or "'aws'" in line or proc.returncode != 0:
            why = (line or proc.stderr.strip() or "not listed")[:160]
            return f"phigate's aws provider is not ready ({why})"
        return None
    exe = args.custodian if name.startswith("c7n") else args.prowler
    return None if exe.exists() else f"{exe} not found (run bench/peers/setup.sh)"


def versions(args: argparse.Namespace) -> dict[str, str]:
    def ask(cmd: list[str]) -> str:
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
        except OSError:
            return "missing"
        text = (proc.stdout.strip() or proc.stderr.strip()).splitlines()
        return text[-1] if proc.returncode == 0 and text else "missing"

    return {"phigate": ask([str(args.phigate), "--version"]),
            "c7n": ask([str(args.custodian), "version"]),
            "prowler": ask([str(args.prowler), "--version"]),
            "moto": ask([str(BIN / "python"), "-c", "import moto; print(moto.__version__)"])}


# --------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------

def common_rules(legs: list[Leg]) -> list[str]:
    return [r.truth_key for r in RULES if all(r.truth_key in leg.scores for leg in legs)]


def agreement(leg: Leg, rules: list[str]) -> tuple[float, int]:
    """Jaccard of failing ids vs the truth over ``rules`` (tp / (tp+fp+fn)), and exact rules."""
    tp = sum(leg.scores[r].tp for r in rules)
    wrong = sum(leg.scores[r].fp + leg.scores[r].fn for r in rules)
    return (tp / (tp + wrong) if tp + wrong else 1.0), sum(leg.scores[r].exact for r in rules)


def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    fmt = " | ".join(f"{{:{'<' if i == 0 else '>'}{w}}}" for i, w in enumerate(widths))
    return "\n".join([fmt.format(*header), "-+-".join("-" * w for w in widths),
                      *(fmt.format(*row) for row in rows)])


def num(value: float | int | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}" if isinstance(value, float) else f"{value:,}"


def render(legs: list[Leg], truth: dict[str, list[str]]) -> str:
    common = common_rules(legs)
    lines = []
    head = ["tool", "wall s", "CPU s", "peak MB", "moto CPU s", "moto requests", "load at start",
            f"agreement, {len(common)} common rules", "exact rules"]
    rows = []
    for leg in legs:
        share, exact = agreement(leg, common)
        label = leg.label + (" *" if leg.earlier_run else "")
        rows.append([label, num(leg.wall_s), num(leg.cpu_s), num(leg.peak_mb, 0), num(leg.moto_cpu_s),
                     num(leg.moto_requests), leg.load_start, f"{share:.1%}", f"{exact}/{len(common)}"])
    lines += [table(head, rows), ""]
    head = ["rule (truth failing)"] + [leg.label for leg in legs]
    rows = []
    for rule in RULES:
        cells = [f"{rule.truth_key} ({len(truth[rule.truth_key])})"]
        for leg in legs:
            s = leg.scores.get(rule.truth_key)
            errors = f" +{s.errors}err" if s and s.errors else ""
            cells.append("n/a" if s is None else f"{s.tp}/{s.fp}/{s.fn}{errors}")
        rows.append(cells)
    lines += ["per rule: tp/fp/fn against the truth (n/a: the tool cannot express the rule; "
              "+Nerr: truth failures reported as not evaluable)", table(head, rows), ""]
    lines += render_stores(legs)
    for leg in legs:
        for note in leg.notes:
            lines.append(f"{leg.label}: {note}")
        for key, s in leg.scores.items():
            if s.fp_examples or s.fn_examples:
                lines.append(f"{leg.label}: {key}: fp e.g. {s.fp_examples[:3]} fn e.g. {s.fn_examples[:3]}")
        if leg.earlier_run:
            lines.append(f"{leg.label} *: figures of the earlier run of {leg.earlier_run} (same scale, seed)")
    lines += ["", *ratios(legs)]
    return "\n".join(lines)


def render_stores(legs: list[Leg]) -> list[str]:
    """The stores estate's rules: each policy whole (phigate), then per store type for the peers."""
    keys = list(dict.fromkeys(k for leg in legs for k in leg.store_scores))
    if not keys:
        return []
    keys.sort(key=lambda k: (" " in k, k))
    head = ["stores rule (truth failing)"] + [leg.label for leg in legs]
    rows = []
    for key in keys:
        truth = next(leg.store_scores[key].truth for leg in legs if key in leg.store_scores)
        cells = [f"{key} ({truth})"]
        for leg in legs:
            s = leg.store_scores.get(key)
            errors = f" +{s.errors}err" if s and s.errors else ""
            cells.append("n/a" if s is None else f"{s.tp}/{s.fp}/{s.fn}{errors}")
        rows.append(cells)
    lines = ["stores estate (seed_aws_stores.py): tp/fp/fn per policy, and per policy and store type "
             "where a peer has a check (+Nerr: error outcomes the truth does not expect)",
             table(head, rows), ""]
    for leg in legs:
        if leg.requests_per_resource is not None:
            lines.append(f"{leg.label}: {leg.requests_per_resource} API requests (as moto logged them) "
                         "per resource reported")
        for key, s in leg.store_scores.items():
            if s.fp_examples or s.fn_examples:
                lines.append(f"{leg.label}: {key}: fp e.g. {s.fp_examples[:2]} fn e.g. {s.fn_examples[:2]}")
    return [*lines, ""]


def ratios(legs: list[Leg]) -> list[str]:
    """Each peer's figures over each phigate leg's: above 1, phigate is faster or smaller."""
    ours = [leg for leg in legs if leg.name.startswith("phigate")]
    peers = sorted((leg for leg in legs if not leg.name.startswith("phigate")), key=lambda leg: leg.cpu_s)
    if not ours or not peers:
        return ["ratios: need a phigate leg and a peer leg"]
    out = [f"ratios, peer / phigate (above 1: phigate is faster or smaller); the faster peer by CPU "
           f"seconds is {peers[0].label}"]
    for mine in ours:
        out.append(f"  vs {mine.label}:")
        for peer in peers:
            parts = [f"wall {peer.wall_s / mine.wall_s:.1f}x", f"CPU {peer.cpu_s / mine.cpu_s:.1f}x",
                     f"peak RSS {peer.peak_mb / mine.peak_mb:.1f}x"]
            if peer.moto_cpu_s and mine.moto_cpu_s:
                parts.append(f"moto CPU {peer.moto_cpu_s / mine.moto_cpu_s:.1f}x")
            if peer.moto_requests and mine.moto_requests:
                parts.append(f"requests {peer.moto_requests / mine.moto_requests:.1f}x")
            faster = " (faster peer)" if peer is peers[0] else ""
            out.append(f"    {peer.label}{faster}: " + ", ".join(parts))
    return out


def leg_from_json(doc: dict[str, Any], earlier: str) -> Leg:
    scores = {k: Score(**v) for k, v in doc.pop("scores").items()}
    store_scores = {k: Score(**v) for k, v in doc.pop("store_scores", {}).items()}
    doc.pop("earlier_run", None)
    return Leg(**doc, scores=scores, store_scores=store_scores, earlier_run=earlier)


# --------------------------------------------------------------------------------------------
# Estate
# --------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_moto(out: Path) -> tuple[subprocess.Popen[bytes], Moto]:
    port = free_port()
    log = out / "moto.log"
    with log.open("wb") as f:
        # Without moto's public images: their hundreds of snapshots belong to no real estate.
        # Every service answered in every region: moto fails a service in a region its own table
        # lacks with HTTP 500, where AWS has either the service or no endpoint at all.
        # moto as the tests run it (``tests/moto_main.py``: DynamoDB exports listed as AWS lists
        # them), with moto's whole region table.
        proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "moto_main.py"),
                                 "-H", "127.0.0.1", "-p", str(port)],
                                stdout=f, stderr=subprocess.STDOUT, start_new_session=True,
                                env={**os.environ, "MOTO_EC2_LOAD_DEFAULT_AMIS": "false",
                                     "MOTO_ALLOW_NONEXISTENT_REGION": "true",
                                     "MOTO_EVERY_REGION": "true"})
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise HarnessError(f"moto_server exited {proc.returncode}: {log.read_text()[-500:]}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return proc, Moto(f"http://127.0.0.1:{port}", proc.pid, log)
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise HarnessError("moto_server did not listen within 60 s")


def seed(endpoint: str, scale: int, seed_value: int, truth: Path, out: Path) -> float:
    t0 = time.monotonic()
    run_logged([str(BIN / "python"), str(SHARED_BENCH / "seed_aws.py"), "--endpoint", endpoint,
                "--scale", str(scale), "--seed", str(seed_value), "--truth", str(truth)],
               dict(os.environ), out / "seed.log")
    return time.monotonic() - t0


def seed_stores(endpoint: str, scale: int, seed_value: int, truth: Path, out: Path) -> float:
    """The stores estate beside the shared one. Its open stores hold unclassified data, so the
    identities of the shared estate read no more clinical or administrative data than its truth
    says."""
    t0 = time.monotonic()
    run_logged([str(BIN / "python"), str(STORES_SEEDER), "--endpoint", endpoint, "--scale", str(scale),
                "--seed", str(seed_value), "--truth", str(truth), "--open-class", "unclassified"],
               dict(os.environ), out / "seed-stores.log")
    return time.monotonic() - t0


# --------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    ap.add_argument("--scale", type=int, default=2000,
                    help="buckets in the estate (other kinds scale from it)")
    ap.add_argument("--seed", type=int, default=7, help="seed of the estate generator")
    ap.add_argument("--tools", help=f"comma-separated legs among {', '.join(ALL_LEGS)} (default: every "
                    "leg whose tool is installed; a leg named here that cannot run is a failure)")
    ap.add_argument("--endpoint", help="use this running moto server instead of starting one")
    ap.add_argument("--truth", type=Path,
                    help="with --endpoint: the truth of an estate seeded before (no seeding)")
    ap.add_argument("--moto-pid", type=int,
                    help="with --endpoint: the moto server's pid, for its CPU seconds")
    ap.add_argument("--moto-log", type=Path,
                    help="with --endpoint: the moto server's output file, to count its requests")
    ap.add_argument("--out", type=Path,
                    help="output folder (default bench/out/aws-vs-peers/s{scale}-seed{seed})")
    ap.add_argument("--baseline", type=Path,
                    help="results.json of an earlier run at the same scale and seed: its legs fill in "
                    "the tools not run now (marked *)")
    ap.add_argument("--json", type=Path, help="also write the results here")
    ap.add_argument("--stores", action="store_true",
                    help="also seed bench/seed_aws_stores.py's estate (every store phigate reads, in "
                    f"{' and '.join(STORE_REGIONS)}) and score each leg on its truth too")
    ap.add_argument("--stores-truth", type=Path,
                    help="with --endpoint and --stores: the truth of a stores estate seeded before")
    ap.add_argument("--phigate", type=Path, default=BIN / "phigate")
    ap.add_argument("--custodian", type=Path, default=PEERS / "c7n-venv" / "bin" / "custodian")
    ap.add_argument("--prowler", type=Path, default=PEERS / "prowler-venv" / "bin" / "prowler")
    args = ap.parse_args(argv)
    if args.tools:
        args.tools = [t.strip() for t in args.tools.split(",") if t.strip()]
        bad = [t for t in args.tools if t not in ALL_LEGS]
        if bad:
            ap.error(f"unknown leg(s) {', '.join(bad)}; choose among {', '.join(ALL_LEGS)}")
    if (args.truth or args.moto_pid or args.moto_log) and not args.endpoint:
        ap.error("--truth, --moto-pid and --moto-log go with --endpoint")
    if args.stores_truth and not (args.stores and args.truth):
        ap.error("--stores-truth goes with --stores and --truth")
    if args.stores and args.truth and not args.stores_truth:
        ap.error("--stores with --truth needs --stores-truth (the estate is already seeded)")
    return args


def legs_to_run(args: argparse.Namespace) -> tuple[list[str], dict[str, str]]:
    """The legs to run and, by default only, those skipped for want of their tool."""
    wanted = args.tools or list(ALL_LEGS)
    skipped = {}
    for name in wanted:
        reason = unavailable(name, args)
        if reason and args.tools:
            raise HarnessError(f"{name}: {reason}")
        if reason:
            skipped[name] = reason
    if len(skipped) == len(wanted):
        raise HarnessError("no leg can run here: " + "; ".join(f"{k}: {v}" for k, v in skipped.items()))
    return [name for name in wanted if name not in skipped], skipped


def run_leg(ctx: Context, name: str) -> Leg:
    print(f"{name} …", end=" ", flush=True)
    if name.startswith("phigate"):
        leg = leg_phigate(ctx, name)
    elif name.startswith("c7n"):
        leg = leg_c7n(ctx, name)
    else:
        leg = leg_prowler(ctx)
    print(f"{leg.wall_s:.1f} s wall, {leg.cpu_s:.1f} s CPU", flush=True)
    return leg


def with_baseline(legs: list[Leg], path: Path, scale: int, seed_value: int) -> list[Leg]:
    base = json.loads(path.read_text())
    if (base["scale"], base["seed"]) != (scale, seed_value):
        raise HarnessError(f"{path} is scale {base['scale']} seed {base['seed']}, not "
                           f"scale {scale} seed {seed_value}")
    ran = {leg.name for leg in legs}
    merged = legs + [leg_from_json(doc, base["date"]) for doc in base["legs"] if doc["name"] not in ran]
    return sorted(merged, key=lambda leg: ALL_LEGS.index(leg.name))


def bench(args: argparse.Namespace, out: Path, moto: Moto, names: list[str]) -> dict[str, Any]:
    truth_path = args.truth or out / "truth.json"
    seeding_s = None
    if not args.truth:
        print(f"seeding {moto.endpoint}: scale {args.scale}, seed {args.seed} …", flush=True)
        seeding_s = seed(moto.endpoint, args.scale, args.seed, truth_path, out)
    truth_doc = json.loads(truth_path.read_text())
    truth = truth_doc["expected_failures"]
    stores, stores_counts, stores_s = None, None, None
    if args.stores:
        stores_path = args.stores_truth or out / "stores-truth.json"
        if not args.stores_truth:
            print(f"seeding the stores estate: scale {args.scale}, seed {args.seed} …", flush=True)
            stores_s = seed_stores(moto.endpoint, args.scale, args.seed, stores_path, out)
        stores = Stores.load(stores_path)
        stores_counts = json.loads(stores_path.read_text())["counts"]
        print(f"stores estate: {stores_counts}, seeded in {num(stores_s)} s", flush=True)
    ctx = Context(moto, truth, truth_path, out, args.phigate, args.custodian, args.prowler,
                  aws_managed_keys(moto.endpoint), stores)
    print(f"estate: {truth_doc['counts']}, seeded in {num(seeding_s)} s; failing per rule: "
          + ", ".join(f"{k} {len(v)}" for k, v in truth.items()), flush=True)

    legs, failed = [], {}
    for name in names:  # a leg that breaks does not cost the others their run
        try:
            legs.append(run_leg(ctx, name))
        except HarnessError as exc:
            print(f"failed\n{exc}", flush=True)
            failed[name] = str(exc).splitlines()[0]
    if not legs:
        raise HarnessError("every leg failed")
    if args.baseline:
        legs = with_baseline(legs, args.baseline, args.scale, args.seed)
    print()
    print(render(legs, truth))
    for name, reason in failed.items():
        print(f"{name}: FAILED, {reason}")
    return {"date": datetime.datetime.now().isoformat(timespec="seconds"), "scale": args.scale,
            "seed": args.seed, "failed": failed, "counts": truth_doc["counts"], "seeding_s": seeding_s,
            "truth_failing": {k: len(v) for k, v in truth.items()}, "cpus": os.cpu_count(),
            "stores": None if stores is None else {
                "counts": stores_counts, "seeding_s": stores_s,
                "truth_failing": {k: len(v) for k, v in stores.fail.items()}},
            "legs": [asdict(leg) for leg in legs]}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    out: Path = args.out or OUT / f"s{args.scale}-seed{args.seed}"
    out.mkdir(parents=True, exist_ok=True)
    moto_proc = None
    try:
        names, skipped = legs_to_run(args)
        tool_versions = versions(args)
        print("versions: " + ", ".join(f"{k} {v}" for k, v in tool_versions.items()), flush=True)
        for name, reason in skipped.items():
            print(f"{name}: skipped, {reason}", flush=True)
        if args.endpoint:
            moto = Moto(args.endpoint, args.moto_pid, args.moto_log)
        else:
            moto_proc, moto = start_moto(out)
        results = bench(args, out, moto, names) | {"versions": tool_versions, "skipped": skipped}
    except HarnessError as exc:
        print(f"\nharness failure: {exc}", file=sys.stderr)
        return 1
    finally:
        if moto_proc is not None:
            moto_proc.terminate()
            try:
                moto_proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                moto_proc.kill()
    # results.json is the latest run; the dated copy stays, to serve as a later --baseline
    dated = out / f"results-{results['date'].replace(':', '')}.json"
    for path in (out / "results.json", dated, args.json):
        if path:
            path.write_text(json.dumps(results, indent=1) + "\n")
    print(f"\nresults: {dated}")
    if results["failed"]:
        print(f"harness failure: {', '.join(results['failed'])} did not run to the end", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
