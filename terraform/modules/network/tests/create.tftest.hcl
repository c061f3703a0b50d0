# Creating a VPC: plan-only, mocked AWS provider.

# The region (us-east-1, six zones), account, partition and flow log group ARN the assertions
# compare with come from tests/mocks.
mock_provider "aws" {
  # Generate computed values (IDs, ARNs) during plan, so references between resources and the
  # policy documents can be asserted.
  override_during = plan
  source          = "./tests/mocks"
}

# IDs the assertions compare references with; each instance gets its own.
override_resource {
  target          = aws_internet_gateway.this[0]
  override_during = plan
  values          = { id = "igw-00000000000000001" }
}

override_resource {
  target          = aws_subnet.public["us-east-1a"]
  override_during = plan
  values          = { id = "subnet-0000000000000000a" }
}

override_resource {
  target          = aws_subnet.public["us-east-1b"]
  override_during = plan
  values          = { id = "subnet-0000000000000000b" }
}

override_resource {
  target          = aws_subnet.private["us-east-1b"]
  override_during = plan
  values          = { id = "subnet-0000000000000001b" }
}

override_resource {
  target          = aws_nat_gateway.this["us-east-1a"]
  override_during = plan
  values          = { id = "nat-0000000000000000a" }
}

override_resource {
  target          = aws_nat_gateway.this["us-east-1b"]
  override_during = plan
  values          = { id = "nat-0000000000000000b" }
}

override_resource {
  target          = aws_iam_role.flow_logs[0]
  override_during = plan
  values          = { arn = "arn:aws:iam::123456789012:role/acme-dev-vpc-flow-logs" }
}

variables {
  name         = "acme-dev"
  cluster_name = "acme-dev"
  vpc_cidr     = "10.40.0.0/16"
}

