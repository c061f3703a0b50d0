variable "bucket_name" {
  description = "Name of the S3 bucket that holds Terraform state (the CLI derives <org>-tfstate-<account>-<region>). Also names the KMS alias, with '.' turned into '-'."
  type        = string
  nullable    = false

  validation {
    condition     = length(var.bucket_name) >= 3 && length(var.bucket_name) <= 63
    error_message = "bucket_name must be 3 to 63 characters long (an S3 bucket name)."
  }

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]*[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name may contain only lowercase letters, digits, '.' and '-', and must start and end with a letter or digit."
  }

  validation {
    condition     = !strcontains(var.bucket_name, "..") && !can(regex("^[0-9]+[.][0-9]+[.][0-9]+[.][0-9]+$", var.bucket_name))
    error_message = "bucket_name must not contain '..' and must not look like an IP address."
  }

  validation {
    condition = !anytrue(concat(
      [for p in ["xn--", "sthree-", "amzn-s3-demo-"] : startswith(var.bucket_name, p)],
      [for x in ["-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"] : endswith(var.bucket_name, x)],
    ))
    error_message = "bucket_name must not start with 'xn--', 'sthree-' or 'amzn-s3-demo-', nor end with '-s3alias', '--ol-s3', '.mrap', '--x-s3' or '--table-s3' (reserved by S3)."
  }
}

variable "kms_deletion_window_days" {
  description = "Days KMS waits before deleting the state key once it is scheduled for deletion (7 to 30)."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30 && floor(var.kms_deletion_window_days) == var.kms_deletion_window_days
    error_message = "kms_deletion_window_days must be a whole number from 7 to 30 (the range KMS allows)."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days after which a non-current (overwritten or deleted) state version is deleted for good."
  type        = number
  default     = 90
  nullable    = false

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1 && floor(var.noncurrent_version_expiration_days) == var.noncurrent_version_expiration_days
    error_message = "noncurrent_version_expiration_days must be a whole number of at least 1."
  }
}

variable "force_destroy" {
  description = "Allow `terraform destroy` to delete the bucket while it still holds state objects. Keep false outside throwaway environments."
  type        = bool
  default     = false
  nullable    = false
}

variable "tags" {
  description = "Tags added to every resource that takes tags."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "enforce_tls" {
  description = "Attach the TLS-only bucket policy (Deny when aws:SecureTransport is false). Set false only on an emulator that ignores policy conditions and would deny every request (the kit's sandbox: moto); nothing else changes."
  type        = bool
  default     = true
  nullable    = false
}
