# Vigil on Amazon EKS: Terraform checks and the eks-* targets.
# Included by the root Makefile (`include terraform/terraform.mk`); every
# variable has a default here and can be overridden on the command line.
# Step-by-step use, costs and what is untested: docs/eks-runbook.md.

# Including this file leaves the root Makefile's default goal as it was.
_TF_MK_DEFAULT_GOAL := $(.DEFAULT_GOAL)

TERRAFORM         ?= terraform
TF_DIR            ?= terraform
AWS_REGION        ?= eu-west-1
CLUSTER_NAME      ?= vigil
# Budget alert address(es) for `make eks-up`, comma-separated.
BUDGET_EMAIL      ?=
# Tag of the image in ECR (the repository's tags are immutable): the commit by
# default. Its own name, so the local chart targets' IMAGE_TAG (dev) is not reused.
EKS_IMAGE_TAG     ?= $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo dev)
IMAGE_PLATFORM    ?= linux/amd64
VIGIL_NAMESPACE   ?= vigil
# 1: eks-deploy also runs the smoke test's webhook receiver (tools/smoke.sh) in
# SMOKE_NAMESPACE and lists it as a receiver, as `make deploy` does locally, so
# that `make smoke` sees a webhook. Same variables as mk/chart.mk.
SMOKE_RECEIVER    ?= 1
SMOKE_NAMESPACE   ?= vigil-smoke
# More `helm upgrade` arguments for eks-deploy, e.g. -f ~/vigil-receivers.yaml
# (webhook receivers and their secrets stay out of git).
HELM_EXTRA_ARGS   ?=
# The chart of AWS Load Balancer Controller v2.14.x, whose IAM policy is
# terraform/policies/aws-load-balancer-controller.json.
ALB_CONTROLLER_CHART_VERSION ?= 1.14.0
# AUTO_APPROVE=1 skips Terraform's "yes" prompt in eks-up and eks-down.
AUTO_APPROVE      ?=
# Build cache of the offline check (provider binary, plugin mirror, scratch copy).
TF_PROVIDER_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/vigil/terraform

TF_RUN    = $(TERRAFORM) -chdir=$(TF_DIR)
TF_OUTPUT = $(TF_RUN) output -raw
# Region and cluster of the cluster in the state, so that the targets after
# eks-up act on what exists, whatever AWS_REGION and CLUSTER_NAME say now.
comma := ,
TF_STATE_VARS = -var "region=$$($(TF_OUTPUT) region 2>/dev/null || echo $(AWS_REGION))" \
  -var "cluster_name=$$($(TF_OUTPUT) cluster_name 2>/dev/null || echo $(CLUSTER_NAME))"
TF_UP_VARS = -var 'region=$(AWS_REGION)' -var 'cluster_name=$(CLUSTER_NAME)' \
  $(if $(BUDGET_EMAIL),-var 'budget_alert_emails=[$(foreach e,$(subst $(comma), ,$(BUDGET_EMAIL)),"$(e)"$(comma))]')
TF_APPROVE = $(if $(AUTO_APPROVE),-auto-approve)

# Refuses to go on unless kubectl's current context is this cluster (as
# `aws eks update-kubeconfig` names it), so nothing lands on a local cluster.
define require_eks_context
	@ctx="$$(kubectl config current-context 2>/dev/null)"; \
	name="$$($(TF_OUTPUT) cluster_name)"; \
	case "$$ctx" in \
	  arn:aws*:eks:*:cluster/"$$name") ;; \
	  *) echo "kubectl context is '$$ctx', not the EKS cluster '$$name': run make eks-kubeconfig" >&2; exit 1 ;; \
	esac
endef

.PHONY: terraform-test terraform-check eks-up eks-kubeconfig eks-alb-controller eks-push eks-deploy eks-down

## terraform-test: the static test of the HCL, incl. canonical formatting (fast, offline; needs only Go)
terraform-test:
	cd $(TF_DIR)/test && go test -count=1 -v ./...

## terraform-check: terraform validate and the mocked `terraform test` with the real AWS provider, built from the Go module proxy (slow the first time)
terraform-check:
	bash $(TF_DIR)/scripts/terraform-check.sh

## eks-up: create the VPC, EKS cluster, ECR repository, controller IAM role and budget (bills AWS; needs BUDGET_EMAIL the first time)
eks-up:
	$(TF_RUN) init -input=false
	$(TF_RUN) apply $(TF_APPROVE) $(TF_UP_VARS)
	@echo "next: make eks-kubeconfig && make eks-alb-controller && make eks-push && make eks-deploy"

## eks-kubeconfig: add the cluster to ~/.kube/config and make it the current context
eks-kubeconfig:
	aws eks update-kubeconfig --region "$$($(TF_OUTPUT) region)" --name "$$($(TF_OUTPUT) cluster_name)"

## eks-alb-controller: install the AWS Load Balancer Controller with Helm, on the IRSA role from Terraform
eks-alb-controller:
	$(require_eks_context)
	helm repo add eks https://aws.github.io/eks-charts --force-update
	sa="$$($(TF_OUTPUT) lb_controller_service_account)"; \
	helm upgrade --install aws-load-balancer-controller eks/aws-load-balancer-controller \
	  --version $(ALB_CONTROLLER_CHART_VERSION) --namespace "$${sa%%/*}" \
	  --set clusterName="$$($(TF_OUTPUT) cluster_name)" \
	  --set region="$$($(TF_OUTPUT) region)" \
	  --set vpcId="$$($(TF_OUTPUT) vpc_id)" \
	  --set serviceAccount.create=true \
	  --set serviceAccount.name="$${sa#*/}" \
	  --set serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn="$$($(TF_OUTPUT) lb_controller_role_arn)" \
	  --set defaultTags.Project=vigil \
	  --wait --timeout 5m

