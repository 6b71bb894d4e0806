#!/usr/bin/env bash
# Runs `abmil cv` (10 folds by the cvNNN file prefixes, cv.split: groups) for
# every polarity config in configs/ and writes results.md: accuracy, F1 and
# AUC (mean ± standard error over the folds) with the wall time, next to the
# bag-of-words baselines of ../shared/reference/ilse2018_results.yaml
# (text_anchor). Restartable: a finished run is not run again and an
# unfinished one resumes its folds. Each fold runs in its own worker process
# with one LibTorch thread.
#   ABMIL_DATA=... experiments/text/run_all.sh   (env: JOBS=<cores>, ONLY=gated)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
abmil="${ABMIL:-$root/build/abmil}"
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
