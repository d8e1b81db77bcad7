#!/usr/bin/env bash
# Makes sure Debian's Chromium is at /usr/bin/chromium for the browser end-to-end test
# (playwright-core drives it; it never downloads a browser of its own). Installs it with
# apt-get when missing, as CI does on a fresh machine.
set -euo pipefail

if [[ -x /usr/bin/chromium ]]; then exit 0; fi
echo "chromium: /usr/bin/chromium is missing; installing Debian's chromium package" >&2
SUDO=""
if [[ $(id -u) -ne 0 ]]; then
  command -v sudo >/dev/null || { echo "chromium: need root or sudo to install it" >&2; exit 1; }
  SUDO="sudo"
fi
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq chromium >/dev/null
/usr/bin/chromium --version >&2
