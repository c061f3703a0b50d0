# Mocked AWS values shared by the module's tests: computed attributes that assertions or IAM
# policies depend on look like real ARNs and issuers (used with override_during = plan).

mock_data "aws_partition" {
  defaults = { partition = "aws", dns_suffix = "amazonaws.com" }
}

mock_data "aws_caller_identity" {
  defaults = { account_id = "123456789012", arn = "arn:aws:iam::123456789012:role/deployer", user_id = "AROAEXAMPLE" }
}

mock_data "aws_region" {
  defaults = { name = "eu-west-1" }
}

# availability_zone stays random per subnet, so the two subnets sit in two zones.
mock_data "aws_subnet" {
  defaults = { vpc_id = "vpc-0123456789abcdef0" }
}

mock_resource "aws_eks_cluster" {
  defaults = {
    arn                   = "arn:aws:eks:eu-west-1:123456789012:cluster/acme-prod"
    endpoint              = "https://EXAMPLE0123456789.gr7.eu-west-1.eks.amazonaws.com"
    certificate_authority = [{ data = "LS0tLS1CRUdJTg==" }]
    identity              = [{ oidc = [{ issuer = "https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE" }] }]
  }
}

mock_resource "aws_iam_openid_connect_provider" {
  defaults = { arn = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE" }
}

mock_resource "aws_kms_key" {
  defaults = {
    arn    = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    key_id = "1234abcd-12ab-34cd-56ef-1234567890ab"
  }
}

mock_resource "aws_iam_role" {
  defaults = { arn = "arn:aws:iam::123456789012:role/mocked" }
}

mock_resource "aws_launch_template" {
  defaults = { id = "lt-0123456789abcdef0", latest_version = 1 }
}