## eks-push: build the image from the root Dockerfile and push it to ECR as EKS_IMAGE_TAG
eks-push:
	@if [ "$(origin EKS_IMAGE_TAG)" = file ] && ! git diff --quiet HEAD 2>/dev/null; then \
	  echo "the work tree has uncommitted changes, so the commit does not name this build: commit, or name it: make eks-push eks-deploy EKS_IMAGE_TAG=<tag>" >&2; exit 1; fi
	@set -e; ecr="$$($(TF_OUTPUT) ecr_repository_url)"; region="$$($(TF_OUTPUT) region)"; \
	aws ecr get-login-password --region "$$region" | docker login --username AWS --password-stdin "$${ecr%%/*}"; \
	echo "docker build -f Dockerfile --platform $(IMAGE_PLATFORM) -t $$ecr:$(EKS_IMAGE_TAG) ."; \
	docker build -f Dockerfile --platform $(IMAGE_PLATFORM) -t "$$ecr:$(EKS_IMAGE_TAG)" .; \
	docker push "$$ecr:$(EKS_IMAGE_TAG)"

## eks-deploy: namespace with restricted Pod Security first, then the chart with values-eks.yaml and the ECR image
# The order is explicit (the seed's lesson): 1. the namespace, labelled for
# restricted Pod Security, before anything is created in it; 2. the smoke
# receiver; 3. the release. values-eks.yaml opens the NetworkPolicy to the VPC
# CIDR (ALB targets and the EKS API endpoints are ENIs in the VPC); the CIDR is
# taken from Terraform here, so a changed vpc_cidr cannot leave the policy behind.
eks-deploy:
	$(require_eks_context)
	kubectl create namespace $(VIGIL_NAMESPACE) --dry-run=client -o yaml | kubectl apply -f -
	kubectl label namespace $(VIGIL_NAMESPACE) --overwrite \
	  pod-security.kubernetes.io/enforce=restricted \
	  pod-security.kubernetes.io/enforce-version=latest \
	  pod-security.kubernetes.io/audit=restricted \
	  pod-security.kubernetes.io/warn=restricted
	@set -e; ecr="$$($(TF_OUTPUT) ecr_repository_url)"; cidr="$$($(TF_OUTPUT) vpc_cidr_block)"; \
	receivers=(); if [ "$(SMOKE_RECEIVER)" = 1 ]; then \
	  SMOKE_NAMESPACE=$(SMOKE_NAMESPACE) SMOKE_RECEIVER_IMAGE="$$ecr:$(EKS_IMAGE_TAG)" tools/smoke.sh receiver; \
	  receivers=(--set-json "$$(SMOKE_NAMESPACE=$(SMOKE_NAMESPACE) tools/smoke.sh receiver-values)"); fi; \
	set -x; helm upgrade --install vigil charts/vigil -n $(VIGIL_NAMESPACE) --create-namespace \
	  -f charts/vigil/values.yaml -f charts/vigil/values-eks.yaml \
	  --set image.repository="$$ecr" \
	  --set image.tag=$(EKS_IMAGE_TAG) \
	  --set-json "networkPolicy.ingressFrom=[{\"ipBlock\":{\"cidr\":\"$$cidr\"}}]" \
	  --set "networkPolicy.kubeApiServer.cidrs={$$cidr}" \
	  "$${receivers[@]}" $(HELM_EXTRA_ARGS) \
	  --wait --timeout 10m

## eks-down: delete what Kubernetes made in AWS (ALBs), then destroy everything Terraform made. ALWAYS run it.
eks-down:
	@if kubectl config current-context 2>/dev/null | grep -q ":cluster/$$($(TF_OUTPUT) cluster_name 2>/dev/null)$$"; then \
	  echo "deleting Ingresses and LoadBalancer Services first (the controller removes their ALBs/NLBs), then the releases and volumes"; \
	  kubectl delete ingress --all --all-namespaces --wait --timeout=5m || true; \
	  kubectl get svc -A -o jsonpath='{range .items[?(@.spec.type=="LoadBalancer")]}{.metadata.namespace}{" "}{.metadata.name}{"\n"}{end}' \
	    | while read -r ns name; do kubectl delete svc -n "$$ns" "$$name" --wait --timeout=5m || true; done; \
	  helm uninstall vigil -n $(VIGIL_NAMESPACE) --wait || true; \
	  kubectl delete pvc --all -n $(VIGIL_NAMESPACE) --wait --timeout=5m || true; \
	  helm uninstall aws-load-balancer-controller -n kube-system --wait || true; \
	else \
	  echo "warning: kubectl is not on this cluster; ALBs made by the controller (if any) must be deleted by hand (runbook, tear down)" >&2; \
	fi
	$(TF_RUN) destroy $(TF_APPROVE) $(TF_STATE_VARS)
	@echo "done. Check the AWS console as docs/eks-runbook.md says (Load balancers, EC2, VPC, ECR, CloudWatch log groups)."

.DEFAULT_GOAL := $(_TF_MK_DEFAULT_GOAL)
