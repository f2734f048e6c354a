#!/usr/bin/env bash
# The README's first command: set up, build, and run the main job: the workbench window with
# the default experiment loaded (press Start, or pass --start). With no display, the same
# experiment runs headless in the terminal (fourierft train), its run folder under runs/.
#   bash installer/run-main.sh [EXPERIMENT.json] [--start] [more options of the window or of fourierft train]
set -euo pipefail
cd "$(dirname "$0")/.."
bash installer/build.sh
if [[ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]]; then
  exec build/app/gui/fourier-workbench "$@"
fi
experiment=experiments/default.json
if [[ $# -gt 0 && "$1" == *.json ]]; then
  experiment=$1
  shift
fi
echo "(no display: running $experiment headless)"
args=()
for a in "$@"; do
  [[ "$a" == --start ]] || args+=("$a")  # the window's option: headless, the run starts at once
done
exec build/app/cli/fourierft train "$experiment" "${args[@]}"
