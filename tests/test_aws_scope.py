"""AWS scope: ``--region`` and ``--account`` narrow what is reported, never what is reasoned about.

Against a real moto server: stores outside the asked regions or accounts are read as far as the
access analysis needs and yielded as context; principals' access is analysed over every region
and every account at once (in one process and on a Dask cluster); what could not be read leaves
every principal's access unseen, never a pass; bucket regions are read where listings name none.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from phigate.api import CollectionError, Context, Provider, Record, Resource
from phigate.cli import main
from phigate.config import Config
from phigate.load import bundled_pack, load_policies
from phigate.model import Status
from phigate.run import scan as run_scan
from phigate.testing import run_context
from phigate_providers.aws import AwsProvider
from phigate_providers.aws.s3_regions import location_region
from tests.aws_server import (
    ACCOUNT,
    ORG_ROLE,
    REGION,
    _Body,
    inject_faults,
    member_account,
    refusing,
)

OTHER = "eu-west-1"
OUTSIDE_EEA = "us-east-1"
ROLE = ORG_ROLE


def scan(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any]]:
    """``phigate scan --provider aws`` with ``args`` (no region unless they name one)."""
    out = tmp_path / "report.json"
    code = main(["scan", "--provider", "aws", "--quiet", "--format", f"json={out}", *args])
    return code, json.loads(out.read_text())


def findings(report: dict[str, Any], policy: str, status: str = "fail") -> set[str]:
    return {f["resource"]["id"] for f in report["findings"]
            if f["policy_id"] == policy and f["status"] == status}


def reported_ids(report: dict[str, Any]) -> set[str]:
    return {f["resource"]["id"] for f in report["findings"]}


def bucket(s3: Any, name: str, region: str, data_class: str, policy: dict[str, Any] | None = None) -> str:
    if region == "us-east-1":
        s3.create_bucket(Bucket=name)
    else:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": region})
    s3.put_bucket_tagging(Bucket=name, Tagging={"TagSet": [{"Key": "data_class", "Value": data_class}]})
    if policy is not None:
        s3.put_bucket_policy(Bucket=name, Policy=json.dumps(policy))
    return f"arn:aws:s3:::{name}"


def role(iam: Any, name: str, resources: list[str] | str = "*") -> str:
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="read", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": resources}]}))
    return str(arn)


def collect(*, regions: list[str] | None = None, org_role: str | None = None,
            accounts: list[str] | None = None, only: tuple[str, ...] = ()) -> list[Record]:
    """The provider's records, for the policies ``only`` names (all by default)."""
    from phigate.run import fields_needed

    [provider] = AwsProvider.configure(
        [], run_context(options={"region": regions, "org_role": org_role, "account": accounts}))
    policies = load_policies([bundled_pack()])
    if only:
        policies = [p for p in policies if p.id in only]
    fields = fields_needed(policies)
    if fields is not None:
        provider.restrict(fields)  # type: ignore[attr-defined]
    return list(provider.collect())


def principal(records: list[Record], arn: str) -> Resource | Context:
    return next(r for r in records if not isinstance(r, CollectionError)
                and (r.resource if isinstance(r, Context) else r).id == arn)


# --- regions --------------------------------------------------------------------------------


def test_a_role_reading_clinical_data_in_another_region_fails_segmentation(
        aws: Callable[..., Any], tmp_path: Path) -> None:
    notes = bucket(aws("s3", OTHER), "dublin-notes", OTHER, "clinical")
    invoices = bucket(aws("s3"), "paris-invoices", REGION, "administrative")
    reader = role(aws("iam"), "both-reader", [f"{notes}/*", f"{invoices}/*"])
    code, report = scan(tmp_path, "--region", REGION, "--only", "PHI-SEG-002")
    assert findings(report, "PHI-SEG-002") == {reader}
    assert code == 1
    assert notes not in reported_ids(report)  # read as context, never reported
    records = collect(regions=[REGION], only=("PHI-SEG-002",))
    [context] = [r for r in records if isinstance(r, Context) and r.resource.id == notes]
    assert context.resource.region == OTHER and context.resource.tags == {"data_class": "clinical"}
    found = principal(records, reader)
    assert isinstance(found, Resource) and found.attributes["can_read"] == [notes, invoices]
    assert "access_unseen" not in found.attributes


