#!/usr/bin/env bash
# Builds cyclonus (github.com/mattfenwick/cyclonus), an offline NetworkPolicy
# analyzer, from the Go module proxy into a cache outside git. The chart's
# tests feed it the rendered NetworkPolicies and a list of flows
# (`cyclonus analyze --mode query-traffic`) and compare its verdicts with the
# truth table in charts/tests. No prebuilt binary is downloaded: these machines
# can only reach package registries. Skips the build when the binary exists.
#
#   tools/build-netpol-analyzer.sh            # build if missing, print the binary's path
#   tools/build-netpol-analyzer.sh --check    # print the path; exit 1 when it is not built
set -euo pipefail

# v0.5.6 is the newest version the proxy serves (`go list -m -versions
# github.com/mattfenwick/cyclonus`); its go.mod says `go 1.22.0`, which any
# Go >= 1.22 builds.
CYCLONUS_VERSION="${CYCLONUS_VERSION:-v0.5.6}"
CACHE_DIR="${VIGIL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/vigil}"
BIN_DIR="$CACHE_DIR/tools/cyclonus-$CYCLONUS_VERSION/bin"
BIN="$BIN_DIR/cyclonus"

log() { printf '[build-netpol-analyzer] %s\n' "$*" >&2; }

if [[ "${1:-}" == "--check" ]]; then
  if [[ ! -x "$BIN" ]]; then
    log "cyclonus $CYCLONUS_VERSION is not built yet in $BIN_DIR. Run 'make netpol-analyzer' (tools/build-netpol-analyzer.sh) to build it from the Go module proxy."
    echo "$BIN"
    exit 1
  fi
  echo "$BIN"
  exit 0
fi

if [[ ! -x "$BIN" ]]; then
  command -v go >/dev/null || { log "Go is required (https://go.dev/doc/install, or apt-get install golang)"; exit 1; }
  mkdir -p "$BIN_DIR"
  log "building cyclonus $CYCLONUS_VERSION from the Go module proxy"
  # `go install pkg@version` builds the module with its own go.mod and go.sum
  # (it has no replace directives), so the dependency versions are the ones
  # cyclonus was released and tested with. nice: the machine is shared.
  GOFLAGS="${GOFLAGS:-} -buildvcs=false" CGO_ENABLED=0 GOBIN="$BIN_DIR.tmp" \
    nice -n 19 go install -trimpath -ldflags "-s -w" "github.com/mattfenwick/cyclonus/cmd/cyclonus@$CYCLONUS_VERSION"
  mv "$BIN_DIR.tmp/cyclonus" "$BIN"
  rmdir "$BIN_DIR.tmp"
fi
echo "$BIN"
