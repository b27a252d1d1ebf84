#!/usr/bin/env bash
# Builds OpenTofu (a Terraform-compatible engine, MPL-2.0) from its Go module,
# served by the Go module proxy, into a versioned cache directory. No tofu or
# terraform binary can be downloaded on the development machines or CI; the Go
# module proxy can be reached, and github.com/opentofu/opentofu is a Go module.
#
# Output (outside git): $CACHE/tofu-$TOFU_VERSION/tofu, printed on stdout's last line.
# `--check` exits 0 when that binary is there, 1 when not (builds nothing).
#
# Measured on the 2-core machine (docs/eks-runbook.md, "The checks"): about 11
# minutes cold at nice 10 with -p=1 beside other work; then cached.
set -euo pipefail

# The proxy serves v1.6.3 … v1.12.6 (`go list -m -versions github.com/opentofu/opentofu`).
TOFU_VERSION="${TOFU_VERSION:-v1.12.6}"
CACHE="${VIGIL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vigil}"
DIR="$CACHE/tofu-$TOFU_VERSION"
BIN="$DIR/tofu"

if [[ -x "$BIN" ]]; then
  echo "$BIN"
  exit 0
fi
if [[ "${1:-}" == --check ]]; then
  echo "tofu $TOFU_VERSION is not built: run terraform/scripts/build-tofu.sh" >&2
  exit 1
fi

command -v go >/dev/null || {
  echo "error: go is required to build OpenTofu $TOFU_VERSION (its go.mod names the Go version)" >&2
  exit 1
}

# OpenTofu's go.mod has a replace directive (its fork of hashicorp/hcl), which
# `go install module@version` refuses; so the module is downloaded and built in
# place, as its own main module, with the go.sum it ships.
echo "building OpenTofu $TOFU_VERSION from the Go module proxy into $DIR" >&2
mkdir -p "$CACHE"
# Outside any module, so that no enclosing go.mod has a say.
src="$(cd "$CACHE" && go mod download -json "github.com/opentofu/opentofu@$TOFU_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
[[ -d "$src" ]] || {
  echo "error: go mod download github.com/opentofu/opentofu@$TOFU_VERSION gave no source directory" >&2
  exit 1
}
mkdir -p "$DIR"
tmp="$(mktemp "$DIR/.tofu.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
# nice, and TF_BUILD_JOBS packages at a time (default: every core; set 1 on a
# shared machine). dev=no: a release
# build (no "-dev" suffix on the version). -s -w: smaller binary, cheaper link.
(cd "$src" && GOFLAGS="${GOFLAGS:-} -mod=readonly -p=${TF_BUILD_JOBS:-$(nproc)}" nice -n 10 \
  go build -trimpath -ldflags "-s -w -X github.com/opentofu/opentofu/version.dev=no" \
  -o "$tmp" ./cmd/tofu)
mv -f "$tmp" "$BIN"
trap - EXIT
echo "$BIN"
