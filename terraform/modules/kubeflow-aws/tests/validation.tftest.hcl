# Bad inputs are refused at plan time with the variable's own error message.

mock_provider "aws" {
  source          = "./tests/mocks"
  override_during = plan
}

variables {
  name                    = "acme-dev"
  artifact_bucket_name    = "acme-dev-kfp-artifacts-123456789012"
  oidc_provider_arn       = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
  oidc_issuer             = "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
  kfp_role_name           = "acme-dev-kfp"
  argo_role_name          = "acme-dev-argo"
  secret_prefix           = "acme/dev"
  catalog_repository_name = "acme/kubeflow/catalog"
}

run "valid_inputs_plan" {
  command = plan
}

run "name_uppercase" {
  command = plan

  variables {
    name = "Acme-Dev"
  }

  expect_failures = [var.name]
}

run "name_double_hyphen" {
  command = plan

  variables {
    name = "acme--dev"
  }

  expect_failures = [var.name]
}

run "name_too_long" {
  command = plan

  variables {
    name = "a23456789012345678901234567890123"
  }

  expect_failures = [var.name]
}

run "bucket_uppercase" {
  command = plan

  variables {
    artifact_bucket_name = "Acme-Dev-Artifacts"
  }

  expect_failures = [var.artifact_bucket_name]
}

run "bucket_too_short" {
  command = plan

  variables {
    artifact_bucket_name = "ab"
  }

  expect_failures = [var.artifact_bucket_name]
}

run "bucket_double_dot" {
  command = plan

  variables {
    artifact_bucket_name = "acme..artifacts"
  }

  expect_failures = [var.artifact_bucket_name]
}

run "bucket_ip_address" {
  command = plan

  variables {
    artifact_bucket_name = "192.168.10.20"
  }

  expect_failures = [var.artifact_bucket_name]
}

run "bucket_reserved_suffix" {
  command = plan

  variables {
    artifact_bucket_name = "acme-artifacts-s3alias"
  }

  expect_failures = [var.artifact_bucket_name]
}

run "bucket_underscore" {
  command = plan

  variables {
    artifact_bucket_name = "acme_dev_artifacts"
  }

  expect_failures = [var.artifact_bucket_name]
}

run "kfp_role_name_too_long" {
  command = plan

  variables {
    kfp_role_name = "acme-dev-kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk"
  }

  expect_failures = [var.kfp_role_name]
}

run "kfp_role_name_bad_characters" {
  command = plan

  variables {
    kfp_role_name = "acme dev kfp"
  }

  expect_failures = [var.kfp_role_name]
}

run "argo_role_name_empty" {
  command = plan

  variables {
    argo_role_name = ""
  }

  expect_failures = [var.argo_role_name]
}

run "argo_role_name_same_as_kfp" {
  command = plan

  variables {
    argo_role_name = "acme-dev-kfp"
  }

  expect_failures = [var.argo_role_name]
}

run "catalog_repository_uppercase" {
  command = plan

  variables {
    catalog_repository_name = "Acme/Catalog"
  }

  expect_failures = [var.catalog_repository_name]
}

run "catalog_repository_empty_segment" {
  command = plan

  variables {
    catalog_repository_name = "acme//catalog"
  }

  expect_failures = [var.catalog_repository_name]
}

run "catalog_repository_leading_separator" {
  command = plan

  variables {
    catalog_repository_name = "-acme/catalog"
  }

  expect_failures = [var.catalog_repository_name]
}

run "secret_prefix_leading_slash" {
  command = plan

  variables {
    secret_prefix = "/acme/dev"
  }

  expect_failures = [var.secret_prefix]
}

run "secret_prefix_trailing_slash" {
  command = plan

  variables {
    secret_prefix = "acme/dev/"
  }

  expect_failures = [var.secret_prefix]
}

run "secret_prefix_space" {
  command = plan

  variables {
    secret_prefix = "acme dev"
  }

  expect_failures = [var.secret_prefix]
}

