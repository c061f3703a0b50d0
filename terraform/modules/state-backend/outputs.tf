output "bucket_name" {
  description = "Name of the state bucket."
  value       = aws_s3_bucket.this.id
}

output "bucket_arn" {
  description = "ARN of the state bucket."
  value       = aws_s3_bucket.this.arn
}

output "kms_key_arn" {
  description = "ARN of the KMS key that encrypts the state objects."
  value       = aws_kms_key.this.arn
}

output "kms_key_id" {
  description = "ID of the KMS key that encrypts the state objects."
  value       = aws_kms_key.this.key_id
}

output "backend_config" {
  description = "Settings for a `backend \"s3\"` block (or `-backend-config` flags) that uses this bucket; add `key` per stack. Locking uses the S3 lockfile, so no DynamoDB table."
  value = {
    bucket       = aws_s3_bucket.this.id
    region       = data.aws_region.current.name
    encrypt      = true
    kms_key_id   = aws_kms_key.this.arn
    use_lockfile = true
  }

  # Only hand out the configuration once the bucket is ready to hold state safely.
  depends_on = [
    aws_s3_bucket_versioning.this,
    aws_s3_bucket_server_side_encryption_configuration.this,
    aws_s3_bucket_public_access_block.this,
    aws_s3_bucket_policy.this,
  ]
}
