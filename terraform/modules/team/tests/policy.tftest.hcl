# Plan-level checks of the team module's IAM documents, ECR repository, access entry and tags.
# The mock provider needs no cloud; the account, partition and region in tests/mocks make ARNs
# look real.

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  team_name            = "alpha"
  namespace            = "alpha"
  role_name            = "acme-dev-team-alpha"
  sagemaker_role_name  = "acme-dev-team-alpha-sm"
  policy_name          = "acme-dev-team-alpha-access"
  ecr_repository_name  = "acme/teams/alpha"
  cost_center          = "CC-4120"
  tags                 = { owner = "ml-platform", team = "someone-else" }
  oidc_provider_arn    = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
  oidc_issuer          = "oidc.eks.us-west-2.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
  artifact_bucket_name = "acme-dev-kfp-artifacts-111122223333"
  artifact_kms_key_arn = "arn:aws:kms:us-west-2:111122223333:key/0d3c1f5e-8a41-4c8e-9b1e-2f7a6c5d4e3b"
  cluster_name         = "acme-dev"
  sso_role_arn         = "arn:aws:iam::111122223333:role/aws-reserved/sso.amazonaws.com/us-west-2/AWSReservedSSO_ml-alpha_0123456789abcdef"
}

# --- defaults: ECR on, SageMaker off, no Batch queues, access entry on -----------------------

