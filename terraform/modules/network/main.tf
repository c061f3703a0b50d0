locals {
  create = var.existing == null

  # Zones for the subnets: the first az_count regular zones of the region (no Local or
  # Wavelength zones, which EKS cannot use for every node type).
  available_azs = local.create ? data.aws_availability_zones.available[0].names : []
  azs           = slice(local.available_azs, 0, min(var.az_count, length(local.available_azs)))

  # Address plan (fixed per zone index, so adding a zone never renumbers the others):
  #   eighths 0..5 of the VPC: one private subnet per zone (pods and nodes: the big ones);
  #   eighth 6: reserved for later use (databases, endpoints);
  #   eighth 7: split in eight again; parts 0..5 are the public subnets (load balancers, NAT).
  # A /16 gives /19 private and /22 public subnets; a /22 gives /25 and /28 (the smallest AWS allows).
  public_block = local.create ? cidrsubnet(var.vpc_cidr, 3, 7) : null
  private_cidrs = {
    for i, az in local.azs : az => cidrsubnet(var.vpc_cidr, 3, i)
  }
  public_cidrs = {
    for i, az in local.azs : az => cidrsubnet(local.public_block, 3, i)
  }

  # Zones that get a NAT gateway, and the NAT gateway each zone's private subnet uses.
  nat_azs = {
    single = slice(local.azs, 0, min(1, length(local.azs)))
    per_az = local.azs
    none   = []
  }[var.nat_mode]
  nat_az_for = {
    for az in local.azs : az => (var.nat_mode == "per_az" ? az : local.azs[0])
  }

  cluster_tag = { "kubernetes.io/cluster/${var.cluster_name}" = "shared" }
}

data "aws_availability_zones" "available" {
  #checkov:skip=CKV_AWS_394:only the first az_count zones in name order are used, so a zone AWS adds later changes no subnet
  count = local.create ? 1 : 0

  state = "available"

  filter {
    name   = "zone-type"
    values = ["availability-zone"]
  }
}

################################################################################
# VPC
################################################################################

resource "aws_vpc" "this" {
  count = local.create ? 1 : 0

  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = merge(var.tags, { Name = var.name })

  lifecycle {
    precondition {
      condition     = length(local.available_azs) >= var.az_count
      error_message = "az_count is ${var.az_count} but the region has only ${length(local.available_azs)} available availability zones."
    }
  }
}

# Takes over the VPC's default security group and removes all its rules, so nothing can use it
# by accident (resources that need a security group get their own).
resource "aws_default_security_group" "this" {
  count = local.create ? 1 : 0

  vpc_id = aws_vpc.this[0].id

  # Empty on purpose: AWS's default rules (all traffic from the group itself, all egress) go away.
  ingress = []
  egress  = []

  tags = merge(var.tags, { Name = "${var.name}-default-do-not-use" })
}

resource "aws_internet_gateway" "this" {
  count = local.create ? 1 : 0

  vpc_id = aws_vpc.this[0].id

  tags = merge(var.tags, { Name = var.name })
}

################################################################################
# Subnets
################################################################################

resource "aws_subnet" "private" {
  for_each = local.private_cidrs

  vpc_id            = aws_vpc.this[0].id
  availability_zone = each.key
  cidr_block        = each.value

  tags = merge(var.tags, local.cluster_tag, {
    Name                              = "${var.name}-private-${each.key}"
    "kubernetes.io/role/internal-elb" = "1"
  })
}

resource "aws_subnet" "public" {
  for_each = local.public_cidrs

  vpc_id            = aws_vpc.this[0].id
  availability_zone = each.key
  cidr_block        = each.value

  # Nodes live in the private subnets; only load balancers and NAT gateways live here, and they
  # get their public addresses explicitly.
  map_public_ip_on_launch = false

  tags = merge(var.tags, local.cluster_tag, {
    Name                     = "${var.name}-public-${each.key}"
    "kubernetes.io/role/elb" = "1"
  })
}

################################################################################
# NAT gateways
################################################################################

resource "aws_eip" "nat" {
  for_each = toset(local.nat_azs)

  domain = "vpc"

  tags = merge(var.tags, { Name = "${var.name}-nat-${each.key}" })

  depends_on = [aws_internet_gateway.this]
}

resource "aws_nat_gateway" "this" {
  for_each = toset(local.nat_azs)

  allocation_id = aws_eip.nat[each.key].id
  subnet_id     = aws_subnet.public[each.key].id

  tags = merge(var.tags, { Name = "${var.name}-${each.key}" })

  depends_on = [aws_internet_gateway.this]
}

################################################################################
# Routing
################################################################################

resource "aws_route_table" "public" {
  count = local.create ? 1 : 0

  vpc_id = aws_vpc.this[0].id

  tags = merge(var.tags, { Name = "${var.name}-public" })
}

resource "aws_route" "public_internet" {
  count = local.create ? 1 : 0

  route_table_id         = aws_route_table.public[0].id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.this[0].id
}

resource "aws_route_table_association" "public" {
  for_each = aws_subnet.public

  subnet_id      = each.value.id
  route_table_id = aws_route_table.public[0].id
}

# One route table per zone, so a zone can switch to its own NAT gateway (nat_mode = "per_az")
# without touching the others.
resource "aws_route_table" "private" {
  for_each = toset(local.azs)

  vpc_id = aws_vpc.this[0].id

  tags = merge(var.tags, { Name = "${var.name}-private-${each.key}" })
}

resource "aws_route" "private_nat" {
  for_each = var.nat_mode == "none" ? {} : local.nat_az_for

  route_table_id         = aws_route_table.private[each.key].id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.this[each.value].id
}

resource "aws_route_table_association" "private" {
  for_each = aws_subnet.private

  subnet_id      = each.value.id
  route_table_id = aws_route_table.private[each.key].id
}

################################################################################
# Adopting an existing VPC: look it up, create nothing
################################################################################

data "aws_vpc" "existing" {
  count = local.create ? 0 : 1

  id = var.existing.vpc_id
}

data "aws_subnet" "private" {
  for_each = toset(local.create ? [] : var.existing.private_subnet_ids)

  id = each.key

  lifecycle {
    postcondition {
      condition     = self.vpc_id == var.existing.vpc_id
      error_message = "Subnet ${each.key} in existing.private_subnet_ids belongs to ${self.vpc_id}, not to ${var.existing.vpc_id}."
    }
  }
}

data "aws_subnet" "public" {
  for_each = toset(local.create ? [] : var.existing.public_subnet_ids)

  id = each.key

  lifecycle {
    postcondition {
      condition     = self.vpc_id == var.existing.vpc_id
      error_message = "Subnet ${each.key} in existing.public_subnet_ids belongs to ${self.vpc_id}, not to ${var.existing.vpc_id}."
    }
  }
}
