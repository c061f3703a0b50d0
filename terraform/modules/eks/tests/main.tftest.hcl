# Plan-level tests of the module with add-ons and access entries on (enable_eks_extras = true).
# Computed values that assertions or IAM policies depend on are mocked during plan (tests/mocks).

mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks"
}

variables {
  cluster_name       = "acme-prod"
  kubernetes_version = "1.31"
  vpc_id             = "vpc-0123456789abcdef0"
  subnet_ids         = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
  admin_role_arns = [
    "arn:aws:iam::123456789012:role/platform-admin",
    "arn:aws:iam::123456789012:role/ci-apply",
  ]
  node_groups = {
    system = {
      instance_types = ["m6i.large"]
      min_size       = 1
      max_size       = 3
      desired_size   = 2
      labels         = { role = "system" }
    }
    gpu = {
      instance_types = ["g5.xlarge", "g5.2xlarge"]
      min_size       = 0
      max_size       = 4
      desired_size   = 0
      gpu            = true
      capacity_type  = "SPOT"
      disk_size_gb   = 200
      labels         = { team = "vision" }
      taints         = [{ key = "team", value = "vision", effect = "NO_EXECUTE" }]
    }
  }
  tags = { environment = "prod" }
}

run "control_plane" {
  command = plan

  assert {
    condition     = aws_eks_cluster.this.version == "1.31" && output.cluster_version == "1.31"
    error_message = "The cluster must run kubernetes_version."
  }

  assert {
    condition     = toset(aws_eks_cluster.this.enabled_cluster_log_types) == toset(["api", "audit", "authenticator", "controllerManager", "scheduler"])
    error_message = "All five control-plane log types must be enabled."
  }

  assert {
    condition     = aws_cloudwatch_log_group.this.name == "/aws/eks/acme-prod/cluster" && aws_cloudwatch_log_group.this.retention_in_days == 90
    error_message = "The control-plane log group must be /aws/eks/<cluster_name>/cluster with the default retention."
  }

  assert {
    condition     = aws_cloudwatch_log_group.this.kms_key_id == aws_kms_key.this.arn
    error_message = "The control-plane log group must be encrypted with the module's key."
  }

  assert {
    condition = (
      length(aws_eks_cluster.this.encryption_config) == 1 &&
      toset(aws_eks_cluster.this.encryption_config[0].resources) == toset(["secrets"]) &&
      aws_eks_cluster.this.encryption_config[0].provider[0].key_arn == aws_kms_key.this.arn
    )
    error_message = "Secrets must be envelope-encrypted with the module's KMS key."
  }

  assert {
    condition     = aws_kms_key.this.enable_key_rotation && aws_kms_key.this.deletion_window_in_days == 30
    error_message = "The secrets key must rotate and use the default deletion window."
  }

  assert {
    condition     = aws_kms_alias.this.name == "alias/eks/acme-prod" && output.secrets_kms_key_arn == aws_kms_key.this.arn
    error_message = "The secrets key must have the alias alias/eks/<cluster_name>."
  }

  assert {
    condition     = aws_eks_cluster.this.access_config[0].authentication_mode == "API" && aws_eks_cluster.this.access_config[0].bootstrap_cluster_creator_admin_permissions == false
    error_message = "The cluster must use the access-entry API only, with no implicit creator admin."
  }

  assert {
    condition = (
      aws_eks_cluster.this.vpc_config[0].endpoint_private_access == true &&
      aws_eks_cluster.this.vpc_config[0].endpoint_public_access == false &&
      toset(aws_eks_cluster.this.vpc_config[0].subnet_ids) == toset(var.subnet_ids)
    )
    error_message = "By default the API endpoint must be private only, in the given subnets."
  }

  assert {
    condition     = aws_eks_cluster.this.role_arn == aws_iam_role.cluster.arn && aws_iam_role_policy_attachment.cluster.policy_arn == "arn:aws:iam::aws:policy/AmazonEKSClusterPolicy"
    error_message = "The cluster role must carry AmazonEKSClusterPolicy."
  }

  assert {
    condition     = jsondecode(aws_iam_role_policy.cluster_kms.policy).Statement[0].Resource == aws_kms_key.this.arn
    error_message = "The cluster role may use only the secrets key."
  }

  assert {
    condition     = aws_iam_openid_connect_provider.this.url == "https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE" && toset(aws_iam_openid_connect_provider.this.client_id_list) == toset(["sts.amazonaws.com"])
    error_message = "The IRSA OIDC provider must be the cluster's issuer with the STS audience."
  }

  assert {
    condition     = output.oidc_issuer_url == "https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE" && output.oidc_issuer == "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
    error_message = "oidc_issuer_url must keep https:// and oidc_issuer must drop it."
  }

  assert {
    condition     = aws_eks_cluster.this.tags["environment"] == "prod" && aws_kms_key.this.tags["environment"] == "prod"
    error_message = "var.tags must reach the taggable resources."
  }
}

