# EKS add-ons and access entries: the APIs that the kit's sandbox does not emulate, so both are
# switched by enable_eks_extras. Everything else in the module is the same either way.

locals {
  # Before the nodes: the nodes need pod networking (vpc-cni, with its IRSA role) and service
  # routing (kube-proxy) to become Ready. Both are DaemonSets, so they are ACTIVE with no nodes.
  addons_before_nodes = {
    "vpc-cni"    = { service_account_role_arn = aws_iam_role.vpc_cni.arn }
    "kube-proxy" = { service_account_role_arn = null }
  }

  # After the nodes: Deployments that only become ACTIVE once they have somewhere to run.
  addons_after_nodes = {
    "coredns"            = { service_account_role_arn = null }
    "aws-ebs-csi-driver" = { service_account_role_arn = aws_iam_role.ebs_csi.arn }
  }
}

resource "aws_eks_addon" "before_nodes" {
  for_each = var.enable_eks_extras ? local.addons_before_nodes : {}

  cluster_name                = aws_eks_cluster.this.name
  addon_name                  = each.key
  addon_version               = var.addon_versions[each.key]
  service_account_role_arn    = each.value.service_account_role_arn
  resolve_conflicts_on_create = "OVERWRITE"
  resolve_conflicts_on_update = "OVERWRITE"
  # Deleting the add-on object (enable_eks_extras = false on a live cluster, a rename) must not
  # take pod networking down with it: EKS leaves the software running.
  preserve = true

  tags = var.tags

  depends_on = [aws_iam_role_policy_attachment.vpc_cni]
}

resource "aws_eks_addon" "after_nodes" {
  for_each = var.enable_eks_extras ? local.addons_after_nodes : {}

  cluster_name                = aws_eks_cluster.this.name
  addon_name                  = each.key
  addon_version               = var.addon_versions[each.key]
  service_account_role_arn    = each.value.service_account_role_arn
  resolve_conflicts_on_create = "OVERWRITE"
  resolve_conflicts_on_update = "OVERWRITE"
  # Likewise for cluster DNS and volumes in use.
  preserve = true

  tags = var.tags

  depends_on = [
    aws_eks_node_group.this,
    aws_iam_role_policy_attachment.ebs_csi,
  ]
}

# Cluster-admin for each role in admin_role_arns, through the EKS access API (authentication_mode
# API; there is no aws-auth ConfigMap).
resource "aws_eks_access_entry" "admin" {
  for_each = var.enable_eks_extras ? toset(var.admin_role_arns) : toset([])

  cluster_name  = aws_eks_cluster.this.name
  principal_arn = each.value
  type          = "STANDARD"

  tags = var.tags
}

resource "aws_eks_access_policy_association" "admin" {
  for_each = aws_eks_access_entry.admin

  cluster_name  = aws_eks_cluster.this.name
  principal_arn = each.value.principal_arn
  policy_arn    = "arn:${local.partition}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy"

  access_scope {
    type = "cluster"
  }
}
