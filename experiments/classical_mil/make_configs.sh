#!/usr/bin/env bash
# Writes configs/<data set>_<pooling>.yaml: one config per data set and pooling
# The settings are the same for all but one: Fox trains with lr 1e-4 (the
# others 5e-4), chosen for the whole data set by a 2 x 10-fold screen on other
# folds (seed 2) than the table's (seed 1); see README.md.
# The one source of the committed configs/ (tests/python/test_configs.py
# checks that they are what this writes): edit here, then run it.
#   make_configs.sh [OUT_DIR]    (default: configs/ next to this script)
set -euo pipefail
out="${1:-$(dirname "$0")/configs}"
mkdir -p "$out"
for ds in musk1 musk2 fox tiger elephant; do
  lr=5.0e-4
  [ "$ds" = fox ] && lr=1.0e-4
  for pool in gated_attention attention mean max instance_max instance_mean; do
    cat > "$out/${ds}_${pool}.yaml" <<YAML
# ${ds}, ${pool} pooling: the paper's classical-MIL network (Sec. 4.1):
# fc 256-128-64 with ReLU and dropout, MIL pooling on the 64-d embedding
# (attention size L = 64), fc 1. 5 x 10-fold stratified CV (abmil cv).
# No inner validation split: all training bags of a fold fit the model for at
# most 50 epochs (early stopping watches the training loss); these sets are
# small, and holding out 20 % cost 2-5 points of accuracy (see results.md).
experiment: {name: ${ds}_${pool}, seed: 1}
data:
  kind: feature_bags
  path: \${ABMIL_DATA}/${ds}/${ds}.csv
  standardize: true          # z-score with each fold's training bags
model:
  encoder: mlp
  hidden_dims: [256, 128, 64]
  dropout: 0.5
  pooling: ${pool}
  attention_dim: 64
train:
  epochs: 50
  bags_per_step: 1
  optimizer: {kind: adam, lr: ${lr}, betas: [0.9, 0.999], weight_decay: 5.0e-3}
  early_stopping: {patience: 20}
cv: {folds: 10, repeats: 5, validation_fraction: 0.0}
runtime: {progress: never}
YAML
  done
done
ls "$out" | wc -l
