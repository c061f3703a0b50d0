# IAM roles of the cluster, the nodes and the add-ons' service accounts (IRSA).

locals {
  # IAM role names allow 64 characters and cluster names 100: a long cluster name is cut and kept
  # unique by a short hash of the whole name, so "<base>-eks-cluster" (the longest) fits.
  role_name_base = length(var.cluster_name) <= 52 ? var.cluster_name : "${substr(var.cluster_name, 0, 43)}-${substr(sha256(var.cluster_name), 0, 8)}"

  managed_policy_prefix = "arn:${local.partition}:iam::aws:policy"

  # The node role carries no AmazonEKS_CNI_Policy: the vpc-cni add-on's own IRSA role (below) holds
  # it, so pods on the node cannot use the node's credentials to change ENIs.
  node_policies = {
    worker = "${local.managed_policy_prefix}/AmazonEKSWorkerNodePolicy"
    ecr    = "${local.managed_policy_prefix}/AmazonEC2ContainerRegistryReadOnly"
    ssm    = "${local.managed_policy_prefix}/AmazonSSMManagedInstanceCore"
  }
}

# --- control plane ------------------------------------------------------------------------------

resource "aws_iam_role" "cluster" {
  name        = "${local.role_name_base}-eks-cluster"
  description = "EKS control plane of ${var.cluster_name}"

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "eks.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "cluster" {
  role       = aws_iam_role.cluster.name
  policy_arn = "${local.managed_policy_prefix}/AmazonEKSClusterPolicy"
}

# Secrets envelope encryption: the control plane uses the key through this role.
resource "aws_iam_role_policy" "cluster_kms" {
  name = "secrets-encryption"
  role = aws_iam_role.cluster.id

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect   = "Allow"
      Action   = ["kms:Encrypt", "kms:Decrypt", "kms:ListGrants", "kms:DescribeKey"]
      Resource = aws_kms_key.this.arn
    }]
  })
}

# --- nodes --------------------------------------------------------------------------------------

resource "aws_iam_role" "node" {
  name        = "${local.role_name_base}-eks-node"
  description = "Managed node groups of EKS cluster ${var.cluster_name}"

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "ec2.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "node" {
  for_each = local.node_policies

  role       = aws_iam_role.node.name
  policy_arn = each.value
}

# --- IRSA roles of add-ons ------------------------------------------------------------------------
# Created whatever enable_eks_extras says (IAM is plain AWS); only the add-ons that use them are
# switched off.

locals {
  irsa_service_accounts = {
    ebs_csi = "system:serviceaccount:kube-system:ebs-csi-controller-sa"
    vpc_cni = "system:serviceaccount:kube-system:aws-node"
  }

  # Trust for one service account of this cluster, through its OIDC provider.
  irsa_trust = {
    for k, sa in local.irsa_service_accounts : k => jsonencode({
      Version = "2012-10-17"
      Statement = [{
        Effect    = "Allow"
        Principal = { Federated = aws_iam_openid_connect_provider.this.arn }
        Action    = "sts:AssumeRoleWithWebIdentity"
        Condition = {
          StringEquals = {
            "${local.oidc_issuer}:sub" = sa
            "${local.oidc_issuer}:aud" = "sts.amazonaws.com"
          }
        }
      }]
    })
  }
}

resource "aws_iam_role" "ebs_csi" {
  name               = "${local.role_name_base}-ebs-csi"
  description        = "EBS CSI driver controller (kube-system/ebs-csi-controller-sa) of EKS cluster ${var.cluster_name}"
  assume_role_policy = local.irsa_trust.ebs_csi

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "ebs_csi" {
  role       = aws_iam_role.ebs_csi.name
  policy_arn = "${local.managed_policy_prefix}/service-role/AmazonEBSCSIDriverPolicy"
}

resource "aws_iam_role" "vpc_cni" {
  name               = "${local.role_name_base}-vpc-cni"
  description        = "Amazon VPC CNI (kube-system/aws-node) of EKS cluster ${var.cluster_name}"
  assume_role_policy = local.irsa_trust.vpc_cni

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "vpc_cni" {
  role       = aws_iam_role.vpc_cni.name
  policy_arn = "${local.managed_policy_prefix}/AmazonEKS_CNI_Policy"
}
