variable "cluster_name" {
  description = "EKS cluster name (the CLI derives <organisation>-<environment>). Also the prefix of node group, launch template, IAM role, KMS alias and log group names."
  type        = string

  validation {
    condition     = length(var.cluster_name) >= 1 && length(var.cluster_name) <= 100
    error_message = "cluster_name must be 1 to 100 characters (the EKS limit)."
  }

  validation {
    condition     = can(regex("^[0-9A-Za-z][A-Za-z0-9_-]*$", var.cluster_name))
    error_message = "cluster_name must start with a letter or digit and contain only letters, digits, '-' and '_'."
  }
}

variable "kubernetes_version" {
  description = "EKS Kubernetes minor version, quoted, for example \"1.31\". Raise it one minor at a time; the cluster is updated in place."
  type        = string

  validation {
    condition     = can(regex("^1\\.[0-9]{2}$", var.kubernetes_version))
    error_message = "kubernetes_version must be an EKS minor version of the form \"1.NN\", for example \"1.31\"."
  }
}

variable "vpc_id" {
  description = "VPC of the cluster. Every subnet in subnet_ids must belong to it (checked at plan time)."
  type        = string

  validation {
    condition     = can(regex("^vpc-[0-9a-f]{8,17}$", var.vpc_id))
    error_message = "vpc_id must be a VPC ID such as vpc-0123456789abcdef0."
  }
}

variable "subnet_ids" {
  description = "Private subnets for the control-plane network interfaces and the nodes, in at least two Availability Zones."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) >= 2
    error_message = "subnet_ids must list at least two private subnets (EKS needs two Availability Zones)."
  }

  validation {
    condition     = alltrue([for s in var.subnet_ids : can(regex("^subnet-[0-9a-f]{8,17}$", s))])
    error_message = "Every entry of subnet_ids must be a subnet ID such as subnet-0123456789abcdef0."
  }

  validation {
    condition     = length(distinct(var.subnet_ids)) == length(var.subnet_ids)
    error_message = "subnet_ids must not repeat a subnet."
  }
}

variable "endpoint_private_access" {
  description = "Serve the Kubernetes API endpoint inside the VPC."
  type        = bool
  nullable    = false
  default     = true
}

variable "endpoint_public_access" {
  description = "Serve the Kubernetes API endpoint on the internet as well, only to public_access_cidrs."
  type        = bool
  nullable    = false
  default     = false

  validation {
    condition     = var.endpoint_public_access || var.endpoint_private_access
    error_message = "At least one of endpoint_private_access and endpoint_public_access must be true."
  }
}

variable "public_access_cidrs" {
  description = "IPv4 CIDR blocks allowed to reach the public endpoint. Required when endpoint_public_access is true, empty otherwise; never 0.0.0.0/0."
  type        = list(string)
  nullable    = false
  default     = []

  validation {
    condition     = alltrue([for c in var.public_access_cidrs : can(cidrnetmask(c)) && try(cidrsubnet(c, 0, 0) == c, false)])
    error_message = "Every entry of public_access_cidrs must be an IPv4 network in CIDR notation with no host bits set, such as 203.0.113.0/24."
  }

  validation {
    condition     = alltrue([for c in var.public_access_cidrs : !endswith(c, "/0")])
    error_message = "public_access_cidrs may not contain 0.0.0.0/0 (or any /0); list the networks that need access."
  }

  validation {
    condition     = !var.endpoint_public_access || length(var.public_access_cidrs) > 0
    error_message = "endpoint_public_access is true but public_access_cidrs is empty: a public endpoint needs a non-empty allowlist of the networks that may reach it."
  }

  validation {
    condition     = var.endpoint_public_access || length(var.public_access_cidrs) == 0
    error_message = "public_access_cidrs is set but endpoint_public_access is false; remove it or set endpoint_public_access = true."
  }
}

