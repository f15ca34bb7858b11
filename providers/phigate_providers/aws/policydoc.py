"""IAM policy documents (identity, resource and trust policies): parsed, checked and normalised.

:func:`parse_policy` accepts what AWS APIs return: a decoded document, its JSON text, or that text
URL-encoded (IAM returns RFC 3986 encoded documents from most calls). It tolerates the shapes the
policy grammar allows (a single string or a list for Action, Resource and Principal,
``"Principal": "*"``, Statement as one object, no Version) and refuses everything else with a
:class:`PolicySyntaxError` that names the statement and element at fault: a document read wrong
must never be analysed as if it said something else.

It also answers questions on one document: a role's trust (:func:`analyse_trust`), grants to
everyone (:func:`public_grants`), the Deny of plain HTTP (:func:`denies_insecure_transport`), full
administrative rights (:func:`is_full_admin`); and it decides, statically, what it can of a
statement's Condition block
(:func:`evaluate_conditions`): the keys that depend only on who asks (``aws:PrincipalArn`` …) are
decided for a known principal, ``aws:SecureTransport`` is the requester's choice, everything else is
left undecided and reported.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Literal
from urllib.parse import unquote, unquote_plus

from phigate_providers.aws.arn import (
    action_matches,
    glob_contains,
    glob_matches,
    globs_intersect,
    has_wildcard,
)

#: Versions of the policy language. Policy variables (``${aws:username}``) exist only in the newer.
VERSIONS = ("2012-10-17", "2008-10-17")
_DOCUMENT_KEYS = frozenset({"Version", "Id", "Statement"})
_STATEMENT_KEYS = frozenset({"Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction",
                             "Resource", "NotResource", "Condition"})
_EVERY_ACTION = re.compile(r"\*+(:\*+)?")
_EVERY_ARN = re.compile(r"\*+|arn(:\*+){1,5}")  # an ARN has at least five colons
_ACCOUNT_ID = re.compile(r"\d{12}")
_ASSUME_ACTIONS = ("sts:AssumeRole", "sts:AssumeRoleWithSAML", "sts:AssumeRoleWithWebIdentity")


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
        raise PolicySyntaxError(f"{where}: Statement must be an object or a list, "
                                f"not {_kind(raw_statements)}")
    statements = tuple(_statement(raw, f"{where}: Statement[{index}]")
                       for index, raw in enumerate(raw_statements))
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
    raise PolicySyntaxError(f"{where}: not valid JSON ({error.msg} at line {error.lineno} "
                            f"column {error.colno})")


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
    not_principals = (_principals(raw["NotPrincipal"], f"{where}: NotPrincipal")
                      if "NotPrincipal" in raw else None)
    conditions = _conditions(raw.get("Condition", {}), f"{where}: Condition")
    return Statement(effect=effect, actions=actions, not_actions=not_actions, resources=resources,
                     not_resources=not_resources, principals=principals, not_principals=not_principals,
                     conditions=conditions, sid=sid or None)


def _pair(raw: Mapping[str, Any], positive: str, negative: str, where: str,
          required: bool) -> tuple[tuple[str, ...] | None, tuple[str, ...] | None]:
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
                raise PolicySyntaxError(f"{where}.{operator}.{key} must be a value or a non-empty "
                                        "list of values")
    return value


def _kind(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(value), type(value).__name__)


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
        every_action = (statement.not_actions == () if statement.actions is None
                        else any(_EVERY_ACTION.fullmatch(a) for a in statement.actions))
        if statement.resources is not None:
            every_resource = any(_EVERY_ARN.fullmatch(r) for r in statement.resources)
        else:
            every_resource = not statement.not_resources
        if every_action and every_resource:
            return True
    return False


# --- static evaluation of Condition blocks -----------------------------------------------------

class Outcome(Enum):
    """What a statement's conditions say for one requester."""

    APPLIES = "applies"      # every condition holds (or there is none)
    UNDECIDED = "undecided"  # some condition depends on the request and cannot be decided here
    NEVER = "never"          # some condition is false for this requester


@dataclass(frozen=True)
class Requester:
    """What is known of the principal making a request, to decide conditions on it.

    ``arn`` is the IAM ARN (``aws:PrincipalArn`` is the role's ARN for a role session);
    ``principal_type`` is ``User``, ``AssumedRole`` or None when it is neither (a group).
    """

    arn: str
    account: str
    principal_type: str | None
    username: str | None = None


