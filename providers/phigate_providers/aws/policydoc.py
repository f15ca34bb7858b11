"""IAM policy documents (identity, resource and trust policies): the model, parsed and normalised.

:func:`parse_policy` accepts what AWS APIs return: a decoded document, its JSON text, or that text
URL-encoded (IAM returns RFC 3986 encoded documents from most calls). It tolerates the shapes the
policy grammar allows (a single string or a list for Action, Resource and Principal,
``"Principal": "*"``, Statement as one object, no Version) and refuses everything else with a
:class:`PolicySyntaxError` that names the statement and element at fault: a document read wrong
must never be analysed as if it said something else.

This module holds what every analysis shares: the parsed model (:class:`PolicyDocument`,
:class:`Statement`), the ``access_policy`` kind's normalised statements, full administrative rights
(:func:`is_full_admin`) and how a principal is matched (:func:`principal_key`). The questions asked
of a document live beside it, one module each, so that each stays readable on its own:
:mod:`~phigate_providers.aws.conditions` (static evaluation of Condition blocks),
:mod:`~phigate_providers.aws.trust` (who may assume a role) and
:mod:`~phigate_providers.aws.resource_policy` (grants to everyone, the Deny of plain HTTP).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import unquote, unquote_plus

from phigate_providers.aws.arn import action_matches

#: Versions of the policy language. Policy variables (``${aws:username}``) exist only in the newer.
VERSIONS = ("2012-10-17", "2008-10-17")
_DOCUMENT_KEYS = frozenset({"Version", "Id", "Statement"})
_STATEMENT_KEYS = frozenset(
    {
        "Sid",
        "Effect",
        "Principal",
        "NotPrincipal",
        "Action",
        "NotAction",
        "Resource",
        "NotResource",
        "Condition",
    }
)
_EVERY_ACTION = re.compile(r"\*+(:\*+)?")
_EVERY_ARN = re.compile(r"\*+|arn(:\*+){1,5}")  # an ARN has at least five colons
_ACCOUNT_ID = re.compile(r"\d{12}")


class PolicySyntaxError(ValueError):
    """A policy document that is not valid IAM policy grammar; the message says where and why."""


Principals = Mapping[str, tuple[str, ...]]


@dataclass(frozen=True)
class Statement:
    """One statement, normalised.

    - ``effect``: ``'Allow'`` or ``'Deny'``.
    - ``actions`` / ``not_actions``: exactly one is a tuple (possibly empty), the other None.
    - ``resources`` / ``not_resources``: at most one is a tuple; both None when the statement has
      neither (trust policies; a resource policy's statement then applies to its own resource).
    - ``principals`` / ``not_principals``: ``{'AWS': (...), 'Service': (...), 'Federated': (...),
      'CanonicalUser': (...)}``; ``"Principal": "*"`` becomes ``{'*': ('*',)}``. None when absent
      (identity policies).
    - ``conditions``: the Condition block as written (operator → key → value or list of values).
    - ``sid``: the Sid, None when absent.
    """

    effect: Literal["Allow", "Deny"]
    actions: tuple[str, ...] | None = None
    not_actions: tuple[str, ...] | None = None
    resources: tuple[str, ...] | None = None
    not_resources: tuple[str, ...] | None = None
    principals: Principals | None = field(default=None, hash=False)
    not_principals: Principals | None = field(default=None, hash=False)
    conditions: Mapping[str, Mapping[str, Any]] = field(default_factory=dict, hash=False)
    sid: str | None = None

    @property
    def conditional(self) -> bool:
        """The statement has a Condition block (it applies only to some requests)."""
        return bool(self.conditions)

    def covers_action(self, action: str) -> bool:
        """The statement's Action (or NotAction) element applies to ``action`` (case-insensitive)."""
        if self.actions is not None:
            return any(action_matches(pattern, action) for pattern in self.actions)
        return not any(action_matches(pattern, action) for pattern in self.not_actions or ())

    def names_everyone(self) -> bool:
        """Principal is ``*`` or ``{'AWS': '*'}`` (everyone, anonymous requesters included)."""
        return principals_name_everyone(self.principals)


def principals_name_everyone(principals: Principals | None) -> bool:
    """A Principal element naming everyone: ``*`` or ``{'AWS': '*'}``."""
    if not principals:
        return False
    return "*" in principals or "*" in principals.get("AWS", ())


@dataclass(frozen=True)
class PolicyDocument:
    """A parsed policy: its statements, its Version and Id when given, and a label for reports.

    ``name`` is not part of the policy language: the caller sets it (a policy ARN, ``inline
    policy read on role/app``, ``bucket policy of notes``) so that undecided conditions can say
    which policy they come from.
    """

    statements: tuple[Statement, ...]
    version: str | None = None
    id: str | None = None
    name: str | None = None

    @property
    def substitutes_variables(self) -> bool:
        """``${…}`` policy variables are resolved at request time (Version 2012-10-17 only)."""
        return self.version == "2012-10-17"


def parse_policy(document: str | Mapping[str, Any], *, name: str | None = None) -> PolicyDocument:
    """Parse a policy document (decoded, JSON text, or URL-encoded JSON text).

    An empty document (``{}`` or an empty string) is a policy without statements; anything else
    must follow the policy grammar. Raises :class:`PolicySyntaxError` naming what is wrong.
    """
    where = f"policy {name!r}" if name else "policy"
    data = _decode(document, where) if isinstance(document, str) else document
    if not isinstance(data, Mapping):
        raise PolicySyntaxError(f"{where}: the document must be a JSON object, not {_kind(data)}")
    if not data:
        return PolicyDocument(statements=(), name=name)
    unknown = sorted(set(data) - _DOCUMENT_KEYS)
    if unknown:
        raise PolicySyntaxError(f"{where}: unknown top-level element(s) {', '.join(map(repr, unknown))}")
    version = data.get("Version")
    if version is not None and version not in VERSIONS:
        raise PolicySyntaxError(f"{where}: Version must be one of {', '.join(VERSIONS)}, not {version!r}")
    policy_id = data.get("Id")
    if policy_id is not None and not isinstance(policy_id, str):
        raise PolicySyntaxError(f"{where}: Id must be a string, not {_kind(policy_id)}")
    if "Statement" not in data:
        raise PolicySyntaxError(f"{where}: the document has no Statement")
    raw_statements = data["Statement"]
    if isinstance(raw_statements, Mapping):
        raw_statements = [raw_statements]
    if not isinstance(raw_statements, list):
        raise PolicySyntaxError(
            f"{where}: Statement must be an object or a list, not {_kind(raw_statements)}"
        )
    statements = tuple(
        _statement(raw, f"{where}: Statement[{index}]") for index, raw in enumerate(raw_statements)
    )
    return PolicyDocument(statements=statements, version=version, id=policy_id, name=name)


def _decode(text: str, where: str) -> Any:
    stripped = text.strip()
    if not stripped:
        return {}
    candidates = [stripped]
    if not stripped.startswith("{") and "%" in stripped:
        # URL-encoded JSON; '+' for a space only in form encoding, which is tried last.
        candidates = [unquote(stripped), unquote_plus(stripped)]
    error: json.JSONDecodeError | None = None
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except json.JSONDecodeError as exc:
            error = error or exc
    assert error is not None
    raise PolicySyntaxError(
        f"{where}: not valid JSON ({error.msg} at line {error.lineno} column {error.colno})"
    )


def _statement(raw: Any, where: str) -> Statement:
    if not isinstance(raw, Mapping):
        raise PolicySyntaxError(f"{where}: a statement must be an object, not {_kind(raw)}")
    unknown = sorted(set(raw) - _STATEMENT_KEYS)
    if unknown:
        raise PolicySyntaxError(f"{where}: unknown element(s) {', '.join(map(repr, unknown))}")
    sid = raw.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise PolicySyntaxError(f"{where}: Sid must be a string, not {_kind(sid)}")
    if sid:
        where = f"{where} (Sid {sid!r})"
    effect = raw.get("Effect")
    if effect not in ("Allow", "Deny"):
        raise PolicySyntaxError(f"{where}: Effect must be 'Allow' or 'Deny', not {effect!r}")
    actions, not_actions = _pair(raw, "Action", "NotAction", where, required=True)
    resources, not_resources = _pair(raw, "Resource", "NotResource", where, required=False)
    if "Principal" in raw and "NotPrincipal" in raw:
        raise PolicySyntaxError(f"{where}: has both Principal and NotPrincipal")
    principals = _principals(raw["Principal"], f"{where}: Principal") if "Principal" in raw else None
    not_principals = (
        _principals(raw["NotPrincipal"], f"{where}: NotPrincipal") if "NotPrincipal" in raw else None
    )
    conditions = _conditions(raw.get("Condition", {}), f"{where}: Condition")
    return Statement(
        effect=effect,
        actions=actions,
        not_actions=not_actions,
        resources=resources,
        not_resources=not_resources,
        principals=principals,
        not_principals=not_principals,
        conditions=conditions,
        sid=sid or None,
    )


def _pair(
    raw: Mapping[str, Any], positive: str, negative: str, where: str, required: bool
) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
    if positive in raw and negative in raw:
        raise PolicySyntaxError(f"{where}: has both {positive} and {negative}")
    if positive in raw:
        return _strings(raw[positive], f"{where}: {positive}"), None
    if negative in raw:
        return None, _strings(raw[negative], f"{where}: {negative}")
    if required:
        raise PolicySyntaxError(f"{where}: has neither {positive} nor {negative}")
    return None, None


def _strings(value: Any, where: str) -> tuple[str, ...]:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        raise PolicySyntaxError(f"{where} must be a string or a list of strings, not {_kind(value)}")
    return tuple(items)


def _principals(value: Any, where: str) -> Principals:
    if value == "*":
        return {"*": ("*",)}
    if not isinstance(value, Mapping):
        raise PolicySyntaxError(f"{where} must be '*' or an object such as {{'AWS': [...]}}, not {value!r}")
    return {str(kind): _strings(names, f"{where}.{kind}") for kind, names in value.items()}


def _conditions(value: Any, where: str) -> Mapping[str, Mapping[str, Any]]:
    if not isinstance(value, Mapping):
        raise PolicySyntaxError(f"{where} must be an object, not {_kind(value)}")
    for operator, block in value.items():
        if not isinstance(block, Mapping) or not block:
            raise PolicySyntaxError(f"{where}.{operator} must be a non-empty object of condition keys")
        for key, operand in block.items():
            values = operand if isinstance(operand, list) else [operand]
            if not values or not all(isinstance(v, str | bool | int | float) for v in values):
                raise PolicySyntaxError(
                    f"{where}.{operator}.{key} must be a value or a non-empty list of values"
                )
    return value


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), type(value).__name__
    )


