# Plan-only tests with a mocked AWS provider: no credentials, no network.

mock_provider "aws" {
  mock_data "aws_region" {
    defaults = {
      name = "eu-west-1"
    }
  }

  # Computed ARNs and IDs are unknown at plan time; give them realistic values so the policy
  # document, the encryption settings and the backend_config output can be asserted.
  override_during = plan

  mock_resource "aws_kms_key" {
    defaults = {
      arn    = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
      key_id = "11111111-2222-3333-4444-555555555555"
    }
  }
}

variables {
  bucket_name = "acme-tfstate-123456789012-eu-west-1"
}

override_resource {
  target          = aws_s3_bucket.this
  override_during = plan
  values = {
    id  = "acme-tfstate-123456789012-eu-west-1"
    arn = "arn:aws:s3:::acme-tfstate-123456789012-eu-west-1"
  }
}

run "defaults" {
  command = plan

  assert {
    condition     = aws_s3_bucket.this.bucket == var.bucket_name
    error_message = "The bucket must be named after bucket_name."
  }

  assert {
    condition     = aws_s3_bucket.this.force_destroy == false
    error_message = "force_destroy must default to false: state is never deleted by accident."
  }

  assert {
    condition     = aws_s3_bucket_versioning.this.versioning_configuration[0].status == "Enabled"
    error_message = "Versioning must be enabled so every state write can be rolled back."
  }

  assert {
    condition = alltrue([
      aws_s3_bucket_public_access_block.this.block_public_acls,
      aws_s3_bucket_public_access_block.this.block_public_policy,
      aws_s3_bucket_public_access_block.this.ignore_public_acls,
      aws_s3_bucket_public_access_block.this.restrict_public_buckets,
    ])
    error_message = "All four public access block settings must be true."
  }

  assert {
    condition     = one(aws_s3_bucket_ownership_controls.this.rule).object_ownership == "BucketOwnerEnforced"
    error_message = "ACLs must be disabled (BucketOwnerEnforced)."
  }

  assert {
    condition = one([
      for r in aws_s3_bucket_server_side_encryption_configuration.this.rule :
      r.apply_server_side_encryption_by_default[0].sse_algorithm == "aws:kms"
      && r.apply_server_side_encryption_by_default[0].kms_master_key_id == aws_kms_key.this.arn
      && r.bucket_key_enabled
    ])
    error_message = "Default encryption must be SSE-KMS with the module's own key and an S3 bucket key."
  }

  assert {
    condition     = aws_kms_key.this.enable_key_rotation && aws_kms_key.this.deletion_window_in_days == 30
    error_message = "The KMS key must rotate and default to a 30-day deletion window."
  }

  assert {
    condition     = aws_kms_alias.this.name == "alias/acme-tfstate-123456789012-eu-west-1"
    error_message = "The KMS alias must be alias/<bucket_name>."
  }

  assert {
    condition     = length(jsondecode(aws_s3_bucket_policy.this[0].policy).Statement) == 1
    error_message = "The bucket policy must hold exactly the TLS-only statement."
  }

  assert {
    condition = (
      jsondecode(aws_s3_bucket_policy.this[0].policy).Statement[0].Effect == "Deny"
      && jsondecode(aws_s3_bucket_policy.this[0].policy).Statement[0].Principal == "*"
      && jsondecode(aws_s3_bucket_policy.this[0].policy).Statement[0].Action == "s3:*"
      && jsondecode(aws_s3_bucket_policy.this[0].policy).Statement[0].Condition.Bool["aws:SecureTransport"] == "false"
    )
    error_message = "The bucket policy must deny every request made without TLS."
  }

  assert {
    condition = toset(jsondecode(aws_s3_bucket_policy.this[0].policy).Statement[0].Resource) == toset([
      "arn:aws:s3:::acme-tfstate-123456789012-eu-west-1",
      "arn:aws:s3:::acme-tfstate-123456789012-eu-west-1/*",
    ])
    error_message = "The TLS-only statement must cover the bucket and every object in it."
  }

  assert {
    condition     = length(aws_s3_bucket_lifecycle_configuration.this.rule) == 1
    error_message = "The lifecycle configuration must have one rule."
  }

  assert {
    condition = (
      aws_s3_bucket_lifecycle_configuration.this.rule[0].status == "Enabled"
      && length(aws_s3_bucket_lifecycle_configuration.this.rule[0].filter) == 1
      && aws_s3_bucket_lifecycle_configuration.this.rule[0].noncurrent_version_expiration[0].noncurrent_days == 90
      && aws_s3_bucket_lifecycle_configuration.this.rule[0].abort_incomplete_multipart_upload[0].days_after_initiation == 7
      && aws_s3_bucket_lifecycle_configuration.this.rule[0].expiration[0].expired_object_delete_marker
    )
    error_message = "The enabled whole-bucket rule must expire noncurrent versions after 90 days, remove lone delete markers and abort multipart uploads after 7."
  }

  assert {
    condition = output.backend_config == {
      bucket       = "acme-tfstate-123456789012-eu-west-1"
      region       = "eu-west-1"
      encrypt      = true
      kms_key_id   = "arn:aws:kms:eu-west-1:123456789012:key/11111111-2222-3333-4444-555555555555"
      use_lockfile = true
    }
    error_message = "backend_config must name the bucket, region and key, with encryption and the S3 lockfile on."
  }

  assert {
    condition     = output.kms_key_id == "11111111-2222-3333-4444-555555555555" && output.bucket_arn == "arn:aws:s3:::acme-tfstate-123456789012-eu-west-1"
    error_message = "kms_key_id and bucket_arn outputs must come from the key and the bucket."
  }
}

