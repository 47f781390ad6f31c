#!/usr/bin/env bash
# tools/study/promotion.sh OUT [STEPS]: the ablation of DeepSeek-V3's FP32 promotion (arXiv 2412.19437 §3.3.2) as
# training runs. The tiny preset from the same seed on the same generated corpus for STEPS (default 40): fp32, fp8 (f32
# sums), fp8 with DeepGEMM's exact block sums, fp8 through an emulated ~14-bit accumulator promoted to f32 every 128
# products (hopper-accumulator, the paper's hardware) and the same accumulator never promoted (no-promotion). The
# accumulator is emulated product by product on one thread (about 4 s a step here, against 0.1 s), hence the tiny
# preset; its Wgrad still sums over 2,048 tokens per micro-batch, where promotion matters. Plots: OUT/plots, each run's
# loss relative to the first (fp32). A rerun skips what finished (NAME.done) and resumes what was interrupted.
# SHARPSEEK overrides the command (default ./sharpseek).
set -euo pipefail
OUT=$1; STEPS=${2:-40}
S=${SHARPSEEK:-./sharpseek}
mkdir -p "$OUT"
. "$(dirname "$0")/train-once.sh"
once() { # NAME ARGS...: one training run to its end; an interrupted one is resumed
  local name=$1; shift
  train_once "$OUT" "$name" --config tiny --seed 1 --steps "$STEPS" --eval-every 20 --checkpoint-every 20 "$@"
}
once fp32 --precision fp32
once fp8 --precision fp8
once exact --precision fp8 --fp8-recipe exact
once hopper --precision fp8 --fp8-recipe hopper-accumulator
once no-promotion --precision fp8 --fp8-recipe no-promotion
$S plot "$OUT"/{fp32,fp8,exact,hopper,no-promotion} --out "$OUT/plots"
