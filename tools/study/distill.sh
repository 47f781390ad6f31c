#!/usr/bin/env bash
# tools/study/distill.sh TEACHER STUDENT_BASE OUT [TASK]: DeepSeek-R1's distillation study (arXiv 2501.12948 Tables 5
# and 6) at our scale, for one student: (1) the student base, (2) GRPO alone (R1-Zero on the student) for as much
# compute as distillation took, (3) the student distilled from the teacher (SFT on its rejection-sampled data),
# (4) distilled + a short GRPO stage, (5) the logits and on-policy variants (on-policy twice: 60 steps, and 170 for about
# the others' compute). Every variant is evaluated on the task's
# held-out problems with R1's protocol (pass@1 over 4 samples at T 0.6 / top-p 0.95, cons@4, format rate); the table is
# OUT/study.json. A rerun skips what finished (NAME.done, eval-NAME.json) and resumes what was interrupted. SHARPSEEK overrides the command (default ./sharpseek).
set -euo pipefail
TEACHER=$1; BASE=$2; OUT=$3; TASK=${4:-add:3}
S=${SHARPSEEK:-./sharpseek}
RL="--task $TASK --prompts 16 --generations 8 --max-new-tokens 160 --lr 5e-5 --advantage none --beta 0.04 --micro-batch 32 --checkpoint-every 5"
mkdir -p "$OUT"
evaluate() { # NAME DIR: written whole or not at all
  [ -f "$OUT/eval-$1.json" ] || { $S eval --model "$2" --task "$TASK" --problems 100 --samples 4 --json > "$OUT/eval-$1.json.tmp" && mv "$OUT/eval-$1.json.tmp" "$OUT/eval-$1.json"; }
}
once() { # NAME COMMAND...: runs a training command to its end once; an interrupted one is resumed (its command + --resume)
  if [ -f "$OUT/$1.done" ]; then return; fi
  local name=$1; shift
  if [ -d "$OUT/$name" ] && ls "$OUT/$name"/*_state.json >/dev/null 2>&1; then "$@" --resume | tail -2; else "$@" | tail -2; fi
  touch "$OUT/$name.done"
}
seconds() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['elapsed_seconds'])" "$1"; }

evaluate base "$BASE"
# (3) R1's distillation: the teacher's data (2000 problems x 4 samples, rejection), then SFT of the student on it.
$S distill data --teacher "$TEACHER" --data "$OUT/teacher-data.jsonl" --task "$TASK" --problems 2000 --samples 4 | tail -1
once sft $S distill train --teacher "$TEACHER" --student "$BASE" --data "$OUT/teacher-data.jsonl" --out "$OUT/sft" --mode sft --epochs 2 --task "$TASK"
evaluate sft "$OUT/sft"
# The compute distillation took: the teacher's sampling plus the student's training.
DATA_S=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['report']['Seconds'])" "$OUT/teacher-data.jsonl.meta.json")
SFT_S=$(seconds "$OUT/sft/trainer_state.json")
BUDGET=$(python3 -c "print(round($DATA_S + $SFT_S))")
echo "distillation compute: ${BUDGET} s (teacher data ${DATA_S} s, SFT ${SFT_S} s)"
# (2) GRPO alone from the base, 5 steps at a time until it has spent as much.
while [ ! -f "$OUT/grpo/rl_state.json" ] || python3 -c "import json,sys; sys.exit(0 if json.load(open('$OUT/grpo/rl_state.json'))['elapsed_seconds'] < $BUDGET else 1)"; do
  if [ -f "$OUT/grpo/rl_state.json" ]; then
    STEP=$(python3 -c "import json; print(json.load(open('$OUT/grpo/rl_state.json'))['step'])")
    $S rl --out "$OUT/grpo" --resume --steps $((STEP + 5)) | tail -1
  else
    $S rl --model "$BASE" --out "$OUT/grpo" --steps 5 $RL | tail -1
  fi
done
evaluate grpo "$OUT/grpo"
# (4) distilled + 25 GRPO steps.
once sft-grpo $S rl --model "$OUT/sft" --out "$OUT/sft-grpo" --steps 25 $RL
evaluate sft-grpo "$OUT/sft-grpo"
# (5) logits (SFT + forward KL to the teacher's top-8) and on-policy (reverse KL on the student's samples).
once logits $S distill train --teacher "$TEACHER" --student "$BASE" --data "$OUT/teacher-data.jsonl" --out "$OUT/logits" --mode logits --epochs 2 --task "$TASK"
evaluate logits "$OUT/logits"
once on-policy $S distill train --teacher "$TEACHER" --student "$BASE" --out "$OUT/on-policy" --mode on-policy --steps 60 --prompts 16 --generations 4 --task "$TASK"
evaluate on-policy "$OUT/on-policy"
# on-policy again for about the compute the others took (170 steps at ~3 s)
once on-policy-170 $S distill train --teacher "$TEACHER" --student "$BASE" --out "$OUT/on-policy-170" --mode on-policy --steps 170 --prompts 16 --generations 4 --task "$TASK"
evaluate on-policy-170 "$OUT/on-policy-170"

python3 - "$OUT" <<'PY'
import json, os, sys
out = sys.argv[1]
def seconds(d):
    for f in ("trainer_state.json", "rl_state.json", "distill_state.json"):
        p = os.path.join(out, d, f)
        if os.path.exists(p): return json.load(open(p))["elapsed_seconds"]
    return 0.0
data_s = json.load(open(os.path.join(out, "teacher-data.jsonl.meta.json")))["report"]["Seconds"]
rows = []
for name, label, s in [("base", "student base", 0), ("grpo", "base + GRPO alone", seconds("grpo")), ("sft", "distilled (SFT)", data_s + seconds("sft")),
                       ("sft-grpo", "distilled + GRPO", data_s + seconds("sft") + seconds("sft-grpo")), ("logits", "distilled, logits", data_s + seconds("logits")),
                       ("on-policy", "on-policy, 60 steps", seconds("on-policy")), ("on-policy-170", "on-policy, 170 steps", seconds("on-policy-170"))]:
    r = json.load(open(os.path.join(out, f"eval-{name}.json")))["rows"][-1]
    rows.append({"variant": label, "minutes": round(s / 60, 1), "pass1": r["pass1"], "cons4": r["cons_k"], "pass4": r["pass_k"], "format": r["format_rate"], "length": r["mean_length"]})
json.dump(rows, open(os.path.join(out, "study.json"), "w"), indent=2)
print(f"{'variant':28} {'minutes':>7} {'pass@1':>7} {'cons@4':>7} {'pass@4':>7} {'format':>7}")
for r in rows: print(f"{r['variant']:28} {r['minutes']:7.1f} {r['pass1']:7.1%} {r['cons4']:7.1%} {r['pass4']:7.1%} {r['format']:7.1%}")
PY
