# Managed node groups, each with its own launch template.

locals {
  gpu_taint = { key = "nvidia.com/gpu", value = "true", effect = "NO_SCHEDULE" }
  gpu_labels = {
    "nvidia.com/gpu.present"   = "true"
    "platform-kit/accelerator" = "nvidia"
  }

  # Everything a node group needs, with the GPU additions applied. EKS keys taints by key and
  # effect, so a user taint equal to the GPU taint's key and effect is dropped, not duplicated.
  node_groups = {
    for k, g in var.node_groups : k => {
      name           = "${var.cluster_name}-${k}"
      instance_types = g.instance_types
      capacity_type  = g.capacity_type
      disk_size_gb   = g.disk_size_gb
      min_size       = g.min_size
      max_size       = g.max_size
      desired_size   = g.desired_size
      ami_type       = g.gpu ? "AL2023_x86_64_NVIDIA" : "AL2023_x86_64_STANDARD"
      labels         = g.gpu ? merge(g.labels, local.gpu_labels) : g.labels
      taints = concat(
        g.gpu ? [local.gpu_taint] : [],
        [for t in g.taints : t if !(g.gpu && t.key == local.gpu_taint.key && t.effect == local.gpu_taint.effect)],
      )
    }
  }
}

resource "aws_launch_template" "this" {
  #checkov:skip=CKV_AWS_341:Hop limit 2 is deliberate: IMDSv2 responses must reach containers that are not on the host network (the EBS CSI node plugin reads instance metadata); IMDSv2 itself stays required.
  for_each = local.node_groups

  name                   = each.value.name
  description            = "Nodes of EKS node group ${each.value.name}"
  update_default_version = true

  # IMDSv2 only. Hop limit 2 lets pods that still need instance metadata reach it through the
  # extra network hop of their namespace; IRSA is the way pods should get credentials.
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 2
  }

  # Root volume of the AL2023 EKS AMIs.
  block_device_mappings {
    device_name = "/dev/xvda"
    ebs {
      volume_size           = each.value.disk_size_gb
      volume_type           = "gp3"
      encrypted             = true
      delete_on_termination = true
    }
  }

  dynamic "tag_specifications" {
    for_each = toset(["instance", "volume", "network-interface"])
    content {
      resource_type = tag_specifications.value
      tags          = merge(var.tags, { Name = each.value.name })
    }
  }

  # The template's own tags are aws_ec2_tag resources below, not `tags` here: moto copies tags given
  # at creation into the template data as a "launch-template" tag specification, which would plan a
  # new template version, and so a node group update, on every run in the sandbox.
}

resource "aws_ec2_tag" "launch_template" {
  for_each = merge([
    for k, g in local.node_groups : {
      for tag_key, tag_value in var.tags : "${k}/${tag_key}" => { template = k, key = tag_key, value = tag_value }
    }
  ]...)

  resource_id = aws_launch_template.this[each.value.template].id
  key         = each.value.key
  value       = each.value.value
}

resource "aws_eks_node_group" "this" {
  for_each = local.node_groups

  cluster_name    = aws_eks_cluster.this.name
  node_group_name = each.value.name
  node_role_arn   = aws_iam_role.node.arn
  subnet_ids      = var.subnet_ids

  # Follows the control plane: after a cluster version update the nodes roll to the same minor,
  # at most max_unavailable_percentage of them at a time.
  version        = aws_eks_cluster.this.version
  ami_type       = each.value.ami_type
  capacity_type  = each.value.capacity_type
  instance_types = each.value.instance_types
  labels         = each.value.labels

  dynamic "taint" {
    for_each = each.value.taints
    content {
      key    = taint.value.key
      value  = taint.value.value
      effect = taint.value.effect
    }
  }

  launch_template {
    id      = aws_launch_template.this[each.key].id
    version = aws_launch_template.this[each.key].latest_version
  }

  scaling_config {
    min_size     = each.value.min_size
    max_size     = each.value.max_size
    desired_size = each.value.desired_size
  }

  update_config {
    max_unavailable_percentage = 33
  }

  tags = merge(var.tags, { Name = each.value.name })

  lifecycle {
    # The cluster autoscaler owns the node count once the group exists; desired_size only sets
    # the starting size. min_size and max_size stay managed here.
    # remote_access (SSH) cannot be combined with a launch template, so there is nothing of it to
    # manage; moto reports a made-up default one, which would otherwise force a replacement.
    # update_config is set when the group is created and not reconciled afterwards: moto drops it on
    # create and has no DescribeUpdate, so reconciling it fails every sandbox apply. The value is a
    # constant of this module; to change it on existing groups see the README (Upgrades).
    ignore_changes = [scaling_config[0].desired_size, remote_access, update_config]
  }

  # Nodes need their role's policies to join, and the vpc-cni add-on (with its IRSA role) in place
  # to become Ready, as the node role has no CNI policy.
  depends_on = [
    aws_iam_role_policy_attachment.node,
    aws_eks_addon.before_nodes,
  ]
}
