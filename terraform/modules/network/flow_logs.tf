################################################################################
# VPC flow logs to CloudWatch Logs (created VPCs only)
################################################################################

data "aws_caller_identity" "current" {
  count = local.create ? 1 : 0
}

data "aws_partition" "current" {
  count = local.create ? 1 : 0
}

data "aws_region" "current" {
  count = local.create ? 1 : 0
}

resource "aws_cloudwatch_log_group" "flow_logs" {
  #checkov:skip=CKV_AWS_338:Retention is an input (flow_logs_retention_days, default 90 days as the platform decided); a year of flow logs is a per-environment cost choice.
  #checkov:skip=CKV_AWS_158:KMS encryption is optional (flow_logs_kms_key_arn); without it CloudWatch Logs encrypts the group with its own keys.
  count = local.create ? 1 : 0

  name              = "/aws/vpc-flow-logs/${var.name}"
  retention_in_days = var.flow_logs_retention_days
  kms_key_id        = var.flow_logs_kms_key_arn

  tags = var.tags
}

resource "aws_iam_role" "flow_logs" {
  count = local.create ? 1 : 0

  name        = "${var.name}-vpc-flow-logs"
  description = "Lets VPC Flow Logs write the flow logs of ${var.name} to its CloudWatch log group."
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "VpcFlowLogsAssume"
        Effect    = "Allow"
        Principal = { Service = "vpc-flow-logs.amazonaws.com" }
        Action    = "sts:AssumeRole"
        # Only for flow logs of this account (confused-deputy protection).
        Condition = {
          StringEquals = { "aws:SourceAccount" = data.aws_caller_identity.current[0].account_id }
          ArnLike = {
            "aws:SourceArn" = "arn:${data.aws_partition.current[0].partition}:ec2:${data.aws_region.current[0].name}:${data.aws_caller_identity.current[0].account_id}:vpc-flow-log/*"
          }
        }
      },
    ]
  })

  tags = var.tags
}

resource "aws_iam_role_policy" "flow_logs" {
  count = local.create ? 1 : 0

  name = "write-flow-logs"
  role = aws_iam_role.flow_logs[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid    = "WriteToFlowLogGroup"
        Effect = "Allow"
        Action = [
          "logs:CreateLogStream",
          "logs:DescribeLogStreams",
          "logs:PutLogEvents",
        ]
        # The log group and its streams, nothing else.
        Resource = [
          aws_cloudwatch_log_group.flow_logs[0].arn,
          "${aws_cloudwatch_log_group.flow_logs[0].arn}:*",
        ]
      },
    ]
  })
}

resource "aws_flow_log" "this" {
  count = local.create ? 1 : 0

  vpc_id               = aws_vpc.this[0].id
  traffic_type         = "ALL"
  log_destination_type = "cloud-watch-logs"
  log_destination      = aws_cloudwatch_log_group.flow_logs[0].arn
  iam_role_arn         = aws_iam_role.flow_logs[0].arn

  tags = merge(var.tags, { Name = var.name })

  depends_on = [aws_iam_role_policy.flow_logs]
}
