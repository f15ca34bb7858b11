"""Every AWS API operation the provider may call, and the IAM action that authorises it.

This table is the single source of truth for three things: the provider's declared
``permissions``, the least-privilege policy document ``phigate providers --permissions aws``
prints, and the read-only test, which fails on any operation performed that is not listed here.
Only metadata reads appear: nothing here can read an object's content or change anything.
"""

from __future__ import annotations

import json
from typing import Any

#: (botocore service name, operation name) → IAM action. IAM action names differ from
#: operation names for several S3 calls (GetBucketEncryption needs s3:GetEncryptionConfiguration).
OPERATIONS: dict[tuple[str, str], str] = {
    ("sts", "GetCallerIdentity"): "",  # needs no permission
    ("sts", "AssumeRole"): "sts:AssumeRole",
    ("organizations", "ListAccounts"): "organizations:ListAccounts",
    ("ec2", "DescribeRegions"): "ec2:DescribeRegions",
    ("ec2", "DescribeVolumes"): "ec2:DescribeVolumes",
    ("ec2", "GetEbsEncryptionByDefault"): "ec2:GetEbsEncryptionByDefault",
    ("ec2", "DescribeInstances"): "ec2:DescribeInstances",
    ("lambda", "ListFunctions"): "lambda:ListFunctions",
    ("s3", "ListBuckets"): "s3:ListAllMyBuckets",
    ("s3", "GetBucketLocation"): "s3:GetBucketLocation",
    ("s3", "GetBucketEncryption"): "s3:GetEncryptionConfiguration",
    ("s3", "GetPublicAccessBlock"): "s3:GetBucketPublicAccessBlock",
    ("s3", "GetBucketPolicy"): "s3:GetBucketPolicy",
    ("s3", "GetBucketAcl"): "s3:GetBucketAcl",
    ("s3", "GetBucketOwnershipControls"): "s3:GetBucketOwnershipControls",
    ("s3", "GetBucketVersioning"): "s3:GetBucketVersioning",
    ("s3", "GetBucketLogging"): "s3:GetBucketLogging",
    ("s3", "GetBucketTagging"): "s3:GetBucketTagging",
    ("s3", "GetObjectLockConfiguration"): "s3:GetBucketObjectLockConfiguration",
    ("s3control", "GetPublicAccessBlock"): "s3:GetAccountPublicAccessBlock",
    ("resourcegroupstaggingapi", "GetResources"): "tag:GetResources",
    ("kms", "ListKeys"): "kms:ListKeys",
    ("kms", "ListAliases"): "kms:ListAliases",
    ("kms", "DescribeKey"): "kms:DescribeKey",
    ("kms", "GetKeyRotationStatus"): "kms:GetKeyRotationStatus",
    ("kms", "ListResourceTags"): "kms:ListResourceTags",
    ("iam", "GetAccountAuthorizationDetails"): "iam:GetAccountAuthorizationDetails",
    ("iam", "GetLoginProfile"): "iam:GetLoginProfile",
    ("iam", "ListMFADevices"): "iam:ListMFADevices",
    ("iam", "ListAccessKeys"): "iam:ListAccessKeys",
    ("iam", "GetAccountSummary"): "iam:GetAccountSummary",
    ("rds", "DescribeDBInstances"): "rds:DescribeDBInstances",
    ("rds", "DescribeDBClusters"): "rds:DescribeDBClusters",
    ("dynamodb", "ListTables"): "dynamodb:ListTables",
    ("dynamodb", "DescribeTable"): "dynamodb:DescribeTable",
    ("dynamodb", "ListTagsOfResource"): "dynamodb:ListTagsOfResource",
    ("dynamodb", "GetResourcePolicy"): "dynamodb:GetResourcePolicy",
    ("cloudtrail", "DescribeTrails"): "cloudtrail:DescribeTrails",
    ("cloudtrail", "GetTrailStatus"): "cloudtrail:GetTrailStatus",
    ("cloudtrail", "GetEventSelectors"): "cloudtrail:GetEventSelectors",
}

#: Operation name prefixes that only read.
READ_PREFIXES = ("Describe", "Get", "List")


def permission(service: str, operation: str) -> str:
    """The IAM action an operation needs (``service:Operation`` if the table lacks it)."""
    return OPERATIONS.get((service, operation)) or f"{service}:{operation}"


def permissions() -> tuple[str, ...]:
    """Every IAM action the provider may use, sorted."""
    return tuple(sorted({action for action in OPERATIONS.values() if action}))


def policy_document(*extra: dict[str, Any]) -> str:
    """A least-privilege IAM policy granting exactly :func:`permissions`, as JSON; ``extra``
    statements follow (content sampling's object reads, only when it is on)."""
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "PhigateReadOnlyAudit",
                "Effect": "Allow",
                "Action": list(permissions()),
                "Resource": "*",
            },
            *extra,
        ],
    }
    return json.dumps(document, indent=2)


def is_read(operation: str) -> bool:
    return operation.startswith(READ_PREFIXES)


__all__ = ["OPERATIONS", "is_read", "permission", "permissions", "policy_document"]
