# EKS control plane: the cluster, its secrets KMS key, its log group and its IAM OIDC provider.
# IAM roles are in iam.tf, node groups in node_groups.tf, add-ons and access entries in addons.tf.

data "aws_partition" "current" {}
data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

# Read back so a plan fails early when a subnet is in another VPC or all sit in one zone. count, not
# for_each: the IDs are often unknown until apply (a VPC created in the same run), their number not.
data "aws_subnet" "selected" {
  count = length(var.subnet_ids)
  id    = var.subnet_ids[count.index]
}

locals {
  partition  = data.aws_partition.current.partition
  account_id = data.aws_caller_identity.current.account_id
  region     = data.aws_region.current.name

  # EKS writes control-plane logs to this fixed name; creating it first sets retention and the key.
  log_group_name = "/aws/eks/${var.cluster_name}/cluster"
  log_types      = ["api", "audit", "authenticator", "controllerManager", "scheduler"]

  oidc_issuer_url = aws_eks_cluster.this.identity[0].oidc[0].issuer
  # The issuer without its scheme: the prefix of IRSA condition keys (<issuer>:sub, <issuer>:aud).
  oidc_issuer = trimprefix(local.oidc_issuer_url, "https://")
}

resource "aws_kms_key" "this" {
  description             = "Envelope encryption of Kubernetes secrets and control-plane logs of EKS cluster ${var.cluster_name}"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_days

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        # AWS's default key statement: the account administers the key and IAM policies grant its
        # use (the cluster role's grant, the deployer's CreateGrant). Without it the key could
        # become unmanageable. In a key policy, Resource "*" means this key; AWS requires "*".
        Sid       = "AccountAdministersKey"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
        Action    = "kms:*"
        Resource  = "*"
      },
      {
        # CloudWatch Logs encrypts the control-plane log group with this key, for that group only.
        Sid       = "CloudWatchLogsEncryptsControlPlaneLogs"
        Effect    = "Allow"
        Principal = { Service = "logs.${local.region}.amazonaws.com" }
        Action    = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo", "kms:GenerateDataKey", "kms:GenerateDataKeyWithoutPlaintext", "kms:DescribeKey"]
        Resource  = "*" # a key policy's only valid Resource (this key)
        Condition = {
          ArnEquals = {
            "kms:EncryptionContext:aws:logs:arn" = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:${local.log_group_name}"
          }
        }
      },
    ]
  })

  tags = merge(var.tags, { Name = "${var.cluster_name}-eks" })
}

resource "aws_kms_alias" "this" {
  name          = "alias/eks/${var.cluster_name}"
  target_key_id = aws_kms_key.this.key_id
}

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:Retention is the caller's choice (log_retention_days, up to 10 years or forever); control-plane audit logs are large, so the default is 90 days.
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = aws_kms_key.this.arn

  tags = var.tags
}

resource "aws_eks_cluster" "this" {
  name     = var.cluster_name
  version  = var.kubernetes_version
  role_arn = aws_iam_role.cluster.arn

  enabled_cluster_log_types = local.log_types

  # EKS installs self-managed vpc-cni, kube-proxy and coredns at creation. With enable_eks_extras
  # the EKS add-ons take them over (OVERWRITE); without it they are what runs. Create-only: a
  # change replaces the cluster.
  bootstrap_self_managed_addons = true

  access_config {
    authentication_mode = "API"
    # Admins are explicit access entries (admin_role_arns); whoever runs the first apply gets no
    # hidden, unmanaged admin entry. true here would also clash with an access entry for that role.
    bootstrap_cluster_creator_admin_permissions = false
  }

  encryption_config {
    resources = ["secrets"]
    provider {
      key_arn = aws_kms_key.this.arn
    }
  }

  vpc_config {
    subnet_ids              = var.subnet_ids
    endpoint_private_access = var.endpoint_private_access
    endpoint_public_access  = var.endpoint_public_access
    # Unset when private only: EKS then reports 0.0.0.0/0 (unused), which must not show as a diff.
    public_access_cidrs = var.endpoint_public_access ? var.public_access_cidrs : null
  }

  tags = var.tags

  lifecycle {
    # access_config is fixed at creation here: authentication modes only move forward
    # (CONFIG_MAP -> API_AND_CONFIG_MAP -> API, and this module creates API), and the bootstrap
    # flag is create-only and never returned by the API, so a change in it would replace the
    # cluster. Emulators that do not return accessConfig (moto) otherwise plan a replacement.
    ignore_changes = [access_config]

    precondition {
      condition     = alltrue([for s in data.aws_subnet.selected : s.vpc_id == var.vpc_id])
      error_message = "Every subnet in subnet_ids must belong to vpc_id ${var.vpc_id}."
    }

    precondition {
      condition     = length(distinct([for s in data.aws_subnet.selected : s.availability_zone])) >= 2
      error_message = "subnet_ids must span at least two Availability Zones (an EKS requirement)."
    }
  }

  # The role needs its policies before EKS validates it; the log group must exist before EKS
  # creates its own without retention or key.
  depends_on = [
    aws_iam_role_policy_attachment.cluster,
    aws_iam_role_policy.cluster_kms,
    aws_cloudwatch_log_group.this,
  ]
}

# IRSA: lets Kubernetes service accounts assume IAM roles. No thumbprint_list: IAM secures the EKS
# issuer with its own trusted root CAs, and provider 5.x makes the list optional.
resource "aws_iam_openid_connect_provider" "this" {
  url            = local.oidc_issuer_url
  client_id_list = ["sts.amazonaws.com"]

  tags = merge(var.tags, { Name = "${var.cluster_name}-eks-irsa" })
}