@dataclass(frozen=True)
class ConditionVerdict:
    outcome: Outcome
    undecided_keys: tuple[str, ...] = ()


_STRING_OPERATORS = {"StringEquals", "StringNotEquals", "StringEqualsIgnoreCase",
                     "StringNotEqualsIgnoreCase", "StringLike", "StringNotLike"}
_ARN_OPERATORS = {"ArnEquals", "ArnNotEquals", "ArnLike", "ArnNotLike"}
_PRINCIPAL_KEYS = {"aws:principalarn", "aws:principalaccount", "aws:principaltype", "aws:username"}
_APPLIES = ConditionVerdict(Outcome.APPLIES)
_NEVER = ConditionVerdict(Outcome.NEVER)


def split_operator(operator: str) -> tuple[str, str, bool]:
    """``ForAnyValue:StringEqualsIfExists`` → (``ForAnyValue``, ``StringEquals``, True)."""
    qualifier, _, base = operator.rpartition(":")
    if_exists = base.endswith("IfExists")
    return qualifier, base.removesuffix("IfExists") if if_exists else base, if_exists


def depends_on_principal(conditions: Mapping[str, Mapping[str, Any]]) -> bool:
    """Some condition reads a key describing the requesting principal."""
    return any(key.lower() in _PRINCIPAL_KEYS for block in conditions.values() for key in block)


def evaluate_conditions(statement: Statement, requester: Requester | None) -> ConditionVerdict:
    """Decide the statement's conditions for ``requester`` as far as is possible statically.

    Conditions are ANDed: one false condition makes the statement NEVER apply. ``aws:SecureTransport``
    is chosen by the requester, so it holds for an Allow (a reader can use the transport asked for)
    and does not for a Deny (a reader can use the other one). Keys on the principal are decided when
    ``requester`` is given; every other key is undecided. ``requester=None`` leaves principal keys
    undecided.
    """
    if not statement.conditions:
        return _APPLIES
    undecided: list[str] = []
    for operator, block in statement.conditions.items():
        qualifier, base, if_exists = split_operator(operator)
        for key, operand in block.items():
            lowered = key.lower()
            if lowered == "aws:securetransport" and base == "Bool" and not qualifier:
                if statement.effect == "Deny":
                    return _NEVER
                continue
            decided = None
            if requester is not None and lowered in _PRINCIPAL_KEYS and not qualifier:
                decided = _principal_condition(base, if_exists, lowered,
                                               operand if isinstance(operand, list) else [operand], requester)
            if decided is False:
                return _NEVER
            if decided is None:
                undecided.append(key)
    if undecided:
        return ConditionVerdict(Outcome.UNDECIDED, tuple(sorted(set(undecided))))
    return _APPLIES


def _principal_condition(base: str, if_exists: bool, key: str, values: Sequence[Any],
                         requester: Requester) -> bool | None:
    """True / False for a decided condition on the principal, None when it cannot be decided."""
    if base not in _STRING_OPERATORS and base not in _ARN_OPERATORS:
        return None
    actual = {"aws:principalarn": requester.arn, "aws:principalaccount": requester.account,
              "aws:principaltype": requester.principal_type,
              "aws:username": requester.username}[key]
    negated = "Not" in base
    if actual is None:  # the key is absent from the request
        return if_exists or negated
    patterns = [str(v) for v in values]
    if "${" in "".join(patterns):
        return None  # policy variables in the value: not resolved here
    if base in _ARN_OPERATORS:  # ArnEquals and ArnLike both take wildcards, part by part
        found = any(_arn_like(p, actual) for p in patterns)
    elif base.endswith("IgnoreCase"):
        found = any(p.casefold() == actual.casefold() for p in patterns)
    elif "Like" in base:
        found = any(glob_matches(p, actual) for p in patterns)
    else:
        found = actual in patterns
    return not found if negated else found


def _arn_like(pattern: str, arn: str) -> bool:
    """ArnLike / ArnEquals: each of the six colon-separated parts is matched on its own."""
    pattern_parts = pattern.split(":", 5)
    arn_parts = arn.split(":", 5)
    if len(pattern_parts) != 6 or len(arn_parts) != 6:
        return False
    return all(glob_matches(p, a) for p, a in zip(pattern_parts, arn_parts, strict=True))


# --- properties of single documents ---------------------------------------------------------

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


