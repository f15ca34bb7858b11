"""Whether a planned RDS instance or cluster, or a Redshift cluster, refuses connections without
TLS, as the AWS provider reads it live (:mod:`phigate_providers.aws.transport_rules`: the same
rules and documented defaults decide).

The database names its group (``parameter_group_name``, an RDS cluster's
``db_cluster_parameter_group_name``, a Redshift cluster's ``cluster_parameter_group_name``) by
reference or by name; the plan's ``aws_db_parameter_group`` / ``aws_rds_cluster_parameter_group``
/ ``aws_redshift_parameter_group`` of that name gives the ``parameter`` blocks. No group
configured is the engine's default group: the documented default, which for PostgreSQL depends
on ``engine_version``. Unknown (so ``error``): a group named that the plan does not hold, a
parameter value or an engine version (when the default hangs on it) known only after apply. An
engine whose TLS requirement no parameter tells (Oracle) is left out.
"""

from __future__ import annotations

from typing import Any

from phigate.api import Unknown
from phigate_providers.aws import transport_rules
from phigate_providers.terraform.context import Context
from phigate_providers.terraform.plan import PlannedResource
from phigate_providers.terraform.values import configured, expression, is_unknown, trace, value

#: Database type → (attribute naming its group, the group's type).
GROUPS = {
    "aws_db_instance": ("parameter_group_name", "aws_db_parameter_group"),
    "aws_rds_cluster": ("db_cluster_parameter_group_name", "aws_rds_cluster_parameter_group"),
    "aws_redshift_cluster": ("cluster_parameter_group_name", "aws_redshift_parameter_group"),
}
#: Types whose engine is the service itself (no ``engine`` argument).
ENGINES = {"aws_redshift_cluster": "redshift"}


def secure_transport(context: Context, planned: PlannedResource) -> tuple[Any, PlannedResource | None]:
    """``secure_transport_required`` (True, False, Unknown, or None: not decidable) and the
    planned group it was read from."""
    engine = ENGINES.get(planned.type) or value(planned, ("engine",))
    if is_unknown(engine):
        return engine, None
    rule = transport_rules.rule(engine if isinstance(engine, str) else None)
    if rule is None:
        return None, None
    group, parameters = _group(context, planned)
    if is_unknown(parameters):
        return parameters, group
    version = value(planned, ("engine_version",))
    if rule.parameter not in parameters and not isinstance(version, str) and rule.default(None) is None:
        # The default hangs on the version, which AWS picks at apply when none is set.
        return (version if is_unknown(version) else Unknown(
            f"{planned.address}: engine_version is not set and the default of {rule.parameter} "
            f"depends on it; set {rule.parameter} in its parameter group")), group
    verdict = transport_rules.decide(str(engine), version if isinstance(version, str) else None,
                                      group.address if group is not None else None, parameters)
    if verdict.required is None:
        why = verdict.evidence.get("reason", "whether it refuses plain connections is unknown")
        return Unknown(f"{planned.address}: {why}"), group
    return verdict.required, group


def _group(context: Context, planned: PlannedResource) -> tuple[PlannedResource | None, Any]:
    """The planned group and its parameters with a value ({} for a default group), or Unknown."""
    attribute, group_type = GROUPS[planned.type]
    if not configured(planned, (attribute,)):
        return None, {}  # the engine's default group
    plan = context.plan
    target = trace(plan, planned, expression(planned, (attribute,)), frozenset({group_type}))
    group = target.resource
    if group is None:
        name = target.constant if target.has_constant else value(planned, (attribute,))
        if is_unknown(name):
            return None, name
        group = next((g for g in plan.by_type.get(group_type, ()) if value(g, ("name",)) == name), None)
        if group is None:
            if isinstance(name, str) and name.startswith("default."):
                return None, {}
            return None, Unknown(f"{planned.address}: parameter group {name!r} is not in the plan")
    blocks = value(group, ("parameter",))
    if is_unknown(blocks):
        return group, blocks
    parameters: dict[str, str] = {}
    for block in blocks or ():
        found = block.get("value") if isinstance(block, dict) else None
        if isinstance(block, dict) and isinstance(block.get("name"), str) and found is not None:
            parameters[block["name"]] = str(found)
    return group, parameters


__all__ = ["GROUPS", "secure_transport"]
