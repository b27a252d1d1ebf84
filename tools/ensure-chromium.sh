#!/usr/bin/env bash
# Installs Debian's Chromium for the status-page browser tests (driven by
# playwright-core, which never downloads a browser of its own). Does nothing
# when /usr/bin/chromium is already there. Needs root (apt-get).
set -euo pipefail

CHROMIUM=/usr/bin/chromium

if [[ -x "$CHROMIUM" ]]; then
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-chromium: $CHROMIUM is missing and apt-get is not available; install Chromium so that $CHROMIUM exists" >&2
  exit 1
fi

SUDO=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then SUDO=(sudo); else
    echo "ensure-chromium: run as root (or install sudo) to apt-get install chromium" >&2
    exit 1
  fi
fi

echo "ensure-chromium: installing chromium with apt-get"
"${SUDO[@]}" apt-get update
DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y chromium
"$CHROMIUM" --version
