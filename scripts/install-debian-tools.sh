#!/usr/bin/env bash
# Debian packages the observability stage and the report's browser test run:
# chromium, prometheus (+ promtool), prometheus-pushgateway, prometheus-alertmanager.
#
# Idempotent and quick when present: a package is installed only if its binary is
# missing, and `apt-get update` runs once, only when something is missing.
# The packages' init scripts are kept from starting daemons on their default
# (all-interface) ports: the harness starts its own copies on loopback
# (harness/kit/obs_stack.py) and stops them at the end of the stage.
# Prints one line. Set INSTALL_DEBIAN_TOOLS=0 to skip (the tests then skip, saying why).
set -euo pipefail
cd "$(dirname "$0")/.."

[ "${INSTALL_DEBIAN_TOOLS:-1}" = "1" ] || { echo "debian tools: skipped (INSTALL_DEBIAN_TOOLS=0)"; exit 0; }

# package → the binaries that count as having it (harness/kit/debian_tools.py looks for the same)
declare -A WANTED=(
  [chromium]="chromium chromium-browser google-chrome google-chrome-stable"
  [prometheus]="prometheus"
  [prometheus-pushgateway]="prometheus-pushgateway pushgateway"
  [prometheus-alertmanager]="prometheus-alertmanager alertmanager"
)
# The stamp tells the tests the script ran here: from then on a missing tool fails them, never skips.
STAMP=.venv/.debian-tools-stamp

have() { for bin in $1; do command -v "$bin" >/dev/null 2>&1 && return 0; done; return 1; }
stamp() { if [ -d .venv ]; then date -u +%FT%TZ > "$STAMP"; fi; }

missing=()
for pkg in "${!WANTED[@]}"; do
  have "${WANTED[$pkg]}" || missing+=("$pkg")
done
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
if [ "${#missing[@]}" -eq 0 ]; then
  echo "debian tools: present (chromium, prometheus, promtool, pushgateway, alertmanager)"
  stamp
  exit 0
fi
mapfile -t packages < <(printf '%s\n' "${missing[@]}" | sort -u)

if ! command -v apt-get >/dev/null 2>&1; then
  echo "debian tools: apt-get not found; install ${packages[*]} by hand" >&2
  exit 1
fi
SUDO=""
if [ "$(id -u)" != "0" ]; then
  command -v sudo >/dev/null 2>&1 || { echo "debian tools: need root or sudo to install ${packages[*]}" >&2; exit 1; }
  SUDO="sudo"
fi

# No daemon starts during the install (the Docker convention: policy-rc.d exit 101).
made_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  made_policy=1
fi
cleanup() { if [ "$made_policy" = "1" ]; then $SUDO rm -f /usr/sbin/policy-rc.d; fi; }
trap cleanup EXIT

echo "debian tools: installing ${packages[*]}"
$SUDO apt-get update -q >/dev/null
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${packages[@]}" >/dev/null
for pkg in "${!WANTED[@]}"; do
  have "${WANTED[$pkg]}" || { echo "debian tools: $pkg still missing after install" >&2; exit 1; }
done
stamp
echo "debian tools: installed ${packages[*]}"
