#!/usr/bin/env bash
# Stages the root filesystem of the Vigil image from a compiled workspace
# (npm ci done, every project's dist/ built): the one list of what the image
# holds. The Dockerfile runs it in its build stage (docker build); `make build`
# runs it on the host and hands the result to the same Dockerfile (buildah).
#
#   tools/stage-image.sh OUT_DIR      writes OUT_DIR/rootfs
#
# The image holds only what runs: Node 24 (the `node` npm package's binary and
# the glibc/libstdc++ libraries it links, found with ldd), the production
# dependencies, each shipped project's package.json and dist/, the migrations,
# and /etc/passwd + /etc/group naming uid/gid 10001. Not libs/testing, e2e,
# charts/tests, nor any dev dependency or test file.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:?usage: tools/stage-image.sh OUT_DIR}"
ROOTFS="$OUT/rootfs"
APP="$ROOTFS/app"
# Workspaces that never run in the image.
NOT_SHIPPED=(libs/testing charts/tests e2e)

log() { printf '[stage-image] %s\n' "$*" >&2; }
cd "$ROOT"
NODE_BIN="$ROOT/node_modules/node/bin/node"
[[ -x $NODE_BIN ]] || { log "no $NODE_BIN: run 'make deps' first"; exit 1; }
"$NODE_BIN" --version | grep -q '^v24\.' || { log "$NODE_BIN is not Node 24"; exit 1; }

rm -rf "$ROOTFS"
mkdir -p "$APP"
cp package.json package-lock.json "$APP/"
# Every workspace's package.json so the lockfile matches; only shipped ones keep their dist/.
for ws in libs/* services/* charts/tests e2e; do
  [[ -f $ws/package.json ]] || continue
  mkdir -p "$APP/$ws" && cp "$ws/package.json" "$APP/$ws/"
done
log "installing production dependencies (npm ci --omit=dev, from npm's cache when it can)"
(cd "$APP" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error >/dev/null)
for ws in "${NOT_SHIPPED[@]}"; do
  rm -rf "${APP:?}/$ws"
  name="$(node -p "require('./$ws/package.json').name" 2>/dev/null || true)"
  [[ -n $name ]] && rm -rf "$APP/node_modules/$name"
done
rmdir "$APP/charts" 2>/dev/null || true
for project in libs/* services/*; do
  [[ -d "$APP/$project" ]] || continue
  [[ -d $project/dist ]] || { log "$project/dist is missing: run 'make compile' first"; exit 1; }
  cp -a "$project/dist" "$APP/$project/"
  # Tests never ship, even if a build put one in dist/.
  find "$APP/$project/dist" \( -name '*.spec.*' -o -name '*.int-spec.*' -o -name '*.e2e-spec.*' -o -name '__tests__' \) -prune -exec rm -rf {} +
done
cp -a libs/db/migrations "$APP/libs/db/"
rm -f "$APP/package-lock.json"

# Node and the shared libraries it links, at the paths the loader expects.
mkdir -p "$ROOTFS/usr/local/bin"
cp "$NODE_BIN" "$ROOTFS/usr/local/bin/node"
ldd "$NODE_BIN" | awk '/=> \// {print $3} /^[ \t]*\/.*ld-linux/ {print $1}' | sort -u | while read -r lib; do
  mkdir -p "$ROOTFS$(dirname "$lib")"
  cp -L "$lib" "$ROOTFS$lib"
done

mkdir -p "$ROOTFS/etc" "$ROOTFS/tmp"
chmod 1777 "$ROOTFS/tmp"
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nvigil:x:10001:10001:vigil:/nonexistent:/usr/sbin/nologin\n' > "$ROOTFS/etc/passwd"
printf 'root:x:0:\nvigil:x:10001:\n' > "$ROOTFS/etc/group"
printf 'hosts: files dns\n' > "$ROOTFS/etc/nsswitch.conf"
log "staged $(du -sh "$ROOTFS" | cut -f1) in $ROOTFS"
