# Names are derived by the CLI (platform_kit.naming) and validated again here, so the module is
# safe to call without the CLI. The rules match platform_kit/naming.py.

# --- identity of the team --------------------------------------------------------------------

variable "team_name" {
  description = "Team name: a DNS-1123 label. It scopes the S3 prefixes, SageMaker job names, Batch job definitions and log streams the team may use."
  type        = string

  validation {
    condition     = length(var.team_name) <= 63 && can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", var.team_name))
    error_message = "team_name must be a DNS-1123 label: 1 to 63 lowercase letters, digits and '-', starting and ending with a letter or digit."
  }
}

variable "active" {
  description = "False for an offboarded (stale) team: its roles' trust denies every principal and its SSO role loses cluster access; roles, policy, repository and data stay."
  type        = bool
  default     = true
}

variable "namespace" {
  description = "The team's Kubernetes namespace (its Kubeflow profile; usually equal to team_name). Its default-editor service account may assume the pipeline role, and the SSO role's access entry is scoped to it."
  type        = string

  validation {
    condition     = length(var.namespace) <= 63 && can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", var.namespace))
    error_message = "namespace must be a DNS-1123 label: 1 to 63 lowercase letters, digits and '-', starting and ending with a letter or digit."
  }
}

variable "cost_center" {
  description = "Cost-allocation value, set as the cost-center tag on every resource."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.:/=+@-]{1,256}$", var.cost_center))
    error_message = "cost_center must be 1 to 256 characters of letters, digits and _.:/=+@-."
  }
}

variable "tags" {
  description = "Tags for every taggable resource. The module's team and cost-center tags take precedence over keys of the same name."
  type        = map(string)
  default     = {}
  nullable    = false

  validation {
    condition = alltrue([
      for k, v in var.tags : length(k) >= 1 && length(k) <= 128 && length(v) <= 256 && !startswith(lower(k), "aws:")
    ])
    error_message = "tags: keys must be 1 to 128 characters and may not start with 'aws:'; values at most 256 characters."
  }
}

# --- names of the AWS resources --------------------------------------------------------------

variable "role_name" {
  description = "Name of the pipeline IAM role that the team's pipelines assume through IRSA."
  type        = string

  validation {
    condition     = length(var.role_name) <= 64 && can(regex("^[\\w+=,.@-]+$", var.role_name))
    error_message = "role_name must be an IAM role name: 1 to 64 letters, digits and +=,.@_-."
  }
}

variable "sagemaker_role_name" {
  description = "Name of the SageMaker execution role for the team's training jobs (created only when sagemaker_enabled)."
  type        = string

  validation {
    condition     = length(var.sagemaker_role_name) <= 64 && can(regex("^[\\w+=,.@-]+$", var.sagemaker_role_name))
    error_message = "sagemaker_role_name must be an IAM role name: 1 to 64 letters, digits and +=,.@_-."
  }

  validation {
    condition     = var.sagemaker_role_name != var.role_name
    error_message = "sagemaker_role_name must differ from role_name."
  }
}

variable "policy_name" {
  description = "Name of the customer-managed IAM policy attached to the pipeline role."
  type        = string

  validation {
    condition     = length(var.policy_name) <= 128 && can(regex("^[\\w+=,.@-]+$", var.policy_name))
    error_message = "policy_name must be an IAM policy name: 1 to 128 letters, digits and +=,.@_-."
  }
}

variable "ecr_repository_name" {
  description = "Name of the team's ECR repository (for example acme/teams/perception)."
  type        = string

  validation {
    condition = (
      length(var.ecr_repository_name) >= 2 && length(var.ecr_repository_name) <= 256 &&
      can(regex("^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$", var.ecr_repository_name))
    )
    error_message = "ecr_repository_name must be 2 to 256 characters: lowercase path segments of letters and digits separated by '.', '_', '-' or '/'."
  }
}

# --- cluster identity ------------------------------------------------------------------------