variable "node_groups" {
  description = "Managed node groups by key; each is named <cluster_name>-<key>. gpu = true selects the AL2023 NVIDIA AMI and adds the nvidia.com/gpu taint and labels. Taint effects use the EKS API form: NO_SCHEDULE, NO_EXECUTE, PREFER_NO_SCHEDULE."
  type = map(object({
    instance_types = list(string)
    min_size       = number
    max_size       = number
    desired_size   = number
    gpu            = optional(bool, false)
    capacity_type  = optional(string, "ON_DEMAND")
    disk_size_gb   = optional(number, 50)
    labels         = optional(map(string), {})
    taints = optional(list(object({
      key    = string
      value  = optional(string)
      effect = string
    })), [])
  }))

  validation {
    condition     = length(var.node_groups) >= 1
    error_message = "node_groups must define at least one node group."
  }

  validation {
    condition     = alltrue([for k in keys(var.node_groups) : can(regex("^[A-Za-z0-9][A-Za-z0-9_-]*$", k))])
    error_message = "node_groups keys must start with a letter or digit and contain only letters, digits, '-' and '_'."
  }

  validation {
    condition     = alltrue([for k in keys(var.node_groups) : length("${var.cluster_name}-${k}") <= 63])
    error_message = "Node group names <cluster_name>-<key> must be at most 63 characters (the EKS limit); too long: ${join(", ", [for k in keys(var.node_groups) : "${var.cluster_name}-${k}" if length("${var.cluster_name}-${k}") > 63])}."
  }

  validation {
    condition     = alltrue([for g in values(var.node_groups) : length(g.instance_types) >= 1])
    error_message = "Every node group needs at least one entry in instance_types."
  }

  validation {
    condition     = alltrue(flatten([for g in values(var.node_groups) : [for t in g.instance_types : can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", t))]]))
    error_message = "instance_types entries must be EC2 instance types such as m6i.large or g5.xlarge (lowercase family, a dot, then the size)."
  }

  validation {
    condition = alltrue([for g in values(var.node_groups) :
      g.min_size >= 0 && g.max_size >= 1 && g.min_size <= g.desired_size && g.desired_size <= g.max_size &&
      floor(g.min_size) == g.min_size && floor(g.max_size) == g.max_size && floor(g.desired_size) == g.desired_size
    ])
    error_message = "Node group sizes must be whole numbers with 0 <= min_size <= desired_size <= max_size and max_size >= 1."
  }

  validation {
    condition     = alltrue([for g in values(var.node_groups) : contains(["ON_DEMAND", "SPOT"], g.capacity_type)])
    error_message = "capacity_type must be ON_DEMAND or SPOT."
  }

  validation {
    condition     = alltrue([for g in values(var.node_groups) : g.disk_size_gb >= 20 && g.disk_size_gb <= 16384 && floor(g.disk_size_gb) == g.disk_size_gb])
    error_message = "disk_size_gb must be a whole number of GiB from 20 to 16384 (gp3 limits; the AL2023 AMI needs 20)."
  }

  validation {
    condition     = alltrue(flatten([for g in values(var.node_groups) : [for t in g.taints : contains(["NO_SCHEDULE", "NO_EXECUTE", "PREFER_NO_SCHEDULE"], t.effect)]]))
    error_message = "Taint effects must be in EKS API form: NO_SCHEDULE, NO_EXECUTE or PREFER_NO_SCHEDULE (not the Kubernetes NoSchedule form)."
  }

  validation {
    condition     = alltrue(flatten([for g in values(var.node_groups) : [for t in g.taints : length(t.key) >= 1 && length(t.key) <= 253]]))
    error_message = "Taint keys must be 1 to 253 characters."
  }

  validation {
    condition     = alltrue([for g in values(var.node_groups) : length(g.taints) <= 49])
    error_message = "A node group may have at most 49 taints of its own (EKS allows 50; GPU groups add one)."
  }

  # coredns and the EBS CSI controller are Deployments that tolerate no custom taints: without an
  # untainted node the coredns add-on never becomes ACTIVE and the apply times out.
  validation {
    condition = anytrue([for g in values(var.node_groups) :
      !g.gpu && g.desired_size >= 1 && alltrue([for t in g.taints : t.effect == "PREFER_NO_SCHEDULE"])
    ])
    error_message = "At least one node group must be a CPU group (gpu = false) with desired_size >= 1 and without NO_SCHEDULE or NO_EXECUTE taints, so that cluster add-ons such as coredns can be scheduled."
  }
}

variable "addon_versions" {
  description = "Pinned versions of the EKS add-ons vpc-cni, coredns, kube-proxy and aws-ebs-csi-driver (all four keys). The default suits Kubernetes 1.31; kube-proxy must match kubernetes_version's minor."
  type        = map(string)
  nullable    = false

  # Pins for Kubernetes 1.31, the row of platform_kit/data/eks-addons.yaml (sources named there:
  # the add-on tables of the Amazon EKS User Guide). platform-kit passes the row for the cluster's
  # version; review these when using the module alone: the live list for a cluster version is
  #   aws eks describe-addon-versions --kubernetes-version 1.31 --addon-name <name> \
  #     --query 'addons[].addonVersions[].addonVersion'
  default = {
    "vpc-cni"            = "v1.20.4-eksbuild.1"
    "coredns"            = "v1.11.4-eksbuild.24"
    "kube-proxy"         = "v1.31.13-eksbuild.2"
    "aws-ebs-csi-driver" = "v1.56.0-eksbuild.1"
  }

  validation {
    condition     = length(setsubtract(keys(var.addon_versions), ["vpc-cni", "coredns", "kube-proxy", "aws-ebs-csi-driver"])) == 0 && length(setsubtract(["vpc-cni", "coredns", "kube-proxy", "aws-ebs-csi-driver"], keys(var.addon_versions))) == 0
    error_message = "addon_versions must have exactly the keys vpc-cni, coredns, kube-proxy and aws-ebs-csi-driver."
  }

  validation {
    condition     = alltrue([for v in values(var.addon_versions) : can(regex("^v[0-9]+\\.[0-9]+\\.[0-9]+-eksbuild\\.[0-9]+$", v))])
    error_message = "addon_versions values must be EKS add-on versions such as v1.20.1-eksbuild.3."
  }

  validation {
    condition     = startswith(lookup(var.addon_versions, "kube-proxy", ""), "v${var.kubernetes_version}.")
    error_message = "addon_versions[\"kube-proxy\"] must be a v${var.kubernetes_version}.x build to match kubernetes_version; when you change kubernetes_version, change the add-on pins with it."
  }
}

variable "admin_role_arns" {
  description = "IAM roles granted cluster-admin (AmazonEKSClusterAdminPolicy, cluster scope) through EKS access entries. Include the role that runs Terraform if it must reach the Kubernetes API: the creator gets no implicit admin."
  type        = list(string)
  nullable    = false
  default     = []

  validation {
    condition     = alltrue([for a in var.admin_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", a))])
    error_message = "admin_role_arns entries must be IAM role ARNs such as arn:aws:iam::123456789012:role/platform-admin."
  }

  validation {
    condition     = length(distinct(var.admin_role_arns)) == length(var.admin_role_arns)
    error_message = "admin_role_arns must not repeat a role."
  }
}

variable "enable_eks_extras" {
  description = "Create EKS add-ons and access entries; false only on an emulator without those APIs (the kit's sandbox)."
  type        = bool
  nullable    = false
  default     = true
}

variable "log_retention_days" {
  description = "Days to keep the control-plane logs in the /aws/eks/<cluster_name>/cluster log group (a CloudWatch Logs retention value; 0 keeps them forever)."
  type        = number
  nullable    = false
  default     = 90

  validation {
    condition     = contains([0, 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a CloudWatch Logs retention value: 0 (never expire), 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288 or 3653."
  }
}

variable "kms_deletion_window_days" {
  description = "Waiting period, in days, before the secrets KMS key is deleted after the module is destroyed."
  type        = number
  nullable    = false
  default     = 30

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30 && floor(var.kms_deletion_window_days) == var.kms_deletion_window_days
    error_message = "kms_deletion_window_days must be a whole number from 7 to 30."
  }
}

variable "tags" {
  description = "Tags for every taggable resource, including the nodes' instances, volumes and network interfaces."
  type        = map(string)
  nullable    = false
  default     = {}
}
