# Input validation: bad names and ARNs fail at plan, before anything reaches AWS.

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  team_name            = "alpha"
  namespace            = "alpha"
  role_name            = "acme-dev-team-alpha"
  sagemaker_role_name  = "acme-dev-team-alpha-sm"
  policy_name          = "acme-dev-team-alpha-access"
  ecr_repository_name  = "acme/teams/alpha"
  cost_center          = "CC-4120"
  tags                 = { owner = "ml-platform", team = "someone-else" }
  oidc_provider_arn    = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
  oidc_issuer          = "oidc.eks.us-west-2.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
  artifact_bucket_name = "acme-dev-kfp-artifacts-111122223333"
  artifact_kms_key_arn = "arn:aws:kms:us-west-2:111122223333:key/0d3c1f5e-8a41-4c8e-9b1e-2f7a6c5d4e3b"
  cluster_name         = "acme-dev"
  sso_role_arn         = "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/us-west-2/AWSReservedSSO_ml-alpha_0123456789abcdef"
}

run "team_name_uppercase" {
  command = plan

  variables {
    team_name = "Alpha"
  }

  expect_failures = [var.team_name]
}

run "team_name_too_long" {
  command = plan

  variables {
    team_name = "a123456789012345678901234567890123456789012345678901234567890123"
  }

  expect_failures = [var.team_name]
}

run "team_name_leading_dash" {
  command = plan

  variables {
    team_name = "-alpha"
  }

  expect_failures = [var.team_name]
}

run "namespace_not_a_label" {
  command = plan

  variables {
    namespace = "alpha_ns"
  }

  expect_failures = [var.namespace]
}

run "role_name_too_long" {
  command = plan

  variables {
    role_name = "acme-development-team-a-very-long-team-name-that-is-far-too-long-x"
  }

  expect_failures = [var.role_name]
}

run "role_name_bad_characters" {
  command = plan

  variables {
    role_name = "acme dev/alpha"
  }

  expect_failures = [var.role_name]
}

run "sagemaker_role_name_too_long" {
  command = plan

  variables {
    sagemaker_role_name = "acme-development-team-a-very-long-team-name-that-is-far-too-long-sm"
  }

  expect_failures = [var.sagemaker_role_name]
}

run "policy_name_too_long" {
  command = plan

  variables {
    policy_name = "ppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppppp"
  }

  expect_failures = [var.policy_name]
}

run "ecr_repository_uppercase" {
  command = plan

  variables {
    ecr_repository_name = "acme/Teams/alpha"
  }

  expect_failures = [var.ecr_repository_name]
}

run "oidc_issuer_with_scheme" {
  command = plan

  variables {
    oidc_issuer = "https://oidc.eks.us-west-2.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
  }

  expect_failures = [var.oidc_issuer]
}

run "oidc_issuer_not_the_providers" {
  command = plan

  variables {
    oidc_issuer = "oidc.eks.us-west-2.amazonaws.com/id/FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF"
  }

  expect_failures = [var.oidc_issuer]
}

run "oidc_provider_arn_not_a_provider" {
  command = plan

  variables {
    oidc_provider_arn = "arn:aws:iam::111122223333:role/oidc.eks.us-west-2.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
  }

  expect_failures = [var.oidc_provider_arn]
}

run "batch_queue_wildcard" {
  command = plan

  variables {
    batch_queue_arns = ["arn:aws:batch:us-west-2:111122223333:job-queue/*"]
  }

  expect_failures = [var.batch_queue_arns]
}

run "batch_queue_name_not_arn" {
  command = plan

  variables {
    batch_queue_arns = ["alpha-preprocess"]
  }

  expect_failures = [var.batch_queue_arns]
}

run "batch_queue_other_service" {
  command = plan

  variables {
    batch_queue_arns = ["arn:aws:sqs:us-west-2:111122223333:alpha-preprocess"]
  }

  expect_failures = [var.batch_queue_arns]
}

run "extra_bucket_bad_access" {
  command = plan

  variables {
    extra_buckets = [{ name = "acme-drive-logs", access = "admin" }]
  }

  expect_failures = [var.extra_buckets]
}

run "extra_bucket_prefix_without_slash" {
  command = plan

  variables {
    extra_buckets = [{ name = "acme-drive-logs", access = "read", prefix = "camera" }]
  }

  expect_failures = [var.extra_buckets]
}

run "extra_bucket_prefix_wildcard" {
  command = plan

  variables {
    extra_buckets = [{ name = "acme-drive-logs", access = "read", prefix = "*/" }]
  }

  expect_failures = [var.extra_buckets]
}

run "extra_bucket_is_artifact_bucket" {
  command = plan

  variables {
    extra_buckets = [{ name = "acme-dev-kfp-artifacts-111122223333", access = "write" }]
  }

  expect_failures = [var.extra_buckets]
}

run "extra_bucket_bad_name" {
  command = plan

  variables {
    extra_buckets = [{ name = "Acme_Drive", access = "read" }]
  }

  expect_failures = [var.extra_buckets]
}

run "kms_alias_not_key" {
  command = plan

  variables {
    artifact_kms_key_arn = "arn:aws:kms:us-west-2:111122223333:alias/artifacts"
  }

  expect_failures = [var.artifact_kms_key_arn]
}

run "sso_role_arn_not_a_role" {
  command = plan

  variables {
    sso_role_arn = "arn:aws:iam::111122223333:user/alice"
  }

  expect_failures = [var.sso_role_arn]
}

run "boundary_not_a_policy" {
  command = plan

  variables {
    permissions_boundary_arn = "arn:aws:iam::111122223333:role/boundary"
  }

  expect_failures = [var.permissions_boundary_arn]
}

run "catalog_not_ecr" {
  command = plan

  variables {
    catalog_repository_arns = ["arn:aws:s3:::acme-catalog"]
  }

  expect_failures = [var.catalog_repository_arns]
}

run "cluster_name_bad" {
  command = plan

  variables {
    cluster_name = "acme.dev"
  }

  expect_failures = [var.cluster_name]
}

run "cost_center_empty" {
  command = plan

  variables {
    cost_center = ""
  }

  expect_failures = [var.cost_center]
}

run "tags_aws_prefix" {
  command = plan

  variables {
    tags = { "aws:owner" = "x" }
  }

  expect_failures = [var.tags]
}

run "sagemaker_role_name_equals_role_name" {
  command = plan

  variables {
    sagemaker_role_name = "acme-dev-team-alpha"
  }

  expect_failures = [var.sagemaker_role_name]
}

# Too many grants for one managed policy: the plan fails before IAM would reject the apply.
run "policy_too_large" {
  command = plan

  variables {
    extra_buckets = [for i in range(40) : { name = "acme-shared-dataset-${i}", access = "write", prefix = "teams/alpha/" }]
  }

  expect_failures = [aws_iam_policy.this]
}
