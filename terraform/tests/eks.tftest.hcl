# `tofu test` of the whole configuration against the hashicorp/aws provider's
# real schemas and validation, with every call to AWS mocked: nothing is
# created, no credentials exist, nothing reaches the network. Runs in
# `make test` (make terraform-test; scripts/tofu-check.sh).

mock_provider "aws" {
  mock_data "aws_availability_zones" {
    defaults = {
      names = ["eu-west-1a", "eu-west-1b", "eu-west-1c"]
    }
  }

  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }

  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}"
    }
  }

  # Mocked ids still pass through the provider's validation of the resources
  # that take them.
  mock_resource "aws_launch_template" {
    defaults = {
      id             = "lt-0123456789abcdef0"
      latest_version = 1
    }
  }

  mock_resource "aws_eks_cluster" {
    defaults = {
      arn = "arn:aws:eks:eu-west-1:123456789012:cluster/vigil"
      identity = [{
        oidc = [{ issuer = "https://oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE" }]
      }]
    }
  }

  mock_resource "aws_iam_openid_connect_provider" {
    defaults = {
      arn = "arn:aws:iam::123456789012:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE"
    }
  }

  mock_resource "aws_iam_role" {
    defaults = {
      arn = "arn:aws:iam::123456789012:role/vigil-irsa"
    }
  }

  mock_resource "aws_iam_policy" {
    defaults = {
      arn = "arn:aws:iam::123456789012:policy/vigil-AWSLoadBalancerControllerIAMPolicy"
    }
  }

  mock_resource "aws_vpc" {
    defaults = {
      id = "vpc-0123456789abcdef0"
    }
  }

  mock_resource "aws_db_instance" {
    defaults = {
      address = "vigil-db.c0ffee123456.eu-west-1.rds.amazonaws.com"
      port    = 5432
    }
  }

  mock_resource "aws_secretsmanager_secret" {
    defaults = {
      arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:vigil/db-password-AbCdEf"
    }
  }
}

variables {
  budget_alert_emails           = ["ops@example.com"]
  cluster_endpoint_public_cidrs = ["203.0.113.10/32"]
  acm_certificate_arn           = "arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
}

################################################################################
# Network
################################################################################

run "defaults_have_no_nat_gateway_and_public_nodes" {
  command = apply

  assert {
    condition     = length(aws_nat_gateway.this) == 0 && length(aws_eip.nat) == 0
    error_message = "A NAT gateway (or its elastic IP) exists with the default variables."
  }

  assert {
    condition     = length(aws_subnet.private) == 0 && length(aws_subnet.public) == 2
    error_message = "By default there must be two public subnets and no private one."
  }

  assert {
    condition     = toset(aws_eks_node_group.default.subnet_ids) == toset(aws_subnet.public[*].id)
    error_message = "By default the node group must be in the public subnets."
  }

  assert {
    condition     = alltrue(aws_subnet.public[*].map_public_ip_on_launch)
    error_message = "Public subnets must give nodes public IPs (there is no NAT)."
  }

  assert {
    condition     = aws_route.public_internet.gateway_id == aws_internet_gateway.this.id && aws_route.public_internet.destination_cidr_block == "0.0.0.0/0" && aws_route.public_internet.route_table_id == aws_route_table.public.id
    error_message = "The public route table's default route must go to the internet gateway."
  }

  assert {
    condition     = toset(aws_route_table_association.public[*].subnet_id) == toset(aws_subnet.public[*].id) && alltrue([for a in aws_route_table_association.public : a.route_table_id == aws_route_table.public.id])
    error_message = "Every public subnet must be associated with the route table whose default route is the internet gateway."
  }

  assert {
    condition     = length(output.nat_gateway_ids) == 0 && toset(output.node_subnet_ids) == toset(aws_subnet.public[*].id)
    error_message = "Outputs nat_gateway_ids (empty) and node_subnet_ids (the public subnets) are wrong by default."
  }
}

