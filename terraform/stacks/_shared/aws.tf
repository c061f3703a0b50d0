# Shared by every stack (each stack links this file as aws.tf): where AWS calls go.
# The CLI renders `aws` from platform.yaml. For real AWS it carries the region, the account the
# stack may touch and an optional profile; credentials come from the usual chain. For the kit's
# sandbox it carries the emulator's endpoint, and the CLI passes fake keys in the environment.

variable "aws" {
  description = "Region, allowed account and optional profile; endpoint_url only for an emulator (the kit's sandbox)."
  type = object({
    region              = string
    allowed_account_ids = optional(list(string))
    profile             = optional(string)
    endpoint_url        = optional(string)
  })

  validation {
    condition     = can(regex("^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-[0-9]$", var.aws.region))
    error_message = "aws.region must be an AWS region such as eu-west-1."
  }

  validation {
    condition     = var.aws.endpoint_url == null || can(regex("^https?://", var.aws.endpoint_url))
    error_message = "aws.endpoint_url must be an http(s) URL when set."
  }
}

locals {
  emulator = var.aws.endpoint_url != null
}

provider "aws" {
  region              = var.aws.region
  profile             = var.aws.profile
  allowed_account_ids = var.aws.allowed_account_ids

  # An emulator serves every service on one endpoint and has no bucket subdomains or metadata API.
  s3_use_path_style           = local.emulator
  skip_credentials_validation = local.emulator
  skip_metadata_api_check     = local.emulator
  skip_region_validation      = local.emulator

  dynamic "endpoints" {
    for_each = local.emulator ? [var.aws.endpoint_url] : []
    content {
      batch          = endpoints.value
      dynamodb       = endpoints.value
      ec2            = endpoints.value
      ecr            = endpoints.value
      eks            = endpoints.value
      iam            = endpoints.value
      kms            = endpoints.value
      logs           = endpoints.value
      rds            = endpoints.value
      s3             = endpoints.value
      sagemaker      = endpoints.value
      secretsmanager = endpoints.value
      sts            = endpoints.value
    }
  }
}

# The one place the sandbox differs from AWS. moto (the kit's sandbox) has no EKS add-on or access
# entry API, and it evaluates bucket policies without their conditions, so the TLS-only Deny would
# refuse every request. With this true, exactly those are left out: EKS add-ons, EKS access
# entries, and the TLS-only bucket policies. Module tests assert all three at plan level.
variable "emulator_compat" {
  description = "True only on the kit's sandbox (moto): leaves out EKS add-ons, access entries and TLS-only bucket policies, which moto cannot serve."
  type        = bool
  default     = false
}
