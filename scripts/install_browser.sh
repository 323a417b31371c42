#!/usr/bin/env bash
# Installs Debian's Chromium for the headless UI test (tests/browser); Playwright drives this system
# browser, so no browser download is ever needed. Idempotent; never fails `make tools`.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  echo "chromium: $(/usr/bin/chromium --version 2>/dev/null || echo present) (/usr/bin/chromium)"
  exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  echo "==> Installing Debian's chromium with apt-get (for tests/browser)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends chromium fonts-liberation
  exit 0
fi
echo "Chromium is missing: the browser test (tests/browser) will be skipped."
echo "Install it with: sudo apt-get install -y chromium   (Debian/Ubuntu), then re-run make tools."
exit 0
