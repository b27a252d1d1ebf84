# Vigil on Amazon EKS: a VPC without NAT gateway, an EKS cluster with one managed
# node group and the EBS CSI driver, an ECR repository, IRSA roles for the AWS
# Load Balancer Controller and the EBS CSI driver, an optional RDS PostgreSQL
# (rds.tf) and a monthly budget over what this stack creates, with e-mail alerts.
# See docs/eks-runbook.md.
#
# The layout follows the terraform-aws-modules examples, but the resources are
# written out instead of calling the community modules (terraform-aws-modules/vpc,
# terraform-aws-modules/eks, terraform-aws-modules/iam's role-for-service-accounts):
# module sources come from the Terraform registry and GitHub, which the project's
# development machines and CI cannot reach, and `terraform validate` must pass
# there. Each section names the module it stands in for.

provider "aws" {
  region = local.region

  default_tags {
    tags = local.tags
  }
}

data "aws_availability_zones" "available" {
  # Only zones that are on by default (no Local Zones or Wavelength Zones).
  filter {
    name   = "opt-in-status"
    values = ["opt-in-not-required"]
  }
}

data "aws_partition" "current" {}

locals {
  name   = var.cluster_name
  region = var.region

  azs = slice(data.aws_availability_zones.available.names, 0, var.az_count)

  # Public /24s at the start of the VPC range (10.0.0.0/24, 10.0.1.0/24, ...);
  # private /20s after them (10.0.16.0/20, 10.0.32.0/20, ...), created only with NAT.
  public_subnet_cidrs  = [for i in range(var.az_count) : cidrsubnet(var.vpc_cidr, 8, i)]
  private_subnet_cidrs = [for i in range(var.az_count) : cidrsubnet(var.vpc_cidr, 4, i + 1)]

  nat_gateway_count = var.enable_nat_gateway ? (var.single_nat_gateway ? 1 : var.az_count) : 0

  # Where the nodes and the control plane's network interfaces live: the public
  # subnets by default (no NAT gateway), the private ones with enable_nat_gateway.
  node_subnet_ids = var.enable_nat_gateway ? aws_subnet.private[*].id : aws_subnet.public[*].id

  ecr_repository_name = coalesce(var.ecr_repository_name, var.cluster_name)

  # The IRSA roles: each may be assumed only by one Kubernetes ServiceAccount.
  irsa = {
    lb_controller = {
      role        = "${local.name}-lb-controller"
      description = "AWS Load Balancer Controller"
      subject     = "system:serviceaccount:${var.lb_controller_namespace}:${var.lb_controller_service_account}"
    }
    ebs_csi = {
      role        = "${local.name}-ebs-csi"
      description = "EBS CSI driver"
      # The controller's ServiceAccount in the aws-ebs-csi-driver add-on.
      subject = "system:serviceaccount:kube-system:ebs-csi-controller-sa"
    }
  }
  # The issuer without its scheme, as IAM condition keys spell it
  # (oidc.eks.<region>.amazonaws.com/id/<id>).
  oidc_provider = replace(aws_iam_openid_connect_provider.eks.url, "https://", "")

  iam_policy_prefix = "arn:${data.aws_partition.current.partition}:iam::aws:policy"

  # The budget counts only costs carrying this tag. It is merged last, so
  # var.tags cannot change it, and it also reaches what Kubernetes makes in AWS:
  # EBS volumes (the CSI driver's extraVolumeTags) and ALBs (the controller's
  # defaultTags, set by `make eks-alb-controller` from output budget_tag).
  budget_tag = { key = "VigilStack", value = local.name }

  tags = merge({
    Project     = "vigil"
    Environment = var.environment
    ManagedBy   = "terraform"
    Repository  = "vigil/terraform"
  }, var.tags, { (local.budget_tag.key) = local.budget_tag.value })
}

