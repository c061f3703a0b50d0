output "oidc_provider_arn" {
  description = "ARN of the GitHub Actions OIDC provider (created here, or existing_oidc_provider_arn)."
  value       = local.oidc_provider_arn
}

output "plan_role_arn" {
  description = "ARN of the plan role, for aws-actions/configure-aws-credentials in pull-request workflows."
  value       = aws_iam_role.plan.arn
}

output "apply_role_arn" {
  description = "ARN of the apply role, for aws-actions/configure-aws-credentials in workflows on the main branch."
  value       = aws_iam_role.apply.arn
}