variable "oidc_provider_arn" {
  description = "ARN of the cluster's IAM OIDC provider (IRSA)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/[a-z0-9.-]+(/[A-Za-z0-9._~-]+)*$", var.oidc_provider_arn))
    error_message = "oidc_provider_arn must be an IAM OIDC provider ARN: arn:<partition>:iam::<12-digit account>:oidc-provider/<issuer host and path>."
  }
}

variable "oidc_issuer" {
  description = "The cluster's OIDC issuer without the scheme (oidc.eks.<region>.amazonaws.com/id/<ID>); the prefix of the sub and aud condition keys."
  type        = string

  validation {
    condition     = !strcontains(var.oidc_issuer, "://") && can(regex("^[a-z0-9.-]+(/[A-Za-z0-9._~-]+)*$", var.oidc_issuer))
    error_message = "oidc_issuer must be the issuer host and path without a scheme or trailing slash, for example oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE (not https://...)."
  }

  validation {
    condition     = endswith(var.oidc_provider_arn, ":oidc-provider/${var.oidc_issuer}")
    error_message = "oidc_issuer must be the issuer of oidc_provider_arn (the ARN must end with oidc-provider/<oidc_issuer>)."
  }
}

variable "cluster_name" {
  description = "Name of the EKS cluster that gets the SSO role's access entry."
  type        = string

  validation {
    condition     = length(var.cluster_name) <= 100 && can(regex("^[0-9A-Za-z][A-Za-z0-9_-]*$", var.cluster_name))
    error_message = "cluster_name must be an EKS cluster name: 1 to 100 letters, digits, '-' and '_', starting with a letter or digit."
  }
}

variable "sso_role_arn" {
  description = "ARN of the team's SSO IAM role (a path such as /aws-reserved/sso.amazonaws.com/ is allowed). When set and enable_eks_extras is true, it gets an EKS access entry with AmazonEKSEditPolicy on the team namespace only. null: no access entry."
  type        = string
  default     = null

  validation {
    condition     = var.sso_role_arn == null ? true : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/[\\w+=,.@/-]+$", var.sso_role_arn))
    error_message = "sso_role_arn must be null or an IAM role ARN: arn:<partition>:iam::<12-digit account>:role/<optional path/><name>."
  }
}

variable "enable_eks_extras" {
  description = "Create the EKS access entry for the SSO role. The sandbox (moto) does not emulate access entries and sets false; nothing else changes."
  type        = bool
  default     = true
  nullable    = false
}

variable "permissions_boundary_arn" {
  description = "ARN of an IAM policy set as the permissions boundary of both roles. null: no boundary."
  type        = string
  default     = null

  validation {
    condition     = var.permissions_boundary_arn == null ? true : can(regex("^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/[\\w+=,.@/-]+$", var.permissions_boundary_arn))
    error_message = "permissions_boundary_arn must be null or an IAM policy ARN: arn:<partition>:iam::<account or aws>:policy/<optional path/><name>."
  }
}

# --- storage ---------------------------------------------------------------------------------

variable "artifact_bucket_name" {
  description = "The environment's Kubeflow Pipelines artifact bucket. The team may use only artifacts/<team>/ and v2/artifacts/<team>/ in it."
  type        = string

  validation {
    condition = (
      length(var.artifact_bucket_name) >= 3 && length(var.artifact_bucket_name) <= 63 &&
      can(regex("^[a-z0-9][a-z0-9.-]*[a-z0-9]$", var.artifact_bucket_name)) &&
      !strcontains(var.artifact_bucket_name, "..") &&
      !startswith(var.artifact_bucket_name, "xn--") && !endswith(var.artifact_bucket_name, "-s3alias")
    )
    error_message = "artifact_bucket_name must be an S3 bucket name: 3 to 63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit, no '..'."
  }
}

