#!/usr/bin/env bash
# tools/study/long-context.sh OUT [STEPS1] [STEPS2]: DeepSeek-V3's two-stage context extension (arXiv 2412.19437 §4.3,
# Fig. 8) at our scale. The small preset pretrained at 256 tokens for 360 steps on the generated corpus with half of
# its documents replaced by passkey documents, then extended 256 → 1K (STEPS1, default 60) and
# 1K → 4K (STEPS2, default 40) with YaRN's factor set to the final 16 in both stages as DeepSeek sets 40, the tokens per
# step kept (4096). After each model, the passkey grid (lengths 256 … 4096, five depths, five keys per cell) with its
# heatmap and loss by position under OUT/plots/<stage>, and the JSON report OUT/<stage>-passkey.json. A rerun skips what
# finished (NAME.done). SHARPSEEK overrides the command (default ./sharpseek).
set -euo pipefail
OUT=$1; STEPS1=${2:-60}; STEPS2=${3:-40}
S=${SHARPSEEK:-./sharpseek}
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
stage base $S train --config small --seed 1 --steps 360 --passkey 0.5
stage 1k $S extend --model "$OUT/base" --to 1024 --factor 16 --steps "$STEPS1"
stage 4k $S extend --model "$OUT/1k" --to 4096 --steps "$STEPS2"
