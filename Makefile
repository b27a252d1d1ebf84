# Vigil — the two commands: `make test` and `make dev`. Everything they need is
# installed by the targets below; nothing is expected on the machine beyond
# Go, npm (any Node) and openssl.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# The project brings its own Node 24 (the `node` npm package): every Node
# command below runs on it, whatever Node the machine has.
export PATH := $(CURDIR)/node_modules/.bin:$(PATH)
export NX_DAEMON := false
export NX_NO_CLOUD := true
export NX_TUI := false
NX := nx

.PHONY: help
help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  make %-18s %s\n", $$1, $$2}'
	@grep -hE '^## [a-zA-Z_-]+: ' $(MAKEFILE_LIST) | sed -E 's/^## ([a-zA-Z_-]+): /\1\t/' | awk -F'\t' '{printf "  make %-18s %s\n", $$1, $$2}'

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $@

.PHONY: deps
deps: node_modules/.package-lock.json ## Install npm dependencies and the project's Node 24
	@node --version | grep -q '^v24\.' || { echo "node_modules/.bin/node is not Node 24: run 'rm -rf node_modules && make deps'"; exit 1; }

.PHONY: control-plane
control-plane: ## Build etcd, kube-apiserver, kube-controller-manager, kubectl and helm from the Go module proxy (cached)
	tools/build-control-plane.sh

.PHONY: chromium
chromium: ## Install Debian's Chromium for the browser tests (apt-get, only when missing)
	tools/ensure-chromium.sh

.PHONY: compile
compile: deps ## Compile every project to dist/ (SWC)
	$(NX) run-many -t build

.PHONY: lint
lint: deps ## ESLint, with Nx module boundaries enforced
	@# The boundaries rule reads Nx's cached project graph and silently skips
	@# itself without one (a fresh clone): compute the graph first.
	$(NX) show projects > /dev/null
	eslint .

.PHONY: typecheck
typecheck: deps ## TypeScript type-check of the whole workspace
	tsc -p tsconfig.json --noEmit

.PHONY: test-unit
test-unit: deps ## Unit suites (*.spec.ts)
	$(NX) run-many -t test --outputStyle=static

.PHONY: test-integration
test-integration: deps control-plane netpol-analyzer chromium ## Integration suites (*.int-spec.ts) on real Postgres and a real API server
	$(NX) run-many -t test:integration --parallel=1 --outputStyle=static

.PHONY: test-e2e
test-e2e: deps control-plane chromium ## Whole-system suites (e2e/): the four services together on real parts
	$(NX) run e2e:test:e2e --outputStyle=static

# The real-node suite: a local node (tools/local-node.sh), the image built and
# imported without Docker, e2e/src/node against it; the node is always removed
# afterwards, and `cluster-down` fails if it left anything behind. A node left
# by an interrupted run is removed first (one node per machine).
.PHONY: test-node
test-node: deps control-plane ## Real-node suite (e2e/src/node): cluster-up, build, the suite, then cluster-down (always)
	@[ ! -d $(or $(VIGIL_NODE_DIR),/var/lib/vigil-node) ] || tools/local-node.sh down
	@trap 'rc=$$?; $(MAKE) --no-print-directory CLUSTER_KIND=node cluster-down || rc=1; exit $$rc' EXIT; trap 'exit 130' INT TERM; \
	$(MAKE) --no-print-directory CLUSTER_KIND=node cluster-up build; \
	$(NX) run e2e:test:node --outputStyle=static

.PHONY: test
test: deps control-plane ## Everything CI runs: lint, type-check, unit, integration, e2e and real-node suites, the Terraform static test
	@rm -rf test-artifacts/jest
	@tools/prebuild.sh start test-artifacts/prebuild
	@trap 'tools/prebuild.sh stop test-artifacts/prebuild' EXIT; \
	$(MAKE) --no-print-directory lint typecheck test-unit test-integration test-e2e; \
	tools/prebuild.sh wait test-artifacts/prebuild; \
	$(MAKE) --no-print-directory test-node terraform-test
	@node tools/test-summary.js

.PHONY: dev
dev: deps control-plane compile ## The whole system locally: status page on http://localhost:8080, kubectl via the printed KUBECONFIG
	node tools/dev.ts

.PHONY: db-migrate
db-migrate: deps ## Apply migrations to the database in DATABASE_URL
	$(NX) run db:db:migrate

# Benchmarks are not tests: run them alone on a quiet machine. Each runs its
# scenario three times and writes bench/results/; the last step copies those
# into docs/BENCHMARKS.md. One benchmark: the command in its section there.
BENCHMARKS := bench/prober/run.ts bench/alerter/bench.ts bench/watcher/reconcile.ts bench/api/bench.ts bench/kubernetes/load.ts bench/side-by-side/run.ts

.PHONY: bench
bench: deps control-plane compile ## Every benchmark, one after another (about an hour), then docs/BENCHMARKS.md
	@for b in $(BENCHMARKS); do echo "== node $$b"; node $$b; done
	node bench/publish.ts

include mk/cluster.mk
include terraform/terraform.mk

.PHONY: clean
clean: ## Remove build outputs and Nx cache (not the control-plane binaries)
	rm -rf libs/*/dist services/*/dist .nx test-artifacts