def test_health_data_outside_the_asked_regions_is_reported_for_residency(
        aws: Callable[..., Any], tmp_path: Path) -> None:
    abroad = bucket(aws("s3", OUTSIDE_EEA), "virginia-notes", OUTSIDE_EEA, "clinical")
    logs = bucket(aws("s3", OUTSIDE_EEA), "virginia-logs", OUTSIDE_EEA, "public")
    home = bucket(aws("s3"), "paris-notes", REGION, "clinical")
    code, report = scan(tmp_path, "--region", REGION)
    assert findings(report, "PHI-RES-001") == {abroad}
    # Reported in full, like the buckets of the asked region (its encryption was read).
    assert abroad in findings(report, "PHI-ENC-002") and home in findings(report, "PHI-ENC-002")
    assert logs not in reported_ids(report)
    assert code == 1
    assert any(all(name in n for name in ("RDS databases", "EBS volumes", "RDS snapshots", "EBS snapshots"))
               for n in report["notices"])
    records = collect(regions=[REGION])
    assert any(isinstance(r, Context) and r.resource.id == logs for r in records)
    assert any(type(r) is Resource and r.id == abroad and r.region == OUTSIDE_EEA for r in records)


def test_buckets_read_as_context_elsewhere_leave_key_sharing_decidable(
        aws: Callable[..., Any], tmp_path: Path) -> None:
    """A bucket of another region read only as context has its key read too: left unread, it
    might (for all the engine could tell) share any key, and every key-sharing decision of the
    asked region would be an error."""
    s3, kms = aws("s3"), aws("kms")

    def under(name: str, data_class: str, key: str) -> str:
        made = bucket(s3, name, REGION, data_class)
        s3.put_bucket_encryption(Bucket=name, ServerSideEncryptionConfiguration={"Rules": [
            {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}]})
        return made

    dedicated, shared = (kms.create_key()["KeyMetadata"]["Arn"] for _ in range(2))
    alone = under("paris-notes", "clinical", dedicated)
    mixed = under("paris-scans", "clinical", shared)
    under("paris-invoices", "administrative", shared)
    aws("s3", OTHER).create_bucket(Bucket="dublin-scratch",  # unclassified: context only
                                   CreateBucketConfiguration={"LocationConstraint": OTHER})
    code, report = scan(tmp_path, "--region", REGION, "--only", "PHI-SEG-001", "--only", "PHI-RES-001",
                        "--show-passed")
    assert findings(report, "PHI-SEG-001", "error") == set()
    assert findings(report, "PHI-SEG-001") == {mixed}
    assert findings(report, "PHI-SEG-001", "pass") == {alone}
    assert "arn:aws:s3:::dublin-scratch" not in reported_ids(report)
    assert code == 1


def test_without_a_residency_policy_other_regions_stay_context(aws: Callable[..., Any]) -> None:
    abroad = bucket(aws("s3", OUTSIDE_EEA), "virginia-notes", OUTSIDE_EEA, "clinical")
    records = collect(regions=[REGION], only=("PHI-SEG-002",))
    assert any(isinstance(r, Context) and r.resource.id == abroad for r in records)
    assert not any(type(r) is Resource and r.id == abroad for r in records)


