"""The AWS provider's command line, as data: read without importing boto3."""

from __future__ import annotations

from phigate.api import Option, ProviderSpec
from phigate_providers.content.options import OPTIONS as SAMPLING

SPEC = ProviderSpec(extra="aws", options=(
    Option("--aws-profile", "aws_profile", metavar="NAME",
           help="named AWS profile (default: the credential chain)"),
    Option("--region", "region", metavar="REGION", repeatable=True,
           help="AWS region to audit (repeatable; default: every enabled region)"),
    Option("--org-role", "org_role", metavar="ROLE",
           help="audit every account of the AWS Organization by assuming this role name"),
    Option("--account", "account", metavar="ID", repeatable=True,
           help="with --org-role: only these account ids (repeatable)"),
    Option("--external-id", "external_id", metavar="ID",
           help="external id to present when assuming --org-role"),
    Option("--aws-workers", "aws_workers", kind="integer", metavar="N",
           help="concurrent API calls per account (16)"),
    Option("--aws-max-attempts", "aws_max_attempts", kind="integer", metavar="N",
           help="attempts per API call, retries included, with adaptive backoff (8)"),
    *SAMPLING,
))

__all__ = ["SPEC"]
