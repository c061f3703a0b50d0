# Values the mocked AWS provider returns for this module's data sources and resources, shaped
# like real AWS answers so that policies embedding ARNs can be compared exactly. Shared by every
# test file through `mock_provider "aws" { source = "./tests/mocks" }`.

override_data {
  target = data.aws_caller_identity.current
  values = { account_id = "123456789012" }
}

override_data {
  target = data.aws_partition.current
  values = { partition = "aws" }
}

override_data {
  target = data.aws_secretsmanager_random_password.oauth2_proxy_client_secret
  values = { random_password = "Zq8VwK3mN5pR7tY9bC2dF4gH6jL0xA1s" }
}

override_data {
  target = data.aws_secretsmanager_random_password.oauth2_proxy_cookie_secret
  values = { random_password = "aB3dE5gH7jK9mN1pQ3sT5vW7yZ9bC1dE" }
}

override_resource {
  target = aws_kms_key.this
  values = {
    arn    = "arn:aws:kms:us-east-1:123456789012:key/0d5c2f4a-1b3c-4d5e-8f90-a1b2c3d4e5f6"
    key_id = "0d5c2f4a-1b3c-4d5e-8f90-a1b2c3d4e5f6"
  }
}

override_resource {
  target = aws_s3_bucket.this
  values = {
    id  = "acme-dev-kfp-artifacts-123456789012"
    arn = "arn:aws:s3:::acme-dev-kfp-artifacts-123456789012"
  }
}

override_resource {
  target = aws_iam_role.kfp
  values = { arn = "arn:aws:iam::123456789012:role/acme-dev-kfp", id = "acme-dev-kfp" }
}

override_resource {
  target = aws_iam_role.argo
  values = { arn = "arn:aws:iam::123456789012:role/acme-dev-argo", id = "acme-dev-argo" }
}

override_resource {
  target = aws_ecr_repository.this
  values = {
    arn            = "arn:aws:ecr:us-east-1:123456789012:repository/acme/kubeflow/catalog"
    repository_url = "123456789012.dkr.ecr.us-east-1.amazonaws.com/acme/kubeflow/catalog"
  }
}

override_resource {
  target = aws_db_instance.this
  values = {
    address = "acme-dev-kfp-metadata.c1a2b3c4d5e6.us-east-1.rds.amazonaws.com"
    master_user_secret = [
      {
        kms_key_id    = "arn:aws:kms:us-east-1:123456789012:key/0d5c2f4a-1b3c-4d5e-8f90-a1b2c3d4e5f6"
        secret_arn    = "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-3f0c1a2b-4d5e-6f70-8a9b-0c1d2e3f4a5b-AbCdEf"
        secret_status = "active"
      },
    ]
  }
}

override_resource {
  target = aws_security_group.rds
  values = { id = "sg-0a1b2c3d4e5f60718" }
}

override_resource {
  target = aws_db_subnet_group.this
  values = { id = "acme-dev-kfp-metadata", name = "acme-dev-kfp-metadata" }
}
