################################################################################
# General
################################################################################

variable "region" {
  description = "AWS region for every resource. The Makefile passes AWS_REGION."
  type        = string
  default     = "eu-west-1"
}

variable "cluster_name" {
  description = "Name of the EKS cluster; also the prefix of every other resource name. The Makefile passes CLUSTER_NAME."
  type        = string
  default     = "vigil"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}[a-z0-9]$", var.cluster_name))
    error_message = "cluster_name must be 3-32 characters: lower-case letters, digits and dashes, starting with a letter."
  }
}

variable "environment" {
  description = "Environment name, used only as the Environment tag."
  type        = string
  default     = "demo"
}

variable "tags" {
  description = "Extra tags for every resource, merged over the defaults (Project, Environment, ManagedBy, Repository). The budget's tag, VigilStack = cluster_name, is always set."
  type        = map(string)
  default     = {}

  validation {
    condition     = !contains(keys(var.tags), "VigilStack")
    error_message = "The VigilStack tag is the budget's filter and is always the cluster name; remove it from tags."
  }
}

################################################################################
# VPC
################################################################################

variable "vpc_cidr" {
  description = "CIDR block of the VPC. Public subnets take /24s from its start; private subnets (only with enable_nat_gateway) take /20s after them."
  type        = string
  default     = "10.0.0.0/16"

  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && tonumber(split("/", var.vpc_cidr)[1]) <= 16
    error_message = "vpc_cidr must be a valid IPv4 CIDR block of size /16 or larger."
  }
}

variable "az_count" {
  description = "Number of availability zones to spread subnets over. EKS needs at least two."
  type        = number
  default     = 2

  validation {
    condition     = var.az_count >= 2 && var.az_count <= 3
    error_message = "az_count must be 2 or 3."
  }
}

variable "enable_nat_gateway" {
  description = <<-EOT
    false (the default, the cost choice): public subnets only, nodes get public IPs and
    reach the internet through the internet gateway; no NAT gateway is billed.
    true: also create private subnets and a NAT gateway, and put the nodes (and the
    control plane's network interfaces) in the private subnets; the ALB stays public.
    Costs about USD 0.045/hour per NAT gateway plus USD 0.045 per GB processed.
  EOT
  type        = bool
  default     = false
}

variable "single_nat_gateway" {
  description = "With enable_nat_gateway: one NAT gateway shared by all zones (cheaper) instead of one per zone (survives the loss of a zone)."
  type        = bool
  default     = true
}

################################################################################
# EKS
################################################################################

variable "kubernetes_version" {
  description = "Kubernetes minor version of the control plane and nodes. Check `aws eks describe-cluster-versions` for the versions in standard support."
  type        = string
  default     = "1.36"

  validation {
    condition     = can(regex("^1\\.[0-9]+$", var.kubernetes_version))
    error_message = "kubernetes_version must look like 1.35."
  }
}

variable "cluster_endpoint_public_cidrs" {
  description = <<-EOT
    Required: the CIDR blocks allowed to reach the cluster's public Kubernetes API
    endpoint, e.g. your own address ["203.0.113.10/32"] (`make eks-up EKS_API_CIDRS=...`).
    An empty list turns the public endpoint off (private only: kubectl and helm must
    then run from inside the VPC). The whole internet is refused.
  EOT
  type        = list(string)
  nullable    = false

  validation {
    condition     = alltrue([for c in var.cluster_endpoint_public_cidrs : can(cidrhost(c, 0)) && !can(regex("/0$", c))])
    error_message = "Every entry of cluster_endpoint_public_cidrs must be an IPv4 CIDR block narrower than /0 (0.0.0.0/0 would open the Kubernetes API to the internet)."
  }
}

variable "cluster_enabled_log_types" {
  description = "Control plane log types sent to CloudWatch Logs (api, audit, authenticator, controllerManager, scheduler). Empty by default: logs are billed per GB."
  type        = list(string)
  default     = []
}

variable "node_instance_types" {
  description = "EC2 instance types of the managed node group. t3.medium runs up to 17 pods per node with the VPC CNI."
  type        = list(string)
  default     = ["t3.medium"]
}

variable "node_capacity_type" {
  description = "ON_DEMAND, or SPOT (roughly 60-70% cheaper, but nodes can be reclaimed with two minutes' notice)."
  type        = string
  default     = "ON_DEMAND"

  validation {
    condition     = contains(["ON_DEMAND", "SPOT"], var.node_capacity_type)
    error_message = "node_capacity_type must be ON_DEMAND or SPOT."
  }
}

variable "node_min_size" {
  description = "Minimum number of nodes."
  type        = number
  default     = 1
}

variable "node_desired_size" {
  description = "Number of nodes at creation. Later changes are ignored so that an autoscaler or `aws eks update-nodegroup-config` can own it."
  type        = number
  default     = 2
}

variable "node_max_size" {
  description = "Maximum number of nodes."
  type        = number
  default     = 3
}

variable "node_disk_size" {
  description = "Size in GiB of each node's encrypted gp3 root volume."
  type        = number
  default     = 20
}

variable "storage_class_name" {
  description = "Name of the encrypted gp3 StorageClass the EBS CSI add-on creates (the cluster default); values-eks.yaml asks for it by this name."
  type        = string
  default     = "gp3"
}

################################################################################
# AWS Load Balancer Controller (IRSA) and HTTPS
################################################################################

variable "acm_certificate_arn" {
  description = <<-EOT
    Required: ARN of the ACM certificate the ALB serves HTTPS with, in the cluster's
    region (runbook, "HTTPS"). Port 80 only redirects to 443, so Kubernetes tokens
    pasted into the status page never cross the internet in cleartext.
  EOT
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/[0-9a-f-]+$", var.acm_certificate_arn))
    error_message = "acm_certificate_arn must be an ACM certificate ARN: arn:aws:acm:<region>:<account>:certificate/<id>."
  }
}