variable "artifact_kms_key_arn" {
  description = "ARN of the KMS key that encrypts the artifact bucket (SSE-KMS). The roles may use it only through S3."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[A-Za-z0-9-]+$", var.artifact_kms_key_arn))
    error_message = "artifact_kms_key_arn must be a KMS key ARN: arn:<partition>:kms:<region>:<12-digit account>:key/<key id> (not an alias)."
  }
}

variable "extra_buckets" {
  description = "Other existing buckets the pipeline role may use: read (get and list) or write (read plus put and delete), limited to keys under prefix (\"\" for the whole bucket; otherwise a key prefix ending in '/')."
  type = list(object({
    name   = string
    access = string
    prefix = optional(string, "")
  }))
  default  = []
  nullable = false

  validation {
    condition = alltrue([
      for b in var.extra_buckets : (
        length(b.name) >= 3 && length(b.name) <= 63 &&
        can(regex("^[a-z0-9][a-z0-9.-]*[a-z0-9]$", b.name)) && !strcontains(b.name, "..")
      )
    ])
    error_message = "extra_buckets[*].name must be an S3 bucket name: 3 to 63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit."
  }

  validation {
    condition     = alltrue([for b in var.extra_buckets : contains(["read", "write"], b.access)])
    error_message = "extra_buckets[*].access must be \"read\" or \"write\"."
  }

  validation {
    condition = alltrue([
      for b in var.extra_buckets : b.prefix != null && (b.prefix == "" || can(regex("^[^/*?$][^*?$]*/$", b.prefix)))
    ])
    error_message = "extra_buckets[*].prefix must be \"\" or a key prefix ending in '/' (for example camera/), not starting with '/', without the IAM wildcards * and ? or '$'."
  }

  validation {
    condition     = alltrue([for b in var.extra_buckets : b.name != var.artifact_bucket_name])
    error_message = "extra_buckets may not list the artifact bucket: the team's access to it is limited to its own prefixes."
  }
}

# --- compute ---------------------------------------------------------------------------------

variable "sagemaker_enabled" {
  description = "Create the SageMaker execution role and let the pipeline role run training jobs named <team>-*."
  type        = bool
  default     = false
  nullable    = false
}

variable "batch_queue_arns" {
  description = "AWS Batch job queue ARNs the pipeline role may submit to (with job definitions named <team>-*). Empty: no Batch permissions."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition = alltrue([
      for q in var.batch_queue_arns : can(regex("^arn:aws[a-z-]*:batch:[a-z0-9-]+:[0-9]{12}:job-queue/[A-Za-z0-9_-]{1,128}$", q))
    ])
    error_message = "batch_queue_arns must be AWS Batch job queue ARNs: arn:<partition>:batch:<region>:<12-digit account>:job-queue/<name> (no wildcards)."
  }
}

variable "ecr_enabled" {
  description = "Create the team's ECR repository and let the pipeline role push and pull it."
  type        = bool
  default     = true
  nullable    = false
}

variable "ecr_untagged_image_expiry_days" {
  description = "Days after which the team repository's lifecycle policy expires untagged images."
  type        = number
  default     = 14
  nullable    = false

  validation {
    condition     = var.ecr_untagged_image_expiry_days >= 1 && var.ecr_untagged_image_expiry_days <= 3650 && floor(var.ecr_untagged_image_expiry_days) == var.ecr_untagged_image_expiry_days
    error_message = "ecr_untagged_image_expiry_days must be a whole number from 1 to 3650."
  }
}

variable "catalog_repository_arns" {
  description = "ECR repository ARNs of the platform's catalog images that the SageMaker execution role may pull (a trailing /* covers a namespace of repositories)."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition = alltrue([
      for r in var.catalog_repository_arns : can(regex("^arn:aws[a-z-]*:ecr:[a-z0-9-]+:[0-9]{12}:repository/[a-z0-9][a-z0-9._/-]*(/\\*)?$", r))
    ])
    error_message = "catalog_repository_arns must be ECR repository ARNs: arn:<partition>:ecr:<region>:<12-digit account>:repository/<name>, optionally ending in /*."
  }
}
