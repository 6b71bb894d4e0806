#!/usr/bin/env bash
# Runs `abmil cv` for every config in configs/ (5 x 10-fold CV each) and
# writes results.md: our mean accuracy ± standard error next to the paper's
# Table 1 (../shared/reference/ilse2018_results.yaml), with the wall time.
# Restartable: a finished run (runs/<name>/cv_summary.json) is not run again,
# and unfinished folds resume.
#   ABMIL_DATA=... experiments/classical_mil/run_all.sh   (env: JOBS=2, ONLY=musk1)
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
  "$abmil" cv "$cfg" --output "$out" --jobs "$jobs" "${extra[@]}" | tail -3
done
echo "wall time of this sitting: $(( $(date +%s) - start )) s"
/usr/bin/python3 "$here/make_table.py" "$here/runs" "$root/../shared/reference/ilse2018_results.yaml" > "$here/results.md"
cat "$here/results.md"
