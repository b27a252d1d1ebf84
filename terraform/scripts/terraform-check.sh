#!/usr/bin/env bash
# `make terraform-check`: terraform init + validate + test (mocked AWS) with the
# real hashicorp/aws provider, offline.
#
# The provider is built from its Go module source into a local filesystem
# mirror (scripts/build-aws-provider.sh; tens of minutes the first time, then
# cached). The configuration is copied to a scratch directory in the cache and
# checked there, so the work tree gets no .terraform/ and no lock file holding
# the checksums of a locally built provider (see terraform/.gitignore).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${TF_PROVIDER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vigil/terraform}"
TERRAFORM="${TERRAFORM:-terraform}"

command -v "$TERRAFORM" >/dev/null || {
  echo "error: terraform (>= 1.7) is required for terraform-check; install it from your package manager or HashiCorp's release page" >&2
  exit 1
}

start=$(date +%s)
TF_PROVIDER_CACHE="$CACHE" bash "$here/scripts/build-aws-provider.sh"
built=$(date +%s)

work="$CACHE/check"
rm -rf "$work"
mkdir -p "$work"
cp "$here"/*.tf "$work"/
cp -r "$here/policies" "$here/tests" "$work"/

export TF_CLI_CONFIG_FILE="$CACHE/terraformrc"
export TF_IN_AUTOMATION=1
export CHECKPOINT_DISABLE=1
cd "$work"
"$TERRAFORM" init -backend=false -input=false -no-color >init.log || {
  cat init.log >&2
  exit 1
}
grep -E 'Installed hashicorp/aws|Using previously-installed hashicorp/aws' init.log || true
"$TERRAFORM" fmt -check -recursive -diff "$here"
"$TERRAFORM" validate -no-color
"$TERRAFORM" test -no-color
end=$(date +%s)
echo "terraform-check: provider $((built - start))s, init+validate+test $((end - built))s"
