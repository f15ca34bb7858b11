"""Which parameter makes an AWS database engine refuse connections without TLS, its documented
default, and the verdict from a group's values: shared by the live reader
(:mod:`.parameter_groups`) and the Terraform plan reader, so it imports no SDK.

Documented defaults, for a group that sets no value:

- ``rds.force_ssl``: 1 for RDS for PostgreSQL from version 15 on, 0 before; 0 for Aurora
  PostgreSQL and for SQL Server.
- ``require_secure_transport`` (MySQL, MariaDB, Aurora MySQL): OFF.
- ``require_ssl`` (Redshift): false.

Engines whose TLS requirement is not a parameter (Oracle's TLS is an option-group listener
beside the plain one; Db2; engines not listed) have no rule: undecided.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

FORCE_SSL = "rds.force_ssl"
SECURE_TRANSPORT = "require_secure_transport"
REQUIRE_SSL = "require_ssl"
_TRUE = frozenset({"1", "on", "true"})


@dataclass(frozen=True)
class Rule:
    """The parameter that makes an engine refuse plain connections, and its default."""

    parameter: str
    #: The documented default from the engine's major version (None: not known).
    default: Callable[[int | None], bool | None]


def _off(_: int | None) -> bool | None:
    return False


def _postgres(major: int | None) -> bool | None:
    return None if major is None else major >= 15


#: Engines by name, or by prefix for the editions (sqlserver-ee, sqlserver-se …).
RULES: Mapping[str, Rule] = {
    "postgres": Rule(FORCE_SSL, _postgres),
    "aurora-postgresql": Rule(FORCE_SSL, _off),
    "mysql": Rule(SECURE_TRANSPORT, _off),
    "mariadb": Rule(SECURE_TRANSPORT, _off),
    "aurora-mysql": Rule(SECURE_TRANSPORT, _off),
    "aurora": Rule(SECURE_TRANSPORT, _off),  # Aurora MySQL 1 (MySQL 5.6)
    "sqlserver-": Rule(FORCE_SSL, _off),
    "redshift": Rule(REQUIRE_SSL, _off),
}


def rule(engine: str | None) -> Rule | None:
    """The engine's rule; None for engines whose TLS requirement no parameter tells."""
    if not engine:
        return None
    return RULES.get(engine) or next((r for name, r in RULES.items()
                                      if name.endswith("-") and engine.startswith(name)), None)


def major(version: str | None) -> int | None:
    """``16.3`` → 16, ``9.6.22`` → 9; None when it does not start with a number."""
    head = (version or "").split(".", 1)[0]
    return int(head) if head.isdigit() else None


@dataclass(frozen=True)
class Verdict:
    """Whether the server refuses plain connections (None: undecided) and what said so."""

    required: bool | None
    evidence: dict[str, Any]


def decide(engine: str | None, version: str | None, group: str | None,
           parameters: Mapping[str, str], *, in_force: bool = True) -> Verdict:
    """The verdict for a server of ``engine``/``version`` running with ``group``, whose
    parameters with a value are ``parameters``; ``in_force`` is False while a change of the
    group waits to be applied."""
    found = rule(engine)
    if found is None:
        return Verdict(None, {"engine": engine,
                              "reason": "no parameter tells whether plain connections are refused"})
    value = parameters.get(found.parameter)
    evidence: dict[str, Any] = {"parameter_group": group, "parameter": found.parameter}
    if value is None:
        required = found.default(major(version))
        evidence.update(value=None, source="documented default")
        if required is None:
            evidence["reason"] = f"engine version {version!r} not understood"
    else:
        required = value.strip().lower() in _TRUE
        evidence.update(value=value, source="parameter group")
    if required and not in_force:
        evidence["reason"] = "the group's change is not applied yet (pending reboot)"
        return Verdict(None, evidence)
    return Verdict(required, evidence)



__all__ = ["FORCE_SSL", "REQUIRE_SSL", "RULES", "SECURE_TRANSPORT", "Rule", "Verdict", "decide", "major",
           "rule"]
