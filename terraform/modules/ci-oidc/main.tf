# GitHub Actions identity: one OIDC provider per account, a read-only plan role for pull requests
# and an apply role for the main branch. Both roles trust the exact sub claim only.

locals {
  github_host = "token.actions.githubusercontent.com"

  # Partition from the state bucket ARN, so the module needs no data source.
  partition = split(":", var.state_bucket_arn)[1]

  oidc_provider_arn = var.create_oidc_provider ? aws_iam_openid_connect_provider.this[0].arn : var.existing_oidc_provider_arn

  plan_subject  = "repo:${var.github_repository}:pull_request"
  apply_subject = "repo:${var.github_repository}:ref:refs/heads/${var.main_branch}"

  state_objects = "${var.state_bucket_arn}/*.tfstate"
  lock_objects  = "${var.state_bucket_arn}/*.tflock"

  state_key_statements = var.state_kms_key_arn == null ? [] : [
    {
      Sid      = "UseStateKey"
      Effect   = "Allow"
      Action   = ["kms:Decrypt", "kms:GenerateDataKey"]
      Resource = var.state_kms_key_arn
    },
  ]
}

resource "aws_iam_openid_connect_provider" "this" {
  count = var.create_oidc_provider ? 1 : 0

  url            = "https://${local.github_host}"
  client_id_list = ["sts.amazonaws.com"]

  # AWS validates GitHub's tokens against its own trusted root CAs and ignores thumbprints for
  # this host, but provider versions before 5.81 require the list; these are GitHub's two
  # published intermediate thumbprints.
  thumbprint_list = [
    "6938fd4d98bab03faadb97b34396831e3780aea1",
    "1c58a3a8518e8759bf075b76b750d4f2df264fcd",
  ]

  tags = merge(var.tags, { Name = "github-actions" })
}

# ---------------------------------------------------------------------------------------------
# Plan role: pull requests of the repository. Read-only AWS access, state read and state lock.
# ---------------------------------------------------------------------------------------------

resource "aws_iam_role" "plan" {
  name                 = var.plan_role_name
  description          = "terraform plan from pull requests of ${var.github_repository} (GitHub Actions OIDC)"
  max_session_duration = 3600

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "GitHubPullRequests"
        Effect    = "Allow"
        Principal = { Federated = local.oidc_provider_arn }
        Action    = "sts:AssumeRoleWithWebIdentity"
        Condition = {
          StringEquals = {
            "${local.github_host}:aud" = "sts.amazonaws.com"
            "${local.github_host}:sub" = local.plan_subject
          }
        }
      },
    ]
  })

  tags = var.tags
}

resource "aws_iam_role_policy_attachment" "plan_read_only" {
  role       = aws_iam_role.plan.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/ReadOnlyAccess"
}

resource "aws_iam_role_policy" "plan_state" {
  name = "terraform-state-read-and-lock"
  role = aws_iam_role.plan.id

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat([
      {
        Sid      = "ListStateBucket"
        Effect   = "Allow"
        Action   = ["s3:ListBucket"]
        Resource = var.state_bucket_arn
      },
      {
        Sid      = "ReadState"
        Effect   = "Allow"
        Action   = ["s3:GetObject"]
        Resource = local.state_objects
      },
      {
        # The S3 backend's lock file (use_lockfile = true): created with a conditional put,
        # read to name the holder when taken, deleted on unlock.
        Sid      = "LockState"
        Effect   = "Allow"
        Action   = ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
        Resource = local.lock_objects
      },
    ], local.state_key_statements)
  })
}

# ---------------------------------------------------------------------------------------------
# Apply role: the main branch only. The caller's policies, state read/write and state lock.
# ---------------------------------------------------------------------------------------------

resource "aws_iam_role" "apply" {
  name                 = var.apply_role_name
  description          = "terraform apply from ${var.main_branch} of ${var.github_repository} (GitHub Actions OIDC)"
  max_session_duration = 3600

  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "GitHubMainBranch"
        Effect    = "Allow"
        Principal = { Federated = local.oidc_provider_arn }
        Action    = "sts:AssumeRoleWithWebIdentity"
        Condition = {
          StringEquals = {
            "${local.github_host}:aud" = "sts.amazonaws.com"
            "${local.github_host}:sub" = local.apply_subject
          }
        }
      },
    ]
  })

  tags = var.tags
}

# count, not for_each: a policy created in the same stack has an unknown ARN at plan time.
resource "aws_iam_role_policy_attachment" "apply" {
  count = length(var.apply_policy_arns)

  role       = aws_iam_role.apply.name
  policy_arn = var.apply_policy_arns[count.index]
}

resource "aws_iam_role_policy" "apply_state" {
  name = "terraform-state-read-write-and-lock"
  role = aws_iam_role.apply.id

  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat([
      {
        Sid      = "ListStateBucket"
        Effect   = "Allow"
        Action   = ["s3:ListBucket"]
        Resource = var.state_bucket_arn
      },
      {
        Sid      = "ReadWriteState"
        Effect   = "Allow"
        Action   = ["s3:GetObject", "s3:PutObject"]
        Resource = local.state_objects
      },
      {
        Sid      = "LockState"
        Effect   = "Allow"
        Action   = ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
        Resource = local.lock_objects
      },
    ], local.state_key_statements)
  })
}
