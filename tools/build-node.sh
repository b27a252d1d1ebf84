#!/usr/bin/env bash
# Builds the node's binaries — kubelet, kube-proxy, kube-scheduler, containerd
# (+ its runc shim and ctr), kube-router (NetworkPolicy only), a trimmed CoreDNS
# and a tiny pause program — from the Go module proxy into a cache beside the
# control plane's. Nothing is downloaded prebuilt. Skips whatever is built.
#
#   tools/build-node.sh            # build what is missing, print the bin dir
#   tools/build-node.sh --check    # print the bin dir; exit 1 naming what is missing
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
BINARIES=(kubelet kube-proxy kube-scheduler containerd containerd-shim-runc-v2 ctr kube-router coredns traefik pause)

KUBE_VERSION="${KUBE_VERSION:-v1.37.2}"
CONTAINERD_VERSION="${CONTAINERD_VERSION:-v2.4.2}"
KUBE_ROUTER_VERSION="${KUBE_ROUTER_VERSION:-v2.1.0}"
COREDNS_VERSION="${COREDNS_VERSION:-v1.15.0}"
# v3.7 needs a nested module (traefik/dynamic/ext) that the module zip leaves out; v3.6 is whole.
TRAEFIK_VERSION="${TRAEFIK_VERSION:-v3.6.12}"
CACHE_DIR="${VIGIL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vigil}"
# Bump when the build itself changes, so caches built the old way are not reused.
BUILD_REVISION=1
BIN_DIR="$CACHE_DIR/node/kube-$KUBE_VERSION-containerd-$CONTAINERD_VERSION-kube-router-$KUBE_ROUTER_VERSION-coredns-$COREDNS_VERSION-traefik-$TRAEFIK_VERSION-r$BUILD_REVISION/bin"
SRC_DIR="$CACHE_DIR/node/src"
# kubelet & co. build in the control plane's wrapper module: same pins, and its
# compiled packages are reused from the Go build cache.
KUBE_SRC_DIR="$CACHE_DIR/control-plane/src/kubernetes-$KUBE_VERSION"

log() { printf '[build-node] %s\n' "$*" >&2; }

missing() {
  local b m=()
  for b in "${BINARIES[@]}"; do [[ -x "$BIN_DIR/$b" ]] || m+=("$b"); done
  echo "${m[*]}"
}

if [[ "${1:-}" == "--check" ]]; then
  m="$(missing)"
  echo "$BIN_DIR"
  [[ -z "$m" ]] || { log "not built yet in $BIN_DIR: $m. Run 'tools/build-node.sh' (make cluster-up does)."; exit 1; }
  exit 0
fi

command -v go >/dev/null || { log "Go is required (https://go.dev/doc/install, or apt-get install golang)"; exit 1; }
[[ -z "$(missing)" ]] && { echo "$BIN_DIR"; exit 0; }
mkdir -p "$BIN_DIR" "$SRC_DIR"
export GOFLAGS="${GOFLAGS:-} -mod=mod"
export CGO_ENABLED=0
NICE=(nice -n "${BUILD_NICE:-10}")

# Go builds to "$BIN_DIR/$name.tmp" then renames, so an interrupted build never
# leaves a binary that --check would accept.
gobuild() { # dir name pkg [ldflags]
  local dir=$1 name=$2 pkg=$3 ldflags=${4:--s -w}
  [[ -x "$BIN_DIR/$name" ]] && return
  log "building $name ($pkg)"
  (cd "$dir" && "${NICE[@]}" go build -trimpath -ldflags "$ldflags" -o "$BIN_DIR/$name.tmp" "$pkg")
  mv "$BIN_DIR/$name.tmp" "$BIN_DIR/$name"
}

# A wrapper module requiring $2@$3 (go.mod once; main.go or tools.go written by the caller).
wrapper_module() { # dir module-path require version
  local dir=$1
  mkdir -p "$dir"
  [[ -f "$dir/go.mod" ]] || printf 'module %s\n\ngo 1.26.0\n\nrequire %s %s\n' "$2" "$3" "$4" > "$dir/go.mod"
}

