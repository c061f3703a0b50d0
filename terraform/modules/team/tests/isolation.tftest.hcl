# Two teams in the same environment and artifact bucket: neither policy reaches the other's
# artifacts. "beta" is deliberately a different length, and "alpha" vs "alpha-2" (below) checks
# that the trailing slash keeps a team out of a longer name that starts with its own.
# The shared catalog (catalog/*, read-only for every team) is the one object path they have in common.

mock_provider "aws" {
  source = "./tests/mocks"
}

variables {
  cost_center          = "CC-4120"
  oidc_provider_arn    = "arn:aws:iam::111122223333:oidc-provider/oidc.eks.us-west-2.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
  oidc_issuer          = "oidc.eks.us-west-2.amazonaws.com/id/0123456789ABCDEF0123456789ABCDEF"
  artifact_bucket_name = "acme-dev-kfp-artifacts-111122223333"
  artifact_kms_key_arn = "arn:aws:kms:us-west-2:111122223333:key/0d3c1f5e-8a41-4c8e-9b1e-2f7a6c5d4e3b"
  cluster_name         = "acme-dev"
  sagemaker_enabled    = true
}

run "team_alpha" {
  command = plan

  variables {
    team_name           = "alpha"
    namespace           = "alpha"
    role_name           = "acme-dev-team-alpha"
    sagemaker_role_name = "acme-dev-team-alpha-sm"
    policy_name         = "acme-dev-team-alpha-access"
    ecr_repository_name = "acme/teams/alpha"
  }

  # Every S3 resource of the team (objects and listing prefixes) is under a folder named
  # exactly after the team, and the other team's name appears nowhere in them.
  assert {
    condition = alltrue([
      for r in flatten([for s in jsondecode(output.policy_json).Statement : s.Resource]) :
      endswith(r, "/alpha/*") && !strcontains(r, "beta")
      if startswith(r, "arn:aws:s3:::acme-dev-kfp-artifacts-111122223333/") && r != "arn:aws:s3:::acme-dev-kfp-artifacts-111122223333/catalog/*"
    ])
    error_message = "Team alpha's S3 object resources must contain only its own team folder."
  }
  assert {
    condition = alltrue(flatten([
      for s in jsondecode(output.policy_json).Statement : [
        for p in s.Condition.StringLike["s3:prefix"] : startswith(p, "artifacts/alpha/") || startswith(p, "v2/artifacts/alpha/")
      ] if contains(s.Action, "s3:ListBucket")
    ]))
    error_message = "Team alpha may list only its own prefixes."
  }
  assert {
    condition = alltrue([
      for r in flatten([for s in jsondecode(output.policy_json).Statement : s.Resource]) : !strcontains(r, "beta")
    ])
    error_message = "No resource of team alpha's policy may name team beta."
  }
  assert {
    condition     = strcontains(jsondecode(aws_iam_role.this.assume_role_policy).Statement[0].Condition.StringEquals["${var.oidc_issuer}:sub"], ":alpha:")
    error_message = "Team alpha's role must trust only the alpha namespace."
  }
}

run "team_beta" {
  command = plan

  variables {
    team_name           = "beta"
    namespace           = "beta"
    role_name           = "acme-dev-team-beta"
    sagemaker_role_name = "acme-dev-team-beta-sm"
    policy_name         = "acme-dev-team-beta-access"
    ecr_repository_name = "acme/teams/beta"
  }

  # Every S3 resource of the team (objects and listing prefixes) is under a folder named
  # exactly after the team, and the other team's name appears nowhere in them.
  assert {
    condition = alltrue([
      for r in flatten([for s in jsondecode(output.policy_json).Statement : s.Resource]) :
      endswith(r, "/beta/*") && !strcontains(r, "alpha")
      if startswith(r, "arn:aws:s3:::acme-dev-kfp-artifacts-111122223333/") && r != "arn:aws:s3:::acme-dev-kfp-artifacts-111122223333/catalog/*"
    ])
    error_message = "Team beta's S3 object resources must contain only its own team folder."
  }
  assert {
    condition = alltrue(flatten([
      for s in jsondecode(output.policy_json).Statement : [
        for p in s.Condition.StringLike["s3:prefix"] : startswith(p, "artifacts/beta/") || startswith(p, "v2/artifacts/beta/")
      ] if contains(s.Action, "s3:ListBucket")
    ]))
    error_message = "Team beta may list only its own prefixes."
  }
  assert {
    condition = alltrue([
      for r in flatten([for s in jsondecode(output.policy_json).Statement : s.Resource]) : !strcontains(r, "alpha")
    ])
    error_message = "No resource of team beta's policy may name team alpha."
  }
  assert {
    condition     = strcontains(jsondecode(aws_iam_role.this.assume_role_policy).Statement[0].Condition.StringEquals["${var.oidc_issuer}:sub"], ":beta:")
    error_message = "Team beta's role must trust only the beta namespace."
  }
}

run "team_alpha_2_prefix_does_not_cover_alpha" {
  command = plan

  variables {
    team_name           = "alpha-2"
    namespace           = "alpha-2"
    role_name           = "acme-dev-team-alpha-2"
    sagemaker_role_name = "acme-dev-team-alpha-2-sm"
    policy_name         = "acme-dev-team-alpha-2-access"
    ecr_repository_name = "acme/teams/alpha-2"
  }

  assert {
    condition = toset([
      for r in flatten([for s in jsondecode(output.policy_json).Statement : s.Resource]) : r
      if startswith(r, "arn:aws:s3:::acme-dev-kfp-artifacts-111122223333/") && r != "arn:aws:s3:::acme-dev-kfp-artifacts-111122223333/catalog/*"
      ]) == toset([
      "arn:aws:s3:::acme-dev-kfp-artifacts-111122223333/artifacts/alpha-2/*",
      "arn:aws:s3:::acme-dev-kfp-artifacts-111122223333/v2/artifacts/alpha-2/*",
    ])
    error_message = "Team alpha-2's object resources must end in its own folder and a slash."
  }
}
