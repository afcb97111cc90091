#!/usr/bin/env bash
# Installs everything the integration suite starts for real, from the package registries:
# Debian packages (MariaDB, PostgreSQL, promtool, amtool) and Go tools (kube-apiserver,
# NetworkPolicy analyzer). Idempotent; needs root (or sudo) for apt-get and Go for the tools.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(mariadb-server postgresql prometheus prometheus-alertmanager busybox)

missing=()
for pkg in "${APT_PACKAGES[@]}"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "installing Debian packages: ${missing[*]}"
  $SUDO apt-get update -qq
  # The packages' own services are not started: the tests start private servers on loopback.
  echo exit 101 | $SUDO tee /usr/sbin/policy-rc.d >/dev/null && $SUDO chmod +x /usr/sbin/policy-rc.d
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  $SUDO rm -f /usr/sbin/policy-rc.d
fi

if ! command -v go >/dev/null 2>&1; then
  echo "Go is required to build the kube-apiserver and the NetworkPolicy analyzer: install Go >= 1.24 (https://go.dev/dl) and re-run" >&2
  exit 1
fi
if [ -x tools/build.sh ]; then
  tools/build.sh
fi