run "enable_nat_gateway_moves_the_nodes_behind_one_nat_gateway" {
  command = apply

  variables {
    enable_nat_gateway = true
  }

  assert {
    condition     = length(aws_nat_gateway.this) == 1 && length(aws_subnet.private) == 2
    error_message = "enable_nat_gateway must create one NAT gateway and two private subnets."
  }

  assert {
    condition     = toset(aws_eks_node_group.default.subnet_ids) == toset(aws_subnet.private[*].id)
    error_message = "With enable_nat_gateway the node group must be in the private subnets."
  }

  assert {
    condition     = length(aws_route.private_nat) == 2 && alltrue([for r in aws_route.private_nat : r.nat_gateway_id == aws_nat_gateway.this[0].id && r.destination_cidr_block == "0.0.0.0/0"])
    error_message = "Private subnets must route to the NAT gateway."
  }
}

run "network_policies_are_enforced" {
  command = apply

  assert {
    condition     = aws_eks_addon.vpc_cni.addon_name == "vpc-cni" && jsondecode(aws_eks_addon.vpc_cni.configuration_values).enableNetworkPolicy == "true"
    error_message = "The VPC CNI add-on must enable its network policy agent, or the chart's NetworkPolicies do nothing."
  }
}

################################################################################
# The Kubernetes API endpoint
################################################################################

run "the_api_endpoint_is_open_only_to_the_given_ranges" {
  command = apply

  assert {
    condition     = aws_eks_cluster.this.vpc_config[0].endpoint_public_access && toset(aws_eks_cluster.this.vpc_config[0].public_access_cidrs) == toset(["203.0.113.10/32"])
    error_message = "The public endpoint must admit exactly cluster_endpoint_public_cidrs."
  }

  assert {
    condition     = aws_eks_cluster.this.vpc_config[0].endpoint_private_access
    error_message = "The private endpoint must be on (the nodes use it)."
  }

  assert {
    condition     = output.cluster_endpoint_public_cidrs == tolist(["203.0.113.10/32"])
    error_message = "Output cluster_endpoint_public_cidrs must give the ranges back to the eks-* targets."
  }
}

run "no_public_ranges_means_a_private_endpoint" {
  command = apply

  variables {
    cluster_endpoint_public_cidrs = []
  }

  assert {
    condition     = !aws_eks_cluster.this.vpc_config[0].endpoint_public_access && aws_eks_cluster.this.vpc_config[0].endpoint_private_access
    error_message = "An empty cluster_endpoint_public_cidrs must turn the public endpoint off and keep the private one."
  }
}

run "the_whole_internet_is_refused_as_an_api_range" {
  command = plan

  variables {
    cluster_endpoint_public_cidrs = ["203.0.113.10/32", "0.0.0.0/0"]
  }

  expect_failures = [var.cluster_endpoint_public_cidrs]
}

run "a_malformed_api_range_is_refused" {
  command = plan

  variables {
    cluster_endpoint_public_cidrs = ["203.0.113.300/32"]
  }

  expect_failures = [var.cluster_endpoint_public_cidrs]
}

################################################################################
# HTTPS on the ALB
################################################################################

run "the_alb_serves_the_certificate_and_is_tagged" {
  command = apply

  assert {
    condition     = yamldecode(output.helm_values).ingress.annotations["alb.ingress.kubernetes.io/certificate-arn"] == var.acm_certificate_arn
    error_message = "helm_values must give the ALB the ACM certificate for its HTTPS listener."
  }

  assert {
    condition     = yamldecode(output.helm_values).ingress.annotations["alb.ingress.kubernetes.io/tags"] == "VigilStack=vigil"
    error_message = "helm_values must tag the ALB with the budget's tag."
  }

  assert {
    condition     = yamldecode(output.helm_values).networkPolicy.ingressFrom == [{ ipBlock = { cidr = "10.0.0.0/16" } }] && yamldecode(output.helm_values).networkPolicy.kubeApiServer.cidrs == ["10.0.0.0/16"]
    error_message = "helm_values must open the NetworkPolicies to the VPC range (ALB targets, EKS API endpoints)."
  }

  assert {
    condition     = yamldecode(output.helm_values).api.trustedProxies == ["10.0.0.0/16"]
    error_message = "helm_values must make the VPC range (the ALB) the api's only trusted proxy, so the delivery-log failure limit counts real clients."
  }
}

