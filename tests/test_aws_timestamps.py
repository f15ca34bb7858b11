"""Answers' timestamps: the ISO form read by the standard library, to the instant and text botocore's
own parser gives; every other form left to botocore's parser."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from botocore.utils import parse_timestamp

from phigate_providers.aws import timestamps
from phigate_providers.aws.session import Clients, Tuning, base_session
from tests.aws_server import REGION


@pytest.mark.parametrize("text", [
    "2026-12-07T23:14:00Z",
    "2026-12-07T23:14:00.1Z",
    "2026-12-07T23:14:00.123Z",
    "2026-12-07T23:14:00.123456Z",
    "2026-12-07T23:14:00+01:00",
    "2026-12-07T23:14:00.500-05:30",
    "1999-01-01T00:00:00+00:00",
])
def test_the_iso_form_gives_botocores_instant_and_text(text: str) -> None:
    ours, theirs = timestamps.parse(text), parse_timestamp(text)
    assert isinstance(ours.tzinfo, dt.timezone)  # read by the standard library
    assert ours == theirs
    assert ours.isoformat() == theirs.isoformat()
    assert ours.utcoffset() == theirs.utcoffset()


@pytest.mark.parametrize("value", [
    1603761064.881,
    1603761064,
    "1603761064.881",
    "Mon, 07 Dec 2026 23:14:00 GMT",
    "2026-12-07T23:14:00",  # no zone: botocore leaves it naive
    "2026-12-07",
    "2026-12-07T23:14:00.1234567Z",  # beyond microseconds
    "2026-12-07 23:14:00Z",
])
def test_other_forms_are_botocores_own(value: Any) -> None:
    ours, theirs = timestamps.parse(value), parse_timestamp(value)
    assert ours == theirs
    assert type(ours.tzinfo) is type(theirs.tzinfo)
    assert ours.isoformat() == theirs.isoformat()


def test_a_garbled_timestamp_fails_as_botocore_fails() -> None:
    with pytest.raises(ValueError):
        parse_timestamp("yesterday-ish")
    with pytest.raises(ValueError):
        timestamps.parse("yesterday-ish")


def test_the_providers_clients_parse_answers_with_it(aws: Any, endpoint: str) -> None:
    """An XML answer's timestamps (an EBS volume's CreateTime) read through the provider's
    clients: the same instant as a plain client reads, parsed the fast way."""
    aws("ec2").create_volume(AvailabilityZone=f"{REGION}a", Size=1)
    clients = Clients(base_session(None, REGION), Tuning())
    ours = clients.get("ec2", REGION).describe_volumes()["Volumes"][0]["CreateTime"]
    theirs = aws("ec2").describe_volumes()["Volumes"][0]["CreateTime"]
    assert isinstance(ours.tzinfo, dt.timezone) and ours == theirs
    assert ours.isoformat() == theirs.isoformat()
