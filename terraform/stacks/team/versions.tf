terraform {
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.70, < 6.0"
    }
  }

  # Partial configuration: the CLI passes bucket, key, region, kms_key_id and use_lockfile = true
  # (the S3 lockfile, Terraform >= 1.10) at init. One state per stack.
  backend "s3" {}
}
