# The team stack: one model team's AWS resources in one environment (state teams/<env>/<team>.tfstate).
# Platform values arrive as rendered inputs read from the platform stack's outputs; this stack
# never plans the platform.

module "team" {
  source = "../../modules/team"

  team_name           = var.team_name
  active              = var.active
  namespace           = var.namespace
  role_name           = var.role_name
  sagemaker_role_name = var.sagemaker_role_name
  policy_name         = var.policy_name
  ecr_repository_name = var.ecr_repository_name
  cost_center         = var.cost_center

  cluster_name         = var.cluster_name
  oidc_provider_arn    = var.oidc_provider_arn
  oidc_issuer          = var.oidc_issuer
  artifact_bucket_name = var.artifact_bucket_name
  artifact_kms_key_arn = var.artifact_kms_key_arn

  catalog_repository_arns = var.catalog_repository_arns
  extra_buckets           = var.extra_buckets
  sagemaker_enabled       = var.sagemaker_enabled
  batch_queue_arns        = var.batch_queue_arns
  ecr_enabled             = var.ecr_enabled
  sso_role_arn            = var.sso_role_arn
  enable_eks_extras       = !var.emulator_compat

  tags = var.tags
}
