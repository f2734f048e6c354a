#!/usr/bin/env bash
# The README's first command: set up, build, and run the main job.
# Until the window exists (the GUI issue), the main job is the default experiment, headless:
# a small ViT trained on Fashion-MNIST classes 0-4 (cached after the first run), then classes
# 5-9 learned with FourierFT, LoRA and head-only side by side; the run folder goes to runs/.
set -euo pipefail
cd "$(dirname "$0")/.."
bash installer/build.sh
exec build/app/cli/fourierft train experiments/default.json "$@"
