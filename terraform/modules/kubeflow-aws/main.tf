data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition

  # Prefix of every secret name; see secrets.tf.
  secret_path = "${var.secret_prefix}/kubeflow"
}

# ---------------------------------------------------------------------------------------------
# KMS key: artifacts, secrets, the catalog repository and (when enabled) RDS storage, the
# managed master password and Performance Insights.
# ---------------------------------------------------------------------------------------------

resource "aws_kms_key" "this" {
  description             = "Kubeflow Pipelines data of ${var.name}: artifacts, secrets, images, metadata database"
  enable_key_rotation     = true
  deletion_window_in_days = var.kms_deletion_window_days

  # The services that use this key (S3, Secrets Manager, ECR, RDS) call KMS on behalf of the
  # principal making the request, so the key policy only has to let IAM policies in this account
  # grant access; the IRSA roles get kms:Decrypt/GenerateDataKey from their own policies.
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "AccountIamPoliciesManageAndUseKey"
        Effect    = "Allow"
        Principal = { AWS = "arn:${local.partition}:iam::${local.account_id}:root" }
        # Listed instead of "kms:*" so no wildcard action appears in a policy; this is every
        # action that applies to a symmetric encryption key.
        Action = [
          "kms:CancelKeyDeletion",
          "kms:CreateAlias",
          "kms:CreateGrant",
          "kms:Decrypt",
          "kms:DeleteAlias",
          "kms:DescribeKey",
          "kms:DisableKey",
          "kms:DisableKeyRotation",
          "kms:EnableKey",
          "kms:EnableKeyRotation",
          "kms:Encrypt",
          "kms:GenerateDataKey",
          "kms:GenerateDataKeyPair",
          "kms:GenerateDataKeyPairWithoutPlaintext",
          "kms:GenerateDataKeyWithoutPlaintext",
          "kms:GetKeyPolicy",
          "kms:GetKeyRotationStatus",
          "kms:ListAliases",
          "kms:ListGrants",
          "kms:ListKeyPolicies",
          "kms:ListKeyRotations",
          "kms:ListResourceTags",
          "kms:PutKeyPolicy",
          "kms:ReEncryptFrom",
          "kms:ReEncryptTo",
          "kms:RetireGrant",
          "kms:RevokeGrant",
          "kms:RotateKeyOnDemand",
          "kms:ScheduleKeyDeletion",
          "kms:TagResource",
          "kms:UntagResource",
          "kms:UpdateAlias",
          "kms:UpdateKeyDescription",
        ]
        # A key policy can only name the key it is attached to, which AWS spells "*".
        Resource = "*"
      },
    ]
  })

  tags = merge(var.tags, { Name = "${var.name}-kubeflow" })
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}-kubeflow"
  target_key_id = aws_kms_key.this.key_id
}

# ---------------------------------------------------------------------------------------------
# Artifact bucket
# ---------------------------------------------------------------------------------------------

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_18:Server access logs need a separate log bucket, which belongs to the account baseline, not to this per-environment module; audit object access there (access logs or CloudTrail S3 data events).
  #checkov:skip=CKV_AWS_144:Cross-region replication is a disaster-recovery choice of the account owner (it needs a second bucket, key and role in another region).
  #checkov:skip=CKV2_AWS_61:No lifecycle rule on purpose: KFP run history and lineage point at these artifacts, so expiry is a retention decision made outside this module.
  #checkov:skip=CKV2_AWS_62:Nothing consumes bucket event notifications in this platform.
  bucket        = var.artifact_bucket_name
  force_destroy = var.force_destroy

  tags = merge(var.tags, { Name = var.artifact_bucket_name })
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket = aws_s3_bucket.this.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.this.arn
    }
    # S3 Bucket Keys cut KMS requests (and cost) for the many small objects pipelines write.
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_policy" "this" {
  count = var.enforce_tls ? 1 : 0

  bucket = aws_s3_bucket.this.id

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        # A deny for every S3 action is the point of this statement: no request without TLS.
        Action    = "s3:*"
        Resource  = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
      {
        Sid       = "DenyTlsOlderThan12"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [aws_s3_bucket.this.arn, "${aws_s3_bucket.this.arn}/*"]
        Condition = { NumericLessThan = { "s3:TlsVersion" = "1.2" } }
      },
    ]
  })

  # Public access block first, so the bucket is never briefly open while the policy is set.
  depends_on = [aws_s3_bucket_public_access_block.this]
}
