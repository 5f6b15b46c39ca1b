#!/usr/bin/env bash
# Debian packages the tests need, installed only when missing (idempotent; needs root or passwordless sudo).
#
#   deploy/local/system-packages.sh          install what is missing
#   deploy/local/system-packages.sh check    exit 0 if everything is there, 3 if not
#
# libpango-1.0-0, libpangoft2-1.0-0, fonts-dejavu-core: WeasyPrint renders the printable documents (PDF).
# chromium: the browser tests load /docs and the meeting pack headless (tests/browser).
set -euo pipefail

PACKAGES=(libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core chromium)

missing() {
  local p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}

mapfile -t NEED < <(missing)
if [[ "${1:-}" == check ]]; then
  [[ ${#NEED[@]} -eq 0 ]] || { echo "missing: ${NEED[*]}"; exit 3; }
  exit 0
fi
[[ ${#NEED[@]} -eq 0 ]] && exit 0
SUDO=()
[[ $EUID -eq 0 ]] || SUDO=(sudo -n)
echo "system-packages.sh: installing ${NEED[*]}"
"${SUDO[@]}" apt-get update -q
DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -q --no-install-recommends "${NEED[@]}"
