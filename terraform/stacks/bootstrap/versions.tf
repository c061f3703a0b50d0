terraform {
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.70, < 6.0"
    }
  }

  # The state bucket cannot hold its own creator's state: bootstrap keeps local state, written by
  # the CLI under .platform/terraform/<env>/bootstrap.tfstate (path given at init).
  backend "local" {}
}