build_kube() {
  "$HERE/build-control-plane.sh" --check >/dev/null || { log "build the control plane first (make control-plane): kubelet & co. share its module"; exit 1; }
  local major minor ldflags="-s -w" pkg
  major="$(cut -d. -f1 <<<"${KUBE_VERSION#v}")"; minor="$(cut -d. -f2 <<<"${KUBE_VERSION#v}")"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  for cmd in kubelet kube-proxy kube-scheduler; do
    gobuild "$KUBE_SRC_DIR" "$cmd" "k8s.io/kubernetes/cmd/$cmd" "$ldflags"
  done
}

build_containerd() {
  local b missing_any=0
  for b in containerd containerd-shim-runc-v2 ctr; do [[ -x "$BIN_DIR/$b" ]] || missing_any=1; done
  ((missing_any)) || return 0
  log "building containerd $CONTAINERD_VERSION"
  local tmp="$BIN_DIR/.containerd.tmp"
  rm -rf "$tmp"; mkdir -p "$tmp"
  GOBIN="$tmp" GOFLAGS= "${NICE[@]}" go install -trimpath -ldflags "-s -w -X github.com/containerd/containerd/v2/version.Version=$CONTAINERD_VERSION" \
    -tags "no_btrfs no_devmapper no_zfs urfave_cli_no_docs" \
    "github.com/containerd/containerd/v2/cmd/containerd@$CONTAINERD_VERSION" \
    "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2@$CONTAINERD_VERSION" \
    "github.com/containerd/containerd/v2/cmd/ctr@$CONTAINERD_VERSION"
  for b in containerd containerd-shim-runc-v2 ctr; do mv "$tmp/$b" "$BIN_DIR/$b"; done
  rmdir "$tmp"
}

build_kube_router() {
  [[ -x "$BIN_DIR/kube-router" ]] && return
  local dir="$SRC_DIR/kube-router-$KUBE_ROUTER_VERSION"
  wrapper_module "$dir" vigil.dev/tools/kube-router github.com/cloudnativelabs/kube-router/v2 "$KUBE_ROUTER_VERSION"
  printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/cloudnativelabs/kube-router/v2/cmd/kube-router"\n' > "$dir/tools.go"
  [[ -f "$dir/go.sum" ]] || (cd "$dir" && go mod tidy)
  gobuild "$dir" kube-router github.com/cloudnativelabs/kube-router/v2/cmd/kube-router \
    "-s -w -X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=$KUBE_ROUTER_VERSION"
}

# CoreDNS with only the plugins the node uses. No forward plugin on purpose:
# names outside the cluster answer NXDOMAIN, so nothing leaves the machine.
build_coredns() {
  [[ -x "$BIN_DIR/coredns" ]] && return
  local dir="$SRC_DIR/coredns-$COREDNS_VERSION"
  wrapper_module "$dir" vigil.dev/tools/coredns github.com/coredns/coredns "$COREDNS_VERSION"
  cat > "$dir/main.go" <<'GO'
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/template"
)

// The order plugins run in, as in CoreDNS's plugin.cfg, trimmed to the above:
// template last, so it only answers what kubernetes passes on.
func init() {
	dnsserver.Directives = []string{"errors", "log", "health", "ready", "cache", "kubernetes", "template"}
}

func main() { coremain.Run() }
GO
  [[ -f "$dir/go.sum" ]] || (cd "$dir" && go mod tidy)
  gobuild "$dir" coredns .
}

# The sandbox ("pause") image's program: sleeps until SIGTERM/SIGINT.
# The ingress controller: Traefik's Kubernetes Ingress provider serves the
# chart's Ingress (class traefik, as on k3s) on the node's 127.0.0.1:HOST_PORT.
build_traefik() {
  [[ -x "$BIN_DIR/traefik" ]] && return
  local dir="$SRC_DIR/traefik-$TRAEFIK_VERSION"
  wrapper_module "$dir" vigil.dev/tools/traefik github.com/traefik/traefik/v3 "$TRAEFIK_VERSION"
  # Traefik's own go.mod swaps in its forks; a replace only counts in the main module.
  grep -q '^replace' "$dir/go.mod" || cat >> "$dir/go.mod" <<'MOD'

replace (
	github.com/abbot/go-http-auth => github.com/containous/go-http-auth v0.4.1-0.20200324110947-a37a7636d23e
	github.com/gorilla/mux => github.com/containous/mux v0.0.0-20250523120546-41b6ec3aed59
	github.com/mailgun/minheap => github.com/containous/minheap v0.0.0-20190809180810-6e71eb837595
)
MOD
  printf '//go:build tools\n\npackage tools\n\nimport _ "github.com/traefik/traefik/v3/cmd/traefik"\n' > "$dir/tools.go"
  [[ -f "$dir/go.sum" ]] || (cd "$dir" && go mod tidy)
  gobuild "$dir" traefik github.com/traefik/traefik/v3/cmd/traefik \
    "-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=$TRAEFIK_VERSION"
}

build_pause() {
  [[ -x "$BIN_DIR/pause" ]] && return
  local dir="$SRC_DIR/pause"
  mkdir -p "$dir"
  printf 'module vigil.dev/tools/pause\n\ngo 1.26.0\n' > "$dir/go.mod"
  cat > "$dir/main.go" <<'GO'
// pause holds a pod's namespaces open until it is told to stop.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	<-stop
}
GO
  gobuild "$dir" pause .
}

build_pause
build_containerd
build_coredns
build_kube_router
build_traefik
build_kube
echo "$BIN_DIR"
