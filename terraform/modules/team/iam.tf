# IAM for one team: the pipeline role (assumed by the team's pipelines through IRSA) and the
# SageMaker execution role. Documents are built with jsonencode() so the tests can decode them.
# Every statement names its resources; the few "*" resources are the actions AWS does not let
# us scope, each with a comment saying so.

locals {
  artifact_bucket_arn  = "arn:${local.partition}:s3:::${var.artifact_bucket_name}"
  artifact_object_arns = [for p in local.artifact_prefixes : "${local.artifact_bucket_arn}/${p}*"]
  artifact_list_match  = [for p in local.artifact_prefixes : "${p}*"]
  # The shared component catalog (`platform catalog publish`) lives under catalog/ of the same
  # bucket: every team reads it, only the platform's operators and CI write it.
  catalog_object_arn = "${local.artifact_bucket_arn}/catalog/*"
  s3_via_service     = "s3.${local.region}.${local.dns_suffix}"

  ecr_repository_arn = "arn:${local.partition}:ecr:${local.region}:${local.account_id}:repository/${var.ecr_repository_name}"
  sagemaker_role_arn = "arn:${local.partition}:iam::${local.account_id}:role/${var.sagemaker_role_name}"

  # SageMaker training jobs and Batch job definitions of the team are named <team>-*.
  training_job_arn   = "arn:${local.partition}:sagemaker:${local.region}:${local.account_id}:training-job/${var.team_name}-*"
  job_definition_arn = "arn:${local.partition}:batch:${local.region}:${local.account_id}:job-definition/${var.team_name}-*"
  # Batch job ARNs end in a generated job id, so no name can scope them (see BatchStopOwnJobs).
  batch_job_arn = "arn:${local.partition}:batch:${local.region}:${local.account_id}:job/*"

  # Log groups: the group ARN as IAM documents it, and with the ":*" suffix that
  # DescribeLogGroups reports; both are listed so group-level actions match either form.
  logs_arn_prefix      = "arn:${local.partition}:logs:${local.region}:${local.account_id}:log-group:"
  training_log_group   = "/aws/sagemaker/TrainingJobs"
  batch_log_group      = "/aws/batch/job"
  training_group_arns  = ["${local.logs_arn_prefix}${local.training_log_group}", "${local.logs_arn_prefix}${local.training_log_group}:*"]
  batch_group_arns     = ["${local.logs_arn_prefix}${local.batch_log_group}", "${local.logs_arn_prefix}${local.batch_log_group}:*"]
  training_stream_arns = ["${local.logs_arn_prefix}${local.training_log_group}:log-stream:${var.team_name}-*"]
  # Batch names streams <job definition name>/<container>/<task id>.
  batch_stream_arns = ["${local.logs_arn_prefix}${local.batch_log_group}:log-stream:${var.team_name}-*"]

  s3_read_actions  = ["s3:GetObject"]
  s3_write_actions = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]
  ecr_pull_actions = ["ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"]
  ecr_push_actions = ["ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload", "ecr:PutImage"]

  # --- statements shared by both roles -------------------------------------------------------

  artifact_list_statement = {
    Sid       = "ArtifactPrefixesList"
    Effect    = "Allow"
    Action    = ["s3:ListBucket"]
    Resource  = [local.artifact_bucket_arn]
    Condition = { StringLike = { "s3:prefix" = local.artifact_list_match } }
  }

  artifact_key_statement = {
    Sid      = "ArtifactKeyThroughS3"
    Effect   = "Allow"
    Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
    Resource = [var.artifact_kms_key_arn]
    # Only for S3 requests in this region, so the key cannot decrypt anything else directly.
    Condition = { StringEquals = { "kms:ViaService" = local.s3_via_service } }
  }

  ecr_login_statement = {
    Sid    = "EcrLogin"
    Effect = "Allow"
    Action = ["ecr:GetAuthorizationToken"]
    # AWS requires "*": GetAuthorizationToken has no resource type; the token alone reaches no
    # repository, each pull and push is checked against the repository statements.
    Resource = ["*"]
  }

  # --- pipeline role -------------------------------------------------------------------------

  pipeline_s3_statements = concat(
    [
      {
        Sid      = "ArtifactPrefixesReadWrite"
        Effect   = "Allow"
        Action   = local.s3_write_actions
        Resource = local.artifact_object_arns
      },
      {
        Sid      = "CatalogRead"
        Effect   = "Allow"
        Action   = local.s3_read_actions
        Resource = [local.catalog_object_arn]
      },
      local.artifact_list_statement,
      local.artifact_key_statement,
    ],
    flatten([
      for i, b in var.extra_buckets : [
        {
          Sid      = "ExtraBucket${i}${b.access == "write" ? "ReadWrite" : "Read"}"
          Effect   = "Allow"
          Action   = b.access == "write" ? local.s3_write_actions : local.s3_read_actions
          Resource = ["arn:${local.partition}:s3:::${b.name}/${b.prefix}*"]
        },
        merge(
          {
            Sid      = "ExtraBucket${i}List"
            Effect   = "Allow"
            Action   = ["s3:ListBucket"]
            Resource = ["arn:${local.partition}:s3:::${b.name}"]
          },
          b.prefix == "" ? {} : { Condition = { StringLike = { "s3:prefix" = ["${b.prefix}*"] } } },
        ),
      ]
    ]),
  )

  pipeline_ecr_statements = [for s in [
    {
      Sid      = "EcrTeamRepositoryPushPull"
      Effect   = "Allow"
      Action   = concat(local.ecr_pull_actions, local.ecr_push_actions, ["ecr:DescribeImages", "ecr:ListImages"])
      Resource = [local.ecr_repository_arn]
    },
    local.ecr_login_statement,
  ] : s if var.ecr_enabled]

  pipeline_sagemaker_statements = [for s in [
    {
      Sid    = "SageMakerTeamTrainingJobs"
      Effect = "Allow"
      # AddTags: CreateTrainingJob with Tags needs it on the new job.
      Action   = ["sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob", "sagemaker:AddTags"]
      Resource = [local.training_job_arn]
    },
    {
      Sid       = "PassSageMakerExecutionRole"
      Effect    = "Allow"
      Action    = ["iam:PassRole"]
      Resource  = [local.sagemaker_role_arn]
      Condition = { StringEquals = { "iam:PassedToService" = "sagemaker.amazonaws.com" } }
    },
    {
      Sid      = "SageMakerTeamLogGroup"
      Effect   = "Allow"
      Action   = ["logs:DescribeLogStreams"]
      Resource = local.training_group_arns
    },
    {
      Sid      = "SageMakerTeamLogEvents"
      Effect   = "Allow"
      Action   = ["logs:GetLogEvents"]
      Resource = local.training_stream_arns
    },
  ] : s if var.sagemaker_enabled]

  pipeline_batch_statements = [for s in [
    {
      Sid    = "BatchSubmitToTeamQueues"
      Effect = "Allow"
      Action = ["batch:SubmitJob"]
      # SubmitJob is authorised against the queue, the job definition and the new job; the job
      # id does not exist yet, so the job resource can only be job/* of this account and region.
      Resource = concat(var.batch_queue_arns, [local.job_definition_arn, local.batch_job_arn])
    },
    {
      Sid    = "BatchReadJobs"
      Effect = "Allow"
      Action = ["batch:DescribeJobs", "batch:ListJobs"]
      # AWS requires "*": DescribeJobs and ListJobs support no resource-level permissions.
      Resource = ["*"]
    },
    {
      Sid    = "BatchStopOwnJobs"
      Effect = "Allow"
      Action = ["batch:CancelJob", "batch:TerminateJob"]
      # Job ARNs are job/<generated id>; the team tag is the only thing that tells its jobs from
      # other teams' ones, so only jobs submitted with tags {team = <team>} can be stopped.
      Resource  = [local.batch_job_arn]
      Condition = { StringEquals = { "aws:ResourceTag/team" = var.team_name } }
    },
    {
      Sid      = "BatchTeamLogGroup"
      Effect   = "Allow"
      Action   = ["logs:DescribeLogStreams"]
      Resource = local.batch_group_arns
    },
    {
      Sid      = "BatchTeamLogEvents"
      Effect   = "Allow"
      Action   = ["logs:GetLogEvents"]
      Resource = local.batch_stream_arns
    },
  ] : s if length(var.batch_queue_arns) > 0]

  pipeline_policy_json = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      local.pipeline_s3_statements,
      local.pipeline_ecr_statements,
      local.pipeline_sagemaker_statements,
      local.pipeline_batch_statements,
    )
  })

  # An offboarded (stale) team keeps its roles, policy and data, but nothing may assume the roles:
  # the same statement with Deny, so the trust policy stays valid and the change is one field.
  trust_effect = var.active ? "Allow" : "Deny"

  pipeline_trust_json = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "TeamPipelinesThroughIrsa"
      Effect    = local.trust_effect
      Principal = { Federated = var.oidc_provider_arn }
      Action    = "sts:AssumeRoleWithWebIdentity"
      Condition = {
        StringEquals = {
          "${var.oidc_issuer}:sub" = "system:serviceaccount:${var.namespace}:default-editor"
          "${var.oidc_issuer}:aud" = "sts.amazonaws.com"
        }
      }
    }]
  })

  # --- SageMaker execution role --------------------------------------------------------------

  sagemaker_pull_arns = concat(var.ecr_enabled ? [local.ecr_repository_arn] : [], var.catalog_repository_arns)

  sagemaker_policy_json = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [
        {
          Sid      = "ArtifactPrefixesReadWrite"
          Effect   = "Allow"
          Action   = ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"]
          Resource = local.artifact_object_arns
        },
        local.artifact_list_statement,
        local.artifact_key_statement,
      ],
      [for s in [
        {
          Sid      = "EcrPullTeamAndCatalog"
          Effect   = "Allow"
          Action   = local.ecr_pull_actions
          Resource = local.sagemaker_pull_arns
        },
        local.ecr_login_statement,
      ] : s if length(local.sagemaker_pull_arns) > 0],
      [
        {
          Sid      = "TrainingLogGroup"
          Effect   = "Allow"
          Action   = ["logs:CreateLogGroup", "logs:DescribeLogStreams"]
          Resource = local.training_group_arns
        },
        {
          Sid      = "TrainingLogStreamsWrite"
          Effect   = "Allow"
          Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
          Resource = local.training_stream_arns
        },
        {
          Sid    = "TrainingMetrics"
          Effect = "Allow"
          Action = ["cloudwatch:PutMetricData"]
          # AWS requires "*": PutMetricData has no resource type; the namespace condition keeps
          # the role to SageMaker's training-job metrics.
          Resource  = ["*"]
          Condition = { StringEquals = { "cloudwatch:namespace" = local.training_log_group } }
        },
      ],
    )
  })

  sagemaker_trust_json = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Sid       = "SageMakerInThisAccount"
      Effect    = local.trust_effect
      Principal = { Service = "sagemaker.amazonaws.com" }
      Action    = "sts:AssumeRole"
      # Confused-deputy guard: SageMaker may assume the role only for requests from this account.
      Condition = { StringEquals = { "aws:SourceAccount" = local.account_id } }
    }]
  })
}

