# The platform stack of one environment (state platform/<env>.tfstate): network, EKS, the AWS side
# of Kubeflow Pipelines, and the CI roles.

module "network" {
  source = "../../modules/network"

  name         = var.name
  cluster_name = var.cluster.name
  vpc_cidr     = try(var.network.vpc_cidr, null)
  az_count     = var.network.az_count
  nat_mode     = var.network.nat_mode
  existing     = try(var.network.existing, null)
  tags         = var.tags
}

module "eks" {
  source = "../../modules/eks"

  cluster_name            = var.cluster.name
  kubernetes_version      = var.cluster.kubernetes_version
  addon_versions          = var.cluster.addon_versions
  vpc_id                  = module.network.vpc_id
  subnet_ids              = module.network.private_subnet_ids
  endpoint_private_access = var.cluster.endpoint_private_access
  endpoint_public_access  = var.cluster.endpoint_public_access
  public_access_cidrs     = var.cluster.public_access_cidrs
  node_groups             = var.cluster.node_groups
  admin_role_arns         = var.cluster.admin_role_arns
  enable_eks_extras       = !var.emulator_compat
  tags                    = var.tags
}

module "kubeflow_aws" {
  source = "../../modules/kubeflow-aws"

  name                       = var.name
  artifact_bucket_name       = var.kubeflow.artifact_bucket_name
  oidc_provider_arn          = module.eks.oidc_provider_arn
  oidc_issuer                = module.eks.oidc_issuer
  kfp_role_name              = var.kubeflow.kfp_role_name
  argo_role_name             = var.kubeflow.argo_role_name
  catalog_repository_name    = var.kubeflow.catalog_repository_name
  secret_prefix              = var.kubeflow.secret_prefix
  dex_connector_secret_names = var.kubeflow.dex_connector_secret_names
  rds                        = var.kubeflow.rds
  vpc_id                     = module.network.vpc_id
  private_subnet_ids         = module.network.private_subnet_ids
  enforce_tls                = !var.emulator_compat

  # Managed node groups use the cluster security group, so pods reach the database through it.
  database_client_security_group_ids = var.kubeflow.rds.enabled ? [module.eks.cluster_security_group_id] : []
  tags                               = var.tags
}

module "ci_oidc" {
  source = "../../modules/ci-oidc"
  count  = var.ci == null ? 0 : 1

  github_repository    = var.ci.github_repository
  main_branch          = var.ci.main_branch
  create_oidc_provider = var.ci.create_oidc_provider
  apply_policy_arns    = var.ci.apply_policy_arns
  plan_role_name       = var.ci.plan_role_name
  apply_role_name      = var.ci.apply_role_name
  state_bucket_arn     = "arn:${data.aws_partition.current.partition}:s3:::${var.ci.state_bucket_name}"
  state_kms_key_arn    = data.aws_kms_alias.state[0].target_key_arn
  tags                 = var.tags
}

# The CI apply role applies each merged render (CRDs, cluster roles, Profiles): cluster-admin through
# the EKS access API, as for admin_role_arns. Left out on the sandbox (moto has no access entries).
resource "aws_eks_access_entry" "ci_apply" {
  count = var.ci != null && try(var.ci.apply_role_cluster_admin, true) && !var.emulator_compat ? 1 : 0

  cluster_name  = module.eks.cluster_name
  principal_arn = module.ci_oidc[0].apply_role_arn
  type          = "STANDARD"
  tags          = var.tags
}

resource "aws_eks_access_policy_association" "ci_apply" {
  count = length(aws_eks_access_entry.ci_apply)

  cluster_name  = module.eks.cluster_name
  principal_arn = aws_eks_access_entry.ci_apply[0].principal_arn
  policy_arn    = "arn:${data.aws_partition.current.partition}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"

  access_scope {
    type = "cluster"
  }
}

data "aws_partition" "current" {}

# The state bucket's key, found by its alias so the CI roles can decrypt state.
data "aws_kms_alias" "state" {
  count = var.ci == null ? 0 : 1
  name  = "alias/${var.ci.state_bucket_name}"
}
