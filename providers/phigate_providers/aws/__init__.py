"""The AWS provider (``phigate[aws]``): live, read-only collection through boto3."""

from phigate_providers.aws.provider import AwsProvider

__all__ = ["AwsProvider"]
