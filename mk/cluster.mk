# Vigil on a Kubernetes cluster, from the same chart and image as EKS.
# Included from the root Makefile. Two kinds of local cluster (CLUSTER_KIND):
#
#   node (default)  a real single-node cluster on this machine, no Docker:
#                   tools/local-node.sh (kubelet, containerd, kube-proxy,
#                   kube-router, CoreDNS, all built from the package registries).
#                   Needs root and Go; installs the Debian packages it needs.
#   k3d             the seed's path; needs Docker, k3d, kubectl and helm.
#
#   make cluster-up    start the cluster (node: its ingress controller later serves the status page on localhost:HOST_PORT)
#   make build         build the image (node: buildah, no Docker) and import it into the cluster
#   make deploy        namespace with restricted Pod Security, then helm upgrade --install
#   make smoke         the 10-step verification (tools/smoke.sh)
#   make undeploy      helm uninstall + delete the namespaces
#   make cluster-down  remove the cluster (node: everything it made, then verified)

CLUSTER_KIND     ?= node
CLUSTER          ?= vigil
HOST_PORT        ?= 8080
NAMESPACE        ?= vigil
RELEASE          ?= vigil
IMAGE_REPOSITORY ?= vigil
IMAGE_TAG        ?= dev
K3D              ?= k3d
DOCKER           ?= docker
CHART            ?= charts/vigil
# Extra `helm upgrade` arguments, e.g. HELM_EXTRA_ARGS='-f ~/vigil-receivers.yaml'.
HELM_EXTRA_ARGS  ?=
# Where `make smoke` reaches the api (the ingress or the node's NodePort); any base URL works.
SMOKE_URL        ?= http://localhost:$(HOST_PORT)
# 1: `make deploy` also runs the smoke test's webhook receiver in namespace
# $(SMOKE_NAMESPACE) and lists it as a receiver, so `make smoke` sees a webhook.
SMOKE_RECEIVER   ?= 1
SMOKE_NAMESPACE  ?= vigil-smoke

ifeq ($(CLUSTER_KIND),node)
# The node's kubeconfig and the control plane's kubectl/helm (built by make control-plane).
NODE_KUBECONFIG  := $(or $(VIGIL_NODE_DIR),/var/lib/vigil-node)/kubeconfig
CP_BIN            = $(shell tools/build-control-plane.sh --check 2>/dev/null)
# Only the targets that talk to the node's API server get its kubeconfig: exported
# for every target, it would send the other suites' in-cluster clients there too.
deploy smoke undeploy: export KUBECONFIG := $(NODE_KUBECONFIG)
KUBECTL          ?= $(CP_BIN)/kubectl
HELM             ?= $(CP_BIN)/helm
IMAGE_ARCHIVE    ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/vigil/images/$(IMAGE_REPOSITORY)-$(IMAGE_TAG).tar
POSTGRES_ARCHIVE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/vigil/images/postgres-18.tar
# The node's own values: local images; the Ingress (class traefik) as the chart
# renders it by default, served by the node's Traefik on 127.0.0.1:HOST_PORT. The
# API server exception keeps the chart's default ranges (the node's API server is 10.88.0.1).
DEPLOY_VALUES    := -f $(CHART)/ci/local-node-values.yaml
# The smoke test's checked site: an in-cluster stand-in (nothing leaves the machine).
SMOKE_UP_URL     ?= http://web.demo:8080/
export SMOKE_UP_URL
else
KUBECTL          ?= kubectl
HELM             ?= helm
DEPLOY_VALUES    := --set image.repository=$(IMAGE_REPOSITORY) --set image.tag=$(IMAGE_TAG) --set "networkPolicy.kubeApiServer.cidrs={$$apiserver}"
endif

.PHONY: cluster-up
cluster-up: ## Start the local cluster (CLUSTER_KIND=node: a real node here, no Docker; k3d: the seed's)
ifeq ($(CLUSTER_KIND),node)
	HOST_PORT=$(HOST_PORT) tools/local-node.sh up
else
	@if $(K3D) cluster get $(CLUSTER) >/dev/null 2>&1; then echo "k3d cluster $(CLUSTER) exists"; else \
	  $(K3D) cluster create $(CLUSTER) --agents 1 --port "$(HOST_PORT):80@loadbalancer" --wait; fi
	$(KUBECTL) config use-context k3d-$(CLUSTER)
	$(KUBECTL) wait --for=condition=Ready nodes --all --timeout=120s
endif