run "defaults_single_nat" {
  command = plan

  assert {
    condition     = aws_vpc.this[0].cidr_block == "10.40.0.0/16" && aws_vpc.this[0].enable_dns_support && aws_vpc.this[0].enable_dns_hostnames
    error_message = "The VPC must use vpc_cidr with DNS support and hostnames on."
  }

  assert {
    condition     = aws_vpc.this[0].tags["Name"] == "acme-dev"
    error_message = "The VPC must be named after name."
  }

  assert {
    condition     = output.availability_zones == tolist(["us-east-1a", "us-east-1b", "us-east-1c"])
    error_message = "az_count defaults to 3: the first three zones."
  }

  assert {
    condition = { for az, s in aws_subnet.private : az => s.cidr_block } == {
      "us-east-1a" = "10.40.0.0/19"
      "us-east-1b" = "10.40.32.0/19"
      "us-east-1c" = "10.40.64.0/19"
    }
    error_message = "Private subnets must be the first eighths of the VPC (/19 in a /16), one per zone."
  }

  assert {
    condition = { for az, s in aws_subnet.public : az => s.cidr_block } == {
      "us-east-1a" = "10.40.224.0/22"
      "us-east-1b" = "10.40.228.0/22"
      "us-east-1c" = "10.40.232.0/22"
    }
    error_message = "Public subnets must be carved from the last eighth (/22 in a /16), one per zone."
  }

  assert {
    condition = alltrue([
      for s in aws_subnet.private :
      s.tags["kubernetes.io/role/internal-elb"] == "1"
      && s.tags["kubernetes.io/cluster/acme-dev"] == "shared"
      && !contains(keys(s.tags), "kubernetes.io/role/elb")
    ])
    error_message = "Private subnets must carry kubernetes.io/role/internal-elb = 1 and the shared cluster tag."
  }

  assert {
    condition = alltrue([
      for s in aws_subnet.public :
      s.tags["kubernetes.io/role/elb"] == "1"
      && s.tags["kubernetes.io/cluster/acme-dev"] == "shared"
      && !s.map_public_ip_on_launch
    ])
    error_message = "Public subnets must carry kubernetes.io/role/elb = 1 and the shared cluster tag, and not hand out public IPs."
  }

  assert {
    condition     = aws_subnet.private["us-east-1b"].tags["Name"] == "acme-dev-private-us-east-1b" && aws_subnet.public["us-east-1c"].tags["Name"] == "acme-dev-public-us-east-1c"
    error_message = "Subnets must be named <name>-<private|public>-<zone>."
  }

  assert {
    condition     = length(aws_nat_gateway.this) == 1 && length(aws_eip.nat) == 1 && length(output.nat_gateway_ids) == 1
    error_message = "nat_mode = single must create one NAT gateway with one Elastic IP."
  }

  assert {
    condition     = aws_nat_gateway.this["us-east-1a"].subnet_id == aws_subnet.public["us-east-1a"].id
    error_message = "The single NAT gateway must sit in the first zone's public subnet."
  }

  assert {
    condition = length(aws_route.private_nat) == 3 && alltrue([
      for r in aws_route.private_nat : r.nat_gateway_id == aws_nat_gateway.this["us-east-1a"].id && r.destination_cidr_block == "0.0.0.0/0"
    ])
    error_message = "Every zone's private route table must send 0.0.0.0/0 to the single NAT gateway."
  }

  assert {
    condition     = aws_route.public_internet[0].gateway_id == aws_internet_gateway.this[0].id && length(aws_route_table_association.public) == 3
    error_message = "The public route table must send 0.0.0.0/0 to the internet gateway and serve every public subnet."
  }

  assert {
    condition     = length(aws_default_security_group.this[0].ingress) == 0 && length(aws_default_security_group.this[0].egress) == 0
    error_message = "The default security group must have no rules."
  }

  assert {
    condition     = aws_cloudwatch_log_group.flow_logs[0].name == "/aws/vpc-flow-logs/acme-dev" && aws_cloudwatch_log_group.flow_logs[0].retention_in_days == 90
    error_message = "Flow logs must go to /aws/vpc-flow-logs/<name>, kept 90 days by default."
  }

  assert {
    condition     = aws_flow_log.this[0].traffic_type == "ALL" && aws_flow_log.this[0].log_destination == aws_cloudwatch_log_group.flow_logs[0].arn && aws_flow_log.this[0].iam_role_arn == aws_iam_role.flow_logs[0].arn
    error_message = "The flow log must capture ALL traffic into the log group with the module's role."
  }

  assert {
    condition     = aws_iam_role.flow_logs[0].name == "acme-dev-vpc-flow-logs"
    error_message = "The flow log role must be named <name>-vpc-flow-logs."
  }

  assert {
    condition = (
      jsondecode(aws_iam_role.flow_logs[0].assume_role_policy).Statement[0].Principal.Service == "vpc-flow-logs.amazonaws.com"
      && jsondecode(aws_iam_role.flow_logs[0].assume_role_policy).Statement[0].Condition.StringEquals["aws:SourceAccount"] == "123456789012"
      && jsondecode(aws_iam_role.flow_logs[0].assume_role_policy).Statement[0].Condition.ArnLike["aws:SourceArn"] == "arn:aws:ec2:us-east-1:123456789012:vpc-flow-log/*"
    )
    error_message = "Only VPC Flow Logs of this account may assume the role."
  }

  assert {
    condition = (
      length(jsondecode(aws_iam_role_policy.flow_logs[0].policy).Statement) == 1
      && toset(jsondecode(aws_iam_role_policy.flow_logs[0].policy).Statement[0].Action) == toset(["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"])
      && toset(jsondecode(aws_iam_role_policy.flow_logs[0].policy).Statement[0].Resource) == toset([
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws/vpc-flow-logs/acme-dev",
        "arn:aws:logs:us-east-1:123456789012:log-group:/aws/vpc-flow-logs/acme-dev:*",
      ])
    )
    error_message = "The flow log role may only create streams in, describe and write to its own log group."
  }

  assert {
    condition     = output.created && output.vpc_cidr == "10.40.0.0/16" && length(output.private_subnet_ids) == 3 && length(output.public_subnet_ids) == 3
    error_message = "Outputs must describe the created VPC."
  }

  assert {
    condition     = output.private_subnet_ids[1] == aws_subnet.private["us-east-1b"].id
    error_message = "private_subnet_ids must be in availability zone order."
  }

  assert {
    condition     = length(data.aws_vpc.existing) == 0 && length(data.aws_subnet.private) == 0
    error_message = "Creating must not look up an existing VPC."
  }
}

