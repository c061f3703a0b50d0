# Plan-level tests of the default configuration (RDS disabled) against a mocked AWS provider.
# tests/mocks/aws.tfmock.hcl gives the resources the ARNs real AWS would, so the policies that
# embed them can be decoded and compared exactly.

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
  tags                    = { Environment = "dev", Owner = "platform" }
}

run "artifact_bucket" {
  command = plan

  assert {
    condition     = aws_s3_bucket.this.bucket == "acme-dev-kfp-artifacts-123456789012" && aws_s3_bucket.this.force_destroy == false
    error_message = "The bucket must be named artifact_bucket_name and not be force-destroyable by default."
  }

  assert {
    condition     = aws_s3_bucket_versioning.this.versioning_configuration[0].status == "Enabled"
    error_message = "Versioning must be enabled."
  }

  assert {
    condition = (
      one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default[0].sse_algorithm == "aws:kms" &&
      one(aws_s3_bucket_server_side_encryption_configuration.this.rule).apply_server_side_encryption_by_default[0].kms_master_key_id == "arn:aws:kms:us-east-1:123456789012:key/0d5c2f4a-1b3c-4d5e-8f90-a1b2c3d4e5f6" &&
      one(aws_s3_bucket_server_side_encryption_configuration.this.rule).bucket_key_enabled == true
    )
    error_message = "Default encryption must be SSE-KMS with the module key and an S3 Bucket Key."
  }

  assert {
    condition = (
      aws_s3_bucket_public_access_block.this.block_public_acls &&
      aws_s3_bucket_public_access_block.this.block_public_policy &&
      aws_s3_bucket_public_access_block.this.ignore_public_acls &&
      aws_s3_bucket_public_access_block.this.restrict_public_buckets
    )
    error_message = "All four public access block settings must be on."
  }

  assert {
    condition     = aws_s3_bucket_ownership_controls.this.rule[0].object_ownership == "BucketOwnerEnforced"
    error_message = "Object ownership must be BucketOwnerEnforced (ACLs disabled)."
  }

  assert {
    condition = jsondecode(aws_s3_bucket_policy.this[0].policy).Statement == [
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = ["arn:aws:s3:::acme-dev-kfp-artifacts-123456789012", "arn:aws:s3:::acme-dev-kfp-artifacts-123456789012/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
      {
        Sid       = "DenyTlsOlderThan12"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = ["arn:aws:s3:::acme-dev-kfp-artifacts-123456789012", "arn:aws:s3:::acme-dev-kfp-artifacts-123456789012/*"]
        Condition = { NumericLessThan = { "s3:TlsVersion" = "1.2" } }
      },
    ]
    error_message = "The bucket policy must only deny requests without TLS or with TLS older than 1.2, on the bucket and its objects."
  }

  assert {
    condition     = output.artifact_bucket_name == "acme-dev-kfp-artifacts-123456789012" && output.artifact_bucket_arn == "arn:aws:s3:::acme-dev-kfp-artifacts-123456789012"
    error_message = "The bucket outputs must be the bucket's name and ARN."
  }
}

run "kms_key" {
  command = plan

  assert {
    condition     = aws_kms_key.this.enable_key_rotation == true && aws_kms_key.this.deletion_window_in_days == 30
    error_message = "The key must rotate and default to a 30-day deletion window."
  }

  assert {
    condition     = aws_kms_alias.this.name == "alias/acme-dev-kubeflow" && aws_kms_alias.this.target_key_id == "0d5c2f4a-1b3c-4d5e-8f90-a1b2c3d4e5f6"
    error_message = "The alias must be alias/<name>-kubeflow and point at the module key."
  }

  assert {
    condition = (
      length(jsondecode(aws_kms_key.this.policy).Statement) == 1 &&
      jsondecode(aws_kms_key.this.policy).Statement[0].Effect == "Allow" &&
      jsondecode(aws_kms_key.this.policy).Statement[0].Principal == { AWS = "arn:aws:iam::123456789012:root" } &&
      jsondecode(aws_kms_key.this.policy).Statement[0].Resource == "*" &&
      contains(jsondecode(aws_kms_key.this.policy).Statement[0].Action, "kms:PutKeyPolicy") &&
      contains(jsondecode(aws_kms_key.this.policy).Statement[0].Action, "kms:CreateGrant")
    )
    error_message = "The key policy must only let this account's IAM policies manage and use the key (its own key, \"*\")."
  }

  assert {
    condition     = output.kms_key_arn == "arn:aws:kms:us-east-1:123456789012:key/0d5c2f4a-1b3c-4d5e-8f90-a1b2c3d4e5f6"
    error_message = "kms_key_arn must be the module key's ARN."
  }
}

run "irsa_trust" {
  command = plan

  assert {
    condition     = aws_iam_role.kfp.name == "acme-dev-kfp" && aws_iam_role.argo.name == "acme-dev-argo"
    error_message = "Role names must come from kfp_role_name and argo_role_name."
  }

  assert {
    condition = jsondecode(aws_iam_role.kfp.assume_role_policy).Statement == [
      {
        Sid       = "KubeflowServiceAccounts"
        Effect    = "Allow"
        Principal = { Federated = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE" }
        Action    = "sts:AssumeRoleWithWebIdentity"
        Condition = {
          StringEquals = {
            "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:sub" = [
              "system:serviceaccount:kubeflow:ml-pipeline",
              "system:serviceaccount:kubeflow:ml-pipeline-ui",
              "system:serviceaccount:kubeflow:ml-pipeline-visualizationserver",
            ]
            "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:aud" = "sts.amazonaws.com"
          }
        }
      },
    ]
    error_message = "The KFP role must trust exactly the KFP service accounts of the kubeflow namespace, with exact StringEquals on sub and aud."
  }

  assert {
    condition = jsondecode(aws_iam_role.argo.assume_role_policy).Statement == [
      {
        Sid       = "KubeflowServiceAccounts"
        Effect    = "Allow"
        Principal = { Federated = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE" }
        Action    = "sts:AssumeRoleWithWebIdentity"
        Condition = {
          StringEquals = {
            "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:sub" = [
              "system:serviceaccount:kubeflow:argo",
              "system:serviceaccount:kubeflow:pipeline-runner",
            ]
            "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:aud" = "sts.amazonaws.com"
          }
        }
      },
    ]
    error_message = "The Argo role must trust exactly the argo and pipeline-runner service accounts of the kubeflow namespace, with exact StringEquals on sub and aud."
  }

  assert {
    condition     = aws_iam_role.kfp.max_session_duration == 3600 && aws_iam_role.argo.max_session_duration == 3600
    error_message = "IRSA sessions must last at most one hour."
  }

  assert {
    condition     = output.kfp_role_arn == "arn:aws:iam::123456789012:role/acme-dev-kfp" && output.argo_role_arn == "arn:aws:iam::123456789012:role/acme-dev-argo"
    error_message = "Role outputs must be the roles' ARNs."
  }
}

run "irsa_permissions" {
  command = plan

  assert {
    condition = jsondecode(aws_iam_role_policy.kfp.policy).Statement == [
      {
        Sid      = "ListArtifactBucket"
        Effect   = "Allow"
        Action   = ["s3:GetBucketLocation", "s3:ListBucket"]
        Resource = "arn:aws:s3:::acme-dev-kfp-artifacts-123456789012"
      },
      {
        Sid      = "ReadWriteArtifacts"
        Effect   = "Allow"
        Action   = ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
        Resource = "arn:aws:s3:::acme-dev-kfp-artifacts-123456789012/*"
      },
      {
        Sid      = "UseArtifactKey"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource = "arn:aws:kms:us-east-1:123456789012:key/0d5c2f4a-1b3c-4d5e-8f90-a1b2c3d4e5f6"
      },
    ]
    error_message = "The KFP role may only list the artifact bucket, read/write/delete its objects and use the module key."
  }

  assert {
    condition = jsondecode(aws_iam_role_policy.argo.policy).Statement == [
      {
        Sid      = "LocateArtifactBucket"
        Effect   = "Allow"
        Action   = ["s3:GetBucketLocation"]
        Resource = "arn:aws:s3:::acme-dev-kfp-artifacts-123456789012"
      },
      {
        Sid       = "ListRunArtifacts"
        Effect    = "Allow"
        Action    = ["s3:ListBucket"]
        Resource  = "arn:aws:s3:::acme-dev-kfp-artifacts-123456789012"
        Condition = { StringLike = { "s3:prefix" = ["artifacts/*", "v2/artifacts/*"] } }
      },
      {
        Sid    = "ReadWriteRunArtifacts"
        Effect = "Allow"
        Action = ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
        Resource = [
          "arn:aws:s3:::acme-dev-kfp-artifacts-123456789012/artifacts/*",
          "arn:aws:s3:::acme-dev-kfp-artifacts-123456789012/v2/artifacts/*",
        ]
      },
      {
        Sid      = "UseArtifactKey"
        Effect   = "Allow"
        Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
        Resource = "arn:aws:kms:us-east-1:123456789012:key/0d5c2f4a-1b3c-4d5e-8f90-a1b2c3d4e5f6"
      },
    ]
    error_message = "The Argo role may only list and read/write/delete the run artifact prefixes and use the module key."
  }
}

run "no_wildcard_actions" {
  command = plan

  # No action is "*"; Allow statements use no wildcard at all (the bucket policy's Deny of
  # "s3:*" is the one intended wildcard: it narrows, never grants).
  assert {
    condition = alltrue(flatten([
      for doc in [
        aws_kms_key.this.policy,
        aws_s3_bucket_policy.this[0].policy,
        aws_iam_role.kfp.assume_role_policy,
        aws_iam_role.argo.assume_role_policy,
        aws_iam_role_policy.kfp.policy,
        aws_iam_role_policy.argo.policy,
        ] : [
        for s in jsondecode(doc).Statement : [
          for a in flatten([s.Action]) : a != "*" && (s.Effect == "Deny" || !strcontains(a, "*"))
        ]
      ]
    ]))
    error_message = "No policy may use the \"*\" action, and no Allow statement may use a wildcard action."
  }

  # "*" as a resource only in the key policy, where it means "this key".
  assert {
    condition = alltrue(flatten([
      for doc in [
        aws_s3_bucket_policy.this[0].policy,
        aws_iam_role_policy.kfp.policy,
        aws_iam_role_policy.argo.policy,
        ] : [
        for s in jsondecode(doc).Statement : [
          for r in flatten([s.Resource]) : startswith(r, "arn:aws:s3:::acme-dev-kfp-artifacts-123456789012") || r == "arn:aws:kms:us-east-1:123456789012:key/0d5c2f4a-1b3c-4d5e-8f90-a1b2c3d4e5f6"
        ]
      ]
    ]))
    error_message = "Bucket and IRSA policies may only name the artifact bucket and the module key."
  }
}

run "secrets" {
  command = plan

  assert {
    condition = (
      aws_secretsmanager_secret.oauth2_proxy_client_secret.name == "acme/dev/kubeflow/oauth2-proxy/client-secret" &&
      aws_secretsmanager_secret.oauth2_proxy_cookie_secret.name == "acme/dev/kubeflow/oauth2-proxy/cookie-secret"
    )
    error_message = "Secret names must be <secret_prefix>/kubeflow/oauth2-proxy/{client-secret,cookie-secret}."
  }

  assert {
    condition = (
      aws_secretsmanager_secret.oauth2_proxy_client_secret.kms_key_id == "arn:aws:kms:us-east-1:123456789012:key/0d5c2f4a-1b3c-4d5e-8f90-a1b2c3d4e5f6" &&
      aws_secretsmanager_secret.oauth2_proxy_cookie_secret.kms_key_id == "arn:aws:kms:us-east-1:123456789012:key/0d5c2f4a-1b3c-4d5e-8f90-a1b2c3d4e5f6"
    )
    error_message = "Generated secrets must be encrypted with the module key."
  }

  assert {
    condition = (
      data.aws_secretsmanager_random_password.oauth2_proxy_cookie_secret.password_length == 32 &&
      data.aws_secretsmanager_random_password.oauth2_proxy_cookie_secret.exclude_punctuation == true &&
      length(nonsensitive(aws_secretsmanager_secret_version.oauth2_proxy_cookie_secret.secret_string)) == 32
    )
    error_message = "The cookie secret must be exactly 32 characters (oauth2-proxy needs 16, 24 or 32 bytes)."
  }

  assert {
    condition = (
      data.aws_secretsmanager_random_password.oauth2_proxy_client_secret.password_length == 32 &&
      nonsensitive(aws_secretsmanager_secret_version.oauth2_proxy_client_secret.secret_string) == "Zq8VwK3mN5pR7tY9bC2dF4gH6jL0xA1s"
    )
    error_message = "The client secret version must hold the generated 32-character password."
  }

  assert {
    condition     = length(aws_secretsmanager_secret.dex_connector) == 0 && output.dex_connector_secret_arns == {}
    error_message = "No Dex connector secrets by default."
  }
}

run "dex_connector_secrets" {
  command = plan

  variables {
    dex_connector_secret_names = ["github", "okta"]
  }

  assert {
    condition     = toset(keys(aws_secretsmanager_secret.dex_connector)) == toset(["github", "okta"])
    error_message = "One secret per Dex connector name."
  }

  assert {
    condition = (
      aws_secretsmanager_secret.dex_connector["github"].name == "acme/dev/kubeflow/dex/connectors/github" &&
      aws_secretsmanager_secret.dex_connector["okta"].name == "acme/dev/kubeflow/dex/connectors/okta" &&
      aws_secretsmanager_secret.dex_connector["okta"].kms_key_id == "arn:aws:kms:us-east-1:123456789012:key/0d5c2f4a-1b3c-4d5e-8f90-a1b2c3d4e5f6"
    )
    error_message = "Dex connector secrets must be <secret_prefix>/kubeflow/dex/connectors/<name>, encrypted with the module key."
  }

  assert {
    condition     = toset(keys(output.dex_connector_secret_arns)) == toset(["github", "okta"])
    error_message = "dex_connector_secret_arns must be keyed by connector name."
  }
}

run "catalog_repository" {
  command = plan

  assert {
    condition = (
      aws_ecr_repository.this.name == "acme/kubeflow/catalog" &&
      aws_ecr_repository.this.image_tag_mutability == "IMMUTABLE" &&
      aws_ecr_repository.this.image_scanning_configuration[0].scan_on_push == true
    )
    error_message = "The catalog repository must be named catalog_repository_name, have immutable tags and scan on push."
  }

  assert {
    condition = (
      aws_ecr_repository.this.encryption_configuration[0].encryption_type == "KMS" &&
      aws_ecr_repository.this.encryption_configuration[0].kms_key == "arn:aws:kms:us-east-1:123456789012:key/0d5c2f4a-1b3c-4d5e-8f90-a1b2c3d4e5f6"
    )
    error_message = "The catalog repository must be encrypted with the module key."
  }

  assert {
    condition = jsondecode(aws_ecr_lifecycle_policy.this.policy).rules == [
      {
        rulePriority = 1
        description  = "Keep the last 10 untagged images"
        selection    = { tagStatus = "untagged", countType = "imageCountMoreThan", countNumber = 10 }
        action       = { type = "expire" }
      },
    ]
    error_message = "The lifecycle policy must only expire untagged images beyond the last 10."
  }

  assert {
    condition = (
      output.catalog_repository_url == "123456789012.dkr.ecr.us-east-1.amazonaws.com/acme/kubeflow/catalog" &&
      output.catalog_repository_arn == "arn:aws:ecr:us-east-1:123456789012:repository/acme/kubeflow/catalog"
    )
    error_message = "Repository outputs must be the repository's URL and ARN."
  }
}

run "rds_disabled" {
  command = plan

  assert {
    condition = (
      length(aws_db_instance.this) == 0 &&
      length(aws_db_subnet_group.this) == 0 &&
      length(aws_security_group.rds) == 0 &&
      length(aws_vpc_security_group_ingress_rule.rds) == 0
    )
    error_message = "With rds disabled, no database, subnet group, security group or rule may be planned."
  }

  assert {
    condition     = output.rds_endpoint == null && output.rds_master_secret_arn == null
    error_message = "RDS outputs must be null when rds is disabled."
  }
}

run "tags" {
  command = plan

  assert {
    condition = alltrue([
      for t in [
        aws_kms_key.this.tags,
        aws_s3_bucket.this.tags,
        aws_iam_role.kfp.tags,
        aws_iam_role.argo.tags,
        aws_secretsmanager_secret.oauth2_proxy_client_secret.tags,
        aws_secretsmanager_secret.oauth2_proxy_cookie_secret.tags,
        aws_ecr_repository.this.tags,
      ] : lookup(t, "Environment", null) == "dev" && lookup(t, "Owner", null) == "platform"
    ])
    error_message = "Every taggable resource must carry var.tags."
  }

  assert {
    condition     = aws_s3_bucket.this.tags["Name"] == "acme-dev-kfp-artifacts-123456789012" && aws_kms_key.this.tags["Name"] == "acme-dev-kubeflow"
    error_message = "The bucket and key must get a Name tag."
  }
}

run "custom_namespace_and_service_accounts" {
  command = plan

  variables {
    kubeflow_namespace     = "kfp-system"
    kfp_service_accounts   = ["ml-pipeline"]
    argo_service_accounts  = ["pipeline-runner"]
    argo_artifact_prefixes = ["runs/"]
  }

  assert {
    condition = (
      jsondecode(aws_iam_role.kfp.assume_role_policy).Statement[0].Condition.StringEquals["oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:sub"] == ["system:serviceaccount:kfp-system:ml-pipeline"] &&
      jsondecode(aws_iam_role.argo.assume_role_policy).Statement[0].Condition.StringEquals["oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:sub"] == ["system:serviceaccount:kfp-system:pipeline-runner"]
    )
    error_message = "Trust must follow kubeflow_namespace and the service account lists."
  }

  assert {
    condition = (
      jsondecode(aws_iam_role_policy.argo.policy).Statement[1].Condition.StringLike["s3:prefix"] == ["runs/*"] &&
      jsondecode(aws_iam_role_policy.argo.policy).Statement[2].Resource == ["arn:aws:s3:::acme-dev-kfp-artifacts-123456789012/runs/*"]
    )
    error_message = "The Argo policy must follow argo_artifact_prefixes."
  }
}

run "emulator_without_tls_policy" {
  command = plan

  variables {
    enforce_tls = false
  }

  assert {
    condition     = length(aws_s3_bucket_policy.this) == 0
    error_message = "enforce_tls = false must drop only the TLS-only bucket policy."
  }

  assert {
    condition     = aws_s3_bucket_public_access_block.this.block_public_policy
    error_message = "Everything else stays as on AWS."
  }
}
