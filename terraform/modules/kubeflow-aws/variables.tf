# ---------------------------------------------------------------------------------------------
# Naming and tagging
# ---------------------------------------------------------------------------------------------

variable "name" {
  description = "Prefix for the names this module derives itself (KMS alias, RDS identifier, DB subnet group, security group), usually \"<org>-<env>\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,30}[a-z0-9]$", var.name)) && !strcontains(var.name, "--")
    error_message = "The name must be 2 to 32 characters of lowercase letters, digits and single hyphens, starting with a letter and ending with a letter or digit (it prefixes the RDS identifier, which allows no \"--\")."
  }
}

variable "tags" {
  description = "Tags added to every taggable resource."
  type        = map(string)
  default     = {}
  nullable    = false
}

# ---------------------------------------------------------------------------------------------
# Artifact bucket and KMS key
# ---------------------------------------------------------------------------------------------

variable "artifact_bucket_name" {
  description = "Name of the S3 bucket for pipeline artifacts, packages and archived logs (platform_kit.naming.artifact_bucket: \"<org>-<env>-kfp-artifacts-<account_id>\")."
  type        = string

  validation {
    condition = (
      length(var.artifact_bucket_name) >= 3 &&
      length(var.artifact_bucket_name) <= 63 &&
      can(regex("^[a-z0-9][a-z0-9.-]*[a-z0-9]$", var.artifact_bucket_name)) &&
      !strcontains(var.artifact_bucket_name, "..") &&
      !can(regex("^[0-9]+\\.[0-9]+\\.[0-9]+\\.[0-9]+$", var.artifact_bucket_name)) &&
      !startswith(var.artifact_bucket_name, "xn--") &&
      !startswith(var.artifact_bucket_name, "sthree-") &&
      !endswith(var.artifact_bucket_name, "-s3alias") &&
      !endswith(var.artifact_bucket_name, "--ol-s3")
    )
    error_message = "The artifact bucket name must be 3 to 63 lowercase letters, digits, '.' and '-', start and end with a letter or digit, contain no \"..\", not look like an IP address, not start with \"xn--\" or \"sthree-\" and not end with \"-s3alias\" or \"--ol-s3\"."
  }
}

variable "force_destroy" {
  description = "Allow `terraform destroy` to delete the artifact bucket with every object version in it. Leave false outside throwaway environments."
  type        = bool
  default     = false
  nullable    = false
}

variable "kms_deletion_window_days" {
  description = "Days the module KMS key waits in PendingDeletion before it is deleted (AWS allows 7 to 30)."
  type        = number
  default     = 30
  nullable    = false

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30 && floor(var.kms_deletion_window_days) == var.kms_deletion_window_days
    error_message = "The KMS deletion window must be a whole number of days from 7 to 30."
  }
}

# ---------------------------------------------------------------------------------------------
# Network (used by the optional RDS instance)
# ---------------------------------------------------------------------------------------------

variable "vpc_id" {
  description = "VPC of the EKS cluster. Required when rds.enabled is true."
  type        = string
  default     = null

  validation {
    condition     = var.vpc_id == null || can(regex("^vpc-[0-9a-f]{8,17}$", var.vpc_id))
    error_message = "The VPC ID must look like \"vpc-0123456789abcdef0\"."
  }
}

variable "private_subnet_ids" {
  description = "Private subnets for the RDS DB subnet group, in at least two availability zones. Required when rds.enabled is true."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for id in var.private_subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", id))])
    error_message = "Every private subnet ID must look like \"subnet-0123456789abcdef0\"."
  }
}

variable "database_client_security_group_ids" {
  description = "Security groups (for example the EKS node or pod security group) allowed to reach MySQL on port 3306. Required when rds.enabled is true."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for id in var.database_client_security_group_ids : can(regex("^sg-[0-9a-f]{8,17}$", id))])
    error_message = "Every database client security group ID must look like \"sg-0123456789abcdef0\"."
  }
}

# ---------------------------------------------------------------------------------------------
# RDS MySQL for KFP metadata
# ---------------------------------------------------------------------------------------------

