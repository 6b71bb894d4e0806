#!/usr/bin/env bash
# Side by side, in one run: abmil_bench against the PyTorch reference
# (../shared/bench/ref_abmil_mnist.py, one bag per step) on the MNIST-bags
# paper setting with the same threads, alternating ROUNDS times so that the
# machine's ups and downs hit both alike (medians reported), then the
# large-bag scaling check. Prints the JSON lines and a table of ratios.
# Figures only, no pass/fail.
#   ABMIL_DATA=... bench/compare_reference.sh   (env: THREADS, EPOCHS, ROUNDS, REF, BAGS_PER_STEP)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${THREADS:-$(nproc)}
epochs=${EPOCHS:-5}
rounds=${ROUNDS:-3}
data="${ABMIL_DATA:?set ABMIL_DATA (a folder with mnist/)}/mnist"
ref=${REF:-../shared/bench/ref_abmil_mnist.py}
bs=${BAGS_PER_STEP:-1,4,8,16,32}
[ -x build/abmil_bench ] || ./scripts/build.sh
log=$(mktemp)
trap 'rm -f "$log"' EXIT

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), threads $threads, $rounds rounds"
for r in $(seq "$rounds"); do
  echo "== round $r: abmil_bench mnist"
  ./build/abmil_bench mnist --data "$data" --threads "$threads" --epochs "$epochs" --bags-per-step "$bs" | tee -a /dev/stderr | tail -1 | sed 's/^/ours /' >> "$log"
  echo "== round $r: PyTorch reference ($ref)"
  /usr/bin/python3 "$ref" "$data" --epochs "$epochs" --gated --balanced --threads "$threads" | tail -1 | tee /dev/stderr | sed 's/^/ref /' >> "$log"
done
echo "== large bags"
./build/abmil_bench large --instances 10000 --threads "$threads" | tee /dev/stderr | tail -1 | sed 's/^/large /' >> "$log"
./build/abmil_bench large --instances 100000 --threads "$threads" | tee /dev/stderr | tail -1 | sed 's/^/large /' >> "$log"

/usr/bin/python3 - "$log" <<'PY'
import json, statistics, sys
ours, refs, large = [], [], []
for line in open(sys.argv[1]):
    tag, text = line.split(" ", 1)
    {"ours": ours, "ref": refs, "large": large}[tag].append(json.loads(text))
med = statistics.median
ref_epoch, ref_eval = med(r["epoch_s_median"] for r in refs), med(r["eval_s"] for r in refs)
bs = sorted({r["bags_per_step"] for o in ours for r in o["runs"]})
epoch = {b: med(r["epoch_s_median"] for o in ours for r in o["runs"] if r["bags_per_step"] == b) for b in bs}
evals = med(r["eval_s"] for o in ours for r in o["runs"])
floor = med(o["floor_s"] for o in ours)
best = min(bs, key=lambda b: epoch[b])
print(f"\nmedians over {len(ours)} rounds (threads {ours[0]['threads']})")
print("| what | seconds | ratio |")
print("| --- | --- | --- |")
print(f"| PyTorch reference: training epoch, 1 bag per step | {ref_epoch:.3f} | 1.00 |")
for b in bs:
    print(f"| abmil: training epoch, B={b} | {epoch[b]:.3f} | {ref_epoch / epoch[b]:.2f}x faster |")
print(f"| compute floor: LeNet-5 fwd+bwd of the same instances, large batches | {floor:.3f} | best B={best} is {epoch[best] / floor:.2f}x the floor |")
print(f"| PyTorch reference: evaluation of {ours[0]['test_bags']} test bags | {ref_eval:.3f} | 1.00 |")
print(f"| abmil: evaluation of {ours[0]['test_bags']} test bags | {evals:.3f} | {ref_eval / evals:.2f}x faster |")
print(f"\npeak resident memory of abmil_bench mnist: {max(o['peak_rss_mib'] for o in ours):.0f} MiB")
l10, l100 = large
print(f"large bag: 10,000 instances {l10['step_s_median']:.4f} s/step ({l10['peak_rss_mib']:.0f} MiB); "
      f"100,000 instances {l100['step_s_median']:.4f} s/step ({l100['peak_rss_mib']:.0f} MiB); "
      f"100k / (10 x 10k) = {l100['step_s_median'] / (10 * l10['step_s_median']):.2f}")
PY
