#!/usr/bin/env bash
# Builds, in the background of `make test`, what its last two suites need and a
# fresh machine lacks: the node's binaries (tools/build-node.sh) and OpenTofu with
# the trimmed AWS provider (terraform/scripts/build-*.sh). Cold, that is about 20
# minutes of Go compiling on 2 cores, which the earlier suites (mostly waiting on
# Postgres, the API server and timers) leave idle. Niced to 19 and idle I/O, so
# the timed suites keep the CPU whenever they want it. Each build script skips
# what its cache already holds, so on a warm machine this ends at once.
#
#   tools/prebuild.sh start DIR   # start in the background; logs and the exit code in DIR
#   tools/prebuild.sh wait DIR    # wait for it; on failure print the log's tail and exit 1
#   tools/prebuild.sh stop DIR    # stop it if it still runs (make test exiting early)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cmd="${1:?start|wait|stop}" dir="${2:?directory for the log}"

build() {
  # One after the other: both are CPU-bound, and in series the node is ready first.
  BUILD_NICE=19 "$ROOT/tools/build-node.sh" &&
    bash "$ROOT/terraform/scripts/build-tofu.sh" &&
    bash "$ROOT/terraform/scripts/build-aws-provider.sh"
}

case "$cmd" in
  start)
    mkdir -p "$dir"
    rm -f "$dir/prebuild.rc"
    export -f build; export ROOT
    # Its own session, so `stop` ends the whole tree (go, compile, link).
    setsid nice -n 19 ionice -c 3 bash -c 'build; echo $? > "$0/prebuild.rc"' "$dir" \
      > "$dir/prebuild.log" 2>&1 < /dev/null &
    echo $! > "$dir/prebuild.pid"
    echo "[prebuild] node and OpenTofu builds started in the background (log: $dir/prebuild.log)"
    ;;
  wait)
    pid="$(cat "$dir/prebuild.pid")"
    while kill -0 "$pid" 2>/dev/null; do sleep 5; done
    rc="$(cat "$dir/prebuild.rc" 2>/dev/null || echo 1)"
    if [[ "$rc" != 0 ]]; then
      echo "[prebuild] the background build failed (exit $rc); the end of $dir/prebuild.log:" >&2
      tail -n 40 "$dir/prebuild.log" >&2
      exit 1
    fi
    echo "[prebuild] done"
    ;;
  stop)
    [[ -f "$dir/prebuild.pid" ]] || exit 0
    pid="$(cat "$dir/prebuild.pid")"
    kill -- "-$pid" 2>/dev/null || true
    ;;
  *) echo "usage: $0 start|wait|stop DIR" >&2; exit 2 ;;
esac
