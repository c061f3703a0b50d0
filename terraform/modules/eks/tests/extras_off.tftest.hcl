# enable_eks_extras = false (the kit's sandbox): no add-ons and no access entries, everything else
# as with the switch on.

mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks"
}

variables {
  cluster_name       = "acme-sandbox"
  kubernetes_version = "1.31"
  vpc_id             = "vpc-0123456789abcdef0"
  subnet_ids         = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
  admin_role_arns    = ["arn:aws:iam::123456789012:role/platform-admin"]
  enable_eks_extras  = false
  node_groups = {
    cpu = { instance_types = ["m6i.large"], min_size = 1, max_size = 2, desired_size = 1 }
    gpu = { instance_types = ["g5.xlarge"], min_size = 0, max_size = 1, desired_size = 1, gpu = true }
  }
}

run "extras_absent" {
  command = plan

  assert {
    condition     = length(aws_eks_addon.before_nodes) == 0 && length(aws_eks_addon.after_nodes) == 0
    error_message = "No add-on may be created when enable_eks_extras is false."
  }

  assert {
    condition     = length(aws_eks_access_entry.admin) == 0 && length(aws_eks_access_policy_association.admin) == 0
    error_message = "No access entry may be created when enable_eks_extras is false."
  }

  assert {
    condition     = output.addon_versions == null && output.admin_access_entry_principal_arns == null
    error_message = "Outputs of resources that do not exist must be null."
  }
}

run "everything_else_unchanged" {
  command = plan

  assert {
    condition     = aws_eks_cluster.this.access_config[0].authentication_mode == "API" && length(aws_eks_cluster.this.encryption_config) == 1
    error_message = "The cluster must be configured as with the switch on."
  }

  assert {
    condition     = length(aws_eks_cluster.this.enabled_cluster_log_types) == 5 && aws_iam_openid_connect_provider.this.url == "https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
    error_message = "Logging and the IRSA provider must not depend on the switch."
  }

  assert {
    condition     = output.ebs_csi_role_arn == aws_iam_role.ebs_csi.arn && aws_iam_role_policy_attachment.ebs_csi.policy_arn == "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
    error_message = "The EBS CSI IRSA role exists with the switch off; only its add-on binding does not."
  }

  assert {
    condition     = output.node_group_names == tomap({ cpu = "acme-sandbox-cpu", gpu = "acme-sandbox-gpu" }) && aws_eks_node_group.this["gpu"].ami_type == "AL2023_x86_64_NVIDIA"
    error_message = "Node groups must not depend on the switch."
  }
}