run "defaults" {
  command = plan

  # Trust: only IRSA, only the namespace's default-editor, exact StringEquals on sub and aud.
  assert {
    condition     = length(jsondecode(aws_iam_role.this.assume_role_policy).Statement) == 1
    error_message = "The pipeline role must have exactly one trust statement."
  }
  assert {
    condition = (
      jsondecode(aws_iam_role.this.assume_role_policy).Statement[0].Effect == "Allow" &&
      jsondecode(aws_iam_role.this.assume_role_policy).Statement[0].Action == "sts:AssumeRoleWithWebIdentity" &&
      jsondecode(aws_iam_role.this.assume_role_policy).Statement[0].Principal == { Federated = var.oidc_provider_arn }
    )
    error_message = "The pipeline role must be assumable only with web identity from the cluster's OIDC provider."
  }
  assert {
    condition = jsondecode(aws_iam_role.this.assume_role_policy).Statement[0].Condition == {
      StringEquals = {
        "oidc.eks.us-west-2.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF:sub" = "system:serviceaccount:alpha:default-editor"
        "oidc.eks.us-west-2.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF:aud" = "sts.amazonaws.com"
      }
    }
    error_message = "The trust condition must be StringEquals with exactly the sub (alpha:default-editor) and aud (sts.amazonaws.com) keys."
  }
  assert {
    condition = (
      keys(jsondecode(aws_iam_role.this.assume_role_policy).Statement[0].Condition) == ["StringEquals"] &&
      length(jsondecode(aws_iam_role.this.assume_role_policy).Statement[0].Condition.StringEquals) == 2
    )
    error_message = "The trust condition may use only StringEquals (no StringLike) with exactly two keys."
  }
  assert {
    condition     = aws_iam_role.this.max_session_duration == 3600 && aws_iam_role.this.permissions_boundary == null
    error_message = "The pipeline role must have 1h sessions and no boundary unless one is given."
  }

  # No "*" action anywhere, only Allow, no NotAction/NotResource.
  assert {
    condition = alltrue([
      for s in jsondecode(output.policy_json).Statement : alltrue([for a in s.Action : a != "*" && !endswith(a, ":*")])
    ])
    error_message = "No statement may have a \"*\" action."
  }
  assert {
    condition = alltrue([
      for s in jsondecode(output.policy_json).Statement : s.Effect == "Allow" && !can(s.NotAction) && !can(s.NotResource)
    ])
    error_message = "Statements must be plain Allow statements without NotAction or NotResource."
  }
  # "*" resources only for the actions AWS cannot scope.
  assert {
    condition = alltrue([
      for s in jsondecode(output.policy_json).Statement :
      !contains(s.Resource, "*") || length(setsubtract(s.Action, ["ecr:GetAuthorizationToken", "batch:DescribeJobs", "batch:ListJobs"])) == 0
    ])
    error_message = "A \"*\" resource is allowed only for ecr:GetAuthorizationToken, batch:DescribeJobs and batch:ListJobs."
  }

  # S3 objects: the team's two prefixes of the artifact bucket, and the shared catalog.
  assert {
    condition = toset([
      for r in flatten([for s in jsondecode(output.policy_json).Statement : s.Resource]) : r
      if startswith(r, "arn:aws:s3:::") && strcontains(r, "/")
      ]) == toset([
      "arn:aws:s3:::acme-dev-kfp-artifacts-111122223333/artifacts/alpha/*",
      "arn:aws:s3:::acme-dev-kfp-artifacts-111122223333/v2/artifacts/alpha/*",
      "arn:aws:s3:::acme-dev-kfp-artifacts-111122223333/catalog/*",
    ])
    error_message = "S3 object resources must be exactly the team's artifacts/alpha/ and v2/artifacts/alpha/ prefixes and catalog/."
  }
  # The catalog is read-only for teams: only GetObject reaches catalog/.
  assert {
    condition = alltrue([
      for s in jsondecode(output.policy_json).Statement :
      s.Action == ["s3:GetObject"]
      if contains(s.Resource, "arn:aws:s3:::acme-dev-kfp-artifacts-111122223333/catalog/*")
    ])
    error_message = "Teams may only read the catalog (s3:GetObject on catalog/*)."
  }
  assert {
    condition = alltrue([
      for s in jsondecode(output.policy_json).Statement :
      s.Condition.StringLike["s3:prefix"] == ["artifacts/alpha/*", "v2/artifacts/alpha/*"]
      if contains(s.Action, "s3:ListBucket")
    ])
    error_message = "ListBucket on the artifact bucket must be limited by s3:prefix to the team's prefixes."
  }
  assert {
    condition = alltrue([
      for s in jsondecode(output.policy_json).Statement :
      s.Resource == [var.artifact_kms_key_arn] && s.Condition.StringEquals["kms:ViaService"] == "s3.us-west-2.amazonaws.com"
      if anytrue([for a in s.Action : startswith(a, "kms:")])
    ])
    error_message = "KMS use must be limited to the artifact key through S3 in the region."
  }

  # ECR: push/pull on the team repository only.
  assert {
    condition = toset(flatten([
      for s in jsondecode(output.policy_json).Statement : s.Resource if anytrue([for a in s.Action : startswith(a, "ecr:")])
    ])) == toset(["arn:aws:ecr:us-west-2:111122223333:repository/acme/teams/alpha", "*"])
    error_message = "ECR permissions must name only the team repository (and \"*\" for GetAuthorizationToken)."
  }
  assert {
    condition = (
      aws_ecr_repository.this[0].image_tag_mutability == "IMMUTABLE" &&
      aws_ecr_repository.this[0].image_scanning_configuration[0].scan_on_push &&
      aws_ecr_repository.this[0].encryption_configuration[0].encryption_type == "KMS"
    )
    error_message = "The team repository must have immutable tags, scan on push and KMS encryption."
  }
  assert {
    condition     = jsondecode(aws_ecr_lifecycle_policy.this[0].policy).rules[0].selection.tagStatus == "untagged"
    error_message = "The lifecycle policy must expire untagged images."
  }

  # SageMaker and Batch are off.
  assert {
    condition = alltrue([
      for s in jsondecode(output.policy_json).Statement :
      alltrue([for a in s.Action : !startswith(a, "sagemaker:") && !startswith(a, "iam:") && !startswith(a, "batch:") && !startswith(a, "logs:")])
    ])
    error_message = "With SageMaker disabled and no queues, there must be no sagemaker, iam, batch or logs statements."
  }
  assert {
    condition     = length(aws_iam_role.sagemaker) == 0 && length(aws_iam_role_policy.sagemaker) == 0 && output.sagemaker_role_arn == null
    error_message = "No SageMaker execution role when SageMaker is disabled."
  }

  # Access entry for the SSO role, namespace-scoped edit.
  assert {
    condition = (
      length(aws_eks_access_entry.sso) == 1 &&
      aws_eks_access_entry.sso[0].principal_arn == var.sso_role_arn &&
      aws_eks_access_entry.sso[0].cluster_name == "acme-dev" &&
      aws_eks_access_entry.sso[0].type == "STANDARD"
    )
    error_message = "The SSO role must get a STANDARD access entry on the cluster."
  }
  assert {
    condition = (
      aws_eks_access_policy_association.sso_edit[0].policy_arn == "arn:aws:eks::aws:cluster-access-policy/AmazonEKSEditPolicy" &&
      aws_eks_access_policy_association.sso_edit[0].access_scope[0].type == "namespace" &&
      toset(aws_eks_access_policy_association.sso_edit[0].access_scope[0].namespaces) == toset(["alpha"])
    )
    error_message = "The SSO role must get AmazonEKSEditPolicy scoped to the team namespace only."
  }

  # Tags: team and cost-center win over var.tags; var.tags are kept.
  assert {
    condition = alltrue([
      for t in [aws_iam_role.this.tags, aws_iam_policy.this.tags, aws_ecr_repository.this[0].tags, aws_eks_access_entry.sso[0].tags] :
      t == tomap({ team = "alpha", "cost-center" = "CC-4120", owner = "ml-platform" })
    ])
    error_message = "Every taggable resource must carry team=alpha, cost-center=CC-4120 and var.tags."
  }

  assert {
    condition     = output.artifact_prefixes == ["artifacts/alpha/", "v2/artifacts/alpha/"] && output.namespace == "alpha"
    error_message = "Outputs must report the team's artifact prefixes and namespace."
  }
}

