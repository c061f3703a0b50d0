output "cluster_name" {
  description = "Name of the EKS cluster."
  value       = aws_eks_cluster.this.name
}

output "cluster_arn" {
  description = "ARN of the EKS cluster."
  value       = aws_eks_cluster.this.arn
}

output "cluster_endpoint" {
  description = "HTTPS endpoint of the Kubernetes API server."
  value       = aws_eks_cluster.this.endpoint
}

output "cluster_certificate_authority_data" {
  description = "Base64-encoded CA certificate of the Kubernetes API server."
  value       = aws_eks_cluster.this.certificate_authority[0].data
}

output "cluster_version" {
  description = "Kubernetes minor version of the control plane."
  value       = aws_eks_cluster.this.version
}

output "cluster_security_group_id" {
  description = "Security group that EKS created for the control plane and the managed nodes."
  value       = aws_eks_cluster.this.vpc_config[0].cluster_security_group_id
}

output "oidc_provider_arn" {
  description = "ARN of the cluster's IAM OIDC provider, the Federated principal of IRSA trust policies."
  value       = aws_iam_openid_connect_provider.this.arn
}

output "oidc_issuer_url" {
  description = "OIDC issuer URL of the cluster (https://oidc.eks.<region>.amazonaws.com/id/<id>)."
  value       = local.oidc_issuer_url
}

output "oidc_issuer" {
  description = "OIDC issuer without the scheme: the prefix of IRSA condition keys (<issuer>:sub, <issuer>:aud)."
  value       = local.oidc_issuer
}

output "secrets_kms_key_arn" {
  description = "ARN of the KMS key that envelope-encrypts Kubernetes secrets (and the control-plane log group)."
  value       = aws_kms_key.this.arn
}

output "cluster_log_group_name" {
  description = "CloudWatch log group of the control-plane logs."
  value       = aws_cloudwatch_log_group.this.name
}

output "node_role_arn" {
  description = "ARN of the IAM role of the managed nodes."
  value       = aws_iam_role.node.arn
}

output "node_group_names" {
  description = "EKS node group names by node_groups key."
  value       = tomap({ for k, g in aws_eks_node_group.this : k => g.node_group_name })
}

output "ebs_csi_role_arn" {
  description = "ARN of the IRSA role of the EBS CSI controller (kube-system/ebs-csi-controller-sa). Exists even when enable_eks_extras is false; only the add-on is not created then."
  value       = aws_iam_role.ebs_csi.arn
}

output "vpc_cni_role_arn" {
  description = "ARN of the IRSA role of the Amazon VPC CNI (kube-system/aws-node), which holds AmazonEKS_CNI_Policy instead of the node role."
  value       = aws_iam_role.vpc_cni.arn
}

output "addon_versions" {
  description = "Installed EKS add-on versions by name; null when enable_eks_extras is false."
  value       = var.enable_eks_extras ? tomap({ for name, a in merge(aws_eks_addon.before_nodes, aws_eks_addon.after_nodes) : name => a.addon_version }) : null
}

output "admin_access_entry_principal_arns" {
  description = "IAM roles with a cluster-admin access entry; null when enable_eks_extras is false."
  value       = var.enable_eks_extras ? sort([for e in aws_eks_access_entry.admin : e.principal_arn]) : null
}
