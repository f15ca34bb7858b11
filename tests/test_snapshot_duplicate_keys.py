"""A key written twice in a snapshot record is refused, however the text is spaced or escaped."""

from __future__ import annotations

from pathlib import Path

import pytest

from phigate.problems import ProblemsError
from phigate_providers.snapshot import SnapshotProvider

HEADER = '{"phigate_snapshot": 1}\n'
BUCKET = '"type": "aws.s3.bucket", "kind": "object_store", "provider": "aws"'


@pytest.mark.parametrize("line", [
    '{"id": "a", "id" : "b", ' + BUCKET + '}',  # a space before the second colon
    '{"id" :"a", "id": "b", ' + BUCKET + '}',  # before the first
    '{"id":"a","id":"b",' + BUCKET + '}',
    '{"id": "a", ' + BUCKET + ', "tags": {"owner": "x:y", "owner"\t: "z"}}',
    '{"id": "a", ' + BUCKET + ', "tags": {"k\\u003a1": "v", "k\\u003a1" : "w"}}',
    '{"id": "a", ' + BUCKET + ', "tags": {"q": "x\\u0022:y", "r": "1", "r": "2"}}',  # a quote escaped
])
def test_a_key_written_twice_is_refused_with_its_line(tmp_path: Path, line: str) -> None:
    path = tmp_path / "dup.jsonl"
    path.write_text(HEADER + line + "\n")
    with pytest.raises(ProblemsError) as caught:
        list(SnapshotProvider([path]).collect())
    [problem] = caught.value.problems
    assert problem.line == 2 and "duplicate key" in problem.message


def test_a_document_with_a_key_written_twice_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "dup.json"
    path.write_text('{"phigate_snapshot": 1, "resources": [{"id": "a", "id" : "b", ' + BUCKET + '}]}')
    with pytest.raises(ProblemsError, match="duplicate key 'id'"):
        list(SnapshotProvider([path]).collect())


@pytest.mark.parametrize("line", [
    '{"id" : "a", ' + BUCKET + ', "tags": {"owner" : "x:y"}}',  # spaced, colons in values
    '{"id": "a", ' + BUCKET + ', "tags": {"k\\u003a1": "v\\u003a"}}',  # colons escaped
])
def test_spaced_or_escaped_records_without_duplicates_are_read(tmp_path: Path, line: str) -> None:
    path = tmp_path / "ok.jsonl"
    path.write_text(HEADER + line + "\n")
    [record] = list(SnapshotProvider([path]).collect())
    assert record.id == "a"  # type: ignore[union-attr]
