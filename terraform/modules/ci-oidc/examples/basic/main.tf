# GitHub Actions identity for the platform repository: plan on pull requests, apply from main.
# The apply role gets a policy the account owner wrote for what the stacks manage.

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
  region = "us-east-1"
}

data "aws_caller_identity" "current" {}

module "ci_oidc" {
  source = "../.."

  github_repository = "acme-corp/platform-infra"
  main_branch       = "main"

  plan_role_name  = "acme-ci-plan"
  apply_role_name = "acme-ci-apply"

  # The owner's choice: here a customer-managed policy scoped to the platform's services.
  apply_policy_arns = ["arn:aws:iam::${data.aws_caller_identity.current.account_id}:policy/acme-platform-apply"]

  state_bucket_arn  = "arn:aws:s3:::acme-tfstate-${data.aws_caller_identity.current.account_id}-us-east-1"
  state_kms_key_arn = "arn:aws:kms:us-east-1:${data.aws_caller_identity.current.account_id}:key/1234abcd-12ab-34cd-56ef-1234567890ab"

  tags = { ManagedBy = "platform-kit" }
}

output "plan_role_arn" {
  description = "role-to-assume for pull-request workflows."
  value       = module.ci_oidc.plan_role_arn
}

output "apply_role_arn" {
  description = "role-to-assume for workflows on main."
  value       = module.ci_oidc.apply_role_arn
}
