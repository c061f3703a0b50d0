output "artifact_bucket_name" {
  description = "Name of the artifact bucket (KFP's bucketName and Argo's artifactRepository.s3.bucket)."
  value       = aws_s3_bucket.this.id
}

output "artifact_bucket_arn" {
  description = "ARN of the artifact bucket."
  value       = aws_s3_bucket.this.arn
}

output "kms_key_arn" {
  description = "ARN of the module KMS key that encrypts the artifacts, secrets, catalog images and the RDS instance."
  value       = aws_kms_key.this.arn
}

output "kfp_role_arn" {
  description = "ARN of the IRSA role for the KFP service accounts (eks.amazonaws.com/role-arn annotation)."
  value       = aws_iam_role.kfp.arn
}

output "argo_role_arn" {
  description = "ARN of the IRSA role for the Argo workflow controller and pipeline runs in the Kubeflow namespace."
  value       = aws_iam_role.argo.arn
}

output "catalog_repository_url" {
  description = "URL of the catalog ECR repository (<account>.dkr.ecr.<region>.amazonaws.com/<name>)."
  value       = aws_ecr_repository.this.repository_url
}

output "catalog_repository_arn" {
  description = "ARN of the catalog ECR repository."
  value       = aws_ecr_repository.this.arn
}

output "oauth2_proxy_client_secret_arn" {
  description = "ARN of the Secrets Manager secret holding the oauth2-proxy OIDC client secret (shared with Dex's static client)."
  value       = aws_secretsmanager_secret.oauth2_proxy_client_secret.arn
}

output "oauth2_proxy_cookie_secret_arn" {
  description = "ARN of the Secrets Manager secret holding the 32-character oauth2-proxy cookie secret."
  value       = aws_secretsmanager_secret.oauth2_proxy_cookie_secret.arn
}

output "dex_connector_secret_arns" {
  description = "ARNs of the empty Dex connector secrets, by connector name."
  value       = { for name, secret in aws_secretsmanager_secret.dex_connector : name => secret.arn }
}

output "rds_endpoint" {
  description = "Hostname of the KFP metadata database (MySQL on port 3306), or null when rds.enabled is false."
  value       = var.rds.enabled ? aws_db_instance.this[0].address : null
}

output "rds_master_secret_arn" {
  description = "ARN of the RDS-managed Secrets Manager secret with the master username and password, or null when rds.enabled is false."
  value       = var.rds.enabled ? aws_db_instance.this[0].master_user_secret[0].secret_arn : null
}
