# One model team's AWS resources in one environment: the pipeline role (IRSA), its policy, the
# SageMaker execution role, the team ECR repository and the SSO role's EKS access entry.
# The IAM documents are in iam.tf.

data "aws_partition" "current" {}
data "aws_region" "current" {}
data "aws_caller_identity" "current" {}

locals {
  partition  = data.aws_partition.current.partition
  dns_suffix = data.aws_partition.current.dns_suffix
  region     = data.aws_region.current.name
  account_id = data.aws_caller_identity.current.account_id

  # The module's tags win over var.tags, so a caller cannot mislabel a team's resources.
  tags = merge(var.tags, {
    team          = var.team_name
    "cost-center" = var.cost_center
  })

  # Kubeflow Pipelines writes v1 artifacts under artifacts/ and v2 under v2/artifacts/; each team
  # gets its own folder in both. The trailing slash keeps team "alpha" out of "alpha-2/".
  artifact_prefixes = ["artifacts/${var.team_name}/", "v2/artifacts/${var.team_name}/"]

  create_access_entry = var.enable_eks_extras && var.sso_role_arn != null && var.active
}

# --- team ECR repository ---------------------------------------------------------------------

resource "aws_ecr_repository" "this" {
  count = var.ecr_enabled ? 1 : 0

  name                 = var.ecr_repository_name
  image_tag_mutability = "IMMUTABLE"

  image_scanning_configuration {
    scan_on_push = true
  }

  # KMS with the AWS managed key (aws/ecr): encrypted at rest with a key whose use is logged in
  # CloudTrail, without a customer key per team to administer.
  encryption_configuration {
    encryption_type = "KMS"
  }

  tags = local.tags
}

resource "aws_ecr_lifecycle_policy" "this" {
  count = var.ecr_enabled ? 1 : 0

  repository = aws_ecr_repository.this[0].name
  policy = jsonencode({
    rules = [{
      rulePriority = 1
      description  = "Expire untagged images after ${var.ecr_untagged_image_expiry_days} days"
      selection = {
        tagStatus   = "untagged"
        countType   = "sinceImagePushed"
        countUnit   = "days"
        countNumber = var.ecr_untagged_image_expiry_days
      }
      action = { type = "expire" }
    }]
  })
}

# --- EKS access for the team's SSO role ------------------------------------------------------

resource "aws_eks_access_entry" "sso" {
  count = local.create_access_entry ? 1 : 0

  cluster_name  = var.cluster_name
  principal_arn = var.sso_role_arn
  type          = "STANDARD"

  tags = local.tags
}

resource "aws_eks_access_policy_association" "sso_edit" {
  count = local.create_access_entry ? 1 : 0

  cluster_name  = aws_eks_access_entry.sso[0].cluster_name
  principal_arn = aws_eks_access_entry.sso[0].principal_arn
  policy_arn    = "arn:${local.partition}:eks::aws:cluster-access-policy/AmazonEKSEditPolicy"

  access_scope {
    type       = "namespace"
    namespaces = [var.namespace]
  }
}
