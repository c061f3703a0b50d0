# An EKS cluster for Kubeflow Pipelines in an existing VPC: a CPU group for system pods and
# pipelines, a GPU group that only pods tolerating nvidia.com/gpu land on, and one admin role.
#
#   terraform init && terraform apply \
#     -var vpc_id=vpc-... -var 'private_subnet_ids=["subnet-...","subnet-..."]' \
#     -var admin_role_arn=arn:aws:iam::<account>:role/<admin>

terraform {
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.70, < 7.0"
    }
  }
}

provider "aws" {
  region = var.region
}

variable "region" {
  description = "AWS region of the cluster."
  type        = string
  default     = "eu-west-1"
}

variable "vpc_id" {
  description = "VPC of the cluster."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets in at least two Availability Zones."
  type        = list(string)
}

variable "admin_role_arn" {
  description = "IAM role that gets cluster-admin (include the role that runs Terraform)."
  type        = string
}

module "eks" {
  source = "../.."

  cluster_name       = "acme-dev"
  kubernetes_version = "1.31"
  vpc_id             = var.vpc_id
  subnet_ids         = var.private_subnet_ids
  admin_role_arns    = [var.admin_role_arn]

  node_groups = {
    system = {
      instance_types = ["m6i.large"]
      min_size       = 2
      max_size       = 4
      desired_size   = 2
      labels         = { role = "system" }
    }
    gpu = {
      instance_types = ["g5.xlarge"]
      min_size       = 0
      max_size       = 2
      desired_size   = 0
      gpu            = true
      capacity_type  = "SPOT"
      disk_size_gb   = 200
    }
  }

  tags = { environment = "dev", "managed-by" = "terraform" }
}

output "cluster_endpoint" {
  description = "Kubernetes API endpoint."
  value       = module.eks.cluster_endpoint
}

output "oidc_provider_arn" {
  description = "IRSA OIDC provider, for the roles of pipeline service accounts."
  value       = module.eks.oidc_provider_arn
}

output "node_group_names" {
  description = "Node group names by key."
  value       = module.eks.node_group_names
}
