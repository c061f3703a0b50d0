variable "github_repository" {
  description = "GitHub repository whose workflows may assume the roles, as \"owner/name\". Matched case-sensitively against the token's sub claim, so spell it as GitHub does."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9](?:[A-Za-z0-9-]{0,37}[A-Za-z0-9])?/[A-Za-z0-9._-]{1,100}$", var.github_repository)) && !can(regex("/\\.\\.?$", var.github_repository))
    error_message = "github_repository must be \"owner/name\": an owner of 1 to 39 letters, digits and inner hyphens, and a name of 1 to 100 letters, digits, '.', '_' and '-' (not \".\" or \"..\")."
  }
}

variable "main_branch" {
  description = "Branch whose workflows may assume the apply role."
  type        = string
  default     = "main"
  nullable    = false

  validation {
    condition     = length(var.main_branch) <= 255 && can(regex("^[A-Za-z0-9._/-]+$", var.main_branch)) && !startswith(var.main_branch, "/") && !endswith(var.main_branch, "/") && !strcontains(var.main_branch, "..") && !strcontains(var.main_branch, "//") && !endswith(var.main_branch, ".lock")
    error_message = "main_branch must be a plain branch name such as \"main\" or \"release/prod\": letters, digits, '.', '_', '-' and inner '/', no \"..\", no wildcards, not ending in \".lock\"."
  }
}

variable "create_oidc_provider" {
  description = "Create the GitHub Actions OIDC provider. An account holds only one provider per URL: set false in every other stack of the account and pass existing_oidc_provider_arn."
  type        = bool
  default     = true
  nullable    = false
}

variable "existing_oidc_provider_arn" {
  description = "ARN of the account's existing token.actions.githubusercontent.com OIDC provider; required when create_oidc_provider is false, ignored otherwise."
  type        = string
  default     = null

  validation {
    condition     = var.existing_oidc_provider_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/token\\.actions\\.githubusercontent\\.com$", var.existing_oidc_provider_arn))
    error_message = "existing_oidc_provider_arn must be the ARN of the GitHub Actions OIDC provider: arn:aws:iam::<account>:oidc-provider/token.actions.githubusercontent.com."
  }

  validation {
    condition     = var.create_oidc_provider || var.existing_oidc_provider_arn != null
    error_message = "Set existing_oidc_provider_arn when create_oidc_provider is false."
  }
}

variable "plan_role_name" {
  description = "Name of the IAM role pull-request workflows assume to run terraform plan."
  type        = string

  validation {
    condition     = length(var.plan_role_name) >= 1 && length(var.plan_role_name) <= 64 && can(regex("^[\\w+=,.@-]+$", var.plan_role_name))
    error_message = "plan_role_name must be 1 to 64 characters of letters, digits and +=,.@_- (the IAM role name limit)."
  }
}

variable "apply_role_name" {
  description = "Name of the IAM role main-branch workflows assume to run terraform apply."
  type        = string

  validation {
    condition     = length(var.apply_role_name) >= 1 && length(var.apply_role_name) <= 64 && can(regex("^[\\w+=,.@-]+$", var.apply_role_name))
    error_message = "apply_role_name must be 1 to 64 characters of letters, digits and +=,.@_- (the IAM role name limit)."
  }

  validation {
    condition     = var.apply_role_name != var.plan_role_name
    error_message = "apply_role_name must differ from plan_role_name."
  }
}

variable "apply_policy_arns" {
  description = "IAM policies attached to the apply role, which decide what CI may change. Required, with no default: choosing them (a policy scoped to what the stacks manage, or AdministratorAccess) is the account owner's decision."
  type        = list(string)
  nullable    = false

  validation {
    condition     = length(var.apply_policy_arns) > 0
    error_message = "apply_policy_arns must name at least one IAM policy ARN; the module has no default so that what CI may change is an explicit choice."
  }

  validation {
    condition     = alltrue([for arn in var.apply_policy_arns : can(regex("^arn:aws[a-z-]*:iam::(aws|[0-9]{12}):policy/.+$", arn))])
    error_message = "Every entry of apply_policy_arns must be an IAM policy ARN, such as \"arn:aws:iam::123456789012:policy/platform-apply\"."
  }

  validation {
    condition     = length(distinct(var.apply_policy_arns)) == length(var.apply_policy_arns)
    error_message = "apply_policy_arns must not repeat a policy ARN."
  }

  validation {
    condition     = length(var.apply_policy_arns) <= 20
    error_message = "apply_policy_arns allows at most 20 policies (the IAM maximum of managed policies per role; the default quota is 10)."
  }
}

variable "state_bucket_arn" {
  description = "ARN of the S3 bucket holding Terraform state (arn:aws:s3:::<bucket>)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:s3:::[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.state_bucket_arn))
    error_message = "state_bucket_arn must be an S3 bucket ARN such as \"arn:aws:s3:::acme-tfstate-123456789012-us-east-1\" (no key path)."
  }
}

variable "state_kms_key_arn" {
  description = "ARN of the KMS key that encrypts the state bucket, or null when the bucket uses SSE-S3."
  type        = string
  default     = null

  validation {
    condition     = var.state_kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.state_kms_key_arn))
    error_message = "state_kms_key_arn must be a KMS key ARN such as \"arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab\" (not an alias)."
  }
}

variable "tags" {
  description = "Tags added to every taggable resource."
  type        = map(string)
  default     = {}
  nullable    = false
}
