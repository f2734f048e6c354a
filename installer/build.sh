#!/usr/bin/env bash
# Installs what is missing (Debian packages only), then configures and builds into build/.
# Incremental: ccache and the precompiled torch header make a rebuild after a one-file change quick.
# Usage: installer/build.sh [extra cmake -D options...]
set -euo pipefail
cd "$(dirname "$0")/.."
bash installer/install-deps.sh
jobs=$(( $(nproc) < 2 ? 1 : $(nproc) ))
if [[ ! -f build/CMakeCache.txt ]]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
elif [[ $# -gt 0 ]]; then
  cmake -S . -B build "$@" >/dev/null
fi
cmake --build build -j "$jobs"
