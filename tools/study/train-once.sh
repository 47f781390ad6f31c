# tools/study/train-once.sh: sourced by the study scripts (precision.sh, promotion.sh). train_once OUT NAME ARGS...:
# `$S train --out OUT/NAME ARGS...` to its end once, marked by OUT/NAME.done so a rerun skips it; an interrupted run
# (its trainer_state.json there) is resumed with `train --out OUT/NAME --resume`. Prints the run's "finished" line.
train_once() {
  local out=$1 name=$2; shift 2
  if [ -f "$out/$name.done" ]; then return; fi
  if [ -f "$out/$name/trainer_state.json" ]; then
    $S train --out "$out/$name" --resume | grep -E "^finished"
  else
    $S train --out "$out/$name" "$@" | grep -E "^finished"
  fi
  touch "$out/$name.done"
}