run "custom_settings_and_tags" {
  command = plan

  variables {
    bucket_name                        = "acme.tfstate.example"
    kms_deletion_window_days           = 7
    noncurrent_version_expiration_days = 30
    force_destroy                      = true
    tags                               = { owner = "platform", env = "dev" }
  }

  assert {
    condition     = aws_kms_alias.this.name == "alias/acme-tfstate-example"
    error_message = "Dots in the bucket name must become '-' in the KMS alias (aliases do not allow '.')."
  }

  assert {
    condition     = aws_kms_key.this.deletion_window_in_days == 7
    error_message = "kms_deletion_window_days must reach the key."
  }

  assert {
    condition     = aws_s3_bucket_lifecycle_configuration.this.rule[0].noncurrent_version_expiration[0].noncurrent_days == 30
    error_message = "noncurrent_version_expiration_days must reach the lifecycle rule."
  }

  assert {
    condition     = aws_s3_bucket.this.force_destroy
    error_message = "force_destroy must reach the bucket."
  }

  assert {
    condition     = aws_s3_bucket.this.tags == tomap({ owner = "platform", env = "dev" }) && aws_kms_key.this.tags == tomap({ owner = "platform", env = "dev" })
    error_message = "tags must reach the bucket and the key."
  }
}

# --- bad input ----------------------------------------------------------------------------

run "rejects_short_bucket_name" {
  command = plan
  variables { bucket_name = "ab" }
  expect_failures = [var.bucket_name]
}

run "rejects_long_bucket_name" {
  command = plan
  variables { bucket_name = "a23456789012345678901234567890123456789012345678901234567890123z" }
  expect_failures = [var.bucket_name]
}

run "rejects_uppercase_bucket_name" {
  command = plan
  variables { bucket_name = "Acme-tfstate" }
  expect_failures = [var.bucket_name]
}

run "rejects_underscore_bucket_name" {
  command = plan
  variables { bucket_name = "acme_tfstate" }
  expect_failures = [var.bucket_name]
}

run "rejects_bucket_name_ending_in_dash" {
  command = plan
  variables { bucket_name = "acme-tfstate-" }
  expect_failures = [var.bucket_name]
}

run "rejects_bucket_name_with_double_dot" {
  command = plan
  variables { bucket_name = "acme..tfstate" }
  expect_failures = [var.bucket_name]
}

run "rejects_ip_address_bucket_name" {
  command = plan
  variables { bucket_name = "192.168.10.1" }
  expect_failures = [var.bucket_name]
}

run "rejects_reserved_prefix_bucket_name" {
  command = plan
  variables { bucket_name = "xn--tfstate" }
  expect_failures = [var.bucket_name]
}

run "rejects_reserved_suffix_bucket_name" {
  command = plan
  variables { bucket_name = "acme-tfstate-s3alias" }
  expect_failures = [var.bucket_name]
}

run "rejects_kms_window_below_7" {
  command = plan
  variables { kms_deletion_window_days = 6 }
  expect_failures = [var.kms_deletion_window_days]
}

run "rejects_kms_window_above_30" {
  command = plan
  variables { kms_deletion_window_days = 31 }
  expect_failures = [var.kms_deletion_window_days]
}

run "rejects_fractional_kms_window" {
  command = plan
  variables { kms_deletion_window_days = 7.5 }
  expect_failures = [var.kms_deletion_window_days]
}

run "rejects_zero_noncurrent_days" {
  command = plan
  variables { noncurrent_version_expiration_days = 0 }
  expect_failures = [var.noncurrent_version_expiration_days]
}

run "emulator_without_tls_policy" {
  command = plan

  variables {
    bucket_name = "acme-tfstate-123456789012-us-east-1"
    enforce_tls = false
  }

  assert {
    condition     = length(aws_s3_bucket_policy.this) == 0
    error_message = "enforce_tls = false must drop only the TLS-only bucket policy."
  }

  assert {
    condition     = aws_s3_bucket_public_access_block.this.block_public_policy && aws_kms_key.this.enable_key_rotation
    error_message = "Everything else stays as on AWS."
  }
}