################################################################################
# VPC (in place of terraform-aws-modules/vpc/aws)
#
# Public subnets only by default: nodes get public IPs and reach the internet
# (image pulls, probe targets, webhook receivers) through the internet gateway,
# with no NAT gateway to pay for. The security trade-off is in the runbook.
################################################################################

resource "aws_vpc" "this" {
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true # EKS nodes need DNS hostnames

  tags = { Name = local.name }
}

# Take every rule off the VPC's default security group, so nothing that falls
# back to it is reachable or can reach out.
resource "aws_default_security_group" "this" {
  vpc_id = aws_vpc.this.id

  tags = { Name = "${local.name}-default" }
}

resource "aws_internet_gateway" "this" {
  vpc_id = aws_vpc.this.id

  tags = { Name = local.name }
}

resource "aws_subnet" "public" {
  count = var.az_count

  vpc_id            = aws_vpc.this.id
  cidr_block        = local.public_subnet_cidrs[count.index]
  availability_zone = local.azs[count.index]
  # Managed node groups in a public subnet need this to join the cluster.
  map_public_ip_on_launch = true

  tags = {
    Name = "${local.name}-public-${local.azs[count.index]}"
    # The AWS Load Balancer Controller places internet-facing ALBs here.
    "kubernetes.io/role/elb" = "1"
  }
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.this.id

  tags = { Name = "${local.name}-public" }
}

resource "aws_route" "public_internet" {
  route_table_id         = aws_route_table.public.id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.this.id
}

resource "aws_route_table_association" "public" {
  count = var.az_count

  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public.id
}

# Everything below in this section exists only with enable_nat_gateway = true.

resource "aws_subnet" "private" {
  count = var.enable_nat_gateway ? var.az_count : 0

  vpc_id            = aws_vpc.this.id
  cidr_block        = local.private_subnet_cidrs[count.index]
  availability_zone = local.azs[count.index]

  tags = {
    Name                              = "${local.name}-private-${local.azs[count.index]}"
    "kubernetes.io/role/internal-elb" = "1"
  }
}

resource "aws_eip" "nat" {
  count = local.nat_gateway_count

  domain = "vpc"

  tags = { Name = "${local.name}-nat-${count.index}" }

  depends_on = [aws_internet_gateway.this]
}

resource "aws_nat_gateway" "this" {
  count = local.nat_gateway_count

  allocation_id = aws_eip.nat[count.index].id
  subnet_id     = aws_subnet.public[count.index].id

  tags = { Name = "${local.name}-nat-${count.index}" }

  depends_on = [aws_internet_gateway.this]
}

resource "aws_route_table" "private" {
  count = var.enable_nat_gateway ? var.az_count : 0

  vpc_id = aws_vpc.this.id

  tags = { Name = "${local.name}-private-${local.azs[count.index]}" }
}

resource "aws_route" "private_nat" {
  count = var.enable_nat_gateway ? var.az_count : 0

  route_table_id         = aws_route_table.private[count.index].id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.this[var.single_nat_gateway ? 0 : count.index].id
}

resource "aws_route_table_association" "private" {
  count = var.enable_nat_gateway ? var.az_count : 0

  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private[count.index].id
}

################################################################################
# EKS cluster and managed node group (in place of terraform-aws-modules/eks/aws)
################################################################################

