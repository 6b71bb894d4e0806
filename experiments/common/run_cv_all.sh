#!/usr/bin/env bash
# Runs `abmil cv` for every config of an experiment folder and writes the
# folder's results.md with its make_table.py. Behind experiments/*/run_all.sh.
#
#   experiments/common/run_cv_all.sh [--set KEY=VALUE]... DIR [TABLE_ARG]...
#
# DIR/configs/<name>.yaml runs into DIR/runs/<name> (`abmil cv CONFIG [--set
# KEY=VALUE]... --output DIR/runs/<name> --jobs $JOBS`); the --set options go
# to every run. Then `make_table.py DIR/runs [TABLE_ARG]...` writes
# DIR/results.md (the reference YAML defaults to the in-repo
# experiments/common/ilse2018_results.yaml) and it is printed.
# Restartable: a run with cv_summary.json is finished and not run again; a
# run folder without it is resumed (`abmil cv --resume RUN` keeps its finished folds).
# Provenance: this checkout's commit (`git rev-parse --short HEAD`, "-dirty"
# if src/ has uncommitted changes) is added to RUN_DIR/provenance.json before
# a resumed run and after every run (experiments/common/provenance.py); the
# tables print it with the sha256 of each run's config.yaml.
# Env: ABMIL (the binary, default build/abmil; scripts/build.sh builds it if
# missing), JOBS (worker processes per run, default: the number of cores),
# ONLY (run only the configs whose name starts with it). Data are found only
# through ABMIL_DATA (the configs' ${ABMIL_DATA}).
set -euo pipefail
common="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$common/../.." && pwd)"
usage="usage: run_cv_all.sh [--set KEY=VALUE]... DIR [TABLE_ARG]...   (DIR holds configs/ and make_table.py)"
sets=()
while [ $# -gt 0 ] && [ "$1" = --set ]; do
  [ $# -ge 2 ] || { echo "$usage" >&2; exit 2; }
  sets+=(--set "$2")
  shift 2
done
[ $# -ge 1 ] && [ -d "$1/configs" ] && [ -f "$1/make_table.py" ] || { echo "$usage" >&2; exit 2; }
here="$(cd "$1" && pwd)"
shift
abmil="${ABMIL:-$root/build/abmil}"
[ -x "$abmil" ] || "$root/scripts/build.sh"
jobs=${JOBS:-$(nproc)}
record() { /usr/bin/python3 "$common/provenance.py" record "$1"; }
mkdir -p "$here/runs"
start=$(date +%s)
for cfg in "$here"/configs/${ONLY:-}*.yaml; do
  [ -f "$cfg" ] || { echo "run_cv_all.sh: no config matches $cfg" >&2; exit 1; }
  name=$(basename "$cfg" .yaml)
  out="$here/runs/$name"
  [ -f "$out/cv_summary.json" ] && continue
  echo "== $name"
  args=("$cfg" "${sets[@]}" --output "$out")
  if [ -d "$out" ]; then
    args=(--resume "$out")   # keep finished folds; the run's own config.yaml
    record "$out"
  fi
  status=0
  "$abmil" cv "${args[@]}" --jobs "$jobs" | tail -3 || status=$?
  if [ -d "$out" ]; then record "$out"; fi
  [ "$status" -eq 0 ] || exit "$status"
done
echo "wall time of this sitting: $(( $(date +%s) - start )) s"
/usr/bin/python3 "$here/make_table.py" "$here/runs" "$@" > "$here/results.md.tmp$$"
mv "$here/results.md.tmp$$" "$here/results.md"
cat "$here/results.md"
