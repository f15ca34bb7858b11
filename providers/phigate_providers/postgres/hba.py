"""pg_hba.conf rules: their normalised form, whether one lets a connection without TLS reach
a database, and which authentication methods may admit a connection to it.

PostgreSQL uses the first rule matching a connection's type, database, user and address. A
connection without TLS can be matched by ``host``, ``hostnossl`` and ``hostnogssenc`` rules
(``hostssl`` needs TLS; ``hostgssenc`` needs GSSAPI encryption; ``local`` is the Unix socket).
A ``reject`` rule for every user and every address of a family stops the later rules for that
family; anything narrower is not assumed to stop them.

A physical replication connection (``pg_basebackup``, a standby) streams every database of the
cluster, and only rules naming the keyword ``replication`` match it, never ``all``: "The value
replication specifies that the record matches if a physical replication connection is requested
… Note that replication connections do not specify any particular database" (PostgreSQL, "The
pg_hba.conf File"). Such a rule therefore admits every database, on a channel of its own.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from typing import Any

from phigate_providers.postgres.queries import HbaRow

PLAINTEXT_TYPES = frozenset({"host", "hostnossl", "hostnogssenc"})
_EVERY_DATABASE = frozenset({"all", "sameuser", "samerole", "samegroup"})
#: The connections a rule may match: to a database by name, or physical replication.
_ORDINARY, _REPLICATION = "database", "replication"
_BOTH_FAMILIES = frozenset({4, 6})


def rule_attributes(row: HbaRow) -> dict[str, Any]:
    return {"type": row.type, "database": list(row.databases), "user": list(row.users),
            "address": _address(row), "method": row.method}


def plaintext_admits(rules: Sequence[HbaRow], database: str) -> bool:
    """Some connection without TLS to ``database`` is first matched by a rule that is not reject."""
    refused: set[tuple[str, int]] = set()  # (purpose, address family) refused to every user so far
    for rule in rules:
        purposes = _purposes(rule, database)
        if rule.type not in PLAINTEXT_TYPES or not purposes:
            continue
        if rule.method == "reject":
            refused |= {(p, f) for p in _taken_purposes(rule, database) for f in _every_address_of(rule)}
            continue
        if {(p, f) for p in purposes for f in _families(rule)} - refused:
            return True
    return False


def non_tls_clinical_access(rules: Sequence[HbaRow], clinical: Iterable[str],
                            unknown: Iterable[str]) -> bool | None:
    """True when a plaintext rule admits a database holding clinical tables; None when it admits
    a database whose tables could not be read (its class is unknown); else False."""
    if any(plaintext_admits(rules, name) for name in clinical):
        return True
    if any(plaintext_admits(rules, name) for name in unknown):
        return None
    return False


#: The kinds of connection each rule type can match: the Unix socket, or TCP by address family
#: with TLS, without encryption, or with GSSAPI encryption.
_TRANSPORTS = {"host": ("tls", "plain", "gss"), "hostssl": ("tls",), "hostnossl": ("plain", "gss"),
               "hostgssenc": ("gss",), "hostnogssenc": ("tls", "plain")}


def auth_methods(rules: Sequence[HbaRow], database: str) -> set[str]:
    """The methods of the rules that can be the first to match some connection to ``database``
    (by the Unix socket or TCP, any user, any address). A rule for every user that covers a
    whole channel (the socket, or every address of a family) takes that channel: later rules
    never see its connections, whatever its method (``reject`` included). Anything narrower is
    not assumed to take it."""
    found: set[str] = set()
    taken: set[tuple[str, str, int]] = set()
    for rule in rules:
        purposes = _purposes(rule, database)
        if not purposes:
            continue
        if rule.type == "local":
            routes, whole = {("local", 0)}, {("local", 0)}
        else:
            transports = _TRANSPORTS.get(rule.type, ("tls", "plain", "gss"))
            routes = {(t, family) for t in transports for family in _families(rule)}
            whole = {(t, family) for t in transports for family in _every_address_of(rule)}
        if {(p, *r) for p in purposes for r in routes} - taken and rule.method != "reject":
            found.add(rule.method or "")
        taken |= {(p, *r) for p in _taken_purposes(rule, database) for r in whole}
    return found


def clinical_auth_methods(rules: Sequence[HbaRow], clinical: Iterable[str], unknown: Iterable[str],
                          unlisted: bool = False) -> list[str] | None:
    """The methods that may admit a connection to a database holding clinical tables, sorted.
    None when a database whose tables could not be read (``unknown``), or one never listed
    (``unlisted``), may be reached by a method the clinical ones are not: whether that method
    admits clinical data is then unknown."""
    methods: set[str] = set().union(*(auth_methods(rules, name) for name in clinical))
    others: set[str] = set().union(*(auth_methods(rules, name) for name in unknown))
    if unlisted:
        others |= {r.method or "" for r in rules if r.method != "reject"}
    return None if others - methods else sorted(methods)


def _purposes(rule: HbaRow, database: str) -> frozenset[str]:
    """The connections to ``database`` the rule may match: ordinary ones, physical replication."""
    ordinary = _names_database([t for t in rule.databases if t != "replication"], database)
    return frozenset({_ORDINARY} if ordinary else set()) | (
        {_REPLICATION} if "replication" in rule.databases else set())


def _taken_purposes(rule: HbaRow, database: str) -> frozenset[str]:
    """The connections to ``database`` the rule matches whoever connects (later rules never see
    them on its addresses). Keywords such as sameuser, patterns and files match only some."""
    if "all" not in rule.users:
        return frozenset()
    return frozenset({_ORDINARY} if {"all", database} & set(rule.databases) else set()) | (
        {_REPLICATION} if "replication" in rule.databases else set())


def _names_database(tokens: Sequence[str], database: str) -> bool:
    for token in tokens:
        if token in _EVERY_DATABASE or token.startswith("@"):
            return True  # keywords and included files can name any database
        if token.startswith("/"):  # a regular expression (PostgreSQL 16 and later)
            try:
                if re.search(token[1:], database):
                    return True
            except re.error:
                return True
        elif token == database:
            return True
    return False


def _network(row: HbaRow) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    if row.address is None:
        return None
    try:
        text = f"{row.address}/{row.netmask}" if row.netmask else row.address
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None  # a host name or a keyword (all, samehost, samenet)


def _families(row: HbaRow) -> frozenset[int]:
    network = _network(row)
    return frozenset({network.version}) if network is not None else _BOTH_FAMILIES


def _every_address_of(row: HbaRow) -> frozenset[int]:
    if row.address == "all":
        return _BOTH_FAMILIES
    network = _network(row)
    return frozenset({network.version}) if network is not None and network.prefixlen == 0 else frozenset()


def _address(row: HbaRow) -> str | None:
    network = _network(row)
    return str(network) if network is not None else row.address
