#!/usr/bin/env bash
# The README's first command: set up, build, and run the main job: the workbench window with
# the default experiment loaded (press Start, or pass --start). With no display, the same
# experiment runs headless in the terminal (fourierft train), its run folder under runs/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash installer/build.sh
if [[ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]]; then
  exec build/app/gui/fourier-workbench "$@"
fi
echo "(no display: running the default experiment headless)"
exec build/app/cli/fourierft train experiments/default.json "$@"
