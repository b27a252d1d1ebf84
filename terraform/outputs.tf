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
  value       = aws_iam_role.lb_controller.arn
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