run "a_certificate_that_is_not_an_acm_arn_is_refused" {
  command = plan

  variables {
    acm_certificate_arn = "arn:aws:iam::123456789012:server-certificate/vigil"
  }

  expect_failures = [var.acm_certificate_arn]
}

################################################################################
# Storage: EBS CSI driver, gp3 StorageClass, the demo Postgres on a volume
################################################################################

run "the_demo_postgres_keeps_its_data_on_a_gp3_volume" {
  command = apply

  assert {
    condition     = aws_eks_addon.ebs_csi.addon_name == "aws-ebs-csi-driver" && aws_eks_addon.ebs_csi.service_account_role_arn == aws_iam_role.irsa["ebs_csi"].arn
    error_message = "The EBS CSI driver must be an EKS add-on running as its IRSA role."
  }

  assert {
    condition = anytrue([
      for sc in jsondecode(aws_eks_addon.ebs_csi.configuration_values).storageClasses :
      sc.name == "gp3" && sc.parameters.type == "gp3" && sc.parameters.encrypted == "true"
      && sc.annotations["storageclass.kubernetes.io/is-default-class"] == "true"
      && sc.volumeBindingMode == "WaitForFirstConsumer" && sc.reclaimPolicy == "Delete"
    ])
    error_message = "The EBS CSI add-on must create an encrypted gp3 StorageClass named gp3, the cluster default, bound where the pod runs."
  }

  assert {
    condition     = jsondecode(aws_eks_addon.ebs_csi.configuration_values).controller.extraVolumeTags.VigilStack == "vigil"
    error_message = "Volumes the driver creates must carry the budget's tag."
  }

  assert {
    condition     = yamldecode(output.helm_values).postgresql.persistence == { enabled = true, storageClass = "gp3" } && !can(yamldecode(output.helm_values).externalDatabase)
    error_message = "Without RDS, helm_values must give the demo Postgres a PersistentVolumeClaim of the gp3 class."
  }

  assert {
    condition     = aws_iam_role_policy_attachment.ebs_csi.role == aws_iam_role.irsa["ebs_csi"].name && endswith(aws_iam_role_policy_attachment.ebs_csi.policy_arn, ":iam::aws:policy/service-role/AmazonEBSCSIDriverPolicy")
    error_message = "The EBS CSI role must have AWS's AmazonEBSCSIDriverPolicy."
  }

  assert {
    condition     = length(aws_db_instance.db) == 0 && length(aws_secretsmanager_secret.db) == 0 && output.rds_address == null
    error_message = "Without enable_rds there must be no RDS instance and no secret."
  }
}

################################################################################
# RDS PostgreSQL
################################################################################

