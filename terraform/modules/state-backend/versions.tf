terraform {
  # 1.10: the S3 backend's native lockfile (use_lockfile), which this bucket is built for.
  required_version = ">= 1.10"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.70"
    }
  }
}
