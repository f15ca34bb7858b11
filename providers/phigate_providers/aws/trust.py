"""Trust policies: who may assume a role, and whether an external account must give an external id.

Answers one question of one document (a role's trust policy) for the ``principal`` kind's
third-party attributes; separate from :mod:`~phigate_providers.aws.policydoc` because it reads
principals and conditions with rules of its own (an account narrowed by ``aws:PrincipalAccount``,
``sts:ExternalId`` required on every external grant).

Federated principals (``Principal: {Federated: …}``, assumed with ``AssumeRoleWithWebIdentity``
or ``AssumeRoleWithSAML``) are third-party access unless a condition names who, within the
identity provider, may assume the role: every subject of the provider gets in otherwise (any
GitHub repository for ``token.actions.githubusercontent.com``). The subject is named by an
equality (``StringEquals``, ``StringLike``; never ``…IfExists``) on ``<provider>:sub`` whose values
are not only wildcards (for GitHub, the repository owner must be literal: ``repo:org/*``; for
other issuers, the subject's first value up to its separator: GitLab's ``project_path:group/*``,
Terraform Cloud's ``organization:org:*``), on
``cognito-identity.amazonaws.com:aud`` for Cognito (the identity pool), on ``SAML:sub`` for SAML;
``SAML:aud`` only names the sign-in endpoint, not who signs in. The SAML provider of IAM Identity
Center (``saml-provider/AWSSSO_…``) is AWS's own: who may use its roles is decided by assignments,
not by the trust policy, so it is not third-party. An external id cannot be required of a
federated principal: ``external_id_required`` is False when such a trust is unconstrained.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from phigate_providers.aws.arn import has_wildcard
from phigate_providers.aws.conditions import split_operator
from phigate_providers.aws.policydoc import PolicyDocument, Statement, principal_key

_ASSUME_ACTIONS = ("sts:AssumeRole", "sts:AssumeRoleWithSAML", "sts:AssumeRoleWithWebIdentity")
_GITHUB = "token.actions.githubusercontent.com"
_COGNITO = "cognito-identity.amazonaws.com"


@dataclass(frozen=True)
class Trust:
    """Who may assume a role, from its trust policy.

    - ``third_party``: an AWS principal of another account (an account id, its root, a role or user
      ARN there, or ``*``) may assume the role.
    - ``trusted_accounts``: those external account ids, sorted, ``'*'`` for anyone; a federated
      identity provider trusted without a condition naming the subject appears by its name
      (``token.actions.githubusercontent.com``, ``saml-provider/corp``).
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
        providers = {p for p in _federated(statement) if not _names_subject(statement, p)}
        if providers:
            external |= {_provider_name(p) for p in providers}
            every_external_needs_id = False  # no external id exists for federated sign-in
        accounts = _trusted_accounts(statement)
        outside = {a for a in accounts if a != own_account}
        if not outside:
            continue
        external |= outside
        if not _requires_external_id(statement):
            every_external_needs_id = False
    if not external:
        return Trust(third_party=False, trusted_accounts=(), external_id_required=None)
    return Trust(
        third_party=True,
        trusted_accounts=tuple(sorted(external)),
        external_id_required=every_external_needs_id,
    )


def trusted_services(trust: PolicyDocument) -> frozenset[str]:
    """Service principals (``lambda.amazonaws.com`` …) an Allow of the trust policy lets assume the
    role; conditions (``aws:SourceArn`` …) are not decided, so a conditional trust counts."""
    found: set[str] = set()
    for statement in trust.statements:
        if statement.effect == "Allow" and statement.covers_action("sts:AssumeRole"):
            found.update(s.lower() for s in (statement.principals or {}).get("Service", ()))
    return frozenset(found)


def _federated(statement: Statement) -> tuple[str, ...]:
    return (statement.principals or {}).get("Federated", ())


def _provider_name(provider: str) -> str:
    """``arn:aws:iam::1:oidc-provider/token.actions.githubusercontent.com`` → the host;
    ``arn:aws:iam::1:saml-provider/corp`` → ``saml-provider/corp``; others as given."""
    resource = provider.split(":", 5)[-1]
    if resource.startswith("oidc-provider/"):
        return resource.removeprefix("oidc-provider/")
    return resource if resource.startswith("saml-provider/") else provider


def _names_subject(statement: Statement, provider: str) -> bool:
    """A condition of the statement names who within ``provider`` may assume the role."""
    name = _provider_name(provider)
    if name.startswith("saml-provider/AWSSSO_"):
        return True
    if name.startswith("saml-provider/"):
        wanted = {"saml:sub"}
    elif name == _COGNITO:
        wanted = {f"{_COGNITO}:aud"}
    else:
        wanted = {f"{name}:sub".lower()}
    for operator, block in statement.conditions.items():
        qualifier, base, if_exists = split_operator(operator)
        if qualifier or if_exists or base not in ("StringEquals", "StringLike"):
            continue
        for key, operand in block.items():
            if key.lower() not in wanted:
                continue
            values = [str(v) for v in (operand if isinstance(operand, list) else [operand])]
            if values and all(_narrow_subject(name, v, base == "StringLike") for v in values):
                return True
    return False


def _narrow_subject(provider: str, value: str, like: bool) -> bool:
    literal = value if not like else value.replace("*", "").replace("?", "")
    if not literal.strip(":/"):
        return False
    if not like or literal == value:
        return True
    if provider == _GITHUB:
        # repo:OWNER/NAME:… — a wildcard in the owner lets any owner's repository in.
        owner = value.removeprefix("repo:").split("/", 1)[0]
        return value.startswith("repo:") and bool(owner) and not any(c in owner for c in "*?")
    if provider.startswith("saml-provider/") or provider == _COGNITO:
        return True
    # Another OIDC issuer (GitLab's project_path:GROUP/…, Terraform Cloud's organization:ORG:…):
    # the subject's first value must be literal up to its separator, else any tenant matches.
    first = value.split(":", 1)[1] if ":" in value else value
    head = re.split(r"[*?]", first, maxsplit=1)[0]
    return bool(head.rstrip(":/")) and any(c in head for c in ":/")


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


__all__ = ["Trust", "analyse_trust", "trusted_services"]
