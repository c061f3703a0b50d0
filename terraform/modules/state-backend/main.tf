data "aws_region" "current" {}

locals {
  # KMS alias names allow [a-zA-Z0-9/_-] only, while bucket names may contain '.'.
  kms_alias_name = "alias/${replace(var.bucket_name, ".", "-")}"

  # Multipart uploads that never complete (an interrupted large state write) are billed until
  # aborted; a week is long enough for any upload to finish.
  abort_incomplete_multipart_upload_days = 7
}

################################################################################
# KMS key for the state objects
################################################################################

resource "aws_kms_key" "this" {
  #checkov:skip=CKV2_AWS_64:No explicit key policy on purpose: the AWS default key policy gives the account (root) control and delegates use to IAM, so who may read state is decided by IAM policies, like the bucket itself.
  description             = "Encrypts Terraform state in s3://${var.bucket_name}"
  deletion_window_in_days = var.kms_deletion_window_days
  enable_key_rotation     = true

  tags = var.tags
}

resource "aws_kms_alias" "this" {
  name          = local.kms_alias_name
  target_key_id = aws_kms_key.this.key_id
}

################################################################################
# Bucket
################################################################################

resource "aws_s3_bucket" "this" {
  #checkov:skip=CKV_AWS_144:Cross-region replication of Terraform state is a disaster-recovery choice per organisation; versioning already protects against overwrites and deletes.
  #checkov:skip=CKV_AWS_18:Server access logging needs a second (log) bucket that this module does not own; CloudTrail data events are the recommended audit trail for state reads and writes.
  #checkov:skip=CKV2_AWS_62:Nothing consumes events from a state bucket; notifications would only add cost.
  bucket        = var.bucket_name
  force_destroy = var.force_destroy

  tags = var.tags
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
    # One KMS data key per bucket instead of one per object write: far fewer KMS calls.
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
        Principal = "*" # a Deny must apply to every caller, so the principal is everyone
        Action    = "s3:*"
        Resource = [
          aws_s3_bucket.this.arn,
          "${aws_s3_bucket.this.arn}/*",
        ]
        Condition = {
          Bool = { "aws:SecureTransport" = "false" }
        }
      },
    ]
  })

  # S3 rejects some policy writes while the public access block is being applied.
  depends_on = [aws_s3_bucket_public_access_block.this]
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    id     = "expire-noncurrent-versions"
    status = "Enabled"

    # An empty filter applies the rule to every object.
    filter {}

    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }

    # Each lock leaves a delete marker on <key>.tflock; once its noncurrent versions have expired
    # the marker is alone and S3 removes it.
    expiration {
      expired_object_delete_marker = true
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = local.abort_incomplete_multipart_upload_days
    }
  }

  # Noncurrent-version rules need versioning to be on first.
  depends_on = [aws_s3_bucket_versioning.this]
}
