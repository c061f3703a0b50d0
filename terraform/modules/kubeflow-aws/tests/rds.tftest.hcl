# Plan-level tests of the optional RDS MySQL instance.

mock_provider "aws" {
  source          = "./tests/mocks"
  override_during = plan
}

variables {
  name                               = "acme-dev"
  artifact_bucket_name               = "acme-dev-kfp-artifacts-123456789012"
  oidc_provider_arn                  = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
  oidc_issuer                        = "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
  kfp_role_name                      = "acme-dev-kfp"
  argo_role_name                     = "acme-dev-argo"
  secret_prefix                      = "acme/dev"
  catalog_repository_name            = "acme/kubeflow/catalog"
  tags                               = { Environment = "dev", Owner = "platform" }
  vpc_id                             = "vpc-0123456789abcdef0"
  private_subnet_ids                 = ["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"]
  database_client_security_group_ids = ["sg-0f1e2d3c4b5a69788", "sg-0f1e2d3c4b5a69799"]
  rds                                = { enabled = true }
}

run "rds_enabled_defaults" {
  command = plan

  assert {
    condition = (
      length(aws_db_instance.this) == 1 &&
      aws_db_instance.this[0].identifier == "acme-dev-kfp-metadata" &&
      aws_db_instance.this[0].engine == "mysql" &&
      aws_db_instance.this[0].engine_version == "8.0" &&
      aws_db_instance.this[0].instance_class == "db.t3.medium" &&
      aws_db_instance.this[0].allocated_storage == 20 &&
      aws_db_instance.this[0].storage_type == "gp3" &&
      aws_db_instance.this[0].port == 3306
    )
    error_message = "The instance must be MySQL 8.0 on db.t3.medium with 20 GB gp3 by default, named <name>-kfp-metadata."
  }

  assert {
    condition = (
      aws_db_instance.this[0].storage_encrypted == true &&
      aws_db_instance.this[0].kms_key_id == "arn:aws:kms:us-east-1:123456789012:key/0d5c2f4a-1b3c-4d5e-8f90-a1b2c3d4e5f6"
    )
    error_message = "Storage must be encrypted with the module key."
  }

  assert {
    condition = (
      aws_db_instance.this[0].manage_master_user_password == true &&
      aws_db_instance.this[0].master_user_secret_kms_key_id == "arn:aws:kms:us-east-1:123456789012:key/0d5c2f4a-1b3c-4d5e-8f90-a1b2c3d4e5f6" &&
      aws_db_instance.this[0].password == null &&
      aws_db_instance.this[0].username == "kfpadmin"
    )
    error_message = "The master password must be RDS-managed in Secrets Manager (encrypted with the module key), never set by Terraform."
  }

  assert {
    condition = (
      aws_db_instance.this[0].deletion_protection == true &&
      aws_db_instance.this[0].skip_final_snapshot == false &&
      aws_db_instance.this[0].final_snapshot_identifier == "acme-dev-kfp-metadata-final" &&
      aws_db_instance.this[0].copy_tags_to_snapshot == true &&
      aws_db_instance.this[0].backup_retention_period == 7
    )
    error_message = "The instance must be deletion-protected, keep a final snapshot, copy tags to snapshots and keep 7 days of backups."
  }

  assert {
    condition = (
      aws_db_instance.this[0].iam_database_authentication_enabled == true &&
      aws_db_instance.this[0].auto_minor_version_upgrade == true &&
      aws_db_instance.this[0].publicly_accessible == false &&
      aws_db_instance.this[0].multi_az == false
    )
    error_message = "IAM auth and minor upgrades on; never public; single-AZ by default."
  }

  assert {
    condition = (
      aws_db_instance.this[0].performance_insights_enabled == true &&
      aws_db_instance.this[0].performance_insights_kms_key_id == "arn:aws:kms:us-east-1:123456789012:key/0d5c2f4a-1b3c-4d5e-8f90-a1b2c3d4e5f6" &&
      aws_db_instance.this[0].performance_insights_retention_period == 7
    )
    error_message = "Performance Insights must be on for db.t3.medium, encrypted with the module key, on the free 7-day retention."
  }

  assert {
    condition     = aws_db_subnet_group.this[0].name == "acme-dev-kfp-metadata" && toset(aws_db_subnet_group.this[0].subnet_ids) == toset(["subnet-0a1b2c3d4e5f60001", "subnet-0a1b2c3d4e5f60002"])
    error_message = "The DB subnet group must hold exactly private_subnet_ids."
  }

  assert {
    condition = (
      aws_db_instance.this[0].db_subnet_group_name == "acme-dev-kfp-metadata" &&
      aws_db_instance.this[0].vpc_security_group_ids == toset(["sg-0a1b2c3d4e5f60718"])
    )
    error_message = "The instance must use the module's subnet group and only the module's security group."
  }

  assert {
    condition     = aws_security_group.rds[0].vpc_id == "vpc-0123456789abcdef0" && length(aws_security_group.rds[0].ingress) == 0 && length(aws_security_group.rds[0].egress) == 0
    error_message = "The database security group must be in vpc_id with no inline rules (so no egress at all)."
  }

  assert {
    condition = (
      length(aws_vpc_security_group_ingress_rule.rds) == 2 &&
      alltrue([
        for rule in aws_vpc_security_group_ingress_rule.rds :
        rule.security_group_id == "sg-0a1b2c3d4e5f60718" && rule.ip_protocol == "tcp" && rule.from_port == 3306 && rule.to_port == 3306 && rule.cidr_ipv4 == null && rule.cidr_ipv6 == null
      ]) &&
      [for rule in aws_vpc_security_group_ingress_rule.rds : rule.referenced_security_group_id] == ["sg-0f1e2d3c4b5a69788", "sg-0f1e2d3c4b5a69799"]
    )
    error_message = "Ingress must be TCP 3306 from each client security group and nothing else."
  }

  assert {
    condition = alltrue([
      for t in [aws_db_instance.this[0].tags, aws_db_subnet_group.this[0].tags, aws_security_group.rds[0].tags, aws_vpc_security_group_ingress_rule.rds[0].tags] :
      lookup(t, "Environment", null) == "dev" && lookup(t, "Owner", null) == "platform"
    ])
    error_message = "RDS resources must carry var.tags."
  }

  assert {
    condition = (
      output.rds_endpoint == "acme-dev-kfp-metadata.c1a2b3c4d5e6.us-east-1.rds.amazonaws.com" &&
      output.rds_master_secret_arn == "arn:aws:secretsmanager:us-east-1:123456789012:secret:rds!db-3f0c1a2b-4d5e-6f70-8a9b-0c1d2e3f4a5b-AbCdEf"
    )
    error_message = "rds_endpoint must be the instance hostname and rds_master_secret_arn the managed secret's ARN."
  }
}

