#!/usr/bin/env bash
# Installs the Debian 12 packages Fourier Workbench needs to build, test and run.
# Idempotent: prints nothing and changes nothing when everything is already there.
# Usage: installer/install-deps.sh [--gui|--no-gui]   (default: everything, GUI included)
set -euo pipefail

core=(build-essential cmake ninja-build ccache pkg-config
      libtorch-dev libgloo-dev libopenblas0-pthread libfftw3-dev nlohmann-json3-dev
      libsentencepiece-dev libpcre2-dev libutf8proc-dev libcli11-dev libsqlite3-dev
      zlib1g-dev libpng-dev libjpeg62-turbo-dev libstb-dev dataset-fashion-mnist python3-torch)
gui=(qt6-base-dev libqt6svg6 libqcustomplot-dev libqcustomplot2.1-qt6 xvfb xauth)

want=("${core[@]}")
[[ "${1:-}" == "--no-gui" ]] || want+=("${gui[@]}")

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "installing: ${missing[*]}"
sudo=""
[[ $(id -u) -eq 0 ]] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
