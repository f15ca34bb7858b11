"""Progress while collecting: resources per source, with the number of sources when known."""

from __future__ import annotations

from collections.abc import Mapping

from phigate.api import Resource, Scope
from phigate.config import Config
from phigate.load import bundled_pack, load_policies
from phigate.run import scan
from phigate.terminal import Status
from phigate.testing import RecordsProvider


class TwoAccounts(RecordsProvider):
    def scopes(self) -> list[Scope]:
        return [Scope("aws", "111122223333"), Scope("aws", "444455556666"), Scope("aws", "777788889999")]


def bucket(account: str, number: int) -> Resource:
    return Resource(f"arn:aws:s3:::b-{account}-{number}", "aws.s3.bucket", "object_store", "aws", account,
                    "eu-west-3", f"b-{number}", {})


class Recorder:
    """What a terminal status line is asked to show (the terminal itself is not under test)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def update(self, text: str) -> None:
        self.lines.append(text)


def test_the_run_counts_resources_per_source_against_the_sources_it_will_read() -> None:
    records = [bucket("111122223333", n) for n in range(1500)] + [bucket("444455556666", 0)]
    told: list[tuple[int, dict[str, int], int]] = []

    def progress(resources: int, by_source: Mapping[str, int], sources: int) -> None:
        told.append((resources, dict(by_source), sources))

    result = scan([TwoAccounts(records)], load_policies([bundled_pack()]), Config(), progress=progress)
    assert result.resources_seen == 1501
    # Told when each source starts and every 1,000 resources, never once a record.
    assert told == [(1, {"aws 111122223333": 1}, 3),
                    (1000, {"aws 111122223333": 1000}, 3),
                    (1501, {"aws 111122223333": 1500, "aws 444455556666": 1}, 3)]


def test_the_status_line_names_the_sources_being_read_and_what_providers_say() -> None:
    shown = Recorder()
    status = Status(shown)
    status(1000, {"aws 111122223333": 1000}, 3)
    status.say("aws 111122223333: 250 API calls…")
    status(12345, {"aws 111122223333": 9800, "postgres postgres://pg-01:5432": 2545}, 3)
    assert shown.lines[0] == "collected 1,000 resources (aws 111122223333: 1,000), 1 of 3 sources started"
    assert shown.lines[-1] == ("collected 12,345 resources (aws 111122223333: 9,800 · postgres "
                               "postgres://pg-01:5432: 2,545), 2 of 3 sources started · "
                               "aws 111122223333: 250 API calls…")


def test_names_from_the_estate_reach_the_status_line_as_text_never_as_markup() -> None:
    shown = Recorder()
    Status(shown)(1, {"gcp [bold]x\x1b[2J": 1})
    assert shown.lines == ["collected 1 resources (gcp \\[bold]x\\x1b[2J: 1)"]