# --- everything on: SageMaker, Batch, extra buckets, boundary --------------------------------

run "sagemaker_batch_extra_buckets" {
  command = plan

  variables {
    sagemaker_enabled        = true
    permissions_boundary_arn = "arn:aws:iam::111122223333:policy/platform/team-boundary"
    batch_queue_arns = [
      "arn:aws:batch:us-west-2:111122223333:job-queue/alpha-preprocess",
      "arn:aws:batch:us-west-2:111122223333:job-queue/alpha-gpu",
    ]
    extra_buckets = [
      { name = "acme-drive-logs", access = "read", prefix = "camera/" },
      { name = "acme-alpha-datasets", access = "write" },
    ]
    catalog_repository_arns = ["arn:aws:ecr:us-west-2:111122223333:repository/acme/catalog/*"]
  }

  assert {
    condition = alltrue([
      for s in jsondecode(output.policy_json).Statement : alltrue([for a in s.Action : a != "*" && !endswith(a, ":*")])
    ])
    error_message = "No statement may have a \"*\" action."
  }
  assert {
    condition = alltrue([
      for s in jsondecode(output.policy_json).Statement :
      !contains(s.Resource, "*") || length(setsubtract(s.Action, ["ecr:GetAuthorizationToken", "batch:DescribeJobs", "batch:ListJobs"])) == 0
    ])
    error_message = "A \"*\" resource is allowed only for ecr:GetAuthorizationToken, batch:DescribeJobs and batch:ListJobs."
  }

  # S3 objects: team prefixes plus each extra bucket under its prefix.
  assert {
    condition = toset([
      for r in flatten([for s in jsondecode(output.policy_json).Statement : s.Resource]) : r
      if startswith(r, "arn:aws:s3:::") && strcontains(r, "/")
      ]) == toset([
      "arn:aws:s3:::acme-dev-kfp-artifacts-111122223333/artifacts/alpha/*",
      "arn:aws:s3:::acme-dev-kfp-artifacts-111122223333/v2/artifacts/alpha/*",
      "arn:aws:s3:::acme-dev-kfp-artifacts-111122223333/catalog/*",
      "arn:aws:s3:::acme-drive-logs/camera/*",
      "arn:aws:s3:::acme-alpha-datasets/*",
    ])
    error_message = "S3 object resources must be the team prefixes and the extra buckets' prefixes only."
  }
  assert {
    condition = alltrue([
      for s in jsondecode(output.policy_json).Statement :
      length(setintersection(s.Action, ["s3:PutObject", "s3:DeleteObject"])) == 0
      if contains(s.Resource, "arn:aws:s3:::acme-drive-logs/camera/*")
    ])
    error_message = "A read extra bucket must not get PutObject or DeleteObject."
  }
  assert {
    condition = anytrue([
      for s in jsondecode(output.policy_json).Statement :
      contains(s.Action, "s3:PutObject") if contains(s.Resource, "arn:aws:s3:::acme-alpha-datasets/*")
    ])
    error_message = "A write extra bucket must get PutObject."
  }
  assert {
    condition = alltrue([
      for s in jsondecode(output.policy_json).Statement :
      s.Condition.StringLike["s3:prefix"] == ["camera/*"]
      if contains(s.Resource, "arn:aws:s3:::acme-drive-logs")
    ])
    error_message = "Listing a prefixed extra bucket must be limited to its prefix."
  }

  # PassRole: only the team's SageMaker role, only to SageMaker.
  assert {
    condition = alltrue([
      for s in jsondecode(output.policy_json).Statement :
      s.Action == ["iam:PassRole"] &&
      s.Resource == ["arn:aws:iam::111122223333:role/acme-dev-team-alpha-sm"] &&
      s.Condition == { StringEquals = { "iam:PassedToService" = "sagemaker.amazonaws.com" } }
      if anytrue([for a in s.Action : startswith(a, "iam:")])
    ])
    error_message = "iam:PassRole must be alone, on the team's SageMaker role only, with iam:PassedToService = sagemaker.amazonaws.com."
  }
  assert {
    condition = length([
      for s in jsondecode(output.policy_json).Statement : s if contains(s.Action, "iam:PassRole")
    ]) == 1
    error_message = "There must be exactly one PassRole statement when SageMaker is enabled."
  }
  assert {
    condition = alltrue([
      for s in jsondecode(output.policy_json).Statement :
      s.Resource == ["arn:aws:sagemaker:us-west-2:111122223333:training-job/alpha-*"]
      if anytrue([for a in s.Action : startswith(a, "sagemaker:")])
    ])
    error_message = "SageMaker actions must be limited to training jobs named alpha-*."
  }

  # Batch: only the given queues (plus team job definitions and the new job).
  assert {
    condition = toset(flatten([
      for s in jsondecode(output.policy_json).Statement : s.Resource if contains(s.Action, "batch:SubmitJob")
      ])) == toset([
      "arn:aws:batch:us-west-2:111122223333:job-queue/alpha-preprocess",
      "arn:aws:batch:us-west-2:111122223333:job-queue/alpha-gpu",
      "arn:aws:batch:us-west-2:111122223333:job-definition/alpha-*",
      "arn:aws:batch:us-west-2:111122223333:job/*",
    ])
    error_message = "SubmitJob must name only the given queues, the team's job definitions and new jobs."
  }
  assert {
    condition = toset([
      for r in flatten([for s in jsondecode(output.policy_json).Statement : s.Resource]) : r if strcontains(r, ":job-queue/")
    ]) == toset(var.batch_queue_arns)
    error_message = "No job queue other than the given ones may appear in the policy."
  }
  assert {
    condition = alltrue([
      for s in jsondecode(output.policy_json).Statement :
      s.Resource == ["arn:aws:batch:us-west-2:111122223333:job/*"] && s.Condition == { StringEquals = { "aws:ResourceTag/team" = "alpha" } }
      if contains(s.Action, "batch:TerminateJob") || contains(s.Action, "batch:CancelJob")
    ])
    error_message = "TerminateJob and CancelJob must be limited to jobs tagged team=alpha."
  }

  # Logs: read only the team's streams.
  assert {
    condition = toset(flatten([
      for s in jsondecode(output.policy_json).Statement : s.Resource if contains(s.Action, "logs:GetLogEvents")
      ])) == toset([
      "arn:aws:logs:us-west-2:111122223333:log-group:/aws/sagemaker/TrainingJobs:log-stream:alpha-*",
      "arn:aws:logs:us-west-2:111122223333:log-group:/aws/batch/job:log-stream:alpha-*",
    ])
    error_message = "GetLogEvents must be limited to the team's SageMaker and Batch log streams."
  }
  assert {
    condition = alltrue([
      for s in jsondecode(output.policy_json).Statement :
      length(setintersection(s.Action, ["logs:FilterLogEvents", "logs:StartQuery", "logs:GetLogRecord"])) == 0
    ])
    error_message = "Group-wide log reads (FilterLogEvents, Logs Insights) would expose other teams' logs."
  }

  # SageMaker execution role.
  assert {
    condition = jsondecode(aws_iam_role.sagemaker[0].assume_role_policy).Statement == [{
      Sid       = "SageMakerInThisAccount"
      Effect    = "Allow"
      Principal = { Service = "sagemaker.amazonaws.com" }
      Action    = "sts:AssumeRole"
      Condition = { StringEquals = { "aws:SourceAccount" = "111122223333" } }
    }]
    error_message = "The SageMaker role must trust only sagemaker.amazonaws.com, for this account."
  }
  assert {
    condition = alltrue([
      for s in jsondecode(aws_iam_role_policy.sagemaker[0].policy).Statement :
      alltrue([for a in s.Action : a != "*" && !endswith(a, ":*")]) &&
      (!contains(s.Resource, "*") || length(setsubtract(s.Action, ["ecr:GetAuthorizationToken", "cloudwatch:PutMetricData"])) == 0)
    ])
    error_message = "The SageMaker policy must have no \"*\" action and \"*\" resources only for GetAuthorizationToken and PutMetricData."
  }
  assert {
    condition = toset([
      for r in flatten([for s in jsondecode(aws_iam_role_policy.sagemaker[0].policy).Statement : s.Resource]) : r
      if startswith(r, "arn:aws:s3:::") && strcontains(r, "/")
      ]) == toset([
      "arn:aws:s3:::acme-dev-kfp-artifacts-111122223333/artifacts/alpha/*",
      "arn:aws:s3:::acme-dev-kfp-artifacts-111122223333/v2/artifacts/alpha/*",
    ])
    error_message = "The SageMaker role may use only the team's artifact prefixes."
  }
  assert {
    condition = toset(flatten([
      for s in jsondecode(aws_iam_role_policy.sagemaker[0].policy).Statement : s.Resource if contains(s.Action, "ecr:BatchGetImage")
      ])) == toset([
      "arn:aws:ecr:us-west-2:111122223333:repository/acme/teams/alpha",
      "arn:aws:ecr:us-west-2:111122223333:repository/acme/catalog/*",
    ])
    error_message = "The SageMaker role may pull only the team repository and the catalog."
  }
  assert {
    condition = alltrue([
      for s in jsondecode(aws_iam_role_policy.sagemaker[0].policy).Statement :
      length(setintersection(s.Action, ["ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:UploadLayerPart", "ecr:CompleteLayerUpload"])) == 0
    ])
    error_message = "The SageMaker role must not push images."
  }
  assert {
    condition = toset(flatten([
      for s in jsondecode(aws_iam_role_policy.sagemaker[0].policy).Statement : s.Resource if contains(s.Action, "logs:PutLogEvents")
    ])) == toset(["arn:aws:logs:us-west-2:111122223333:log-group:/aws/sagemaker/TrainingJobs:log-stream:alpha-*"])
    error_message = "The SageMaker role may write only the team's training-job log streams."
  }
  assert {
    condition = (
      aws_iam_role.sagemaker[0].permissions_boundary == var.permissions_boundary_arn &&
      aws_iam_role.this.permissions_boundary == var.permissions_boundary_arn
    )
    error_message = "Both roles must get the permissions boundary."
  }
  assert {
    condition     = aws_iam_role.sagemaker[0].tags == tomap({ team = "alpha", "cost-center" = "CC-4120", owner = "ml-platform" })
    error_message = "The SageMaker role must carry the team tags."
  }
}

