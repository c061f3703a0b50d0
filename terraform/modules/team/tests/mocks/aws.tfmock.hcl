# Mocked AWS values shared by the module's tests: the account, partition and region the module
# builds its ARNs and the KMS ViaService condition from, so policies can be compared exactly.
# Shared by every test file through `mock_provider "aws" { source = "./tests/mocks" }`.

mock_data "aws_caller_identity" {
  defaults = { account_id = "111122223333", arn = "arn:aws:iam::111122223333:user/test", user_id = "AIDATEST" }
}

mock_data "aws_partition" {
  defaults = { partition = "aws", dns_suffix = "amazonaws.com", reverse_dns_prefix = "com.amazonaws" }
}

mock_data "aws_region" {
  defaults = { name = "us-west-2", endpoint = "ec2.us-west-2.amazonaws.com", description = "US West (Oregon)" }
}
