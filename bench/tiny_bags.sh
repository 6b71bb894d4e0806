#!/usr/bin/env bash
# Tiny bags (classical MIL, Musk1: ~5 instances of 166 features a bag), side
# by side in one run, every epoch timed (early = median of epochs 1-5, late =
# of the last 10: the steady state):
#   1. `abmil train` of experiments/classical_mil/configs/musk1_gated_attention.yaml
#      (10 % test bags, no validation split, EPOCHS epochs, no early stopping)
#      at 1 and 2 threads, train.bags_per_step 1 and 8: epoch seconds from
#      RUN/metrics.csv (the `seconds` of the train rows), steps per second;
#   2. bench/ref_mil_mlp.py, the PyTorch per-bag reference of the same network
#      on the same data, 1 thread, default and with --flush-denormal;
#   3. `abmil cv` (cv.repeats=1, 10 folds of EPOCHS epochs, no early
#      stopping): folds per minute with --jobs 1 at 2 threads and --jobs 2 at
#      1 thread each.
# ROUNDS rounds, the order reversed every other round (medians reported).
# Prints a table of per-fold steady-state ratios abmil / reference, the best
# jobs/threads for folds per minute, and a WARNING line for every run whose
# late epochs are more than 1.2x its early ones. Figures only, no pass/fail.
#   ABMIL_DATA=... bench/tiny_bags.sh
#   env: EPOCHS (50), ROUNDS (3), CONFIG (the musk1 config above),
#        ABMIL_FLUSH (on|off: sets runtime.flush_denormal where the build has it; default: the library's),
#        CV (1; 0 skips part 3), KEEP (a folder to keep the run directories in; default a temporary one)
set -euo pipefail
cd "$(dirname "$0")/.."
: "${ABMIL_DATA:?set ABMIL_DATA (a folder with musk1/)}"
epochs=${EPOCHS:-50}
rounds=${ROUNDS:-3}
config=${CONFIG:-experiments/classical_mil/configs/musk1_gated_attention.yaml}
csv="$ABMIL_DATA/musk1/musk1.csv"
[ -x build/abmil ] || ./scripts/build.sh
work=${KEEP:-$(mktemp -d)}
mkdir -p "$work"
[ -n "${KEEP:-}" ] || trap 'rm -rf "$work"' EXIT
log="$work/log"
: > "$log"

common=(--set data.test_fraction=0.1 --set data.validation_fraction=0 --set train.epochs="$epochs"
        --set train.early_stopping.patience=0 --set runtime.progress=never)
# runtime.flush_denormal is new (the library's default flush); an older build has no such key.
if ./build/abmil config "$config" --set runtime.flush_denormal=true > /dev/null 2>&1; then
  if [ -n "${ABMIL_FLUSH:-}" ]; then
    common+=(--set runtime.flush_denormal="$([ "$ABMIL_FLUSH" = on ] && echo true || echo false)")
  fi
  abmil_flush="runtime.flush_denormal = $(./build/abmil config "$config" "${common[@]}" | awk '/flush_denormal/ {print $2; exit}')"
else
  abmil_flush="not configurable in this build (runtime.flush_denormal missing: no flushing)"
fi
echo "flush 0 {\"abmil\": \"$abmil_flush\"}" >> "$log"

train() {  # train ROUND THREADS B
  local dir="$work/train_r$1_t$2_b$3"
  echo "== round $1: abmil train, $2 thread(s), bags_per_step $3"
  ./build/abmil train "$config" "${common[@]}" --set runtime.threads="$2" --set train.bags_per_step="$3" \
    --output "$dir" > "$work/stdout.tmp" 2>&1 || { cat "$work/stdout.tmp" >&2; return 1; }
  mv "$work/stdout.tmp" "$dir/stdout.log"
  tail -2 "$dir/stdout.log"
  echo "train $1 {\"threads\": $2, \"bags_per_step\": $3, \"run\": \"$dir\"}" >> "$log"
}
reference() {  # reference ROUND TAG [--flush-denormal]
  echo "== round $1: PyTorch reference, 1 thread ${3:-default}"
  /usr/bin/python3 bench/ref_mil_mlp.py "$csv" --epochs "$epochs" --threads 1 ${3:+"$3"} | tee "$work/ref.out"
  echo "$2 $1 $(tail -1 "$work/ref.out")" >> "$log"
}
cv() {  # cv ROUND JOBS THREADS_IN_ALL
  local dir="$work/cv_r$1_j$2"
  echo "== round $1: abmil cv --jobs $2, runtime.threads $3"
  ./build/abmil cv "$config" "${common[@]}" --set cv.repeats=1 --set cv.folds=10 --set runtime.threads="$3" \
    --jobs "$2" --output "$dir" | tail -1
  echo "cv $1 {\"jobs\": $2, \"threads_each\": $(($3 / $2)), \"run\": \"$dir\"}" >> "$log"
}
one_round() {
  train "$1" 1 1; train "$1" 1 8; train "$1" 2 1; train "$1" 2 8
  reference "$1" ref; reference "$1" refflush --flush-denormal
  if [ "${CV:-1}" != 0 ]; then cv "$1" 1 2; cv "$1" 2 2; fi
}
one_round_reversed() {
  if [ "${CV:-1}" != 0 ]; then cv "$1" 2 2; cv "$1" 1 2; fi
  reference "$1" refflush --flush-denormal; reference "$1" ref
  train "$1" 2 8; train "$1" 2 1; train "$1" 1 8; train "$1" 1 1
}

start=$SECONDS
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $rounds rounds of $epochs epochs; abmil $abmil_flush"
for r in $(seq "$rounds"); do
  t0=$SECONDS
  if (( r % 2 )); then one_round "$r"; else one_round_reversed "$r"; fi
  echo "== round $r took $((SECONDS - t0)) s"
done
/usr/bin/python3 bench/summarize.py tiny "$log"
echo "== all took $((SECONDS - start)) s"