def test_an_unreadable_region_leaves_every_principal_access_unseen(
        aws: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bucket(aws("s3"), "paris-invoices", REGION, "administrative")
    reader = role(aws("iam"), "invoice-reader", "arn:aws:s3:::paris-invoices/*")

    inject_faults(monkeypatch, refusing("ListTables", "AccessDeniedException", 400, json_protocol=True,
                                        service="dynamodb", region=OTHER))
    records = collect(regions=[REGION], only=("PHI-SEG-002",))
    found = principal(records, reader)
    assert isinstance(found, Resource)
    [unseen] = [u for u in found.attributes["access_unseen"] if f"region {OTHER}" in u]
    assert ACCOUNT in unseen and "dynamodb:ListTables" in unseen
    errors = [r for r in records if isinstance(r, CollectionError)]
    assert any(e.region == OTHER and "dynamodb:ListTables" in e.message for e in errors)
    assert any("principal" in e.kinds and e.resource_id is None and OTHER in e.message for e in errors)
    code, report = scan(tmp_path, "--region", REGION, "--only", "PHI-SEG-002")
    assert code == 3
    assert findings(report, "PHI-SEG-002", "error")
    assert not findings(report, "PHI-SEG-002", "pass")


def test_regions_not_enumerable_leave_access_unseen(
        aws: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    reader = role(aws("iam"), "any-reader")

    inject_faults(monkeypatch, refusing("DescribeRegions", "UnauthorizedOperation", 403, json_protocol=False))
    records = collect(regions=[REGION], only=("PHI-SEG-002",))
    found = principal(records, reader)
    assert isinstance(found, Resource)
    assert any(f"regions other than {REGION}" in u for u in found.attributes["access_unseen"])


def _user(iam: Any, name: str, action: str, resource: str) -> str:
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]}))
    return str(arn)


def test_functions_and_databases_of_other_regions_feed_the_access_graph(aws: Callable[..., Any]) -> None:
    import io
    import zipfile

    iam = aws("iam")
    exporter = role(iam, "exporter")
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("index.py", "def handler(event, context):\n    return None\n")
    function = aws("lambda", OTHER).create_function(
        FunctionName="export", Runtime="python3.12", Role=exporter, Handler="index.handler",
        Code={"ZipFile": code.getvalue()})["FunctionArn"]
    database = aws("rds", OTHER).create_db_instance(
        DBInstanceIdentifier="dossiers", DBInstanceClass="db.t3.micro", Engine="postgres",
        MasterUsername="admin", MasterUserPassword="x" * 12, AllocatedStorage=20,
        EnableIAMDatabaseAuthentication=True)["DBInstance"]["DBInstanceArn"]
    coder = _user(iam, "coder", "lambda:UpdateFunctionCode", function)
    connect = _user(iam, "connect", "rds-db:connect", f"arn:aws:rds-db:{OTHER}:{ACCOUNT}:dbuser:*/app")
    records = collect(regions=[REGION], only=("PHI-SEG-002",))
    found = principal(records, coder)
    assert found.attributes["can_become_via"] == {exporter: f"lambda:UpdateFunctionCode on {function}"}
    assert principal(records, connect).attributes["can_read_via"] == {database: "rds-db:connect"}
    assert any(isinstance(r, Context) and r.resource.id == database for r in records)
    assert not any(type(r) is Resource and r.id == database for r in records)  # never reported


