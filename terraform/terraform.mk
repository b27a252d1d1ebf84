# Vigil on Amazon EKS: the checks of terraform/ (OpenTofu) and the eks-* targets.
# Included by the root Makefile (`include terraform/terraform.mk`); every
# variable has a default here and can be overridden on the command line.
# Step-by-step use, costs and what is untested: docs/eks-runbook.md.

# Including this file leaves the root Makefile's default goal as it was.
_TF_MK_DEFAULT_GOAL := $(.DEFAULT_GOAL)

# The engine of the eks-* targets: terraform (>= 1.11) or tofu (>= 1.11).
TERRAFORM         ?= terraform
TF_DIR            ?= terraform
AWS_REGION        ?= eu-west-1
CLUSTER_NAME      ?= vigil
# Budget alert address(es) for `make eks-up`, comma-separated.
BUDGET_EMAIL      ?=
# The first `make eks-up` needs both (later targets take them from the state):
# the ranges that may reach the public Kubernetes API, comma-separated, e.g.
# 203.0.113.10/32 ("none": private endpoint only), and the ALB's ACM certificate.
EKS_API_CIDRS       ?=
ACM_CERTIFICATE_ARN ?=
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

TF_RUN    = $(TERRAFORM) -chdir=$(TF_DIR)
TF_OUTPUT = $(TF_RUN) output -raw
# Region and cluster of the cluster in the state, so that the targets after
# eks-up act on what exists, whatever AWS_REGION and CLUSTER_NAME say now.
comma := ,
TF_STATE_VARS = -var "region=$$($(TF_OUTPUT) region 2>/dev/null || echo $(AWS_REGION))" \
  -var "cluster_name=$$($(TF_OUTPUT) cluster_name 2>/dev/null || echo $(CLUSTER_NAME))"
TF_UP_VARS = -var 'region=$(AWS_REGION)' -var 'cluster_name=$(CLUSTER_NAME)' \
  $(if $(BUDGET_EMAIL),-var 'budget_alert_emails=[$(foreach e,$(subst $(comma), ,$(BUDGET_EMAIL)),"$(e)"$(comma))]')
# The two required variables, from the command line or else from the state (or
# terraform.tfvars), as shell variables cidrs and cert; TF_REQUIRED_VARS passes them.
define tf_required_vars
cidrs='$(if $(EKS_API_CIDRS),[$(if $(filter none,$(EKS_API_CIDRS)),,$(foreach c,$(subst $(comma), ,$(EKS_API_CIDRS)),"$(c)"$(comma)))])'; \
[ -n "$$cidrs" ] || cidrs="$$($(TF_RUN) output -json cluster_endpoint_public_cidrs 2>/dev/null | tr -d ' \n')" || true; \
cert='$(ACM_CERTIFICATE_ARN)'; [ -n "$$cert" ] || cert="$$($(TF_OUTPUT) acm_certificate_arn 2>/dev/null)" || true; \
if { [ -z "$$cidrs" ] || [ -z "$$cert" ]; } && ! grep -qs acm_certificate_arn $(TF_DIR)/terraform.tfvars; then \
  echo "the first make eks-up needs EKS_API_CIDRS=<your address>/32 (or none: private endpoint) and ACM_CERTIFICATE_ARN=arn:aws:acm:... (docs/eks-runbook.md, step 3)" >&2; exit 1; fi
endef
TF_REQUIRED_VARS = $${cidrs:+-var "cluster_endpoint_public_cidrs=$$cidrs"} $${cert:+-var "acm_certificate_arn=$$cert"}
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

## terraform-test: tofu fmt -check, validate and test (mocked AWS) with OpenTofu and the AWS provider trimmed to the services used, built from the Go module proxy and cached (offline; part of make test)
terraform-test:
	bash $(TF_DIR)/scripts/tofu-check.sh

## terraform-check: the same checks with the whole AWS provider (about half an hour and 9 GiB the first time; cached)
terraform-check:
	bash $(TF_DIR)/scripts/tofu-check.sh --full

