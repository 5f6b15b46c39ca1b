#!/usr/bin/env bash
# Obtain promtool without installing (and starting) the Debian prometheus package.
# `apt-get download` fetches the .deb through the configured apt sources; `dpkg-deb -x` unpacks it
# into ${HHPU_RUN_DIR:-<repo>/.run}/promtool. Idempotent: prints the promtool path and exits 0,
# or exits 1 if it cannot be obtained (no apt, no network, no package).
#   bash deploy/local/promtool.sh            -> prints the path
#   bash deploy/local/promtool.sh check rules deploy/prometheus/alerts.yml   -> runs promtool
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RUN_DIR="${HHPU_RUN_DIR:-$ROOT/.run}"
DEST="$RUN_DIR/promtool"
BIN="$DEST/usr/bin/promtool"

obtain() {
    command -v apt-get >/dev/null 2>&1 || { echo "promtool.sh: apt-get not available" >&2; return 1; }
    command -v dpkg-deb >/dev/null 2>&1 || { echo "promtool.sh: dpkg-deb not available" >&2; return 1; }
    mkdir -p "$DEST"
    exec 9>"$DEST/.lock"
    flock 9
    [ -x "$BIN" ] && return 0
    local tmp
    tmp="$(mktemp -d)"
    # apt-get download writes into the current directory and needs no root for that.
    if ! (cd "$tmp" && apt-get download -q prometheus >/dev/null 2>&1); then
        if [ "$(id -u)" = 0 ]; then
            apt-get update -q >/dev/null 2>&1 || true
            (cd "$tmp" && apt-get download -q prometheus >/dev/null 2>&1) || {
                echo "promtool.sh: apt-get download prometheus failed" >&2
                rm -rf "$tmp"
                return 1
            }
        else
            echo "promtool.sh: apt-get download prometheus failed" >&2
            rm -rf "$tmp"
            return 1
        fi
    fi
    dpkg-deb -x "$tmp"/prometheus_*.deb "$tmp/x"
    mkdir -p "$DEST/usr/bin"
    cp "$tmp/x/usr/bin/promtool" "$BIN"
    rm -rf "$tmp"
    "$BIN" --version >/dev/null 2>&1 || { echo "promtool.sh: unpacked promtool does not run" >&2; return 1; }
}

[ -x "$BIN" ] || obtain
if [ "$#" -eq 0 ]; then
    echo "$BIN"
else
    exec "$BIN" "$@"
fi
