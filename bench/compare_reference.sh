#!/usr/bin/env bash
# Side by side, in one run: abmil_bench against the PyTorch reference
# (../shared/bench/ref_abmil_mnist.py, one bag per step) on the MNIST-bags
# paper setting with the same threads, for whole runs of EPOCHS epochs, every
# epoch timed: early (median of epochs 1-5) and late (median of the last 10,
# the steady state) per run. The reference runs twice a round, as a PyTorch
# user gets it (default) and with --flush-denormal (like for like: abmil
# flushes denormals by default). ROUNDS rounds, the order reversed every other
# round so that the machine's ups and downs hit all alike (medians reported),
# then the large-bag scaling check. Prints the JSON lines, a table of
# steady-state ratios and a WARNING line for every run whose late epochs are
# more than 1.2x its early ones. Figures only, no pass/fail.
#   ABMIL_DATA=... bench/compare_reference.sh
#   env: THREADS (all cores), EPOCHS (30), ROUNDS (2), BAGS_PER_STEP (1,16; B=1 is always run),
#        FLUSH (abmil's --flush-denormal: on), REF (../shared/bench/ref_abmil_mnist.py), LARGE (1; 0 skips)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${THREADS:-$(nproc)}
epochs=${EPOCHS:-30}
rounds=${ROUNDS:-2}
data="${ABMIL_DATA:?set ABMIL_DATA (a folder with mnist/)}/mnist"
ref=${REF:-../shared/bench/ref_abmil_mnist.py}
bs=${BAGS_PER_STEP:-1,16}
[[ ",$bs," == *",1,"* ]] || bs="1,$bs"
flush=${FLUSH:-on}
[ -x build/abmil_bench ] || ./scripts/build.sh
log=$(mktemp)
trap 'rm -f "$log" "$log.out"' EXIT

# run TAG ROUND COMMAND...: its output shown, its last line (JSON) to the log as `TAG ROUND JSON`.
run() {
  local tag=$1 round=$2
  shift 2
  "$@" | tee "$log.out"
  echo "$tag $round $(tail -1 "$log.out")" >> "$log"
}
ours() {
  echo "== round $1: abmil_bench mnist, B=$bs, flush denormals $flush"
  run ours "$1" ./build/abmil_bench mnist --data "$data" --threads "$threads" --epochs "$epochs" \
    --bags-per-step "$bs" --flush-denormal "$flush"
}
reference() {  # reference ROUND TAG [--flush-denormal]
  echo "== round $1: PyTorch reference ($ref) ${3:-default}"
  run "$2" "$1" /usr/bin/python3 "$ref" "$data" --epochs "$epochs" --gated --balanced --per-epoch \
    --threads "$threads" ${3:+"$3"}
}

start=$SECONDS
echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), threads $threads, $rounds rounds of $epochs epochs"
for r in $(seq "$rounds"); do
  t0=$SECONDS
  if (( r % 2 )); then
    ours "$r"; reference "$r" ref; reference "$r" refflush --flush-denormal
  else
    reference "$r" refflush --flush-denormal; reference "$r" ref; ours "$r"
  fi
  echo "== round $r took $((SECONDS - t0)) s"
done
if [ "${LARGE:-1}" != 0 ]; then
  echo "== large bags"
  run large 0 ./build/abmil_bench large --instances 10000 --threads "$threads" --flush-denormal "$flush"
  run large 0 ./build/abmil_bench large --instances 100000 --threads "$threads" --flush-denormal "$flush"
fi
/usr/bin/python3 bench/summarize.py mnist "$log"
echo "== all took $((SECONDS - start)) s"