run "key_policy" {
  command = plan

  assert {
    condition     = jsondecode(aws_kms_key.this.policy).Statement[0].Principal.AWS == "arn:aws:iam::123456789012:root"
    error_message = "The account must administer the key."
  }

  assert {
    condition = (
      jsondecode(aws_kms_key.this.policy).Statement[1].Principal.Service == "logs.eu-west-1.amazonaws.com" &&
      jsondecode(aws_kms_key.this.policy).Statement[1].Condition.ArnEquals["kms:EncryptionContext:aws:logs:arn"] == "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/eks/acme-prod/cluster"
    )
    error_message = "CloudWatch Logs may use the key for the control-plane log group only."
  }
}

run "node_groups" {
  command = plan

  assert {
    condition     = output.node_group_names == tomap({ system = "acme-prod-system", gpu = "acme-prod-gpu" })
    error_message = "Node groups must be named <cluster_name>-<key>."
  }

  assert {
    condition = (
      aws_eks_node_group.this["gpu"].ami_type == "AL2023_x86_64_NVIDIA" &&
      aws_eks_node_group.this["system"].ami_type == "AL2023_x86_64_STANDARD"
    )
    error_message = "GPU groups must use the AL2023 NVIDIA AMI, CPU groups the standard one."
  }

  assert {
    condition = (
      contains([for t in aws_eks_node_group.this["gpu"].taint : "${t.key}=${t.value}:${t.effect}"], "nvidia.com/gpu=true:NO_SCHEDULE") &&
      contains([for t in aws_eks_node_group.this["gpu"].taint : "${t.key}=${t.value}:${t.effect}"], "team=vision:NO_EXECUTE") &&
      length(aws_eks_node_group.this["gpu"].taint) == 2
    )
    error_message = "GPU groups must get the nvidia.com/gpu taint in addition to their own."
  }

  assert {
    condition     = length(aws_eks_node_group.this["system"].taint) == 0
    error_message = "CPU groups without taints must get none."
  }

  assert {
    condition = (
      aws_eks_node_group.this["gpu"].labels["nvidia.com/gpu.present"] == "true" &&
      aws_eks_node_group.this["gpu"].labels["platform-kit/accelerator"] == "nvidia" &&
      aws_eks_node_group.this["gpu"].labels["team"] == "vision"
    )
    error_message = "GPU groups must get the GPU labels in addition to their own."
  }

  assert {
    condition     = aws_eks_node_group.this["system"].labels == tomap({ role = "system" })
    error_message = "CPU groups must keep exactly their own labels."
  }

  assert {
    condition = alltrue([for g in aws_eks_node_group.this :
      g.update_config[0].max_unavailable_percentage == 33 && g.version == "1.31" && g.node_role_arn == aws_iam_role.node.arn
    ])
    error_message = "Node groups must follow the cluster version, use the node role and replace at most 33% of nodes at a time."
  }

  assert {
    condition = (
      aws_eks_node_group.this["gpu"].capacity_type == "SPOT" &&
      aws_eks_node_group.this["gpu"].instance_types == tolist(["g5.xlarge", "g5.2xlarge"]) &&
      aws_eks_node_group.this["system"].capacity_type == "ON_DEMAND" &&
      aws_eks_node_group.this["system"].scaling_config[0].desired_size == 2
    )
    error_message = "Node group capacity type, instance types and sizes must come from node_groups."
  }

  assert {
    condition = alltrue([for k, g in aws_eks_node_group.this :
      g.launch_template[0].id == aws_launch_template.this[k].id && g.launch_template[0].version == tostring(aws_launch_template.this[k].latest_version)
    ])
    error_message = "Each node group must use the latest version of its own launch template."
  }

  assert {
    condition = alltrue([for lt in aws_launch_template.this :
      lt.metadata_options[0].http_tokens == "required" && lt.metadata_options[0].http_put_response_hop_limit == 2 && lt.metadata_options[0].http_endpoint == "enabled"
    ])
    error_message = "Launch templates must require IMDSv2 with a hop limit of 2."
  }

  assert {
    condition = (
      aws_launch_template.this["gpu"].block_device_mappings[0].ebs[0].volume_size == 200 &&
      aws_launch_template.this["system"].block_device_mappings[0].ebs[0].volume_size == 50 &&
      alltrue([for lt in aws_launch_template.this :
        lt.block_device_mappings[0].device_name == "/dev/xvda" &&
        lt.block_device_mappings[0].ebs[0].volume_type == "gp3" &&
        lt.block_device_mappings[0].ebs[0].encrypted == "true"
      ])
    )
    error_message = "Root volumes must be encrypted gp3 of disk_size_gb."
  }

  assert {
    condition = alltrue([for lt in aws_launch_template.this :
      toset([for ts in lt.tag_specifications : ts.resource_type]) == toset(["instance", "volume", "network-interface"]) &&
      alltrue([for ts in lt.tag_specifications : ts.tags["environment"] == "prod"])
    ])
    error_message = "Instances, volumes and network interfaces must be tagged through the launch template."
  }

  assert {
    condition     = length(aws_ec2_tag.launch_template) == 2 && aws_ec2_tag.launch_template["gpu/environment"].value == "prod"
    error_message = "Each launch template must carry var.tags."
  }

  assert {
    condition = toset([for a in aws_iam_role_policy_attachment.node : a.policy_arn]) == toset([
      "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
      "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
      "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
    ])
    error_message = "The node role must carry exactly the worker, ECR read-only and SSM policies (CNI is on the vpc-cni role)."
  }

  assert {
    condition     = jsondecode(aws_iam_role.node.assume_role_policy).Statement[0].Principal.Service == "ec2.amazonaws.com"
    error_message = "Only EC2 may assume the node role."
  }
}

