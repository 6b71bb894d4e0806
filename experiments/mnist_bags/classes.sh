#!/usr/bin/env bash
# The multi-class and multi-label MNIST-bags runs (issue 16): each of
# multiclass_789.yaml and multilabel_789.yaml with the seeds given (default
# 1 2 3), one after the other, 1 LibTorch thread each, into
# experiments/mnist_bags/runs/<config>_s<seed>/ (git-ignored); a run whose
# metrics.json exists is skipped. Then prints the table of classes_table.py.
#   ABMIL_DATA=/path/to/datasets experiments/mnist_bags/classes.sh [SEED...]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
seeds=("${@:-1}")
[ $# -gt 0 ] || seeds=(1 2 3)
for config in multiclass_789 multilabel_789; do
  for seed in "${seeds[@]}"; do
    out="$here/runs/${config}_s$seed"
    [ -f "$out/metrics.json" ] && { echo "skip $out (done)"; continue; }
    rm -rf "$out"
    echo "== $config seed $seed"
    /usr/bin/time -f "%e s wall, %M KiB peak" "$root/build/abmil" train "$here/$config.yaml" \
      --set experiment.seed="$seed" --set runtime.threads=1 --set output.dir="$out"
  done
done
python3 "$here/classes_table.py" "$here/runs"
