#!/usr/bin/env bash
# The README's second command: set up, build, and pass the tests (CTest runs every Qt Test suite).
set -euo pipefail
cd "$(dirname "$0")/.."
bash installer/build.sh
cd build
ctest --output-on-failure -j "$(nproc)" "$@"
