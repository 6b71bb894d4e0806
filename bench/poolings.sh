#!/usr/bin/env bash
# Step time and peak memory of every pooling on one large bag (README,
# "Poolings beyond the paper"): `abmil_bench large --pooling P` (MLP
# 1024 -> 128 encoder, the pooling with its model.* defaults, fc to one
# logit, Adam), one process per pooling so that each peak resident memory is
# its own. The transformer runs at its limit instead (exact attention;
# 6,687 instances with 4 heads and 2 layers in 4 GiB) and its refusal at K
# is shown. Run on a quiet machine.
#   bench/poolings.sh [K (100000)] [THREADS (all cores)] [STEPS (3)]
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bench="${ABMIL_BENCH:-$root/build/abmil_bench}"
k="${1:-100000}"
threads="${2:-0}"
steps="${3:-3}"
echo "| pooling | instances | s per training step (median of $steps) | peak resident MiB |"
echo "| --- | ---: | ---: | ---: |"
for p in mean max lse topk_mean attention gated_attention multihead_gated_attention pma dsmil transformer; do
  n="$k"
  [ "$p" = transformer ] && n=6600
  line=$("$bench" large --instances "$n" --threads "$threads" --steps "$steps" --pooling "$p" | tail -1)
  /usr/bin/python3 -c 'import json, sys
j = json.loads(sys.argv[1])
print("| %s | {:,} | %.3f | %.0f |".format(j["instances"]) % (j["pooling"], j["step_s_median"], j["peak_rss_mib"]))' "$line"
done
echo
echo "transformer at $k instances:"
"$bench" large --instances "$k" --threads "$threads" --steps 1 --pooling transformer 2>&1 | tail -1 || true
