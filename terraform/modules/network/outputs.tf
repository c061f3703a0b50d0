output "vpc_id" {
  description = "ID of the VPC (created or adopted)."
  value       = local.create ? one(aws_vpc.this[*].id) : one(data.aws_vpc.existing[*].id)
}

output "vpc_cidr" {
  description = "Primary IPv4 CIDR block of the VPC."
  value       = local.create ? one(aws_vpc.this[*].cidr_block) : one(data.aws_vpc.existing[*].cidr_block)
}

output "private_subnet_ids" {
  description = "IDs of the private subnets (nodes and pods), in availability zone order when created, in the given order when adopted."
  value = (local.create
    ? [for az in local.azs : aws_subnet.private[az].id]
    : [for id in var.existing.private_subnet_ids : data.aws_subnet.private[id].id]
  )
}

output "public_subnet_ids" {
  description = "IDs of the public subnets (internet-facing load balancers); empty when an adopted VPC lists none."
  value = (local.create
    ? [for az in local.azs : aws_subnet.public[az].id]
    : [for id in var.existing.public_subnet_ids : data.aws_subnet.public[id].id]
  )
}

output "availability_zones" {
  description = "Availability zones of the private subnets."
  value = (local.create
    ? local.azs
    : sort(distinct([for id in var.existing.private_subnet_ids : data.aws_subnet.private[id].availability_zone]))
  )

  precondition {
    condition = local.create || length(distinct([
      for id in try(var.existing.private_subnet_ids, []) : data.aws_subnet.private[id].availability_zone
    ])) >= 2
    error_message = "The adopted private subnets must span at least two availability zones (EKS needs two)."
  }
}

output "nat_gateway_ids" {
  description = "IDs of the NAT gateways this module created (none when adopting or with nat_mode = \"none\")."
  value       = [for az in local.nat_azs : aws_nat_gateway.this[az].id]
}

output "created" {
  description = "True when this module created the VPC, false when it adopted an existing one."
  value       = local.create
}
