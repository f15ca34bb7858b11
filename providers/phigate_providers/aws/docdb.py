"""DocumentDB clusters' TLS in transit, from their cluster parameter group's ``tls`` parameter.

The RDS API lists DocumentDB clusters with the others (:mod:`.rds` reads them once). Whether
clients must use TLS is the cluster parameter group's ``tls``: ``enabled`` (and the versions
``tls1.2+``, ``tls1.3+``, ``fips-140-3``) requires it, ``disabled`` accepts connections in clear.
A default group (``default.docdb…``) has it enabled, as AWS documents, so it is decided without a
read; a group of the account's own is read once per region (:mod:`.docdb_params` reads values).
A group whose parameters cannot be read leaves the cluster without ``secure_transport_required``,
its error recorded.
"""

from __future__ import annotations

from typing import Any

from phigate_providers.aws.calls import ApiFailure, pages
from phigate_providers.aws.context import Account
from phigate_providers.aws.docdb_params import DEFAULT_GROUPS, requires_tls

ENGINE = "docdb"
CLUSTER = "aws.rds.db_cluster"
OPERATIONS = {("rds", "DescribeDBClusterParameters"): "rds:DescribeDBClusterParameters"}


class TransportByGroup:
    """``secure_transport_required`` of DocumentDB clusters of one region, each parameter group
    read at most once."""

    def __init__(self, account: Account, region: str, client: Any) -> None:
        self._account, self._region, self._client = account, region, client
        self._read: dict[str, bool | ApiFailure | None] = {}

    def required(self, cluster: dict[str, Any], arn: str) -> bool | None:
        """Whether the cluster refuses clients without TLS; None when not a DocumentDB cluster
        or not known (its error recorded)."""
        if cluster.get("Engine") != ENGINE:
            return None
        group = str(cluster.get("DBClusterParameterGroup") or "")
        if not group or group.startswith(DEFAULT_GROUPS):
            return True
        if group not in self._read:
            self._read[group] = self._tls(group)
        found = self._read[group]
        if isinstance(found, ApiFailure):
            self._account.failed(found, f"DocumentDB cluster parameter group {group} (tls)",
                                 kinds=("database",), types=(CLUSTER,), region=self._region, resource_id=arn)
            return None
        return found

    def _tls(self, group: str) -> bool | ApiFailure | None:
        try:
            for parameter in pages(self._client, "DescribeDBClusterParameters", "Parameters",
                                   DBClusterParameterGroupName=group):
                if parameter.get("ParameterName") == "tls":
                    return requires_tls(parameter.get("ParameterValue"))
        except ApiFailure as failure:
            return failure
        return True  # not listed: the engine's default, enabled


__all__ = ["OPERATIONS", "TransportByGroup"]
