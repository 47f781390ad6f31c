#!/usr/bin/env bash
# tools/study/long-context.sh OUT [STEPS1] [STEPS2]: DeepSeek-V3's two-stage context extension (arXiv 2412.19437 §4.3,
# Fig. 8) at our scale. A 4-layer DeepSeek-V3 model (tools/study/long-context-model.json: MLA, 8 routed experts, MTP;
# 1.5M parameters, small enough that retrieval emerges within a run on two cores) pretrained at 256 tokens for 1500
# steps on the generated corpus with half of its documents replaced by passkey documents, then extended 256 → 1K
# (STEPS1, default 300) and 1K → 4K (STEPS2, default 500) with YaRN's factor set to the final 16 in both stages as
# DeepSeek sets 40, the tokens per step kept (4096), at a constant learning rate of 1e-3 (5× the base run's final rate,
# which DeepSeek holds: at our budget that rate does not bring retrieval back; README). After each model, the passkey grid (lengths 256 … 4096, five depths,
# five keys per cell) with its heatmap and loss by position under OUT/plots/<stage>, and the JSON report
# OUT/<stage>-passkey.json. A rerun skips what finished (NAME.done). SHARPSEEK overrides the command (default ./sharpseek).
set -euo pipefail
OUT=$1; STEPS1=${2:-300}; STEPS2=${3:-500}
S=${SHARPSEEK:-./sharpseek}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$OUT"
LENGTHS="256 512 1024 2048 4096"
stage() { # NAME COMMAND...: one training stage, then its passkey grid
  local name=$1; shift
  if [ ! -f "$OUT/$name.done" ]; then
    rm -rf "${OUT:?}/$name"
    "$@" --out "$OUT/$name" | grep -E "^finished"
    touch "$OUT/$name.done"
  fi
  if [ ! -f "$OUT/$name-passkey.json" ]; then
    $S eval --model "$OUT/$name" --task passkey --lengths $LENGTHS --plot "$OUT/plots/$name" --json > "$OUT/$name-passkey.json.tmp"
    mv "$OUT/$name-passkey.json.tmp" "$OUT/$name-passkey.json"
  fi
}
stage base $S train --config "$HERE/long-context-model.json" --seed 1 --steps 1500 --eval-every 250 --checkpoint-every 250 --passkey 0.5
stage 1k $S extend --model "$OUT/base" --to 1024 --factor 16 --steps "$STEPS1" --lr 1e-3
stage 4k $S extend --model "$OUT/1k" --to 4096 --steps "$STEPS2" --lr 1e-3
