"""Whether RDS, Aurora and Redshift servers refuse connections without TLS, from their
parameter groups.

The setting is one parameter of the group the server runs with: ``rds.force_ssl`` (RDS and
Aurora PostgreSQL, RDS for SQL Server), ``require_secure_transport`` (RDS for MySQL and MariaDB,
Aurora MySQL), ``require_ssl`` (Redshift). Aurora reads it from the cluster's parameter group,
so a cluster's members take the cluster's answer.

A group lists its parameters with the value in force when one is set (by the user, or by the
system in a default group); a parameter listed without a value, or not listed at all (an
emulator's default group lists nothing), has the engine's documented default
(:mod:`.transport_rules`). Undecided (left out, so policies needing it report ``error``): an
engine no parameter tells about (Oracle), an engine version the default hangs on that cannot be
read or falls between documented ranges, and a group that requires TLS while its change waits
for a reboot (the server may still run without it). A group that cannot be read is recorded as
the database's collection error.

Each group is read once per region and run (:class:`GroupReader`), whatever number of
servers use it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from phigate.api import CollectionError
from phigate_providers.aws import docdb
from phigate_providers.aws.calls import ApiFailure, pages
from phigate_providers.aws.context import PROVIDER, Account
from phigate_providers.aws.transport_rules import Verdict, decide, rule

OPERATIONS = {
    ("rds", "DescribeDBParameters"): "rds:DescribeDBParameters",
    ("rds", "DescribeDBClusterParameters"): "rds:DescribeDBClusterParameters",
}
REDSHIFT_OPERATIONS = {("redshift", "DescribeClusterParameters"): "redshift:DescribeClusterParameters"}

_IN_FORCE = frozenset({"in-sync"})
_NOT_FOUND = frozenset({"DBParameterGroupNotFound", "DBParameterGroupNotFoundFault",
                        "ClusterParameterGroupNotFound", "ClusterParameterGroupNotFoundFault"})


@dataclass
class GroupReader:
    """Parameter groups of one region, each read once: ``operation`` lists a group's
    parameters (``name_param`` names it); a failed read is kept and raised again for every
    server of that group."""

    client: Any
    operation: str
    name_param: str
    _read: dict[str, dict[str, str] | ApiFailure] = field(default_factory=dict)

    def parameters(self, group: str) -> dict[str, str]:
        """The group's parameters that carry a value. Raises ApiFailure."""
        if group not in self._read:
            try:
                self._read[group] = _valued(pages(self.client, self.operation, "Parameters",
                                                  **{self.name_param: group}))
            except ApiFailure as failure:
                # A default group holds the engine's defaults by definition: one the service
                # does not describe (an emulator's) leaves them to the documented defaults.
                default = group.startswith("default.") and failure.code in _NOT_FOUND
                self._read[group] = {} if default else failure
        found = self._read[group]
        if isinstance(found, ApiFailure):
            raise found
        return found


def _valued(parameters: Iterable[Mapping[str, Any]]) -> dict[str, str]:
    return {str(p["ParameterName"]): str(p["ParameterValue"]) for p in parameters
            if p.get("ParameterName") and p.get("ParameterValue") is not None}


