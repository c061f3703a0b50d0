# The AWS side of Kubeflow Pipelines for one environment, with the RDS metadata database on.
# In a stack the OIDC provider, VPC, subnets and node security group come from the eks and
# network modules; literals stand in for them here.

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

locals {
  org         = "acme"
  env         = "dev"
  oidc_issuer = "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
}

module "kubeflow_aws" {
  source = "../.."

  name = "${local.org}-${local.env}"

  artifact_bucket_name = "${local.org}-${local.env}-kfp-artifacts-${data.aws_caller_identity.current.account_id}"

  oidc_provider_arn = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:oidc-provider/${local.oidc_issuer}"
  oidc_issuer       = local.oidc_issuer
  kfp_role_name     = "${local.org}-${local.env}-kfp"
  argo_role_name    = "${local.org}-${local.env}-kfp-argo"

  secret_prefix              = "${local.org}/${local.env}"
  dex_connector_secret_names = ["github"]

  catalog_repository_name = "${local.org}/kubeflow/catalog"

  vpc_id                             = "vpc-0123456789abcdef0"
  private_subnet_ids                 = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
  database_client_security_group_ids = ["sg-0123456789abcdef0"]
  rds                                = { enabled = true, multi_az = true }

  tags = {
    Environment = local.env
    ManagedBy   = "platform-kit"
  }
}

output "kfp_role_arn" {
  description = "Annotate the KFP service accounts with this role."
  value       = module.kubeflow_aws.kfp_role_arn
}

output "argo_role_arn" {
  description = "Annotate the argo and pipeline-runner service accounts with this role."
  value       = module.kubeflow_aws.argo_role_arn
}

output "rds_endpoint" {
  description = "dbHost for the KFP pipeline-install-config."
  value       = module.kubeflow_aws.rds_endpoint
}