# --- trust policies ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Trust:
    """Who may assume a role, from its trust policy.

    - ``third_party``: an AWS principal of another account (an account id, its root, a role or user
      ARN there, or ``*``) may assume the role.
    - ``trusted_accounts``: those external account ids, sorted, ``'*'`` for anyone.
    - ``external_id_required``: every Allow to an external account requires ``sts:ExternalId``
      (StringEquals or StringLike with a value that is not only wildcards); None when nothing
      external is trusted.
    """

    third_party: bool
    trusted_accounts: tuple[str, ...]
    external_id_required: bool | None


def analyse_trust(trust: PolicyDocument, own_account: str) -> Trust:
    """Analyse a role's trust policy. Service and federated principals are not other accounts;
    a principal given by unique id (a deleted principal) can no longer assume anything."""
    external: set[str] = set()
    every_external_needs_id = True
    for statement in trust.statements:
        if statement.effect != "Allow" or not any(statement.covers_action(a) for a in _ASSUME_ACTIONS):
            continue
        accounts = _trusted_accounts(statement)
        outside = {a for a in accounts if a != own_account}
        if not outside:
            continue
        external |= outside
        if not _requires_external_id(statement):
            every_external_needs_id = False
    if not external:
        return Trust(third_party=False, trusted_accounts=(), external_id_required=None)
    return Trust(third_party=True, trusted_accounts=tuple(sorted(external)),
                 external_id_required=every_external_needs_id)


def _trusted_accounts(statement: Statement) -> set[str]:
    if statement.not_principals is not None or statement.names_everyone():
        restricted = _accounts_in_conditions(statement)
        return restricted if restricted is not None else {"*"}
    accounts: set[str] = set()
    for principal in (statement.principals or {}).get("AWS", ()):
        key = principal_key(principal)
        if key[0] in ("account", "role", "session"):
            accounts.add(key[1])
        elif principal.startswith("arn:"):
            parts = principal.split(":", 5)
            if len(parts) == 6 and parts[4]:
                accounts.add(parts[4])
    return accounts


def _accounts_in_conditions(statement: Statement) -> set[str] | None:
    """The accounts a ``*`` principal is narrowed to by aws:PrincipalAccount / aws:PrincipalArn
    equality conditions; None when it is not narrowed."""
    narrowed: set[str] | None = None
    for operator, block in statement.conditions.items():
        qualifier, base, if_exists = split_operator(operator)
        if qualifier or if_exists or base not in ("StringEquals", "ArnEquals", "ArnLike", "StringLike"):
            continue
        for key, operand in block.items():
            values = [str(v) for v in (operand if isinstance(operand, list) else [operand])]
            if key.lower() == "aws:principalaccount" and base == "StringEquals":
                accounts = set(values)
            elif key.lower() == "aws:principalarn":
                accounts = {v.split(":", 5)[4] if v.count(":") >= 5 else "*" for v in values}
                if any(has_wildcard(a) or not a for a in accounts):
                    accounts = {"*"}
            else:
                continue
            narrowed = accounts if narrowed is None else narrowed & accounts
    return narrowed


def _requires_external_id(statement: Statement) -> bool:
    for operator, block in statement.conditions.items():
        qualifier, base, if_exists = split_operator(operator)
        if qualifier or if_exists or base not in ("StringEquals", "StringLike"):
            continue
        for key, operand in block.items():
            values = [str(v) for v in (operand if isinstance(operand, list) else [operand])]
            if key.lower() != "sts:externalid":
                continue
            if base == "StringLike" and any(not v.strip("*?") for v in values):
                continue  # '*' accepts any external id
            if values and all(values):
                return True
    return False


# --- resource policy properties -----------------------------------------------------------------------

#: Condition keys that, with a fixed value, narrow a grant to known requesters (after S3's own
#: definition of a non-public policy, plus the organisation keys).
_RESTRICTING_KEYS = frozenset({
    "aws:sourcearn", "aws:sourceaccount", "aws:sourceowner", "aws:sourcevpc", "aws:sourcevpce",
    "aws:sourceip", "aws:principalorgid", "aws:principalorgpaths", "aws:principalaccount",
    "aws:principalarn", "aws:sourceorgid", "aws:sourceorgpaths", "aws:userid",
    "s3:x-amz-server-side-encryption-aws-kms-key-id", "s3:dataaccesspointaccount",
    "s3:dataaccesspointarn"})
