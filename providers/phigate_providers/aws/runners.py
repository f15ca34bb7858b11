"""Resources that run code as a role: Lambda functions and EC2 instances with an instance profile.

Whoever can change what they run becomes their role: ``lambda:UpdateFunctionCode`` or
``lambda:UpdateFunctionConfiguration`` (a layer, a wrapper script) on a function,
``ssm:SendCommand``, ``ssm:StartSession`` or an EC2 Instance Connect key on an instance (a shell on
it holds the instance profile's role). One listing per region, never a call per identity; an instance names
its profile, which IAM's authorization dump resolves to a role
(:attr:`~phigate_providers.aws.iam.IamFacts.instance_profiles`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the SDK-bound parts load only for a live collection: plans read without them
    from phigate_providers.aws.context import Account

#: A function's code, or its configuration: a layer's files are extracted to /opt and loaded by
#: the runtime, and ``AWS_LAMBDA_EXEC_WRAPPER`` names a script the runtime starts through (AWS
#: Lambda, "Managing Lambda dependencies with layers", "Modifying the runtime environment").
UPDATE_CODE = ("lambda:UpdateFunctionCode", "lambda:UpdateFunctionConfiguration")
#: Commands through the SSM agent, or an SSH key pushed for 60 seconds to an instance (EC2
#: Instance Connect; its serial console too): either runs a shell holding the profile's role.
RUN_COMMAND = ("ssm:SendCommand", "ssm:StartSession", "ec2-instance-connect:SendSSHPublicKey",
               "ec2-instance-connect:SendSerialConsoleSSHPublicKey")
#: Every action that runs code in a runner, for identities that may act where a listing failed.
ACTIONS = (*UPDATE_CODE, *RUN_COMMAND)


@dataclass(frozen=True)
class Runner:
    """A function or instance (``arn``) running as a role; ``role`` is the role ARN, or for an
    instance its instance profile's ARN until resolved; ``actions`` make it run other code."""

    arn: str
    role: str
    actions: tuple[str, ...]
    account: str
    by_profile: bool = False


def functions(account: Account, region: str) -> list[Runner]:
    """The region's Lambda functions and their execution roles. Raises ApiFailure."""
    from phigate_providers.aws.calls import pages

    return [
        Runner(str(f["FunctionArn"]), str(f["Role"]), UPDATE_CODE, account.account_id)
        for f in pages(account.client("lambda", region), "ListFunctions", "Functions")
        if f.get("FunctionArn") and f.get("Role")
    ]


def instances(account: Account, region: str) -> list[Runner]:
    """The region's EC2 instances that have an instance profile (terminated ones left out).
    Raises ApiFailure."""
    from phigate_providers.aws.calls import pages

    found: list[Runner] = []
    for reservation in pages(account.client("ec2", region), "DescribeInstances", "Reservations"):
        for instance in reservation.get("Instances", ()):
            profile = (instance.get("IamInstanceProfile") or {}).get("Arn")
            state = (instance.get("State") or {}).get("Name")
            if profile and state not in ("terminated", "shutting-down"):
                arn = account.arn("ec2", region, f"instance/{instance['InstanceId']}")
                found.append(Runner(arn, str(profile), RUN_COMMAND, account.account_id, by_profile=True))
    return found


__all__ = ["ACTIONS", "RUN_COMMAND", "UPDATE_CODE", "Runner", "functions", "instances"]
