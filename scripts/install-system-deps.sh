#!/usr/bin/env bash
# Installs the Debian packages the project needs for one purpose, only when missing.
# Usage: install-system-deps.sh fonts|postgres|browser|stress
set -euo pipefail

need=()
case "${1:-}" in
  fonts)    pkgs=(fonts-wqy-zenhei fonts-wqy-microhei fonts-arphic-ukai fonts-arphic-uming fonts-noto-cjk fonts-dejavu-core fonts-ocr-b) ;;
  postgres) pkgs=(postgresql) ;;
  browser)  pkgs=(chromium chromium-driver) ;;
  stress)   pkgs=(stress-ng) ;;
  *) echo "usage: $0 fonts|postgres|browser|stress" >&2; exit 2 ;;
esac

for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
[ ${#need[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${need[@]}"
