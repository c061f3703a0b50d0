# Plan-level tests of the CI identity against a mocked AWS provider.

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
  tags              = { Environment = "shared", Owner = "platform" }
}

run "oidc_provider" {
  command = plan

  assert {
    condition = (
      length(aws_iam_openid_connect_provider.this) == 1 &&
      aws_iam_openid_connect_provider.this[0].url == "https://token.actions.githubusercontent.com" &&
      aws_iam_openid_connect_provider.this[0].client_id_list == toset(["sts.amazonaws.com"])
    )
    error_message = "By default the module creates the GitHub Actions OIDC provider with the sts.amazonaws.com audience."
  }

  assert {
    condition     = lookup(aws_iam_openid_connect_provider.this[0].tags, "Owner", null) == "platform"
    error_message = "The OIDC provider must carry var.tags."
  }

  assert {
    condition     = output.oidc_provider_arn == "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    error_message = "oidc_provider_arn must be the created provider's ARN."
  }
}

run "existing_oidc_provider" {
  command = plan

  variables {
    create_oidc_provider       = false
    existing_oidc_provider_arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
  }

  assert {
    condition     = length(aws_iam_openid_connect_provider.this) == 0
    error_message = "No provider may be created when create_oidc_provider is false."
  }

  assert {
    condition = (
      jsondecode(aws_iam_role.plan.assume_role_policy).Statement[0].Principal.Federated == "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com" &&
      jsondecode(aws_iam_role.apply.assume_role_policy).Statement[0].Principal.Federated == "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com" &&
      output.oidc_provider_arn == "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    )
    error_message = "Both roles must trust existing_oidc_provider_arn."
  }
}

run "plan_role" {
  command = plan

  assert {
    condition     = aws_iam_role.plan.name == "acme-ci-plan" && aws_iam_role.plan.max_session_duration == 3600
    error_message = "The plan role must be named plan_role_name with one-hour sessions."
  }

  assert {
    condition = jsondecode(aws_iam_role.plan.assume_role_policy).Statement == [
      {
        Sid       = "GitHubPullRequests"
        Effect    = "Allow"
        Principal = { Federated = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com" }
        Action    = "sts:AssumeRoleWithWebIdentity"
        Condition = {
          StringEquals = {
            "token.actions.githubusercontent.com:aud" = "sts.amazonaws.com"
            "token.actions.githubusercontent.com:sub" = "repo:acme-corp/platform-infra:pull_request"
          }
        }
      },
    ]
    error_message = "The plan role must trust only pull requests of the repository, with exact StringEquals on aud and sub."
  }

  assert {
    condition     = aws_iam_role_policy_attachment.plan_read_only.policy_arn == "arn:aws:iam::aws:policy/ReadOnlyAccess"
    error_message = "The plan role must have the AWS managed ReadOnlyAccess policy."
  }

  assert {
    condition = jsondecode(aws_iam_role_policy.plan_state.policy).Statement == [
      {
        Sid      = "ListStateBucket"
        Effect   = "Allow"
        Action   = ["s3:ListBucket"]
        Resource = "arn:aws:s3:::acme-tfstate-123456789012-us-east-1"
      },
      {
        Sid      = "ReadState"
        Effect   = "Allow"
        Action   = ["s3:GetObject"]
        Resource = "arn:aws:s3:::acme-tfstate-123456789012-us-east-1/*.tfstate"
      },
      {
        Sid      = "LockState"
        Effect   = "Allow"
        Action   = ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
        Resource = "arn:aws:s3:::acme-tfstate-123456789012-us-east-1/*.tflock"
      },
      {
        Sid      = "UseStateKey"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource = "arn:aws:kms:us-east-1:123456789012:key/9f8e7d6c-5b4a-4938-8271-605f4e3d2c1b"
      },
    ]
    error_message = "The plan role may only read state, write and delete lock files, and use the state key."
  }

  assert {
    condition = alltrue([
      for s in jsondecode(aws_iam_role_policy.plan_state.policy).Statement :
      !contains(flatten([s.Action]), "s3:PutObject") || s.Resource == "arn:aws:s3:::acme-tfstate-123456789012-us-east-1/*.tflock"
    ])
    error_message = "The plan role may write only *.tflock keys, never state."
  }
}

run "apply_role" {
  command = plan

  assert {
    condition     = aws_iam_role.apply.name == "acme-ci-apply" && aws_iam_role.apply.max_session_duration == 3600
    error_message = "The apply role must be named apply_role_name with one-hour sessions."
  }

  assert {
    condition = jsondecode(aws_iam_role.apply.assume_role_policy).Statement == [
      {
        Sid       = "GitHubMainBranch"
        Effect    = "Allow"
        Principal = { Federated = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com" }
        Action    = "sts:AssumeRoleWithWebIdentity"
        Condition = {
          StringEquals = {
            "token.actions.githubusercontent.com:aud" = "sts.amazonaws.com"
            "token.actions.githubusercontent.com:sub" = "repo:acme-corp/platform-infra:ref:refs/heads/main"
          }
        }
      },
    ]
    error_message = "The apply role must trust only the main branch of the repository, with exact StringEquals on aud and sub."
  }

  assert {
    condition     = [for a in aws_iam_role_policy_attachment.apply : a.policy_arn] == ["arn:aws:iam::123456789012:policy/acme-platform-apply"]
    error_message = "The apply role must get exactly apply_policy_arns."
  }

  assert {
    condition = jsondecode(aws_iam_role_policy.apply_state.policy).Statement == [
      {
        Sid      = "ListStateBucket"
        Effect   = "Allow"
        Action   = ["s3:ListBucket"]
        Resource = "arn:aws:s3:::acme-tfstate-123456789012-us-east-1"
      },
      {
        Sid      = "ReadWriteState"
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:PutObject"]
        Resource = "arn:aws:s3:::acme-tfstate-123456789012-us-east-1/*.tfstate"
      },
      {
        Sid      = "LockState"
        Effect   = "Allow"
        Action   = ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
        Resource = "arn:aws:s3:::acme-tfstate-123456789012-us-east-1/*.tflock"
      },
      {
        Sid      = "UseStateKey"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource = "arn:aws:kms:us-east-1:123456789012:key/9f8e7d6c-5b4a-4938-8271-605f4e3d2c1b"
      },
    ]
    error_message = "The apply role may read and write state, take the lock and use the state key."
  }

  assert {
    condition     = output.plan_role_arn == "arn:aws:iam::123456789012:role/acme-ci-plan" && output.apply_role_arn == "arn:aws:iam::123456789012:role/acme-ci-apply"
    error_message = "Role outputs must be the roles' ARNs."
  }
}

run "release_branch_and_several_policies" {
  command = plan

  variables {
    main_branch = "release/prod"
    apply_policy_arns = [
      "arn:aws:iam::123456789012:policy/acme-platform-apply",
      "arn:aws:iam::aws:policy/PowerUserAccess",
    ]
  }

  assert {
    condition     = jsondecode(aws_iam_role.apply.assume_role_policy).Statement[0].Condition.StringEquals["token.actions.githubusercontent.com:sub"] == "repo:acme-corp/platform-infra:ref:refs/heads/release/prod"
    error_message = "The apply role's sub must follow main_branch."
  }

  assert {
    condition     = [for a in aws_iam_role_policy_attachment.apply : a.policy_arn] == ["arn:aws:iam::123456789012:policy/acme-platform-apply", "arn:aws:iam::aws:policy/PowerUserAccess"]
    error_message = "Every apply_policy_arns entry must be attached, in order."
  }
}

run "state_bucket_without_kms" {
  command = plan

  variables {
    state_kms_key_arn = null
  }

  assert {
    condition = (
      length([for s in jsondecode(aws_iam_role_policy.plan_state.policy).Statement : s if s.Sid == "UseStateKey"]) == 0 &&
      length([for s in jsondecode(aws_iam_role_policy.apply_state.policy).Statement : s if s.Sid == "UseStateKey"]) == 0
    )
    error_message = "No KMS statement when the state bucket uses SSE-S3."
  }
}

run "policies_scoped" {
  command = plan

  # No "*" action and no wildcard in any action; every resource is the state bucket, its
  # *.tfstate/*.tflock keys or the state key.
  assert {
    condition = alltrue(flatten([
      for doc in [
        aws_iam_role.plan.assume_role_policy,
        aws_iam_role.apply.assume_role_policy,
        aws_iam_role_policy.plan_state.policy,
        aws_iam_role_policy.apply_state.policy,
        ] : [
        for s in jsondecode(doc).Statement : [for a in flatten([s.Action]) : !strcontains(a, "*")]
      ]
    ]))
    error_message = "No policy may use a wildcard action."
  }

  assert {
    condition = alltrue(flatten([
      for doc in [aws_iam_role_policy.plan_state.policy, aws_iam_role_policy.apply_state.policy] : [
        for s in jsondecode(doc).Statement : contains([
          "arn:aws:s3:::acme-tfstate-123456789012-us-east-1",
          "arn:aws:s3:::acme-tfstate-123456789012-us-east-1/*.tfstate",
          "arn:aws:s3:::acme-tfstate-123456789012-us-east-1/*.tflock",
          "arn:aws:kms:us-east-1:123456789012:key/9f8e7d6c-5b4a-4938-8271-605f4e3d2c1b",
        ], s.Resource)
      ]
    ]))
    error_message = "State policies may only name the state bucket, its state and lock keys, and the state key."
  }

  assert {
    condition = alltrue([
      for t in [aws_iam_role.plan.tags, aws_iam_role.apply.tags] : lookup(t, "Environment", null) == "shared" && lookup(t, "Owner", null) == "platform"
    ])
    error_message = "Both roles must carry var.tags."
  }
}