run "rds_is_private_encrypted_backed_up_and_reachable_only_from_the_nodes" {
  command = apply

  variables {
    enable_rds = true
  }

  assert {
    condition     = length(aws_db_instance.db) == 1 && aws_db_instance.db[0].engine == "postgres" && aws_db_instance.db[0].engine_version == "17"
    error_message = "enable_rds must create one RDS PostgreSQL 17 instance."
  }

  assert {
    condition     = aws_db_instance.db[0].storage_encrypted && aws_db_instance.db[0].storage_type == "gp3"
    error_message = "The RDS storage must be encrypted."
  }

  assert {
    condition     = aws_db_instance.db[0].backup_retention_period == 7 && aws_db_instance.db[0].copy_tags_to_snapshot
    error_message = "Automated backups must be on (7 days by default)."
  }

  assert {
    condition     = !aws_db_instance.db[0].publicly_accessible && toset(aws_db_subnet_group.db[0].subnet_ids) == toset(aws_subnet.public[*].id)
    error_message = "The database must have no public address and live in the node subnets."
  }

  assert {
    condition     = aws_db_instance.db[0].vpc_security_group_ids == toset([aws_security_group.db[0].id]) && length(aws_security_group.db[0].ingress) == 0 && length(aws_security_group.db[0].egress) == 0
    error_message = "The database must be in its own security group, with no inline rules."
  }

  assert {
    condition = (
      length(aws_vpc_security_group_ingress_rule.db_from_nodes) == 1
      && aws_vpc_security_group_ingress_rule.db_from_nodes[0].security_group_id == aws_security_group.db[0].id
      && aws_vpc_security_group_ingress_rule.db_from_nodes[0].referenced_security_group_id == aws_eks_cluster.this.vpc_config[0].cluster_security_group_id
      && aws_vpc_security_group_ingress_rule.db_from_nodes[0].cidr_ipv4 == null
      && aws_vpc_security_group_ingress_rule.db_from_nodes[0].cidr_ipv6 == null
      && aws_vpc_security_group_ingress_rule.db_from_nodes[0].ip_protocol == "tcp"
      && aws_vpc_security_group_ingress_rule.db_from_nodes[0].from_port == 5432
      && aws_vpc_security_group_ingress_rule.db_from_nodes[0].to_port == 5432
    )
    error_message = "The only way in must be TCP 5432 from the cluster security group, which EKS gives every node."
  }

  assert {
    condition     = anytrue([for p in aws_db_parameter_group.db[0].parameter : p.name == "rds.force_ssl" && p.value == "1"]) && aws_db_instance.db[0].parameter_group_name == aws_db_parameter_group.db[0].name
    error_message = "The database must refuse connections without TLS (rds.force_ssl = 1)."
  }

  assert {
    condition     = !aws_db_instance.db[0].multi_az && aws_db_instance.db[0].skip_final_snapshot && !aws_db_instance.db[0].deletion_protection && aws_db_instance.db[0].delete_automated_backups
    error_message = "By default: single-AZ, and make eks-down leaves nothing billed behind (no final snapshot, no retained backups)."
  }

  assert {
    condition     = aws_db_instance.db[0].password == null && aws_db_instance.db[0].password_wo == null && aws_db_instance.db[0].password_wo_version == 1
    error_message = "The database password must be write-only: never in the state."
  }

  assert {
    condition     = aws_secretsmanager_secret_version.db[0].secret_string_wo == null && aws_secretsmanager_secret_version.db[0].secret_string_wo_version == 1 && aws_secretsmanager_secret_version.db[0].secret_id == aws_secretsmanager_secret.db[0].id && aws_secretsmanager_secret.db[0].recovery_window_in_days == 0
    error_message = "The password must reach Secrets Manager write-only, and its secret must go at once with make eks-down."
  }

  assert {
    condition     = output.rds_password_secret_arn == aws_secretsmanager_secret.db[0].arn && !strcontains(output.helm_values, "password")
    error_message = "Outputs name the secret's ARN only, never a password."
  }

  assert {
    condition     = yamldecode(output.helm_values).externalDatabase.url == "postgres://vigil@vigil-db.c0ffee123456.eu-west-1.rds.amazonaws.com:5432/vigil?sslmode=verify-full&sslrootcert=/etc/vigil/db-ca/ca.pem"
    error_message = "helm_values must point the chart at RDS, TLS verified against the RDS CA bundle."
  }

  assert {
    condition     = yamldecode(output.helm_values).networkPolicy.externalDatabase == { cidrs = ["10.0.0.0/16"], port = 5432 } && !can(yamldecode(output.helm_values).postgresql)
    error_message = "With RDS, helm_values must open egress to the database in the VPC and not configure the demo Postgres."
  }
}

run "rds_multi_az_final_snapshot_and_restore_are_variables" {
  command = apply

  variables {
    enable_rds              = true
    rds_multi_az            = true
    rds_final_snapshot      = true
    rds_snapshot_identifier = "vigil-db-final"
  }

  assert {
    condition     = aws_db_instance.db[0].multi_az && !aws_db_instance.db[0].skip_final_snapshot && aws_db_instance.db[0].final_snapshot_identifier == "vigil-db-final"
    error_message = "rds_multi_az and rds_final_snapshot must reach the instance."
  }

  assert {
    condition     = aws_db_instance.db[0].snapshot_identifier == "vigil-db-final"
    error_message = "rds_snapshot_identifier must create the instance from that snapshot."
  }
}

