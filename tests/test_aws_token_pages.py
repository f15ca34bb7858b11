"""Listings the SDK has no paginator for, paged by ``NextToken`` through one helper: every page
is read, and a token handed back twice is a failure (the listing would never end), never a
silent end that reads as fewer stores. The answers are stubbed: the fault is the point."""

from __future__ import annotations

import boto3
import pytest
from botocore.stub import Stubber

from phigate_providers.aws.calls import ApiFailure, token_pages


def athena_client() -> object:
    return boto3.client("athena", region_name="eu-west-3", aws_access_key_id="testing",
                        aws_secret_access_key="testing")


def test_every_page_is_read() -> None:
    client = athena_client()
    with Stubber(client) as stub:
        stub.add_response("list_work_groups", {"WorkGroups": [{"Name": "a"}], "NextToken": "t1"}, {})
        stub.add_response("list_work_groups", {"WorkGroups": [{"Name": "b"}]}, {"NextToken": "t1"})
        names = [g["Name"] for g in token_pages(client, "ListWorkGroups", "WorkGroups")]
    assert names == ["a", "b"]


def test_a_repeated_token_is_a_failure_not_an_end() -> None:
    client = athena_client()
    with Stubber(client) as stub:
        stub.add_response("list_work_groups", {"WorkGroups": [{"Name": "a"}], "NextToken": "t1"}, {})
        stub.add_response("list_work_groups", {"WorkGroups": [{"Name": "b"}], "NextToken": "t1"},
                          {"NextToken": "t1"})
        with pytest.raises(ApiFailure) as failure:
            list(token_pages(client, "ListWorkGroups", "WorkGroups"))
    assert failure.value.permission == "athena:ListWorkGroups"
