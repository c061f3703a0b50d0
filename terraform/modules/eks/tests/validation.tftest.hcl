# Inputs that must be refused at plan time, each with the variable whose validation refuses it.

mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks"
}

variables {
  cluster_name       = "acme-prod"
  kubernetes_version = "1.31"
  vpc_id             = "vpc-0123456789abcdef0"
  subnet_ids         = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
  node_groups = {
    cpu = { instance_types = ["m6i.large"], min_size = 1, max_size = 2, desired_size = 1 }
  }
}

run "valid_baseline" {
  command = plan
}

run "version_without_two_digit_minor" {
  command = plan
  variables {
    kubernetes_version = "1.3"
  }
  expect_failures = [var.kubernetes_version]
}

run "version_major_two" {
  command = plan
  variables {
    kubernetes_version = "2.0"
  }
  expect_failures = [var.kubernetes_version]
}

run "version_with_patch" {
  command = plan
  variables {
    kubernetes_version = "1.31.2"
  }
  expect_failures = [var.kubernetes_version]
}

run "public_endpoint_without_cidrs" {
  command = plan
  variables {
    endpoint_public_access = true
  }
  expect_failures = [var.public_access_cidrs]
}

run "public_endpoint_open_to_the_internet" {
  command = plan
  variables {
    endpoint_public_access = true
    public_access_cidrs    = ["203.0.113.0/24", "0.0.0.0/0"]
  }
  expect_failures = [var.public_access_cidrs]
}

run "cidrs_without_public_endpoint" {
  command = plan
  variables {
    public_access_cidrs = ["203.0.113.0/24"]
  }
  expect_failures = [var.public_access_cidrs]
}

run "cidr_with_host_bits" {
  command = plan
  variables {
    endpoint_public_access = true
    public_access_cidrs    = ["203.0.113.7/24"]
  }
  expect_failures = [var.public_access_cidrs]
}

run "no_endpoint_at_all" {
  command = plan
  variables {
    endpoint_private_access = false
    endpoint_public_access  = false
  }
  expect_failures = [var.endpoint_public_access]
}

run "taint_effect_in_kubernetes_form" {
  command = plan
  variables {
    node_groups = {
      cpu = { instance_types = ["m6i.large"], min_size = 1, max_size = 2, desired_size = 1 }
      ml = {
        instance_types = ["m6i.large"], min_size = 0, max_size = 2, desired_size = 0
        taints         = [{ key = "team", value = "ml", effect = "NoSchedule" }]
      }
    }
  }
  expect_failures = [var.node_groups]
}

run "instance_type_with_space" {
  command = plan
  variables {
    node_groups = {
      cpu = { instance_types = ["m6i large"], min_size = 1, max_size = 2, desired_size = 1 }
    }
  }
  expect_failures = [var.node_groups]
}

run "instance_type_uppercase" {
  command = plan
  variables {
    node_groups = {
      cpu = { instance_types = ["M6I.LARGE"], min_size = 1, max_size = 2, desired_size = 1 }
    }
  }
  expect_failures = [var.node_groups]
}

run "node_group_name_over_63_characters" {
  command = plan
  variables {
    cluster_name = "acme-production-eu-west-1-platform"
    node_groups = {
      "gpu-training-large-instances-a" = { instance_types = ["m6i.large"], min_size = 1, max_size = 2, desired_size = 1 }
    }
  }
  expect_failures = [var.node_groups]
}

run "sizes_out_of_order" {
  command = plan
  variables {
    node_groups = {
      cpu = { instance_types = ["m6i.large"], min_size = 2, max_size = 3, desired_size = 1 }
    }
  }
  expect_failures = [var.node_groups]
}

run "only_gpu_groups" {
  command = plan
  variables {
    node_groups = {
      gpu = { instance_types = ["g5.xlarge"], min_size = 1, max_size = 2, desired_size = 1, gpu = true }
    }
  }
  expect_failures = [var.node_groups]
}

run "bad_capacity_type" {
  command = plan
  variables {
    node_groups = {
      cpu = { instance_types = ["m6i.large"], min_size = 1, max_size = 2, desired_size = 1, capacity_type = "RESERVED" }
    }
  }
  expect_failures = [var.node_groups]
}

run "cluster_name_with_dot" {
  command = plan
  variables {
    cluster_name = "acme.prod"
  }
  expect_failures = [var.cluster_name]
}

run "cluster_name_over_100_characters" {
  command = plan
  variables {
    cluster_name = "a${join("", [for i in range(100) : "b"])}"
    node_groups  = { c = { instance_types = ["m6i.large"], min_size = 1, max_size = 2, desired_size = 1 } }
  }
  expect_failures = [var.cluster_name]
}

run "one_subnet" {
  command = plan
  variables {
    subnet_ids = ["subnet-0123456789abcdef0"]
  }
  expect_failures = [var.subnet_ids]
}

run "admin_arn_of_a_user" {
  command = plan
  variables {
    admin_role_arns = ["arn:aws:iam::123456789012:user/alice"]
  }
  expect_failures = [var.admin_role_arns]
}

run "kube_proxy_pin_of_another_minor" {
  command = plan
  variables {
    kubernetes_version = "1.32"
  }
  expect_failures = [var.addon_versions]
}

run "addon_versions_missing_a_key" {
  command = plan
  variables {
    addon_versions = {
      "vpc-cni"    = "v1.20.1-eksbuild.3"
      "coredns"    = "v1.11.4-eksbuild.24"
      "kube-proxy" = "v1.31.10-eksbuild.8"
    }
  }
  expect_failures = [var.addon_versions]
}

run "log_retention_not_offered_by_cloudwatch" {
  command = plan
  variables {
    log_retention_days = 100
  }
  expect_failures = [var.log_retention_days]
}

run "kms_deletion_window_too_short" {
  command = plan
  variables {
    kms_deletion_window_days = 3
  }
  expect_failures = [var.kms_deletion_window_days]
}

run "subnet_in_another_vpc" {
  command = plan
  override_data {
    target = data.aws_subnet.selected
    values = { vpc_id = "vpc-0fedcba9876543210" }
  }
  expect_failures = [aws_eks_cluster.this]
}

run "subnets_in_one_availability_zone" {
  command = plan
  override_data {
    target = data.aws_subnet.selected
    values = { vpc_id = "vpc-0123456789abcdef0", availability_zone = "eu-west-1a" }
  }
  expect_failures = [aws_eks_cluster.this]
}
