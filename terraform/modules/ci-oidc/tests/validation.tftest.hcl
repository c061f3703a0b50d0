# Bad inputs are refused at plan time with the variable's own error message.

mock_provider "aws" {
  source          = "./tests/mocks"
  override_during = plan
}

variables {
  github_repository = "acme-corp/platform-infra"
  plan_role_name    = "acme-ci-plan"
  apply_role_name   = "acme-ci-apply"
  apply_policy_arns = ["arn:aws:iam::123456789012:policy/acme-platform-apply"]
  state_bucket_arn  = "arn:aws:s3:::acme-tfstate-123456789012-us-east-1"
  state_kms_key_arn = "arn:aws:kms:us-east-1:123456789012:key/9f8e7d6c-5b4a-4938-8271-605f4e3d2c1b"
}

run "valid_inputs_plan" {
  command = plan
}

run "repository_without_owner" {
  command = plan

  variables {
    github_repository = "platform-infra"
  }

  expect_failures = [var.github_repository]
}

run "repository_as_url" {
  command = plan

  variables {
    github_repository = "https://github.com/acme-corp/platform-infra"
  }

  expect_failures = [var.github_repository]
}

run "repository_with_wildcard" {
  command = plan

  variables {
    github_repository = "acme-corp/*"
  }

  expect_failures = [var.github_repository]
}

run "repository_extra_segment" {
  command = plan

  variables {
    github_repository = "acme-corp/platform/infra"
  }

  expect_failures = [var.github_repository]
}

run "repository_owner_leading_hyphen" {
  command = plan

  variables {
    github_repository = "-acme/platform-infra"
  }

  expect_failures = [var.github_repository]
}

run "repository_dot_dot" {
  command = plan

  variables {
    github_repository = "acme-corp/.."
  }

  expect_failures = [var.github_repository]
}

run "branch_wildcard" {
  command = plan

  variables {
    main_branch = "release/*"
  }

  expect_failures = [var.main_branch]
}

run "branch_full_ref" {
  command = plan

  variables {
    main_branch = "refs/heads/main/"
  }

  expect_failures = [var.main_branch]
}

run "branch_dot_dot" {
  command = plan

  variables {
    main_branch = "feature/../main"
  }

  expect_failures = [var.main_branch]
}

run "apply_policy_arns_empty" {
  command = plan

  variables {
    apply_policy_arns = []
  }

  expect_failures = [var.apply_policy_arns]
}

run "apply_policy_arns_not_an_arn" {
  command = plan

  variables {
    apply_policy_arns = ["AdministratorAccess"]
  }

  expect_failures = [var.apply_policy_arns]
}

run "apply_policy_arns_role_arn" {
  command = plan

  variables {
    apply_policy_arns = ["arn:aws:iam::123456789012:role/admin"]
  }

  expect_failures = [var.apply_policy_arns]
}

run "apply_policy_arns_duplicate" {
  command = plan

  variables {
    apply_policy_arns = ["arn:aws:iam::aws:policy/PowerUserAccess", "arn:aws:iam::aws:policy/PowerUserAccess"]
  }

  expect_failures = [var.apply_policy_arns]
}

run "plan_role_name_too_long" {
  command = plan

  variables {
    plan_role_name = "acme-ci-ppppppppppppppppppppppppppppppppppppppppppppppppppppppppp"
  }

  expect_failures = [var.plan_role_name]
}

run "plan_role_name_bad_characters" {
  command = plan

  variables {
    plan_role_name = "acme ci plan"
  }

  expect_failures = [var.plan_role_name]
}

run "apply_role_name_empty" {
  command = plan

  variables {
    apply_role_name = ""
  }

  expect_failures = [var.apply_role_name]
}

run "apply_role_name_same_as_plan" {
  command = plan

  variables {
    apply_role_name = "acme-ci-plan"
  }

  expect_failures = [var.apply_role_name]
}

run "state_bucket_arn_with_key" {
  command = plan

  variables {
    state_bucket_arn = "arn:aws:s3:::acme-tfstate-123456789012-us-east-1/platform"
  }

  expect_failures = [var.state_bucket_arn]
}

run "state_bucket_name_not_arn" {
  command = plan

  variables {
    state_bucket_arn = "acme-tfstate-123456789012-us-east-1"
  }

  expect_failures = [var.state_bucket_arn]
}

run "state_kms_alias" {
  command = plan

  variables {
    state_kms_key_arn = "arn:aws:kms:us-east-1:123456789012:alias/tfstate"
  }

  expect_failures = [var.state_kms_key_arn]
}

run "existing_provider_of_other_host" {
  command = plan

  variables {
    existing_oidc_provider_arn = "arn:aws:iam::123456789012:oidc-provider/gitlab.com"
  }

  expect_failures = [var.existing_oidc_provider_arn]
}

run "existing_provider_missing" {
  command = plan

  variables {
    create_oidc_provider = false
  }

  expect_failures = [var.existing_oidc_provider_arn]
}
