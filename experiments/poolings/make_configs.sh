#!/usr/bin/env bash
# Writes configs/<data set>_<pooling>.yaml for the poolings beyond the
# paper's six: each is ../classical_mil/configs/<data set>_gated_attention.yaml
# (the paper's classical-MIL network and protocol, 5 x 10-fold cv) with only
# model.pooling (and the run name) changed; every pooling keeps its defaults
# (model.heads 4, merge concat, seeds 1, layers 2, lse_r 5, pool_k 3,
# max_instance_loss_weight 0.5).
#   make_configs.sh [OUT_DIR]    (default: configs/ next to this script)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here/configs}"
mkdir -p "$out"
for ds in musk1 musk2 fox tiger elephant; do
  for pool in lse topk_mean multihead_gated_attention pma transformer dsmil; do
    sed -e "s/gated_attention/${pool}/g" "$here/../classical_mil/configs/${ds}_gated_attention.yaml" \
      > "$out/${ds}_${pool}.yaml"
  done
done
