# Bad input is refused at plan time, before anything is read or created.

# Terraform test keeps planning after an expected validation failure, so the runs that set
# `existing` also read the subnets: the mocks (tests/mocks: enough zones for az_count, subnets in
# the given VPC) make those reads valid, so that only the check under test fails.
mock_provider "aws" {
  source = "./tests/mocks"
}

override_data {
  target = data.aws_subnet.private["subnet-0bbbbbbbbbbbbbbb2"]
  values = {
    vpc_id            = "vpc-0123456789abcdef0"
    availability_zone = "us-east-1b"
  }
}

variables {
  name         = "acme-dev"
  cluster_name = "acme-dev"
  vpc_cidr     = "10.40.0.0/16"
}

run "accepts_valid_input" {
  command = plan
}

# --- exactly one of vpc_cidr and existing ------------------------------------------------

run "rejects_both_vpc_cidr_and_existing" {
  command = plan
  variables {
    existing = {
      vpc_id             = "vpc-0123456789abcdef0"
      private_subnet_ids = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2"]
    }
  }
  expect_failures = [var.vpc_cidr]
}

run "rejects_neither_vpc_cidr_nor_existing" {
  command = plan
  variables { vpc_cidr = null }
  expect_failures = [var.vpc_cidr]
}

# --- vpc_cidr ------------------------------------------------------------------------------

run "rejects_cidr_larger_than_16" {
  command = plan
  variables { vpc_cidr = "10.0.0.0/15" }
  expect_failures = [var.vpc_cidr]
}

run "rejects_cidr_smaller_than_22" {
  command = plan
  variables { vpc_cidr = "10.40.0.0/23" }
  expect_failures = [var.vpc_cidr]
}

run "rejects_cidr_with_host_bits" {
  command = plan
  variables { vpc_cidr = "10.40.1.0/16" }
  expect_failures = [var.vpc_cidr]
}

run "rejects_cidr_without_prefix" {
  command = plan
  variables { vpc_cidr = "10.40.0.0" }
  expect_failures = [var.vpc_cidr]
}

run "rejects_cidr_with_bad_octet" {
  command = plan
  variables { vpc_cidr = "10.400.0.0/16" }
  expect_failures = [var.vpc_cidr]
}

run "rejects_ipv6_cidr" {
  command = plan
  variables { vpc_cidr = "fd00::/56" }
  expect_failures = [var.vpc_cidr]
}

# --- az_count and nat_mode ------------------------------------------------------------------

run "rejects_one_zone" {
  command = plan
  variables { az_count = 1 }
  expect_failures = [var.az_count]
}

run "rejects_seven_zones" {
  command = plan
  variables { az_count = 7 }
  expect_failures = [var.az_count]
}

run "rejects_fractional_zone_count" {
  command = plan
  variables { az_count = 2.5 }
  expect_failures = [var.az_count]
}

run "rejects_unknown_nat_mode" {
  command = plan
  variables { nat_mode = "dual" }
  expect_failures = [var.nat_mode]
}

run "rejects_nat_mode_in_capitals" {
  command = plan
  variables { nat_mode = "Single" }
  expect_failures = [var.nat_mode]
}

# --- names ---------------------------------------------------------------------------------

run "rejects_uppercase_name" {
  command = plan
  variables { name = "Acme-dev" }
  expect_failures = [var.name]
}

run "rejects_one_character_name" {
  command = plan
  variables { name = "a" }
  expect_failures = [var.name]
}

run "rejects_name_ending_in_dash" {
  command = plan
  variables { name = "acme-dev-" }
  expect_failures = [var.name]
}

run "rejects_name_too_long_for_the_iam_role" {
  command = plan
  variables { name = "a234567890123456789012345678901234567890123456789" }
  expect_failures = [var.name]
}

run "rejects_bad_cluster_name" {
  command = plan
  variables { cluster_name = "-acme" }
  expect_failures = [var.cluster_name]
}

# --- existing --------------------------------------------------------------------------------

run "rejects_bad_vpc_id" {
  command = plan
  variables {
    vpc_cidr = null
    existing = {
      vpc_id             = "acme-vpc"
      private_subnet_ids = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2"]
    }
  }
  override_data {
    target = data.aws_subnet.private["subnet-0aaaaaaaaaaaaaaa1"]
    values = { vpc_id = "acme-vpc", availability_zone = "us-east-1a" }
  }
  override_data {
    target = data.aws_subnet.private["subnet-0bbbbbbbbbbbbbbb2"]
    values = { vpc_id = "acme-vpc", availability_zone = "us-east-1b" }
  }
  expect_failures = [var.existing]
}

run "rejects_bad_subnet_id" {
  command = plan
  variables {
    vpc_cidr = null
    existing = {
      vpc_id             = "vpc-0123456789abcdef0"
      private_subnet_ids = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2"]
      public_subnet_ids  = ["sg-0123456789abcdef0"]
    }
  }
  expect_failures = [var.existing]
}

run "rejects_a_single_private_subnet" {
  command = plan
  variables {
    vpc_cidr = null
    existing = {
      vpc_id             = "vpc-0123456789abcdef0"
      private_subnet_ids = ["subnet-0aaaaaaaaaaaaaaa1"]
    }
  }
  expect_failures = [var.existing]
}

run "rejects_duplicate_private_subnets" {
  command = plan
  variables {
    vpc_cidr = null
    existing = {
      vpc_id             = "vpc-0123456789abcdef0"
      private_subnet_ids = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0aaaaaaaaaaaaaaa1"]
    }
  }
  expect_failures = [var.existing]
}

# --- flow logs -------------------------------------------------------------------------------

run "rejects_retention_cloudwatch_does_not_offer" {
  command = plan
  variables { flow_logs_retention_days = 45 }
  expect_failures = [var.flow_logs_retention_days]
}

run "rejects_kms_alias_instead_of_key_arn" {
  command = plan
  variables { flow_logs_kms_key_arn = "alias/flow-logs" }
  expect_failures = [var.flow_logs_kms_key_arn]
}