run "dex_connector_with_slash" {
  command = plan

  variables {
    dex_connector_secret_names = ["github/app"]
  }

  expect_failures = [var.dex_connector_secret_names]
}

run "dex_connector_duplicate" {
  command = plan

  variables {
    dex_connector_secret_names = ["github", "github"]
  }

  expect_failures = [var.dex_connector_secret_names]
}

run "oidc_issuer_with_scheme" {
  command = plan

  variables {
    oidc_issuer = "https://oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
  }

  expect_failures = [var.oidc_issuer]
}

run "oidc_issuer_of_another_provider" {
  command = plan

  variables {
    oidc_issuer = "oidc.eks.us-east-1.amazonaws.com/id/OTHERCLUSTER"
  }

  expect_failures = [var.oidc_issuer]
}

run "oidc_provider_arn_not_oidc" {
  command = plan

  variables {
    oidc_provider_arn = "arn:aws:iam::123456789012:role/eks"
  }

  expect_failures = [var.oidc_provider_arn]
}

run "namespace_uppercase" {
  command = plan

  variables {
    kubeflow_namespace = "Kubeflow"
  }

  expect_failures = [var.kubeflow_namespace]
}

run "kfp_service_accounts_empty" {
  command = plan

  variables {
    kfp_service_accounts = []
  }

  expect_failures = [var.kfp_service_accounts]
}

run "argo_service_account_invalid" {
  command = plan

  variables {
    argo_service_accounts = ["Argo Controller"]
  }

  expect_failures = [var.argo_service_accounts]
}

run "argo_prefix_without_slash" {
  command = plan

  variables {
    argo_artifact_prefixes = ["artifacts"]
  }

  expect_failures = [var.argo_artifact_prefixes]
}

run "argo_prefix_wildcard" {
  command = plan

  variables {
    argo_artifact_prefixes = ["*/"]
  }

  expect_failures = [var.argo_artifact_prefixes]
}

run "argo_prefix_leading_slash" {
  command = plan

  variables {
    argo_artifact_prefixes = ["/artifacts/"]
  }

  expect_failures = [var.argo_artifact_prefixes]
}

run "kms_window_too_short" {
  command = plan

  variables {
    kms_deletion_window_days = 5
  }

  expect_failures = [var.kms_deletion_window_days]
}

run "untagged_images_zero" {
  command = plan

  variables {
    catalog_untagged_images_to_keep = 0
  }

  expect_failures = [var.catalog_untagged_images_to_keep]
}

run "vpc_id_malformed" {
  command = plan

  variables {
    vpc_id = "vpc_123"
  }

  expect_failures = [var.vpc_id]
}

run "subnet_id_malformed" {
  command = plan

  variables {
    private_subnet_ids = ["subnet-xyz"]
  }

  expect_failures = [var.private_subnet_ids]
}

run "client_sg_malformed" {
  command = plan

  variables {
    database_client_security_group_ids = ["default"]
  }

  expect_failures = [var.database_client_security_group_ids]
}

run "rds_without_network" {
  command = plan

  variables {
    rds = { enabled = true }
  }

  expect_failures = [var.rds]
}

run "rds_backups_off" {
  command = plan

  variables {
    rds = { enabled = false, backup_retention_days = 0 }
  }

  expect_failures = [var.rds]
}

run "rds_storage_too_small" {
  command = plan

  variables {
    rds = { enabled = false, allocated_storage_gb = 10 }
  }

  expect_failures = [var.rds]
}

run "rds_bad_instance_class" {
  command = plan

  variables {
    rds = { enabled = false, instance_class = "t3.medium" }
  }

  expect_failures = [var.rds]
}

run "rds_with_one_subnet" {
  command = plan

  variables {
    vpc_id                             = "vpc-0123456789abcdef0"
    private_subnet_ids                 = ["subnet-0a1b2c3d4e5f60001"]
    database_client_security_group_ids = ["sg-0f1e2d3c4b5a69788"]
    rds                                = { enabled = true }
  }

  expect_failures = [var.rds]
}
