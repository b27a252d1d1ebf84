output "cluster_name" {
  description = "Name of the EKS cluster."
  value       = aws_eks_cluster.this.name
}

output "region" {
  description = "AWS region the cluster and every other resource are in."
  value       = local.region
}

output "cluster_endpoint" {
  description = "URL of the cluster's Kubernetes API server."
  value       = aws_eks_cluster.this.endpoint
}

output "kubeconfig_command" {
  description = "Command that writes a kubeconfig context for the cluster (what `make eks-kubeconfig` runs)."
  value       = "aws eks update-kubeconfig --region ${local.region} --name ${aws_eks_cluster.this.name}"
}

output "ecr_repository_url" {
  description = "URL of the ECR repository for the Vigil image (<account>.dkr.ecr.<region>.amazonaws.com/<name>), the chart's image.repository."
  value       = aws_ecr_repository.vigil.repository_url
}

output "lb_controller_role_arn" {
  description = "ARN of the IAM role for the AWS Load Balancer Controller; goes into its ServiceAccount annotation eks.amazonaws.com/role-arn."
  value       = aws_iam_role.irsa["lb_controller"].arn
}

output "lb_controller_service_account" {
  description = "The only ServiceAccount (namespace/name) the controller's IAM role trusts; the Helm release must use it."
  value       = "${var.lb_controller_namespace}/${var.lb_controller_service_account}"
}

output "vpc_id" {
  description = "ID of the VPC; the AWS Load Balancer Controller takes it as the vpcId Helm value."
  value       = aws_vpc.this.id
}

output "vpc_cidr_block" {
  description = "CIDR block of the VPC; `make eks-deploy` opens the chart's NetworkPolicy to it (ALB targets and the EKS API endpoints are network interfaces in the VPC)."
  value       = aws_vpc.this.cidr_block
}

output "node_subnet_ids" {
  description = "Subnets of the nodes: the public subnets unless enable_nat_gateway is true."
  value       = local.node_subnet_ids
}

output "nat_gateway_ids" {
  description = "IDs of the NAT gateways; empty by default (enable_nat_gateway = false)."
  value       = aws_nat_gateway.this[*].id
}

output "budget_name" {
  description = "Name of the monthly AWS Budget that e-mails the alert addresses."
  value       = aws_budgets_budget.monthly.name
}

output "cluster_endpoint_public_cidrs" {
  description = "The ranges that may reach the public Kubernetes API endpoint; empty: private endpoint only. The eks-* targets pass it back on later runs."
  value       = var.cluster_endpoint_public_cidrs
}

output "acm_certificate_arn" {
  description = "The ACM certificate of the ALB's HTTPS listener (in helm_values); the eks-* targets pass it back on later runs."
  value       = var.acm_certificate_arn
}

output "budget_tag" {
  description = "The tag (key=value) every resource of the stack carries and the budget filters on. Activate its key as a cost allocation tag (runbook, step 3); the ALB controller and the EBS CSI driver put it on what they create."
  value       = "${local.budget_tag.key}=${local.budget_tag.value}"
}

output "tags" {
  description = "The tags the provider puts on every resource it creates (default_tags)."
  value       = local.tags
}

output "storage_class_name" {
  description = "The encrypted gp3 StorageClass created by the EBS CSI add-on, the cluster default."
  value       = var.storage_class_name
}

output "rds_address" {
  description = "Host name of the RDS instance; empty without enable_rds."
  value       = one(aws_db_instance.db[*].address)
}

output "rds_password_secret_arn" {
  description = "ARN of the Secrets Manager secret with the database password (the ARN only: the password is in no output and not in the state). Empty without enable_rds."
  value       = one(aws_secretsmanager_secret.db[*].arn)
}

output "helm_values" {
  description = "Chart values that depend on this stack, layered over values-eks.yaml (and values-eks-rds.yaml with enable_rds) by make eks-deploy: the ALB's certificate and tags, the VPC range for the NetworkPolicies and the api's trusted proxies, the StorageClass."
  # Keys whose value is null are left out (a null would delete the chart's default).
  value = yamlencode({ for k, v in {
    ingress = {
      annotations = {
        "alb.ingress.kubernetes.io/certificate-arn" = var.acm_certificate_arn
        "alb.ingress.kubernetes.io/tags"            = "${local.budget_tag.key}=${local.budget_tag.value}"
      }
    }
    # With target-type ip the ALB connects from its own network interfaces in
    # the VPC; the `kubernetes` Service's endpoints are EKS-managed interfaces
    # there too, replaced on control-plane upgrades: so the VPC range.
    # The ALB is the only proxy in front of the api, and it connects from the
    # VPC: the api takes the client address for its delivery-log failure
    # limit from the X-Forwarded-For the ALB appends, and from nothing else.
    api = { trustedProxies = [aws_vpc.this.cidr_block] }
    networkPolicy = { for k, v in {
      ingressFrom      = [{ ipBlock = { cidr = aws_vpc.this.cidr_block } }]
      kubeApiServer    = { cidrs = [aws_vpc.this.cidr_block], ports = [443] }
      externalDatabase = var.enable_rds ? { cidrs = [aws_vpc.this.cidr_block], port = 5432 } : null
    } : k => v if v != null }
    # The demo Postgres on a volume of the gp3 class, or the RDS database
    # (values-eks-rds.yaml names its password Secret and CA ConfigMap).
    postgresql       = var.enable_rds ? null : { persistence = { enabled = true, storageClass = var.storage_class_name } }
    externalDatabase = var.enable_rds ? { url = "postgres://vigil@${aws_db_instance.db[0].address}:${aws_db_instance.db[0].port}/vigil?sslmode=verify-full&sslrootcert=/etc/vigil/db-ca/ca.pem" } : null
  } : k => v if v != null })
}
