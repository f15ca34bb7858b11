"""The terraform provider: Terraform plans judged by the same policies as the live estate."""

from phigate_providers.terraform.provider import TerraformProvider

__all__ = ["TerraformProvider"]
