terraform {
  # Write-only attributes and ephemeral resources (the RDS password, rds.tf)
  # need Terraform 1.11 or OpenTofu 1.11; `make test` checks with OpenTofu 1.12.
  required_version = ">= 1.11.0, < 2.0.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 6.47 is the release the checks build from source (see
      # scripts/build-aws-provider.sh); any later 6.x is accepted.
      version = "~> 6.47"
    }
  }
}
