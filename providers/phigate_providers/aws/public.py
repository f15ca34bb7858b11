"""Who "everyone" is in S3 ACLs: the grantee groups and canned ACLs that expose a bucket; and how
block public access of snapshots and images is normalised. SDK-free, shared by the live reader and
the Terraform plan reader, so both name a public grant alike (``AllUsers:READ``) and a region's
settings alike."""

from __future__ import annotations

from collections.abc import Mapping

#: ACL grantees that mean everyone, or every AWS account.
PUBLIC_GRANTEES: Mapping[str, str] = {
    "http://acs.amazonaws.com/groups/global/AllUsers": "AllUsers",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers": "AuthenticatedUsers",
}
#: Canned ACLs that grant everyone, and the grant each amounts to.
PUBLIC_CANNED: Mapping[str, str] = {
    "public-read": "AllUsers:READ",
    "public-read-write": "AllUsers:WRITE",
    "authenticated-read": "AuthenticatedUsers:READ",
}

#: Snapshot block public access as AWS states it → the region's ``snapshot_public_sharing``.
SNAPSHOT_SHARING: Mapping[str, str] = {
    "block-all-sharing": "blocked", "block-new-sharing": "new_blocked", "unblocked": "allowed"}
#: Image block public access as AWS states it → the region's ``image_public_sharing``.
IMAGE_SHARING: Mapping[str, str] = {"block-new-sharing": "new_blocked", "unblocked": "allowed"}


def acl_grant(uri: object, permission: str) -> str | None:
    """The public grant an ACL grant to ``uri`` is (``AllUsers:READ``), or None if it is none."""
    if not isinstance(uri, str) or uri not in PUBLIC_GRANTEES:
        return None
    return f"{PUBLIC_GRANTEES[uri]}:{permission}"


__all__ = ["IMAGE_SHARING", "PUBLIC_CANNED", "PUBLIC_GRANTEES", "SNAPSHOT_SHARING", "acl_grant"]
