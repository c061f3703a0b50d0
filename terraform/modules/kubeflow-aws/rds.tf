# Optional RDS MySQL instance for the KFP databases (mlpipeline, metadb, cachedb; the API
# server and ML Metadata create them on first start). Everything here is count = 0 unless
# rds.enabled is true.

locals {
  rds_count      = var.rds.enabled ? 1 : 0
  rds_identifier = "${var.name}-kfp-metadata"

  # MySQL instance classes without Performance Insights support (RDS User Guide, "Amazon RDS DB
  # engine, Region, and instance class support for Performance Insights").
  performance_insights_unsupported_classes = [
    "db.t2.micro", "db.t2.small", "db.t3.micro", "db.t3.small", "db.t4g.micro", "db.t4g.small",
  ]
  performance_insights_enabled = !contains(local.performance_insights_unsupported_classes, var.rds.instance_class)
}

resource "aws_db_subnet_group" "this" {
  count = local.rds_count

  name        = local.rds_identifier
  description = "Private subnets of the KFP metadata database of ${var.name}"
  subnet_ids  = var.private_subnet_ids

  tags = var.tags
}

resource "aws_security_group" "rds" {
  count = local.rds_count

  name        = "${local.rds_identifier}-db"
  description = "KFP metadata database of ${var.name}: MySQL from the listed client security groups only"
  vpc_id      = var.vpc_id

  # No egress rules: the database starts no connections. Terraform removes the default
  # allow-all egress rule AWS adds to new security groups.

  tags = merge(var.tags, { Name = "${local.rds_identifier}-db" })

  lifecycle {
    create_before_destroy = true
  }
}

# count, not for_each: client security group IDs are often unknown until the EKS module applies.
resource "aws_vpc_security_group_ingress_rule" "rds" {
  count = var.rds.enabled ? length(var.database_client_security_group_ids) : 0

  security_group_id            = aws_security_group.rds[0].id
  description                  = "MySQL from KFP clients"
  ip_protocol                  = "tcp"
  from_port                    = 3306
  to_port                      = 3306
  referenced_security_group_id = var.database_client_security_group_ids[count.index]

  tags = var.tags
}

resource "aws_db_instance" "this" {
  #checkov:skip=CKV_AWS_118:Enhanced monitoring needs an extra IAM role and per-second CloudWatch cost; Performance Insights and the exported error/slow-query logs cover this small metadata database.
  #checkov:skip=CKV_AWS_157:Multi-AZ is rds.multi_az, off by default to keep dev environments cheap; production environments set it.
  #checkov:skip=CKV_AWS_133:Backups are always on: backup_retention_period is rds.backup_retention_days, validated 1 to 35; checkov cannot resolve optional() defaults.
  #checkov:skip=CKV_AWS_353:Performance Insights is on for every class that supports it (local.performance_insights_enabled); checkov cannot evaluate the expression.
  count = local.rds_count

  identifier     = local.rds_identifier
  engine         = "mysql"
  engine_version = "8.0"
  instance_class = var.rds.instance_class
  port           = 3306

  allocated_storage = var.rds.allocated_storage_gb
  storage_type      = "gp3"
  storage_encrypted = true
  kms_key_id        = aws_kms_key.this.arn

  # RDS generates the master password and keeps it in Secrets Manager, encrypted with the module
  # key; it never enters Terraform state. The secret's ARN is the rds_master_secret_arn output.
  username                      = "kfpadmin"
  manage_master_user_password   = true
  master_user_secret_kms_key_id = aws_kms_key.this.arn

  iam_database_authentication_enabled = true

  db_subnet_group_name   = aws_db_subnet_group.this[0].name
  vpc_security_group_ids = [aws_security_group.rds[0].id]
  publicly_accessible    = false
  multi_az               = var.rds.multi_az

  backup_retention_period   = var.rds.backup_retention_days
  copy_tags_to_snapshot     = true
  deletion_protection       = true
  skip_final_snapshot       = false
  final_snapshot_identifier = "${local.rds_identifier}-final"

  auto_minor_version_upgrade = true

  performance_insights_enabled          = local.performance_insights_enabled
  performance_insights_kms_key_id       = local.performance_insights_enabled ? aws_kms_key.this.arn : null
  performance_insights_retention_period = local.performance_insights_enabled ? 7 : null

  enabled_cloudwatch_logs_exports = ["error", "slowquery"]

  tags = merge(var.tags, { Name = local.rds_identifier })
}
