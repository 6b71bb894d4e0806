#!/usr/bin/env bash
# The demo (configs/default.yaml, 3 epochs) on a quiet machine and beside two
# busy loops (a stand-in for a compile on a 2-core machine), at 1 and 2
# threads, and with OpenMP's passive waiting (OMP_WAIT_POLICY=PASSIVE).
# Prints one wall time per run. Usage: bench/shared_machine.sh [ABMIL]
set -euo pipefail
cd "$(dirname "$0")/.."
abmil=${1:-./build/abmil}
out=$(mktemp -d)
trap 'rm -rf "$out"; kill $(jobs -p) 2>/dev/null || true' EXIT
run() {  # label, environment assignment, threads
  local t0 t1
  t0=$(date +%s.%N)
  env "$2" "$abmil" train configs/default.yaml --set train.epochs=3 --set runtime.threads="$3" \
    --set runtime.progress=never --output "$out/run_$RANDOM" >/dev/null 2>&1
  t1=$(date +%s.%N)
  printf '%-16s threads=%s %6.1f s\n' "$1" "$3" "$(echo "$t1 - $t0" | bc)"
}
run quiet ABMIL_NONE=1 1
run quiet ABMIL_NONE=1 2
run quiet_passive OMP_WAIT_POLICY=PASSIVE 2
(while :; do :; done) &
(while :; do :; done) &
sleep 5
run loaded ABMIL_NONE=1 1
run loaded ABMIL_NONE=1 2
run loaded_passive OMP_WAIT_POLICY=PASSIVE 2
run loaded_passive OMP_WAIT_POLICY=PASSIVE 1