variable "rds" {
  description = "Optional RDS MySQL 8.0 instance for the KFP API server, ML Metadata and cache databases. Disabled by default (KFP then runs its in-cluster MySQL)."
  type = object({
    enabled               = bool
    instance_class        = optional(string, "db.t3.medium")
    allocated_storage_gb  = optional(number, 20)
    multi_az              = optional(bool, false)
    backup_retention_days = optional(number, 7)
  })
  default  = { enabled = false }
  nullable = false

  validation {
    condition     = can(regex("^db\\.[a-z0-9-]+\\.[a-z0-9]+$", var.rds.instance_class))
    error_message = "rds.instance_class must be an RDS instance class such as \"db.t3.medium\" or \"db.m7g.large\"."
  }

  validation {
    condition     = var.rds.allocated_storage_gb >= 20 && var.rds.allocated_storage_gb <= 65536 && floor(var.rds.allocated_storage_gb) == var.rds.allocated_storage_gb
    error_message = "rds.allocated_storage_gb must be a whole number from 20 to 65536 (the gp3 range for MySQL)."
  }

  validation {
    condition     = var.rds.backup_retention_days >= 1 && var.rds.backup_retention_days <= 35 && floor(var.rds.backup_retention_days) == var.rds.backup_retention_days
    error_message = "rds.backup_retention_days must be a whole number from 1 to 35 (0 would turn automated backups off)."
  }

  validation {
    condition = !var.rds.enabled || (
      var.vpc_id != null &&
      length(var.private_subnet_ids) >= 2 &&
      length(var.database_client_security_group_ids) >= 1
    )
    error_message = "When rds.enabled is true, set vpc_id, at least two private_subnet_ids (in different availability zones) and at least one database_client_security_group_ids entry."
  }
}

# ---------------------------------------------------------------------------------------------
# IRSA
# ---------------------------------------------------------------------------------------------

variable "oidc_provider_arn" {
  description = "ARN of the EKS cluster's IAM OIDC provider (arn:aws:iam::<account>:oidc-provider/<issuer>)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/[^/].*[^/]$", var.oidc_provider_arn))
    error_message = "oidc_provider_arn must be an IAM OIDC provider ARN such as \"arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE\"."
  }
}

variable "oidc_issuer" {
  description = "The cluster's OIDC issuer without \"https://\" (oidc.eks.<region>.amazonaws.com/id/<id>); the prefix of the :sub and :aud condition keys."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9.-]+(/[A-Za-z0-9._-]+)*$", var.oidc_issuer))
    error_message = "oidc_issuer must be the issuer host and path without a scheme or trailing slash, such as \"oidc.eks.us-east-1.amazonaws.com/id/EXAMPLE\"."
  }

  validation {
    condition     = endswith(var.oidc_provider_arn, ":oidc-provider/${var.oidc_issuer}")
    error_message = "oidc_issuer must be the issuer of oidc_provider_arn (the ARN must end with \":oidc-provider/<oidc_issuer>\")."
  }
}

variable "kubeflow_namespace" {
  description = "Namespace of the Kubeflow Pipelines control plane; the service accounts below live there."
  type        = string
  default     = "kubeflow"
  nullable    = false

  validation {
    condition     = length(var.kubeflow_namespace) <= 63 && can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", var.kubeflow_namespace))
    error_message = "kubeflow_namespace must be a DNS-1123 label: at most 63 lowercase letters, digits and '-', starting and ending with a letter or digit."
  }
}

variable "kfp_service_accounts" {
  description = "Service accounts in kubeflow_namespace that may assume the KFP role. Defaults are the upstream names of the API server, the UI and the visualization server (kubeflow/manifests applications/pipeline/upstream/base/pipeline/*-sa.yaml)."
  type        = list(string)
  default     = ["ml-pipeline", "ml-pipeline-ui", "ml-pipeline-visualizationserver"]
  nullable    = false

  validation {
    condition     = length(var.kfp_service_accounts) > 0 && alltrue([for sa in var.kfp_service_accounts : length(sa) <= 253 && can(regex("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", sa))])
    error_message = "kfp_service_accounts must be a non-empty list of Kubernetes service account names (lowercase DNS-1123 subdomains of at most 253 characters)."
  }
}

variable "argo_service_accounts" {
  description = "Service accounts in kubeflow_namespace that may assume the Argo role: the Argo workflow controller (\"argo\") and the pod service account of pipeline runs in kubeflow_namespace (\"pipeline-runner\"). Runs in team namespaces use their team's role instead."
  type        = list(string)
  default     = ["argo", "pipeline-runner"]
  nullable    = false

  validation {
    condition     = length(var.argo_service_accounts) > 0 && alltrue([for sa in var.argo_service_accounts : length(sa) <= 253 && can(regex("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", sa))])
    error_message = "argo_service_accounts must be a non-empty list of Kubernetes service account names (lowercase DNS-1123 subdomains of at most 253 characters)."
  }
}

