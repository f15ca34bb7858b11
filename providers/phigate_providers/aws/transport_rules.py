"""Which parameter makes an AWS database engine refuse connections without TLS, its documented
default, and the verdict from a group's values: shared by the live reader
(:mod:`.parameter_groups`) and the Terraform plan reader, so it imports no SDK.

Documented defaults, for a group that sets no value (by engine version):

- ``rds.force_ssl``: RDS for PostgreSQL 1 from version 15 on, 0 before; Aurora PostgreSQL 0;
  SQL Server 0.
- ``require_secure_transport``: RDS for MySQL OFF up to 8.4, ON from 9.7; MariaDB OFF up to 11.4,
  ON from 11.8 (the parameter exists from 10.5); Aurora MySQL OFF up to version 3 (MySQL 8.0),
  ON from 8.4.
- ``require_ssl`` (Redshift): false.

A version between two documented ranges, or one that cannot be read where the default hangs
on it, is undecided; so are engines whose TLS requirement is not a parameter (Oracle's TLS is an
option-group listener beside the plain one; Db2; engines not listed).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

FORCE_SSL = "rds.force_ssl"
SECURE_TRANSPORT = "require_secure_transport"
REQUIRE_SSL = "require_ssl"
_TRUE = frozenset({"1", "on", "true"})

Version = tuple[int, int]


@dataclass(frozen=True)
class Rule:
    """The parameter that makes an engine refuse plain connections, and its default."""

    parameter: str
    #: The documented default for an engine version (major, minor); None: not known.
    default: Callable[[Version | None], bool | None]


def _off(_: Version | None) -> bool | None:
    return False


def _off_until(last_off: Version, first_on: Version) -> Callable[[Version | None], bool | None]:
    """Off up to ``last_off``, on from ``first_on``; undecided between and without a version."""
    def default(version: Version | None) -> bool | None:
        if version is None or last_off < version < first_on:
            return None
        return version >= first_on
    return default


def _on_from(first_on: Version) -> Callable[[Version | None], bool | None]:
    """On from ``first_on``, off before; undecided without a version."""
    return lambda version: None if version is None else version >= first_on


#: Engines by name, or by prefix for the editions (sqlserver-ee, sqlserver-se …).
RULES: Mapping[str, Rule] = {
    "postgres": Rule(FORCE_SSL, _on_from((15, 0))),
    "aurora-postgresql": Rule(FORCE_SSL, _off),
    "mysql": Rule(SECURE_TRANSPORT, _off_until((8, 4), (9, 7))),
    "mariadb": Rule(SECURE_TRANSPORT, _off_until((11, 4), (11, 8))),
    # Aurora MySQL 2 and 3 are 5.7.mysql_aurora.2.x and 8.0.mysql_aurora.3.x; then 8.4.x.
    "aurora-mysql": Rule(SECURE_TRANSPORT, _off_until((8, 0), (8, 4))),
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


def version_of(version: str | None) -> Version | None:
    """``16.3`` → (16, 3), ``15`` → (15, 0), ``8.0.mysql_aurora.3.05.2`` → (8, 0); None when it
    does not start with a number."""
    parts = (version or "").split(".")
    if not parts[0].isdigit():
        return None
    return int(parts[0]), int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


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
        required = found.default(version_of(version))
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



__all__ = ["FORCE_SSL", "REQUIRE_SSL", "RULES", "SECURE_TRANSPORT", "Rule", "Verdict", "Version", "decide",
           "rule", "version_of"]
