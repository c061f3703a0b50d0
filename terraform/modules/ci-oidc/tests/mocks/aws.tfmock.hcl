# Values the mocked AWS provider returns for this module's resources, shaped like real AWS
# answers so that trust policies embedding the provider ARN can be compared exactly. Shared by
# every test file through `mock_provider "aws" { source = "./tests/mocks" }`.

override_resource {
  target = aws_iam_openid_connect_provider.this
  values = { arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com" }
}

override_resource {
  target = aws_iam_role.plan
  values = { arn = "arn:aws:iam::123456789012:role/acme-ci-plan", id = "acme-ci-plan" }
}

override_resource {
  target = aws_iam_role.apply
  values = { arn = "arn:aws:iam::123456789012:role/acme-ci-apply", id = "acme-ci-apply" }
}