class RdsTransport:
    """Verdicts for the RDS instances and clusters of one region: clusters first (their
    members take their verdict), each group read once. A group that cannot be read is an
    error naming every server that runs with it."""

    def __init__(self, account: Account, region: str, client: Any) -> None:
        self.account, self.region = account, region
        self.instances = GroupReader(client, "DescribeDBParameters", "DBParameterGroupName")
        self.clusters = GroupReader(client, "DescribeDBClusterParameters", "DBClusterParameterGroupName")
        self._by_cluster: dict[str, Verdict | None] = {}
        self.documentdb = docdb.TransportByGroup(account, region, client)

    def cluster(self, item: Mapping[str, Any], arn: str, rtype: str) -> Verdict | None:
        group = item.get("DBClusterParameterGroup")
        if item.get("Engine") == docdb.ENGINE:
            # DocumentDB's own parameter (tls), its members taking the cluster's answer too.
            required = self.documentdb.required(dict(item), arn)
            documented = Verdict(required, {"engine": docdb.ENGINE, "parameter": "tls", "group": group})
            self._by_cluster[str(item.get("DBClusterIdentifier"))] = None if required is None else documented
            return documented
        # Each member runs with the cluster's group once its own status says the group is applied.
        statuses = {m.get("DBClusterParameterGroupStatus") for m in item.get("DBClusterMembers") or ()}
        verdict = self._verdict(item, self.clusters, str(group) if group else None,
                                in_force=statuses - {None} <= _IN_FORCE, arn=arn, rtype=rtype,
                                what="DB cluster parameter group")
        self._by_cluster[str(item.get("DBClusterIdentifier"))] = verdict
        return verdict

    def instance(self, item: Mapping[str, Any], arn: str, rtype: str) -> Verdict | None:
        member_of = item.get("DBClusterIdentifier")
        if member_of:
            # A cluster's verdict, else why there is none: not listed, or its group unread.
            cluster = str(member_of)
            if cluster not in self._by_cluster:
                self._undecided(arn, rtype, f"its cluster {cluster} was not listed")
                return None
            verdict = self._by_cluster[cluster]
            if verdict is None:
                self._undecided(arn, rtype, f"the parameter group of its cluster {cluster} was not read")
            return verdict
        groups = item.get("DBParameterGroups") or [{}]
        group = groups[0].get("DBParameterGroupName")
        in_force = groups[0].get("ParameterApplyStatus", "in-sync") in _IN_FORCE
        return self._verdict(item, self.instances, str(group) if group else None, in_force=in_force, arn=arn,
                             rtype=rtype, what="DB parameter group")

    def _verdict(self, item: Mapping[str, Any], reader: GroupReader, group: str | None, *, in_force: bool,
                 arn: str, rtype: str, what: str) -> Verdict | None:
        engine, version = item.get("Engine"), item.get("EngineVersion")
        if rule(engine) is None:
            return decide(engine, version, group, {})  # undecided whatever the group says
        if group is None:
            self._undecided(arn, rtype, f"names no {what}")
            return None
        try:
            parameters = reader.parameters(group)
        except ApiFailure as failure:
            self.account.failed(failure, f"RDS {what} {group} of {arn}", kinds=("database",), types=(rtype,),
                                region=self.region, resource_id=arn)
            return None
        return decide(engine, version, group, parameters, in_force=in_force)

    def _undecided(self, arn: str, rtype: str, why: str) -> None:
        self.account.errors.append(CollectionError(
            provider=PROVIDER, message=f"{arn}: whether it refuses connections without TLS is unknown: {why}",
            scope=self.account.account_id, region=self.region, kinds=("database",), types=(rtype,),
            resource_id=arn))


def redshift_verdict(account: Account, region: str, reader: GroupReader, item: Mapping[str, Any], *,
                     arn: str, rtype: str) -> Verdict | None:
    """A Redshift cluster's verdict from its (first) cluster parameter group."""
    groups = item.get("ClusterParameterGroups") or [{}]
    group = groups[0].get("ParameterGroupName")
    if not group:
        return None
    try:
        parameters = reader.parameters(str(group))
    except ApiFailure as failure:
        account.failed(failure, f"Redshift parameter group {group} of {arn}", kinds=("database",),
                       types=(rtype,), region=region, resource_id=arn)
        return None
    in_force = groups[0].get("ParameterApplyStatus", "in-sync") in _IN_FORCE
    return decide("redshift", None, str(group), parameters, in_force=in_force)


def redshift_reader(client: Any) -> GroupReader:
    return GroupReader(client, "DescribeClusterParameters", "ParameterGroupName")


def with_verdict(attributes: dict[str, Any], raw: dict[str, Any], verdict: Verdict | None) -> None:
    """``secure_transport_required`` when decided (left out otherwise), and its evidence in raw."""
    if verdict is None:
        return
    raw["secure_transport"] = verdict.evidence
    if verdict.required is not None:
        attributes["secure_transport_required"] = verdict.required


__all__ = ["OPERATIONS", "REDSHIFT_OPERATIONS", "GroupReader", "RdsTransport", "redshift_reader",
           "redshift_verdict", "with_verdict"]
