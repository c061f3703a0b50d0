# One team in one environment: the pipeline role, its policy, a SageMaker execution role, the
# team's ECR repository and an EKS access entry for the team's SSO role. In the kit the CLI
# derives every name (platform_kit.naming) and the environment stack passes the cluster values.

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
  region = "us-west-2"

  default_tags {
    tags = { managed-by = "platform-kit" }
  }
}

module "team" {
  source = "../.."

  team_name           = "perception"
  namespace           = "perception"
  role_name           = "acme-dev-team-perception"
  sagemaker_role_name = "acme-dev-team-perception-sm"
  policy_name         = "acme-dev-team-perception-access"
  ecr_repository_name = "acme/teams/perception"
  cost_center         = "CC-4120"
  tags                = { owner = "ml-platform" }

  oidc_provider_arn = "arn:aws:iam::210987654321:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/5E1F3C0A7B2D4E6F8091A2B3C4D5E6F7"
  oidc_issuer       = "oidc.eks.us-west-2.amazonaws.com/id/5E1F3C0A7B2D4E6F8091A2B3C4D5E6F7"

  artifact_bucket_name = "acme-dev-kfp-artifacts-210987654321"
  artifact_kms_key_arn = "arn:aws:kms:us-west-2:210987654321:key/6a1d2c3b-4e5f-4a7b-8c9d-0e1f2a3b4c5d"
  extra_buckets = [
    { name = "acme-drive-logs", access = "read", prefix = "camera/" },
    { name = "acme-perception-datasets", access = "write" },
  ]

  sagemaker_enabled       = true
  batch_queue_arns        = ["arn:aws:batch:us-west-2:210987654321:job-queue/perception-preprocess"]
  catalog_repository_arns = ["arn:aws:ecr:us-west-2:210987654321:repository/acme/catalog/*"]

  cluster_name = "acme-dev"
  sso_role_arn = "arn:aws:iam::210987654321:role/aws-reserved/sso.amazonaws.com/us-west-2/AWSReservedSSO_ml-perception_3f2a1b0c9d8e7f6a"
}

output "role_arn" {
  description = "Annotate the perception namespace's default-editor service account with this role."
  value       = module.team.role_arn
}

output "ecr_repository_url" {
  description = "Where the team pushes its images."
  value       = module.team.ecr_repository_url
}