variable "argo_artifact_prefixes" {
  description = "Key prefixes of the artifact bucket the Argo role may list, read, write and delete: Argo's keyFormat (\"artifacts/\") and the KFP v2 default pipeline root (\"v2/artifacts/\")."
  type        = list(string)
  default     = ["artifacts/", "v2/artifacts/"]
  nullable    = false

  validation {
    condition     = length(var.argo_artifact_prefixes) > 0 && alltrue([for p in var.argo_artifact_prefixes : can(regex("^[A-Za-z0-9!_.'()-]+(/[A-Za-z0-9!_.'()-]+)*/$", p))])
    error_message = "argo_artifact_prefixes must be a non-empty list of key prefixes such as \"artifacts/\": no leading '/', ending with '/', and no wildcards ('*', '?')."
  }
}

variable "kfp_role_name" {
  description = "Name of the IAM role for the KFP service accounts."
  type        = string

  validation {
    condition     = length(var.kfp_role_name) >= 1 && length(var.kfp_role_name) <= 64 && can(regex("^[\\w+=,.@-]+$", var.kfp_role_name))
    error_message = "kfp_role_name must be 1 to 64 characters of letters, digits and +=,.@_- (the IAM role name limit)."
  }
}

variable "argo_role_name" {
  description = "Name of the IAM role for the Argo service accounts."
  type        = string

  validation {
    condition     = length(var.argo_role_name) >= 1 && length(var.argo_role_name) <= 64 && can(regex("^[\\w+=,.@-]+$", var.argo_role_name))
    error_message = "argo_role_name must be 1 to 64 characters of letters, digits and +=,.@_- (the IAM role name limit)."
  }

  validation {
    condition     = var.argo_role_name != var.kfp_role_name
    error_message = "argo_role_name must differ from kfp_role_name."
  }
}

# ---------------------------------------------------------------------------------------------
# Secrets Manager
# ---------------------------------------------------------------------------------------------

variable "secret_prefix" {
  description = "Path prefix of every secret this module creates, such as \"acme/dev\" (secrets are \"<prefix>/kubeflow/...\")."
  type        = string

  validation {
    condition     = length(var.secret_prefix) <= 400 && can(regex("^[A-Za-z0-9_+=.@-]+(/[A-Za-z0-9_+=.@-]+)*$", var.secret_prefix))
    error_message = "secret_prefix must be at most 400 characters of letters, digits and _+=.@- in '/'-separated segments, with no leading, trailing or doubled '/'."
  }
}

variable "dex_connector_secret_names" {
  description = "Names of Dex connector secrets (for example \"github\", \"okta\") created as empty containers at \"<secret_prefix>/kubeflow/dex/connectors/<name>\"; admins put the values out of band."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for n in var.dex_connector_secret_names : length(n) <= 64 && can(regex("^[A-Za-z0-9_+=.@-]+$", n))])
    error_message = "Each Dex connector secret name must be 1 to 64 characters of letters, digits and _+=.@- (no '/')."
  }

  validation {
    condition     = length(distinct(var.dex_connector_secret_names)) == length(var.dex_connector_secret_names)
    error_message = "dex_connector_secret_names must not repeat a name."
  }
}

# ---------------------------------------------------------------------------------------------
# ECR
# ---------------------------------------------------------------------------------------------

variable "catalog_repository_name" {
  description = "Name of the ECR repository for catalog (component) images, such as \"acme/kubeflow/catalog\"."
  type        = string

  validation {
    condition     = length(var.catalog_repository_name) >= 2 && length(var.catalog_repository_name) <= 256 && can(regex("^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$", var.catalog_repository_name))
    error_message = "catalog_repository_name must be 2 to 256 characters: lowercase path segments of letters and digits separated by '.', '_', '-' or '/'."
  }
}

variable "catalog_untagged_images_to_keep" {
  description = "How many untagged images the catalog repository lifecycle policy keeps; older untagged images expire."
  type        = number
  default     = 10
  nullable    = false

  validation {
    condition     = var.catalog_untagged_images_to_keep >= 1 && var.catalog_untagged_images_to_keep <= 1000 && floor(var.catalog_untagged_images_to_keep) == var.catalog_untagged_images_to_keep
    error_message = "catalog_untagged_images_to_keep must be a whole number from 1 to 1000."
  }
}

variable "enforce_tls" {
  description = "Attach the TLS-only bucket policy (Deny when aws:SecureTransport is false). Set false only on an emulator that ignores policy conditions and would deny every request (the kit's sandbox: moto); nothing else changes."
  type        = bool
  default     = true
  nullable    = false
}
