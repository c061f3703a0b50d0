# Creates the state bucket for one organisation, account and region, and prints the settings for
# the `backend "s3"` blocks of the stacks that will keep their state in it.

terraform {
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.70"
    }
  }
}

provider "aws" {
  region = "eu-west-1"
}

data "aws_caller_identity" "current" {}

data "aws_region" "current" {}

module "state_backend" {
  source = "../.."

  # platform_kit.naming.state_bucket(org, account_id, region)
  bucket_name = "acme-tfstate-${data.aws_caller_identity.current.account_id}-${data.aws_region.current.name}"

  tags = {
    "platform-kit/component" = "state-backend"
  }
}

output "backend_config" {
  description = "Settings for the stacks' backend \"s3\" blocks."
  value       = module.state_backend.backend_config
}