# --- access entry switches -------------------------------------------------------------------

run "no_access_entry_without_eks_extras" {
  command = plan

  variables {
    enable_eks_extras = false
  }

  assert {
    condition     = length(aws_eks_access_entry.sso) == 0 && length(aws_eks_access_policy_association.sso_edit) == 0
    error_message = "enable_eks_extras = false must create no access entry."
  }
}

run "no_access_entry_without_sso_role" {
  command = plan

  variables {
    sso_role_arn = null
  }

  assert {
    condition     = length(aws_eks_access_entry.sso) == 0 && length(aws_eks_access_policy_association.sso_edit) == 0
    error_message = "Without an SSO role there must be no access entry."
  }
}

# --- ECR off ---------------------------------------------------------------------------------

run "ecr_disabled" {
  command = plan

  variables {
    ecr_enabled       = false
    sagemaker_enabled = true
  }

  assert {
    condition     = length(aws_ecr_repository.this) == 0 && length(aws_ecr_lifecycle_policy.this) == 0 && output.ecr_repository_url == null
    error_message = "ecr_enabled = false must create no repository."
  }
  assert {
    condition = alltrue([
      for s in jsondecode(output.policy_json).Statement : alltrue([for a in s.Action : !startswith(a, "ecr:")])
    ])
    error_message = "Without a repository the pipeline role needs no ECR permissions."
  }
  assert {
    condition = alltrue([
      for s in jsondecode(aws_iam_role_policy.sagemaker[0].policy).Statement : alltrue([for a in s.Action : !startswith(a, "ecr:")])
    ])
    error_message = "Without a repository or catalog the SageMaker role needs no ECR permissions."
  }
}

# --- an offboarded (stale) team: nobody may assume its roles, nothing is destroyed ---------------

run "stale_team_denies_every_assumption" {
  command = plan

  variables {
    active            = false
    sagemaker_enabled = true
  }

  assert {
    condition     = [for s in jsondecode(aws_iam_role.this.assume_role_policy).Statement : s.Effect] == ["Deny"]
    error_message = "A stale team's pipeline role must deny every web-identity assumption."
  }
  assert {
    condition     = [for s in jsondecode(aws_iam_role.sagemaker[0].assume_role_policy).Statement : s.Effect] == ["Deny"]
    error_message = "A stale team's SageMaker role must deny SageMaker too."
  }
  assert {
    condition     = length(aws_eks_access_entry.sso) == 0
    error_message = "A stale team's SSO role must lose its cluster access entry."
  }
  assert {
    condition     = length(aws_ecr_repository.this) == 1
    error_message = "Offboarding keeps the team's images."
  }
}