run "addons_and_access_entries" {
  command = plan

  assert {
    condition     = toset(concat(keys(aws_eks_addon.before_nodes), keys(aws_eks_addon.after_nodes))) == toset(["vpc-cni", "kube-proxy", "coredns", "aws-ebs-csi-driver"])
    error_message = "The four add-ons must be created when enable_eks_extras is true."
  }

  assert {
    condition = alltrue([for name, a in merge(aws_eks_addon.before_nodes, aws_eks_addon.after_nodes) :
      a.addon_version == var.addon_versions[name] && a.resolve_conflicts_on_create == "OVERWRITE" && a.resolve_conflicts_on_update == "OVERWRITE"
    ])
    error_message = "Add-ons must be pinned to addon_versions and overwrite conflicts."
  }

  assert {
    condition = (
      aws_eks_addon.before_nodes["kube-proxy"].addon_version == "v1.31.13-eksbuild.2" &&
      output.addon_versions == var.addon_versions
    )
    error_message = "The default pins must be the 1.31 ones and be reported by addon_versions."
  }

  assert {
    condition = (
      aws_eks_addon.after_nodes["aws-ebs-csi-driver"].service_account_role_arn == aws_iam_role.ebs_csi.arn &&
      aws_eks_addon.before_nodes["vpc-cni"].service_account_role_arn == aws_iam_role.vpc_cni.arn &&
      aws_eks_addon.after_nodes["coredns"].service_account_role_arn == null
    )
    error_message = "The EBS CSI driver and the VPC CNI must run with their IRSA roles."
  }

  assert {
    condition     = aws_iam_role_policy_attachment.ebs_csi.policy_arn == "arn:aws:iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy"
    error_message = "The EBS CSI role must carry AmazonEBSCSIDriverPolicy."
  }

  assert {
    condition     = aws_iam_role_policy_attachment.vpc_cni.policy_arn == "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"
    error_message = "The vpc-cni role must carry AmazonEKS_CNI_Policy."
  }

  assert {
    condition = (
      jsondecode(aws_iam_role.ebs_csi.assume_role_policy).Statement[0].Principal.Federated == aws_iam_openid_connect_provider.this.arn &&
      jsondecode(aws_iam_role.ebs_csi.assume_role_policy).Statement[0].Action == "sts:AssumeRoleWithWebIdentity" &&
      jsondecode(aws_iam_role.ebs_csi.assume_role_policy).Statement[0].Condition.StringEquals == {
        "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:sub" = "system:serviceaccount:kube-system:ebs-csi-controller-sa"
        "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:aud" = "sts.amazonaws.com"
      }
    )
    error_message = "The EBS CSI role must trust only kube-system/ebs-csi-controller-sa of this cluster, with the STS audience."
  }

  assert {
    condition     = jsondecode(aws_iam_role.vpc_cni.assume_role_policy).Statement[0].Condition.StringEquals["oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:sub"] == "system:serviceaccount:kube-system:aws-node"
    error_message = "The vpc-cni role must trust only kube-system/aws-node."
  }

  assert {
    condition     = toset(keys(aws_eks_access_entry.admin)) == toset(var.admin_role_arns) && alltrue([for k, e in aws_eks_access_entry.admin : e.principal_arn == k && e.type == "STANDARD"])
    error_message = "There must be one standard access entry per admin role."
  }

  assert {
    condition = length(aws_eks_access_policy_association.admin) == 2 && alltrue([for k, a in aws_eks_access_policy_association.admin :
      a.policy_arn == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy" && a.access_scope[0].type == "cluster" && a.principal_arn == k
    ])
    error_message = "Each admin role must get AmazonEKSClusterAdminPolicy at cluster scope."
  }

  assert {
    condition     = output.admin_access_entry_principal_arns == sort(var.admin_role_arns)
    error_message = "admin_access_entry_principal_arns must list the admin roles."
  }
}

