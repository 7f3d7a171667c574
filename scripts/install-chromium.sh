#!/usr/bin/env bash
# Installs Debian's Chromium for the browser tests (tests/browser), when it is missing.
# Never downloads a browser build of its own: Debian's `chromium` package only, with the
# fonts that pages need to render text in screenshots.
#
# Exits 0 even when Chromium cannot be installed (no apt-get, not root and no sudo, the
# package unavailable): the browser tests then skip and say why. Anything else fails.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
PACKAGES=(chromium fonts-liberation)

if [ -x "$CHROMIUM" ]; then
  exit 0
fi

cannot() {
  echo "install-chromium: $*; the browser tests will be skipped" >&2
  exit 0
}

command -v apt-get >/dev/null 2>&1 || cannot "apt-get not found (not a Debian-like system)"

SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
  else
    cannot "not root and no password-less sudo"
  fi
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-chromium: installing ${PACKAGES[*]} with apt-get"
"${SUDO[@]}" apt-get update -q >/dev/null || cannot "apt-get update failed"
"${SUDO[@]}" apt-get install -y -q --no-install-recommends "${PACKAGES[@]}" >/dev/null \
  || cannot "apt-get install ${PACKAGES[*]} failed"

[ -x "$CHROMIUM" ] || cannot "$CHROMIUM is still missing after the install"
"$CHROMIUM" --version 2>/dev/null || true
