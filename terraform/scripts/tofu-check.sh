#!/usr/bin/env bash
# The checks of terraform/ with a real engine, OpenTofu, offline:
#   tofu fmt -check, tofu init + validate, the creation order of the nodes and
#   add-ons (tofu graph), that the required variables are required, and
#   tofu test (tests/*.tftest.hcl, mocked AWS).
#
#   terraform/scripts/tofu-check.sh          # `make terraform-test`, in `make test`: trimmed provider
#   terraform/scripts/tofu-check.sh --full   # `make terraform-check`: the whole provider (slow cold)
#
# OpenTofu and the hashicorp/aws provider are built from the Go module proxy
# (build-tofu.sh, build-aws-provider.sh) and cached under ~/.cache/vigil/, so only
# the first run builds. Mocked providers still need the provider binary: the
# engine takes every resource's schema and validation from it.
#
# The configuration is checked in a scratch copy in the cache: the work tree gets
# no .terraform/ and no lock file with the checksums of a locally built provider
# (those would break `make eks-up`'s init from the registry).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="${VIGIL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/vigil}"
start=$(date +%s)

# The machine's own CLI config (if any) is not this check's: an empty one until
# the provider mirror's.
export TF_CLI_CONFIG_FILE=/dev/null
tofu="$(bash "$here/scripts/build-tofu.sh" | tail -n1)"
# Formatting first: it needs only the engine, and fails fast.
"$tofu" fmt -check -recursive -diff "$here"
provider="$(bash "$here/scripts/build-aws-provider.sh" "$@" | tail -n1)"
built=$(date +%s)

work="$CACHE/tofu-check/$(basename "$provider")"
rm -rf "$work"
mkdir -p "$work"
cp "$here"/*.tf "$work"/
cp -r "$here/policies" "$here/tests" "$work"/

# Nothing may reach AWS or a registry: no credentials or AWS config, no
# instance metadata, and a proxy that refuses every connection.
export TF_CLI_CONFIG_FILE="$provider/tofurc"
export TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1
export AWS_CONFIG_FILE=/dev/null AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_EC2_METADATA_DISABLED=true
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_REGION AWS_DEFAULT_REGION
export HTTPS_PROXY=http://127.0.0.1:9 HTTP_PROXY=http://127.0.0.1:9 NO_PROXY=
cd "$work"

"$tofu" init -backend=false -input=false -no-color >init.log 2>&1 || {
  cat init.log >&2
  exit 1
}
if ! "$tofu" validate -no-color >validate.log 2>&1; then
  cat validate.log >&2
  if grep -q 'does not support resource type\|does not support data source\|does not support ephemeral' validate.log; then
    echo "hint: the trimmed provider lacks that resource's service package: add it to AWS_PROVIDER_SERVICES in terraform/scripts/build-aws-provider.sh" >&2
  fi
  exit 1
fi
cat validate.log

# Orderings that no assertion can see, from the engine's own dependency graph:
# nodes start only once the VPC CNI enforces NetworkPolicies, and the EBS CSI
# add-on (whose controller runs on the nodes) waits for them.
"$tofu" graph >graph.dot 2>graph.log || {
  cat graph.log >&2
  exit 1
}
for edge in 'aws_eks_node_group.default aws_eks_addon.vpc_cni' 'aws_eks_addon.ebs_csi aws_eks_node_group.default'; do
  read -r from to <<<"$edge"
  grep -qF "\"[root] $from (expand)\" -> \"[root] $to (expand)\"" graph.dot || {
    echo "error: $from must depend on $to (tofu graph has no such edge)" >&2
    exit 1
  }
  echo "$from is created after $to"
done

# A required variable left out stops the engine before any provider is
# configured; the test files always set them.
declare -A required=(
  [cluster_endpoint_public_cidrs]='["203.0.113.10/32"]'
  [acm_certificate_arn]='arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0'
)
for v in "${!required[@]}"; do
  args=(-var 'budget_alert_emails=["ops@example.com"]')
  for other in "${!required[@]}"; do
    [[ "$other" == "$v" ]] || args+=(-var "$other=${required[$other]}")
  done
  if "$tofu" plan -input=false -lock=false -refresh=false -no-color "${args[@]}" >required.log 2>&1 ||
    ! grep -q "No value for required variable" required.log || ! grep -q "\"$v\"" required.log; then
    cat required.log >&2
    echo "error: variable $v must be required (no default)" >&2
    exit 1
  fi
  echo "$v is required"
done

"$tofu" test -no-color
end=$(date +%s)
echo "tofu-check: engine and provider $((built - start))s, init+validate+test $((end - built))s"
