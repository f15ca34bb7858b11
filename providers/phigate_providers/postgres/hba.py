"""pg_hba.conf rules: their normalised form, whether one lets a connection without TLS reach
a database, and which authentication methods may admit a connection to it.

PostgreSQL uses the first rule matching a connection's type, database, user and address. A
connection without TLS can be matched by ``host``, ``hostnossl`` and ``hostnogssenc`` rules
(``hostssl`` needs TLS; ``hostgssenc`` needs GSSAPI encryption; ``local`` is the Unix socket).
A ``reject`` rule for every user and every address of a family stops the later rules for that
family; anything narrower is not assumed to stop them.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Sequence
from typing import Any

from phigate_providers.postgres.queries import HbaRow

PLAINTEXT_TYPES = frozenset({"host", "hostnossl", "hostnogssenc"})
_EVERY_DATABASE = frozenset({"all", "sameuser", "samerole", "samegroup"})
_BOTH_FAMILIES = frozenset({4, 6})


def rule_attributes(row: HbaRow) -> dict[str, Any]:
    return {"type": row.type, "database": list(row.databases), "user": list(row.users),
            "address": _address(row), "method": row.method}


def plaintext_admits(rules: Sequence[HbaRow], database: str) -> bool:
    """Some connection without TLS to ``database`` is first matched by a rule that is not reject."""
    refused: set[int] = set()  # address families refused to every user of this database so far
    for rule in rules:
        if rule.type not in PLAINTEXT_TYPES or not _names_database(rule.databases, database):
            continue
        if rule.method == "reject":
            if "all" in rule.users:
                refused |= _every_address_of(rule)
            continue
        if _families(rule) - refused:
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
    taken: set[tuple[str, int]] = set()
    for rule in rules:
        if not _names_database(rule.databases, database):
            continue
        if rule.type == "local":
            channels, whole = {("local", 0)}, {("local", 0)}
        else:
            transports = _TRANSPORTS.get(rule.type, ("tls", "plain", "gss"))
            channels = {(t, family) for t in transports for family in _families(rule)}
            whole = {(t, family) for t in transports for family in _every_address_of(rule)}
        if channels - taken and rule.method != "reject":
            found.add(rule.method or "")
        if "all" in rule.users and ({"all", database} & set(rule.databases)):
            taken |= whole  # keywords such as sameuser, patterns and files match only some
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