data "aws_iam_policy_document" "cluster_assume" {
  statement {
    actions = ["sts:AssumeRole", "sts:TagSession"]

    principals {
      type        = "Service"
      identifiers = ["eks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "cluster" {
  name               = "${local.name}-cluster"
  description        = "EKS control plane of ${local.name}"
  assume_role_policy = data.aws_iam_policy_document.cluster_assume.json
}

resource "aws_iam_role_policy_attachment" "cluster" {
  role       = aws_iam_role.cluster.name
  policy_arn = "${local.iam_policy_prefix}/AmazonEKSClusterPolicy"
}

# EKS would create this log group itself, without retention, and leave it behind
# after `make eks-down`; created here only when control plane logs are enabled.
resource "aws_cloudwatch_log_group" "cluster" {
  count = length(var.cluster_enabled_log_types) > 0 ? 1 : 0

  name              = "/aws/eks/${local.name}/cluster"
  retention_in_days = 7
}

resource "aws_eks_cluster" "this" {
  name     = local.name
  version  = var.kubernetes_version
  role_arn = aws_iam_role.cluster.arn

  enabled_cluster_log_types = var.cluster_enabled_log_types

  # Access entries only (no aws-auth ConfigMap); whoever runs `make eks-up` is
  # cluster admin.
  access_config {
    authentication_mode                         = "API"
    bootstrap_cluster_creator_admin_permissions = true
  }

  # EKS otherwise moves a cluster whose version leaves standard support into
  # extended support, at six times the hourly price.
  upgrade_policy {
    support_type = "STANDARD"
  }

  # The public endpoint only for the listed ranges; with none, private only
  # (kubectl then has to run from inside the VPC). Nodes always use the
  # private endpoint.
  vpc_config {
    subnet_ids              = local.node_subnet_ids
    endpoint_public_access  = length(var.cluster_endpoint_public_cidrs) > 0
    endpoint_private_access = true
    public_access_cidrs     = length(var.cluster_endpoint_public_cidrs) > 0 ? var.cluster_endpoint_public_cidrs : null
  }

  tags = { Name = local.name }

  depends_on = [
    aws_iam_role_policy_attachment.cluster,
    aws_cloudwatch_log_group.cluster,
  ]
}

# The VPC CNI as a managed add-on, with its network policy agent on: without it
# EKS ignores NetworkPolicy objects, and the chart's default-deny policies would
# be controls that do nothing. Created before the nodes, so they start with it.
resource "aws_eks_addon" "vpc_cni" {
  cluster_name                = aws_eks_cluster.this.name
  addon_name                  = "vpc-cni"
  resolve_conflicts_on_create = "OVERWRITE"
  resolve_conflicts_on_update = "OVERWRITE"

  configuration_values = jsonencode({
    enableNetworkPolicy = "true"
  })
}

data "aws_iam_policy_document" "node_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "node" {
  name               = "${local.name}-node"
  description        = "EKS managed nodes of ${local.name}"
  assume_role_policy = data.aws_iam_policy_document.node_assume.json
}

resource "aws_iam_role_policy_attachment" "node" {
  for_each = toset([
    "AmazonEKSWorkerNodePolicy",
    "AmazonEKS_CNI_Policy",
    "AmazonEC2ContainerRegistryPullOnly",
  ])

  role       = aws_iam_role.node.name
  policy_arn = "${local.iam_policy_prefix}/${each.value}"
}

resource "aws_launch_template" "node" {
  name_prefix            = "${local.name}-node-"
  description            = "Managed nodes of ${local.name}: IMDSv2 only, encrypted gp3 root volume"
  update_default_version = true

  # IMDSv2 only, and a hop limit of 1: pods on the pod network cannot reach the
  # instance metadata service and the node role's credentials. Host-network
  # pods (VPC CNI, kube-proxy) still can. The Load Balancer Controller gets its
  # region and VPC id from Helm values instead (runbook, step 4).
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }

  block_device_mappings {
    device_name = "/dev/xvda"

    ebs {
      volume_size           = var.node_disk_size
      volume_type           = "gp3"
      encrypted             = true
      delete_on_termination = true
    }
  }

  # default_tags reach the launch template only; these reach what it launches.
  dynamic "tag_specifications" {
    for_each = toset(["instance", "volume", "network-interface"])

    content {
      resource_type = tag_specifications.value
      tags          = merge(local.tags, { Name = "${local.name}-node" })
    }
  }
}

resource "aws_eks_node_group" "default" {
  cluster_name    = aws_eks_cluster.this.name
  node_group_name = "${local.name}-default"
  node_role_arn   = aws_iam_role.node.arn
  subnet_ids      = local.node_subnet_ids

  # Follows the control plane: raising kubernetes_version upgrades the cluster,
  # then rolls the nodes onto the new version's AMI.
  version = aws_eks_cluster.this.version

  ami_type       = "AL2023_x86_64_STANDARD"
  capacity_type  = var.node_capacity_type
  instance_types = var.node_instance_types

  scaling_config {
    min_size     = var.node_min_size
    max_size     = var.node_max_size
    desired_size = var.node_desired_size
  }

  update_config {
    max_unavailable = 1
  }

  launch_template {
    id      = aws_launch_template.node.id
    version = aws_launch_template.node.latest_version
  }

  labels = {
    "vigil.dev/node-group" = "default"
  }

  tags = { Name = "${local.name}-default" }

  lifecycle {
    ignore_changes = [scaling_config[0].desired_size]
  }

  # The node role must keep its policies until the nodes are gone; the CNI
  # must be configured before the first node starts.
  depends_on = [
    aws_iam_role_policy_attachment.node,
    aws_eks_addon.vpc_cni,
  ]
}

################################################################################
# IRSA for the AWS Load Balancer Controller and the EBS CSI driver (in place of
# terraform-aws-modules/iam/aws//modules/iam-role-for-service-accounts-eks)
################################################################################

resource "aws_iam_openid_connect_provider" "eks" {
  url            = aws_eks_cluster.this.identity[0].oidc[0].issuer
  client_id_list = ["sts.amazonaws.com"]

  tags = { Name = "${local.name}-eks-oidc" }
}

# Only the role's ServiceAccount, with a token meant for STS, may assume it:
# any other pod of the cluster gets AccessDenied.
data "aws_iam_policy_document" "irsa_assume" {
  for_each = local.irsa

  statement {
    sid     = "ServiceAccountOnly"
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [aws_iam_openid_connect_provider.eks.arn]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_provider}:sub"
      values   = [each.value.subject]
    }

    condition {
      test     = "StringEquals"
      variable = "${local.oidc_provider}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "irsa" {
  for_each = local.irsa

  name               = each.value.role
  description        = "${each.value.description} of ${local.name} (IRSA: ${each.value.subject})"
  assume_role_policy = data.aws_iam_policy_document.irsa_assume[each.key].json
}

moved {
  from = aws_iam_role.lb_controller
  to   = aws_iam_role.irsa["lb_controller"]
}

# The controller project's published policy (docs/install/iam_policy.json of
# kubernetes-sigs/aws-load-balancer-controller, v2.14), kept as a file so that an
# upgrade is a diff against the upstream file.
resource "aws_iam_policy" "lb_controller" {
  name        = "${local.name}-AWSLoadBalancerControllerIAMPolicy"
  description = "Published IAM policy of the AWS Load Balancer Controller, for ${local.name}"
  policy      = file("${path.module}/policies/aws-load-balancer-controller.json")
}

resource "aws_iam_role_policy_attachment" "lb_controller" {
  role       = aws_iam_role.irsa["lb_controller"].name
  policy_arn = aws_iam_policy.lb_controller.arn
}

resource "aws_iam_role_policy_attachment" "ebs_csi" {
  role       = aws_iam_role.irsa["ebs_csi"].name
  policy_arn = "${local.iam_policy_prefix}/service-role/AmazonEBSCSIDriverPolicy"
}

################################################################################
# EBS CSI driver and the gp3 StorageClass
#
# The demo Postgres keeps its data on a PersistentVolumeClaim (values-eks.yaml,
# storageClass gp3), so its history survives pod restarts. The add-on's Helm
# values create the StorageClass; no Kubernetes provider is needed.
################################################################################

resource "aws_eks_addon" "ebs_csi" {
  cluster_name                = aws_eks_cluster.this.name
  addon_name                  = "aws-ebs-csi-driver"
  service_account_role_arn    = aws_iam_role.irsa["ebs_csi"].arn
  resolve_conflicts_on_create = "OVERWRITE"
  resolve_conflicts_on_update = "OVERWRITE"

  configuration_values = jsonencode({
    storageClasses = [{
      name = var.storage_class_name
      annotations = {
        "storageclass.kubernetes.io/is-default-class" = "true"
      }
      # Created in the zone of the pod that first uses it.
      volumeBindingMode    = "WaitForFirstConsumer"
      reclaimPolicy        = "Delete"
      allowVolumeExpansion = true
      parameters = {
        type      = "gp3"
        encrypted = "true"
      }
    }]
    # Volumes are created by the driver, not by Terraform: they get the stack's
    # tags (and so count in the budget) from here.
    controller = {
      extraVolumeTags = local.tags
    }
  })

  # The driver's controller runs on the nodes: without them the add-on never
  # becomes ACTIVE.
  depends_on = [aws_eks_node_group.default, aws_iam_role_policy_attachment.ebs_csi]
}

################################################################################
# ECR (in place of terraform-aws-modules/ecr/aws)
################################################################################

resource "aws_ecr_repository" "vigil" {
  name                 = local.ecr_repository_name
  image_tag_mutability = var.ecr_image_tag_mutability
  # `make eks-down` must not stop at a repository that still holds images.
  force_delete = true

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "AES256"
  }
}

