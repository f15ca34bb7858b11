"""moto's server as the AWS tests run it: an account with a handful of regions enabled.

moto answers ``DescribeRegions`` with every region of every partition, opted in or not, whatever
``AllRegions`` asks, so each scan would read some forty regions, most of them empty. A real
account lists only the regions enabled for it; the tests' account has enabled the ones they use
(and no more), so a scan reads what an account like it would. Run as ``python moto_main.py -H HOST
-p PORT``, with moto's own arguments. ``MOTO_EVERY_REGION=true`` keeps moto's whole region table
(the benchmarks' accounts, read as before), with AWS's answers kept below.
"""

from __future__ import annotations

import os

from moto.server import main

#: The regions the tests' account has enabled: the estate's own, the other regions tests place
#: stores in, and one outside the EEA for residency.
ENABLED_REGIONS = frozenset({"eu-west-3", "eu-west-1", "eu-west-2", "eu-central-1", "us-east-1"})


def enable_only(regions: frozenset[str]) -> None:
    """Narrow moto's region table. Where a moto release keeps it elsewhere, every region stays
    listed: the tests hold all the same, only slower."""
    try:
        from moto.ec2.models.availability_zones_and_regions import RegionsAndZonesBackend
    except ImportError:
        return
    listed = getattr(RegionsAndZonesBackend, "regions", None)
    if isinstance(listed, list):
        RegionsAndZonesBackend.regions = [r for r in listed if getattr(r, "name", None) in regions]


def list_every_export() -> None:
    """moto answers ``ListExports`` (DynamoDB) only for the table ``TableArn`` names, and fails
    without one; AWS lists every export of the region then, as answered here."""
    try:
        from moto.dynamodb.models import DynamoDBBackend
        from moto.dynamodb.responses import DynamoHandler
    except ImportError:
        return
    listed, answered = DynamoDBBackend.list_exports, DynamoHandler.list_exports

    def list_exports(self: DynamoDBBackend, table_arn: str | None) -> list[object]:
        if table_arn is None:
            return list(self.table_exports.values())
        return listed(self, table_arn)

    def answer(self: DynamoHandler) -> object:
        self.body.setdefault("TableArn", None)
        return answered(self)

    DynamoDBBackend.list_exports = list_exports  # type: ignore[method-assign]
    DynamoHandler.list_exports = answer  # type: ignore[method-assign]


if os.environ.get("MOTO_EVERY_REGION", "").lower() != "true":
    enable_only(ENABLED_REGIONS)
list_every_export()

if __name__ == "__main__":
    main()
