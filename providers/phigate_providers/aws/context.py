"""What every collector of one account shares: clients, regions, and how to report a failure."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from phigate.api import CollectionError, Resource
from phigate_providers.aws.calls import ApiFailure
from phigate_providers.aws.session import Clients

if TYPE_CHECKING:
    from phigate_providers.aws.tag_index import TagIndex

PROVIDER = "aws"


def _tag_index() -> TagIndex:
    from phigate_providers.aws.tag_index import TagIndex  # it reads tags through this module

    return TagIndex()


@dataclass
class Account:
    """One audited account: its id, its clients and the regions covered."""

    account_id: str
    clients: Clients
    regions: tuple[str, ...]
    home_region: str
    partition: str = "aws"
    errors: list[CollectionError] = field(default_factory=list)
    #: Stores' tags listed once per region (shared with the copy kept for reads outside the
    #: reported scope).
    tag_index: TagIndex = field(default_factory=_tag_index, repr=False, compare=False)
    #: (service, region) where a service is not offered (:mod:`.offered`), for the notices.
    not_offered: list[tuple[str, str]] = field(default_factory=list)

    def client(self, service: str, region: str | None = None) -> Any:
        return self.clients.get(service, region or self.home_region)

    def resource(
        self,
        rid: str,
        rtype: str,
        kind: str,
        *,
        region: str | None,
        name: str | None,
        attributes: dict[str, Any],
        tags: dict[str, str] | None = None,
        raw: dict[str, Any] | None = None,
    ) -> Resource:
        """A resource of this account, from this provider."""
        return Resource(
            id=rid,
            type=rtype,
            kind=kind,
            provider=PROVIDER,
            scope=self.account_id,
            region=region,
            name=name,
            tags=tags,
            attributes=attributes,
            raw=raw,
        )

    def arn(self, service: str, region: str, resource: str) -> str:
        return f"arn:{self.partition}:{service}:{region}:{self.account_id}:{resource}"

    def failed(
        self,
        failure: ApiFailure,
        what: str,
        *,
        kinds: tuple[str, ...],
        types: tuple[str, ...],
        region: str | None = None,
        resource_id: str | None = None,
    ) -> CollectionError:
        """Record (and return) the collection error a failed read leaves behind."""
        error = CollectionError(
            provider=PROVIDER,
            message=failure.describe(what),
            scope=self.account_id,
            region=region,
            kinds=kinds,
            types=types,
            resource_id=resource_id,
            permission=failure.permission,
        )
        self.errors.append(error)
        return error


def tag_map(tags: list[dict[str, Any]] | None, key: str = "Key", value: str = "Value") -> dict[str, str]:
    """AWS's ``[{Key, Value}]`` tag lists as a mapping (KMS spells them TagKey/TagValue)."""
    return {str(t[key]): str(t.get(value, "")) for t in tags or ()}


#: Response fields that may carry a credential in clear; never kept in ``raw`` (snapshots and
#: reports store it). Read APIs do not return them today; this keeps it so if one ever does.
SECRET_FIELDS = frozenset(
    {"MasterUserPassword", "Password", "SecretString", "SecretBinary", "SecretAccessKey"}
)


def jsonable(value: Any) -> Any:
    """Responses carry datetimes; reports need JSON. Credential fields are dropped."""
    if isinstance(value, dict):
        return {
            k: jsonable(v) for k, v in value.items() if k != "ResponseMetadata" and k not in SECRET_FIELDS
        }
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


__all__ = ["PROVIDER", "Account", "jsonable", "tag_map"]