resource "aws_ecr_lifecycle_policy" "vigil" {
  repository = aws_ecr_repository.vigil.name

  # An `any` rule must have the highest rulePriority number.
  policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "Expire untagged images after ${var.ecr_untagged_image_expiry_days} day(s)"
        selection = {
          tagStatus   = "untagged"
          countType   = "sinceImagePushed"
          countUnit   = "days"
          countNumber = var.ecr_untagged_image_expiry_days
        }
        action = { type = "expire" }
      },
      {
        rulePriority = 2
        description  = "Keep the ${var.ecr_keep_tagged_images} most recent images"
        selection = {
          tagStatus   = "any"
          countType   = "imageCountMoreThan"
          countNumber = var.ecr_keep_tagged_images
        }
        action = { type = "expire" }
      },
    ]
  })
}

################################################################################
# Budget
#
# Over what this stack creates: costs tagged with local.budget_tag, which every
# resource carries (default_tags, the launch template's tag specifications, the
# EBS CSI driver's volume tags, the ALB controller's default tags). AWS counts a
# tag only once it is activated as a cost allocation tag, and only from then on:
# the runbook's step 3 activates it (the tag key exists in billing data about a
# day after the first tagged resource).
################################################################################

resource "aws_budgets_budget" "monthly" {
  name         = "${local.name}-monthly-cost"
  budget_type  = "COST"
  limit_amount = tostring(var.budget_limit_usd)
  limit_unit   = "USD"
  time_unit    = "MONTHLY"

  # user:<key>$<value>, as Cost Explorer names a user-defined tag's value.
  cost_filter {
    name   = "TagKeyValue"
    values = [format("user:%s$%s", local.budget_tag.key, local.budget_tag.value)]
  }

  notification {
    comparison_operator        = "GREATER_THAN"
    threshold                  = 50
    threshold_type             = "PERCENTAGE"
    notification_type          = "ACTUAL"
    subscriber_email_addresses = var.budget_alert_emails
  }

  notification {
    comparison_operator        = "GREATER_THAN"
    threshold                  = 80
    threshold_type             = "PERCENTAGE"
    notification_type          = "ACTUAL"
    subscriber_email_addresses = var.budget_alert_emails
  }

  notification {
    comparison_operator        = "GREATER_THAN"
    threshold                  = 100
    threshold_type             = "PERCENTAGE"
    notification_type          = "FORECASTED"
    subscriber_email_addresses = var.budget_alert_emails
  }

  lifecycle {
    precondition {
      condition     = length(var.budget_alert_emails) > 0
      error_message = "Set at least one budget alert address: make eks-up BUDGET_EMAIL=you@example.com, or TF_VAR_budget_alert_emails='[\"you@example.com\"]'."
    }
  }
}
