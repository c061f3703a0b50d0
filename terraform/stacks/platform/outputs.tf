# Team stacks read these from this stack's state (through the CLI); keep names stable.

output "region" {
  description = "The environment's region."
  value       = var.aws.region
}

output "vpc_id" {
  description = "The VPC."
  value       = module.network.vpc_id
}

output "private_subnet_ids" {
  description = "Private subnets (nodes, pods, RDS)."
  value       = module.network.private_subnet_ids
}

output "cluster_name" {
  description = "The EKS cluster."
  value       = module.eks.cluster_name
}

output "cluster_endpoint" {
  description = "The Kubernetes API endpoint."
  value       = module.eks.cluster_endpoint
}

output "cluster_version" {
  description = "The Kubernetes version."
  value       = module.eks.cluster_version
}

output "oidc_provider_arn" {
  description = "The cluster's IAM OIDC provider (IRSA)."
  value       = module.eks.oidc_provider_arn
}

output "oidc_issuer" {
  description = "The cluster's OIDC issuer without https:// (IRSA condition keys)."
  value       = module.eks.oidc_issuer
}

output "oidc_issuer_url" {
  description = "The cluster's OIDC issuer URL (the Kubeflow m2m issuer)."
  value       = module.eks.oidc_issuer_url
}

output "artifact_bucket_name" {
  description = "Kubeflow Pipelines artifact bucket."
  value       = module.kubeflow_aws.artifact_bucket_name
}

output "artifact_kms_key_arn" {
  description = "KMS key of the artifact bucket."
  value       = module.kubeflow_aws.kms_key_arn
}

output "kfp_role_arn" {
  description = "IRSA role of the Kubeflow Pipelines service accounts."
  value       = module.kubeflow_aws.kfp_role_arn
}

output "argo_role_arn" {
  description = "IRSA role of the Argo workflow service accounts."
  value       = module.kubeflow_aws.argo_role_arn
}

output "catalog_repository_url" {
  description = "ECR repository for catalog images."
  value       = module.kubeflow_aws.catalog_repository_url
}

output "catalog_repository_arn" {
  description = "ECR repository for catalog images (ARN, for team pull permissions)."
  value       = module.kubeflow_aws.catalog_repository_arn
}

output "oauth2_proxy_client_secret_arn" {
  description = "Secrets Manager ARN of the oauth2-proxy client secret (never its value)."
  value       = module.kubeflow_aws.oauth2_proxy_client_secret_arn
}

output "oauth2_proxy_cookie_secret_arn" {
  description = "Secrets Manager ARN of the oauth2-proxy cookie secret (never its value)."
  value       = module.kubeflow_aws.oauth2_proxy_cookie_secret_arn
}

output "rds_endpoint" {
  description = "Hostname of the Pipelines database (RDS MySQL), or null when storage.rds is off."
  value       = module.kubeflow_aws.rds_endpoint
}

output "rds_master_secret_arn" {
  description = "Secrets Manager ARN of the RDS-managed master login (never its value), or null."
  value       = module.kubeflow_aws.rds_master_secret_arn
}

output "ci_plan_role_arn" {
  description = "Role CI assumes to plan pull requests, or null."
  value       = try(module.ci_oidc[0].plan_role_arn, null)
}

output "ci_apply_role_arn" {
  description = "Role CI assumes to apply on the main branch, or null."
  value       = try(module.ci_oidc[0].apply_role_arn, null)
}
