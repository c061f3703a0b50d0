variable "team_name" {
  description = "Team name (the file name under platform/teams/)."
  type        = string
}

variable "namespace" {
  description = "The team's Kubernetes namespace (its Kubeflow profile)."
  type        = string
}

variable "role_name" {
  description = "Name of the team's pipeline role (IRSA)."
  type        = string
}

variable "sagemaker_role_name" {
  description = "Name of the team's SageMaker execution role."
  type        = string
}

variable "policy_name" {
  description = "Name of the pipeline role's policy."
  type        = string
}

variable "ecr_repository_name" {
  description = "The team's ECR repository."
  type        = string
}

variable "cost_center" {
  description = "Cost-allocation tag value."
  type        = string
}

variable "cluster_name" {
  description = "EKS cluster (platform output)."
  type        = string
}

variable "oidc_provider_arn" {
  description = "The cluster's IAM OIDC provider (platform output)."
  type        = string
}

variable "oidc_issuer" {
  description = "The cluster's OIDC issuer without https:// (platform output)."
  type        = string
}

variable "artifact_bucket_name" {
  description = "Kubeflow Pipelines artifact bucket (platform output)."
  type        = string
}

variable "artifact_kms_key_arn" {
  description = "KMS key of the artifact bucket (platform output)."
  type        = string
}

variable "catalog_repository_arns" {
  description = "Catalog image repositories the team's SageMaker jobs may pull (platform output)."
  type        = list(string)
  default     = []
}

variable "extra_buckets" {
  description = "Other buckets the team reads or writes."
  type = list(object({
    name   = string
    access = string
    prefix = optional(string, "")
  }))
  default = []
}

variable "sagemaker_enabled" {
  description = "Let the team run SageMaker training jobs."
  type        = bool
  default     = false
}

variable "batch_queue_arns" {
  description = "AWS Batch job queues the team may submit to."
  type        = list(string)
  default     = []
}

variable "ecr_enabled" {
  description = "Create the team's ECR repository."
  type        = bool
  default     = true
}

variable "active" {
  description = "False once the team is offboarded (state: stale): nothing may assume its roles."
  type        = bool
  default     = true
}

variable "sso_role_arn" {
  description = "The team's SSO role, given edit access to its namespace (null for none)."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