def test_functions_not_listed_in_another_region_leave_only_their_coders_unseen(
        aws: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    iam = aws("iam")
    coder = _user(iam, "coder", "lambda:UpdateFunctionCode", "*")
    reader = role(iam, "any-reader")

    inject_faults(monkeypatch, refusing("ListFunctions", "AccessDeniedException", 403, json_protocol=True,
                                        service="lambda", region=OTHER))
    records = collect(regions=[REGION], only=("PHI-SEG-002",))
    gap = f"aws account {ACCOUNT} region {OTHER}: Lambda functions (not read)"
    assert gap in principal(records, coder).attributes["access_unseen"]
    assert "access_unseen" not in principal(records, reader).attributes
    errors = [r for r in records if isinstance(r, CollectionError)]
    assert any(e.region == OTHER and "ListFunctions" in e.message for e in errors)


# --- bucket regions -------------------------------------------------------------------------


def test_legacy_and_empty_locations_are_the_regions_aws_documents() -> None:
    assert location_region({"LocationConstraint": None}) == "us-east-1"
    assert location_region({"LocationConstraint": ""}) == "us-east-1"
    assert location_region(None) == "us-east-1"
    assert location_region({"LocationConstraint": "EU"}) == "eu-west-1"
    assert location_region({"LocationConstraint": "eu-west-3"}) == "eu-west-3"


def _two_regions(aws: Callable[..., Any]) -> None:
    bucket(aws("s3"), "paris-notes", REGION, "clinical")
    bucket(aws("s3", OUTSIDE_EEA), "virginia-notes", OUTSIDE_EEA, "clinical")


def _listing(*, regions: bool,
             buckets: tuple[tuple[str, str], ...] = (("paris-notes", REGION), ("virginia-notes", OUTSIDE_EEA)),
             ) -> AWSResponse:
    """A ListBuckets answer naming ``buckets``, with or without their ``BucketRegion``."""
    entries = "".join(
        f"<Bucket><Name>{name}</Name><CreationDate>2024-01-01T00:00:00Z</CreationDate>"
        + (f"<BucketRegion>{region}</BucketRegion>" if regions else "") + "</Bucket>"
        for name, region in buckets)
    body = f"<ListAllMyBucketsResult><Owner><ID>x</ID></Owner><Buckets>{entries}</Buckets></ListAllMyBucketsResult>"
    return AWSResponse("https://injected", 200, {"Content-Type": "application/xml"}, _Body(body.encode()))


def _located(tmp_path: Path, *regions: str) -> tuple[int, set[str]]:
    code, report = scan(tmp_path, "--only", "PHI-RES-001", *(f"--region={r}" for r in regions))
    return code, findings(report, "PHI-RES-001")


def test_without_a_region_a_listing_that_names_no_region_is_placed_by_filtered_listings(
        aws: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The default run (every enabled region) on a server whose ListBuckets has no
    BucketRegion but honours the region filter, as moto's: one listing per region."""
    _two_regions(aws)
    assert all("BucketRegion" not in b for b in aws("s3").list_buckets()["Buckets"])
    seen: list[tuple[str, str]] = []
    inject_faults(monkeypatch, lambda service, region, operation, request: seen.append((operation, request.url)))
    assert _located(tmp_path) == (1, {"arn:aws:s3:::virginia-notes"})
    assert not [op for op, _ in seen if op == "GetBucketLocation"]
    assert any(op == "ListBuckets" and "bucket-region=" in url for op, url in seen)


def test_a_server_ignoring_the_region_filter_has_each_bucket_located(
        aws: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _two_regions(aws)
    located: list[str] = []

    def fault(service: str, region: str, operation: str, request: Any) -> AWSResponse | None:
        if operation == "ListBuckets":
            return _listing(regions=False)  # the filter ignored: every bucket, every time
        if operation == "GetBucketLocation":
            located.append(request.url)
        return None

    inject_faults(monkeypatch, fault)
    assert _located(tmp_path, REGION, OUTSIDE_EEA) == (1, {"arn:aws:s3:::virginia-notes"})
    assert len(located) == 2


def test_a_listing_that_names_regions_spares_every_other_read_of_them(
        aws: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _two_regions(aws)
    seen: list[tuple[str, str]] = []

    def fault(service: str, region: str, operation: str, request: Any) -> AWSResponse | None:
        seen.append((operation, request.url))
        return _listing(regions=True) if operation == "ListBuckets" else None

    inject_faults(monkeypatch, fault)
    assert _located(tmp_path, REGION, OUTSIDE_EEA) == (1, {"arn:aws:s3:::virginia-notes"})
    assert not [op for op, _ in seen if op == "GetBucketLocation"]
    assert [url for op, url in seen if op == "ListBuckets"] and not [
        url for op, url in seen if op == "ListBuckets" and "bucket-region=" in url]


def test_legacy_locations_answered_by_a_server_place_the_bucket(
        aws: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bucket(aws("s3", OTHER), "legacy-eu", OTHER, "clinical")
    bucket(aws("s3", OUTSIDE_EEA), "classic", OUTSIDE_EEA, "clinical")
    answers = {"legacy-eu": b"EU", "classic": b""}
    located: list[str] = []

    def fault(service: str, region: str, operation: str, request: Any) -> AWSResponse | None:
        if operation == "ListBuckets":  # no region named, the filter ignored: each is located
            return _listing(regions=False, buckets=(("legacy-eu", OTHER), ("classic", OUTSIDE_EEA)))
        if service == "s3" and operation == "GetBucketLocation":
            located.append(request.url)
            name = next(n for n in answers if n in request.url)
            body = (b'<?xml version="1.0" encoding="UTF-8"?><LocationConstraint '
                    b'xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' + answers[name] + b"</LocationConstraint>")
            return AWSResponse("https://injected", 200, {"Content-Type": "application/xml"}, _Body(body))
        return None

    inject_faults(monkeypatch, fault)
    records = collect(regions=[OTHER, OUTSIDE_EEA], only=("PHI-RES-001",))
    regions = {r.name: r.region for r in records if type(r) is Resource and r.kind == "object_store"}
    assert regions == {"legacy-eu": "eu-west-1", "classic": "us-east-1"}
    assert len(located) == 2


# --- accounts -------------------------------------------------------------------------------


def _cross_account_estate(aws: Callable[..., Any], endpoint: str) -> tuple[str, str, str, str]:
    """Member account B's clinical bucket grants a role of the management account A read; A's
    administrative bucket is read by the same role. Returns (member, role, notes, invoices)."""
    member, member_client = member_account(endpoint, "lab")
    member_s3 = member_client("s3")
    reader = role(aws("iam"), "billing-reader")  # its own policy allows s3:GetObject anywhere
    grant = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": reader}, "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::member-notes/*"}]}
    notes = bucket(member_s3, "member-notes", REGION, "clinical", grant)
    invoices = bucket(aws("s3"), "management-invoices", REGION, "administrative")
    return member, reader, notes, invoices


def test_a_member_bucket_policy_granting_a_management_role_counts(
        aws: Callable[..., Any], endpoint: str, tmp_path: Path) -> None:
    member, reader, notes, invoices = _cross_account_estate(aws, endpoint)
    code, report = scan(tmp_path, "--region", REGION, "--org-role", ROLE, "--only", "PHI-SEG-002")
    assert report["collection_errors"] == []
    assert findings(report, "PHI-SEG-002") == {reader}
    assert code == 1
    # Narrowed to the management account: the member's bucket is context, the role still fails.
    code, report = scan(tmp_path, "--region", REGION, "--org-role", ROLE, "--account", ACCOUNT,
                        "--only", "PHI-SEG-002")
    assert findings(report, "PHI-SEG-002") == {reader}
    assert {s["scope"] for s in report["scopes"]} == {ACCOUNT}
    records = collect(regions=[REGION], org_role=ROLE, accounts=[ACCOUNT], only=("PHI-SEG-002",))
    assert any(isinstance(r, Context) and r.resource.id == notes for r in records)
    found = principal(records, reader)
    assert isinstance(found, Resource) and found.attributes["can_read"] == [invoices, notes]
    # Narrowed to the member: the management role is context (reasoned about, not reported).
    records = collect(regions=[REGION], org_role=ROLE, accounts=[member], only=("PHI-SEG-002",))
    assert isinstance(principal(records, reader), Context)
    assert any(type(r) is Resource and r.id == notes for r in records)


def _providers(*args: str) -> list[Provider]:
    from phigate.run import fields_needed

    options = {"region": [REGION], "org_role": ROLE, "account": list(args) or None}
    providers = AwsProvider.configure([], run_context(options=options))
    fields = fields_needed([p for p in load_policies([bundled_pack()]) if p.id == "PHI-SEG-002"])
    assert fields is not None
    for provider in providers:
        provider.restrict(fields)  # type: ignore[attr-defined]
    return providers


def test_a_distributed_organization_scan_joins_access_across_accounts(
        aws: Callable[..., Any], endpoint: str, tmp_path: Path) -> None:
    from dask.distributed import LocalCluster

    from phigate.executors.cluster import ClusterCollection

    _, reader, notes, invoices = _cross_account_estate(aws, endpoint)
    policies = [p for p in load_policies([bundled_pack()]) if p.id == "PHI-SEG-002"]
    local = run_scan(_providers(), policies, Config())
    [provider] = _providers()
    parts = provider.slices()  # type: ignore[attr-defined]
    assert len(parts) == 2
    collected = [part.collect_part() for part in parts]
    for records, _ in collected:
        assert not any(getattr(r, "kind", None) == "principal" for r in records)  # left to the join
    # Facts travel back from a worker process: pickled.
    facts = [pickle.loads(pickle.dumps(f)) for _, f in collected]
    found = principal(list(provider.join(facts, [])), reader)  # type: ignore[attr-defined]
    assert isinstance(found, Resource) and found.attributes["can_read"] == [invoices, notes]
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster:
        remote = run_scan([ClusterCollection(_providers(), scheduler=cluster.scheduler_address)],
                          policies, Config())
        code, report = scan(tmp_path, "--region", REGION, "--org-role", ROLE, "--only", "PHI-SEG-002",
                            "--executor", "dask", "--scheduler", cluster.scheduler_address)
        # Narrowed to the management account: the member's slice is read as context only.
        narrowed = run_scan([ClusterCollection(_providers(ACCOUNT), scheduler=cluster.scheduler_address)],
                            policies, Config())
    assert {f.resource.id for f in narrowed.findings if f.status is Status.FAIL} == {reader}
    assert [s.scope for s in narrowed.scopes] == [ACCOUNT]
    assert (code, findings(report, "PHI-SEG-002")) == (1, {reader})
    assert {f.resource.id for f in remote.findings if f.status is Status.FAIL} == {reader}
    assert [(f.policy_id, f.resource.id, f.status) for f in remote.findings] == [
        (f.policy_id, f.resource.id, f.status) for f in local.findings]
    assert remote.collection_errors == local.collection_errors == ()


def test_slices_joined_from_pickled_facts_chain_roles_across_accounts(
        aws: Callable[..., Any], endpoint: str) -> None:
    _, member_client = member_account(endpoint, "lab")
    notes = bucket(member_client("s3"), "member-notes", REGION, "clinical")
    member_iam = member_client("iam")
    ops = aws("iam").create_user(UserName="ops")["User"]["Arn"]
    trust = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": ops}, "Action": "sts:AssumeRole"}]}
    lab = member_iam.create_role(RoleName="lab-reader", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    member_iam.put_role_policy(RoleName="lab-reader", PolicyName="read", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                "Resource": f"{notes}/*"}]}))
    aws("iam").put_user_policy(UserName="ops", PolicyName="hop", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Resource": lab}]}))
    [provider] = _providers(ACCOUNT)  # the member's slice is read as context
    facts = [pickle.loads(pickle.dumps(part.collect_part()[1]))
             for part in provider.slices()]  # type: ignore[attr-defined]
    joined = list(provider.join(facts, []))  # type: ignore[attr-defined]
    found = principal(joined, ops)
    assert isinstance(found, Resource) and found.attributes["can_become_via"] == {lab: "sts:AssumeRole"}
    reached = principal(joined, lab)
    assert isinstance(reached, Context) and reached.resource.attributes["can_read"] == [notes]


def test_a_lost_slice_leaves_the_other_accounts_access_unseen(
        aws: Callable[..., Any], endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from phigate.executors import cluster as cluster_module
    from phigate.executors.cluster import ClusterCollection

    member, reader, _, _ = _cross_account_estate(aws, endpoint)
    original = cluster_module.collect_slice

    def collect_slice(part: Provider) -> Any:
        if getattr(part, "slice_account", None) == member:
            raise RuntimeError("worker lost")
        return original(part)

    monkeypatch.setattr(cluster_module, "collect_slice", collect_slice)
    collection = ClusterCollection(_providers(), workers=1, processes=False, retries=0)
    collection._submit = lambda client, part, key: None  # type: ignore[method-assign]
    records = list(collection.collect())
    found = principal(records, reader)
    assert isinstance(found, Resource)
    assert any(member in u and "slice failed" in u for u in found.attributes["access_unseen"])
    assert any(isinstance(r, CollectionError) and r.scope == member for r in records)


def test_an_account_whose_role_cannot_be_assumed_leaves_access_unseen(
        aws: Callable[..., Any], endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from phigate_providers.aws import provider as provider_module
    from phigate_providers.aws.calls import ApiFailure

    member, reader, _, _ = _cross_account_estate(aws, endpoint)
    original = provider_module.assumed_session

    def assumed_session(base: Any, role_arn: str, external_id: str | None, region: str) -> Any:
        if f"::{member}:" in role_arn:  # what botocore raises for a denied AssumeRole, as calls.py maps it
            raise ApiFailure("sts", "AssumeRole", "access denied (AccessDenied)", "AccessDenied")
        return original(base, role_arn, external_id, region)

    monkeypatch.setattr(provider_module, "assumed_session", assumed_session)
    records = collect(regions=[REGION], org_role=ROLE, accounts=[ACCOUNT], only=("PHI-SEG-002",))
    found = principal(records, reader)
    assert isinstance(found, Resource)
    unseen = found.attributes["access_unseen"]
    assert any(f"aws account {member}" in u and "sts:AssumeRole" in u for u in unseen)
    errors = [r for r in records if isinstance(r, CollectionError)]
    assert any(e.kinds == ("principal",) and member in e.message for e in errors)
    code, report = scan(tmp_path, "--region", REGION, "--org-role", ROLE, "--account", ACCOUNT,
                        "--only", "PHI-SEG-002")
    assert code == 3 and not findings(report, "PHI-SEG-002", "pass")


def _table(aws: Callable[..., Any], name: str, region: str, data_class: str) -> str:
    dynamodb = aws("dynamodb", region)
    arn = dynamodb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        Tags=[{"Key": "data_class", "Value": data_class}],
    )["TableDescription"]["TableArn"]
    return str(arn)


def test_tables_of_other_regions_are_read_for_access_and_reported_when_they_hold_health_data(
        aws: Callable[..., Any], tmp_path: Path) -> None:
    abroad = _table(aws, "visits", OUTSIDE_EEA, "clinical")
    metrics = _table(aws, "metrics", OTHER, "public")
    invoices = bucket(aws("s3"), "paris-invoices", REGION, "administrative")
    iam = aws("iam")
    reader = role(iam, "visits-reader", f"{invoices}/*")
    iam.put_role_policy(RoleName="visits-reader", PolicyName="tables", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "dynamodb:Query", "Resource": [abroad, metrics]}]}))
    code, report = scan(tmp_path, "--region", REGION, "--only", "PHI-SEG-002", "--only", "PHI-RES-001")
    assert findings(report, "PHI-SEG-002") == {reader}
    assert findings(report, "PHI-RES-001") == {abroad}
    assert metrics not in reported_ids(report)
    assert code == 1
    records = collect(regions=[REGION], only=("PHI-SEG-002",))
    assert any(isinstance(r, Context) and r.resource.id == abroad for r in records)
    found = principal(records, reader)
    assert isinstance(found, Resource) and set(found.attributes["can_read"]) == {abroad, metrics, invoices}
