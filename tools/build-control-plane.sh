#!/usr/bin/env bash
# Builds the real Kubernetes control-plane binaries (etcd, kube-apiserver,
# kube-controller-manager, kubectl) and helm from the Go module proxy into a
# cache outside git. No prebuilt binary is downloaded: these machines can only
# reach package registries. Skips whatever is already built.
#
#   tools/build-control-plane.sh            # build what is missing, print the bin dir
#   tools/build-control-plane.sh --check    # print the bin dir; exit 1 naming what is missing
#   KUBEBUILDER_ASSETS=/dir tools/...       # use those binaries instead (envtest's convention)
set -euo pipefail
BINARIES=(etcd kube-apiserver kube-controller-manager kubectl helm)

KUBE_VERSION="${KUBE_VERSION:-v1.37.2}"      # go.mod says go 1.26.0: the machine's Go builds it
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
HELM_VERSION="${HELM_VERSION:-v3.22.0}"
CACHE_DIR="${VIGIL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vigil}"
# Bump when the build itself changes (flags), so caches built the old way are not reused.
BUILD_REVISION=2
BIN_DIR="$CACHE_DIR/control-plane/kube-$KUBE_VERSION-etcd-$ETCD_VERSION-helm-$HELM_VERSION-r$BUILD_REVISION/bin"
SRC_DIR="$CACHE_DIR/control-plane/src"

log() { printf '[build-control-plane] %s\n' "$*" >&2; }

missing_in() {
  local dir=$1 b missing=()
  for b in "${BINARIES[@]}"; do [[ -x "$dir/$b" ]] || missing+=("$b"); done
  echo "${missing[*]}"
}

if [[ -n "${KUBEBUILDER_ASSETS:-}" ]]; then
  missing="$(missing_in "$KUBEBUILDER_ASSETS")"
  [[ -z "$missing" ]] || { log "KUBEBUILDER_ASSETS=$KUBEBUILDER_ASSETS lacks: $missing"; exit 1; }
  echo "$KUBEBUILDER_ASSETS"
  exit 0
fi

if [[ "${1:-}" == "--check" ]]; then
  missing="$(missing_in "$BIN_DIR")"
  if [[ -n "$missing" ]]; then
    log "not built yet in $BIN_DIR: $missing. Run 'make control-plane' (tools/build-control-plane.sh) to build them from the Go module proxy."
    echo "$BIN_DIR"
    exit 1
  fi
  echo "$BIN_DIR"
  exit 0
fi

command -v go >/dev/null || { log "Go is required (https://go.dev/doc/install, or apt-get install golang)"; exit 1; }
mkdir -p "$BIN_DIR" "$SRC_DIR"
export GOFLAGS="${GOFLAGS:-} -mod=mod"
export CGO_ENABLED=0
# The cache keeps the module downloads and compiled packages between runs.

staging_modules=(api apiextensions-apiserver apimachinery apiserver cli-runtime client-go cloud-provider
  cluster-bootstrap code-generator component-base component-helpers controller-manager cri-api cri-client
  cri-streaming csi-translation-lib dynamic-resource-allocation endpointslice externaljwt kms kube-aggregator
  kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics mount-utils pod-security-admission
  sample-apiserver sample-cli-plugin sample-controller streaming)

build_kubernetes() {
  local dir="$SRC_DIR/kubernetes-$KUBE_VERSION"
  local staging="v0.${KUBE_VERSION#v1.}"
  mkdir -p "$dir"
  if [[ ! -f "$dir/go.sum" ]]; then
    log "resolving k8s.io/kubernetes $KUBE_VERSION (staging modules $staging)"
    {
      echo "module vigil.dev/tools/kubernetes"
      echo
      echo "go 1.26.0"
      echo
      echo "require k8s.io/kubernetes $KUBE_VERSION"
      echo
      # k8s.io/kubernetes points its staging modules at ./staging; outside its own
      # repository they must be pinned to the published tags of the same release.
      for m in "${staging_modules[@]}"; do echo "replace k8s.io/$m => k8s.io/$m $staging"; done
    } > "$dir/go.mod"
    cat > "$dir/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
    (cd "$dir" && go mod tidy)
  fi
  local major minor
  major="${KUBE_VERSION#v}"; major="${major%%.*}"
  minor="$(cut -d. -f2 <<<"${KUBE_VERSION#v}")"
  local ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$KUBE_VERSION -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done
  for cmd in kube-apiserver kube-controller-manager kubectl; do
    if [[ ! -x "$BIN_DIR/$cmd" ]]; then
      log "building $cmd $KUBE_VERSION"
      (cd "$dir" && go build -trimpath -ldflags "$ldflags" -o "$BIN_DIR/$cmd.tmp" "k8s.io/kubernetes/cmd/$cmd")
      mv "$BIN_DIR/$cmd.tmp" "$BIN_DIR/$cmd"
    fi
  done
}

build_etcd() {
  [[ -x "$BIN_DIR/etcd" ]] && return
  local dir="$SRC_DIR/etcd-$ETCD_VERSION"
  mkdir -p "$dir"
  log "building etcd $ETCD_VERSION"
  # etcd's own main lives in a module that is not meant to be required; this
  # wrapper calls the same entry point from the published server module.
  cat > "$dir/main.go" <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
  if [[ ! -f "$dir/go.sum" ]]; then
    printf 'module vigil.dev/tools/etcd\n\ngo 1.26.0\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" > "$dir/go.mod"
    (cd "$dir" && go mod tidy)
  fi
  (cd "$dir" && go build -trimpath -ldflags "-s -w" -o "$BIN_DIR/etcd.tmp" .)
  mv "$BIN_DIR/etcd.tmp" "$BIN_DIR/etcd"
}

build_helm() {
  [[ -x "$BIN_DIR/helm" ]] && return
  local dir="$SRC_DIR/helm-$HELM_VERSION"
  mkdir -p "$dir"
  log "building helm $HELM_VERSION"
  if [[ ! -f "$dir/go.sum" ]]; then
    printf 'module vigil.dev/tools/helm\n\ngo 1.26.0\n\nrequire helm.sh/helm/v3 %s\n' "$HELM_VERSION" > "$dir/go.mod"
    printf '//go:build tools\n\npackage tools\n\nimport _ "helm.sh/helm/v3/cmd/helm"\n' > "$dir/tools.go"
    (cd "$dir" && go mod tidy)
  fi
  # Without these, helm assumes Kubernetes 1.20 when it renders offline
  # (`helm template`, `helm lint`), and charts needing a newer one fail.
  local kube_major kube_minor ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
  kube_major="$(cut -d. -f1 <<<"${KUBE_VERSION#v}")"
  kube_minor="$(cut -d. -f2 <<<"${KUBE_VERSION#v}")"
  for pkg in helm.sh/helm/v3/pkg/chartutil helm.sh/helm/v3/pkg/lint/rules; do
    ldflags+=" -X $pkg.k8sVersionMajor=$kube_major -X $pkg.k8sVersionMinor=$kube_minor"
  done
  (cd "$dir" && go build -trimpath -ldflags "$ldflags" -o "$BIN_DIR/helm.tmp" helm.sh/helm/v3/cmd/helm)
  mv "$BIN_DIR/helm.tmp" "$BIN_DIR/helm"
}

build_etcd
build_kubernetes
build_helm
echo "$BIN_DIR"
