"""The s3-inventory provider's HeadObject sample, on a moto server: what a sample can decide (a
fail, or a pass only when it covers every object) and what it leaves undecided."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError

from phigate.api import CollectionError, InputError, Resource
from phigate.testing import run_context
from phigate_providers.s3_inventory import S3InventoryProvider, sample
from phigate_providers.s3_inventory.masking import mask
from tests.aws_server import REGION, client, reset


@pytest.fixture(scope="module")
def server(endpoint: str) -> str:
    return endpoint


@pytest.fixture
def s3(server: str) -> tuple[Any, str]:
    """An empty estate with one customer-managed KMS key: (S3 client, the key's ARN)."""
    reset(server)
    key = client(server, "kms").create_key(Description="clinical notes")["KeyMetadata"]["Arn"]
    return client(server, "s3"), key


def bucket(s3: Any, name: str, objects: dict[str, dict[str, str]], *, versioned: bool = False) -> None:
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    if versioned:
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    for key, encryption in objects.items():
        s3.put_object(Bucket=name, Key=key, Body=b"note", **encryption)


def kms(key: str) -> dict[str, str]:
    return {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": key}


def provider(*buckets: str, size: int | None = None) -> S3InventoryProvider:
    options = {"head_sample": list(buckets), "head_sample_size": size}
    (made,) = S3InventoryProvider.configure([], run_context(options=options))
    return made


def collected(*buckets: str, size: int | None = None) -> tuple[dict[str, Resource], list[CollectionError]]:
    resources, errors = {}, []
    for record in provider(*buckets, size=size).collect():
        if isinstance(record, CollectionError):
            errors.append(record)
        else:
            assert isinstance(record, Resource)
            resources[record.id] = record
    return resources, errors


def test_a_sample_covering_every_object_of_an_unversioned_bucket_is_complete(s3: tuple[Any, str]) -> None:
    client_, key = s3
    bucket(client_, "exemplum-notes", {f"notes/{n}": kms(key) for n in range(5)}
           | {"2019/dupont.pdf": {"ServerSideEncryption": "AES256"}})
    resources, errors = collected("exemplum-notes", size=10)
    assert errors == []
    found = resources["s3-inventory:exemplum-notes/head-sample"]
    assert found.scope == "s3://exemplum-notes"
    assert found.attributes["report"] == {"configuration": "head-sample", "source": "head-object-sample",
                                          "complete": True}
    assert found.attributes["objects"] == {
        "count": 6, "not_sse": 0, "sse_s3": 1, "sse_c": 0, "sse_kms": 5, "dsse_kms": 0, "unrecognised": 0,
        "aws_managed_kms": 0, "kms_keys": [key], "first_offending_keys": [mask("2019/dupont.pdf")]}


def test_a_partial_sample_is_a_lower_bound_spread_over_the_listing(s3: tuple[Any, str]) -> None:
    client_, key = s3
    objects = {f"k{n:02d}": kms(key) for n in range(30)}
    objects["k12"] = {}  # unencrypted; a sample of 5 of 30 reads k00, k06, k12, k18, k24
    bucket(client_, "exemplum-lab", objects)
    resources, errors = collected("exemplum-lab", size=5)
    found = resources["s3-inventory:exemplum-lab/head-sample"]
    assert found.attributes["report"]["complete"] is False
    # Counts seen at zero are left out: not seen is not none.
    assert found.attributes["objects"] == {"count": 5, "not_sse": 1, "sse_kms": 4, "kms_keys": [key],
                                           "first_offending_keys": [mask("k12")]}
    (error,) = errors
    assert error.resource_id == found.id and "a sample of 5 of the 30 objects listed" in error.message


def test_a_versioned_bucket_is_never_covered_whole(s3: tuple[Any, str]) -> None:
    client_, key = s3
    bucket(client_, "exemplum-scans", {"a": kms(key), "b": kms(key)}, versioned=True)
    resources, errors = collected("exemplum-scans")
    assert resources["s3-inventory:exemplum-scans/head-sample"].attributes["report"]["complete"] is False
    assert "noncurrent versions" in errors[0].message


def test_kms_objects_read_without_a_key_id_leave_the_keys_unknown(s3: tuple[Any, str]) -> None:
    client_, key = s3
    bucket(client_, "exemplum-imaging", {"a": kms(key), "b": {"ServerSideEncryption": "aws:kms"}})
    resources, errors = collected("exemplum-imaging")
    assert "kms_keys" not in resources["s3-inventory:exemplum-imaging/head-sample"].attributes["objects"]
    assert any("read without their key id" in e.message for e in errors)


@pytest.mark.parametrize(("code", "permission"), [("AccessDenied", "s3:GetObject"),
                                                  ("400", None)])  # an SSE-C object, read without its key
def test_an_object_head_object_refuses_is_unseen_and_names_the_permission(
        s3: tuple[Any, str], monkeypatch: pytest.MonkeyPatch, code: str, permission: str | None) -> None:
    client_, key = s3
    bucket(client_, "exemplum-archive", {"a": kms(key), "b": kms(key), "c": kms(key)})
    _refuse(monkeypatch, "head_object", code, when=lambda kwargs: kwargs["Key"] == "b")
    resources, errors = collected("exemplum-archive")
    found = resources["s3-inventory:exemplum-archive/head-sample"]
    assert found.attributes["report"]["complete"] is False and found.attributes["objects"]["count"] == 2
    refused = [e for e in errors if "could not be read with HeadObject" in e.message]
    assert [e.permission for e in refused] == [permission]


def test_a_bucket_that_cannot_be_listed_is_an_error_not_a_resource(s3: tuple[Any, str]) -> None:
    resources, errors = collected("no-such-bucket-here")
    assert resources == {}
    (error,) = errors
    assert error.resource_id == "s3-inventory:no-such-bucket-here/head-sample" and "NoSuchBucket" in error.message


def test_bad_sample_options_are_input_errors() -> None:
    with pytest.raises(InputError, match="not an S3 bucket name"):
        provider("Not_A_Bucket")
    for size in (0, 10001, True):
        with pytest.raises(InputError, match="head sample size"):
            provider("exemplum-notes", size=size)  # type: ignore[arg-type]


def test_phi_enc_005_on_samples_fails_what_it_saw_and_passes_only_a_whole_bucket(
        s3: tuple[Any, str], tmp_path: Path, cli: Callable[..., Any], write_snapshot: Callable[..., Path]) -> None:
    client_, key = s3
    bucket(client_, "exemplum-whole", {f"n{n}": kms(key) for n in range(3)})
    bucket(client_, "exemplum-partial", {f"n{n:02d}": kms(key) for n in range(20)})
    bucket(client_, "exemplum-bad", {f"n{n:02d}": kms(key) for n in range(19)} | {"n00": {}})
    live = write_snapshot([{"id": key, "type": "aws.kms.key", "kind": "key", "provider": "aws",
                            "attributes": {"manager": "customer"}}])
    config = tmp_path / "phigate.yaml"
    config.write_text("version: 1\nclassification:\n  names:\n    - {pattern: '^exemplum-', data_class: clinical}\n")
    out = tmp_path / "report.json"
    result = cli("scan", str(live), "--provider", "s3-inventory", "--provider", "snapshot",
                 "--head-sample", "exemplum-whole", "--head-sample", "exemplum-partial",
                 "--head-sample", "exemplum-bad", "--head-sample-size", "4", "--only", "PHI-ENC-005",
                 "--config", str(config), "--quiet", "--format", f"json={out}", "--show-passed")
    report = json.loads(out.read_text())
    assert {f["resource"]["id"]: f["status"] for f in report["findings"]} == {
        "s3-inventory:exemplum-whole/head-sample": "pass",
        "s3-inventory:exemplum-partial/head-sample": "error",
        "s3-inventory:exemplum-bad/head-sample": "fail"}
    assert result.code == 3


def test_a_bucket_whose_versioning_cannot_be_read_is_never_covered_whole(
        s3: tuple[Any, str], monkeypatch: pytest.MonkeyPatch) -> None:
    client_, key = s3
    bucket(client_, "exemplum-vault", {"a": kms(key), "b": kms(key)})
    _refuse(monkeypatch, "get_bucket_versioning", "AccessDenied")
    resources, errors = collected("exemplum-vault")
    found = resources["s3-inventory:exemplum-vault/head-sample"]
    assert found.attributes["report"]["complete"] is False and found.attributes["objects"]["count"] == 2
    assert [e.permission for e in errors if "versioning was ever enabled" in e.message] == ["s3:GetBucketVersioning"]


#: The IAM action each S3 operation is authorised by (S3's API reference).
ACTIONS = {"ListObjectsV2": "s3:ListBucket", "GetObject": "s3:GetObject", "HeadObject": "s3:GetObject",
           "GetBucketVersioning": "s3:GetBucketVersioning"}


def test_every_call_is_a_read_the_permissions_document_grants(
        s3: tuple[Any, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from phigate_providers.s3_inventory import remote
    from tests.test_s3_metadata import Rows, write_export

    client_, key = s3
    bucket(client_, "exemplum-notes", {"a": kms(key), "b": {}})
    export = write_export(tmp_path / "export", Rows("exemplum-lab").objects({"SSE-S3": 2}).records)
    bucket(client_, "exemplum-audit", {})
    for path in export.iterdir():
        client_.upload_file(str(path), "exemplum-audit", f"lab/{path.name}")
    called: list[str] = []
    real = remote.s3_client

    def recording(profile: str | None) -> Any:
        made = real(profile)
        made.meta.events.register("before-call.s3.*", lambda model, **_: called.append(model.name))
        return made

    monkeypatch.setattr(remote, "s3_client", recording)
    monkeypatch.setattr(sample, "s3_client", recording)
    options = {"head_sample": ["exemplum-notes"], "metadata_table": ["s3://exemplum-audit/lab/"]}
    (made,) = S3InventoryProvider.configure([], run_context(options=options))
    records = list(made.collect())
    assert {r.id for r in records if isinstance(r, Resource)} == {
        "s3-inventory:exemplum-notes/head-sample", "s3-inventory:exemplum-lab/metadata-inventory"}
    assert set(called) == set(ACTIONS), called
    granted = {action for statement in json.loads(S3InventoryProvider.permissions_document())["Statement"]
               for action in statement["Action"]}
    assert {ACTIONS[name] for name in called} == granted


def _refuse(monkeypatch: pytest.MonkeyPatch, method: str, code: str,
            when: Callable[[dict[str, Any]], bool] = lambda kwargs: True) -> None:
    """Fault injection: the real S3 client, whose ``method`` is refused with ``code`` when
    ``when`` holds for its arguments."""
    real = sample.s3_client
    operation = "".join(part.title() for part in method.split("_"))  # head_object → HeadObject

    class Refusing:
        def __init__(self, inner: Any) -> None:
            self.inner = inner

        def __getattr__(self, name: str) -> Any:
            found = getattr(self.inner, name)
            if name != method:
                return found

            def refused(**kwargs: Any) -> Any:
                if when(kwargs):
                    raise ClientError({"Error": {"Code": code, "Message": "no"}}, operation)
                return found(**kwargs)
            return refused

    monkeypatch.setattr(sample, "s3_client", lambda profile: Refusing(real(profile)))
