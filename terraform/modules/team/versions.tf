terraform {
  # 1.10: cross-variable validation (1.9) and the test framework's mock providers and override_data.
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.70"
    }
  }
}
