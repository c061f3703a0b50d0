# A minor-version upgrade updates the cluster in place; it must never plan a replacement.
#
# Replacement is decided by the real provider (ForceNew attributes, CustomizeDiff), which a mock
# provider does not run. So the first run creates state with the mock provider, and the second plans
# the version change with the real hashicorp/aws provider, offline: refresh is off (no reads), the
# provider is configured without credentials checks, and the one data source that would call AWS
# (STS) is overridden. A replaced cluster would have an unknown ARN in the plan, and the assertion
# comparing it with the first run's ARN could not hold.

provider "aws" {
  region                      = "eu-west-1"
  access_key                  = "offline"
  secret_key                  = "offline"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
}

# Mocked values at apply time (the default), so the first run's apply is consistent with its plan.
mock_provider "aws" {
  alias  = "mock"
  source = "./tests/mocks"
}

variables {
  cluster_name       = "acme-prod"
  kubernetes_version = "1.31"
  vpc_id             = "vpc-0123456789abcdef0"
  subnet_ids         = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
  admin_role_arns    = ["arn:aws:iam::123456789012:role/platform-admin"]
  node_groups = {
    cpu = { instance_types = ["m6i.large"], min_size = 1, max_size = 3, desired_size = 2 }
    gpu = { instance_types = ["g5.xlarge"], min_size = 0, max_size = 2, desired_size = 1, gpu = true }
  }
}

run "create_on_1_31" {
  command = apply

  providers = {
    aws = aws.mock
  }

  assert {
    condition     = output.cluster_version == "1.31"
    error_message = "The cluster must be created on 1.31."
  }
}

run "upgrade_to_1_32_in_place" {
  command = plan

  providers = {
    aws = aws
  }

  plan_options {
    refresh = false
  }

  variables {
    kubernetes_version = "1.32"
    addon_versions = {
      "vpc-cni"            = "v1.20.1-eksbuild.3"
      "coredns"            = "v1.11.4-eksbuild.24"
      "kube-proxy"         = "v1.32.6-eksbuild.8"
      "aws-ebs-csi-driver" = "v1.45.0-eksbuild.2"
    }
  }

  # The resources the cluster, node groups and add-ons refer to keep their first-run values; the
  # mock provider leaves their schema defaults (path, key_usage) unset, which the real provider
  # would read as changes forcing replacements that have nothing to do with an upgrade.
  override_resource {
    target          = aws_iam_role.cluster
    override_during = plan
    values          = { arn = "arn:aws:iam::123456789012:role/mocked" }
  }

  override_resource {
    target          = aws_iam_role.node
    override_during = plan
    values          = { arn = "arn:aws:iam::123456789012:role/mocked" }
  }

  override_resource {
    target          = aws_iam_role.ebs_csi
    override_during = plan
    values          = { arn = "arn:aws:iam::123456789012:role/mocked" }
  }

  override_resource {
    target          = aws_iam_role.vpc_cni
    override_during = plan
    values          = { arn = "arn:aws:iam::123456789012:role/mocked" }
  }

  override_resource {
    target          = aws_kms_key.this
    override_during = plan
    values          = { arn = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab", key_id = "1234abcd-12ab-34cd-56ef-1234567890ab" }
  }

  override_resource {
    target          = aws_launch_template.this
    override_during = plan
    values          = { id = "lt-0123456789abcdef0", latest_version = 1 }
  }

  override_data {
    target = data.aws_caller_identity.current
    values = { account_id = "123456789012", arn = "arn:aws:iam::123456789012:role/deployer", user_id = "AROAEXAMPLE" }
  }

  override_data {
    target = data.aws_subnet.selected
    values = { vpc_id = "vpc-0123456789abcdef0" }
  }

  assert {
    condition     = aws_eks_cluster.this.version == "1.32"
    error_message = "The plan must move the control plane to 1.32."
  }

  assert {
    condition     = aws_eks_cluster.this.arn == run.create_on_1_31.cluster_arn
    error_message = "The cluster must be updated in place, not replaced."
  }

  assert {
    condition     = alltrue([for k, g in aws_eks_node_group.this : g.version == "1.32" && g.arn != null])
    error_message = "Node groups must follow the control plane to 1.32 in place."
  }

  assert {
    condition     = aws_eks_addon.before_nodes["kube-proxy"].addon_version == "v1.32.6-eksbuild.8"
    error_message = "kube-proxy must move to the 1.32 pin with the cluster."
  }
}