## eks-up: create the VPC, EKS cluster, EBS CSI driver, ECR repository, IAM roles, budget and, with enable_rds, RDS (bills AWS; the first time needs BUDGET_EMAIL, EKS_API_CIDRS, ACM_CERTIFICATE_ARN)
eks-up:
	$(TF_RUN) init -input=false
	@set -e; $(tf_required_vars); set -x; \
	$(TF_RUN) apply $(TF_APPROVE) $(TF_UP_VARS) $(TF_REQUIRED_VARS)
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
	  --set "defaultTags.$$($(TF_OUTPUT) budget_tag | sed 's/=.*//')=$$($(TF_OUTPUT) budget_tag | sed 's/^[^=]*=//')" \
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

## eks-deploy: namespace with restricted Pod Security first, then the chart with values-eks.yaml (+ values-eks-rds.yaml), Terraform's helm_values and the ECR image
# The order is explicit (the seed's lesson): 1. the namespace, labelled for
# restricted Pod Security, before anything is created in it; 2. with RDS, the
# password Secret and the CA ConfigMap the chart reads; 3. the smoke receiver;
# 4. the release. Terraform's helm_values output carries what depends on the
# stack (certificate, VPC range, StorageClass or RDS URL), so a changed
# variable cannot leave the chart behind. The password is piped, never an argument.
eks-deploy:
	$(require_eks_context)
	kubectl create namespace $(VIGIL_NAMESPACE) --dry-run=client -o yaml | kubectl apply -f -
	kubectl label namespace $(VIGIL_NAMESPACE) --overwrite \
	  pod-security.kubernetes.io/enforce=restricted \
	  pod-security.kubernetes.io/enforce-version=latest \
	  pod-security.kubernetes.io/audit=restricted \
	  pod-security.kubernetes.io/warn=restricted
	@set -e; ecr="$$($(TF_OUTPUT) ecr_repository_url)"; region="$$($(TF_OUTPUT) region)"; \
	values="$$(mktemp)"; trap 'rm -f "$$values"' EXIT; $(TF_OUTPUT) helm_values >"$$values"; \
	rds=(); if [ -n "$$($(TF_OUTPUT) rds_address 2>/dev/null)" ]; then \
	  echo "RDS: the password from Secrets Manager into Secret vigil-db, the RDS CA bundle into ConfigMap vigil-db-ca"; \
	  aws secretsmanager get-secret-value --region "$$region" --secret-id "$$($(TF_OUTPUT) rds_password_secret_arn)" \
	    --query SecretString --output text | tr -d '\n' \
	    | kubectl create secret generic vigil-db -n $(VIGIL_NAMESPACE) --from-file=password=/dev/stdin --dry-run=client -o yaml \
	    | kubectl apply -f -; \
	  curl -fsS "https://truststore.pki.rds.amazonaws.com/$$region/$$region-bundle.pem" \
	    | kubectl create configmap vigil-db-ca -n $(VIGIL_NAMESPACE) --from-file=ca.pem=/dev/stdin --dry-run=client -o yaml \
	    | kubectl apply -f -; \
	  rds=(-f charts/vigil/values-eks-rds.yaml); fi; \
	receivers=(); if [ "$(SMOKE_RECEIVER)" = 1 ]; then \
	  SMOKE_NAMESPACE=$(SMOKE_NAMESPACE) SMOKE_RECEIVER_IMAGE="$$ecr:$(EKS_IMAGE_TAG)" tools/smoke.sh receiver; \
	  receivers=(--set-json "$$(SMOKE_NAMESPACE=$(SMOKE_NAMESPACE) tools/smoke.sh receiver-values)"); fi; \
	set -x; helm upgrade --install vigil charts/vigil -n $(VIGIL_NAMESPACE) --create-namespace \
	  -f charts/vigil/values.yaml -f charts/vigil/values-eks.yaml "$${rds[@]}" -f "$$values" \
	  --set image.repository="$$ecr" \
	  --set image.tag=$(EKS_IMAGE_TAG) \
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
	@set -e; $(tf_required_vars); set -x; \
	$(TF_RUN) destroy $(TF_APPROVE) $(TF_STATE_VARS) $(TF_REQUIRED_VARS)
	@echo "done. Check the AWS console as docs/eks-runbook.md says (Load balancers, EC2, VPC, ECR, CloudWatch log groups)."

.DEFAULT_GOAL := $(_TF_MK_DEFAULT_GOAL)
