terraform {
  # Terraform 1.7 brought mock providers for `terraform test` (tests/*.tftest.hcl);
  # the configuration is checked with 1.11.
  required_version = ">= 1.7.0, < 2.0.0"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 6.47 is the release the offline check builds from source (see
      # scripts/build-aws-provider.sh); any later 6.x is accepted.
      version = "~> 6.47"
    }
  }
}
