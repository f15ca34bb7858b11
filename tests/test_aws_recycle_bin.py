"""EBS snapshots and EC2 images in the Recycle Bin: restorable copies, read as volumes encrypted
and classed as what they copy. moto has no Recycle Bin (it answers an empty one:
``tests/moto_main.py``), so the bin is answered as AWS lists it (the botocore model's
``ListSnapshotsInRecycleBin`` → ``snapshotSet``, ``ListImagesInRecycleBin`` → ``imageSet``;
https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_ListSnapshotsInRecycleBin.html) through
the provider's own client; the volumes and snapshots they copy are moto's."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse

from phigate.api import CollectionError, Resource
from phigate.cli import main
from phigate_providers.aws.provider import AwsProvider, Settings
from tests.aws_server import REGION, _Body, error_response, inject_faults, role_allowed

CLINICAL = [{"Key": "data_class", "Value": "clinical"}]
NAMESPACE = "http://ec2.amazonaws.com/doc/2016-11-15/"


def collect() -> tuple[dict[str, Resource], list[CollectionError]]:
    records = list(AwsProvider(Settings(regions=(REGION,))).collect())
    found = {r.id: r for r in records if isinstance(r, Resource)}
    return found, [r for r in records if isinstance(r, CollectionError)]


def _xml(operation: str, field: str, items: list[dict[str, str]]) -> AWSResponse:
    members = "".join("<item>" + "".join(f"<{k}>{v}</{k}>" for k, v in item.items()) + "</item>" for item in items)
    body = (f'<{operation}Response xmlns="{NAMESPACE}"><requestId>5f2b9c1e-replayed</requestId>'
            f"<{field}>{members}</{field}></{operation}Response>")
    return AWSResponse("https://replayed", 200, {"Content-Type": "text/xml"}, _Body(body.encode()))


def binned(aws: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """A clinical volume under a customer key and an unencrypted one, a snapshot of each deleted
    into the bin (their volumes kept), a snapshot of a volume gone, and an image of a clinical
    server deregistered into the bin (its disk's snapshot kept). Returns their ids."""
    ec2 = aws("ec2")
    key = aws("kms").create_key()["KeyMetadata"]["Arn"]
    clinical = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=8, Encrypted=True, KmsKeyId=key,
                                 TagSpecifications=[{"ResourceType": "volume", "Tags": CLINICAL}])["VolumeId"]
    clear = ec2.create_volume(AvailabilityZone=f"{REGION}a", Size=4)["VolumeId"]
    instance = ec2.run_instances(ImageId="ami-12c6146b", MinCount=1, MaxCount=1,
                                 TagSpecifications=[{"ResourceType": "instance", "Tags": CLINICAL}])
    image = ec2.create_image(InstanceId=instance["Instances"][0]["InstanceId"], Name="pms-server")["ImageId"]
    [disk] = [s["SnapshotId"] for s in ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]
              if s.get("Description", "").endswith(f" for {image}")]
    ec2.create_tags(Resources=[disk], Tags=CLINICAL)
    ec2.deregister_image(ImageId=image)
    ids = {"key": key, "clinical": "snap-0a1b2c3d4e5f60001", "clear": "snap-0a1b2c3d4e5f60002",
           "orphan": "snap-0a1b2c3d4e5f60003", "image": image, "disk": disk}
    left = "2026-12-01T10:00:00.000Z"
    snapshots = [{"snapshotId": ids["clinical"], "volumeId": clinical, "description": "nightly",
                  "recycleBinEnterTime": left, "recycleBinExitTime": "2026-12-31T10:00:00.000Z"},
                 {"snapshotId": ids["clear"], "volumeId": clear, "recycleBinEnterTime": left,
                  "recycleBinExitTime": "2026-12-31T10:00:00.000Z"},
                 {"snapshotId": ids["orphan"], "volumeId": "vol-0ffffffffffff0001", "recycleBinEnterTime": left,
                  "recycleBinExitTime": "2026-12-31T10:00:00.000Z"}]
    images = [{"imageId": image, "name": "pms-server", "recycleBinEnterTime": left,
               "recycleBinExitTime": "2026-12-31T10:00:00.000Z"}]

    def bin_answer(service: str, region: str, operation: str, request: Any) -> AWSResponse | None:
        if (service, region) != ("ec2", REGION):
            return None
        if operation == "ListSnapshotsInRecycleBin":
            return _xml(operation, "snapshotSet", snapshots)
        if operation == "ListImagesInRecycleBin":
            return _xml(operation, "imageSet", images)
        return None

    inject_faults(monkeypatch, bin_answer)
    return ids


