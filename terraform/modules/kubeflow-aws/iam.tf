# IRSA roles for Kubeflow Pipelines. Each role trusts only the listed service accounts of
# kubeflow_namespace, through the cluster's OIDC provider, with exact StringEquals conditions.

locals {
  irsa_service_accounts = {
    kfp  = var.kfp_service_accounts
    argo = var.argo_service_accounts
  }

  irsa_trust_policies = {
    for role, service_accounts in local.irsa_service_accounts : role => jsonencode({
      Version = "2012-10-17"
      Statement = [
        {
          Sid       = "KubeflowServiceAccounts"
          Effect    = "Allow"
          Principal = { Federated = var.oidc_provider_arn }
          Action    = "sts:AssumeRoleWithWebIdentity"
          Condition = {
            StringEquals = {
              "${var.oidc_issuer}:sub" = [for sa in service_accounts : "system:serviceaccount:${var.kubeflow_namespace}:${sa}"]
              "${var.oidc_issuer}:aud" = "sts.amazonaws.com"
            }
          }
        },
      ]
    })
  }

  artifact_key_statement = {
    Sid      = "UseArtifactKey"
    Effect   = "Allow"
    Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
    Resource = aws_kms_key.this.arn
  }
}

# ---------------------------------------------------------------------------------------------
# KFP: API server (pipeline packages, logs), UI and visualization server (read any run's
# artifacts, including team prefixes in multi-user mode), so the whole bucket.
# ---------------------------------------------------------------------------------------------

resource "aws_iam_role" "kfp" {
  name                 = var.kfp_role_name
  description          = "Kubeflow Pipelines API server, UI and visualization server of ${var.name} (IRSA)"
  assume_role_policy   = local.irsa_trust_policies.kfp
  max_session_duration = 3600

  tags = var.tags
}

resource "aws_iam_role_policy" "kfp" {
  name = "kfp-artifacts"
  role = aws_iam_role.kfp.id

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "ListArtifactBucket"
        Effect   = "Allow"
        Action   = ["s3:GetBucketLocation", "s3:ListBucket"]
        Resource = aws_s3_bucket.this.arn
      },
      {
        Sid      = "ReadWriteArtifacts"
        Effect   = "Allow"
        Action   = ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
        Resource = "${aws_s3_bucket.this.arn}/*"
      },
      local.artifact_key_statement,
    ]
  })
}

# ---------------------------------------------------------------------------------------------
# Argo: the workflow controller and pipeline-run pods in kubeflow_namespace, limited to the
# run artifact prefixes.
# ---------------------------------------------------------------------------------------------

resource "aws_iam_role" "argo" {
  name                 = var.argo_role_name
  description          = "Argo workflow controller and pipeline runs in ${var.kubeflow_namespace} of ${var.name} (IRSA)"
  assume_role_policy   = local.irsa_trust_policies.argo
  max_session_duration = 3600

  tags = var.tags
}

resource "aws_iam_role_policy" "argo" {
  name = "argo-artifacts"
  role = aws_iam_role.argo.id

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid      = "LocateArtifactBucket"
        Effect   = "Allow"
        Action   = ["s3:GetBucketLocation"]
        Resource = aws_s3_bucket.this.arn
      },
      {
        Sid       = "ListRunArtifacts"
        Effect    = "Allow"
        Action    = ["s3:ListBucket"]
        Resource  = aws_s3_bucket.this.arn
        Condition = { StringLike = { "s3:prefix" = [for p in var.argo_artifact_prefixes : "${p}*"] } }
      },
      {
        Sid      = "ReadWriteRunArtifacts"
        Effect   = "Allow"
        Action   = ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
        Resource = [for p in var.argo_artifact_prefixes : "${aws_s3_bucket.this.arn}/${p}*"]
      },
      local.artifact_key_statement,
    ]
  })
}
