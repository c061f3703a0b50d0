terraform {
  # 1.10: cross-variable validation (1.9) and the test framework's mock providers, override_during.
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # Floor per the conventions. GPU node groups use ami_type AL2023_x86_64_NVIDIA, which EKS
      # added in October 2024; the provider validates ami_type against its SDK's list, so a provider
      # from before then rejects it at plan time. Verified with 5.100.0; stacks pin newer ranges.
      version = ">= 5.70"
    }
  }
}