def arn(kind: str, rid: str) -> str:
    return f"arn:aws:ec2:{REGION}::{kind}/{rid}"


def test_binned_snapshots_and_images_are_volumes_encrypted_and_classed_as_what_they_copy(
        aws: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    ids = binned(aws, monkeypatch)
    found, errors = collect()
    assert errors == []
    clinical, clear, orphan = (found[arn("snapshot", ids[n])] for n in ("clinical", "clear", "orphan"))
    assert (clinical.kind, clinical.type, clinical.region) == ("volume", "aws.ec2.recycle_bin_snapshot", REGION)
    assert clinical.attributes["encryption"] == {"at_rest": True, "algorithm": "aws:kms", "key": ids["key"],
                                                 "key_manager": "customer"}
    assert clinical.tags["data_class"] == "clinical"  # its volume's
    assert clinical.raw["RecycleBinExitTime"]  # restorable until then
    assert clear.attributes["encryption"]["at_rest"] is False
    assert "encryption" not in orphan.attributes  # its volume is gone: undecided
    assert all(s.attributes["public_access"] == {"blocked": True, "grants": []} for s in (clinical, clear))
    image = found[arn("image", ids["image"])]
    assert image.type == "aws.ec2.recycle_bin_image"
    # Its disk's snapshot, kept, names it in its description: unencrypted, as the instance's disk,
    # and clinical.
    assert image.raw["source"] == [arn("snapshot", ids["disk"])]
    assert image.attributes["encryption"]["at_rest"] is False
    assert image.tags["data_class"] == "clinical"


def test_store_policies_judge_the_bin(aws: Callable[..., Any], monkeypatch: pytest.MonkeyPatch,
                                      tmp_path: Path) -> None:
    ids = binned(aws, monkeypatch)
    out = tmp_path / "report.json"
    code = main(["scan", "--provider", "aws", "--region", REGION, "--quiet", "--show-passed",
                 "--format", f"json={out}"])
    findings = {(f["policy_id"], f["resource"]["id"]): f["status"] for f in json.loads(out.read_text())["findings"]}
    assert findings[("PHI-ENC-001", arn("snapshot", ids["clear"]))] == "fail"
    assert findings[("PHI-ENC-001", arn("snapshot", ids["clinical"]))] == "pass"
    assert findings[("PHI-ENC-001", arn("snapshot", ids["orphan"]))] == "error"
    assert code == 3


def test_a_bin_not_listed_is_an_error_on_its_types(aws: Callable[..., Any],
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    inject_faults(monkeypatch, lambda service, region, operation, request: error_response(
        "UnauthorizedOperation", 403, json_protocol=False) if operation == "ListSnapshotsInRecycleBin" else None)
    _, errors = collect()
    [error] = [e for e in errors if "Recycle Bin" in e.message and e.region == REGION]
    assert error.types == ("aws.ec2.recycle_bin_snapshot", "aws.ec2.recycle_bin_image")
    assert error.permission == "ec2:ListSnapshotsInRecycleBin"


def test_restoring_from_the_bin_reads_it(aws: Callable[..., Any], monkeypatch: pytest.MonkeyPatch) -> None:
    ids = binned(aws, monkeypatch)
    restorer = role_allowed(aws("iam"), "restorer", "ec2:RestoreSnapshotFromRecycleBin")
    found, _ = collect()
    assert set(found[restorer].attributes["can_read"]) == {arn("snapshot", ids[n]) for n in ("clinical", "clear",
                                                                                           "orphan")}
