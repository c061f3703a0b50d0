# Adopting an existing VPC: only data sources, nothing created. Plan-only, mocked AWS provider.

# The adopted VPC (vpc-0123456789abcdef0, 10.60.0.0/16) comes from tests/mocks.
mock_provider "aws" {
  override_during = plan
  source          = "./tests/mocks"

  # The adopted VPC is in eu-west-1, not the us-east-1 of the shared mocks: a subnet that no
  # override below names defaults to eu-west-1a (still in the adopted VPC).
  mock_data "aws_subnet" {
    defaults = {
      vpc_id            = "vpc-0123456789abcdef0"
      availability_zone = "eu-west-1a"
    }
  }
}

variables {
  name         = "acme-prod"
  cluster_name = "acme-prod"
  existing = {
    vpc_id             = "vpc-0123456789abcdef0"
    private_subnet_ids = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2"]
    public_subnet_ids  = ["subnet-0ccccccccccccccc3"]
  }
}

override_data {
  target = data.aws_subnet.private["subnet-0aaaaaaaaaaaaaaa1"]
  values = {
    id                = "subnet-0aaaaaaaaaaaaaaa1"
    vpc_id            = "vpc-0123456789abcdef0"
    availability_zone = "eu-west-1a"
  }
}

override_data {
  target = data.aws_subnet.private["subnet-0bbbbbbbbbbbbbbb2"]
  values = {
    id                = "subnet-0bbbbbbbbbbbbbbb2"
    vpc_id            = "vpc-0123456789abcdef0"
    availability_zone = "eu-west-1b"
  }
}

override_data {
  target = data.aws_subnet.public["subnet-0ccccccccccccccc3"]
  values = {
    id                = "subnet-0ccccccccccccccc3"
    vpc_id            = "vpc-0123456789abcdef0"
    availability_zone = "eu-west-1a"
  }
}

run "adopts_and_creates_nothing" {
  command = plan

  assert {
    condition = alltrue([
      length(aws_vpc.this) == 0,
      length(aws_subnet.private) == 0,
      length(aws_subnet.public) == 0,
      length(aws_internet_gateway.this) == 0,
      length(aws_nat_gateway.this) == 0,
      length(aws_eip.nat) == 0,
      length(aws_route_table.private) == 0,
      length(aws_route_table.public) == 0,
      length(aws_default_security_group.this) == 0,
      length(aws_flow_log.this) == 0,
      length(aws_cloudwatch_log_group.flow_logs) == 0,
      length(aws_iam_role.flow_logs) == 0,
      length(data.aws_availability_zones.available) == 0,
    ])
    error_message = "Adopting a VPC must create nothing."
  }

  assert {
    condition     = output.vpc_id == "vpc-0123456789abcdef0" && output.vpc_cidr == "10.60.0.0/16"
    error_message = "vpc_id and vpc_cidr must come from the adopted VPC."
  }

  assert {
    condition     = output.private_subnet_ids == tolist(["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2"]) && output.public_subnet_ids == tolist(["subnet-0ccccccccccccccc3"])
    error_message = "Subnet outputs must list the adopted subnets in the given order."
  }

  assert {
    condition     = output.availability_zones == tolist(["eu-west-1a", "eu-west-1b"])
    error_message = "availability_zones must be the zones of the adopted private subnets."
  }

  assert {
    condition     = output.nat_gateway_ids == [] && output.created == false
    error_message = "An adopted VPC reports no NAT gateways of ours and created = false."
  }
}

run "public_subnets_are_optional" {
  command = plan

  variables {
    existing = {
      vpc_id             = "vpc-0123456789abcdef0"
      private_subnet_ids = ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2"]
    }
  }

  assert {
    condition     = output.public_subnet_ids == [] && length(data.aws_subnet.public) == 0
    error_message = "Without public_subnet_ids there are no public subnets to look up."
  }
}

run "rejects_subnet_of_another_vpc" {
  command = plan

  override_data {
    target = data.aws_subnet.private["subnet-0bbbbbbbbbbbbbbb2"]
    values = {
      id                = "subnet-0bbbbbbbbbbbbbbb2"
      vpc_id            = "vpc-0fffffffffffffff0"
      availability_zone = "eu-west-1b"
    }
  }

  expect_failures = [data.aws_subnet.private]
}

run "rejects_private_subnets_in_one_zone" {
  command = plan

  override_data {
    target = data.aws_subnet.private["subnet-0bbbbbbbbbbbbbbb2"]
    values = {
      id                = "subnet-0bbbbbbbbbbbbbbb2"
      vpc_id            = "vpc-0123456789abcdef0"
      availability_zone = "eu-west-1a"
    }
  }

  expect_failures = [output.availability_zones]
}