_POSITIVE_OPERATORS = frozenset({"StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals",
                                 "ArnLike", "IpAddress"})


def public_grants(resource_policy: PolicyDocument | None) -> tuple[str, ...]:
    """Grants to everyone in a resource policy: ``('*',)`` when some Allow names ``*`` (or
    ``{'AWS': '*'}``, or uses NotPrincipal) without a condition restricting it to known
    requesters (a fixed aws:SourceArn, aws:SourceAccount, aws:PrincipalOrgID, aws:SourceVpce, a
    narrow aws:SourceIp …); ``()`` otherwise."""
    if resource_policy is None:
        return ()
    for statement in resource_policy.statements:
        if statement.effect != "Allow":
            continue
        if not (statement.names_everyone() or statement.not_principals is not None):
            continue
        if not _restricts_requesters(statement.conditions):
            return ("*",)
    return ()


def _restricts_requesters(conditions: Mapping[str, Mapping[str, Any]]) -> bool:
    for operator, block in conditions.items():
        qualifier, base, if_exists = split_operator(operator)
        if if_exists or qualifier == "ForAllValues" or base not in _POSITIVE_OPERATORS:
            continue
        for key, operand in block.items():
            lowered = key.lower()
            if lowered not in _RESTRICTING_KEYS:
                continue
            values = [str(v) for v in (operand if isinstance(operand, list) else [operand])]
            if not values:
                continue
            if lowered == "aws:sourceip":
                if base == "IpAddress" and all(_narrow_cidr(v) for v in values):
                    return True
            elif base != "IpAddress" and not any(has_wildcard(v) for v in values):
                if lowered == "aws:userid" and any(v.endswith(":*") for v in values):
                    continue
                return True
    return False


def _narrow_cidr(cidr: str) -> bool:
    """An IP range narrower than the whole internet: at least /8 (IPv4) or /32 (IPv6)."""
    address, _, length = cidr.partition("/")
    if not length:
        return True
    try:
        bits = int(length)
    except ValueError:
        return False
    return bits >= (32 if ":" in address else 8)


def denies_insecure_transport(resource_policy: PolicyDocument | None, bucket: str) -> bool:
    """The bucket policy refuses requests without TLS: some Deny for every principal
    (``*`` or ``{'AWS': '*'}``) of at least s3:GetObject and s3:PutObject, on the bucket ARN and
    all its objects, whose only condition is ``Bool``/``BoolIfExists`` ``aws:SecureTransport`` =
    false (the string ``'false'`` or JSON false). ``bucket`` is the bucket's name."""
    if resource_policy is None:
        return False
    bucket_arn = f"arn:aws:s3:::{bucket}"
    objects = f"{bucket_arn}/*"
    for statement in resource_policy.statements:
        if statement.effect != "Deny" or not statement.names_everyone():
            continue
        if not (statement.covers_action("s3:GetObject") and statement.covers_action("s3:PutObject")):
            continue
        if not _only_insecure_transport(statement.conditions):
            continue
        if _resources_cover(statement, bucket_arn) and _resources_cover(statement, objects):
            return True
    return False


def _only_insecure_transport(conditions: Mapping[str, Mapping[str, Any]]) -> bool:
    if len(conditions) != 1:
        return False
    (operator, block), = conditions.items()
    if operator not in ("Bool", "BoolIfExists") or len(block) != 1:
        return False
    (key, operand), = block.items()
    values = operand if isinstance(operand, list) else [operand]
    return key.lower() == "aws:securetransport" and bool(values) and all(
        v is False or (isinstance(v, str) and v.lower() == "false") for v in values)


def _resources_cover(statement: Statement, arn: str) -> bool:
    if statement.resources is not None:
        return any(glob_contains(p, arn) for p in statement.resources)
    if statement.not_resources is not None:
        return not any(globs_intersect(p, arn) for p in statement.not_resources)
    return True  # no resource element in a bucket policy: the bucket itself


__all__ = [
    "VERSIONS",
    "ConditionVerdict",
    "Outcome",
    "PolicyDocument",
    "PolicySyntaxError",
    "Principals",
    "Requester",
    "Statement",
    "Trust",
    "analyse_trust",
    "denies_insecure_transport",
    "depends_on_principal",
    "evaluate_conditions",
    "is_full_admin",
    "normalised_statements",
    "parse_policy",
    "principal_key",
    "principals_name_everyone",
    "public_grants",
    "split_operator",
]
