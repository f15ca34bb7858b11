"""DynamoDB table exports to S3: a table's items copied, as DynamoDB JSON or Ion files, into a bucket.

As for RDS snapshot exports (:mod:`.rds_exports`, whose shapes it shares), the bucket an export
lands in holds the table's items: it names the table exported and carries its tags under its own
and, given the run's classifier, its class when stricter (:mod:`.copies`).

Exports are listed per region (``dynamodb:ListExports``, every export whatever its status: a
failed one may have written part of the table) and each is described once
(``dynamodb:DescribeExport``: the bucket is not in the listing). A region whose exports, or an
export whose description, cannot be read leaves the class of every bucket undecided.
"""

from __future__ import annotations

from typing import Any

from phigate_providers.aws.calls import call, token_pages
from phigate_providers.aws.context import Account
from phigate_providers.aws.rds_exports import Exports

OPERATIONS = {
    ("dynamodb", "ListExports"): "dynamodb:ListExports",
    ("dynamodb", "DescribeExport"): "dynamodb:DescribeExport",
}


def list_region(account: Account, region: str) -> Exports:
    """The exports of ``region``'s tables, by bucket. Raises ApiFailure when they, or one of
    them, cannot be read."""
    client = account.client("dynamodb", region)
    found: Exports = {}
    for arn in _export_arns(client):
        response = call(client, "DescribeExport", ExportArn=arn)
        description = (response or {}).get("ExportDescription") or {}
        bucket, table = description.get("S3Bucket"), description.get("TableArn")
        if bucket and table and str(table) not in found.get(str(bucket), []):
            found.setdefault(str(bucket), []).append(str(table))
    return found


def _export_arns(client: Any) -> list[str]:
    """Every export's ARN (``ListExports`` pages by ``NextToken``; botocore has no paginator)."""
    return [str(e["ExportArn"]) for e in token_pages(client, "ListExports", "ExportSummaries")
            if e.get("ExportArn")]


__all__ = ["OPERATIONS", "list_region"]
