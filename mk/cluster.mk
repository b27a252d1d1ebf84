# The seed's local path: Vigil on a k3d cluster, from the same chart and image
# as EKS. Included from the root Makefile. Needs Docker, k3d, kubectl and helm
# on the machine (none of which `make test` needs).
#
#   make cluster-up    k3d cluster, its ingress (traefik) on localhost:8080
#   make build         docker build + import the image into the cluster
#   make deploy        namespace with restricted Pod Security, then helm upgrade --install
#   make smoke         the 10-step verification (tools/smoke.sh)
#   make undeploy      helm uninstall + delete the namespace
#   make cluster-down  delete the cluster

CLUSTER          ?= vigil
HOST_PORT        ?= 8080
NAMESPACE        ?= vigil
RELEASE          ?= vigil
IMAGE_REPOSITORY ?= vigil
IMAGE_TAG        ?= dev
KUBECTL          ?= kubectl
HELM             ?= helm
K3D              ?= k3d
DOCKER           ?= docker
CHART            ?= charts/vigil
# Extra `helm upgrade` arguments, e.g. HELM_EXTRA_ARGS='-f ~/vigil-receivers.yaml'.
HELM_EXTRA_ARGS  ?=
# Where `make smoke` reaches the api (the ingress); any base URL works.
SMOKE_URL        ?= http://localhost:$(HOST_PORT)
# 1: `make deploy` also runs the smoke test's webhook receiver in namespace
# $(SMOKE_NAMESPACE) and lists it as a receiver, so `make smoke` sees a webhook.
SMOKE_RECEIVER   ?= 1
SMOKE_NAMESPACE  ?= vigil-smoke

.PHONY: cluster-up
cluster-up: ## k3d cluster (CLUSTER) with its ingress on localhost (HOST_PORT, default 8080)
	@if $(K3D) cluster get $(CLUSTER) >/dev/null 2>&1; then echo "k3d cluster $(CLUSTER) exists"; else \
	  $(K3D) cluster create $(CLUSTER) --agents 1 --port "$(HOST_PORT):80@loadbalancer" --wait; fi
	$(KUBECTL) config use-context k3d-$(CLUSTER)
	$(KUBECTL) wait --for=condition=Ready nodes --all --timeout=120s

.PHONY: build
build: ## docker build the image and import it into the k3d cluster
	$(DOCKER) build -t $(IMAGE_REPOSITORY):$(IMAGE_TAG) .
	$(K3D) image import $(IMAGE_REPOSITORY):$(IMAGE_TAG) --cluster $(CLUSTER)

# The order is explicit (the seed's lesson: `kubectl apply -f dir/` raced the
# namespace). 1. the namespace, labelled for restricted Pod Security, before
# anything is created in it; 2. the smoke receiver; 3. the release, with the
# NetworkPolicy narrowed to this cluster's API server endpoints.
.PHONY: deploy
deploy: ## Namespace with restricted Pod Security labels, then helm upgrade --install
	$(KUBECTL) create namespace $(NAMESPACE) --dry-run=client -o yaml | $(KUBECTL) apply -f -
	$(KUBECTL) label namespace $(NAMESPACE) --overwrite \
	  pod-security.kubernetes.io/enforce=restricted pod-security.kubernetes.io/enforce-version=latest \
	  pod-security.kubernetes.io/audit=restricted pod-security.kubernetes.io/warn=restricted
	@if [ "$(SMOKE_RECEIVER)" = 1 ]; then \
	  SMOKE_NAMESPACE=$(SMOKE_NAMESPACE) SMOKE_RECEIVER_IMAGE=$(IMAGE_REPOSITORY):$(IMAGE_TAG) KUBECTL=$(KUBECTL) tools/smoke.sh receiver; fi
	@apiserver=$$($(KUBECTL) get endpointslices -n default -l kubernetes.io/service-name=kubernetes \
	    -o jsonpath='{range .items[*].endpoints[*].addresses[*]}{@}{"\n"}{end}' \
	  | awk 'NF { print ($$0 ~ /:/) ? $$0 "/128" : $$0 "/32" }' | sort -u | paste -sd, -); \
	[ -n "$$apiserver" ] || { echo "no endpoints for the kubernetes Service"; exit 1; }; \
	receivers=(); if [ "$(SMOKE_RECEIVER)" = 1 ]; then receivers=(--set-json "$$(tools/smoke.sh receiver-values)"); fi; \
	set -x; $(HELM) upgrade --install $(RELEASE) $(CHART) --namespace $(NAMESPACE) \
	  --set image.repository=$(IMAGE_REPOSITORY) --set image.tag=$(IMAGE_TAG) \
	  --set "networkPolicy.kubeApiServer.cidrs={$$apiserver}" \
	  "$${receivers[@]}" --wait --timeout 5m $(HELM_EXTRA_ARGS)

.PHONY: smoke
smoke: ## The 10-step verification against SMOKE_URL, any kubeconfig (also the make dev stack)
	SMOKE_URL=$(SMOKE_URL) NAMESPACE=$(NAMESPACE) RELEASE=$(RELEASE) SMOKE_NAMESPACE=$(SMOKE_NAMESPACE) KUBECTL=$(KUBECTL) tools/smoke.sh

.PHONY: undeploy
undeploy: ## helm uninstall, then delete the namespaces (nothing waits on Vigil: no finalizers)
	$(HELM) uninstall $(RELEASE) --namespace $(NAMESPACE) --wait --ignore-not-found
	$(KUBECTL) delete namespace $(NAMESPACE) $(SMOKE_NAMESPACE) --ignore-not-found --wait --timeout=120s

.PHONY: cluster-down
cluster-down: ## Delete the k3d cluster
	$(K3D) cluster delete $(CLUSTER)

.PHONY: netpol-analyzer
netpol-analyzer: ## Build cyclonus, the offline NetworkPolicy analyzer the chart tests use (Go module proxy, cached)
	tools/build-netpol-analyzer.sh