run "rds_sized_for_production" {
  command = plan

  variables {
    rds = {
      enabled               = true
      instance_class        = "db.m7g.large"
      allocated_storage_gb  = 100
      multi_az              = true
      backup_retention_days = 30
    }
  }

  assert {
    condition = (
      aws_db_instance.this[0].instance_class == "db.m7g.large" &&
      aws_db_instance.this[0].allocated_storage == 100 &&
      aws_db_instance.this[0].multi_az == true &&
      aws_db_instance.this[0].backup_retention_period == 30 &&
      aws_db_instance.this[0].performance_insights_enabled == true
    )
    error_message = "The rds object's optional fields must reach the instance."
  }
}

run "rds_small_class_without_performance_insights" {
  command = plan

  variables {
    rds = { enabled = true, instance_class = "db.t3.small" }
  }

  assert {
    condition = (
      aws_db_instance.this[0].performance_insights_enabled == false &&
      # The mock fills computed attributes left null, so check the module did not set the key.
      aws_db_instance.this[0].performance_insights_kms_key_id != "arn:aws:kms:us-east-1:123456789012:key/0d5c2f4a-1b3c-4d5e-8f90-a1b2c3d4e5f6"
    )
    error_message = "Performance Insights must be off (with no key set) on classes that do not support it."
  }
}