# --- pipeline role ---------------------------------------------------------------------------

resource "aws_iam_role" "this" {
  name                 = var.role_name
  description          = "Kubeflow pipelines of team ${var.team_name} (IRSA: ${var.namespace}/default-editor)"
  assume_role_policy   = local.pipeline_trust_json
  max_session_duration = 3600
  permissions_boundary = var.permissions_boundary_arn

  tags = local.tags
}

resource "aws_iam_policy" "this" {
  name        = var.policy_name
  description = "What team ${var.team_name}'s pipelines may do in AWS"
  policy      = local.pipeline_policy_json

  tags = local.tags

  lifecycle {
    precondition {
      # IAM counts managed-policy size without whitespace; jsonencode writes none.
      condition     = length(local.pipeline_policy_json) <= 6144
      error_message = "The pipeline policy of team ${var.team_name} is ${length(local.pipeline_policy_json)} characters, above IAM's 6,144 for a managed policy: list fewer extra_buckets or batch_queue_arns."
    }
  }
}

resource "aws_iam_role_policy_attachment" "this" {
  role       = aws_iam_role.this.name
  policy_arn = aws_iam_policy.this.arn
}

# --- SageMaker execution role ----------------------------------------------------------------

resource "aws_iam_role" "sagemaker" {
  count = var.sagemaker_enabled ? 1 : 0

  name                 = var.sagemaker_role_name
  description          = "SageMaker training jobs of team ${var.team_name}"
  assume_role_policy   = local.sagemaker_trust_json
  max_session_duration = 3600
  permissions_boundary = var.permissions_boundary_arn

  tags = local.tags
}

resource "aws_iam_role_policy" "sagemaker" {
  count = var.sagemaker_enabled ? 1 : 0

  name   = "sagemaker-training"
  role   = aws_iam_role.sagemaker[0].id
  policy = local.sagemaker_policy_json

  lifecycle {
    precondition {
      condition     = length(local.sagemaker_policy_json) <= 10240
      error_message = "The SageMaker execution policy of team ${var.team_name} is ${length(local.sagemaker_policy_json)} characters, above IAM's 10,240 for a role's inline policies: list fewer catalog_repository_arns."
    }
  }
}