variable "lb_controller_namespace" {
  description = "Namespace of the AWS Load Balancer Controller's ServiceAccount; the IAM role trusts only this namespace."
  type        = string
  default     = "kube-system"
}

variable "lb_controller_service_account" {
  description = "Name of the AWS Load Balancer Controller's ServiceAccount; the IAM role trusts only this name."
  type        = string
  default     = "aws-load-balancer-controller"
}

################################################################################
# ECR
################################################################################

variable "ecr_repository_name" {
  description = "Name of the ECR repository for the Vigil image. Empty means the cluster name."
  type        = string
  default     = ""
}

variable "ecr_image_tag_mutability" {
  description = "IMMUTABLE (default: a deployed tag always names the image that was pushed; push a new tag for a new build) or MUTABLE."
  type        = string
  default     = "IMMUTABLE"

  validation {
    condition     = contains(["IMMUTABLE", "MUTABLE"], var.ecr_image_tag_mutability)
    error_message = "ecr_image_tag_mutability must be IMMUTABLE or MUTABLE."
  }
}

variable "ecr_keep_tagged_images" {
  description = "The lifecycle policy keeps this many most recent tagged images and expires older ones."
  type        = number
  default     = 10
}

variable "ecr_untagged_image_expiry_days" {
  description = "The lifecycle policy expires untagged images (left behind by re-pushed tags and failed pushes) after this many days."
  type        = number
  default     = 1
}

################################################################################
# Budget
################################################################################

variable "budget_limit_usd" {
  description = "Monthly cost budget, in US dollars, over the costs tagged VigilStack = cluster_name. A forgotten cluster costs about USD 5-6 a day (more with RDS)."
  type        = number
  default     = 20
}

variable "budget_alert_emails" {
  description = <<-EOT
    E-mail addresses that get the budget alerts (actual spend over 50% and 80%, forecast
    over 100%). Deliberately empty by default so that no address is committed: creating
    the budget fails with a clear message until one is set (`make eks-up BUDGET_EMAIL=...`
    or TF_VAR_budget_alert_emails='["you@example.com"]').
  EOT
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for e in var.budget_alert_emails : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", e))])
    error_message = "Every entry of budget_alert_emails must be an e-mail address."
  }
}

################################################################################
# RDS PostgreSQL (rds.tf)
################################################################################

variable "enable_rds" {
  description = "true: a managed RDS PostgreSQL instance for Vigil's data instead of the chart's demo Postgres (runbook, \"RDS or the demo Postgres\")."
  type        = bool
  default     = false
}

variable "rds_engine_version" {
  description = "PostgreSQL major version of the RDS instance; RDS picks the newest minor version and upgrades minor versions in the maintenance window."
  type        = string
  default     = "17"

  validation {
    condition     = can(regex("^1[4-9]$", var.rds_engine_version))
    error_message = "rds_engine_version must be a PostgreSQL major version from 14 on, e.g. \"17\"."
  }
}

variable "rds_instance_class" {
  description = "RDS instance class. db.t4g.micro (2 vCPU burstable, 1 GiB) carries a demo; take db.t4g.small or larger for many checks."
  type        = string
  default     = "db.t4g.micro"
}

variable "rds_allocated_storage" {
  description = "Initial storage of the RDS instance in GiB (encrypted gp3); storage autoscaling may grow it up to four times this."
  type        = number
  default     = 20

  validation {
    condition     = var.rds_allocated_storage >= 20
    error_message = "rds_allocated_storage must be at least 20 (GiB), the gp3 minimum."
  }
}

variable "rds_multi_az" {
  description = "true: a synchronous standby in a second zone with automatic failover (twice the instance and storage cost)."
  type        = bool
  default     = false
}

variable "rds_backup_retention_days" {
  description = "Days of automated backups (point-in-time recovery window). At least 1: backups are never off."
  type        = number
  default     = 7

  validation {
    condition     = var.rds_backup_retention_days >= 1 && var.rds_backup_retention_days <= 35
    error_message = "rds_backup_retention_days must be between 1 and 35."
  }
}

variable "rds_final_snapshot" {
  description = "true: `make eks-down` leaves a final snapshot of the database (billed per GB-month until you delete it). false (default): nothing is left behind."
  type        = bool
  default     = false
}

variable "rds_snapshot_identifier" {
  description = "Create the RDS instance from this snapshot (name or ARN) instead of empty: the restore path (runbook, \"Restore from a snapshot\"). Empty: a new database."
  type        = string
  default     = ""
}

variable "rds_password_version" {
  description = "Raise by one to generate and set a new database password on the next apply (the password is write-only: never in the state)."
  type        = number
  default     = 1
}
