#!/usr/bin/env bash
# Side by side, in one run: abmil_bench against the PyTorch reference
# (../shared/bench/ref_abmil_mnist.py, one bag per step) on the MNIST-bags
# paper setting with the same threads, then the large-bag scaling check.
# Prints both JSON lines and a table of ratios. Figures only, no pass/fail.
#   ABMIL_DATA=... bench/compare_reference.sh        (env: THREADS, EPOCHS, REF, BAGS_PER_STEP)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${THREADS:-$(nproc)}
epochs=${EPOCHS:-5}
data="${ABMIL_DATA:?set ABMIL_DATA (a folder with mnist/)}/mnist"
ref=${REF:-../shared/bench/ref_abmil_mnist.py}
bs=${BAGS_PER_STEP:-1,4,8,16,32}
[ -x build/abmil_bench ] || ./scripts/build.sh

echo "== machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), threads $threads"
echo "== abmil_bench mnist"
ours=$(./build/abmil_bench mnist --data "$data" --threads "$threads" --epochs "$epochs" --bags-per-step "$bs" | tee /dev/stderr | tail -1)
echo "== PyTorch reference ($ref)"
theirs=$(/usr/bin/python3 "$ref" "$data" --epochs "$epochs" --gated --balanced --threads "$threads" | tail -1)
echo "$theirs"
echo "== large bags"
large10=$(./build/abmil_bench large --instances 10000 --threads "$threads" | tee /dev/stderr | tail -1)
large100=$(./build/abmil_bench large --instances 100000 --threads "$threads" | tee /dev/stderr | tail -1)

/usr/bin/python3 - "$ours" "$theirs" "$large10" "$large100" <<'PY'
import json, sys
ours, ref, l10, l100 = (json.loads(a) for a in sys.argv[1:])
runs = {r["bags_per_step"]: r for r in ours["runs"]}
best = min(runs.values(), key=lambda r: r["epoch_s_median"])
b1 = runs.get(1)
print("\n| what | seconds | vs reference |")
print("| --- | --- | --- |")
print(f"| PyTorch reference, epoch (B=1) | {ref['epoch_s_median']:.3f} | 1.00x |")
if b1:
    print(f"| abmil epoch, B=1 | {b1['epoch_s_median']:.3f} | {ref['epoch_s_median']/b1['epoch_s_median']:.2f}x faster |")
print(f"| abmil epoch, best B={best['bags_per_step']} | {best['epoch_s_median']:.3f} | {ref['epoch_s_median']/best['epoch_s_median']:.2f}x faster |")
print(f"| compute floor: LeNet-5 fwd+bwd, batches of {ours['floor_batch']} | {ours['floor_s']:.3f} | best B is {best['epoch_s_median']/ours['floor_s']:.2f}x the floor |")
print(f"| PyTorch reference, eval of {ours['test_bags']} test bags | {ref['eval_s']:.3f} | 1.00x |")
print(f"| abmil eval (B=1 model) | {runs[min(runs)]['eval_s']:.3f} | {ref['eval_s']/runs[min(runs)]['eval_s']:.2f}x faster |")
print(f"\npeak resident memory of abmil_bench mnist: {ours['peak_rss_mib']:.0f} MiB")
ratio = l100["step_s_median"] / (10 * l10["step_s_median"])
print(f"large bag: 10k instances {l10['step_s_median']:.4f} s/step ({l10['peak_rss_mib']:.0f} MiB), "
      f"100k instances {l100['step_s_median']:.4f} s/step ({l100['peak_rss_mib']:.0f} MiB); "
      f"100k / (10 x 10k) = {ratio:.2f}")
PY
