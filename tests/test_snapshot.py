"""Snapshots: read in every format, written back by `collect`, refused whole when broken."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from phigate.api import CollectionError, Resource
from phigate.problems import ProblemsError
from phigate.snapshot import resource_from_json, resource_to_json
from phigate_providers.snapshot import SnapshotProvider

from .conftest import DATA, CliResult, resource

POLICIES = DATA / "policies"

BUCKET = resource("arn:aws:s3:::notes", "object_store", "aws.s3.bucket",
                  tags={"data_class": "clinical"}, attributes={"versioning": True})
DENIED = {"provider": "aws", "message": "AccessDenied", "kinds": ["object_store"],
          "resource_id": "arn:aws:s3:::exports", "permission": "s3:GetBucketPolicy"}


def _read(path: Path) -> list[Resource | CollectionError]:
    return list(SnapshotProvider([path]).collect())


@pytest.mark.parametrize("name", ["snap.json", "snap.jsonl"])
def test_json_and_json_lines_give_the_same_records(
        write_snapshot: Callable[..., Path], name: str) -> None:
    records = _read(write_snapshot([BUCKET], [DENIED], name=name))
    assert records[0] == Resource(id="arn:aws:s3:::notes", type="aws.s3.bucket", kind="object_store",
                                  provider="test", scope="acct", region="eu-west-3",
                                  tags={"data_class": "clinical"}, attributes={"versioning": True})
    assert records[1] == CollectionError(provider="aws", message="AccessDenied",
                                         kinds=("object_store",), resource_id="arn:aws:s3:::exports",
                                         permission="s3:GetBucketPolicy")


def test_yaml_and_folders_are_read(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text(
        "phigate_snapshot: 1\nresources:\n  - {id: k1, type: aws.kms.key, kind: key, provider: aws}\n")
    (tmp_path / "b.jsonl").write_text(
        '{"phigate_snapshot": 1}\n{"id": "v1", "type": "aws.ec2.volume", "kind": "volume", '
        '"provider": "aws"}\n')
    (tmp_path / "notes.txt").write_text("ignored: not a snapshot suffix")
    assert [r.id for r in _read(tmp_path) if isinstance(r, Resource)] == ["k1", "v1"]


BROKEN_LINES = [
    '{"phigate_snapshot": 1}',
    '{"id": "a", "type": "aws.s3.bucket", "kind": "object_store", "provider": "aws", '
    '"attributes": {"versioning": "yes"}}',
    '{"id": "b", "type": "aws.s3.bucket", "kind": "bucket", "provider": "aws"}',
    '{"id": "c", "type": "aws.s3.bucket", "kind": "object_store", "provider": "aws", '
    '"attributes": {"versionning": true}}',
    '{"id": "d", "id": "e"',
    '{"id": "f", "type": "t.x", "kind": "key", "provider": "aws", "id": "g"}',
    '{"error": {"provider": "aws"}}',
    '{"id": NaN}',
    '{"id": "h", "type": "t.x", "kind": "key", "provider": "aws"}',
    '{"id": "h", "type": "t.x", "kind": "key", "provider": "aws"}',
]


def test_a_broken_json_lines_snapshot_reports_every_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.jsonl"
    path.write_text("\n".join(BROKEN_LINES) + "\n")
    with pytest.raises(ProblemsError) as caught:
        _read(path)
    found = [(p.line, p.column, p.message) for p in caught.value.problems]
    expected = [
        (2, 110, "'yes' is not of type 'boolean'"),
        (3, 46, "'bucket' is not one of"),
        (4, 96, "unknown key 'versionning' (did you mean 'versioning'?)"),
        (5, 22, "invalid JSON: Expecting ',' delimiter"),
        (6, 1, "invalid JSON: duplicate key 'id'"),
        (7, 11, "'message' is required"),
        (8, 1, "invalid JSON: NaN is not valid JSON"),
        (10, 1, "duplicate resource id 'h'"),
    ]
    assert len(found) == len(expected)
    for (line, col, message), (want_line, want_col, want) in zip(found, expected, strict=True):
        assert (line, col) == (want_line, want_col)
        assert message.startswith(want)


def test_a_broken_json_document_is_located(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text(
        '{"phigate_snapshot": 1,\n "resources": [\n'
        '   {"id": "a", "type": "aws.s3.bucket", "kind": "object_store", "provider": "aws",\n'
        '    "attributes": {"encryption": {"at_rest": "yes"}}},\n'
        '   {"id": "b", "type": "aws.s3.bucket", "kind": "object_store", "provider": "aws", "colour": 1}\n'
        ' ],\n "errors": [{"provider": "aws"}]\n}\n')
    with pytest.raises(ProblemsError) as caught:
        _read(path)
    assert [str(p).split(": ", 1)[0].rsplit("/", 1)[-1] for p in caught.value.problems] == [
        "broken.json:4:46", "broken.json:5:84", "broken.json:7:13"]
    assert "/resources/0/attributes/encryption/at_rest" in str(caught.value)


def test_an_unsupported_version_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "v2.json"
    path.write_text('{"phigate_snapshot": 2, "resources": []}')
    with pytest.raises(ProblemsError, match="unsupported snapshot version 2"):
        _read(path)


def test_scan_of_a_broken_snapshot_exits_2_and_reports_nothing(
        tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    path = tmp_path / "broken.jsonl"
    path.write_text("\n".join(BROKEN_LINES[:3]) + "\n")
    result = cli("scan", str(path), "--format", "json", "--policies", str(POLICIES))
    assert result.code == 2
    assert result.out == ""
    assert "broken.jsonl:2:110" in result.err and "broken.jsonl:3:46" in result.err


def test_collect_writes_a_snapshot_that_replays_identically(
        write_snapshot: Callable[..., Path], tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    source = write_snapshot([BUCKET], [DENIED])
    for name in ("copy.jsonl", "copy.json"):
        out = tmp_path / name
        result = cli("collect", str(source), "-o", str(out), "-q")
        assert result.code == 3  # the source had a collection error: the copy says so
        assert _read(out) == _read(source)
    header = json.loads((tmp_path / "copy.jsonl").read_text().splitlines()[0])
    assert header["phigate_snapshot"] == 1 and header["tool"]["name"] == "phigate"


def test_a_file_that_is_not_a_snapshot_is_a_usage_error(
        tmp_path: Path, cli: Callable[..., CliResult]) -> None:
    path = tmp_path / "random.json"
    path.write_text('{"hello": "world"}')
    result = cli("scan", str(path), "--policies", str(POLICIES))
    assert result.code == 2
    assert "not a phigate snapshot or a Terraform plan" in result.err


@pytest.mark.parametrize("line, message", [
    ('{"id": ' + "[" * 100_000 + "]" * 100_000 + "}", "2:1: invalid JSON: nesting too deep"),
    ('{"id": "x", "type": "a.b", "kind": "volume", "provider": "p", "attributes": {"size_gb": 1e400}}',
     "inf is not of type"),
])
def test_hostile_json_lines_are_problems_not_crashes(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "hostile.jsonl"
    path.write_text('{"phigate_snapshot": 1}\n' + line + "\n")
    with pytest.raises(ProblemsError, match=message):
        _read(path)


def test_invalid_utf8_is_located_on_its_line(tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b'{"phigate_snapshot": 1}\n{"id": "caf\xe9"}\n')
    with pytest.raises(ProblemsError, match=r"latin1.jsonl:2:12: line is not valid UTF-8"):
        _read(path)


def test_values_known_only_after_apply_are_left_out_of_a_written_snapshot() -> None:
    import io

    from phigate.api import Resource, Scope, Unknown
    from phigate.snapshot import write_document

    bucket = Resource("arn:aws:s3:::notes", "aws.s3.bucket", "object_store", "aws",
                      attributes={"encryption": {"at_rest": True, "key": Unknown("unknown until apply")},
                                  "public_access": {"grants": ["x", Unknown()], "blocked": True}})
    out = io.StringIO()
    write_document([bucket], [Scope("terraform", "plan.json")], out)
    [written] = json.loads(out.getvalue())["resources"]
    assert written["attributes"] == {"encryption": {"at_rest": True}, "public_access": {"blocked": True}}


def test_a_plan_mentioning_the_snapshot_key_is_not_claimed_as_a_snapshot(tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps({"format_version": "1.2", "terraform_version": "1.9.0",
                                "planned_values": {"root_module": {"resources": [
                                    {"address": "aws_s3_bucket.b", "values": {"tags": {"phigate_snapshot": "1"}}}]}}}))
    assert not SnapshotProvider.claims(str(plan))


def test_collected_json_lines_end_with_their_record_count(tmp_path: Path) -> None:
    import io

    from phigate.api import Scope
    from phigate.snapshot import write_jsonl

    out = io.StringIO()
    records = [Resource(f"arn:aws:s3:::b{n}", "aws.s3.bucket", "object_store", "aws") for n in range(3)]
    write_jsonl(records, [Scope("aws", "1")], out)
    lines = out.getvalue().splitlines()
    assert json.loads(lines[0])["end_line"] is True
    assert json.loads(lines[-1]) == {"phigate_snapshot_end": {"records": 3}}
    path = tmp_path / "s.jsonl"
    path.write_text(out.getvalue())
    assert len(list(SnapshotProvider([path]).collect())) == 3


def test_a_record_read_back_is_the_resource_written_whether_complete_or_not() -> None:
    """A record holding every field becomes the resource without a copy; one leaving fields
    out gets their defaults. Either way the resource equals the one written, and stays frozen."""
    written = Resource("arn:aws:s3:::notes", "aws.s3.bucket", "object_store", "aws", "111122223333",
                       "eu-west-3", "notes", {"data_class": "clinical"}, None,
                       {"versioning": True}, {"Name": "notes"})
    complete = resource_from_json(json.loads(json.dumps(resource_to_json(written))))
    partial = resource_from_json({"id": written.id, "type": written.type, "kind": written.kind,
                                  "provider": "aws", "attributes": {"versioning": True}})
    assert complete == written
    assert (partial.scope, partial.tags, partial.raw, partial.region) == ("", {}, {}, None)
    assert partial.attributes == {"versioning": True}
    with pytest.raises(AttributeError):
        complete.id = "other"  # type: ignore[misc]
    assert complete.with_data_class("clinical").data_class == "clinical"
    assert complete.data_class is None
