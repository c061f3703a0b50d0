terraform {
  # 1.9 allows the cross-variable validation of vpc_cidr and existing; 1.10 is the kit's floor.
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.70"
    }
  }
}
