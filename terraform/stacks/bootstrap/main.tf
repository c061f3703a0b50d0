# The bootstrap stack: the S3 bucket (and KMS key) that hold every other stack's state.

variable "bucket_name" {
  description = "State bucket name, derived by the CLI (<org>-tfstate-<account>-<region>)."
  type        = string
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}

module "state_backend" {
  source = "../../modules/state-backend"

  bucket_name = var.bucket_name
  enforce_tls = !var.emulator_compat
  tags        = var.tags
}

output "bucket_name" {
  description = "The state bucket."
  value       = module.state_backend.bucket_name
}

output "kms_key_arn" {
  description = "The KMS key that encrypts state objects."
  value       = module.state_backend.kms_key_arn
}

output "backend_config" {
  description = "Settings for the S3 backend of the other stacks."
  value       = module.state_backend.backend_config
}
