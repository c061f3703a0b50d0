output "role_arn" {
  description = "ARN of the pipeline role; annotate the namespace's default-editor service account with it (eks.amazonaws.com/role-arn)."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Name of the pipeline role."
  value       = aws_iam_role.this.name
}

output "sagemaker_role_arn" {
  description = "ARN of the SageMaker execution role to pass to CreateTrainingJob; null when sagemaker_enabled is false."
  value       = one(aws_iam_role.sagemaker[*].arn)
}

output "ecr_repository_url" {
  description = "URL of the team's ECR repository; null when ecr_enabled is false."
  value       = one(aws_ecr_repository.this[*].repository_url)
}

output "artifact_prefixes" {
  description = "Key prefixes of the artifact bucket the team may read and write (set the namespace's pipeline root under one of them)."
  value       = local.artifact_prefixes
}

output "namespace" {
  description = "The team's Kubernetes namespace, whose default-editor service account may assume the pipeline role."
  value       = var.namespace
}

output "policy_json" {
  description = "The pipeline role's policy document (JSON), for reviews and tests."
  value       = local.pipeline_policy_json
}
