variable "name" {
  description = "Prefix of the environment's AWS names (<org>-<env>)."
  type        = string
}

variable "network" {
  description = "A new VPC (vpc_cidr) or an existing one (existing)."
  type = object({
    vpc_cidr = optional(string)
    az_count = optional(number, 3)
    nat_mode = optional(string, "single")
    existing = optional(object({
      vpc_id             = string
      private_subnet_ids = list(string)
      public_subnet_ids  = optional(list(string), [])
    }))
  })
}

variable "cluster" {
  description = "The EKS cluster and its node groups."
  type = object({
    name                    = string
    kubernetes_version      = string
    addon_versions          = optional(map(string))
    endpoint_private_access = optional(bool, true)
    endpoint_public_access  = optional(bool, false)
    public_access_cidrs     = optional(list(string), [])
    admin_role_arns         = optional(list(string), [])
    node_groups = map(object({
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
  })
}

variable "kubeflow" {
  description = "The AWS side of Kubeflow Pipelines: artifact bucket, IRSA roles, secrets, catalog registry, optional RDS."
  type = object({
    artifact_bucket_name       = string
    kfp_role_name              = string
    argo_role_name             = string
    catalog_repository_name    = string
    secret_prefix              = string
    dex_connector_secret_names = optional(list(string), [])
    rds = optional(object({
      enabled               = bool
      instance_class        = optional(string, "db.t3.medium")
      allocated_storage_gb  = optional(number, 20)
      multi_az              = optional(bool, false)
      backup_retention_days = optional(number, 7)
    }), { enabled = false })
  })
}

variable "ci" {
  description = "CI roles for GitHub Actions (null: none)."
  type = object({
    github_repository    = string
    main_branch          = optional(string, "main")
    create_oidc_provider = optional(bool, true)
    apply_policy_arns    = list(string)
    plan_role_name       = string
    apply_role_name      = string
    state_bucket_name    = string
    # ci apply applies renders to the cluster too; false when cluster.admin_role_arns already lists
    # the apply role (EKS refuses a second access entry for one principal).
    apply_role_cluster_admin = optional(bool, true)
  })
  default = null
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