run "rds_backups_cannot_be_switched_off" {
  command = plan

  variables {
    enable_rds                = true
    rds_backup_retention_days = 0
  }

  expect_failures = [var.rds_backup_retention_days]
}

################################################################################
# Budget and tags
################################################################################

run "the_budget_counts_only_what_carries_the_stack_tag" {
  command = apply

  assert {
    condition     = aws_budgets_budget.monthly.budget_type == "COST" && aws_budgets_budget.monthly.time_unit == "MONTHLY" && aws_budgets_budget.monthly.limit_unit == "USD" && tonumber(aws_budgets_budget.monthly.limit_amount) > 0
    error_message = "The budget must be a positive monthly cost budget in USD."
  }

  assert {
    condition     = length(aws_budgets_budget.monthly.cost_filter) == 1 && one(aws_budgets_budget.monthly.cost_filter).name == "TagKeyValue" && length(one(aws_budgets_budget.monthly.cost_filter).values) == 1 && contains(one(aws_budgets_budget.monthly.cost_filter).values, "user:VigilStack$vigil")
    error_message = "The budget must be filtered by the stack's tag VigilStack=vigil."
  }

  assert {
    condition     = output.tags.VigilStack == "vigil" && output.tags.Project == "vigil" && output.budget_tag == "VigilStack=vigil"
    error_message = "The provider's default tags (on every resource) must hold the budget's tag."
  }

  assert {
    condition     = alltrue([for ts in aws_launch_template.node.tag_specifications : ts.tags.VigilStack == "vigil"]) && length(aws_launch_template.node.tag_specifications) == 3
    error_message = "Instances, their volumes and network interfaces must carry the budget's tag too (default_tags reach only the launch template)."
  }

  assert {
    condition     = length(aws_budgets_budget.monthly.notification) == 3 && alltrue([for n in aws_budgets_budget.monthly.notification : contains(n.subscriber_email_addresses, "ops@example.com")])
    error_message = "Every budget notification must e-mail budget_alert_emails."
  }

  assert {
    condition     = anytrue([for n in aws_budgets_budget.monthly.notification : n.notification_type == "ACTUAL"])
    error_message = "The budget must alert on actual spend."
  }
}

run "the_budget_tag_cannot_be_overridden" {
  command = plan

  variables {
    tags = { VigilStack = "something-else" }
  }

  expect_failures = [var.tags]
}

run "without_an_alert_address_the_budget_refuses_to_plan" {
  command = plan

  variables {
    budget_alert_emails = []
  }

  expect_failures = [aws_budgets_budget.monthly]
}

run "a_malformed_alert_address_is_rejected" {
  command = plan

  variables {
    budget_alert_emails = ["not-an-address"]
  }

  expect_failures = [var.budget_alert_emails]
}

################################################################################
# IRSA, ECR, the controller's policy
################################################################################

