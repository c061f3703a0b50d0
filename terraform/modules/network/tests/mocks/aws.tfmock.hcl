# Mocked AWS values shared by the module's tests: a us-east-1 region with six zones, the account
# and partition the flow log policies embed, the adopted VPC and its subnets, and the flow log
# group's ARN (generated during plan where a test file sets override_during = plan). Shared by
# every test file through `mock_provider "aws" { source = "./tests/mocks" }`; a file or run that
# needs other values overrides them itself.

mock_data "aws_availability_zones" {
  defaults = {
    names = ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e", "us-east-1f"]
  }
}

mock_data "aws_caller_identity" {
  defaults = {
    account_id = "123456789012"
  }
}

mock_data "aws_partition" {
  defaults = {
    partition = "aws"
  }
}

mock_data "aws_region" {
  defaults = {
    name = "us-east-1"
  }
}

mock_data "aws_vpc" {
  defaults = {
    id         = "vpc-0123456789abcdef0"
    cidr_block = "10.60.0.0/16"
  }
}

# Every looked-up subnet belongs to the adopted VPC unless a file or run says otherwise.
mock_data "aws_subnet" {
  defaults = {
    vpc_id            = "vpc-0123456789abcdef0"
    availability_zone = "us-east-1a"
  }
}

mock_resource "aws_cloudwatch_log_group" {
  defaults = {
    arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/vpc-flow-logs/acme-dev"
  }
}
