#!/usr/bin/env bash
# The README's first command: set up, build, and run the main job.
# Until the training engine exists, the main job is the adapter core's demonstration: the
# FourierFT paths checked against the reference on this machine, the PEFT fixtures read and
# written back, and one timed layer per method (FourierFT auto, LoRA, the frozen limit).
set -euo pipefail
cd "$(dirname "$0")/.."
bash installer/build.sh
cli=build/app/cli/fourierft
shared="${FW_SHARED_DIR:-$(cd .. && pwd)/shared}"
if [[ -d "$shared/fixtures/hf" ]]; then
  "$cli" selftest --fixtures "$shared/fixtures/hf"
  "$cli" adapter info "$shared/fixtures/hf/roberta/fourierft"
else
  echo "(../shared/fixtures/hf not found: skipping the PEFT fixture checks)"
  "$cli" selftest
fi
echo "One RoBERTa-base-sized layer (768x768, 512 tokens, n=1000, LoRA r=8), ms per training step:"
for method in limit lora fourierft; do
  "$cli" bench-layer --method "$method" --d-out 768 --d-in 768 --tokens 512
done