run "each_irsa_role_trusts_only_its_service_account" {
  command = apply

  assert {
    condition     = aws_iam_openid_connect_provider.eks.url == aws_eks_cluster.this.identity[0].oidc[0].issuer && aws_iam_openid_connect_provider.eks.client_id_list == toset(["sts.amazonaws.com"])
    error_message = "The OIDC provider must be the cluster's issuer, for STS."
  }

  assert {
    condition = alltrue([
      for k, doc in data.aws_iam_policy_document.irsa_assume :
      length(doc.statement) == 1 && doc.statement[0].effect == "Allow" && doc.statement[0].actions == toset(["sts:AssumeRoleWithWebIdentity"])
    ]) && length(data.aws_iam_policy_document.irsa_assume) == 2
    error_message = "Each IRSA role's trust policy must be one statement allowing only sts:AssumeRoleWithWebIdentity."
  }

  assert {
    condition = alltrue([
      for k, doc in data.aws_iam_policy_document.irsa_assume :
      length(doc.statement[0].principals) == 1 && alltrue([
        for p in doc.statement[0].principals :
        p.type == "Federated" && p.identifiers == toset([aws_iam_openid_connect_provider.eks.arn])
      ])
    ])
    error_message = "Each IRSA role may be assumed through the cluster's OIDC provider only."
  }

  assert {
    condition = alltrue([
      for k, subject in {
        lb_controller = "system:serviceaccount:kube-system:aws-load-balancer-controller"
        ebs_csi       = "system:serviceaccount:kube-system:ebs-csi-controller-sa"
      } :
      length(data.aws_iam_policy_document.irsa_assume[k].statement[0].condition) == 2
      && anytrue([
        for c in data.aws_iam_policy_document.irsa_assume[k].statement[0].condition :
        c.test == "StringEquals"
        && c.variable == "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:sub"
        && length(c.values) == 1 && contains(c.values, subject)
      ])
    ])
    error_message = "Each IRSA role's trust policy must pin :sub (StringEquals, one value) to its own ServiceAccount."
  }

  assert {
    condition = alltrue([
      for k, doc in data.aws_iam_policy_document.irsa_assume :
      anytrue([
        for c in doc.statement[0].condition :
        c.test == "StringEquals"
        && c.variable == "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:aud"
        && length(c.values) == 1 && contains(c.values, "sts.amazonaws.com")
      ])
    ])
    error_message = "Each IRSA role's trust policy must pin :aud to sts.amazonaws.com."
  }

  assert {
    condition     = aws_iam_role.irsa["lb_controller"].assume_role_policy == data.aws_iam_policy_document.irsa_assume["lb_controller"].json && aws_iam_role.irsa["ebs_csi"].assume_role_policy == data.aws_iam_policy_document.irsa_assume["ebs_csi"].json
    error_message = "Each role must use its own trust policy."
  }

  assert {
    condition     = aws_iam_role_policy_attachment.lb_controller.role == aws_iam_role.irsa["lb_controller"].name && aws_iam_role_policy_attachment.lb_controller.policy_arn == aws_iam_policy.lb_controller.arn
    error_message = "The controller's published policy must be attached to the controller's role."
  }

  assert {
    condition     = output.lb_controller_role_arn == aws_iam_role.irsa["lb_controller"].arn && output.lb_controller_service_account == "kube-system/aws-load-balancer-controller" && output.kubeconfig_command == "aws eks update-kubeconfig --region eu-west-1 --name vigil"
    error_message = "Outputs lb_controller_role_arn, lb_controller_service_account and kubeconfig_command are wrong."
  }
}

run "the_controller_policy_file_is_an_iam_policy" {
  command = apply

  assert {
    condition     = jsondecode(aws_iam_policy.lb_controller.policy).Version == "2012-10-17" && alltrue([for s in jsondecode(aws_iam_policy.lb_controller.policy).Statement : s.Effect == "Allow" && can(s.Resource)])
    error_message = "policies/aws-load-balancer-controller.json must be an IAM policy of Allow statements."
  }

  assert {
    condition = length(setsubtract(
      ["elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:CreateTargetGroup", "elasticloadbalancing:RegisterTargets", "ec2:CreateSecurityGroup", "ec2:AuthorizeSecurityGroupIngress", "ec2:DescribeSubnets", "wafv2:AssociateWebACL"],
      flatten([for s in jsondecode(aws_iam_policy.lb_controller.policy).Statement : s.Action])
    )) == 0
    error_message = "The controller's policy lacks actions it needs to make ALBs."
  }
}

run "the_ecr_repository_has_a_lifecycle_policy" {
  command = apply

  assert {
    condition     = aws_ecr_lifecycle_policy.vigil.repository == aws_ecr_repository.vigil.name && length(jsondecode(aws_ecr_lifecycle_policy.vigil.policy).rules) == 2
    error_message = "The ECR repository must have its lifecycle policy."
  }

  assert {
    condition     = aws_ecr_repository.vigil.image_tag_mutability == "IMMUTABLE" && aws_ecr_repository.vigil.force_delete
    error_message = "Tags must be immutable, and make eks-down must be able to delete the repository with its images."
  }
}
