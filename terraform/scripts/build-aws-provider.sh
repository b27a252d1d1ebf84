#!/usr/bin/env bash
# Builds the hashicorp/aws Terraform provider from its Go module source (served
# by the Go module proxy) into a local Terraform filesystem mirror, and writes a
# Terraform CLI config that installs the provider from that mirror only.
#
# Why: registry.terraform.io cannot be reached from the development machines or
# CI, but the Go module proxy can, and terraform-provider-aws is a Go module.
#
# Output (outside git):
#   $CACHE/mirror/registry.terraform.io/hashicorp/aws/$PROVIDER_VERSION/<os>_<arch>/terraform-provider-aws_v$PROVIDER_VERSION
#   $CACHE/terraformrc        (use with TF_CLI_CONFIG_FILE=$CACHE/terraformrc)
#
# The build is slow and heavy (see docs/eks-runbook.md for measured time and
# memory); it runs at the lowest CPU priority, one package at a time, and is
# skipped when the binary for the same module version is already in the mirror.
set -euo pipefail

# The Go module proxy serves terraform-provider-aws only as v1.60.0 (2019) and as
# pseudo-versions of commits on main: the provider's go.mod has no /v6 suffix, so
# its v6.x tags are not valid Go module versions. This pseudo-version is main at
# 2026-06-02 (5f2286d6d836): CHANGELOG.md there reads "6.48.0 (Unreleased)", i.e.
# 6.47.0 plus unreleased changes. Its go.mod asks for go 1.26.3.
PROVIDER_MODULE_VERSION="${PROVIDER_MODULE_VERSION:-v1.60.1-0.20260602190131-5f2286d6d836}"
# The version Terraform sees in the mirror; it must satisfy the constraint in
# terraform/versions.tf (~> 6.47).
PROVIDER_VERSION="${PROVIDER_VERSION:-6.47.0}"

CACHE="${TF_PROVIDER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vigil/terraform}"
MIRROR="$CACHE/mirror"
PLATFORM="$(go env GOOS)_$(go env GOARCH)"
BIN_DIR="$MIRROR/registry.terraform.io/hashicorp/aws/$PROVIDER_VERSION/$PLATFORM"
BIN="$BIN_DIR/terraform-provider-aws_v$PROVIDER_VERSION"
STAMP="$BIN_DIR/.module-version"
CLI_CONFIG="$CACHE/terraformrc"

write_cli_config() {
  cat >"$CLI_CONFIG" <<CFG
# Written by terraform/scripts/build-aws-provider.sh. Installs hashicorp/aws
# from the local mirror built from the Go module proxy; nothing else is allowed.
provider_installation {
  filesystem_mirror {
    path    = "$MIRROR"
    include = ["registry.terraform.io/hashicorp/aws"]
  }
}
CFG
}

mkdir -p "$CACHE"
if [[ -x "$BIN" && -f "$STAMP" && "$(cat "$STAMP")" == "$PROVIDER_MODULE_VERSION" ]]; then
  write_cli_config
  echo "terraform-provider-aws $PROVIDER_VERSION ($PROVIDER_MODULE_VERSION) already in $BIN_DIR"
  exit 0
fi

command -v go >/dev/null || {
  echo "error: go is required to build terraform-provider-aws (Go >= 1.26.3)" >&2
  exit 1
}

echo "building terraform-provider-aws $PROVIDER_MODULE_VERSION as $PROVIDER_VERSION (slow: tens of minutes on 2 cores)"
GOBIN_DIR="$CACHE/gobin"
mkdir -p "$GOBIN_DIR" "$BIN_DIR"
# -p 1 and nice: one package at a time, at the lowest priority, so a shared
# machine stays usable. -s -w: no symbol tables (smaller binary, cheaper link).
# `go install pkg@version` builds outside any enclosing module, and downloads
# the provider's dependencies from the Go module proxy only.
GOBIN="$GOBIN_DIR" nice -n 19 go install -p 1 \
  -ldflags "-s -w -X github.com/hashicorp/terraform-provider-aws/version.ProviderVersion=$PROVIDER_VERSION" \
  "github.com/hashicorp/terraform-provider-aws@$PROVIDER_MODULE_VERSION"
mv -f "$GOBIN_DIR/terraform-provider-aws" "$BIN"
echo "$PROVIDER_MODULE_VERSION" >"$STAMP"
write_cli_config
echo "installed $BIN"
echo "use: TF_CLI_CONFIG_FILE=$CLI_CONFIG terraform -chdir=terraform init -backend=false"