def normalised_statements(document: PolicyDocument) -> list[dict[str, Any]]:
    """The ``access_policy`` kind's ``statements``: effect, the action and resource lists the
    statement has (``actions`` or ``not_actions``, ``resources`` or ``not_resources``), conditional."""
    out: list[dict[str, Any]] = []
    for statement in document.statements:
        entry: dict[str, Any] = {"effect": statement.effect}
        for key in ("actions", "not_actions", "resources", "not_resources"):
            values = getattr(statement, key)
            if values is not None:
                entry[key] = list(values)
        entry["conditional"] = statement.conditional
        out.append(entry)
    return out


def is_full_admin(document: PolicyDocument) -> bool:
    """Some unconditional Allow grants every action on every resource.

    Every action: an Action pattern made only of wildcards (``*``, ``*:*``) or an empty NotAction.
    Every resource: a Resource pattern that matches any ARN (``*``, ``arn:*``, ``arn:*:*:*:*:*``),
    an empty NotResource, or no resource element at all.
    """
    for statement in document.statements:
        if statement.effect != "Allow" or statement.conditional:
            continue
        every_action = (
            statement.not_actions == ()
            if statement.actions is None
            else any(_EVERY_ACTION.fullmatch(a) for a in statement.actions)
        )
        if statement.resources is not None:
            every_resource = any(_EVERY_ARN.fullmatch(r) for r in statement.resources)
        else:
            every_resource = not statement.not_resources
        if every_action and every_resource:
            return True
    return False


# --- principals ---------------------------------------------------------------------------------------


def principal_key(principal: str) -> tuple[str, ...]:
    """How a resource policy's AWS principal is matched: an account, a role, a role session or an ARN."""
    if _ACCOUNT_ID.fullmatch(principal):
        return ("account", principal)
    parts = principal.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn":
        service, account, resource = parts[2], parts[4], parts[5]
        if service == "iam" and resource == "root":
            return ("account", account)
        if service == "iam" and resource.startswith("role/"):
            return ("role", account, resource.rsplit("/", 1)[-1])
        if service == "sts" and resource.startswith("assumed-role/"):
            return ("session", account, resource.split("/")[1])
    return ("arn", principal)


__all__ = [
    "VERSIONS",
    "PolicyDocument",
    "PolicySyntaxError",
    "Principals",
    "Statement",
    "is_full_admin",
    "normalised_statements",
    "parse_policy",
    "principal_key",
    "principals_name_everyone",
]