run "per_az_nat_six_zones_smallest_vpc" {
  command = plan

  variables {
    vpc_cidr = "10.50.0.0/22"
    az_count = 6
    nat_mode = "per_az"
  }

  assert {
    condition     = length(aws_nat_gateway.this) == 6 && length(aws_eip.nat) == 6 && length(output.nat_gateway_ids) == 6
    error_message = "nat_mode = per_az must create az_count NAT gateways, each with an Elastic IP."
  }

  assert {
    condition     = keys(aws_nat_gateway.this) == ["us-east-1a", "us-east-1b", "us-east-1c", "us-east-1d", "us-east-1e", "us-east-1f"]
    error_message = "There must be one NAT gateway in every zone."
  }

  # IDs are overridden for zones a and b (see the top of the file): enough to tell them apart.
  assert {
    condition = (
      aws_nat_gateway.this["us-east-1a"].subnet_id == "subnet-0000000000000000a"
      && aws_nat_gateway.this["us-east-1b"].subnet_id == "subnet-0000000000000000b"
    )
    error_message = "Each NAT gateway must sit in its own zone's public subnet."
  }

  assert {
    condition = (
      aws_route.private_nat["us-east-1a"].nat_gateway_id == "nat-0000000000000000a"
      && aws_route.private_nat["us-east-1b"].nat_gateway_id == "nat-0000000000000000b"
    )
    error_message = "Each zone's private route must use that zone's NAT gateway."
  }

  assert {
    condition     = aws_subnet.private["us-east-1f"].cidr_block == "10.50.2.128/25" && aws_subnet.public["us-east-1f"].cidr_block == "10.50.3.208/28"
    error_message = "A /22 VPC gives /25 private and /28 public subnets."
  }

  assert {
    condition     = length(distinct(concat([for s in aws_subnet.private : s.cidr_block], [for s in aws_subnet.public : s.cidr_block]))) == 12
    error_message = "All twelve subnet CIDRs must be distinct."
  }
}

run "no_nat" {
  command = plan

  variables {
    az_count = 2
    nat_mode = "none"
  }

  assert {
    condition     = length(aws_nat_gateway.this) == 0 && length(aws_eip.nat) == 0 && output.nat_gateway_ids == []
    error_message = "nat_mode = none must create no NAT gateway and no Elastic IP."
  }

  assert {
    condition     = length(aws_route.private_nat) == 0 && length(aws_route_table.private) == 2
    error_message = "With nat_mode = none the private route tables have no default route."
  }

  assert {
    condition     = length(aws_internet_gateway.this) == 1 && length(aws_subnet.public) == 2
    error_message = "Public subnets and the internet gateway stay for load balancers."
  }
}

run "tags_and_flow_log_settings" {
  command = plan

  variables {
    tags                     = { owner = "platform", env = "dev" }
    flow_logs_retention_days = 365
    flow_logs_kms_key_arn    = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
  }

  assert {
    condition = alltrue([
      aws_vpc.this[0].tags["owner"] == "platform",
      aws_subnet.private["us-east-1a"].tags["env"] == "dev",
      aws_subnet.public["us-east-1a"].tags["owner"] == "platform",
      aws_nat_gateway.this["us-east-1a"].tags["owner"] == "platform",
      aws_eip.nat["us-east-1a"].tags["owner"] == "platform",
      aws_internet_gateway.this[0].tags["owner"] == "platform",
      aws_route_table.private["us-east-1b"].tags["owner"] == "platform",
      aws_route_table.public[0].tags["owner"] == "platform",
      aws_default_security_group.this[0].tags["owner"] == "platform",
      aws_cloudwatch_log_group.flow_logs[0].tags["owner"] == "platform",
      aws_iam_role.flow_logs[0].tags["owner"] == "platform",
      aws_flow_log.this[0].tags["owner"] == "platform",
    ])
    error_message = "tags must reach every taggable resource."
  }

  assert {
    condition     = aws_cloudwatch_log_group.flow_logs[0].retention_in_days == 365 && aws_cloudwatch_log_group.flow_logs[0].kms_key_id == "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"
    error_message = "flow_logs_retention_days and flow_logs_kms_key_arn must reach the log group."
  }
}

run "rejects_more_zones_than_the_region_has" {
  command = plan

  variables {
    az_count = 4
  }

  override_data {
    target = data.aws_availability_zones.available
    values = {
      names = ["us-west-1a", "us-west-1c"]
    }
  }

  expect_failures = [aws_vpc.this]
}