.PHONY: build
build: ## Build the image from the Dockerfile and import it into the cluster (node: buildah, no Docker)
ifeq ($(CLUSTER_KIND),node)
	$(MAKE) --no-print-directory compile
	tools/build-image.sh vigil $(IMAGE_REPOSITORY):$(IMAGE_TAG) $(IMAGE_ARCHIVE)
	@[ -f $(POSTGRES_ARCHIVE) ] || tools/build-image.sh postgres localhost/vigil/postgres:18 $(POSTGRES_ARCHIVE)
	tools/local-node.sh import $(IMAGE_ARCHIVE)
	tools/local-node.sh import $(POSTGRES_ARCHIVE)
else
	$(DOCKER) build -t $(IMAGE_REPOSITORY):$(IMAGE_TAG) .
	$(K3D) image import $(IMAGE_REPOSITORY):$(IMAGE_TAG) --cluster $(CLUSTER)
endif

# The order is explicit (the seed's lesson: `kubectl apply -f dir/` raced the
# namespace). 1. the namespace, labelled for restricted Pod Security, before
# anything is created in it; 2. the smoke receiver (and, on the node, the
# checked site web.demo); 3. the release.
.PHONY: deploy
deploy: ## Namespace with restricted Pod Security labels, then helm upgrade --install
	$(KUBECTL) create namespace $(NAMESPACE) --dry-run=client -o yaml | $(KUBECTL) apply -f -
	$(KUBECTL) label namespace $(NAMESPACE) --overwrite \
	  pod-security.kubernetes.io/enforce=restricted pod-security.kubernetes.io/enforce-version=latest \
	  pod-security.kubernetes.io/audit=restricted pod-security.kubernetes.io/warn=restricted
	@if [ "$(SMOKE_RECEIVER)" = 1 ]; then \
	  SMOKE_NAMESPACE=$(SMOKE_NAMESPACE) SMOKE_RECEIVER_IMAGE=$(IMAGE_REPOSITORY):$(IMAGE_TAG) KUBECTL=$(KUBECTL) tools/smoke.sh receiver; fi
	@if [ "$(CLUSTER_KIND)" = node ]; then SMOKE_RECEIVER_IMAGE=$(IMAGE_REPOSITORY):$(IMAGE_TAG) KUBECTL=$(KUBECTL) tools/smoke.sh target; fi
	@apiserver=$$($(KUBECTL) get endpointslices -n default -l kubernetes.io/service-name=kubernetes \
	    -o jsonpath='{range .items[*].endpoints[*].addresses[*]}{@}{"\n"}{end}' \
	  | awk 'NF { print ($$0 ~ /:/) ? $$0 "/128" : $$0 "/32" }' | sort -u | paste -sd, -); \
	[ -n "$$apiserver" ] || { echo "no endpoints for the kubernetes Service"; exit 1; }; \
	receivers=(); if [ "$(SMOKE_RECEIVER)" = 1 ]; then receivers=(--set-json "$$(tools/smoke.sh receiver-values)"); fi; \
	set -x; $(HELM) upgrade --install $(RELEASE) $(CHART) --namespace $(NAMESPACE) \
	  $(DEPLOY_VALUES) "$${receivers[@]}" --wait --timeout 5m $(HELM_EXTRA_ARGS)

.PHONY: smoke
smoke: ## The 10-step verification against SMOKE_URL, any kubeconfig (also the make dev stack)
	SMOKE_URL=$(SMOKE_URL) NAMESPACE=$(NAMESPACE) RELEASE=$(RELEASE) SMOKE_NAMESPACE=$(SMOKE_NAMESPACE) KUBECTL=$(KUBECTL) tools/smoke.sh

.PHONY: undeploy
undeploy: ## helm uninstall, then delete the namespaces (nothing waits on Vigil: no finalizers)
	$(HELM) uninstall $(RELEASE) --namespace $(NAMESPACE) --wait --ignore-not-found
	$(KUBECTL) delete namespace $(NAMESPACE) $(SMOKE_NAMESPACE) --ignore-not-found --wait --timeout=120s

.PHONY: cluster-down
cluster-down: ## Remove the local cluster (node: every process, mount, netns, bridge, iptables rule, cgroup, sysctl; then verified)
ifeq ($(CLUSTER_KIND),node)
	tools/local-node.sh down
	tools/local-node.sh verify
else
	$(K3D) cluster delete $(CLUSTER)
endif

.PHONY: netpol-analyzer
netpol-analyzer: ## Build cyclonus, the offline NetworkPolicy analyzer the chart tests use (Go module proxy, cached)
	tools/build-netpol-analyzer.sh
