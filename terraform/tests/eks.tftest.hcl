# `terraform test` against the real hashicorp/aws provider schema, with every
# call to AWS mocked: nothing is created and no credentials are needed. It runs
# in `make terraform-check` (which builds the provider); the HCL-level twin of
# these checks, terraform/test/, runs in `make test` without the provider.

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
      arn = "arn:aws:iam::123456789012:role/vigil-lb-controller"
    }
  }

  mock_resource "aws_iam_policy" {
    defaults = {
      arn = "arn:aws:iam::123456789012:policy/vigil-AWSLoadBalancerControllerIAMPolicy"
    }
  }
}

variables {
  budget_alert_emails = ["ops@example.com"]
}

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
    condition     = aws_route.public_internet.gateway_id == aws_internet_gateway.this.id
    error_message = "The public route table's default route must go to the internet gateway."
  }

  assert {
    condition     = length(output.nat_gateway_ids) == 0
    error_message = "Output nat_gateway_ids must be empty by default."
  }
}

run "network_policies_are_enforced" {
  command = apply

  assert {
    condition     = aws_eks_addon.vpc_cni.addon_name == "vpc-cni" && jsondecode(aws_eks_addon.vpc_cni.configuration_values).enableNetworkPolicy == "true"
    error_message = "The VPC CNI add-on must enable its network policy agent, or the chart's NetworkPolicies do nothing."
  }
}

run "the_budget_emails_the_alert_addresses" {
  command = apply

  assert {
    condition     = aws_budgets_budget.monthly.budget_type == "COST" && aws_budgets_budget.monthly.time_unit == "MONTHLY" && aws_budgets_budget.monthly.limit_unit == "USD"
    error_message = "The budget must be a monthly cost budget in USD."
  }

  assert {
    condition     = length(aws_budgets_budget.monthly.notification) == 3 && alltrue([for n in aws_budgets_budget.monthly.notification : contains(n.subscriber_email_addresses, "ops@example.com")])
    error_message = "Every budget notification must e-mail budget_alert_emails."
  }
}

run "the_controller_role_trusts_only_its_service_account" {
  command = apply

  assert {
    condition     = length(data.aws_iam_policy_document.lb_controller_assume.statement) == 1
    error_message = "The controller's trust policy must have exactly one statement."
  }

  assert {
    condition = anytrue([
      for c in data.aws_iam_policy_document.lb_controller_assume.statement[0].condition :
      c.test == "StringEquals"
      && c.variable == "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:sub"
      && length(c.values) == 1
      && contains(c.values, "system:serviceaccount:kube-system:aws-load-balancer-controller")
    ])
    error_message = "The trust policy must pin :sub to system:serviceaccount:kube-system:aws-load-balancer-controller."
  }

  assert {
    condition = anytrue([
      for c in data.aws_iam_policy_document.lb_controller_assume.statement[0].condition :
      c.test == "StringEquals"
      && c.variable == "oidc.eks.eu-west-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE:aud"
      && length(c.values) == 1
      && contains(c.values, "sts.amazonaws.com")
    ])
    error_message = "The trust policy must pin :aud to sts.amazonaws.com."
  }

  assert {
    condition     = length(data.aws_iam_policy_document.lb_controller_assume.statement[0].condition) == 2
    error_message = "The trust policy must have exactly the :sub and :aud conditions."
  }

  assert {
    condition     = anytrue([for p in data.aws_iam_policy_document.lb_controller_assume.statement[0].principals : p.type == "Federated" && contains(p.identifiers, aws_iam_openid_connect_provider.eks.arn)])
    error_message = "The trust policy's principal must be the cluster's OIDC provider."
  }

  assert {
    condition     = output.lb_controller_role_arn == aws_iam_role.lb_controller.arn && output.kubeconfig_command == "aws eks update-kubeconfig --region eu-west-1 --name vigil"
    error_message = "Outputs lb_controller_role_arn and kubeconfig_command are wrong."
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
    condition     = alltrue([for r in aws_route.private_nat : r.nat_gateway_id == aws_nat_gateway.this[0].id])
    error_message = "Private subnets must route to the NAT gateway."
  }
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
