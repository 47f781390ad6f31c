#!/usr/bin/env bash
# tools/study/precision.sh OUT [STEPS] [SHORT_STEPS]: DeepSeek-V3's FP8 study (arXiv 2412.19437 Fig. 10 and appendix B.2)
# at our scale. The small preset from the same seed on the same generated corpus, for the same tokens: fp32, fp8 and bf16
# for STEPS (default 300: 23 minutes of fp32 on the 2-core machine of the README's figures), and fp8 with the paper's
# low-precision storage and communication, opt-in here (swiglu-cache, o-proj-e5m6, fp8-dispatch), eval loss every 25 steps;
# then the ablations as short runs of SHORT_STEPS (default 40) beside an fp32 and an fp8 run of the same length: one
# scale per tensor (tensor-scales), activation gradients in 128×128 blocks (block-gradients), and DeepGEMM's exact block
# sums (exact), and the storage choices again (storage). STEPS 0 runs only the short runs. Plots: OUT/plots (the three
# precisions), OUT/plots-storage (fp8-storage) and OUT/plots-ablations, each with the loss of every run relative to the
# first (fp32). A rerun skips what finished (NAME.done) and resumes what was interrupted; a run that stops early (Ctrl-C)
# stops the script. SHARPSEEK overrides the command (default ./sharpseek).
set -euo pipefail
OUT=$1; STEPS=${2:-300}; SHORT=${3:-40}
S=${SHARPSEEK:-./sharpseek}
mkdir -p "$OUT"
. "$(dirname "$0")/train-once.sh"
once() { # NAME STEPS ARGS...: one training run to its end; an interrupted one is resumed
  local name=$1 steps=$2; shift 2
  train_once "$OUT" "$name" --config small --seed 1 --steps "$steps" --eval-every 25 --checkpoint-every 50 "$@"
}
if [ "$STEPS" -gt 0 ]; then
  once fp32 "$STEPS" --precision fp32
  once fp8 "$STEPS" --precision fp8
  once bf16 "$STEPS" --precision bf16
  once fp8-storage "$STEPS" --precision fp8 --fp8-recipe swiglu-cache,o-proj-e5m6,fp8-dispatch
  $S plot "$OUT/fp32" "$OUT/bf16" "$OUT/fp8" --out "$OUT/plots"
  $S plot "$OUT/fp32" "$OUT/fp8-storage" --out "$OUT/plots-storage"
fi
once short-fp32 "$SHORT" --precision fp32
once short-fp8 "$SHORT" --precision fp8
once short-tensor-scales "$SHORT" --precision fp8 --fp8-recipe tensor-scales
once short-block-gradients "$SHORT" --precision fp8 --fp8-recipe block-gradients
once short-exact "$SHORT" --precision fp8 --fp8-recipe exact
once short-storage "$SHORT" --precision fp8 --fp8-recipe swiglu-cache,o-proj-e5m6,fp8-dispatch
$S plot "$OUT"/short-{fp32,fp8,tensor-scales,block-gradients,exact,storage} --out "$OUT/plots-ablations"
