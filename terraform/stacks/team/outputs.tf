output "role_arn" {
  description = "The team's pipeline role (annotated on its default-editor service account)."
  value       = module.team.role_arn
}

output "sagemaker_role_arn" {
  description = "The team's SageMaker execution role, or null."
  value       = module.team.sagemaker_role_arn
}

output "ecr_repository_url" {
  description = "The team's ECR repository, or null."
  value       = module.team.ecr_repository_url
}

output "artifact_prefixes" {
  description = "Prefixes of the artifact bucket the team may use."
  value       = module.team.artifact_prefixes
}

output "namespace" {
  description = "The team's namespace."
  value       = module.team.namespace
}
