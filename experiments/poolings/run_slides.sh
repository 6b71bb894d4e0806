#!/usr/bin/env bash
# The slide-feature column of the pooling comparison (README "Choosing a
# pooling"): every pooling, the paper's six and the new six, trained with
# CLAM_SB's settings (../feature_files/clam_planted_3class.yaml, only
# model.pooling changed) on two synthetic CLAM-layout sets:
#   accuracy  ABMIL_CLAM3: ref_clam_features.py make DIR --bags 90 --instances 2000 --classes 3
#             -> runs/slides/<pooling>/ (test macro AUC, attention AUC against
#                the planted instances), `abmil train` as configured (20 epochs)
#   timing    ABMIL_SLIDES10K: make_slide_timing_set.py DIR (15 slides of
#             exactly 10,000 instances, its splits.csv: 12 train) ->
#             runs/slides10k/<pooling>/, 2 epochs; seconds of the second
#             training epoch (page cache warm) and the peak RSS
#             (/usr/bin/time -v) of the whole process
# Each run's wall time and peak RSS go to <run>/time.txt. Restartable: a run
# with metrics.json, or with refused.txt (the one-line error of a pooling
# that refuses the data before training: instance_max and instance_mean are
# binary-only, the transformer is over its limit at 10,000), is not run again. Then ./make_slides_table.py prints the table.
#   ABMIL_CLAM3=/tmp/clam3 ABMIL_SLIDES10K=/tmp/slides10k ./run_slides.sh [POOLING]...
# PART=accuracy or PART=timing runs one half only (the timing half wants a
# quiet machine; the accuracy half does not).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
abmil="${ABMIL:-$root/build/abmil}"
config="$root/experiments/feature_files/clam_planted_3class.yaml"
poolings=("$@")
[ ${#poolings[@]} -gt 0 ] || poolings=(gated_attention attention mean max instance_max instance_mean
  lse topk_mean multihead_gated_attention pma transformer dsmil)
run() {  # run OUT_DIR DATA_DIR POOLING [--set ...]
  local out="$1" data="$2" pool="$3"
  shift 3
  if [ -f "$out/metrics.json" ] || [ -f "$out/refused.txt" ]; then return; fi
  rm -rf "$out"
  mkdir -p "$(dirname "$out")"
  echo "== $out"
  local log
  log="$(mktemp)"
  if ABMIL_CLAM3="$data" /usr/bin/time -v -o "$log.time" "$abmil" train "$config" \
      --set model.pooling="$pool" --output "$out" "$@" > "$log" 2>&1; then
    cp "$log.time" "$out/time.txt"
  elif grep -q "^abmil: error: model\.pooling" "$log" && [ ! -f "$out/metrics.csv" ]; then
    # refused before training (a pooling that does not take these bags)
    rm -rf "$out"
    mkdir -p "$out"
    grep "^abmil: error: model\.pooling" "$log" | head -1 > "$out/refused.txt"
    cat "$out/refused.txt"
  else
    cat "$log" >&2
    exit 1
  fi
  rm -f "$log" "$log.time"
}
part="${PART:-both}"
[ "$part" = timing ] || for pool in "${poolings[@]}"; do
  run "$here/runs/slides/$pool" "${ABMIL_CLAM3:?set ABMIL_CLAM3}" "$pool"
done
[ "$part" = accuracy ] || for pool in "${poolings[@]}"; do
  run "$here/runs/slides10k/$pool" "${ABMIL_SLIDES10K:?set ABMIL_SLIDES10K}" "$pool" \
    --set train.epochs=2 --set experiment.name=slides10k --set data.split_csv="$ABMIL_SLIDES10K/splits.csv"
done