run "no_wildcard_actions" {
  command = plan

  # The account-root statement of the key policy (kms:* on the key) is AWS's default key statement;
  # every other policy must name its actions.
  assert {
    condition = alltrue(flatten([
      for doc in [
        aws_iam_role.cluster.assume_role_policy,
        aws_iam_role.node.assume_role_policy,
        aws_iam_role.ebs_csi.assume_role_policy,
        aws_iam_role.vpc_cni.assume_role_policy,
        aws_iam_role_policy.cluster_kms.policy,
      ] : [for s in jsondecode(doc).Statement : [for a in flatten([s.Action]) : a != "*" && !endswith(a, ":*")]]
    ]))
    error_message = "No IAM policy of the module may grant a wildcard action."
  }

  assert {
    condition     = alltrue([for s in slice(jsondecode(aws_kms_key.this.policy).Statement, 1, length(jsondecode(aws_kms_key.this.policy).Statement)) : alltrue([for a in flatten([s.Action]) : !endswith(a, "*")])])
    error_message = "Only the account-root key statement may use a wildcard action."
  }
}

run "public_endpoint_with_allowlist" {
  command = plan

  variables {
    endpoint_public_access = true
    public_access_cidrs    = ["203.0.113.0/24", "198.51.100.7/32"]
  }

  assert {
    condition = (
      aws_eks_cluster.this.vpc_config[0].endpoint_public_access == true &&
      aws_eks_cluster.this.vpc_config[0].endpoint_private_access == true &&
      toset(aws_eks_cluster.this.vpc_config[0].public_access_cidrs) == toset(["203.0.113.0/24", "198.51.100.7/32"])
    )
    error_message = "A public endpoint must be limited to public_access_cidrs."
  }
}

run "long_cluster_name_keeps_role_names_valid" {
  command = plan

  variables {
    cluster_name = "a-very-long-cluster-name-that-is-still-a-valid-eks-name-x"
    node_groups = {
      sys = { instance_types = ["m6i.large"], min_size = 1, max_size = 2, desired_size = 1 }
    }
  }

  assert {
    condition = alltrue([for r in [aws_iam_role.cluster, aws_iam_role.node, aws_iam_role.ebs_csi, aws_iam_role.vpc_cni] :
      length(r.name) <= 64 && startswith(r.name, "a-very-long-cluster-name-that-is-still-a-")
    ])
    error_message = "IAM role names must stay within 64 characters for long cluster names."
  }
}
