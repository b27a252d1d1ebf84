#!/usr/bin/env bash
# Builds the hashicorp/aws provider from its Go module source (served by the Go
# module proxy) into a local provider mirror, and writes a CLI config that
# installs it from that mirror only. Neither registry.opentofu.org nor
# registry.terraform.io can be reached from the development machines or CI;
# the Go module proxy can, and terraform-provider-aws is a Go module.
#
# By default the provider is trimmed to the service packages this configuration
# uses (AWS_PROVIDER_SERVICES; scripts/trim-aws-provider.go): the same resource
# schemas and validation, built in minutes instead of half an hour. `--full`
# builds the whole provider (`make terraform-check`).
#
# Output (outside git), in a directory named by module version and service set:
#   $DIR/mirror/registry.opentofu.org/hashicorp/aws/$PROVIDER_VERSION/<os>_<arch>/terraform-provider-aws_v$PROVIDER_VERSION
#   $DIR/tofurc    (use with TF_CLI_CONFIG_FILE=$DIR/tofurc)
# The last line on stdout is $DIR. Measured times and memory: docs/eks-runbook.md.
set -euo pipefail

# The Go module proxy serves terraform-provider-aws only as v1.60.0 (2019) and as
# pseudo-versions of commits on main: the provider's go.mod has no /v6 suffix, so
# its v6.x tags are not valid Go module versions. This pseudo-version is main at
# 2026-06-02 (5f2286d6d836): CHANGELOG.md there reads "6.48.0 (Unreleased)", i.e.
# 6.47.0 plus unreleased changes. Its go.mod asks for go 1.26.3.
PROVIDER_MODULE_VERSION="${PROVIDER_MODULE_VERSION:-v1.60.1-0.20260602190131-5f2286d6d836}"
# The version the engine sees in the mirror; it must satisfy the constraint in
# terraform/versions.tf (~> 6.47).
PROVIDER_VERSION="${PROVIDER_VERSION:-6.47.0}"
# The provider's internal/service packages that hold every resource and data
# source in terraform/*.tf: aws_partition is in meta, the VPC resources and
# aws_availability_zones in ec2, aws_cloudwatch_log_group in logs, aws_db_* in rds.
AWS_PROVIDER_SERVICES="${AWS_PROVIDER_SERVICES:-budgets ec2 ecr eks iam logs meta rds secretsmanager}"

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${VIGIL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vigil}"
if [[ "${1:-}" == --full ]]; then
  flavour=full
else
  # The trimmer's source is part of the key: a change to it rebuilds.
  flavour="$(echo "$AWS_PROVIDER_SERVICES" | tr ' ' '\n' | sort | cat - "$here/trim-aws-provider.go" | sha256sum | cut -c1-12)"
fi
DIR="$CACHE/terraform-provider-aws-$PROVIDER_MODULE_VERSION-$flavour"
mkdir -p "$CACHE"
PLATFORM="$(go env GOOS)_$(go env GOARCH)"
BIN_DIR="$DIR/mirror/registry.opentofu.org/hashicorp/aws/$PROVIDER_VERSION/$PLATFORM"
BIN="$BIN_DIR/terraform-provider-aws_v$PROVIDER_VERSION"
CLI_CONFIG="$DIR/tofurc"

write_cli_config() {
  cat >"$CLI_CONFIG" <<CFG
# Written by terraform/scripts/build-aws-provider.sh. Installs hashicorp/aws
# from the local mirror built from the Go module proxy; nothing else is allowed.
provider_installation {
  filesystem_mirror {
    path    = "$DIR/mirror"
    include = ["registry.opentofu.org/hashicorp/aws"]
  }
}
CFG
}

if [[ -x "$BIN" ]]; then
  write_cli_config
  echo "$DIR"
  exit 0
fi

command -v go >/dev/null || {
  echo "error: go is required to build terraform-provider-aws (Go >= 1.26.3)" >&2
  exit 1
}

echo "building terraform-provider-aws $PROVIDER_MODULE_VERSION as $PROVIDER_VERSION ($flavour: ${AWS_PROVIDER_SERVICES// /,})" >&2
mod="$(cd "$CACHE" && go mod download -json "github.com/hashicorp/terraform-provider-aws@$PROVIDER_MODULE_VERSION" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')"
[[ -d "$mod" ]] || {
  echo "error: go mod download gave no source directory for terraform-provider-aws@$PROVIDER_MODULE_VERSION" >&2
  exit 1
}
# The module cache is read-only: build from a writable copy (deleted afterwards).
src="$DIR/src"
rm -rf "$src"
mkdir -p "$DIR" "$BIN_DIR"
cp -r "$mod" "$src"
chmod -R u+w "$src"
trap 'rm -rf "$src"' EXIT
if [[ "$flavour" != full ]]; then
  # shellcheck disable=SC2086 # the list is meant to split into arguments
  (cd "$src" && go run "$here/trim-aws-provider.go" "$src" $AWS_PROVIDER_SERVICES) >&2
fi
# nice, and TF_BUILD_JOBS packages at a time (default: every core, as CI runs
# alone; set 1 on a shared machine, which also keeps the peak near 3.4 GiB).
# -s -w: no symbol tables (smaller binary, cheaper link).
(cd "$src" && GOFLAGS="${GOFLAGS:-} -mod=readonly -p=${TF_BUILD_JOBS:-$(nproc)}" nice -n 10 go build -trimpath \
  -ldflags "-s -w -X github.com/hashicorp/terraform-provider-aws/version.ProviderVersion=$PROVIDER_VERSION" \
  -o "$BIN.tmp" .) >&2
mv -f "$BIN.tmp" "$BIN"
write_cli_config
echo "installed $BIN" >&2
echo "$DIR"
