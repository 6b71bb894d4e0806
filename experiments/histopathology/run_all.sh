#!/usr/bin/env bash
# Runs `abmil cv` (stratified 10-fold, 1 repeat) for every UCSB config in
# configs/ and writes results.md: our accuracy, precision, recall, F1 and AUC
# (mean ± standard error over the folds) next to the paper's Table 2
# (../shared/reference/ilse2018_results.yaml), with the folds each row ran
# and the wall time. Restartable: a finished run is not run again and an
# unfinished one resumes its folds. Each fold runs in its own worker process
# with one LibTorch thread.
#   ABMIL_DATA=... experiments/histopathology/run_all.sh   (env: JOBS=<cores>, ONLY=gated)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
abmil="$root/build/abmil"
[ -x "$abmil" ] || "$root/scripts/build.sh"
jobs=${JOBS:-$(nproc)}
mkdir -p "$here/runs"
start=$(date +%s)
for cfg in "$here"/configs/${ONLY:-}*.yaml; do
  name=$(basename "$cfg" .yaml)
  out="$here/runs/$name"
  [ -f "$out/cv_summary.json" ] && continue
  echo "== $name"
  extra=()
  [ -d "$out" ] && extra=(--resume)   # keep finished folds
  "$abmil" cv "$cfg" --set runtime.threads=1 --output "$out" --jobs "$jobs" "${extra[@]}" | tail -3
done
echo "wall time of this sitting: $(( $(date +%s) - start )) s"
/usr/bin/python3 "$here/make_table.py" "$here/runs" "$root/../shared/reference/ilse2018_results.yaml" > "$here/results.md"
cat "$here/results.md"
