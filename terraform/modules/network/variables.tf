variable "name" {
  description = "Prefix of every name this module gives (VPC, subnets, gateways, log group, IAM role), usually the cluster name <org>-<env>."
  type        = string
  nullable    = false

  validation {
    # The longest derived name is the IAM role "<name>-vpc-flow-logs" (64 characters at most).
    condition     = length(var.name) >= 2 && length(var.name) <= 48 && can(regex("^[a-z][a-z0-9-]*[a-z0-9]$", var.name))
    error_message = "name must be 2 to 48 characters of lowercase letters, digits and '-', starting with a letter and ending with a letter or digit."
  }
}

variable "cluster_name" {
  description = "EKS cluster that uses these subnets: they are tagged kubernetes.io/cluster/<cluster_name> = shared."
  type        = string
  nullable    = false

  validation {
    condition     = length(var.cluster_name) >= 1 && length(var.cluster_name) <= 100 && can(regex("^[0-9A-Za-z][A-Za-z0-9_-]*$", var.cluster_name))
    error_message = "cluster_name must be an EKS cluster name: 1 to 100 characters, letters, digits, '-' and '_', starting with a letter or digit."
  }
}

variable "vpc_cidr" {
  description = "IPv4 CIDR of the VPC to create, a /16 to /22 network address (for example 10.40.0.0/16). Give exactly one of vpc_cidr and existing."
  type        = string
  default     = null

  validation {
    condition = var.vpc_cidr == null ? true : (
      can(regex("^\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}\\.\\d{1,3}/\\d{1,2}$", var.vpc_cidr))
      && can(cidrhost(var.vpc_cidr, 0))
      && try(tonumber(split("/", var.vpc_cidr)[1]) >= 16 && tonumber(split("/", var.vpc_cidr)[1]) <= 22, false)
      && try(cidrhost(var.vpc_cidr, 0) == split("/", var.vpc_cidr)[0], false)
    )
    error_message = "vpc_cidr must be an IPv4 network address with a prefix from /16 to /22 (for example 10.40.0.0/16; host bits must be zero)."
  }

  validation {
    condition     = (var.vpc_cidr == null) != (var.existing == null)
    error_message = "Give exactly one of vpc_cidr (create a VPC) and existing (adopt a VPC), not both and not neither."
  }
}

variable "az_count" {
  description = "Number of availability zones to spread subnets (and, with nat_mode = \"per_az\", NAT gateways) over, when creating a VPC."
  type        = number
  default     = 3
  nullable    = false

  validation {
    condition     = var.az_count >= 2 && var.az_count <= 6 && floor(var.az_count) == var.az_count
    error_message = "az_count must be a whole number from 2 to 6 (EKS needs subnets in at least two zones)."
  }
}

variable "nat_mode" {
  description = "Egress for the private subnets: \"single\" (one NAT gateway, cheapest), \"per_az\" (one per zone, survives a zone outage) or \"none\" (no NAT; the cluster then needs VPC endpoints or a proxy)."
  type        = string
  default     = "single"
  nullable    = false

  validation {
    condition     = contains(["single", "per_az", "none"], var.nat_mode)
    error_message = "nat_mode must be one of \"single\", \"per_az\" or \"none\"."
  }
}

variable "existing" {
  description = "An existing VPC to adopt instead of creating one: its ID and its private (and optionally public) subnet IDs. Nothing is created or tagged then."
  type = object({
    vpc_id             = string
    private_subnet_ids = list(string)
    public_subnet_ids  = optional(list(string), [])
  })
  default = null

  validation {
    condition     = var.existing == null ? true : can(regex("^vpc-[0-9a-f]{8}([0-9a-f]{9})?$", var.existing.vpc_id))
    error_message = "existing.vpc_id must be a VPC ID (vpc- followed by 8 or 17 hexadecimal digits)."
  }

  validation {
    condition = var.existing == null ? true : alltrue([
      for id in concat(var.existing.private_subnet_ids, var.existing.public_subnet_ids) :
      can(regex("^subnet-[0-9a-f]{8}([0-9a-f]{9})?$", id))
    ])
    error_message = "existing.private_subnet_ids and existing.public_subnet_ids must hold subnet IDs (subnet- followed by 8 or 17 hexadecimal digits)."
  }

  validation {
    condition = var.existing == null ? true : (
      length(var.existing.private_subnet_ids) >= 2
      && length(distinct(var.existing.private_subnet_ids)) == length(var.existing.private_subnet_ids)
    )
    error_message = "existing.private_subnet_ids must list at least two distinct subnets (EKS needs two zones)."
  }
}

variable "flow_logs_retention_days" {
  description = "Days CloudWatch Logs keeps the VPC flow logs (one of the values CloudWatch allows)."
  type        = number
  default     = 90
  nullable    = false

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.flow_logs_retention_days)
    error_message = "flow_logs_retention_days must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "flow_logs_kms_key_arn" {
  description = "KMS key ARN to encrypt the flow log group with; null uses CloudWatch Logs' own encryption. The key policy must let logs.<region>.amazonaws.com use the key."
  type        = string
  default     = null

  validation {
    condition     = var.flow_logs_kms_key_arn == null ? true : can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:\\d{12}:key/[0-9a-f-]+$", var.flow_logs_kms_key_arn))
    error_message = "flow_logs_kms_key_arn must be a KMS key ARN (arn:aws:kms:<region>:<account>:key/<id>), not an alias."
  }
}

variable "tags" {
  description = "Tags added to every resource that takes tags."
  type        = map(string)
  default     = {}
  nullable    = false
}
