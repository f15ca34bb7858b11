"""Time budgets of content sampling: an object chosen by whoever writes to a store cannot hold
the run. A spreadsheet of 5 KB naming its last cell XFD20000 costs openpyxl about 15 s of
processor time; here it is parsed in a worker process that is killed at the object's budget."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest
from openpyxl import Workbook  # type: ignore[import-untyped]

from phigate_providers.aws.sampling import sample_bucket as sample_s3
from phigate_providers.content import budget
from phigate_providers.content.detect import Detector
from phigate_providers.content.sampling import (
    ObjectInfo,
    SampleIncomplete,
    Sampler,
    SampleSettings,
    settings_from,
)

from .aws_server import REGION, client, reset
from .test_content_sampling import NOTE, bucket_resource

FAST = SampleSettings(object_seconds=2, store_seconds=4, run_seconds=60)
#: Only the object budget is short: starting a fresh worker on a busy machine may take longer
#: than FAST's store budget, which is not what the tests using it are about.
SHORT_OBJECT = SampleSettings(object_seconds=2, store_seconds=60, run_seconds=300)


@cache
def slow_xlsx() -> bytes:
    """A small workbook whose rows openpyxl pads to 16,384 columns, 20,000 times."""
    workbook = Workbook()
    sheet = workbook.active
    sheet["A1"] = "nom"
    sheet["XFD20000"] = "x"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _reader(objects: dict[str, bytes]) -> Any:
    return lambda info, limit: objects[info.key][:limit]


def _listing(objects: dict[str, bytes]) -> Iterator[ObjectInfo]:
    return iter([ObjectInfo(key, len(body)) for key, body in objects.items()])


def test_a_slow_document_is_not_scanned_and_says_why_while_the_others_are() -> None:
    objects = {"exports/slow.xlsx": slow_xlsx(), "exports/note.txt": NOTE.encode()}
    started = time.monotonic()
    result = Sampler(SHORT_OBJECT).sample_objects("s3:::mixed", _listing(objects), _reader(objects))
    assert time.monotonic() - started < 15  # the workbook alone would take about 15 s of CPU
    assert result.sampled == 1 and result.flagged == 1
    assert result.attribute()["not_scanned"] == {budget.OBJECT_TIME: 1}


def test_a_store_none_of_whose_objects_could_be_scanned_in_time_is_an_error() -> None:
    objects = {"a.xlsx": slow_xlsx()}
    with pytest.raises(SampleIncomplete, match=r"no object could be scanned \(0 unreadable, 0 skipped, "
                                               r"1 not scanned: parsing took longer than the per-object"):
        Sampler(FAST).sample_objects("s3:::slow", _listing(objects), _reader(objects))


def test_the_store_budget_bounds_many_slow_objects() -> None:
    objects = {f"{i}.xlsx": slow_xlsx() for i in range(5)}
    started = time.monotonic()
    with pytest.raises(SampleIncomplete) as raised:
        Sampler(FAST).sample_objects("s3:::slow", _listing(objects), _reader(objects))
    assert time.monotonic() - started < FAST.store_seconds + 5
    assert "the store's time budget was spent" in raised.value.message
    assert "5 not scanned" not in raised.value.message  # reasons are counted apart


def test_the_run_budget_spans_stores() -> None:
    sampler = Sampler(SampleSettings(object_seconds=2, store_seconds=60, run_seconds=2))
    slow = {"a.xlsx": slow_xlsx()}
    with pytest.raises(SampleIncomplete):
        sampler.sample_objects("s3:::first", _listing(slow), _reader(slow))
    clean = {"note.txt": NOTE.encode()}
    with pytest.raises(SampleIncomplete, match="1 not scanned: the run's time budget was spent"):
        sampler.sample_objects("s3:::second", _listing(clean), _reader(clean))


def test_a_worker_killed_over_budget_is_replaced_for_the_next_object() -> None:
    objects = {"slow.xlsx": slow_xlsx(), "z-note.txt": NOTE.encode()}
    sampler = Sampler(SHORT_OBJECT)
    for _ in range(2):  # the second store gets a fresh worker
        result = sampler.sample_objects("s3:::again", _listing(objects), _reader(objects))
        assert result.sampled == 1 and result.not_scanned[budget.OBJECT_TIME] == 1


def test_budgets_are_configurable_and_checked() -> None:
    chosen = settings_from("aws", {"object_seconds": 3, "store_seconds": 30, "run_seconds": 300})
    assert (chosen.object_seconds, chosen.store_seconds, chosen.run_seconds) == (3, 30, 300)
    with pytest.raises(Exception, match="object_seconds must be an integer of at least 1"):
        settings_from("aws", {"object_seconds": 0})


def test_a_slow_object_in_a_real_bucket_leaves_the_bucket_in_error(endpoint: str) -> None:
    reset(endpoint)
    s3 = client(endpoint, "s3")
    s3.create_bucket(Bucket="exemplum-slow", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket="exemplum-slow", Key="exports/slow.xlsx", Body=slow_xlsx())
    resource = bucket_resource("aws", "arn:aws:s3:::exemplum-slow", "exemplum-slow")
    sampled, error = sample_s3(s3, resource, Sampler(FAST))
    assert error is not None and "content_sample" not in sampled.attributes
    assert "not scanned: parsing took longer than the per-object time budget" in error.message


def test_rows_that_are_slow_to_scan_leave_the_table_in_error() -> None:
    # 200 rows of 16 KB of titles with no name after them: about 3 s of detection here.
    rows = [(f"(0,{i})", "Mme " * 4000) for i in range(200)]
    started = time.monotonic()
    with pytest.raises(SampleIncomplete, match="200 rows read, not scanned: the store's time budget"):
        Sampler(SampleSettings(store_seconds=1)).sample_rows("pg:notes", rows)
    assert time.monotonic() - started < 10


def test_text_full_of_at_signs_is_scanned_in_linear_time() -> None:
    records = ["a@" * 1000] * 2000  # 4 MB: every "@" once cost a search of its whole window
    started = time.process_time()
    scan = Detector().scan(records)
    assert time.process_time() - started < 5
    assert "EMAIL" not in scan.entities
    assert Detector().scan(["écrire à odile.bernier@example.org ou a@b"]).entities["EMAIL"] == 1
