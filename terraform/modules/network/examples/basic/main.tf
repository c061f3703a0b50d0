# Creates the VPC for one environment's EKS cluster: three zones, one NAT gateway.
# To adopt an existing VPC instead, drop vpc_cidr and pass
#   existing = { vpc_id = "vpc-...", private_subnet_ids = ["subnet-...", "subnet-..."] }

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

module "network" {
  source = "../.."

  name         = "acme-dev"
  cluster_name = "acme-dev" # platform_kit.naming.cluster_name("acme", "dev")
  vpc_cidr     = "10.40.0.0/16"
  az_count     = 3
  nat_mode     = "single"

  tags = {
    "platform-kit/component" = "network"
  }
}

output "vpc_id" {
  description = "ID of the VPC."
  value       = module.network.vpc_id
}

output "private_subnet_ids" {
  description = "Subnets for the EKS cluster and its nodes."
  value       = module.network.private_subnet_ids
}
