#!/usr/bin/env bash
# Test AUC of configs/mnist_bags.yaml with one bag per step against B bags per
# step, over several seeds (the price in accuracy of the fast path).
#   ABMIL_DATA=... bench/auc_vs_batch.sh      (env: SEEDS="1 2 3 4 5", B=16)
set -euo pipefail
cd "$(dirname "$0")/.."
seeds=${SEEDS:-1 2 3 4 5}
fast_b=${B:-16}
[ -x build/abmil ] || ./scripts/build.sh
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
printf "| seed | B=1 test AUC | B=%s test AUC | B=1 training s | B=%s training s |\n| --- | --- | --- | --- | --- |\n" "$fast_b" "$fast_b"
for s in $seeds; do
  row="| $s"
  secs=""
  for b in 1 "$fast_b"; do
    ./build/abmil train configs/mnist_bags.yaml --output "$out/b${b}_s$s" --set experiment.seed="$s" \
      --set train.bags_per_step="$b" --set runtime.progress=never > "$out/log" 2>&1 || { cat "$out/log"; exit 1; }
    read -r auc tsec < <(/usr/bin/python3 -c "import json,sys; j=json.load(open(sys.argv[1])); print(j['test']['auc'], j['training']['seconds'])" "$out/b${b}_s$s/metrics.json")
    row="$row | $(printf %.4f "$auc")"
    secs="$secs | $(printf %.1f "$tsec")"
    echo "$b $auc" >> "$out/aucs"
  done
  echo "$row$secs |"
done
/usr/bin/python3 - "$out/aucs" "$fast_b" <<'PY'
import sys, statistics
rows = [l.split() for l in open(sys.argv[1])]
one = [float(a) for b, a in rows if b == "1"]
fast = [float(a) for b, a in rows if b == sys.argv[2]]
print(f"| mean | {statistics.mean(one):.4f} | {statistics.mean(fast):.4f} | | |")
print(f"\nmean AUC difference (B={sys.argv[2]} minus B=1): {statistics.mean(fast) - statistics.mean(one):+.4f}")
PY
